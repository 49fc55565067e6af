using System;

namespace NativeGoMap
{
    // Growth: Go's hashGrow, growWork, evacuate and advanceEvacuationMark.
    public sealed unsafe partial class GoMap<TKey, TValue>
    {
        /// <summary>
        /// Go's hashGrow: starts a growth. Doubles B when over the load factor, else keeps it
        /// (a same-size growth that compacts overflow chains). Only allocates the new array here;
        /// the copying is done bit by bit by <see cref="GrowWork"/>. The new array is allocated
        /// before any field changes, so an <see cref="OutOfMemoryException"/> leaves the map as it was.
        /// </summary>
        private void HashGrow()
        {
            FreeParked(); // mappings emptied during the previous growth: no read can still be in them
            bool bigger = MapMath.OverLoadFactor(_count + 1, _b);
            int newB = _b + (bigger ? 1 : 0);
            byte* newBuckets = AllocBucketArray(newB, out byte* nextOverflow);

            if (_oldOverflow.Count != 0)
            {
                ThrowHelper.ThrowBadMapState("oldoverflow is not empty");
            }

            // Commit the growth. The current generation's ownership list becomes the old one (with
            // what is left of its newest chunk: the new generation starts chunks of its own).
            _oldBuckets = _buckets;
            _buckets = newBuckets;
            _b = newB;
            _sameSizeGrow = !bigger;
            _nevacuate = 0;
            _noverflow = 0;
            _overflowUsed = 0;
            _oldOverflow = _overflow;
            _overflow = default;
            _nextOverflow = nextOverflow;
            _chunkNext = null;
            _chunkLeft = 0;
            _work.GrowthStarts++;
            Publish();
        }

        /// <summary>log2 of the old array's regular bucket count.</summary>
        private int OldB() => _sameSizeGrow ? _b : _b - 1;

        /// <summary>Number of regular buckets of the old array (Go's noldbuckets).</summary>
        private ulong NOldBuckets() => MapMath.BucketShift(OldB());

        /// <summary>Mask for an old bucket index (Go's oldbucketmask).</summary>
        private ulong OldBucketMask() => NOldBuckets() - 1;

        /// <summary>
        /// Go's growWork: evacuates the old bucket that <paramref name="bucket"/> (a new bucket
        /// index about to be used) draws from, and one more to make progress.
        /// </summary>
        private void GrowWork(ulong bucket)
        {
            Evacuate(bucket & OldBucketMask());
            if (_oldBuckets != null)
            {
                Evacuate(_nevacuate);
            }
        }

        /// <summary>
        /// Go's evacuate: moves the entries of one old chain to the new array, each to bucket x
        /// (same index) or y (index + old size) by the next hash bit, leaving evacuatedX/Y/Empty
        /// marks behind. Every overflow bucket it may need is reserved first, so it cannot fail
        /// halfway; a key hash that throws (only a user comparer can) poisons the map instead.
        /// </summary>
        private void Evacuate(ulong oldbucket)
        {
            byte* b = BucketLayout<TKey, TValue>.Bucket(_oldBuckets, oldbucket);
            ulong newbit = NOldBuckets();
            if (!MapMath.Evacuated(*b))
            {
                ReserveForEvacuation(b);
                _work.Evacuations++;
                try
                {
                    EvacuateChain(b, oldbucket, newbit);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // Half an old chain has moved: the map cannot be trusted any more.
                    PoisonWhileWriting("bad map state: the key comparer threw during growth: " + e.Message);
                    throw;
                }
            }

            if (oldbucket == _nevacuate)
            {
                AdvanceEvacuationMark(newbit);
            }
        }

        private void EvacuateChain(byte* b, ulong oldbucket, ulong newbit)
        {
            byte* xb = BucketLayout<TKey, TValue>.Bucket(_buckets, oldbucket);
            byte* yb = _sameSizeGrow ? null : BucketLayout<TKey, TValue>.Bucket(_buckets, oldbucket + newbit);
            int xi = 0;
            int yi = 0;
            for (; b != null; b = BucketLayout<TKey, TValue>.Overflow(b))
            {
                for (int i = 0; i < MapMath.BucketCnt; i++)
                {
                    byte top = b[i];
                    if (MapMath.IsEmpty(top))
                    {
                        b[i] = MapMath.EvacuatedEmpty;
                        continue;
                    }

                    if (top < MapMath.MinTopHash)
                    {
                        ThrowHelper.ThrowBadMapState("evacuation mark in a bucket that is not evacuated");
                    }

                    bool useY = !_sameSizeGrow && (Hash(BucketLayout<TKey, TValue>.Key(b, i)) & newbit) != 0;
                    b[i] = useY ? MapMath.EvacuatedY : MapMath.EvacuatedX; // evacuatedX + 1 == evacuatedY
                    ref byte* db = ref useY ? ref yb : ref xb;
                    ref int di = ref useY ? ref yi : ref xi;
                    if (di == MapMath.BucketCnt)
                    {
                        db = NewOverflow(db);
                        di = 0;
                    }

                    db[di] = top;

                    // Copy the slots as they are: an indirect key or value moves by its pointer,
                    // and its block's ownership moves with it.
                    Buffer.MemoryCopy(BucketLayout<TKey, TValue>.KeySlot(b, i), BucketLayout<TKey, TValue>.KeySlot(db, di), BucketLayout<TKey, TValue>.KeySlotSize, BucketLayout<TKey, TValue>.KeySlotSize);
                    Buffer.MemoryCopy(BucketLayout<TKey, TValue>.ValueSlot(b, i), BucketLayout<TKey, TValue>.ValueSlot(db, di), BucketLayout<TKey, TValue>.ValueSlotSize, BucketLayout<TKey, TValue>.ValueSlotSize);
                    di++;
                }
            }
        }

        /// <summary>
        /// Makes sure the overflow buckets an evacuation of chain <paramref name="b"/> may link
        /// exist before it starts, so that it cannot fail halfway: with n live entries split between two empty destination
        /// buckets, at most ⌈n/8⌉ − 1 overflow buckets are needed.
        /// </summary>
        private void ReserveForEvacuation(byte* b)
        {
            if (BucketLayout<TKey, TValue>.Overflow(b) == null)
            {
                return; // 8 entries or fewer always fit
            }

            long live = 0;
            for (byte* c = b; c != null; c = BucketLayout<TKey, TValue>.Overflow(c))
            {
                live += MapMath.CountLive(BucketLayout<TKey, TValue>.TopHashWord(c));
            }

            long needed = ((live + MapMath.BucketCnt - 1) / MapMath.BucketCnt) - 1;

            // Preallocated buckets first, then what is left of the current chunk; else a new chunk
            // large enough for the whole evacuation (the rest of the old one stays unused).
            if (needed > RemainingPreallocated() + _chunkLeft)
            {
                NewOverflowChunk(needed);
            }
        }

        /// <summary>Preallocated overflow buckets left at the tail of the current array.</summary>
        private long RemainingPreallocated()
        {
            if (_nextOverflow == null)
            {
                return 0;
            }

            byte* end = BucketLayout<TKey, TValue>.Bucket(_buckets, MapMath.ArrayBucketCount(_b));
            return (long)((ulong)(end - _nextOverflow) / (ulong)BucketLayout<TKey, TValue>.BucketSize);
        }

        /// <summary>
        /// Go's advanceEvacuationMark: moves nevacuate past evacuated buckets (at most 1024 at a
        /// time, to bound the work of one write); when every old bucket is evacuated, the growth
        /// is over and the old generation is retired (not released: see GoMap.Memory.cs).
        /// </summary>
        private void AdvanceEvacuationMark(ulong newbit)
        {
            _nevacuate++;
            ulong stop = Math.Min(_nevacuate + 1024, newbit);
            while (_nevacuate != stop && MapMath.Evacuated(*BucketLayout<TKey, TValue>.Bucket(_oldBuckets, _nevacuate)))
            {
                _nevacuate++;
            }

            if (_nevacuate == newbit)
            {
                // Growth is all done. Retire the old main bucket array and its overflow chunks;
                // later writes release them a bounded piece at a time (GoMap.Memory.cs).
                RetireOldGeneration();
                _sameSizeGrow = false;
                _work.GrowthEnds++;
                Publish();
            }
        }
    }
}
