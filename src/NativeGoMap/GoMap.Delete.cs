using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NativeGoMap
{
    // Delete and clear: Go's mapdelete and mapclear; the empty chain ends a delete leaves, unlinked
    // as spares (TrimEmptyTail, which Go's map does not do); RemoveKeys' per-key loop (RemoveEach).
    public sealed unsafe partial class GoMap<TKey, TValue>
    {
        /// <summary>
        /// Go's mapdelete. The caller holds hashWriting. Decides the key equality once per call.
        /// While a growth runs, retired memory waits or the entry owns indirect blocks, the
        /// delete takes the structural right (growth work, release step, retiring blocks);
        /// otherwise it only marks bytes.
        /// </summary>
        private bool Delete(in TKey key, ulong hash, out TValue value)
        {
            nuint t = FastWriteTable();
            if (t != 0 && !BucketLayout<TKey, TValue>.IndirectKey && !BucketLayout<TKey, TValue>.IndirectValue)
            {
                // The array and B from one word (see TryAssignFast).
                return DeleteInChain(key, hash, BucketLayout<TKey, TValue>.TableBucket(t, hash), out value, holdsStructural: false);
            }

            return DeleteSlow(key, hash, out value);
        }

        /// <summary>
        /// For <see cref="RemoveCore"/>, between BeginWrite and EndWrite, for keys that run no
        /// user code (the caller's test): the fast path of <see cref="Delete"/> when nothing in it
        /// can throw (default equality, no growth, no retired memory waiting, no indirect blocks).
        /// False when it declined and changed nothing; the caller then takes its try/finally path.
        /// The removed value is read only when <paramref name="wantValue"/>; else it is <c>default</c>.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private bool DeleteNoThrow(TKey key, ulong hash, nuint t, bool wantValue, out TValue value, out bool removed)
        {
            if (t != 0 && !BucketLayout<TKey, TValue>.IndirectKey && !BucketLayout<TKey, TValue>.IndirectValue)
            {
                // The array and B from one word (t: see TryAssignFast).
                byte* b = BucketLayout<TKey, TValue>.TableBucketPrefetched(t, hash);
                removed = DeleteFast(key, hash, b, BucketLayout<TKey, TValue>.TableB(t), wantValue, out value);
                return true;
            }

            value = default;
            removed = false;
            return false;
        }

        /// <summary>
        /// <see cref="DeleteIn"/> for the fast path (default equality, no indirect blocks; the
        /// search loop mirrors DeleteIn's, keep in sync). In a table of
        /// <see cref="BucketLayout{TKey, TValue}.BeyondL2B"/> or more (<paramref name="tableB"/>),
        /// first mapdelete's own test: when the slot after it (slots 0..6) is not emptyRest, a live
        /// slot follows in the chain and the slot becomes emptyOne (one byte), without reading the
        /// overflow pointer, which lies in the bucket's last line. Measured 2026-12-03, three
        /// alternated quick comparisons: 1,000,000 removes <c>&lt;long&gt;</c> 36.6-40.0 →
        /// 31.7-33.2 ns, <c>&lt;Guid&gt;</c> 58.8-63.6 → 45.2-50.2, <c>&lt;int&gt;</c> within the
        /// noise; 1,000-entry removes 1-4 % slower (the test on B, in a table where the shortcut is
        /// never taken). Taken in every table, the shortcut's branch (data: whether the slot was
        /// the last live one) made 1,000-entry removes 43 % slower (4.6 → 6.6 ns). Otherwise
        /// marks the emptied slot with one word
        /// store computed from the tophash word: emptyOne when a live slot follows; else
        /// emptyRest for it, the slots after it, and the run of emptyOne slots before it. In the
        /// chain's last bucket (the only one, in most chains) that store takes no branch on the
        /// data (<see cref="MapMath.MarkDeletedInLastBucket"/>); in an earlier bucket of a chain
        /// it is <see cref="MapMath.TryMarkDeleted"/>'s. The cases that cross buckets (slot 7 of
        /// a bucket with a successor, or a bucket that empties behind an earlier one) go on in
        /// <see cref="MarkEmptyRestBackwards"/>.
        /// Tried and not kept (2026-12-02): taking the last bucket's store for any bucket with an
        /// emptyRest slot (nothing is live after it in the chain) so that the overflow pointer,
        /// in another line, is read only for a bucket without one. The JIT's remove loop lost two
        /// instructions, and 1,000-entry removes got slower in three alternated quick comparisons
        /// (<c>&lt;long&gt;</c> 4.87-4.92 → 5.63-5.82 ns, <c>&lt;int&gt;</c> 4.67-4.92 →
        /// 5.80-5.83, <c>&lt;Guid&gt;</c> 5.81-5.96 → 6.78-6.90; the same without the prefetch
        /// change below; at 1,000,000 entries, three more runs with both changes, within the
        /// noise); why was not found. Measured again on 2026-12-03 with a probe that times the
        /// removes alone: 1,000,000 <c>&lt;long,long&gt;</c> removes in insertion order took
        /// 29.3-30.9 → 26.6-27.1 ns (five alternating pairs), and 1,000-entry removes 5.3-5.5 →
        /// 6.2-6.3 ns (quick comparison: 4.6-4.7 → 5.5-5.6 ns for all three key types). Not a
        /// misprediction: the same decision without a branch (the overflow pointer's address or
        /// a zero word's selected with arithmetic, <c>cmov</c> not being emitted in a loop) was
        /// as slow, and a dummy read of the overflow pointer did not bring the 1,000-entry time
        /// back. In-cache removes are kept the faster (tables over 1 MiB take mapdelete's own test
        /// instead, above; smaller ones pay only the test of B). Asking only for the lines the keys can reach (one
        /// line fewer for <c>&lt;long&gt;</c> and <c>&lt;Guid&gt;</c>) changed nothing measurable
        /// at 1,000 or 1,000,000 entries while the overflow pointer is still read.
        /// Where the 1,000-entry gap to Dictionary goes (2026-12-03, a probe removing every key of
        /// a 1,000-entry <c>&lt;long,long&gt;</c> map in random order, Dictionary in the same
        /// process, best of ten rounds, two runs per variant, each piece taken out alone): as
        /// it is, 4.05-4.35 ns against Dictionary's 3.2-3.5; the emptyRest marking taken out
        /// (emptyOne stored as one byte, the overflow pointer still read) 3.23-3.37; the marking
        /// computed but stored elsewhere, the byte stored here, 4.22-4.29 (so it is the
        /// lzcnt/bzhi arithmetic, not the word store); only the emptyOne xor stored as a word
        /// 3.63-3.70; hashWriting's begin and end taken out 4.03-4.11; the deletes count taken
        /// out 4.09 (and once 5.01, a slow phase). The gap is Go's exact emptyRest marking,
        /// which Validate checks; leaving trailing emptyOne marks would close it, and lookups
        /// and inserts in those chains would then read the overflow pointer to find the chain's
        /// end. Kept: the bytes stay Go's.
        /// Nor (2026-12-03, probe removing 1,000,000 keys of each type in insertion order, best of
        /// five, two alternated runs, with the full prefetch and the overflow read as a third
        /// variant in the same build): in a table of BeyondL2B or more, a slot 0..6 whose next
        /// slot is emptyRest taking the last bucket's store without reading the overflow pointer
        /// (emptyRest already says nothing live follows in the chain), together with a Remove
        /// that returns no value asking only for the lines the keys reach. <c>&lt;long&gt;</c>
        /// 34.5-36.7 ns against 36.0-36.1 as it is, <c>&lt;Guid&gt;</c> 45.5-47.5 against
        /// 45.8-47.3, <c>&lt;int&gt;</c> 34.4-34.7 against 35.5-36.2: within the noise.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private bool DeleteFast(TKey key, ulong hash, byte* bOrig, int tableB, bool wantValue, out TValue value)
        {
            byte top = MapMath.TopHash(hash);
            DefaultKeys keys = default;
            byte* b = bOrig; // never null here: a write takes this path only with an array (_slowWrites)
            while (true)
            {
                uint bits = BucketLayout<TKey, TValue>.MatchTopHashAndEnd(b, top);
                for (uint match = bits; MapMath.HasCandidate(match); match &= match - 1)
                {
                    int i = MapMath.FirstSlotOfBits(match);
                    if (!keys.Equal(key, BucketLayout<TKey, TValue>.Key(b, i)))
                    {
                        continue;
                    }

                    value = wantValue ? BucketLayout<TKey, TValue>.Value(b, i) : default;
                    if (tableB >= BucketLayout<TKey, TValue>.BeyondL2B && i < MapMath.BucketCnt - 1 && BucketLayout<TKey, TValue>.TopHash(b, i + 1) != MapMath.EmptyRest)
                    {
                        // A big table: mapdelete's test, from the tophash line alone (see above).
                        BucketLayout<TKey, TValue>.TopHash(b, i) = MapMath.EmptyOne;
                    }
                    else if (BucketLayout<TKey, TValue>.Overflow(b) == null)
                    {
                        // The chain's last bucket (alone in most chains): one store, no data branch.
                        ulong w = MapMath.MarkDeletedInLastBucket(BucketLayout<TKey, TValue>.TopHashWord(b), i, top);
                        BucketLayout<TKey, TValue>.TopHashWordRef(b) = w;
                        if (b != bOrig && w == 0) // the predictable test first: whether the bucket emptied is data
                        {
                            MarkAndTrimFast(bOrig, b, 0);
                        }
                    }
                    else if (i == MapMath.BucketCnt - 1 || !MapMath.TryMarkDeleted(ref BucketLayout<TKey, TValue>.TopHashWordRef(b), i, b == bOrig))
                    {
                        BucketLayout<TKey, TValue>.TopHash(b, i) = MapMath.EmptyOne;
                        MarkAndTrimFast(bOrig, b, i);
                    }

                    CountDeleted();
                    return true;
                }

                if (MapMath.ChainEnds(bits))
                {
                    break;
                }

                b = BucketLayout<TKey, TValue>.Overflow(b);
                if (b == null)
                {
                    break;
                }
            }

            value = default;
            return false;
        }

        /// <summary>
        /// For <see cref="WriteMany"/>: <see cref="Remove(TKey)"/> of keys <paramref name="start"/>
        /// to <paramref name="end"/> − 1, in order; returns how many were present. A method of its
        /// own for the reason of <see cref="SetEach"/>.
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private int RemoveEach(ref TKey key0, int start, int end)
        {
            // The count's drop, not each remove's result: summing the results kept the sum on the
            // stack across the inlined remove (1,000 keys: 0.45 ns per key over a caller's loop).
            long before = _count;
            for (int i = start; i < end; i++)
            {
                RemoveCore(Unsafe.Add(ref key0, i), wantValue: false, out _);
            }

            return (int)(before - _count);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private bool DeleteSlow(in TKey key, ulong hash, out TValue value)
        {
            EnterStructural();
            try
            {
                ReclaimStep();
                if (_count == 0)
                {
                    value = default;
                    return false;
                }

                if (_oldBuckets != null)
                {
                    GrowWork(hash & MapMath.BucketMask(_b));
                }

                return DeleteInChain(key, hash, BucketLayout<TKey, TValue>.Bucket(_buckets, hash & MapMath.BucketMask(_b)), out value, holdsStructural: true);
            }
            finally
            {
                Publish();
                ExitStructural();
            }
        }

        /// <summary>Decides the key equality once for <see cref="DeleteIn"/>, as Dictionary's Remove does.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private bool DeleteInChain(in TKey key, ulong hash, byte* bOrig, out TValue value, bool holdsStructural) =>
            _comparer is null
                ? DeleteIn(default(DefaultKeys), key, hash, bOrig, out value, holdsStructural)
                : DeleteIn(new ComparerKeys(_comparer), key, hash, bOrig, out value, holdsStructural);

        /// <summary>
        /// The search and marking of Go's mapdelete in the chain at <paramref name="bOrig"/>, with
        /// growth work done: marks the slot
        /// emptyOne, then turns the run of empty slots that now ends the chain into emptyRest,
        /// walking back across buckets, so lookups stop early. Indirect blocks are retired.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private bool DeleteIn<TK>(TK keys, in TKey key, ulong hash, byte* bOrig, out TValue value, bool holdsStructural)
            where TK : struct, IKeys
        {
            byte top = MapMath.TopHash(hash);
            for (byte* b = bOrig; b != null; b = BucketLayout<TKey, TValue>.Overflow(b))
            {
                uint bits = BucketLayout<TKey, TValue>.MatchTopHashAndEnd(b, top);
                for (uint match = bits; MapMath.HasCandidate(match); match &= match - 1)
                {
                    int i = MapMath.FirstSlotOfBits(match);
                    if (!keys.Equal(key, BucketLayout<TKey, TValue>.Key(b, i)))
                    {
                        continue;
                    }

                    value = BucketLayout<TKey, TValue>.Value(b, i);
                    RetireIndirect(b, i);
                    BucketLayout<TKey, TValue>.TopHash(b, i) = MapMath.EmptyOne;
                    MarkEmptyRestBackwards(bOrig, b, i);
                    if (TailToTrim(bOrig, b))
                    {
                        if (holdsStructural)
                        {
                            TrimEmptyTail(bOrig); // DeleteSlow holds the structural right
                        }
                        else
                        {
                            // Delete's fast branch (keys that run user code) holds only hashWriting.
                            TrimEmptyTailIfStructuralFree(bOrig);
                        }
                    }

                    CountDeleted();
                    return true;
                }

                if (MapMath.ChainEnds(bits))
                {
                    break;
                }
            }

            value = default;
            return false;
        }

        /// <summary>
        /// The bookkeeping of every delete, for both search loops (DeleteFast and DeleteIn): the
        /// count, the deletes TrimExcess's compaction rule counts, and Go's new seed for a map
        /// that empties.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void CountDeleted()
        {
            _count--;
            _deletesSinceGrowth++;
            if (_count == 0)
            {
                // Reset the hash seed to make it more difficult for attackers to
                // repeatedly trigger hash collisions (Go issue 25237).
                Reseed();
            }
        }

        /// <summary>
        /// <see cref="MarkEmptyRestBackwards"/> for <see cref="DeleteFast"/>, which holds
        /// hashWriting but not the structural right; then, when that left <paramref name="b"/>
        /// wholly emptyRest in a chain of more than one bucket, the chain's empty tail is
        /// unlinked as <see cref="DeleteIn"/> does, if the structural right is free
        /// (<see cref="TrimEmptyTailIfStructuralFree"/>).
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private void MarkAndTrimFast(byte* bOrig, byte* b, int i)
        {
            MarkEmptyRestBackwards(bOrig, b, i);
            if (TailToTrim(bOrig, b))
            {
                TrimEmptyTailIfStructuralFree(bOrig);
            }
        }

        /// <summary>
        /// <see cref="TrimEmptyTail"/> for a delete that holds hashWriting but not the structural
        /// right (DeleteFast's marking, and Delete's fast branch for keys that run user code):
        /// takes the right if it is free; when it is not, another writer is in the map (misuse,
        /// which the write's end reports) and the tail stays linked, a valid chain.
        /// </summary>
        private void TrimEmptyTailIfStructuralFree(byte* bOrig)
        {
            if (TryEnterStructural())
            {
                TrimEmptyTail(bOrig);
                ExitStructural();
            }
        }

        /// <summary>
        /// Whether the delete that marked <paramref name="b"/> left an empty tail for
        /// <see cref="TrimEmptyTail"/> to unlink, and may unlink it now: <paramref name="b"/> is
        /// wholly emptyRest in a chain of more than one bucket, no enumerator is registered (see
        /// <see cref="TrimEmptyTail"/>), and no test asked for Go's way.
        /// </summary>
        private bool TailToTrim(byte* bOrig, byte* b) =>
            BucketLayout<TKey, TValue>.TopHashWord(b) == 0 && BucketLayout<TKey, TValue>.Overflow(bOrig) != null && !_keepEmptyOverflow && !AnyLiveIterators();

        /// <summary>
        /// Unlinks the empty buckets that end the chain at <paramref name="bOrig"/> (every
        /// bucket after the last one with a live slot: by the emptyRest invariant, the first
        /// wholly emptyRest bucket and all after it) and keeps them as spares of the current
        /// generation, which <see cref="NewOverflow"/> links again before it takes a new bucket.
        /// Go's map leaves them linked until a growth: a map emptied by deletes gets a new seed
        /// (<see cref="CountDeleted"/>), so each refill overflows other buckets, each linking a
        /// new overflow bucket behind the empty ones of earlier fills, and every delete in a
        /// chain with an overflow bucket then takes the slower marking. Measured on 1,000
        /// <c>&lt;long,long&gt;</c> entries removed and inserted again 200 times (2026-12-07, the
        /// Zen 3): 247-253 of 256 chains had an overflow bucket (1-13 in a new map), and the
        /// median remove of a pass took 16.1-16.7 ns against 6.7 in a new map, an insert 8.9-9.3
        /// against 6.5-6.7.
        /// The caller holds the structural right and has checked that no enumerator is
        /// registered: an enumerator standing in an unlinked bucket would go on, once it is
        /// linked into another chain, through that chain's entries (yielding them twice). Frees
        /// nothing, so a read racing it (misuse) still reads mapped memory: at worst the empty
        /// spares, whose tophash ends its search.
        /// </summary>
        private void TrimEmptyTail(byte* bOrig)
        {
            byte* last = bOrig;
            byte* e = BucketLayout<TKey, TValue>.Overflow(last);
            while (e != null && BucketLayout<TKey, TValue>.TopHashWord(e) != 0)
            {
                last = e;
                e = BucketLayout<TKey, TValue>.Overflow(e);
            }

            if (e == null)
            {
                return;
            }

            BucketLayout<TKey, TValue>.PublishOverflow(last, null);
            while (e != null)
            {
                byte* next = BucketLayout<TKey, TValue>.Overflow(e);
                BucketLayout<TKey, TValue>.Overflow(e) = _spareOverflow;
                _spareOverflow = e;
                _spareCount++;
                _overflowUsed--;
                e = next;
            }
        }

        /// <summary>
        /// After slot <paramref name="i"/> of <paramref name="b"/> became empty: if everything
        /// after it in the chain is empty, mark it and the empty slots before it emptyRest.
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void MarkEmptyRestBackwards(byte* bOrig, byte* b, int i)
        {
            if (i == MapMath.BucketCnt - 1)
            {
                byte* next = BucketLayout<TKey, TValue>.Overflow(b);
                if (next != null && BucketLayout<TKey, TValue>.TopHash(next, 0) != MapMath.EmptyRest)
                {
                    return;
                }
            }
            else if (BucketLayout<TKey, TValue>.TopHash(b, i + 1) != MapMath.EmptyRest)
            {
                return;
            }

            while (true)
            {
                BucketLayout<TKey, TValue>.TopHash(b, i) = MapMath.EmptyRest;
                if (i == 0)
                {
                    if (b == bOrig)
                    {
                        return; // beginning of the chain: done
                    }

                    // Find the previous bucket and continue at its last slot.
                    byte* c = b;
                    for (b = bOrig; BucketLayout<TKey, TValue>.Overflow(b) != c; b = BucketLayout<TKey, TValue>.Overflow(b))
                    {
                    }

                    i = MapMath.BucketCnt - 1;
                }
                else
                {
                    i--;
                }

                if (BucketLayout<TKey, TValue>.TopHash(b, i) != MapMath.EmptyOne)
                {
                    return;
                }
            }
        }

        /// <summary>
        /// Go's mapclear (with Go 1.21's marking of every bucket empty, so that live enumerators
        /// see the clear). The caller holds hashWriting and the structural right, and has seen
        /// entries (Clear returns before for an empty map, as Go's mapclear), so there is an
        /// array. Allocates nothing; what it retires is released by later writes.
        /// </summary>
        private void ClearCore()
        {
            ReclaimStep();

            // Indirect blocks of live entries are owned by their slots: retire them first.
            RetireAllIndirect();

            // Enumerators may be walking any chain of either array: show them emptiness.
            if (AnyLiveIterators())
            {
                MarkChainsEmpty(_buckets, _b);
                if (_oldBuckets != null)
                {
                    MarkChainsEmpty(_oldBuckets, OldB());
                }
            }

            RetireOldGeneration();
            RetireOverflowList(ref _overflow);
            StartGenerationCounters();
            _oldB = 0;
            _nevacuate = 0;
            _count = 0;
            _clearSeq++;
            Reseed();

            // Reuse the bucket array: zero it and recover its preallocated overflow buckets as
            // if it were newly allocated.
            ulong bytes = BucketLayout<TKey, TValue>.ArrayBytes(_b)!.Value;
            NativeMemory.Clear(_buckets, (nuint)bytes);
            _nextOverflow = InitBucketArray(_buckets, _b);
            Publish();
        }

        /// <summary>Marks every slot of every chain of an array emptyRest.</summary>
        private static void MarkChainsEmpty(byte* array, int b)
        {
            ulong n = MapMath.BucketShift(b);
            for (ulong j = 0; j < n; j++)
            {
                for (byte* c = BucketLayout<TKey, TValue>.Bucket(array, j); c != null; c = BucketLayout<TKey, TValue>.Overflow(c))
                {
                    BucketLayout<TKey, TValue>.TopHashWordRef(c) = 0;
                }
            }
        }
    }
}
