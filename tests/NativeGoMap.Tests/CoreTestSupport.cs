using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using Xunit;

// Helpers of the core-map tests (layout, makemap, growth, differential, leaks, misuse, keys,
// faults, arithmetic). Kept in their own namespace so that they cannot collide with the helpers
// of other test files.
namespace NativeGoMap.Tests.CoreSupport
{
    /// <summary>A 3-byte key (alignment 1), as Go's [3]byte.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Key3
    {
        public byte A;
        public byte B;
        public byte C;

        public static Key3 Of(int i) => new Key3 { A = (byte)i, B = (byte)(i >> 8), C = (byte)(i >> 16) };
    }

    /// <summary>A 16-byte key without padding: compared by its bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Key16
    {
        public long Hi;
        public long Lo;

        public static Key16 Of(int i) => new Key16 { Hi = i / 97, Lo = (i % 97) * 0x1_0000_0001L };
    }

#if NET8_0_OR_GREATER
    /// <summary>128 bytes: the largest key or value Go stores inline.</summary>
    [InlineArray(128)]
    public struct Bytes128
    {
        private byte _first;

        /// <summary>The bytes of <paramref name="b"/>.</summary>
        public static Span<byte> Span(ref Bytes128 b) => b;
    }

    /// <summary>129 bytes: one byte too many to be stored inline.</summary>
    [InlineArray(129)]
    public struct Bytes129
    {
        private byte _first;
    }

    /// <summary>The storage of <see cref="Blob200"/>: an inline array.</summary>
    [InlineArray(200)]
    public partial struct Blob200
    {
        private byte _first;

        /// <summary>The bytes of <paramref name="b"/>.</summary>
        public static Span<byte> Span(ref Blob200 b) => b;
    }
#else
    // netstandard2.1 (the Mono test run) has no [InlineArray]: fixed buffers of the same sizes,
    // which the key classifier also compares by their bytes.

    /// <summary>128 bytes: the largest key or value Go stores inline.</summary>
    public unsafe struct Bytes128
    {
        private fixed byte _bytes[128];

        /// <summary>The bytes of <paramref name="b"/>.</summary>
        public static Span<byte> Span(ref Bytes128 b) => MemoryMarshal.CreateSpan(ref Unsafe.As<Bytes128, byte>(ref b), 128);
    }

    /// <summary>129 bytes: one byte too many to be stored inline.</summary>
    public unsafe struct Bytes129
    {
        private fixed byte _bytes[129];
    }

    /// <summary>The storage of <see cref="Blob200"/>: a fixed buffer.</summary>
    public unsafe partial struct Blob200
    {
        private fixed byte _bytes[200];

        /// <summary>The bytes of <paramref name="b"/>.</summary>
        public static Span<byte> Span(ref Blob200 b) => MemoryMarshal.CreateSpan(ref Unsafe.As<Blob200, byte>(ref b), 200);
    }
#endif

    /// <summary>
    /// 200 bytes (stored indirectly, as key or value). Keys made by <see cref="Of"/> share long
    /// runs of bytes, so equality and hashing must look at all of them: ids that differ only in
    /// their low byte differ only in the last byte of the blob. Read through <see cref="Span"/>
    /// (a Span, not a ReadOnlySpan: Mono 6.8 cannot bind the latter's indexer).
    /// </summary>
    public partial struct Blob200
    {
        public static Blob200 Of(long id)
        {
            Blob200 b = default;
            Span<byte> s = Span(ref b);
            byte fill = (byte)((id >> 8) * 131);
            s.Fill(fill);
            BitConverter.TryWriteBytes(s.Slice(100, 8), id >> 8);
            s[199] = (byte)id;
            return b;
        }

        public readonly long Id
        {
            get
            {
                Blob200 copy = this;
                Span<byte> s = Span(ref copy);
                return (BitConverter.ToInt64(s.Slice(100, 8)) << 8) | s[199];
            }
        }
    }

    /// <summary>Byte-wise equality for the model dictionary and for value assertions.</summary>
    public sealed class Blob200Comparer : IEqualityComparer<Blob200>
    {
        public static readonly Blob200Comparer Instance = new();

        public bool Equals(Blob200 x, Blob200 y) => Blob200.Span(ref x).SequenceEqual(Blob200.Span(ref y));

        public int GetHashCode(Blob200 obj)
        {
            var h = new HashCode();
            h.AddBytes(Blob200.Span(ref obj));
            return h.ToHashCode();
        }
    }

    /// <summary>Every key hashes the same: one bucket chain holds everything.</summary>
    public sealed class ConstantHashComparer<T> : IEqualityComparer<T>
        where T : unmanaged, IEquatable<T>
    {
        public static readonly ConstantHashComparer<T> Instance = new();

        public bool Equals(T x, T y) => x.Equals(y);

        public int GetHashCode(T obj) => 42;
    }

    /// <summary>hash = key mod m: only m distinct hashes, so chains are long.</summary>
    public sealed class ModuloComparer : IEqualityComparer<int>
    {
        private readonly int _m;

        public ModuloComparer(int m) => _m = m;

        public bool Equals(int x, int y) => x == y;

        public int GetHashCode(int obj) => (int)((uint)obj % (uint)_m);
    }

    /// <summary>hash = key &gt;&gt; shift: runs of 2^shift consecutive keys collide.</summary>
    public sealed class GroupComparer : IEqualityComparer<int>
    {
        private readonly int _shift;

        public GroupComparer(int shift) => _shift = shift;

        public bool Equals(int x, int y) => x == y;

        public int GetHashCode(int obj) => obj >> _shift;
    }

    /// <summary>Long keys with a handful of distinct hashes.</summary>
    public sealed class LongModuloComparer : IEqualityComparer<long>
    {
        private readonly long _m;

        public LongModuloComparer(long m) => _m = m;

        public bool Equals(long x, long y) => x == y;

        public int GetHashCode(long obj) => (int)((ulong)obj % (ulong)_m);
    }

    /// <summary>
    /// Key counts for the batches (TryGetValues, SetValues, RemoveKeys): none, one, and each
    /// side of their boundaries (TryGetValues' stages 16 and 32 keys ahead in a ring of 64, the
    /// 16-key blocks of the batched writes, of the pair constructor and of lookups without
    /// prefetch instructions, and the 256-key runs of writes to a table the caches hold), then many.
    /// </summary>
    public static class BatchSizes
    {
        public static TheoryData<int> AroundTheBlocks => new() { 0, 1, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 255, 256, 257, 1000 };

        /// <summary><see cref="AroundTheBlocks"/> for a batched write, each into a table beyond the caches (prefetched blocks, true) and into one they hold (runs, false).</summary>
        public static TheoryData<int, bool> AroundTheBlocksAndRuns
        {
            get
            {
                var data = new TheoryData<int, bool>();
                foreach (int n in AroundTheBlocks)
                {
                    data.Add(n, true);
                    data.Add(n, false);
                }

                return data;
            }
        }
    }

    /// <summary>The batched-write suites' twins: a map for the batch and one for the loop of single writes it must equal.</summary>
    public static class BatchTwins
    {
        /// <summary>Two maps with the same seed, options and comparer, both holding keys 0..<paramref name="present"/>-1 with value key × <paramref name="valueFactor"/>.</summary>
        public static (GoMap<long, long> Batched, GoMap<long, long> Looped) Make(GoMapOptions options, int present, long valueFactor, IEqualityComparer<long>? comparer = null)
        {
            var a = new GoMap<long, long>(options, comparer);
            var b = new GoMap<long, long>(options, comparer);
            for (long k = 0; k < present; k++)
            {
                a[k] = k * valueFactor;
                b[k] = k * valueFactor;
            }

            return (a, b);
        }
    }

    /// <summary>
    /// Default equality and hashing for long, but hashing one chosen key throws while armed: a
    /// write of that key fails before it touches the map (the batched writes' failure tests).
    /// </summary>
    public sealed class ThrowOnHashComparer : IEqualityComparer<long>
    {
        private readonly long _bad;

        public ThrowOnHashComparer(long bad) => _bad = bad;

        public bool Armed { get; set; } = true;

        public bool Equals(long x, long y) => x == y;

        public int GetHashCode(long obj) => Armed && obj == _bad ? throw new InvalidOperationException("hash of the bad key") : obj.GetHashCode();
    }

    /// <summary>Go's growth rule, restated independently of the library.</summary>
    public static class GoGrowth
    {
        /// <summary>Capacity hint and the B Go's makemap picks for it (read off Go 1.19).</summary>
        public static TheoryData<long, int> HintToB => new()
        {
            { 0L, 0 }, { 1L, 0 }, { 8L, 0 }, { 9L, 1 }, { 13L, 1 }, { 14L, 2 }, { 26L, 2 }, { 27L, 3 }, { 1000L, 8 }, { 10_000_000L, 21 },
        };

        /// <summary>Go's overLoadFactor: more than 8 entries and more than 6.5 per bucket.</summary>
        public static bool OverLoad(long count, int b) => count > 8 && count > 13 * (1L << b) / 2;

        /// <summary>B after <paramref name="n"/> distinct inserts into a map made without a hint.</summary>
        public static int BAfterInserts(long n)
        {
            int b = 0;
            for (long k = 1; k <= n; k++)
            {
                if (OverLoad(k, b))
                {
                    b++;
                }
            }

            return b;
        }

        /// <summary>The smallest B whose 2^B buckets hold <paramref name="hint"/> entries (Go's makemap).</summary>
        public static int BForHint(long hint)
        {
            int b = 0;
            while (OverLoad(hint, b))
            {
                b++;
            }

            return b;
        }

        /// <summary>A capacity hint that yields exactly this B.</summary>
        public static long HintFor(int b) => b == 0 ? 0 : 13L << (b - 1);
    }

    /// <summary>Workloads that drive a map into a given internal state.</summary>
    public static class Workloads
    {
        /// <summary>
        /// Go's delete-heavy pattern: keep <paramref name="live"/> random keys (below the load
        /// factor, so B never changes), removing the oldest and inserting a new one each step.
        /// With the map set to leave emptied overflow buckets linked, as Go's mapdelete does (the
        /// map's own way unlinks a chain's empty tail: KeepEmptyOverflowLikeGoForTest), chains that
        /// overflowed once keep their overflow bucket after their entries leave, so overflow
        /// buckets pile up until there are 2^B of them and a same-size growth compacts them.
        /// Stops right after the write that starts it. Returns the steps taken, or -1.
        /// (Random keys: consecutive integers spread too evenly over the buckets to overflow.)
        /// </summary>
        public static int ChurnUntilSameSizeGrowth(GoMap<int, int> map, Dictionary<int, int> model, Queue<int> order, Random rng, int live, int maxSteps)
        {
            map.KeepEmptyOverflowLikeGoForTest();
            void InsertFresh()
            {
                int k;
                do
                {
                    k = rng.Next();
                }
                while (model.ContainsKey(k));

                map[k] = ~k;
                model[k] = ~k;
                order.Enqueue(k);
            }

            while (model.Count < live)
            {
                InsertFresh();
            }

            for (int step = 1; step <= maxSteps; step++)
            {
                int oldest = order.Dequeue();
                Assert.True(map.Remove(oldest));
                model.Remove(oldest);
                InsertFresh();
                if (map.GetStats().IsSameSizeGrow)
                {
                    return step;
                }
            }

            return -1;
        }
    }

    /// <summary>
    /// White-box reads of a map's internals (the bucket arrays, the seed) through its internal
    /// test hooks, for invariants that no public member shows: where a key sits in its bucket,
    /// the emptyRest marks, which old buckets are evacuated, whether the seed changed. Read-only.
    /// </summary>
    public static unsafe class MapInternals<TKey, TValue>
        where TKey : unmanaged
        where TValue : unmanaged
    {
        private static int BucketSize => GoMap<TKey, TValue>.Layout.BucketSize;

        public static int OldB(GoMap<TKey, TValue> map) => map.OldBForTest;

        public static byte* Bucket(byte* array, ulong index) => array + (index * (ulong)BucketSize);

        public static byte* Overflow(byte* bucket) => *(byte**)(bucket + GoMap<TKey, TValue>.Layout.OverflowOffset);

        public static ref TKey Key(byte* bucket, int slot)
        {
            GoMapLayout l = GoMap<TKey, TValue>.Layout;
            byte* p = bucket + l.KeysOffset + (slot * l.KeySlotSize);
            return ref l.IndirectKey ? ref *(TKey*)*(byte**)p : ref *(TKey*)p;
        }

        /// <summary>The chain starting at bucket <paramref name="index"/> of the current array, bucket by bucket.</summary>
        public static List<IntPtr> Chain(GoMap<TKey, TValue> map, ulong index)
        {
            var chain = new List<IntPtr>();
            for (byte* c = Bucket(map.BucketArray, index); c != null; c = Overflow(c))
            {
                chain.Add((IntPtr)c);
            }

            return chain;
        }

        /// <summary>Number of old buckets already evacuated; -1 when no growth is in progress.</summary>
        public static long EvacuatedOldBuckets(GoMap<TKey, TValue> map)
        {
            byte* old = map.OldBucketArray;
            if (old == null)
            {
                return -1;
            }

            ulong n = 1UL << OldB(map);
            long evacuated = 0;
            for (ulong j = 0; j < n; j++)
            {
                evacuated += Evacuated(Bucket(old, j)) ? 1 : 0;
            }

            return evacuated;
        }

        /// <summary>Whether an old bucket is evacuated: its first tophash byte is evacuatedX, evacuatedY or evacuatedEmpty (2, 3 or 4).</summary>
        public static bool Evacuated(byte* bucket) => *bucket is > 1 and < MapMath.MinTopHash;

        /// <summary>The live slots of one bucket (tophash byte at least minTopHash).</summary>
        public static int LiveSlots(byte* bucket)
        {
            int live = 0;
            for (int s = 0; s < MapMath.BucketCnt; s++)
            {
                live += bucket[s] >= MapMath.MinTopHash ? 1 : 0;
            }

            return live;
        }

        /// <summary>
        /// Go's delete invariant, stronger than "nothing live after emptyRest": in every chain,
        /// every slot after the last live one is emptyRest (0), and no emptyRest comes before a
        /// live slot. Holds for the current array and for old chains not yet evacuated.
        /// </summary>
        public static void AssertEmptyRestTails(GoMap<TKey, TValue> map)
        {
            byte* buckets = map.BucketArray;
            if (buckets == null)
            {
                return;
            }

            int b = map.GetStats().B;
            for (ulong j = 0; j < (1UL << b); j++)
            {
                AssertChainTail(Bucket(buckets, j), j, "current");
            }

            byte* old = map.OldBucketArray;
            if (old != null)
            {
                for (ulong j = 0; j < (1UL << OldB(map)); j++)
                {
                    byte* first = Bucket(old, j);
                    if (*first is <= 1 or >= 5)
                    {
                        AssertChainTail(first, j, "old");
                    }
                }
            }
        }

        /// <summary>The tophash bytes of a whole chain, in chain order.</summary>
        public static List<byte> ChainTopHashes(byte* first)
        {
            var tops = new List<byte>();
            for (byte* c = first; c != null; c = Overflow(c))
            {
                for (int i = 0; i < 8; i++)
                {
                    tops.Add(c[i]);
                }
            }

            return tops;
        }

        private static void AssertChainTail(byte* first, ulong index, string which)
        {
            List<byte> tops = ChainTopHashes(first);
            int lastLive = tops.FindLastIndex(t => t >= 5);
            for (int s = 0; s < tops.Count; s++)
            {
                if (s > lastLive && tops[s] != 0)
                {
                    Assert.Fail($"{which} chain {index}: slot {s} after the last live slot {lastLive} is {tops[s]}, not emptyRest (tophashes {string.Join(",", tops)})");
                }

                if (s < lastLive && tops[s] == 0)
                {
                    Assert.Fail($"{which} chain {index}: emptyRest at slot {s} before live slot {lastLive} (tophashes {string.Join(",", tops)})");
                }
            }
        }

    }

    /// <summary>Process-wide native memory, read only from tests of <see cref="NativeMemoryCollection"/>.</summary>
    public static class LiveBytes
    {
        /// <summary>Runs finalizers of maps abandoned by earlier tests, then reads the counter.</summary>
        public static long Settled()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            return GoMapDiagnostics.LiveNativeBytes;
        }
    }

    /// <summary>Assertions comparing a map with a model dictionary.</summary>
    public static class MapAssert
    {
        /// <summary>
        /// One operation of a randomized differential test, chosen by the draw <paramref name="r"/>:
        /// below <paramref name="setBelow"/> the indexer's set of <paramref name="key"/> to
        /// <paramref name="value"/>, below <paramref name="removeBelow"/> a Remove, below
        /// <paramref name="lookupBelow"/> a TryGetValue, each on the map and the model with the
        /// results compared. False for a draw from <paramref name="lookupBelow"/> up: the caller's
        /// own operations.
        /// </summary>
        public static bool SetRemoveOrLookUp(GoMap<long, long> map, Dictionary<long, long> model, long key, long value, int r, int setBelow, int removeBelow, int lookupBelow)
        {
            if (r < setBelow)
            {
                map[key] = value;
                model[key] = value;
            }
            else if (r < removeBelow)
            {
                Assert.Equal(model.Remove(key), map.Remove(key));
            }
            else if (r < lookupBelow)
            {
                Assert.Equal(model.TryGetValue(key, out long v), map.TryGetValue(key, out long got));
                Assert.Equal(v, got);
            }
            else
            {
                return false;
            }

            return true;
        }

        /// <summary>Same count, every model entry present with its value (by lookup, not by enumeration).</summary>
        public static void SameEntries<TKey, TValue>(GoMap<TKey, TValue> map, IReadOnlyDictionary<TKey, TValue> model, IEqualityComparer<TValue>? values = null)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            values ??= EqualityComparer<TValue>.Default;
            Assert.Equal(model.Count, map.LongCount);
            foreach (KeyValuePair<TKey, TValue> kv in model)
            {
                if (!map.TryGetValue(kv.Key, out TValue v))
                {
                    Assert.Fail($"key {kv.Key} of the model is missing from the map");
                }

                if (!values.Equals(kv.Value, v))
                {
                    Assert.Fail($"key {kv.Key}: map has {v}, model has {kv.Value}");
                }
            }
        }

        /// <summary>Enumerating the map yields exactly the model's entries, each once.</summary>
        public static void EnumeratesAs<TKey, TValue>(GoMap<TKey, TValue> map, IReadOnlyDictionary<TKey, TValue> model, IEqualityComparer<TKey>? keys, IEqualityComparer<TValue>? values = null)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            values ??= EqualityComparer<TValue>.Default;
            var seen = new Dictionary<TKey, TValue>(keys);
            foreach (KeyValuePair<TKey, TValue> kv in map)
            {
                Assert.True(seen.TryAdd(kv.Key, kv.Value), $"key {kv.Key} enumerated twice");
            }

            Assert.Equal(model.Count, seen.Count);
            foreach (KeyValuePair<TKey, TValue> kv in model)
            {
                Assert.True(seen.TryGetValue(kv.Key, out TValue v) && values.Equals(v, kv.Value), $"key {kv.Key} not enumerated with its value");
            }
        }
    }

    /// <summary>Runs an action on a dedicated thread and hands back what it threw.</summary>
    public sealed class OffThread
    {
        private readonly Thread _thread;
        private Exception? _error;

        private OffThread(Action action)
        {
            _thread = new Thread(() =>
            {
                try
                {
                    action();
                }
                catch (Exception e)
                {
                    _error = e;
                }
            })
            { IsBackground = true };
            _thread.Start();
        }

        public bool IsAlive => _thread.IsAlive;

        public static OffThread Start(Action action) => new(action);

        /// <summary>Waits for the thread; returns what it threw (null when it returned normally).</summary>
        public Exception? Join()
        {
            _thread.Join();
            return _error;
        }
    }
}
