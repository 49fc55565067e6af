using System.Runtime.CompilerServices;
using System.Threading;

namespace NativeGoMap
{
    // Lookups: Go's mapaccess1/mapaccess2/mapaccessK, one ref-returning search.
    public sealed unsafe partial class GoMap<TKey, TValue>
    {
        /// <summary>
        /// The value slot of a key, or a null ref (Go's mapaccess2), for a read that began with
        /// state word <paramref name="state"/>.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal ref TValue FindValue(scoped in TKey key, long state, out bool raced)
        {
            if (FindEntry(key, state, out byte* b, out int i, out raced))
            {
                return ref BucketLayout<TKey, TValue>.Value(b, i);
            }

            return ref Unsafe.NullRef<TValue>();
        }

        /// <summary>
        /// The search of Go's mapaccess1/2/K: the bucket and slot holding a key, or false. The
        /// caller has checked the state word (<paramref name="state"/>) and announced itself as
        /// a reader; <paramref name="raced"/> tells it that a write began meanwhile (the search
        /// then stops before touching bucket memory; it throws nothing of its own, so callers
        /// need no try/finally unless keys run user code). Hot path: hash, one tophash word per
        /// bucket matched in one go, key compares only where the tophash byte matches.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal bool FindEntry(in TKey key, long state, out byte* bucket, out int slot, out bool raced)
        {
            bucket = null;
            slot = 0;
            raced = false;
            if (_count == 0)
            {
                return false;
            }

            ulong hash = Hash(key);

            if (!TrySnapshot(state, out GrowthSnapshot g))
            {
                raced = true;
                return false;
            }

            byte* p = BucketLayout<TKey, TValue>.Bucket(g.Buckets, hash & MapMath.BucketMask(g.B));
            if (g.Old != null)
            {
                p = OldBucketIfUnevacuated(g.Old, hash & g.OldMask, p);
            }

            byte top = MapMath.TopHash(hash);
            for (; p != null; p = BucketLayout<TKey, TValue>.Overflow(p))
            {
                ulong word = BucketLayout<TKey, TValue>.TopHashWord(p);
                for (ulong match = MapMath.MatchTopHash(word, top); match != 0; match &= match - 1)
                {
                    int i = MapMath.FirstSlot(match);
                    if (KeyEquals(key, BucketLayout<TKey, TValue>.Key(p, i)))
                    {
                        bucket = p;
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

        /// <summary>
        /// Takes B, the arrays and the growth kind as one consistent set for a read that began
        /// with state word <paramref name="state"/>: false when a write began meanwhile. A racing
        /// write (misuse) could otherwise pair a new B with an older, smaller array and send the
        /// index past its end. Past this check the arrays stay allocated for the read
        /// (ReaderRegistry), so the worst a racing write can cause is a detected race. (x64 keeps
        /// loads in order; the JIT does not move plain loads past a volatile one.)
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private bool TrySnapshot(long state, out GrowthSnapshot snapshot)
        {
            int b = Volatile.Read(ref _b);
            snapshot = new GrowthSnapshot(b, _buckets, _oldBuckets, _sameSizeGrow);
            return Volatile.Read(ref _state) == state;
        }

        /// <summary>B, the bucket arrays and the growth kind, read together by <see cref="TrySnapshot"/>.</summary>
        private readonly struct GrowthSnapshot
        {
            internal readonly int B;
            internal readonly byte* Buckets;
            internal readonly byte* Old;
            internal readonly bool SameSize;

            internal GrowthSnapshot(int b, byte* buckets, byte* old, bool sameSize)
            {
                B = b;
                Buckets = buckets;
                Old = old;
                SameSize = sameSize;
            }

            /// <summary>Mask of an old bucket index (Go's oldbucketmask) for this snapshot.</summary>
            internal ulong OldMask => MapMath.BucketMask(SameSize ? B : B - 1);
        }

        /// <summary>While growing, a lookup reads the old bucket when it has not been evacuated yet.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static byte* OldBucketIfUnevacuated(byte* oldBuckets, ulong oldIndex, byte* current)
        {
            byte* oldb = BucketLayout<TKey, TValue>.Bucket(oldBuckets, oldIndex);
            return MapMath.Evacuated(*oldb) ? current : oldb;
        }
    }
}
