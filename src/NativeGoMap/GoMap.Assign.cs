using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace NativeGoMap
{
    // Insert and update: Go's mapassign; the block loop of the batched writes (WriteMany: SetValues'
    // sets and RemoveKeys' removes), which prefetches the next block's buckets while it writes a
    // block, as TryGetValues does for lookups.
    public sealed unsafe partial class GoMap<TKey, TValue>
    {
        /// <summary>
        /// Go's mapassign: the value slot of <paramref name="key"/>, creating the entry (value
        /// zeroed) when absent. The caller holds hashWriting. Decides the key equality once per
        /// call. The fast path covers what most writes are: an update, or an insert into a free
        /// slot of an existing chain while no growth runs, no growth is due and no retired memory
        /// waits; everything else (growth work, a new overflow bucket, indirect blocks, release
        /// steps) is the slow path, which searches again.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private ref TValue Assign(scoped in TKey key, ulong hash, out bool exists)
        {
            if (_comparer is null)
            {
                return ref AssignFast(default(DefaultKeys), key, hash, out exists);
            }

            return ref AssignWithComparer(key, hash, out exists);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private ref TValue AssignWithComparer(scoped in TKey key, ulong hash, out bool exists) =>
            ref AssignFast(new ComparerKeys(_comparer!), key, hash, out exists);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private ref TValue AssignFast<TK>(TK keys, scoped in TKey key, ulong hash, out bool exists)
            where TK : struct, IKeys
        {
            if (TryAssignFast(keys, key, hash, FastWriteTable(), zeroValue: true, out TValue* v, out exists))
            {
                return ref *v;
            }

            return ref AssignSlow(keys, key, hash, out exists);
        }

        /// <summary>
        /// The fast path of <see cref="AssignFast"/>: true with the value slot of an update, or of
        /// an insert into a free slot of the chain; false when the slow path must run (nothing
        /// changed then). A bool and not a null test of the slot, which the JIT cannot fold. Allocates nothing and, with default equality on keys that run no user code,
        /// cannot throw, which lets the public writes run it outside their try/finally (they
        /// call it only for such keys, see the indexer's set). <paramref name="zeroValue"/> (a
        /// constant at each call): a new key's value slot is set to <c>default</c>; the indexer's
        /// set and TryAdd pass false, as they store the value right after (<see cref="StoreNew"/>).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private bool TryAssignFast<TK>(TK keys, TKey key, ulong hash, nuint t, bool zeroValue, out TValue* v, out bool exists)
            where TK : struct, IKeys
        {
            exists = false;
            if (t != 0)
            {
                // The array and B from one word (t, the caller's FastWriteTable or the inline
                // writes' plain-write table), as lookups read them: in Go mode another writer may
                // be starting a growth right now (misuse), and pairing its new B with the old
                // array would index past the array's end.
                byte top = MapMath.TopHash(hash);
                byte* b = BucketLayout<TKey, TValue>.TableBucketPrefetched(t, hash);
                if (FindForAssign(keys, key, top, ref b, out v, out byte* insertB, out int insertI))
                {
                    exists = true;
                    return true;
                }

                if (insertB != null && _count < _insertSlowAt && !BucketLayout<TKey, TValue>.IndirectKey && !BucketLayout<TKey, TValue>.IndirectValue)
                {
                    v = (TValue*)Unsafe.AsPointer(ref StoreNew(key, top, insertB, insertI, zeroValue));
                    return true;
                }
            }

            v = null;
            return false;
        }

        /// <summary>
        /// mapassign's search: true with the key's value slot in <paramref name="value"/>, or false
        /// with the first free slot seen (<paramref name="insertB"/>, null when the chain is full)
        /// and <paramref name="b"/> left at the chain's last bucket.
        /// </summary>
        /// <remarks>
        /// The chain's first bucket, where an update finds its key, is searched before anything
        /// about free slots is set: with one loop for the whole chain the JIT kept the insert
        /// position on the stack and zeroed it there on every update (two stores and two
        /// instructions more). Probes at 1,000 <c>&lt;long,long&gt;</c> entries, alternating
        /// processes, medians: updates 3.06 → 3.01 ns (eight pairs), inserts with a hint 5.40 →
        /// 5.29 ns (seven pairs). Tried and not kept (2026-12-02): the public writes' inline
        /// paths searching the first bucket only, a chain that goes on past it left to their
        /// out-of-line call (as the lookups do), for the <c>&lt;Guid,long&gt;</c> update loop's
        /// stack slots (key half, tophash, candidate mask): one slot fewer, and three alternated
        /// quick comparisons at 1,000 entries unchanged (<c>&lt;Guid&gt;</c> update 4.47-4.61
        /// against 4.49-4.52 ns and one slowed run, <c>&lt;long&gt;</c> 3.20-3.51 against 3.15-3.22, inserts with a
        /// hint within the noise).
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static bool FindForAssign<TK>(TK keys, TKey key, byte top, ref byte* b, out TValue* value, out byte* insertB, out int insertI)
            where TK : struct, IKeys
        {
            uint bits = BucketLayout<TKey, TValue>.MatchTopHashAndEnd(b, top);
            for (uint match = bits; MapMath.HasCandidate(match); match &= match - 1)
            {
                int i = MapMath.FirstSlotOfBits(match);
                if (keys.Equal(key, BucketLayout<TKey, TValue>.Key(b, i)))
                {
                    // Already present: .NET keeps the stored key (Go would overwrite it for
                    // keys whose equal values may differ in bytes, such as +0 and -0).
                    value = BucketLayout<TKey, TValue>.ValuePtr(b, i);
                    insertB = null;
                    insertI = 0;
                    return true;
                }
            }

            value = null;
            insertB = null;
            insertI = 0;
            while (true)
            {
                if (insertB == null)
                {
                    // The free slots only now that the key is not in this bucket (see
                    // MapMath.MatchForInsert's remarks).
                    uint empty = BucketLayout<TKey, TValue>.EmptySlots(b);
                    if (empty != 0)
                    {
                        insertB = b;
                        insertI = MapMath.FirstSlotOfBits(empty);
                    }
                }

                if (MapMath.ChainEnds(bits))
                {
                    return false;
                }

                byte* ovf = BucketLayout<TKey, TValue>.Overflow(b);
                if (ovf == null)
                {
                    return false;
                }

                // The overflow buckets: the candidate loop mirrors the first bucket's above.
                b = ovf;
                bits = BucketLayout<TKey, TValue>.MatchTopHashAndEnd(b, top);
                for (uint match = bits; MapMath.HasCandidate(match); match &= match - 1)
                {
                    int i = MapMath.FirstSlotOfBits(match);
                    if (keys.Equal(key, BucketLayout<TKey, TValue>.Key(b, i)))
                    {
                        value = BucketLayout<TKey, TValue>.ValuePtr(b, i);
                        return true;
                    }
                }
            }
        }

        /// <summary>
        /// The whole of Go's mapassign, holding the structural right: a release step, the next
        /// step of a pending resize, the first array (after that step, which may leave an emptied
        /// map without one), growth work, starting a growth, a new overflow bucket, indirect blocks.
        /// Everything that can fail is allocated before the map changes, so an
        /// <see cref="System.OutOfMemoryException"/> leaves it as it was, apart from growth work
        /// already completed, which is a valid state of its own.
        /// </summary>
        /// <remarks>
        /// Where the slow inserts of a build from empty go (2026-12-03, README's VM, a copy of the
        /// library timing every SetSlow call; 1,000 <c>&lt;long,long&gt;</c> inserts, 13.3 µs per
        /// build with the timers against 11.2 without): 31 of the 1,000 inserts come here. The 4
        /// that start a growth took 4.7 µs (the whole evacuation 3.9 µs, see EvacuateChain4; the
        /// new arrays 0.6 µs), the 22 that link an overflow bucket 1.7 µs, and 5 others (the first
        /// array, the release steps after each growth) 0.7 µs; each timed call also carries about
        /// 40 ns of timer reads. Taking the overflow inserts' two fences out of Publish (see
        /// there) did not show in the build's time.
        /// </remarks>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private ref TValue AssignSlow<TK>(TK keys, scoped in TKey key, ulong hash, out bool exists)
            where TK : struct, IKeys
        {
            EnterStructural();
            try
            {
                ReclaimStep();
                if (_oldBuckets == null && _resizeB >= 0)
                {
                    ContinueResizeForWrite();
                }

                // After the resize step: on an empty map it replaces the array, with none for B = 0.
                if (_buckets == null)
                {
                    _buckets = AllocBucketArray(0, commit: false, out _nextOverflow);
                    Publish();
                }

                byte top = MapMath.TopHash(hash);
            again:
                ulong bucket = hash & MapMath.BucketMask(_b);
                if (_oldBuckets != null)
                {
                    GrowWork(bucket);
                }

                byte* b = BucketLayout<TKey, TValue>.Bucket(_buckets, bucket);
                if (FindForAssign(keys, key, top, ref b, out TValue* v, out byte* insertB, out int insertI))
                {
                    exists = true;
                    return ref *v;
                }

                // Not found. If we hit the max load factor or have too many overflow buckets, and
                // we're not already in the middle of growing, start growing; growing invalidates
                // everything found above, so search again.
                if (_oldBuckets == null && GrowthDue())
                {
                    // A growth or shrink that GrowWork just ended may have left an EnsureCapacity's
                    // plan pending: its step first, so that the insert takes the planned growth
                    // rather than one of its own (found by review: a shrink ending in an insert
                    // over the smaller B's load factor grew by one level, and the plan a second time).
                    if (_resizeB >= 0)
                    {
                        ContinueResizeForWrite();
                    }

                    if (_oldBuckets == null && GrowthDue())
                    {
                        HashGrow();
                    }

                    goto again;
                }

                if (PrepareDue() && _count + 1 > PreparePoint())
                {
                    PrepareGrowthArray();
                }

                exists = false;
                return ref InsertNew(key, top, b, insertB, insertI);
            }
            finally
            {
                Publish();
                ExitStructural();
            }
        }

        /// <summary>Stores a new key at the free slot found, or in a new overflow bucket after <paramref name="last"/>.</summary>
        private ref TValue InsertNew(scoped in TKey key, byte top, byte* last, byte* insertB, int insertI)
        {
            byte* kmem = null;
            byte* vmem = null;
            if (BucketLayout<TKey, TValue>.IndirectKey || BucketLayout<TKey, TValue>.IndirectValue || insertB == null)
            {
                // Allocate first, commit after.
                try
                {
                    if (BucketLayout<TKey, TValue>.IndirectKey)
                    {
                        kmem = AllocBlock((ulong)sizeof(TKey), zero: false);
                    }

                    if (BucketLayout<TKey, TValue>.IndirectValue)
                    {
                        vmem = AllocBlock((ulong)sizeof(TValue), zero: true);
                    }

                    if (insertB == null)
                    {
                        insertB = NewOverflow(last);
                        insertI = 0;
                    }
                }
                catch
                {
                    FreeBlock(kmem);
                    FreeBlock(vmem);
                    throw;
                }

                if (BucketLayout<TKey, TValue>.IndirectKey)
                {
                    BucketLayout<TKey, TValue>.SlotPointer(BucketLayout<TKey, TValue>.KeySlot(insertB, insertI)) = kmem;
                }

                if (BucketLayout<TKey, TValue>.IndirectValue)
                {
                    BucketLayout<TKey, TValue>.SlotPointer(BucketLayout<TKey, TValue>.ValueSlot(insertB, insertI)) = vmem;
                }
            }

            return ref StoreNew(key, top, insertB, insertI);
        }

        /// <summary>
        /// Fills a free slot (its indirect blocks, if any, already in place) and counts the entry.
        /// An inline value slot, which may hold a deleted entry's bytes, is set to <c>default</c>
        /// unless <paramref name="zeroValue"/> is false: for a caller that stores the value next
        /// (the indexer's set, TryAdd), where the JIT kept both stores: without the first, the
        /// insert loop has an xor and a store fewer, and a probe building 1,000-entry
        /// <c>&lt;long,long&gt;</c> maps with a hint took 4.18-4.21 ns per insert against
        /// 4.26-4.39 (four alternated pairs, 2026-12-03).
        /// The tophash byte is stored alone. The next write or lookup in the same bucket loads the
        /// whole tophash word, which the CPU cannot forward from that one-byte store still in its
        /// store buffer: it waits for the store to reach the cache. In a map of one bucket (up to 8
        /// entries) every insert does: a probe clearing and refilling an 8-entry
        /// <c>&lt;long,long&gt;</c> map took 110-126 ns against Dictionary's 31-34. Tried and not
        /// kept (2026-12-03, README's VM, one build switched by an environment variable, five
        /// alternated pairs): the word stored whole (read, byte replaced, written back): that
        /// refill 75-77 ns, but 1,000 inserts with a hint 4.30-4.44 → 4.96-5.04 ns each and
        /// 1,000-entry refills 4.82-5.33 → 5.49-5.65; only in tables of at most 4 buckets (a test
        /// on B from the table word): the refill of 8 as fast, but 1,000 inserts with a hint
        /// 4.32-4.42 → 4.47-4.53 and 1,000 updates 2.72-2.84 → 2.93-3.00 (the inline set's code
        /// with the test in it).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private ref TValue StoreNew(TKey key, byte top, byte* insertB, int insertI, bool zeroValue = true)
        {
            BucketLayout<TKey, TValue>.Key(insertB, insertI) = key;
            ref TValue value = ref BucketLayout<TKey, TValue>.Value(insertB, insertI);
            if (!BucketLayout<TKey, TValue>.IndirectValue && zeroValue)
            {
                value = default;
            }

            BucketLayout<TKey, TValue>.TopHash(insertB, insertI) = top;
            _count++;
            return ref value;
        }

        /// <summary>
        /// Go's newoverflow: links an empty overflow bucket after <paramref name="b"/>: a spare
        /// (one a delete unlinked empty from a chain's end, <see cref="TrimEmptyTail"/>), else a
        /// preallocated one from the array tail, else the next of the current overflow chunk,
        /// else one of a new chunk recorded in the current generation's ownership list.
        /// Allocates (and may throw) before linking anything; a spare or a preallocated bucket
        /// allocates nothing.
        /// </summary>
        /// <remarks>
        /// Every insert that needs a new overflow bucket takes the slow path (the structural
        /// compare-and-swap, AssignSlow's search again): about 22 of a 1,000-entry
        /// <c>&lt;long,long&gt;</c> build's inserts, about 50 ns more than an insert into a free slot
        /// (probe timing each insert, 2026-12-04). Tried and not kept (same day): the inline
        /// insert taking a preallocated bucket of the array's tail itself, without the
        /// compare-and-swap. Those inserts took 72-75 ns against 80-84 as timed (each with
        /// about 30 ns of timer), 0.2 ns per insert of the build; builds of 1,000 entries took
        /// 12.7-13.6 ns per insert against 12.4-13.6 in three alternated pairs, within the noise.
        /// And a racing growth on another thread (misuse) could leave <see cref="_nextOverflow"/>
        /// pointing into an array it retired, which a later insert would link into the new one.
        /// </remarks>
        private byte* NewOverflow(byte* b)
        {
            byte* ovf;
            if (_spareOverflow != null)
            {
                // A bucket a delete unlinked empty (TrimEmptyTail): already counted in noverflow
                // when it was first linked, so reusing it brings no same-size growth nearer.
                ovf = _spareOverflow;
                _spareOverflow = BucketLayout<TKey, TValue>.Overflow(ovf);
                BucketLayout<TKey, TValue>.Overflow(ovf) = null;
                _spareCount--;
                _overflowUsed++;
                BucketLayout<TKey, TValue>.PublishOverflow(b, ovf);
                return ovf;
            }

            if (_nextOverflow != null)
            {
                // We have preallocated overflow buckets available; the last one ends the array
                // (Go marks it with a sentinel overflow pointer instead: see InitBucketArray).
                ovf = _nextOverflow;
                byte* next = BucketLayout<TKey, TValue>.NextInMemory(ovf);
                _nextOverflow = next == BucketLayout<TKey, TValue>.Bucket(_buckets, MapMath.ArrayBucketCount(_b)) ? null : next;
                if (_smallPagesForGrowth)
                {
                    // As the growth's evacuations do (FaultInDestinations), with a chunk of its own:
                    // the tail is taken in order, so its chunk serves the buckets taken after it.
                    int chunks = 1;
                    FaultInNewBucket(ovf, ref chunks);
                }
            }
            else
            {
                if (_chunkLeft == 0)
                {
                    NewOverflowChunk(1);
                }

                ovf = _chunkNext;
                _chunkNext = BucketLayout<TKey, TValue>.NextInMemory(_chunkNext);
                _chunkLeft--;
            }

            IncrNoverflow();
            _overflowUsed++;

            // A release: a racing read that follows the link finds the bucket's zeroed bytes, not
            // what a C-heap block held before (x64 keeps stores in order anyway; Arm64 does not).
            BucketLayout<TKey, TValue>.PublishOverflow(b, ovf);
            return ovf;
        }

        /// <summary>
        /// Go's incrnoverflow: counts an overflow bucket exactly while B &lt; 16, and with
        /// probability 1/2^(B−15) above, so the counter stays within 16 bits of meaning.
        /// </summary>
        private void IncrNoverflow()
        {
            if (_b < 16)
            {
                _noverflow++;
                return;
            }

            ulong mask = (1UL << (_b - 15)) - 1;
            if ((NextRandom() & mask) == 0)
            {
                _noverflow++;
            }
        }

        /// <summary>
        /// The batched writes of <see cref="SetValues"/> and <see cref="RemoveKeys"/>: the
        /// indexer's set (or <see cref="Remove(TKey)"/>, with <paramref name="remove"/>) of each
        /// key in order, with, for keys that run no user code, the buckets of the next block of
        /// keys prefetched before the current block is written (<see cref="PrefetchForWrites"/>),
        /// as <see cref="FindMany"/> does for lookups. The writes do not depend on the prefetches:
        /// each key's write hashes it again under hashWriting and does everything the single
        /// write does, so the batch is exactly a loop of them. Keys that run user code are not
        /// hashed ahead: their hashing would run before the writes of the keys before them.
        /// Returns the keys added (sets) or removed (removes). <paramref name="value0"/> is not
        /// read by removes.
        /// </summary>
        /// <remarks>
        /// Measured (2026-12-04, README's VM, quick comparison, three runs; insert_batch against
        /// insert_hint, the same keys into a map made with the capacity): at 1,000,000 entries
        /// <c>&lt;int&gt;</c> 15.0-29.4 → 9.2-13.0 ns per key, <c>&lt;long&gt;</c> 26.9-28.7 →
        /// 12.7-13.4, <c>&lt;Guid&gt;</c> 37.7-64.2 → 15.2-20.7 (2.4-3.9 times Dictionary's
        /// indexer); at 1,000, where nothing is prefetched, 0.2-0.5 ns per key slower than the
        /// loop then (the two calls per block of 16; see the runs below). The writes run in <see cref="SetEach"/> and
        /// <see cref="RemoveEach"/>: with the set inlined into this method's block loop, the JIT
        /// kept the index, the block's end and the values' reference on the stack, and 1,000-entry
        /// batches took 0.5-0.7 ns per key more than the loop. A table the caches hold is written
        /// in runs of 256 keys, not blocks of 16, and looked at again after each run (2026-12-05,
        /// probe, 1,000 <c>&lt;long,long&gt;</c> removes in random order, five rounds: 4.95-5.05 →
        /// 4.66-4.72 ns per key, the loop of Remove 4.16-4.35; two quick comparisons after it:
        /// insert_batch at 1,000 within -0.1 to +0.45 ns of insert_hint, remove_batch within
        /// 0.0-0.2 ns of remove).
        /// Tried and not kept (2026-12-06, after TryGetValues' blocks gave way to a pipeline one
        /// key wide, <see cref="FindManyPipelined"/>): each write asking for the buckets of the
        /// key 16 later, one key at a time, instead of a block's 16 before the block. A probe
        /// (random keys into fresh maps made with the capacity, <c>&lt;K,long&gt;</c>, alternated
        /// processes, two runs) read it faster everywhere (sets at 1,000,000 <c>&lt;int&gt;</c>
        /// 25-43 → 12-14 ns per key, <c>&lt;long&gt;</c> 23-42 → 19-29; the pair constructor
        /// too), but the quick comparison, alternated against the blocks, did not: insert_batch
        /// <c>&lt;int,int&gt;</c> at 1,000,000 10.3-11.4 → 24.5-24.7 ns per key,
        /// <c>&lt;long,long&gt;</c> 21.2-24.7 → 29.4-32.9, remove_batch 12.3-13.4 → 14.1-14.4
        /// and 20.8-29.2 → 22.6-25.4. Neither the distance (8 to 64 keys), separate loops for
        /// sets and removes, nor the prefetches taken once per 16 keys' call with the table read
        /// there changed that (three more alternated runs, noisier: <c>&lt;int&gt;</c> sets 14-21
        /// with blocks, 24-39 without). The JIT's code was as expected (the prefetch inlined, out
        /// of the loop's straight path); why sets into an array the L3 holds want their
        /// prefetches in bursts was not found (no counters on this VM).
        /// </remarks>
        private int WriteMany(ReadOnlySpan<TKey> keys, ref TValue value0, bool remove)
        {
            const int Block = 16; // keys per block while prefetching
            const int Run = 256; // keys written between two looks at the table while it is in the caches
            CheckUsable(); // also for no keys, as TryGetValues' read checks

            // Elements through MemoryMarshal.GetReference, not the span indexer (see FindMany).
            ref TKey key0 = ref MemoryMarshal.GetReference(keys);
            bool prefetch = !KeysRunUserCode;
            bool ahead = prefetch && PrefetchForWrites(ref key0, 0, Math.Min(Block, keys.Length));
            int written = 0;
            for (int start = 0; start < keys.Length;)
            {
                int next = start + Math.Min(ahead ? Block : Run, keys.Length - start); // at most keys.Length: start + Block (or Run) could wrap
                if (ahead && next < keys.Length)
                {
                    PrefetchForWrites(ref key0, next, Math.Min(Block, keys.Length - next));
                }

                written += remove ? RemoveEach(ref key0, start, next) : SetEach(ref key0, ref value0, start, next);
                start = next;
                if (prefetch && !ahead && start < keys.Length)
                {
                    // The writes so far may have grown the table past the caches: from here on,
                    // ahead of the writes (this block's buckets asked for first).
                    ahead = PrefetchForWrites(ref key0, start, Math.Min(Block, keys.Length - start));
                }
            }

            return written;
        }

        /// <summary>
        /// Whether writes of many keys now prefetch their buckets ahead (<see cref="WriteMany"/>,
        /// the pair constructor): keys whose hashing runs no user code, in a bucket array beyond
        /// the caches. <see cref="WriteMany"/> tests the array at every block (<see cref="PrefetchForWrites"/>),
        /// since a batch may grow it past the bound.
        /// </summary>
        private bool WritesPrefetch() => !KeysRunUserCode && _buckets != null && !BatchFitsInCache(_b);

        /// <summary>
        /// For <see cref="WriteMany"/>: the indexer's set of keys <paramref name="start"/> to
        /// <paramref name="end"/> − 1, in order; returns how many were added. A method of its
        /// own, so that the JIT keeps the loop's values in registers around the inlined set (see
        /// WriteMany's remarks).
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private int SetEach(ref TKey key0, ref TValue value0, int start, int end)
        {
            long before = _count;
            for (int i = start; i < end; i++)
            {
                this[Unsafe.Add(ref key0, i)] = Unsafe.Add(ref value0, i);
            }

            return (int)(_count - before);
        }

        /// <summary>
        /// For <see cref="WriteMany"/>: asks the CPU for the buckets that the writes of keys
        /// <paramref name="start"/> to <paramref name="start"/> + <paramref name="n"/> − 1 will
        /// touch first: each key's bucket in the table and, while a growth runs, its old bucket,
        /// which the write evacuates. Nothing for a table that the caches hold
        /// (<see cref="BatchFitsInCache"/>) or no table: false then. Reads the published table
        /// words without holding hashWriting: a prefetch is a hint that never faults, so a growth
        /// or a release between it and the write makes it useless, not wrong.
        /// </summary>
        private bool PrefetchForWrites(ref TKey key0, int start, int n)
        {
            nuint t = Volatile.Read(ref _table);
            if (t == 0 || BatchFitsInCache(BucketLayout<TKey, TValue>.TableB(t)))
            {
                return false;
            }

            nuint old = Volatile.Read(ref _oldTable);
            ulong k1 = _k1;
            ulong k2 = _k2;
            for (int j = 0; j < n; j++)
            {
                ulong hash = KeyOps<TKey>.Hash(Unsafe.Add(ref key0, start + j), k1, k2);
                BucketLayout<TKey, TValue>.PrefetchBucket(BucketLayout<TKey, TValue>.TableBucket(t, hash));
                if (old != 0)
                {
                    BucketLayout<TKey, TValue>.PrefetchBucket(BucketLayout<TKey, TValue>.TableBucket(old, hash));
                }
            }

            return true;
        }
    }
}
