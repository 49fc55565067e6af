using System.Collections.Generic;
using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace NativeGoMap.Benchmarks
{
    /// <summary>
    /// The operations the workloads use, so that one loop body serves both maps. Implemented by
    /// structs: every workload is instantiated per map type, the JIT specializes it and inlines
    /// the forwarding, and the two maps run the same loop shape with direct calls.
    /// </summary>
    internal interface IMap<TKey, TValue, TSelf>
        where TSelf : struct, IMap<TKey, TValue, TSelf>
    {
        /// <summary>Name in tables: "GoMap" or "Dictionary".</summary>
        static abstract string Name { get; }

        /// <summary>A new map; <paramref name="capacityHint"/> 0 = no hint (grows from empty).</summary>
        static abstract TSelf Create(int capacityHint);

        long Count { get; }

        bool TryGetValue(TKey key, out TValue value);

        /// <summary>Insert or update: <c>m[key] = value</c>.</summary>
        void Set(TKey key, TValue value);

        ref TValue GetValueRefOrNullRef(TKey key);

        bool Remove(TKey key);

        void Clear();

        /// <summary>Sum of all values by enumerating the map (<c>foreach</c>).</summary>
        TValue SumValues();

        /// <summary>Frees the map (GoMap's native memory; nothing for Dictionary).</summary>
        void Free();
    }

    internal readonly struct GoMapAdapter<TKey, TValue> : IMap<TKey, TValue, GoMapAdapter<TKey, TValue>>
        where TKey : unmanaged
        where TValue : unmanaged, INumber<TValue>
    {
        private readonly GoMap<TKey, TValue> _map;

        internal GoMapAdapter(GoMap<TKey, TValue> map) => _map = map;

        public static string Name => "GoMap";

        public long Count => _map.LongCount;

        internal GoMap<TKey, TValue> Map => _map;

        public static GoMapAdapter<TKey, TValue> Create(int capacityHint) =>
            new(capacityHint == 0 ? new GoMap<TKey, TValue>() : new GoMap<TKey, TValue>(capacityHint));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryGetValue(TKey key, out TValue value) => _map.TryGetValue(key, out value);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Set(TKey key, TValue value) => _map[key] = value;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public ref TValue GetValueRefOrNullRef(TKey key) => ref _map.GetValueRefOrNullRef(key);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Remove(TKey key) => _map.Remove(key);

        public void Clear() => _map.Clear();

        public TValue SumValues()
        {
            TValue s = TValue.Zero;
            foreach (KeyValuePair<TKey, TValue> kv in _map)
            {
                s += kv.Value;
            }

            return s;
        }

        public void Free() => _map.Dispose();
    }

    internal readonly struct DictionaryAdapter<TKey, TValue> : IMap<TKey, TValue, DictionaryAdapter<TKey, TValue>>
        where TKey : unmanaged
        where TValue : unmanaged, INumber<TValue>
    {
        private readonly Dictionary<TKey, TValue> _map;

        internal DictionaryAdapter(Dictionary<TKey, TValue> map) => _map = map;

        public static string Name => "Dictionary";

        public long Count => _map.Count;

        internal Dictionary<TKey, TValue> Map => _map;

        public static DictionaryAdapter<TKey, TValue> Create(int capacityHint) =>
            new(capacityHint == 0 ? new Dictionary<TKey, TValue>() : new Dictionary<TKey, TValue>(capacityHint));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryGetValue(TKey key, out TValue value) => _map.TryGetValue(key, out value!);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Set(TKey key, TValue value) => _map[key] = value;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public ref TValue GetValueRefOrNullRef(TKey key) => ref CollectionsMarshal.GetValueRefOrNullRef(_map, key);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Remove(TKey key) => _map.Remove(key);

        public void Clear() => _map.Clear();

        public TValue SumValues()
        {
            TValue s = TValue.Zero;
            foreach (KeyValuePair<TKey, TValue> kv in _map)
            {
                s += kv.Value;
            }

            return s;
        }

        public void Free()
        {
        }
    }

    /// <summary>
    /// The operations of the quick workload (benchmarks/go/README.md), written once. The quick
    /// comparison and the BenchmarkDotNet suite both call these, with the same key arrays.
    /// </summary>
    internal static class Workload<TKey, TValue, TMap>
        where TKey : unmanaged
        where TValue : unmanaged, INumber<TValue>
        where TMap : struct, IMap<TKey, TValue, TMap>
    {
        /// <summary>n inserts into a new map: with the capacity given (<paramref name="hint"/> = n) or none (0).</summary>
        internal static TMap Build(TKey[] keys, TValue[] values, int hint)
        {
            TMap m = TMap.Create(hint);
            for (int i = 0; i < keys.Length; i++)
            {
                m.Set(keys[i], values[i]);
            }

            return m;
        }

        /// <summary><c>s += m[k]</c> for every key (Go's zero value for a missing key).</summary>
        internal static TValue Lookup(TMap m, TKey[] keys)
        {
            TValue s = TValue.Zero;
            for (int i = 0; i < keys.Length; i++)
            {
                m.TryGetValue(keys[i], out TValue v);
                s += v;
            }

            return s;
        }

        /// <summary><c>m[k] = v + 1</c> for keys already present: insert-or-update, hashWriting taken.</summary>
        internal static void Update(TMap m, TKey[] keys, TValue[] values)
        {
            for (int i = 0; i < keys.Length; i++)
            {
                m.Set(keys[i], values[i] + TValue.One);
            }
        }

        /// <summary>The same update through a lookup ref: GoMap's read path, no compare-and-swap.</summary>
        internal static void UpdateViaRef(TMap m, TKey[] keys, TValue[] values)
        {
            for (int i = 0; i < keys.Length; i++)
            {
                ref TValue v = ref m.GetValueRefOrNullRef(keys[i]);
                if (!Unsafe.IsNullRef(ref v))
                {
                    v = values[i] + TValue.One;
                }
            }
        }

        /// <summary>n ops: 90% <c>s += m[present[idx]]</c>, 10% <c>m[present[idx]] = v + 1</c>.</summary>
        internal static TValue Mix(TMap m, TKey[] keys, TValue[] values, uint[] ops)
        {
            TValue s = TValue.Zero;
            for (int i = 0; i < ops.Length; i++)
            {
                uint op = ops[i];
                int idx = (int)(op & ~KeySets.WriteBit);
                if ((op & KeySets.WriteBit) != 0)
                {
                    m.Set(keys[idx], values[idx] + TValue.One);
                }
                else
                {
                    m.TryGetValue(keys[idx], out TValue v);
                    s += v;
                }
            }

            return s;
        }

        /// <summary><c>Clear()</c> then n inserts into the same (hinted) map.</summary>
        internal static void ClearRefill(TMap m, TKey[] keys, TValue[] values)
        {
            m.Clear();
            for (int i = 0; i < keys.Length; i++)
            {
                m.Set(keys[i], values[i]);
            }
        }

        /// <summary>Removes every key.</summary>
        internal static void RemoveAll(TMap m, TKey[] keys)
        {
            for (int i = 0; i < keys.Length; i++)
            {
                m.Remove(keys[i]);
            }
        }

        /// <summary>Every operation once, untimed, on maps built from <paramref name="keys"/> (JIT warm-up).</summary>
        internal static void RunAllOnce(KeySet<TKey, TValue> keys)
        {
            Build(keys.Present, keys.Values, 0).Free();
            TMap m = Build(keys.Present, keys.Values, keys.Count);
            Sink.Keep(Lookup(m, keys.Present));
            Sink.Keep(Lookup(m, keys.Missing));
            Update(m, keys.Present, keys.Values);
            UpdateViaRef(m, keys.Present, keys.Values);
            Sink.Keep(m.SumValues());
            Sink.Keep(Mix(m, keys.Present, keys.Values, keys.MixOps));
            ClearRefill(m, keys.Present, keys.Values);
            RemoveAll(m, keys.Present);
            m.Free();
        }
    }

    /// <summary>
    /// Brings the workload loops to tier-1 code before anything is timed. A loop over 1M keys is
    /// called only a few times per measurement, so without this it runs as on-stack-replacement
    /// code, which for some inlined callees is several times slower than tier-1 (seen: Dictionary
    /// lookups with Guid keys at 1M, 250-330 ns/op as OSR code against 60-75 ns/op at tier 1).
    /// </summary>
    internal static class JitWarmUp
    {
        /// <summary>
        /// Runs every workload of both maps on 1,000 keys for about half a second, waits for the
        /// background JIT, then repeats shortly (call counting starts only once no new code has
        /// been jitted for 100 ms). About 1 s in all.
        /// </summary>
        internal static void Run<TKey, TValue>()
            where TKey : unmanaged
            where TValue : unmanaged, INumber<TValue>
        {
            KeySet<TKey, TValue> keys = KeySets.Create<TKey, TValue>(1_000);
            foreach (int ms in new[] { 500, 150 })
            {
                var sw = Stopwatch.StartNew();
                while (sw.ElapsedMilliseconds < ms)
                {
                    Workload<TKey, TValue, GoMapAdapter<TKey, TValue>>.RunAllOnce(keys);
                    Workload<TKey, TValue, DictionaryAdapter<TKey, TValue>>.RunAllOnce(keys);
                }

                Thread.Sleep(200);
            }
        }
    }

    /// <summary>Keeps a result observable so that the JIT cannot drop the work that produced it.</summary>
    internal static class Sink
    {
        private static long s_value;

        internal static long Value => s_value;

        internal static void Keep<T>(T value)
            where T : INumber<T> => s_value += long.CreateTruncating(value);
    }
}
