using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Threading;

namespace NativeGoMap
{
    // What a debugger shows of a map. A debugger may stop the program anywhere, even inside a
    // write, and looking must change nothing: no enumerator (it registers itself and, seeing a
    // write in progress, would poison the map), no race checks that throw, no native allocation.
    // So the view reads the header and walks the buckets directly, and declines, saying why, when
    // the map is disposed, poisoned or in the middle of a write. The attributes sit on this part
    // of the partial class so the core files carry none of it.
    [DebuggerDisplay("{DebuggerDisplay,nq}")]
    [DebuggerTypeProxy(typeof(GoMapDebugView<,>))]
    public sealed unsafe partial class GoMap<TKey, TValue>
    {
        /// <summary>Count, B and whether a growth runs; never throws.</summary>
        private string DebuggerDisplay
        {
            get
            {
                int f = Volatile.Read(ref _flags);
                if ((f & FlagDisposed) != 0)
                {
                    return "Disposed";
                }

                string growing = _oldBuckets == null ? "" : _oldB == _b ? ", growing (same size)" : _oldB > _b ? ", shrinking" : ", growing";
                string poisoned = (f & FlagPoisoned) != 0 ? ", poisoned: " + _poisonMessage : "";
                return $"Count = {_count}, B = {_b}{growing}{poisoned}";
            }
        }

        /// <summary>
        /// Every entry, copied out by a raw walk of the current bucket array and, during a growth,
        /// of the old one (an entry is live in exactly one of them: an old chain not yet
        /// evacuated, or the new array). Null, with the reason in <paramref name="unavailable"/>,
        /// when the map is disposed, poisoned, being written, or was written during the walk.
        /// A Strict map's walk is announced as its reads are; a thread's first announcement takes
        /// the reader registry's lock, which a thread the debugger froze may hold (the
        /// evaluation then times out). Allocates; for the debugger view only.
        /// </summary>
        internal KeyValuePair<TKey, TValue>[]? DebuggerEntries(out string? unavailable)
        {
            long s = Volatile.Read(ref _state);
            int f = Volatile.Read(ref _flags);
            unavailable = (f & FlagDisposed) != 0 ? "the map is disposed"
                : (f & FlagPoisoned) != 0 ? "the map is poisoned: " + _poisonMessage
                : (s & StateWriting) != 0 ? "a write is in progress"
                : null;
            if (unavailable is not null)
            {
                return null;
            }

            var entries = new List<KeyValuePair<TKey, TValue>>((int)System.Math.Min(_count, 1 << 20));
            ReaderRegistry.ReaderSlot? slot = null;
            if ((f & FlagStrict) != 0)
            {
                // Announced as a Strict read is, declining instead of throwing (looking must not
                // poison the map), so that no write on another thread releases what the walk
                // reads, and a Dispose waits for it. Found by review: unannounced, views taken
                // beside a writer that grew and trimmed the map followed freed overflow pointers
                // (2,496 faults in 10 s with freed memory poisoned).
                if (!TryAnnounceRead(s, out ReaderRegistry.ReaderSlot announced))
                {
                    unavailable = "the map was written while the view was read";
                    return null;
                }

                slot = announced;
            }

            try
            {
                // The published table words: each array with its own B, as the lookups read them
                // (the fields _buckets, _b, _oldBuckets and the old B, read one by one, could pair
                // an array with another's B under a racing growth).
                nuint table = Volatile.Read(ref _table);
                nuint old = _oldTable;
                if (old != 0)
                {
                    AddLiveEntries(BucketLayout<TKey, TValue>.TableArray(old), BucketLayout<TKey, TValue>.TableB(old), entries);
                }

                if (BucketLayout<TKey, TValue>.TableArray(table) != null)
                {
                    AddLiveEntries(BucketLayout<TKey, TValue>.TableArray(table), BucketLayout<TKey, TValue>.TableB(table), entries);
                }
            }
            finally
            {
                slot?.Exit();
            }

            Fences.LoadsBeforeLaterAccesses(); // the walk's loads before the check, as EndStrictRead's
            if (Volatile.Read(ref _state) != s)
            {
                unavailable = "the map was written while the view was read";
                return null;
            }

            return entries.ToArray();
        }

        /// <summary>Appends the live slots of every chain of a bucket array with 2^<paramref name="b"/> regular buckets.</summary>
        private static void AddLiveEntries(byte* array, int b, List<KeyValuePair<TKey, TValue>> entries)
        {
            ulong n = MapMath.BucketShift(b);
            for (ulong j = 0; j < n; j++)
            {
                for (byte* c = BucketLayout<TKey, TValue>.Bucket(array, j); c != null; c = BucketLayout<TKey, TValue>.Overflow(c))
                {
                    for (int i = 0; i < MapMath.BucketCnt; i++)
                    {
                        if (BucketLayout<TKey, TValue>.TopHash(c, i) >= MapMath.MinTopHash)
                        {
                            entries.Add(new KeyValuePair<TKey, TValue>(BucketLayout<TKey, TValue>.Key(c, i), BucketLayout<TKey, TValue>.Value(c, i)));
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// The debugger's view of a <see cref="GoMap{TKey, TValue}"/> (<see cref="DebuggerTypeProxyAttribute"/>):
    /// its entries as an array, as Dictionary's view shows them.
    /// </summary>
    internal sealed class GoMapDebugView<[DynamicallyAccessedMembers(KeyClassifier.KeyTypeMembers)] TKey, [DynamicallyAccessedMembers(KeyClassifier.KeyTypeMembers)] TValue>
        where TKey : unmanaged
        where TValue : unmanaged
    {
        /// <summary>Reads the map once, when the debugger expands it.</summary>
        public GoMapDebugView(GoMap<TKey, TValue> map)
        {
            KeyValuePair<TKey, TValue>[]? items = map.DebuggerEntries(out string? unavailable);
            Items = items ?? System.Array.Empty<KeyValuePair<TKey, TValue>>();
            Status = unavailable is null ? $"{Items.Length} entries" : "entries not shown: " + unavailable;
        }

        /// <summary>How many entries are shown, or why none can be.</summary>
        public string Status { get; }

        /// <summary>The entries, in bucket order.</summary>
        [DebuggerBrowsable(DebuggerBrowsableState.RootHidden)]
        public KeyValuePair<TKey, TValue>[] Items { get; }
    }
}
