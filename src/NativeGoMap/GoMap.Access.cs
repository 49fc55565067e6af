using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace NativeGoMap
{
    // Lookups: Go's mapaccess1/mapaccess2/mapaccessK, one pointer-returning search, and the
    // batched form behind TryGetValues.
    //
    // Readers load the bucket array and B as one word (_table: the array is 64-byte aligned, so
    // its low 6 bits hold B) and the old array with its B the same way (_oldTable); _quietTable
    // repeats _table while no growth runs and no comparer is set, and is 0 otherwise, so that
    // Find's inline search decides with one load that it may search the table alone.
    // _plainReadTable repeats _quietTable in a Go-mode map that is neither poisoned nor disposed,
    // and is 0 otherwise: the other inline lookups (TryRead, GetValueRefOrNullRef) test it with
    // the state word and nothing else (GoMap.Concurrency.cs, TryBeginInlineRead). A write that
    // races a read (misuse) can therefore never pair a new B with an older, smaller array and
    // send an index past its end. Writes publish the words after the fields they summarize
    // (old before new at a growth start, the quiet and plain-read words last), so a reader that sees a new
    // table also sees its old one. Past that, the memory a reader reaches stays mapped: retired memory is released by
    // later writes only (Go mode) and not while a Strict reader announces itself.
    public sealed unsafe partial class GoMap<TKey, TValue>
    {
        /// <summary>
        /// The value of a key, or null (Go's mapaccess2), for a read that began with
        /// <paramref name="token"/>. Decides the key equality once per call, as Dictionary's
        /// FindValue does: default equality searches inline; a comparer, or user equality in a
        /// Strict read (whose announcement must be withdrawn if it throws), searches out of line.
        /// The key comes by value, so that the inline search compares it from a register: a
        /// reference would force the caller to store it in memory.
        /// </summary>
        /// <remarks>
        /// The common case tests one published word, <see cref="_quietTable"/> (an array, no
        /// growth, no comparer), where the comparer, the array and the old array were once tested
        /// one by one; everything else goes out of line (<see cref="FindSlow"/>, which tests them).
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private TValue* Find(TKey key, long token)
        {
            nuint t = Volatile.Read(ref _quietTable);
            if (t != 0 && (KeyOps<TKey>.Kind != KeyKind.Equatable || (token & TokenAnnounced) == 0))
            {
                // Probe's search of a table that is not growing; mirrors it.
                ulong hash = KeyOps<TKey>.Hash(key, _k1, _k2);
                byte* p = BucketLayout<TKey, TValue>.TableBucketPrefetched(t, hash);
                return ProbeChain(default(DefaultKeys), key, MapMath.TopHash(hash), p);
            }

            return FindSlow(key, token);
        }

        /// <summary><see cref="Find"/> for a growing map, one without an array, one with a comparer, or user equality in a Strict read.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private TValue* FindSlow(TKey key, long token)
        {
            if (_comparer is null && (!KeysRunUserCode || (token & TokenAnnounced) == 0))
            {
                return Probe(default(DefaultKeys), key);
            }

            return FindCallingUserCode(key, token);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private TValue* FindCallingUserCode(TKey key, long token)
        {
            try
            {
                return _comparer is null ? Probe(default(DefaultKeys), key) : Probe(new ComparerKeys(_comparer), key);
            }
            catch
            {
                AbandonRead(token);
                throw;
            }
        }

        /// <summary>
        /// The search of Go's mapaccess2: hash, the 8 tophash bytes of a bucket matched in one go
        /// (<see cref="MapMath.MatchTopHashAndEnd"/>), key compares only where the tophash byte
        /// matches, stop at the first emptyRest. Straight line for a table that is not growing;
        /// the growing case and overflow buckets are out of line.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private TValue* Probe<TK>(TK keys, TKey key)
            where TK : struct, IKeys
        {
            ulong hash = keys.Hash(this, key);
            nuint t = Volatile.Read(ref _table);
            if (t == 0)
            {
                return null; // no bucket array yet
            }

            byte* p = BucketLayout<TKey, TValue>.TableBucketPrefetched(t, hash);
            nuint old = _oldTable;
            if (old != 0)
            {
                return ProbeGrowing(keys, key, hash, p, old);
            }

            return ProbeChain(keys, key, MapMath.TopHash(hash), p);
        }

        /// <summary>
        /// <see cref="Probe"/> while a growth runs: the old bucket when it has not been evacuated
        /// yet, else the new one. Out of line, so that the common probe keeps its registers.
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static TValue* ProbeGrowing<TK>(TK keys, TKey key, ulong hash, byte* p, nuint old)
            where TK : struct, IKeys
        {
            byte* oldb = BucketLayout<TKey, TValue>.TableBucket(old, hash);
            return ProbeChain(keys, key, MapMath.TopHash(hash), MapMath.Evacuated(BucketLayout<TKey, TValue>.TopHash(oldb, 0)) ? p : oldb);
        }

        /// <summary>
        /// Walks one chain for a key whose tophash byte is <paramref name="top"/>: the first
        /// bucket inline, its overflow buckets out of line (<see cref="ProbeOverflow"/>). For
        /// <see cref="Probe"/>; <see cref="FindManyInCache"/> and <see cref="ProbeAndStore"/> mirror it.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static TValue* ProbeChain<TK>(TK keys, TKey key, byte top, byte* p)
            where TK : struct, IKeys
        {
            uint bits = BucketLayout<TKey, TValue>.MatchTopHashAndEnd(p, top);
            TValue* v = MatchKey(keys, key, p, bits);
            if (v != null || MapMath.ChainEnds(bits))
            {
                return v;
            }

            return ProbeOverflow(keys, key, top, p);
        }

        /// <summary>
        /// The value of the slot among a bucket's candidates (bits 0..7 of a
        /// <see cref="MapMath.MatchTopHashAndEnd"/> mask) whose key equals <paramref name="key"/>,
        /// or null: the key compares of one bucket, for the searches that read (ProbeChain,
        /// ProbeOverflow; TryRead, GetValueRefOrNullRef, FindManyInCache and ProbeAndStore mirror the loop).
        /// </summary>
        /// <remarks>
        /// Tried and not kept (2026-12-03, README's VM): Go's map_fast32/64 way for 4- and 8-byte
        /// keys, all eight key slots compared with the key in one vector compare
        /// (<c>vpcmpeqq</c> on 512 bits, <c>vpcmpeqd</c> on 256), the result masked with the
        /// tophash candidates, so that a hit takes no candidate loop. In TryRead, four alternated
        /// pairs of quick comparisons of <c>&lt;int&gt;</c> and <c>&lt;long&gt;</c> at 1,000
        /// entries (switched by an environment variable): hits 2.35-2.76 against 2.52-2.97 ns
        /// (within the noise), misses 2.18-2.47 against 1.81-2.06 (the compare's two-line load
        /// and three more instructions, where a
        /// miss needed only the tophash word); at 1,000,000 entries (two pairs) hits within the
        /// noise, <c>&lt;long&gt;</c> misses 25.1-25.4 against 21.0-23.4 ns. The candidate
        /// loop costs a hit as many instructions as the vector compare does.
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static TValue* MatchKey<TK>(TK keys, TKey key, byte* p, uint bits)
            where TK : struct, IKeys
        {
            for (uint match = bits; MapMath.HasCandidate(match); match &= match - 1)
            {
                int i = MapMath.FirstSlotOfBits(match);
                if (keys.Equal(key, BucketLayout<TKey, TValue>.Key(p, i)))
                {
                    return BucketLayout<TKey, TValue>.ValuePtr(p, i);
                }
            }

            return null;
        }

        /// <summary>The rest of <see cref="ProbeChain"/>: the overflow buckets after <paramref name="p"/>, each searched as ProbeChain searches its first.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static TValue* ProbeOverflow<TK>(TK keys, TKey key, byte top, byte* p)
            where TK : struct, IKeys
        {
            while (true)
            {
                p = BucketLayout<TKey, TValue>.Overflow(p);
                if (p == null)
                {
                    return null;
                }

                uint bits = BucketLayout<TKey, TValue>.MatchTopHashAndEnd(p, top);
                TValue* v = MatchKey(keys, key, p, bits);
                if (v != null || MapMath.ChainEnds(bits))
                {
                    return v;
                }
            }
        }

        /// <summary>
        /// The batched search of <see cref="TryGetValues"/>: hashes each key and prefetches its
        /// bucket some keys ahead of probing it, so the cache misses of a big table overlap
        /// instead of queueing (<see cref="FindManyPipelined"/>; where the CPU has no prefetch
        /// instruction, <see cref="FindManyTouched"/>). A bucket array that fits in a core's L2
        /// cache is probed key by key instead (<see cref="FindManyInCache"/>): at 1,000 entries
        /// the pipeline was 0.64-0.76 of Dictionary's one lookup per key, key by key 0.88-1.03
        /// (0.97-1.08 since the hit's outputs are stored from inside the loop). Without an array
        /// or while growing, searches key by key with <see cref="Find"/>, under the one read the
        /// caller (<see cref="TryGetValues"/>) began, which also checked the spans' lengths; with
        /// user equality, key by key in a read of its own each (<paramref name="token"/> is then
        /// the last key's, for the caller to end).
        /// </summary>
        private int FindMany(ReadOnlySpan<TKey> keys, Span<TValue> values, Span<bool> found, ref long token)
        {
            int hits = 0;

            // Elements through MemoryMarshal.GetReference, not the span indexer: Mono cannot bind
            // ReadOnlySpan's indexer from a netstandard2.1 assembly (CompatTests).
            ref TKey key0 = ref MemoryMarshal.GetReference(keys);
            nuint t = Volatile.Read(ref _table);
            bool userCode = KeysRunUserCode;
            if (BatchGoesKeyByKey(t, _oldTable, userCode))
            {
                for (int i = 0; i < keys.Length; i++)
                {
                    if (userCode && i != 0)
                    {
                        // User code may write the map from inside a key's search (misuse): one
                        // read per key then, as the loop of TryGetValue calls, so the batch stops
                        // at the key after that write, where the loop would, instead of running
                        // the user code for every key (found by review, 2026-12-05: a Strict batch
                        // returned normally from a map a refused write had poisoned).
                        EndRead(token, GoMessages.ConcurrentReadWrite);
                        token = BeginRead(GoMessages.ConcurrentReadWrite);
                    }

                    hits += StoreResult(Find(Unsafe.Add(ref key0, i), token), ref values[i], ref found[i]);
                }

                return hits;
            }

            byte* array = BucketLayout<TKey, TValue>.TableArray(t);
            int b = BucketLayout<TKey, TValue>.TableB(t);
            ulong mask = MapMath.BucketMask(b);
            ref TValue value0 = ref MemoryMarshal.GetReference(values);
            ref bool found0 = ref MemoryMarshal.GetReference(found);
            if (BatchFitsInCache(b) || OutputsOverlapKeys(keys, values, found))
            {
                return FindManyInCache(ref key0, keys.Length, ref value0, ref found0, array, mask, _k1, _k2);
            }

            return Prefetch.IsSupported
                ? FindManyPipelined(ref key0, keys.Length, ref value0, ref found0, array, mask, _k1, _k2, TargetsSlots(b))
                : FindManyTouched(ref key0, keys.Length, ref value0, ref found0, array, mask, _k1, _k2);
        }

        /// <summary>
        /// Whether <paramref name="values"/> or <paramref name="found"/> share memory with
        /// <paramref name="keys"/>: a caller may pass one array for keys and values. The pipeline
        /// hashes a block of keys before it stores the results of the block before it, so a
        /// store into a key not yet probed would be probed under the old key's bucket and tophash
        /// (found by review, 2026-12-05: 1 hit of 64 present keys with the values one element
        /// after the keys). Such calls go key by key, which reads each key after the stores
        /// before it, as the loop of <see cref="TryGetValue"/> calls that the batch stands for.
        /// </summary>
        private static bool OutputsOverlapKeys(ReadOnlySpan<TKey> keys, Span<TValue> values, Span<bool> found)
        {
            // By address, in nuint lengths: MemoryMarshal.AsBytes throws OverflowException for a
            // span over int.MaxValue bytes (found by review: a 9M-key batch of 256-byte values),
            // and here that would leave a Strict read announced.
            ref byte k = ref Unsafe.As<TKey, byte>(ref MemoryMarshal.GetReference(keys));
            nuint keyBytes = (nuint)keys.Length * (nuint)Unsafe.SizeOf<TKey>();
            return Overlap(ref k, keyBytes, ref Unsafe.As<TValue, byte>(ref MemoryMarshal.GetReference(values)), (nuint)values.Length * (nuint)Unsafe.SizeOf<TValue>())
                || Overlap(ref k, keyBytes, ref Unsafe.As<bool, byte>(ref MemoryMarshal.GetReference(found)), (nuint)found.Length);
        }

        /// <summary>Whether the <paramref name="aBytes"/> bytes at <paramref name="a"/> and the <paramref name="bBytes"/> at <paramref name="b"/> share one (empty ranges share none).</summary>
        private static bool Overlap(ref byte a, nuint aBytes, ref byte b, nuint bBytes)
        {
            nint d = Unsafe.ByteOffset(ref a, ref b); // b - a
            return d >= 0 ? bBytes != 0 && (nuint)d < aBytes : aBytes != 0 && (nuint)(-d) < bBytes;
        }

        /// <summary>
        /// <see cref="FindMany"/> for a bucket array of at most <see cref="BatchInCacheBytes"/>,
        /// which is in the CPU's caches: prefetching buys nothing there, and keeping a block's
        /// buckets and tophash bytes costs a store and a load per key, so each key is probed as
        /// it is hashed (the pipeline's stages, fused). A method of its own,
        /// so that the JIT keeps this loop's values in registers; the outputs go through
        /// references (TryGetValues checked their lengths).
        /// </summary>
        private static int FindManyInCache(ref TKey key0, int n, ref TValue value0, ref bool found0, byte* array, ulong mask, ulong k1, ulong k2)
        {
            int hits = 0;
            for (int i = 0; i < n; i++)
            {
                TKey key = Unsafe.Add(ref key0, i);
                ulong hash = KeyOps<TKey>.Hash(key, k1, k2);
                byte top = MapMath.TopHash(hash);
                byte* p = BucketLayout<TKey, TValue>.Bucket(array, hash & mask);
                uint bits = BucketLayout<TKey, TValue>.MatchTopHashAndEnd(p, top);

                // ProbeChain with MatchKey's loop mirrored (as in TryRead and ProbeAndStore; keep in sync), so that
                // a hit stores its outputs from inside the loop instead of returning a pointer
                // that StoreResult tests again. Measured (2026-12-03, README's VM, a probe of
                // TryGetValues over 1,024 keys of a 1,000-entry map, alternated processes):
                // <long,long> 3.06-3.59 -> 2.50-2.69 ns per key, <int,int> 3.07-3.65 -> 2.45-2.61.
                // The same loop in an inlined helper shared with FindMany's pipelines
                // (ProbeAndStore, the hit returning from inside it) took 2.75-3.02 for both.
                for (uint match = bits; MapMath.HasCandidate(match); match &= match - 1)
                {
                    int slot = MapMath.FirstSlotOfBits(match);
                    if (default(DefaultKeys).Equal(key, BucketLayout<TKey, TValue>.Key(p, slot)))
                    {
                        Unsafe.Add(ref value0, i) = *BucketLayout<TKey, TValue>.ValuePtr(p, slot);
                        Unsafe.Add(ref found0, i) = true;
                        hits++;
                        goto Next;
                    }
                }

                hits += StoreResult(MapMath.ChainEnds(bits) ? null : ProbeOverflow(default(DefaultKeys), key, top, p), ref Unsafe.Add(ref value0, i), ref Unsafe.Add(ref found0, i));
            Next:;
            }

            return hits;
        }

        /// <summary>
        /// One key's outputs in <see cref="FindMany"/>'s loops: the value at <paramref name="v"/>
        /// (<c>default</c> when null) and whether it was found. Returns 1 when found, else 0.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static int StoreResult(TValue* v, ref TValue value, ref bool found)
        {
            if (v != null)
            {
                value = *v;
                found = true;
                return 1;
            }

            value = default;
            found = false;
            return 0;
        }

        /// <summary>
        /// Largest bucket array (without its overflow buckets) that <see cref="FindMany"/> probes
        /// key by key (<see cref="FindManyInCache"/>): a core's L2 cache on the README's machine.
        /// Measured (quick comparison's lookup_batch, <c>&lt;long,long&gt;</c> and
        /// <c>&lt;Guid,long&gt;</c>, key by key against the pipeline): faster up to 0.3-0.4 MB
        /// of array (3.6 and 4.6 against 5.1 and 6.2 ns per key at 10,000 entries), even at
        /// 1.2-1.7 MB, and slower from 10-14 MB (7.2 and 12.4 against 6.7 and 9.8 at 300,000).
        /// </summary>
        private const ulong BatchInCacheBytes = 1UL << 20;

        /// <summary>
        /// Whether <see cref="FindMany"/> searches key by key with <see cref="Find"/>, whatever the
        /// array's size: no array (<paramref name="table"/> 0), a growth running
        /// (<paramref name="oldTable"/> not 0), or keys whose hashing or equality runs user code.
        /// One home for the decision, which the test hook
        /// <see cref="BatchLookupPrefetches"/> reads too.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static bool BatchGoesKeyByKey(nuint table, nuint oldTable, bool userCode) => table == 0 || oldTable != 0 || userCode;

        /// <summary>Whether a bucket array of 2^<paramref name="b"/> buckets is at most <see cref="BatchInCacheBytes"/>: <see cref="FindMany"/> then probes key by key.</summary>
        private static bool BatchFitsInCache(int b) => (ulong)BucketLayout<TKey, TValue>.BucketSize <= (BatchInCacheBytes >> b);

        /// <summary>
        /// How many keys ahead of its probe <see cref="FindManyPipelined"/> asks for a key's
        /// bucket (whole) or, with targeted prefetches, for its candidate slot's lines; the
        /// tophash line is then asked for twice as far ahead. Keys, not time: a key's probe
        /// waits on its lines only if this many keys take less than a line's trip from memory.
        /// </summary>
        private const int PipelineDistance = 16;

        /// <summary>Entries of <see cref="FindManyPipelined"/>'s ring of hashed keys: a power of two above 2 × <see cref="PipelineDistance"/>.</summary>
        private const int PipelineRing = 64;

        /// <summary>
        /// <see cref="FindMany"/> where the CPU prefetches: a software pipeline one key wide. Each
        /// step hashes key i + 2d (d = <see cref="PipelineDistance"/>) and asks for its bucket's
        /// tophash line, reads key i + d's tophash word and asks for its first candidate slot's
        /// key and value lines, then probes key i. With <paramref name="targeted"/> false (an
        /// array that the last-level cache mostly holds, below
        /// <see cref="TargetedPrefetchMinBytes"/>) the first stage asks for the whole bucket,
        /// d keys ahead, and the middle stage is skipped. The buckets and tophash bytes wait in a
        /// ring on the stack between the stages.
        /// </summary>
        /// <remarks>
        /// One key per stage per step, not blocks: until 2026-12-06 the stages ran a block of 16
        /// keys at a time (a block's 16 tophash prefetches, then the candidate lines of the block
        /// before, then the probes of the block before that), the same distances as here. The
        /// bursts of 48 prefetches were the cost: measured (README's VM, a probe timing
        /// 1,024-key calls over random present keys, best of 5 rounds per process, both builds
        /// switched by an environment variable and alternated, two runs) at 10,000,000 entries
        /// <c>&lt;int,long&gt;</c> 30.0-34.5 → 22.9-23.7 ns per key, <c>&lt;long,long&gt;</c>
        /// 40.1-46.7 → 26.3-27.6, <c>&lt;Guid,long&gt;</c> 47.3-47.8 → 32.3-37.1; at 1,000,000
        /// 13.6-16.8 → 11.4-18.9, 20.7-21.9 → 18.4-19.1 and 34.7-40.1 → 23.6-26.8. Blocks of 8
        /// helped less at 10,000,000 (28-29 for <c>&lt;long,long&gt;</c>) and hurt
        /// <c>&lt;int,long&gt;</c> at 1,000,000 (16-19). The distance matters little once the
        /// stages run one key at a time: at 10,000,000 <c>&lt;long,long&gt;</c> took 26.0-27.6 ns
        /// with d from 6 to 16. In an array the last-level cache holds (100,000 and 300,000
        /// entries) it was as fast as the blocks or faster (<c>&lt;Guid,long&gt;</c> at 100,000:
        /// 9.4 → 7.5 in both runs).
        /// </remarks>
        private static int FindManyPipelined(ref TKey key0, int n, ref TValue value0, ref bool found0, byte* array, ulong mask, ulong k1, ulong k2, bool targeted)
        {
            byte* tops = stackalloc byte[PipelineRing];
            byte** buckets = stackalloc byte*[PipelineRing];
            int ahead = targeted ? 2 * PipelineDistance : PipelineDistance;
            int hits = 0;

            // From i = -ahead, so that the first keys' stages run in the same order as every
            // later key's, before key 0 is probed.
            for (int i = -ahead; i < n; i++)
            {
                int first = i + ahead;
                if (first < n)
                {
                    ulong hash = KeyOps<TKey>.Hash(Unsafe.Add(ref key0, first), k1, k2);
                    byte* q = BucketLayout<TKey, TValue>.Bucket(array, hash & mask);
                    buckets[first & (PipelineRing - 1)] = q;
                    tops[first & (PipelineRing - 1)] = MapMath.TopHash(hash);
                    if (targeted)
                    {
                        Prefetch.Read(q); // the tophash line: the middle stage asks for the rest
                    }
                    else
                    {
                        BucketLayout<TKey, TValue>.PrefetchBucket(q);
                    }
                }

                int middle = i + PipelineDistance;
                if (targeted && (uint)middle < (uint)n)
                {
                    byte* q = buckets[middle & (PipelineRing - 1)];
                    uint candidates = BucketLayout<TKey, TValue>.MatchTopHashAndEnd(q, tops[middle & (PipelineRing - 1)]);
                    if (MapMath.HasCandidate(candidates))
                    {
                        BucketLayout<TKey, TValue>.PrefetchSlot(q, MapMath.FirstSlotOfBits(candidates));
                    }
                }

                if (i >= 0)
                {
                    hits += ProbeAndStore(Unsafe.Add(ref key0, i), tops[i & (PipelineRing - 1)], buckets[i & (PipelineRing - 1)], ref Unsafe.Add(ref value0, i), ref Unsafe.Add(ref found0, i));
                }
            }

            return hits;
        }

        /// <summary>
        /// <see cref="FindMany"/> where the CPU has no prefetch instruction (.NET's Arm64
        /// intrinsics have none outside SVE; netstandard2.1 has no intrinsics): blocks of 16 keys,
        /// each hashed, then its buckets' first bytes loaded in a loop of their own
        /// (<see cref="TouchBlock"/>), then the block before it probed.
        /// </summary>
        /// <remarks>
        /// Blocks, unlike <see cref="FindManyPipelined"/>: a load, unlike a prefetch, holds its
        /// place in the CPU's window until its line arrives, so only loads issued close together
        /// overlap their misses. Measured on x64 with the intrinsics turned off
        /// (<c>DOTNET_EnableHWIntrinsic=0</c>, which takes this path; a probe of 1,024-key calls
        /// over random keys of a <c>&lt;long,long&gt;</c> map, three alternated pairs of
        /// processes, 2026-12-05): the touches took 1,000,000 entries from 55.5-58.5 to 44.0-47.6
        /// ns per key and 10,000,000 from 81-88 to 61-62, where the prefetches took 11-13 and
        /// 22-27. The loads made inside the hashing loop instead gained nothing (53-54 ns at
        /// 1,000,000): the hashes between them filled the CPU's window before the later loads were
        /// issued. Not measured on Arm64 (no such machine here).
        /// </remarks>
        private static int FindManyTouched(ref TKey key0, int n, ref TValue value0, ref bool found0, byte* array, ulong mask, ulong k1, ulong k2)
        {
            const int Block = 16;
            byte* tops = stackalloc byte[2 * Block];
            byte** buckets = stackalloc byte*[2 * Block];
            int blocks = (int)(((long)n + Block - 1) / Block);
            int hits = 0;
            for (int blk = -1; blk < blocks; blk++)
            {
                if (blk + 1 < blocks)
                {
                    int ring = ((blk + 1) & 1) * Block;
                    int aheadStart = (blk + 1) * Block;
                    int count = Math.Min(Block, n - aheadStart);
                    for (int j = 0; j < count; j++)
                    {
                        ulong hash = KeyOps<TKey>.Hash(Unsafe.Add(ref key0, aheadStart + j), k1, k2);
                        buckets[ring + j] = BucketLayout<TKey, TValue>.Bucket(array, hash & mask);
                        tops[ring + j] = MapMath.TopHash(hash);
                    }

                    Prefetch.Sink = TouchBlock(buckets + ring, count); // the loads' bytes, so that the compiler keeps them
                }

                if (blk < 0)
                {
                    continue;
                }

                int start = blk * Block;
                int ours = (blk & 1) * Block;
                int m = Math.Min(Block, n - start);
                for (int j = 0; j < m; j++)
                {
                    int i = start + j;
                    hits += ProbeAndStore(Unsafe.Add(ref key0, i), tops[ours + j], buckets[ours + j], ref Unsafe.Add(ref value0, i), ref Unsafe.Add(ref found0, i));
                }
            }

            return hits;
        }

        /// <summary>
        /// One key's probe in <see cref="FindMany"/>'s pipelines: <see cref="ProbeChain"/> from
        /// the bucket <paramref name="p"/> and tophash <paramref name="top"/> the pipeline kept,
        /// with MatchKey's loop mirrored (as in <see cref="FindManyInCache"/>; keep the three in
        /// sync) so that a hit stores its outputs from inside the loop. Returns 1 when found.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static int ProbeAndStore(TKey key, byte top, byte* p, ref TValue value, ref bool found)
        {
            uint bits = BucketLayout<TKey, TValue>.MatchTopHashAndEnd(p, top);
            for (uint match = bits; MapMath.HasCandidate(match); match &= match - 1)
            {
                int slot = MapMath.FirstSlotOfBits(match);
                if (default(DefaultKeys).Equal(key, BucketLayout<TKey, TValue>.Key(p, slot)))
                {
                    value = *BucketLayout<TKey, TValue>.ValuePtr(p, slot);
                    found = true;
                    return 1;
                }
            }

            return StoreResult(MapMath.ChainEnds(bits) ? null : ProbeOverflow(default(DefaultKeys), key, top, p), ref value, ref found);
        }

        /// <summary>
        /// Smallest bucket array (without its overflow buckets) for which <see cref="FindMany"/>
        /// prefetches a key's tophash line first and then only its candidate slot's key and value
        /// lines (<see cref="FindManyPipelined"/>'s middle stage), instead of every line of its bucket.
        /// </summary>
        /// <remarks>
        /// Where the lines come from memory or from the far end of the last-level cache, the
        /// batch is bound by the lines it fetches: a probe gathering random lines of a 56 MiB
        /// block in blocks of 16 took about 7 ns per line on the README's VM, linear from one
        /// line per key to four. A whole <c>&lt;Guid,long&gt;</c> bucket is four lines
        /// (208 bytes), a <c>&lt;long,long&gt;</c> one three, where a hit reads two or three
        /// and a miss one. Measured (2026-12-05, README's VM, a probe timing 1,024-key calls
        /// over random keys, both pipelines alternated in one process, best of 9 rounds, three
        /// runs): at 1,000,000 entries (arrays of 28, 36 and 52 MiB) hits
        /// <c>&lt;int,long&gt;</c> 10.5-12.3 → 9.4-10.6 ns per key, <c>&lt;long,long&gt;</c>
        /// 16.6-18.6 → 12.8-15.1, <c>&lt;Guid,long&gt;</c> 28.4-31.0 → 21.5-24.8, misses
        /// <c>&lt;long&gt;</c> 19.4 → 14.0 and <c>&lt;Guid&gt;</c> 27.8 → 14.6 (one run); at 2,000,000 to
        /// 10,000,000 entries hits from 5 % slower to 10 % faster (one run each; two at 10,000,000 for
        /// <c>&lt;int&gt;</c> and <c>&lt;long&gt;</c>), misses 7-17 %
        /// faster (10,000,000). At 300,000 entries
        /// (arrays of 7-13 MiB, in this CPU's 32 MiB L3) it was slower, 6.2-9.7 → 7.6-10.6 ns
        /// per hit: a line from L3 costs less than the extra stage (a tophash word read and
        /// matched per key before the probe), hence this bound: half this CPU's L3. A CPU with a
        /// bigger or smaller last-level cache likely has its crossover elsewhere (not measured:
        /// no other machine here).
        /// Tried and not kept (same day, same probe for the batched writes, 1,000,000 entries,
        /// two runs): SetValues and RemoveKeys asking, a block ahead, for the lines of each key's
        /// candidate slot (or, for a set of an absent key, its bucket's first empty slot) after
        /// the tophash lines two blocks ahead, each stage hashing the keys again. Sets of
        /// <c>&lt;Guid,long&gt;</c> 5-15 % faster, of <c>&lt;long,long&gt;</c> within the noise
        /// and of <c>&lt;int,long&gt;</c> 10-25 % slower (a two-line bucket: nothing saved, two
        /// hashes more); removes 10-60 % slower (likely, not verified: a remove of its bucket's
        /// last live slot reads the overflow pointer, in the bucket's last line, unasked for).
        /// </remarks>
        private const long TargetedPrefetchMinBytes = 16L << 20;

        /// <summary>Whether <see cref="FindMany"/> prefetches candidate slots (<see cref="TargetedPrefetchMinBytes"/>) in an array of 2^<paramref name="b"/> buckets: only where the CPU prefetches.</summary>
        private static bool TargetsSlots(int b) => Prefetch.IsSupported && ((long)BucketLayout<TKey, TValue>.BucketSize << b) >= TargetedPrefetchMinBytes;

        /// <summary>
        /// For <see cref="FindManyTouched"/>: loads the first byte of each of the
        /// <paramref name="n"/> buckets, in a loop of their own, and returns them OR-ed (stored in
        /// <see cref="Prefetch.Sink"/>, so that the loads are kept): 16 independent loads close
        /// together overlap their misses as prefetches do, though the CPU must wait for them
        /// before it retires what follows. The byte is the one the probe reads first, so the
        /// load reaches no memory the probe would not.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static int TouchBlock(byte** buckets, int n)
        {
            int touched = 0;
            for (int j = 0; j < n; j++)
            {
                touched |= *buckets[j];
            }

            return touched;
        }

        /// <summary>
        /// Publishes what lookups and the write fast paths read, after any change of the bucket
        /// arrays, B, the growth, the overflow count or the memory waiting for release: the old
        /// table before the new one (see the file comment), then the thresholds.
        /// </summary>
        /// <remarks>
        /// When the plain-read and plain-write words already hold what they would be given (the
        /// slow writes that change no table: a Clear, a new overflow bucket), nothing is stored
        /// and the two full fences of PublishPlainReadTable and UpdateSlowWrites are skipped: a
        /// store skipped cannot undo a SetFlag or UnregisterIterator that clears a word. Measured
        /// (2026-12-03, README's VM, one build switched by an environment variable, three
        /// alternated pairs, best of 8 rounds): clearing a one-entry <c>&lt;long,long&gt;</c> map
        /// and inserting its entry again 35-36 → 22-24 ns, the same with 8 entries 97-100 →
        /// 87-89 ns. Builds from empty did not move (best of 15 rounds, six alternated pairs:
        /// 1,000 entries 11.04-11.43 µs per build before and 11.11-11.80 after, 27 entries
        /// 1.09-1.13 and 1.06-1.16).
        /// </remarks>
        private void Publish()
        {
            Volatile.Write(ref _oldTable, BucketLayout<TKey, TValue>.Table(_oldBuckets, OldB()));
            nuint table = BucketLayout<TKey, TValue>.Table(_buckets, _b);
            Volatile.Write(ref _table, table);
            nuint quiet = _oldBuckets == null && _comparer is null ? table : 0;
            Volatile.Write(ref _quietTable, quiet);
            PublishPlainReadTable(quiet);

            // An insert of a new key takes the slow path when it would start a growth (Go's
            // overLoadFactor(count+1, B) || tooManyOverflowBuckets(noverflow, B)).
            _insertSlowAt = InsertSlowAt();
            UpdateSlowWrites();
        }

        /// <summary>Every write takes the slow path while growing, before the first array, while a resize waits for its next step, and while retired memory waits for release.</summary>
        private void UpdateSlowWrites()
        {
            int slow = (_oldBuckets != null || _buckets == null || _resizeB >= 0 || _reclaimPending || _releaseQueue != null) ? 1 : 0;
            if (slow == 0 && Volatile.Read(ref _slowWrites) == 0 && Volatile.Read(ref _plainWriteTable) == _plainReadTable)
            {
                // Published already: no store, so no fence (as in PublishPlainReadTable). An
                // enumerator that raises the flag after these reads clears the word itself
                // (UnregisterIterator); one that raised it before left values that take the path below.
                return;
            }

            _slowWrites = slow;
            Volatile.Write(ref _plainWriteTable, slow == 0 ? _plainReadTable : 0);
            if (slow == 0)
            {
                // An enumerator that ends on another thread sets _reclaimPending and then this flag
                // (UnregisterIterator); if it did so after the read above, the store above may have
                // undone it. Look again after a full fence, so the last store agrees with the pending
                // reclaim whatever the interleaving (the stress program's Strict iterator-vs-writer
                // trials once caught a pending reclaim with the flag clear from this race). The
                // other order leaves the flag raised with nothing pending, which is harmless: see Validate.
                // The plain-write table the same way, and against a flag that SetFlag set on
                // another thread after PublishPlainReadTable looked (a poisoned or disposed map's
                // writes must go on throwing).
                Thread.MemoryBarrier();
                if (Volatile.Read(ref _reclaimPending))
                {
                    _slowWrites = 1;
                    Volatile.Write(ref _plainWriteTable, (nuint)0);
                }

                if (Volatile.Read(ref _flags) != 0)
                {
                    Volatile.Write(ref _plainWriteTable, (nuint)0);
                }
            }
        }

        /// <summary>How the probe loops compare and hash keys; a struct type argument, so each choice compiles to its own loop.</summary>
        private interface IKeys
        {
            ulong Hash(GoMap<TKey, TValue> map, in TKey key);

            bool Equal(in TKey a, in TKey b);
        }

        /// <summary>The key type's default equality (KeyOps).</summary>
        private readonly struct DefaultKeys : IKeys
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public ulong Hash(GoMap<TKey, TValue> map, in TKey key) => KeyOps<TKey>.Hash(key, map._k1, map._k2);

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public bool Equal(in TKey a, in TKey b) => KeyOps<TKey>.Equal(a, b);
        }

        /// <summary>A user comparer, its 32-bit hash codes mixed with the seed to 64 bits.</summary>
        private readonly struct ComparerKeys : IKeys
        {
            private readonly IEqualityComparer<TKey> _comparer;

            internal ComparerKeys(IEqualityComparer<TKey> comparer) => _comparer = comparer;

            public ulong Hash(GoMap<TKey, TValue> map, in TKey key) => Hasher.FromHashCode(_comparer.GetHashCode(key), map._k1, map._k2);

            public bool Equal(in TKey a, in TKey b) => _comparer.Equals(a, b);
        }
    }
}
