using System.Runtime.CompilerServices;

namespace NativeGoMap
{
    // Lookups: Go's mapaccess1/mapaccess2/mapaccessK, one ref-returning search.
    public sealed unsafe partial class GoMap<TKey, TValue>
    {
        /// <summary>
        /// The value slot of a key, or a null ref (Go's mapaccess2). Callers check the state word;
        /// this only searches.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal ref TValue FindValue(scoped in TKey key)
        {
            if (FindEntry(key, out byte* b, out int i))
            {
                return ref BucketLayout<TKey, TValue>.Value(b, i);
            }

            return ref Unsafe.NullRef<TValue>();
        }

        /// <summary>
        /// The search of Go's mapaccess1/2/K: the bucket and slot holding a key, or false. The
        /// caller has checked the state word. Hot path: hash, one tophash word per bucket matched
        /// in one go, key compares only where the tophash byte matches.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal bool FindEntry(in TKey key, out byte* bucket, out int slot)
        {
            bucket = null;
            slot = 0;
            if (_count == 0)
            {
                return false;
            }

            ulong hash = Hash(key);
            byte* b = BucketLayout<TKey, TValue>.Bucket(_buckets, hash & MapMath.BucketMask(_b));
            if (_oldBuckets != null)
            {
                b = OldBucketIfUnevacuated(hash, b);
            }

            byte top = MapMath.TopHash(hash);
            for (; b != null; b = BucketLayout<TKey, TValue>.Overflow(b))
            {
                ulong word = BucketLayout<TKey, TValue>.TopHashWord(b);
                for (ulong match = MapMath.MatchTopHash(word, top); match != 0; match &= match - 1)
                {
                    int i = MapMath.FirstSlot(match);
                    if (KeyEquals(key, BucketLayout<TKey, TValue>.Key(b, i)))
                    {
                        bucket = b;
                        slot = i;
                        return true;
                    }
                }

                if (MapMath.HasEmptyRest(word))
                {
                    break;
                }
            }

            return false;
        }

        /// <summary>While growing, a lookup reads the old bucket when it has not been evacuated yet.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private byte* OldBucketIfUnevacuated(ulong hash, byte* current)
        {
            byte* oldb = BucketLayout<TKey, TValue>.Bucket(_oldBuckets, hash & OldBucketMask());
            return MapMath.Evacuated(*oldb) ? current : oldb;
        }
    }
}
