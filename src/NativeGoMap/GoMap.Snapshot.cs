// Snapshots: WriteTo and ReadFrom. The format is drawn in SnapshotFormat.cs.
//
// Why a load is fast. Inserting n entries one by one writes each to a random bucket of an
// array far larger than the caches: every insert waits for a cache miss, and on fresh pages for
// a page fault; and growth allocates and fills every smaller array on the way. A load knows the
// count before the first entry, and has every entry before it places any, so it sizes the map
// once and orders the entries by where they go:
//
//   1. size     the map gets Go's B for the count at once (makemap's rule). From a stream that
//               can seek (its length vouches for the count) the bucket array is committed: a big
//               one is mapped in 2 MiB pages, populated at once (OsMemory.cs); from one that
//               cannot (stream.CanSeek false) it is only reserved, its pages faulted in by the
//               scatter as entries arrive. The array is the only fresh memory a load touches.
//   2. read     the entries arrive in chunks of 1 MiB, each checksummed while it is in cache.
//   3. scatter  every key is hashed under the new map's own seed; its entry is appended to its
//               partition, a run of 2^(B-p) consecutive buckets (the top p ≤ 12 bits of the
//               bucket index) whose bytes fit in L2, and whose bytes hold the partition's entries
//               meanwhile: the bucket array is its own scratch space. 2^p sequential write streams.
//   4. fill     once the checksum matched: partition by partition, in bucket order, the entries
//               are moved out to a buffer, the partition's buckets cleared, and each entry
//               inserted (PlaceLoaded, mapassign without growth), which also finds a duplicate
//               key. A partition's buckets are in cache while it fills them, so the bucket array
//               is written front to back, once.
//
// A key type whose hash runs user code (a comparer, IEquatable) may see bytes the checksum has
// not vouched for yet during step 3; an exception it throws waits for the checksum, so that a
// corrupt file is still reported as corrupt. Such a hash runs twice per key (scatter and fill);
// a key whose second hash names a later partition, one still holding raw entries, waits with
// the spilled ones instead (PlaceLoaded), so a hash breaking its contract misplaces keys as an
// insert would, and never makes the fill read input bytes as buckets. Every entry goes in through mapassign's search
// into a map sized as makemap sizes it, so a loaded map is one that inserts could have built:
// same B, same chains, same overflow accounting.
using System;
using System.Collections.Generic;
using System.IO;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace NativeGoMap
{
    public sealed unsafe partial class GoMap<TKey, TValue>
    {
        private const int SnapshotChunk = 1 << 20;           // bytes per stream call, and per checksum step while they are in cache
        private const int LoadPartitionBytes = 256 * 1024;   // bucket memory one load partition fills: fits in L2
        private const int MaxLoadPartitionBits = 12;         // at most 4096 scatter streams, so their cache lines and pages stay resident

        /// <summary>
        /// Writes a snapshot of the map to <paramref name="stream"/>: a header, every entry, a
        /// checksum (the format is described in the README). O(n + 2^B + overflow buckets), and
        /// during a growth O(2^oldB) more: one walk over the bucket array in memory order (during
        /// a growth, over the old array first), 1 MiB per stream write; allocates nothing on the
        /// GC heap (a 1 MiB native buffer while it runs). A read: it changes nothing (no growth work) and
        /// invalidates no reference; like an enumeration, it keeps memory a write retires
        /// meanwhile allocated until it ends.
        /// </summary>
        /// <remarks>
        /// Nothing may write to the map while it is written out. A write from another thread is
        /// detected as for an enumeration; a write from inside the stream's own <c>Write</c>
        /// makes <see cref="WriteTo"/> throw <see cref="InvalidOperationException"/>, a
        /// <see cref="Dispose"/> from there <see cref="ObjectDisposedException"/>. When the
        /// stream throws, the exception propagates and the map is unchanged and usable; the
        /// stream then holds an incomplete snapshot, which <see cref="ReadFrom(Stream, GoMapOptions?)"/>
        /// refuses. Keys and values are written as their bytes: a field holding an address (a
        /// pointer, a function pointer, an <see cref="IntPtr"/> handle) is written as that number,
        /// meaningless in another process.
        /// </remarks>
        /// <param name="stream">A writable stream; written from its current position, not flushed or closed.</param>
        /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
        /// <exception cref="ArgumentException"><paramref name="stream"/> is not writable.</exception>
        /// <exception cref="ObjectDisposedException">The map is disposed, or was disposed from inside the stream's <c>Write</c>.</exception>
        /// <exception cref="ConcurrentMapAccessException">Another thread wrote to the map meanwhile (a write seen running, or one during the walk; the map is poisoned).</exception>
        /// <exception cref="InvalidOperationException">The map was written from inside the stream's <c>Write</c>, or by another
        /// thread in a write that began and ended while the stream's <c>Write</c> ran (the two cannot be told apart; the map is
        /// not poisoned). Or, in <see cref="ConcurrencyChecks.Go"/> mode, the walk found a number of entries other than the
        /// map's count ("bad map state"): earlier writes that raced undetected left the count wrong.</exception>
        /// <exception cref="NotSupportedException">The machine is big-endian.</exception>
        /// <exception cref="OutOfMemoryException">The native write buffer, or the map's enumerator registration table (see
        /// <see cref="GetEnumerator"/>), could not be allocated; nothing was written.</exception>
        public void WriteTo(Stream stream)
        {
            ThrowHelper.ThrowIfNull(stream, nameof(stream));
            SnapshotFormat.CheckEndianness();
            if (!stream.CanWrite)
            {
                ThrowHelper.ThrowStreamNotWritable(nameof(stream));
            }

            int bufferSize = Math.Max(SnapshotChunk, (MapMath.BucketCnt * SnapshotType<TKey, TValue>.EntrySize) + SnapshotFormat.ChecksumLength);
            var w = new SnapshotWriter(this, stream, NativeHeap.Alloc((ulong)bufferSize, zero: false), bufferSize);
            int slot = -1;
            ulong ticket = 0;
            try
            {
                // A read of the whole map, registered as an enumeration is: memory that a write
                // retires meanwhile stays allocated until the walk ends.
                // The protocol's checks (disposed, poisoned, a write in progress); the walk below
                // announces itself in stretches of its own (SnapshotWriter).
                long token = BeginRead(GoMessages.ConcurrentIterationWrite);
                AbandonRead(token);
                w.State = token & ~TokenAnnounced;

                slot = RegisterIterator(out ticket, out _, out _, out _, drawStart: false); // a read: no random start drawn (GoMapOptions.Seed's orders stay as without it)
                var g = new GrowthSnapshot(Volatile.Read(ref _table), _oldTable);
                long count = _count; // inside the read, with the table it counts
                EndRead(w.State, GoMessages.ConcurrentIterationWrite);

                byte[] keyName = SnapshotTypeName<TKey>.Utf8;
                byte[] valueName = SnapshotTypeName<TValue>.Utf8;
                var header = new Span<byte>(w.Buffer, SnapshotFormat.HeaderLength(keyName.Length, valueName.Length));
                uint headerChecksum = SnapshotFormat.WriteHeader(header, count, sizeof(TKey), sizeof(TValue), SnapshotType<TKey, TValue>.Fingerprint, Math.Max(g.B, MapMath.BForHint(count)), keyName, valueName);
                w.Used = header.Length;
                w.Flush(checksummed: false);
                w.Crc = SnapshotFormat.EntriesCrcStart(headerChecksum);

                w.BeginWalk();
                WriteEntries(ref w, g);
                w.EndWalk(check: true);
                if (w.Written != count)
                {
                    ThrowHelper.ThrowBadMapState($"WriteTo found {w.Written} entries in a map of {count}");
                }

                w.Flush(checksummed: true);
                Unsafe.WriteUnaligned(w.Buffer, SnapshotFormat.CrcFinish(w.Crc));
                w.Used = SnapshotFormat.ChecksumLength;
                w.Flush(checksummed: false);
            }
            finally
            {
                w.EndWalk(check: false);
                if (slot >= 0)
                {
                    UnregisterIterator(slot, ticket);
                }

                NativeHeap.Free(w.Buffer);
            }
        }

        /// <summary>
        /// Loads a map from a snapshot written by <see cref="WriteTo"/>, several times faster than
        /// inserting its entries one by one (figures in the README's Snapshots section). O(n); the
        /// entries are sorted inside the new map's own bucket array, so besides the map it takes
        /// only a 1 MiB read buffer and one partition's entries (at most 256 KiB until the
        /// bucket array exceeds 4,096 such partitions, about 1 GiB; then doubling with each B) of
        /// native scratch, plus a spill buffer for the entries that do not fit their partition,
        /// all freed before it returns; nothing on the GC heap but the map object itself. The
        /// spill holds the few entries a skewed hash crowds out, but for a key or value of more
        /// than 128 bytes (which the map stores through a pointer) most entries: a partition
        /// holds its buckets' bytes of entries, fewer than its buckets take, so the spill can
        /// outgrow the snapshot's entry bytes (27 MiB of scratch beside a 2 MiB bucket array
        /// for 100,000 <c>&lt;long&gt;</c> keys with 200-byte values, 20 MB of entries).
        /// </summary>
        /// <remarks>
        /// The map is new: it has a fresh random seed (or <see cref="GoMapOptions.Seed"/>), Go's B
        /// for the entry count (or for <see cref="GoMapOptions.CapacityHint"/> when that is
        /// larger), and behaves in every way as one built by inserting the entries. The stream is
        /// read exactly to the end of the snapshot, so snapshots may follow one another in a
        /// stream. On any exception no map is returned and every native byte taken is given back.
        /// </remarks>
        /// <param name="stream">A readable stream positioned at a snapshot.</param>
        /// <param name="options">Capacity hint, seed and fail-fast behaviour of the new map; null for the defaults.</param>
        /// <returns>The loaded map; the caller disposes it.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
        /// <exception cref="ArgumentException"><paramref name="stream"/> is not readable.</exception>
        /// <exception cref="InvalidDataException">The stream is not a snapshot, is truncated or corrupt, holds
        /// other key or value types, an impossible count or B (a count whose bucket array or entry
        /// bytes could not be addressed), or a key twice. The message says which. A stream that can
        /// seek and holds fewer bytes than the count needs is refused as truncated before anything
        /// is allocated.</exception>
        /// <exception cref="NotSupportedException">The snapshot has a newer format version; or
        /// <typeparamref name="TKey"/> needs a comparer; or the machine is big-endian.</exception>
        /// <exception cref="OutOfMemoryException">Native memory ran out. A stream that cannot seek
        /// (<see cref="Stream.CanSeek"/> false) has no length to check the header's count against,
        /// so the bucket array for that count is reserved (not populated) before the entries
        /// arrive: a count beyond what this machine can reserve gets this exception, not
        /// <see cref="InvalidDataException"/>, however few bytes follow; where the OS overcommits,
        /// a reservable one takes that much address space until the load fails as truncated.</exception>
        public static GoMap<TKey, TValue> ReadFrom(Stream stream, GoMapOptions? options = null) => ReadFrom(stream, options, null);

        /// <summary>
        /// Loads a map from a snapshot, comparing keys with <paramref name="comparer"/>. As
        /// <see cref="ReadFrom(Stream, GoMapOptions?)"/>; the comparer hashes every key twice
        /// during the load, and two keys it calls equal make the snapshot invalid.
        /// </summary>
        /// <param name="stream">A readable stream positioned at a snapshot.</param>
        /// <param name="options">Capacity hint, seed and fail-fast behaviour of the new map; null for the defaults.</param>
        /// <param name="comparer">Key equality of the new map; null for the default.</param>
        /// <returns>The loaded map; the caller disposes it.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
        /// <exception cref="ArgumentException"><paramref name="stream"/> is not readable.</exception>
        /// <exception cref="InvalidDataException">As for <see cref="ReadFrom(Stream, GoMapOptions?)"/>.</exception>
        /// <exception cref="NotSupportedException">As for <see cref="ReadFrom(Stream, GoMapOptions?)"/>.</exception>
        /// <exception cref="OutOfMemoryException">As for <see cref="ReadFrom(Stream, GoMapOptions?)"/>: native
        /// memory ran out, or a stream that cannot seek claims a count this machine cannot reserve.</exception>
        public static GoMap<TKey, TValue> ReadFrom(Stream stream, GoMapOptions? options, IEqualityComparer<TKey>? comparer)
        {
            ThrowHelper.ThrowIfNull(stream, nameof(stream));
            SnapshotFormat.CheckEndianness();
            if (!stream.CanRead)
            {
                ThrowHelper.ThrowStreamNotReadable(nameof(stream));
            }

            long count = SnapshotFormat.ReadHeader<TKey, TValue>(stream, out uint headerChecksum);
            if (stream.CanSeek)
            {
                // Refuse a short stream before allocating anything for the count it claims.
                long left = Math.Max(0, stream.Length - stream.Position);
                if ((ulong)left < (ulong)count * (ulong)SnapshotType<TKey, TValue>.EntrySize)
                {
                    SnapshotErrors.Truncated(count, left, SnapshotType<TKey, TValue>.EntrySize);
                }
            }

            // The map exists before its entries are read (their hashes need its seed), but
            // nobody else can see it until it is returned.
            var map = new GoMap<TKey, TValue>(options, comparer);
            var load = default(LoadState);
            bool loaded = false;
            try
            {
                map.Load(stream, count, headerChecksum, ref load);
                map.Publish(); // the thresholds lookups and the write fast paths read (GoMap.Access.cs)
                loaded = true;
            }
            finally
            {
                // Nobody else ever saw the load's own buffers (the 1 MiB read chunk, a partition's
                // copy, the spill), nor a map whose load failed: the mappings among them that the
                // reuse cache does not keep go back to the system here (NativeHeap.UnmapAtOnce),
                // not after the release thread's queue.
                NativeHeap.UnmapAtOnce = true;
                try
                {
                    if (!loaded)
                    {
                        map.AbandonLoad(ref load);
                        map.Dispose();
                    }

                    load.Free();
                }
                finally
                {
                    NativeHeap.UnmapAtOnce = false;
                }
            }

            return map;
        }

        /// <summary>
        /// Steps 1 to 4 (see the top of this file) into this new, empty, unpublished map. The
        /// entries are scattered into the bucket array itself, partition k's entries packed at
        /// the start of partition k's buckets, so a load touches no fresh memory besides the
        /// map's own. Entries that do not fit their partition's bytes (keys or values stored
        /// indirectly, or a skewed hash) wait in a spill buffer and go in last.
        /// </summary>
        private void Load(Stream stream, long count, uint headerChecksum, ref LoadState load)
        {
            if (count == 0)
            {
                ReadChecksum(stream, SnapshotFormat.EntriesCrcStart(headerChecksum));
                return;
            }

            int b = Math.Max(_b, MapMath.BForHint(count));
            SizeForLoad(b, commit: stream.CanSeek); // a stream that cannot seek was not measured: reserve, do not populate
            int entrySize = SnapshotType<TKey, TValue>.EntrySize;
            load.Bits = LoadPartitionBits(b);
            load.Shift = b - load.Bits;
            load.Mask = MapMath.BucketMask(b);
            load.RangeBytes = (long)BucketLayout<TKey, TValue>.BucketSize << load.Shift;
            load.Capacity = load.RangeBytes / entrySize;
            load.Cursors = (long*)NativeHeap.Alloc((ulong)sizeof(long) << load.Bits, zero: true);
            load.Scattering = true;

            // Steps 1 to 3: read a chunk of whole entries, checksum it while it is in cache, scatter it.
            long chunkEntries = Math.Max(1, SnapshotChunk / entrySize);
            load.Chunk = NativeHeap.Alloc((ulong)(chunkEntries * entrySize), zero: false);
            uint crc = SnapshotFormat.EntriesCrcStart(headerChecksum);
            ExceptionDispatchInfo? hashFailure = null;
            for (long done = 0; done < count;)
            {
                long n = Math.Min(count - done, chunkEntries);
                int want = (int)(n * entrySize);
                int got = SnapshotFormat.ReadAtLeast(stream, new Span<byte>(load.Chunk, want));
                crc = SnapshotFormat.CrcUpdate(crc, load.Chunk, (nuint)got);
                if (got < want)
                {
                    SnapshotErrors.Truncated(count, (done * entrySize) + got, entrySize);
                }

                if (hashFailure is null)
                {
                    try
                    {
                        Scatter(load.Chunk, n, ref load);
                    }
                    catch (Exception e) when (e is not OutOfMemoryException && KeysRunUserCode)
                    {
                        // User code hashed a key read before the checksum could vouch for it: a
                        // corrupt file must still say so, so the exception waits for the checksum.
                        hashFailure = ExceptionDispatchInfo.Capture(e);
                    }
                }

                done += n;
            }

            ReadChecksum(stream, crc);
            hashFailure?.Throw();

            // Step 4: partition by partition, move the entries out of the way, clear the
            // buckets, and insert.
            load.Out = NativeHeap.Alloc((ulong)load.RangeBytes, zero: false);
            for (long k = 0; k < 1L << load.Bits; k++)
            {
                byte* range = BucketLayout<TKey, TValue>.Bucket(_buckets, (ulong)k << load.Shift);
                long n = load.Cursors[k];
                Buffer.MemoryCopy(range, load.Out, load.RangeBytes, n * entrySize);
                NativeMemory.Clear(range, (nuint)(n * entrySize));
                load.Cursors[k] = 0; // its bytes are buckets again
                for (long i = 0; i < n; i++)
                {
                    PlaceLoaded(load.Out + (i * entrySize), ref load, k);
                }
            }

            load.Scattering = false;
            for (long i = 0; i < load.Spilled; i++)
            {
                PlaceLoaded(load.Spill + (i * entrySize), ref load, NoPartition);
            }
        }

        /// <summary>Steps 2 and 3 for one chunk: hashes each key under this map's seed and appends the entry to its partition.</summary>
        private void Scatter(byte* chunk, long n, ref LoadState load)
        {
            int entrySize = SnapshotType<TKey, TValue>.EntrySize;
            for (byte* e = chunk, end = chunk + (n * entrySize); e < end; e += entrySize)
            {
                long k = (long)((Hash(Unsafe.ReadUnaligned<TKey>(e)) & load.Mask) >> load.Shift);
                long at = load.Cursors[k];
                if (at < load.Capacity)
                {
                    Unsafe.CopyBlockUnaligned(BucketLayout<TKey, TValue>.Bucket(_buckets, (ulong)k << load.Shift) + (at * entrySize), e, (uint)entrySize);
                    load.Cursors[k] = at + 1;
                }
                else
                {
                    load.AddSpill(e, entrySize);
                }
            }
        }

        /// <summary>Reads the entries checksum and compares it with the register fed with the entries.</summary>
        private static void ReadChecksum(Stream stream, uint crc)
        {
            Span<byte> trailer = stackalloc byte[SnapshotFormat.ChecksumLength];
            int got = SnapshotFormat.ReadAtLeast(stream, trailer);
            if (got < trailer.Length)
            {
                SnapshotErrors.TruncatedChecksum(got);
            }

            if (Unsafe.ReadUnaligned<uint>(ref trailer[0]) != SnapshotFormat.CrcFinish(crc) && !SnapshotFormat.IgnoreChecksums)
            {
                SnapshotErrors.EntriesCorrupt();
            }
        }

        /// <summary><see cref="PlaceLoaded"/>'s partition for the spilled entries, placed once every partition's buckets are buckets again.</summary>
        private const long NoPartition = -1;

        /// <summary>
        /// Go's mapassign for a load: inserts one entry of a snapshot, hashed here. Mirrors the
        /// search of <see cref="Assign"/> (keep in sync) without its growth: a load sizes the map
        /// first, and a same-size growth started half-way would evacuate buckets that still hold
        /// scattered entries. Nothing is ever deleted during a load, so a chain's empty slots are
        /// all emptyRest and come last. A key already present makes the snapshot invalid.
        /// <paramref name="partition"/>: the partition being placed, whose entries the scatter
        /// hashed there (<see cref="NoPartition"/> for the spilled ones). A key whose hash now
        /// names a later partition (user code hashing it, against its contract, differently
        /// from one call to the next) is spilled instead: that partition's buckets still hold
        /// raw snapshot bytes, whose tophash words and overflow pointers come from the input
        /// (found by review, 2026-12-06: an AccessViolationException). Placed with the spill, it
        /// is misplaced as <see cref="Assign"/> would misplace it, in memory the map owns.
        /// </summary>
        private void PlaceLoaded(byte* entry, ref LoadState load, long partition)
        {
            TKey key = Unsafe.ReadUnaligned<TKey>(entry);
            ulong hash = Hash(key);
            if (partition != NoPartition && (long)((hash & load.Mask) >> load.Shift) > partition)
            {
                load.AddSpill(entry, SnapshotType<TKey, TValue>.EntrySize);
                return;
            }

            byte top = MapMath.TopHash(hash);
            byte* b = BucketLayout<TKey, TValue>.Bucket(_buckets, hash & MapMath.BucketMask(_b));
            byte* insertB = null;
            int insertI = 0;
            while (true)
            {
                uint bits = BucketLayout<TKey, TValue>.MatchForInsert(b, top, out uint empty);
                for (uint match = bits; MapMath.HasCandidate(match); match &= match - 1)
                {
                    if (KeyEquals(key, BucketLayout<TKey, TValue>.Key(b, MapMath.FirstSlotOfBits(match))))
                    {
                        SnapshotErrors.DuplicateKey(key);
                    }
                }

                if (MapMath.ChainEnds(bits))
                {
                    insertB = b;
                    insertI = MapMath.FirstSlotOfBits(empty);
                    break;
                }

                byte* ovf = BucketLayout<TKey, TValue>.Overflow(b);
                if (ovf == null)
                {
                    break; // full chain: InsertNew links an overflow bucket after b
                }

                b = ovf;
            }

            InsertNew(key, top, b, insertB, insertI) = Unsafe.ReadUnaligned<TValue>(entry + sizeof(TKey));
        }

        /// <summary>
        /// After a failed load, clears the scattered entries still lying in the bucket array, so
        /// that Dispose, which walks chains to free indirect keys and values, sees only real
        /// buckets. Only the bytes written are cleared: a bucket array reserved for a count the
        /// stream never delivered stays untouched.
        /// </summary>
        private void AbandonLoad(ref LoadState load)
        {
            if (!load.Scattering)
            {
                return;
            }

            for (long k = 0; k < 1L << load.Bits; k++)
            {
                byte* range = BucketLayout<TKey, TValue>.Bucket(_buckets, (ulong)k << load.Shift);
                NativeMemory.Clear(range, (nuint)(load.Cursors[k] * SnapshotType<TKey, TValue>.EntrySize));
            }
        }

        /// <summary>Gives the new map the bucket array of 2^<paramref name="b"/> buckets the load fills (allocate first, then replace).</summary>
        private void SizeForLoad(int b, bool commit)
        {
            if (b != _b || _buckets == null)
            {
                byte* array = AllocBucketArray(b, commit, out byte* nextOverflow, populateAhead: commit); // an unmeasured stream's array is reserved only
                FreeBlockOrCache(_buckets); // the options' hint's array, never seen by anyone: the next map of its size may take it
                _buckets = array;
                _nextOverflow = nextOverflow;
                _b = b;
                Publish();
            }
        }

        /// <summary>
        /// Top bits of the bucket index that split a load into partitions whose buckets fit in
        /// <see cref="LoadPartitionBytes"/> (or in <see cref="SnapshotFormat.LoadPartitionBytesForTest"/>,
        /// the fuzz oracle's); 0 when the whole array does.
        /// </summary>
        private static int LoadPartitionBits(int b)
        {
            int partitionBytes = SnapshotFormat.LoadPartitionBytesForTest;
            if (partitionBytes <= 0)
            {
                partitionBytes = LoadPartitionBytes;
            }

            int bucketsPerPartition = BitOperations.Log2((uint)Math.Max(1, partitionBytes / BucketLayout<TKey, TValue>.BucketSize));
            return Math.Clamp(b - bucketsPerPartition, 0, MaxLoadPartitionBits);
        }

        /// <summary>
        /// Appends every entry to <paramref name="w"/>, walking the bucket array in order. While a
        /// growth is in progress, the old chains of a unit not evacuated yet hold all the entries
        /// of its new buckets (which are still empty), and an evacuated unit's old chains hold
        /// only evacuation marks: so the walk takes every old chain's live entries, then every
        /// new chain's, whatever the kind of growth.
        /// </summary>
        private static void WriteEntries(ref SnapshotWriter w, in GrowthSnapshot g)
        {
            if (g.Old != null)
            {
                ulong oldN = MapMath.BucketShift(g.OldB);
                for (ulong j = 0; j < oldN; j++)
                {
                    byte* old = BucketLayout<TKey, TValue>.Bucket(g.Old, j);
                    if (!MapMath.Evacuated(*old))
                    {
                        WriteChain(ref w, old);
                    }
                }
            }

            ulong n = MapMath.BucketShift(g.B);
            for (ulong j = 0; j < n; j++)
            {
                WriteChain(ref w, BucketLayout<TKey, TValue>.Bucket(g.Buckets, j));
            }
        }

        /// <summary>Appends the live entries of one chain, a bucket at a time.</summary>
        private static void WriteChain(ref SnapshotWriter w, byte* b)
        {
            for (; b != null; b = BucketLayout<TKey, TValue>.Overflow(b))
            {
                ulong word = BucketLayout<TKey, TValue>.TopHashWord(b);
                ulong live = MapMath.MatchLive(word);
                if (live != 0)
                {
                    w.MakeRoomForBucket();
                    for (; live != 0; live &= live - 1)
                    {
                        w.Append(b, MapMath.FirstSlot(live));
                    }
                }

                if (MapMath.HasEmptyRest(word))
                {
                    return;
                }
            }
        }

        /// <summary>The bucket arrays and their B as a walk reads them: the two published table words (GoMap.Access.cs).</summary>
        private readonly struct GrowthSnapshot
        {
            internal readonly int B;
            internal readonly byte* Buckets;
            internal readonly byte* Old;
            internal readonly int OldB;

            internal GrowthSnapshot(nuint table, nuint oldTable)
            {
                B = BucketLayout<TKey, TValue>.TableB(table);
                Buckets = BucketLayout<TKey, TValue>.TableArray(table);
                Old = oldTable == 0 ? null : BucketLayout<TKey, TValue>.TableArray(oldTable);
                OldB = BucketLayout<TKey, TValue>.TableB(oldTable);
            }
        }

        /// <summary>
        /// The buffer of <see cref="WriteTo"/> and the read protocol around the stream's writes:
        /// the walk is announced as a read (so that a Dispose on another thread waits for it) and
        /// checks the state word after each stretch; the announcement ends before user code (the
        /// stream) runs. A change seen after a stretch of walking is another thread's write, a
        /// race; one seen right after the stream's Write is a write from inside it.
        /// </summary>
        private struct SnapshotWriter
        {
            internal readonly GoMap<TKey, TValue> Map;
            internal readonly Stream Stream;
            internal readonly byte* Buffer;
            internal readonly int Size;
            internal long State;        // the state word the walk began with
            internal int Used;          // bytes in the buffer
            internal long Written;      // entries appended
            internal uint Crc;          // entries checksum register
            private bool _announced;

            internal SnapshotWriter(GoMap<TKey, TValue> map, Stream stream, byte* buffer, int size)
            {
                this = default;
                Map = map;
                Stream = stream;
                Buffer = buffer;
                Size = size;
            }

            /// <summary>Flushes unless the buffer has room for a whole bucket's entries.</summary>
            internal void MakeRoomForBucket()
            {
                if (Used > Size - (MapMath.BucketCnt * SnapshotType<TKey, TValue>.EntrySize))
                {
                    EndWalk(check: true);
                    Flush(checksummed: true);
                    BeginWalk();
                }
            }

            /// <summary>Appends the entry in slot <paramref name="i"/> of bucket <paramref name="b"/>; room was made.</summary>
            internal void Append(byte* b, int i)
            {
                Unsafe.WriteUnaligned(Buffer + Used, BucketLayout<TKey, TValue>.Key(b, i));
                Unsafe.WriteUnaligned(Buffer + Used + sizeof(TKey), BucketLayout<TKey, TValue>.Value(b, i));
                Used += SnapshotType<TKey, TValue>.EntrySize;
                Written++;
            }

            /// <summary>
            /// Starts a stretch of walking: in Strict mode announced as a read, so that releases of
            /// bucket memory (and Dispose on another thread) wait for it, with the checks a Strict
            /// read begins with (<see cref="AnnounceRead"/>), since a Dispose or a write on another
            /// thread may have run since the last look.
            /// </summary>
            internal void BeginWalk()
            {
                if (Map.IsStrict)
                {
                    Map.AnnounceRead(State, GoMessages.ConcurrentIterationWrite);
                    _announced = true;
                }
            }

            /// <summary>Ends the announcement (idempotent); with <paramref name="check"/>, throws if another thread wrote meanwhile.</summary>
            internal void EndWalk(bool check)
            {
                if (_announced)
                {
                    ReaderRegistry.Exit();
                    _announced = false;
                }

                if (check)
                {
                    Fences.LoadsBeforeLaterAccesses(); // the walk's loads before the check (Arm64: see Fences)
                    Map.EndRead(State, GoMessages.ConcurrentIterationWrite);
                }
            }

            /// <summary>Writes the buffer out (feeding the entries checksum first when it holds entries).</summary>
            internal void Flush(bool checksummed)
            {
                if (checksummed)
                {
                    Crc = SnapshotFormat.CrcUpdate(Crc, Buffer, (nuint)Used);
                }

                Stream.Write(new ReadOnlySpan<byte>(Buffer, Used));
                Used = 0;

                // Disposed from inside Write: Dispose frees everything at once, this walk's
                // registration notwithstanding, and does not change the state word.
                Map.CheckUsable();
                Fences.LoadsBeforeLaterAccesses(); // the buffer's loads before the check (Arm64: see Fences)
                long state = Volatile.Read(ref Map._state);
                if (state != State)
                {
                    if ((state & StateWriting) != 0)
                    {
                        // A write still running after the stream's Write returned is another
                        // thread's: Go's detection (poisons the map, or FailFast). One that ended
                        // within the stream call cannot be told from the stream's own (found by a
                        // hostile harness: both were reported as the stream's, unpoisoned).
                        Map.Detected(GoMessages.ConcurrentIterationWrite, insideWrite: false);
                    }

                    SnapshotErrors.WrittenDuring();
                }
            }
        }

        /// <summary>The scratch state of one load: partition geometry, cursors and native buffers (freed by <see cref="Free"/>).</summary>
        private struct LoadState
        {
            internal int Bits;          // partitions: 2^Bits runs of consecutive buckets
            internal int Shift;         // B - Bits: a bucket index shifted right by it is its partition
            internal ulong Mask;        // bucket mask of the loaded B
            internal long RangeBytes;   // bytes of one partition's buckets
            internal long Capacity;     // entries that fit in those bytes
            internal long* Cursors;     // entries scattered into each partition's bytes
            internal bool Scattering;   // some partitions' bytes hold entries, not buckets
            internal byte* Chunk;       // read buffer
            internal byte* Out;         // one partition's entries, moved out before its buckets are filled
            internal byte* Spill;       // entries that did not fit their partition
            internal long Spilled;
            internal long SpillCapacity;

            internal void AddSpill(byte* entry, int entrySize)
            {
                if (Spilled == SpillCapacity)
                {
                    long capacity = Math.Max(1024, SpillCapacity * 2);
                    byte* grown = NativeHeap.Alloc((ulong)(capacity * entrySize), zero: false);
                    Buffer.MemoryCopy(Spill, grown, capacity * entrySize, Spilled * entrySize);
                    NativeHeap.Free(Spill);
                    Spill = grown;
                    SpillCapacity = capacity;
                }

                Unsafe.CopyBlockUnaligned(Spill + (Spilled++ * entrySize), entry, (uint)entrySize);
            }

            internal void Free()
            {
                NativeHeap.Free((byte*)Cursors);
                NativeHeap.Free(Chunk);
                NativeHeap.Free(Out);
                NativeHeap.Free(Spill);
                this = default;
            }
        }
    }
}
