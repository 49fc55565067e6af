using System;
using System.Threading;
using System.Collections.Generic;

namespace NativeGoMap
{
    // The invariant walker. Every structural invariant the other files rely on is checked here
    // (a review of 2026-12-05 found two that were not: the arrays' alignment and _writer's reset).
    public sealed unsafe partial class GoMap<TKey, TValue>
    {
        /// <summary>
        /// Walks every bucket and checks every invariant; throws <see cref="InvalidOperationException"/>
        /// ("bad map state: …") on the first violation. O(buckets + entries) and allocating: for
        /// tests, stress runs and debugging, never for hot paths.
        /// </summary>
        internal void Validate()
        {
            long s = Volatile.Read(ref _state);
            int f = Volatile.Read(ref _flags);
            if ((f & FlagDisposed) != 0)
            {
                Check(_buckets == null && _oldBuckets == null && _deferred == null && _releaseQueue == null && _parked == null && _oldIterSlots == null && _fastIterSlots == null && _nativeBytes == 0, "disposed map still holds memory");
                Check(_guard == null, "a disposed map still holds its finalizer guard");
                return;
            }

            // A map that may own memory has a finalizer of its own (FinalizerGuard.cs).
            Check(_guard != null && _guard.IsGuarding(this), "the map's finalizer guard does not guard it");

            // The arrays are 64-byte aligned (the table words keep B in their low 6 bits), and their
            // blocks hold 2^B buckets and their tail: before the tables published from them.
            Check(((nuint)_buckets & BucketLayout<TKey, TValue>.TableBMask) == 0, "the bucket array is not 64-byte aligned");
            Check(((nuint)_oldBuckets & BucketLayout<TKey, TValue>.TableBMask) == 0, "the old bucket array is not 64-byte aligned");
            Check(_buckets == null || ArrayFits(_buckets, _b), "the bucket array's block is smaller than B's array");
            Check(_oldBuckets == null || ArrayFits(_oldBuckets, OldB()), "the old bucket array's block is smaller than its B's array");
            Check((s & StateWriting) == 0 || (f & FlagPoisoned) != 0, "hashWriting is set outside a write");
            Check(_structural == 0 || (f & FlagPoisoned) != 0, "the structural right is held outside a write");
            Check(_writer == 0 || (f & FlagPoisoned) != 0, "a writer's thread is recorded outside a write");
            Check(_table == BucketLayout<TKey, TValue>.Table(_buckets, _b), "the published table differs from the bucket array and B");
            Check(_oldTable == BucketLayout<TKey, TValue>.Table(_oldBuckets, OldB()), "the published old table differs from the old array and its B");
            Check(_quietTable == (_oldBuckets == null && _comparer is null ? _table : 0), "the published quiet table is not the table of a map that neither grows nor has a comparer");
            Check(_plainReadTable == (f == 0 ? _quietTable : 0), "the published plain-read table is not the quiet table of a Go-mode map that is not poisoned");
            Check(_plainWriteTable == (_slowWrites == 0 ? _plainReadTable : 0), "the published plain-write table is not the plain-read table of a map whose writes may take the fast path");
            Check(_insertSlowAt == InsertSlowAt(), "the insert threshold is stale");

            // One direction only: a write that must take the slow path finds the flag raised. The flag
            // may stay raised with nothing pending when an enumerator ends on another thread during a
            // write (misuse, caught; UnregisterIterator raises it, after the writer's Publish cleared
            // it): the next write then takes the slow path once and its Publish clears the flag.
            // Seen once in the stress program's Strict iterator-vs-writer trials (seed 1968999024).
            Check(_slowWrites != 0 || !(_oldBuckets != null || _buckets == null || _resizeB >= 0 || _reclaimPending || _releaseQueue != null), "the slow-write flag is clear while writes must take the slow path");
            Check(_resizeB >= -1 && _resizeB < 62, "the pending resize target is out of range");
            var owned = new HashSet<nint>();
            var reached = new HashSet<nint>();
            long charged = 0;

            void Own(void* p, string what)
            {
                Check(p != null, what + " is null");
                Check(NativeHeap.IsLive((byte*)p), what + " is freed");
                Check(owned.Add((nint)p), what + " is owned twice");
                charged += NativeHeap.ChargedSize((byte*)p);
            }

            if (_buckets == null)
            {
                Check(_count == 0 && _b == 0 && _oldBuckets == null && _nextOverflow == null && _spareOverflow == null && _spareCount == 0, "no bucket array but entries, B, growth or spare overflow buckets");
            }
            else
            {
                Own(_buckets, "bucket array");
            }

            if (_preparedArray != null)
            {
                Own(_preparedArray, "prepared growth array");
                Check(_prepareGrowthAhead, "a prepared growth array without PrepareGrowthAhead");
                Check(_buckets != null && _preparedB == GrownB(_b), "the prepared array is not of the next growth's size");
                Check(_preparedArray != _buckets && _preparedArray != _oldBuckets, "the prepared array is in use");
                Check(ArrayFits(_preparedArray, _preparedB), "the prepared array's block is smaller than its B's array");
            }

            Check(_prepareRefusedB == -1 || (_prepareRefusedB == _b && _preparedArray == null), "a refused preparation is recorded for another B than the current one, or beside a prepared array");

            var currentList = new HashSet<nint>();
            var oldList = new HashSet<nint>();
            OwnList(ref _overflow, currentList, "overflow chunk", Own);
            OwnList(ref _oldOverflow, oldList, "old overflow chunk", Own);

            // The free buckets of the current chunk are the last ones of the newest chunk, zeroed.
            Check(_chunkLeft >= 0 && (_chunkLeft == 0 || (_overflow.Count > 0 && _chunkNext == BucketLayout<TKey, TValue>.ChunkBucket(_overflow.Items[_overflow.Count - 1], BucketLayout<TKey, TValue>.ChunkCount(_overflow.Items[_overflow.Count - 1]) - _chunkLeft))), "the chunk cursor is outside the newest chunk");
            for (long k = 0; k < _chunkLeft; k++)
            {
                byte* free = BucketLayout<TKey, TValue>.Bucket(_chunkNext, (ulong)k);
                Check(BucketLayout<TKey, TValue>.TopHashWord(free) == 0 && BucketLayout<TKey, TValue>.Overflow(free) == null, "a free chunk bucket is not empty");
            }

            if (_fastIterSlots != null)
            {
                Own(_fastIterSlots, "fast enumerator table");
                Check(((nuint)_fastIterSlots & 63) == 0, "the fast registration table is not cache-line aligned (a slot per line)");
                for (int k = 0; k < FastIterSlots; k++)
                {
                    long state = Volatile.Read(ref ClaimWord(k)) & ClaimStateMask;
                    byte* boundary = _fastIterSlots[k].Boundary;
                    Check(state != ClaimFree || boundary == null, "a free registration slot keeps a deferred-list boundary");
                    Check(state == ClaimFree || state == ClaimRegistered, "a fast registration slot is being claimed or released while the map is validated");
                    Check(BoundaryInDeferredList(boundary), "an enumerator's deferred-list boundary is not in the list");
                }
            }
            else
            {
                Check((ClaimWord(0) | ClaimWord(1) | ClaimWord(2) | ClaimWord(3)) == 0, "fast registrations without a fast registration table");
            }

            if (_iterSlots != null)
            {
                Own(_iterSlots, "enumerator table");
                int live = 0;
                for (int k = 0; k < _iterSlotCount; k++)
                {
                    live += _iterSlots[k].Ticket != 0 ? 1 : 0;
                    byte* boundary = _iterSlots[k].Boundary;
                    Check(BoundaryInDeferredList(boundary), "an enumerator's deferred-list boundary is not in the list");
                    Check(_iterSlots[k].Ticket != 0 || boundary == null, "a free registration slot keeps a deferred-list boundary");
                }

                Check(((nuint)_iterSlots & 63) == 0, "the registration table is not cache-line aligned (a slot per line)");

                Check(live == _reg.Live, "live enumerator count differs from the registration table");
            }
            else
            {
                Check(_reg.Live == 0, "live enumerators without a registration table");
            }

            for (byte* p = _oldIterSlots; p != null; p = NativeHeap.Next(p))
            {
                Own(p, "outgrown enumerator table");
            }

            long deferredBytes = 0;
            for (byte* p = _deferred; p != null; p = NativeHeap.Next(p))
            {
                Own(p, "deferred block");
                deferredBytes += NativeHeap.ChargedSize(p);
            }

            // Promote clears the pending flag only while an enumerator may still read what it leaves
            // deferred; the last one to end raises it again (UnregisterIterator).
            Check(_deferred == null || AnyLiveIterators() || _reclaimPending, "blocks are deferred with no enumerator live and no reclaim pending");
            for (byte* p = _releaseQueue; p != null; p = NativeHeap.Next(p))
            {
                Own(p, "queued block");
                deferredBytes += NativeHeap.ChargedSize(p);
            }

            for (byte* p = _parked; p != null; p = NativeHeap.Next(p))
            {
                Own(p, "parked mapping");
                Check(NativeHeap.IsMapped(p) && (f & FlagStrict) == 0, "a parked block is not a Go-mode mapping");
                Check(NativeHeap.ChargedSize(p) == (long)OsMemory.Page, "a parked mapping is not released down to its first page");
            }

            Check(deferredBytes == _deferredBytes, "deferred byte count is wrong");

            long liveCells = 0;
            long usedOverflow = 0;
            if (_buckets != null)
            {
                ulong n = MapMath.BucketShift(_b);
                byte* tail = BucketLayout<TKey, TValue>.Bucket(_buckets, n);
                byte* end = BucketLayout<TKey, TValue>.Bucket(_buckets, MapMath.ArrayBucketCount(_b));
                long[] chunks = SortedChunks(currentList);
                Check(_nextOverflow == null || (_nextOverflow >= tail && _nextOverflow < end && BucketLayout<TKey, TValue>.OnBucketBoundary(tail, _nextOverflow)), "nextOverflow outside the preallocated tail");
                for (ulong j = 0; j < n; j++)
                {
                    byte* first = BucketLayout<TKey, TValue>.Bucket(_buckets, j);
                    if (_oldBuckets != null)
                    {
                        // A unit not evacuated yet has sent nothing to its new buckets (its first old bucket says).
                        ulong oldIndex = j & (EvacuationUnits() - 1);
                        if (!MapMath.Evacuated(*BucketLayout<TKey, TValue>.Bucket(_oldBuckets, oldIndex)))
                        {
                            Check(BucketLayout<TKey, TValue>.TopHashWord(first) == 0 && BucketLayout<TKey, TValue>.Overflow(first) == null, $"new bucket {j} filled before old bucket {oldIndex} was evacuated");
                        }
                        else
                        {
                            // Its pages of an array with a touch map were faulted in first (FaultInDestinations).
                            Check(NativeHeap.IsFaultedIn(_buckets, first, (ulong)BucketLayout<TKey, TValue>.BucketSize), $"new bucket {j} was filled before its pages of the array were faulted in");
                        }
                    }

                    usedOverflow += WalkChain(first, j, _b, tail, end, chunks, reached, old: false, ref liveCells, Own) - 1;
                }

                // Spares (TrimEmptyTail): empty, in no chain, owned by the current generation.
                long spares = 0;
                for (byte* sp = _spareOverflow; sp != null && spares <= _spareCount; sp = BucketLayout<TKey, TValue>.Overflow(sp))
                {
                    spares++;
                    Check(reached.Add((nint)sp), "a spare overflow bucket is linked in a chain or listed twice");
                    Check((sp >= tail && sp < end) || InChunk(chunks, sp), "a spare overflow bucket is neither preallocated nor in an owned chunk");
                    Check(BucketLayout<TKey, TValue>.TopHashWord(sp) == 0, "a spare overflow bucket is not all emptyRest");
                    for (int i = 0; i < MapMath.BucketCnt; i++)
                    {
                        CheckNoIndirectPointers(sp, i, ulong.MaxValue);
                    }
                }

                Check(spares == _spareCount, "the spare overflow count differs from the spare list");

                // Every bucket of the tail before nextOverflow is in use (linked or spare); every one after is free.
                long tailUsed = 0;
                for (byte* t = tail; t < end; t = BucketLayout<TKey, TValue>.NextInMemory(t))
                {
                    bool used = reached.Contains((nint)t);
                    bool free = _nextOverflow != null && t >= _nextOverflow;
                    Check(used != free, "preallocated overflow bucket both used and free, or neither");
                    tailUsed += used ? 1 : 0;
                    if (free)
                    {
                        Check(BucketLayout<TKey, TValue>.TopHashWord(t) == 0 && BucketLayout<TKey, TValue>.Overflow(t) == null, "free preallocated overflow bucket is not empty");
                    }
                }

                Check(usedOverflow + spares == tailUsed + ChunkBucketsLinked(currentList, reached), "an overflow bucket is linked or spare but not owned");
                Check(usedOverflow == _overflowUsed, "overflow bucket count is wrong");
                if (_b < 16)
                {
                    // A spare was counted when first linked, and its reuse is not counted again.
                    Check(_noverflow == _overflowUsed + _spareCount, "noverflow is not exact below B = 16 (linked and spare overflow buckets)");
                }
            }

            if (_oldBuckets != null)
            {
                Own(_oldBuckets, "old bucket array");
                int oldB = OldB();
                ulong n = MapMath.BucketShift(oldB);
                ulong units = EvacuationUnits();
                // The write whose evacuation takes the mark to the end ends the growth (AdvanceEvacuationMark).
                Check(_nevacuate < units, "nevacuate at or past the last evacuation unit while growing");
                Check(oldB <= _b || oldB - _b <= MaxShrinkLevels, "a shrink of more levels than MaxShrinkLevels");
                byte* tail = BucketLayout<TKey, TValue>.Bucket(_oldBuckets, n);
                byte* end = BucketLayout<TKey, TValue>.Bucket(_oldBuckets, MapMath.ArrayBucketCount(oldB));
                long[] chunks = SortedChunks(oldList);
                for (ulong j = 0; j < n; j++)
                {
                    byte* first = BucketLayout<TKey, TValue>.Bucket(_oldBuckets, j);
                    ulong unit = j & (units - 1);
                    Check(unit >= _nevacuate || MapMath.Evacuated(*first), $"old bucket {j} below nevacuate is not evacuated");
                    Check(MapMath.Evacuated(*first) == MapMath.Evacuated(*BucketLayout<TKey, TValue>.Bucket(_oldBuckets, unit)), $"old bucket {j} is evacuated apart from its unit {unit}");
                    WalkChain(first, j, oldB, tail, end, chunks, reached, old: true, ref liveCells, Own);
                }
            }
            else
            {
                Check(_oldOverflow.Count == 0 && _oldB == 0, "old generation state without a growth");
            }

            Check(liveCells == _count, $"{liveCells} live cells but count {_count}");
            Check(charged == _nativeBytes, $"owned blocks total {charged} bytes but the map counts {_nativeBytes}");
        }

        /// <summary>
        /// An empty slot holds no pointer to a key or value block: a removed entry's pointers are
        /// cleared when its blocks are retired (RetireIndirect), so that a read racing a later
        /// insert into the slot cannot reach a freed block.
        /// <paramref name="index"/> names the chain (<see cref="ulong.MaxValue"/>: a spare bucket).
        /// </summary>
        private static void CheckNoIndirectPointers(byte* c, int i, ulong index)
        {
            if (!BucketLayout<TKey, TValue>.IndirectKey && !BucketLayout<TKey, TValue>.IndirectValue)
            {
                return;
            }

            string where = index == ulong.MaxValue ? "a spare overflow bucket" : $"chain {index}";
            if (BucketLayout<TKey, TValue>.IndirectKey)
            {
                Check(BucketLayout<TKey, TValue>.SlotPointer(BucketLayout<TKey, TValue>.KeySlot(c, i)) == null, $"empty slot of {where} still points at a key block");
            }

            if (BucketLayout<TKey, TValue>.IndirectValue)
            {
                Check(BucketLayout<TKey, TValue>.SlotPointer(BucketLayout<TKey, TValue>.ValueSlot(c, i)) == null, $"empty slot of {where} still points at a value block");
            }
        }

        /// <summary>Checks one chain; returns its length in buckets.</summary>
        private long WalkChain(byte* first, ulong index, int b, byte* tail, byte* end, long[] chunks, HashSet<nint> reached, bool old, ref long liveCells, OwnFn own)
        {
            bool evacuated = MapMath.Evacuated(*first);
            bool restSeen = false;
            bool emptyOneSinceLive = false;
            long length = 0;
            for (byte* c = first; c != null; c = BucketLayout<TKey, TValue>.Overflow(c))
            {
                length++;
                Check(reached.Add((nint)c), $"bucket reachable twice (chain {index})");
                if (c != first)
                {
                    Check((c >= tail && c < end) || InChunk(chunks, c), $"overflow bucket of chain {index} neither preallocated nor in an owned chunk");
                }

                for (int i = 0; i < MapMath.BucketCnt; i++)
                {
                    byte top = BucketLayout<TKey, TValue>.TopHash(c, i);
                    if (old && evacuated)
                    {
                        Check(top >= MapMath.EvacuatedX && top <= MapMath.EvacuatedEmpty, $"old chain {index} is partly evacuated");
                        continue;
                    }

                    Check(top < MapMath.EvacuatedX || top >= MapMath.MinTopHash, $"evacuation mark in live chain {index}");
                    if (restSeen)
                    {
                        Check(top == MapMath.EmptyRest, $"slot after emptyRest is not emptyRest in chain {index}");
                        CheckNoIndirectPointers(c, i, index);
                        continue;
                    }

                    if (top == MapMath.EmptyRest)
                    {
                        restSeen = true;
                        CheckNoIndirectPointers(c, i, index);
                        continue;
                    }

                    if (top == MapMath.EmptyOne)
                    {
                        emptyOneSinceLive = true;
                        CheckNoIndirectPointers(c, i, index);
                        continue;
                    }

                    emptyOneSinceLive = false;
                    liveCells++;
                    if (BucketLayout<TKey, TValue>.IndirectKey)
                    {
                        own(BucketLayout<TKey, TValue>.SlotPointer(BucketLayout<TKey, TValue>.KeySlot(c, i)), "indirect key");
                    }

                    if (BucketLayout<TKey, TValue>.IndirectValue)
                    {
                        own(BucketLayout<TKey, TValue>.SlotPointer(BucketLayout<TKey, TValue>.ValueSlot(c, i)), "indirect value");
                    }

                    ulong hash = Hash(BucketLayout<TKey, TValue>.Key(c, i));
                    Check(MapMath.TopHash(hash) == top, $"tophash does not match the key's hash in chain {index}");
                    Check((hash & MapMath.BucketMask(b)) == index, $"key in chain {index} hashes to bucket {hash & MapMath.BucketMask(b)}");
                }
            }

            // Deletes turn the empty run that ends a chain into emptyRest, so lookups stop early.
            Check(!emptyOneSinceLive || (old && evacuated), $"chain {index} ends in emptyOne instead of emptyRest");
            return length;
        }

        private delegate void OwnFn(void* p, string what);

        /// <summary>The chunk addresses of one ownership list in ascending order, for <see cref="InChunk"/>.</summary>
        private static long[] SortedChunks(HashSet<nint> chunks)
        {
            var sorted = new long[chunks.Count];
            int k = 0;
            foreach (nint chunk in chunks)
            {
                sorted[k++] = chunk;
            }

            Array.Sort(sorted);
            return sorted;
        }

        /// <summary>
        /// Whether bucket <paramref name="c"/> is one of the buckets of a chunk of
        /// <paramref name="sortedChunks"/> (<see cref="SortedChunks"/>), at a bucket boundary: a
        /// binary search for the last chunk that starts at or below it, so that Validate stays
        /// O(buckets + entries) with hundreds of chunks (a scan of them all per overflow bucket
        /// took a 10,000,000-entry Validate to seconds).
        /// </summary>
        private static bool InChunk(long[] sortedChunks, byte* c)
        {
            int lo = 0;
            int hi = sortedChunks.Length - 1;
            int at = -1;
            while (lo <= hi)
            {
                int mid = lo + ((hi - lo) >> 1);
                if (sortedChunks[mid] <= (long)c)
                {
                    at = mid;
                    lo = mid + 1;
                }
                else
                {
                    hi = mid - 1;
                }
            }

            if (at < 0)
            {
                return false;
            }

            byte* chunk = (byte*)sortedChunks[at];
            byte* first = BucketLayout<TKey, TValue>.ChunkBucket(chunk, 0);
            byte* end = BucketLayout<TKey, TValue>.ChunkBucket(chunk, BucketLayout<TKey, TValue>.ChunkCount(chunk));
            return c >= first && c < end && BucketLayout<TKey, TValue>.OnBucketBoundary(first, c);
        }

        /// <summary>Number of buckets of the chunks that some chain reaches.</summary>
        private static long ChunkBucketsLinked(HashSet<nint> chunks, HashSet<nint> reached)
        {
            long n = 0;
            foreach (nint chunk in chunks)
            {
                long count = BucketLayout<TKey, TValue>.ChunkCount((byte*)chunk);
                for (long k = 0; k < count; k++)
                {
                    n += reached.Contains((nint)BucketLayout<TKey, TValue>.ChunkBucket((byte*)chunk, k)) ? 1 : 0;
                }
            }

            return n;
        }

        private static void OwnList(ref PtrList list, HashSet<nint> set, string what, OwnFn own)
        {
            Check(list.Count <= list.Capacity && (list.Capacity == 0) == (list.Items == null), what + " list is malformed");
            if (list.Items != null)
            {
                own(list.Items, what + " list storage");
            }

            for (long k = 0; k < list.Count; k++)
            {
                byte* chunk = list.Items[k];
                own(chunk, what);
                long count = BucketLayout<TKey, TValue>.ChunkCount(chunk);
                ulong usable = NativeHeap.UsableSize(chunk);
                Check(count > 0 && (ulong)count <= usable / (ulong)BucketLayout<TKey, TValue>.BucketSize && BucketLayout<TKey, TValue>.ChunkBytes(count) <= usable, what + "'s bucket count does not fit its block");
                set.Add((nint)chunk);
            }
        }

        /// <summary>Whether the native block at <paramref name="array"/> holds a bucket array of 2^<paramref name="b"/> buckets and its tail.</summary>
        private static bool ArrayFits(byte* array, int b) =>
            NativeHeap.UsableSize(array) >= (BucketLayout<TKey, TValue>.ArrayBytes(b) ?? ulong.MaxValue);

        /// <summary>Whether an enumerator's boundary is null or a block of the deferred list.</summary>
        private bool BoundaryInDeferredList(byte* boundary) => boundary == null || DeferredDepth(boundary) >= 0;

        private static void Check(bool condition, string what)
        {
            if (!condition)
            {
                ThrowHelper.ThrowBadMapState(what);
            }
        }
    }
}
