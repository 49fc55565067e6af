using System.Runtime.InteropServices;

namespace NativeGoMap
{
    // Delete and clear: Go's mapdelete and mapclear.
    public sealed unsafe partial class GoMap<TKey, TValue>
    {
        /// <summary>
        /// Go's mapdelete. The caller holds hashWriting. Marks the slot emptyOne, then turns the
        /// run of empty slots that now ends the chain into emptyRest, walking back across
        /// buckets, so lookups stop early. Indirect blocks are retired (freed, or deferred while
        /// enumerators live).
        /// </summary>
        private bool Delete(in TKey key, ulong hash, out TValue value)
        {
            value = default;
            if (_count == 0)
            {
                return false;
            }

            ulong bucket = hash & MapMath.BucketMask(_b);
            if (_oldBuckets != null)
            {
                GrowWork(bucket);
            }

            byte* bOrig = BucketLayout<TKey, TValue>.Bucket(_buckets, bucket);
            byte top = MapMath.TopHash(hash);
            for (byte* b = bOrig; b != null; b = BucketLayout<TKey, TValue>.Overflow(b))
            {
                ulong word = BucketLayout<TKey, TValue>.TopHashWord(b);
                for (ulong match = MapMath.MatchTopHash(word, top); match != 0; match &= match - 1)
                {
                    int i = MapMath.FirstSlot(match);
                    if (!KeyEquals(key, BucketLayout<TKey, TValue>.Key(b, i)))
                    {
                        continue;
                    }

                    value = BucketLayout<TKey, TValue>.Value(b, i);
                    RetireIndirect(b, i);
                    b[i] = MapMath.EmptyOne;
                    MarkEmptyRestBackwards(bOrig, b, i);
                    _count--;
                    if (_count == 0)
                    {
                        // Reset the hash seed to make it more difficult for attackers to
                        // repeatedly trigger hash collisions (Go issue 25237).
                        Reseed();
                    }

                    return true;
                }

                if (MapMath.HasEmptyRest(word))
                {
                    break;
                }
            }

            return false;
        }

        /// <summary>
        /// After slot <paramref name="i"/> of <paramref name="b"/> became empty: if everything
        /// after it in the chain is empty, mark it and the empty slots before it emptyRest.
        /// </summary>
        private static void MarkEmptyRestBackwards(byte* bOrig, byte* b, int i)
        {
            if (i == MapMath.BucketCnt - 1)
            {
                byte* next = BucketLayout<TKey, TValue>.Overflow(b);
                if (next != null && next[0] != MapMath.EmptyRest)
                {
                    return;
                }
            }
            else if (b[i + 1] != MapMath.EmptyRest)
            {
                return;
            }

            while (true)
            {
                b[i] = MapMath.EmptyRest;
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

                if (b[i] != MapMath.EmptyOne)
                {
                    return;
                }
            }
        }

        /// <summary>
        /// Go's mapclear (with Go 1.21's marking of every bucket empty, so that live enumerators
        /// see the clear). The caller holds hashWriting. Allocates nothing.
        /// </summary>
        private void ClearCore()
        {
            if (_buckets == null)
            {
                Reseed();
                return;
            }

            // Indirect blocks of live entries are owned by their slots: retire them first.
            RetireAllIndirect();

            // Enumerators may be walking any chain of either array: show them emptiness.
            if (_liveIterators != 0)
            {
                MarkChainsEmpty(_buckets, _b);
                if (_oldBuckets != null)
                {
                    MarkChainsEmpty(_oldBuckets, OldB());
                }
            }

            RetireOldGeneration();
            RetireOverflowList(ref _overflow);
            FreeSpares();
            _sameSizeGrow = false;
            _nevacuate = 0;
            _noverflow = 0;
            _overflowUsed = 0;
            _count = 0;
            _clearSeq++;
            Reseed();

            // Reuse the bucket array: zero it and recover its preallocated overflow buckets as
            // if it were newly allocated.
            ulong bytes = BucketLayout<TKey, TValue>.ArrayBytes(_b)!.Value;
            NativeMemory.Clear(_buckets, (nuint)bytes);
            _nextOverflow = InitBucketArray(_buckets, _b);
            ReclaimDeferred();
        }

        /// <summary>Marks every slot of every chain of an array emptyRest.</summary>
        private static void MarkChainsEmpty(byte* array, int b)
        {
            ulong n = MapMath.BucketShift(b);
            for (ulong j = 0; j < n; j++)
            {
                for (byte* c = BucketLayout<TKey, TValue>.Bucket(array, j); c != null; c = BucketLayout<TKey, TValue>.Overflow(c))
                {
                    *(ulong*)c = 0;
                }
            }
        }
    }
}
