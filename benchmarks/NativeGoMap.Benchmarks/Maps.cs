using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Runtime;
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

        /// <summary>What the map has done on its slow paths so far, to name the cause of a slow write.</summary>
        MapWork Work { get; }

        bool TryGetValue(TKey key, out TValue value);

        /// <summary>GoMap's batched lookup; for Dictionary, one TryGetValue per key.</summary>
        int TryGetValues(ReadOnlySpan<TKey> keys, Span<TValue> values, Span<bool> found);

        /// <summary>Insert or update: <c>m[key] = value</c>.</summary>
        void Set(TKey key, TValue value);

        /// <summary>GoMap's batched set; for Dictionary, one indexer set per key. Returns the number of keys added.</summary>
        int SetValues(ReadOnlySpan<TKey> keys, ReadOnlySpan<TValue> values);

        ref TValue GetValueRefOrNullRef(TKey key);

        bool Remove(TKey key);

        /// <summary>GoMap's batched remove; for Dictionary, one Remove per key. Returns the number of keys removed.</summary>
        int RemoveKeys(ReadOnlySpan<TKey> keys);

        void Clear();

        /// <summary>Sum of <see cref="ValueOps{T}.Checksum"/> over all values by enumerating the map (<c>foreach</c>).</summary>
        long SumValues();

        /// <summary>
        /// A <c>foreach</c> that sets each entry it is given through the indexer (to the value it
        /// has, so the map stays as it was): Go's <c>for k, v := range m { m[k] = v }</c>, which
        /// Dictionary allows since .NET Core 3.0. Returns the checksum of the values seen.
        /// </summary>
        long SetEachWhileEnumerating();

        /// <summary>
        /// A <c>foreach</c> that removes every fourth entry it is given (the first, the fifth, …: a
        /// quarter, whatever the key type), keeping its key and value in the buffers, then adds
        /// them back (so the map holds the same entries again). Returns the number removed. Until
        /// 2026-12-05 it chose the entries whose key's default hash code is a multiple of 4,
        /// which threw for the name rows' key (an inline array has no default hash code), so
        /// the main command stopped at their warm-up.
        /// </summary>
        int RemoveQuarterWhileEnumerating(TKey[] keys, TValue[] values);

        /// <summary>Frees the map (GoMap's native memory; nothing for Dictionary).</summary>
        void Free();
    }

    internal readonly struct GoMapAdapter<TKey, TValue> : IMap<TKey, TValue, GoMapAdapter<TKey, TValue>>
        where TKey : unmanaged
        where TValue : unmanaged
    {
        private readonly GoMap<TKey, TValue> _map;

        internal GoMapAdapter(GoMap<TKey, TValue> map) => _map = map;

        public static string Name => "GoMap";

        public long Count => _map.LongCount;

        public MapWork Work => new(_map.Work, _map.GetStats().BucketCount * 8, JitInfo.GetCompiledMethodCount());

        internal GoMap<TKey, TValue> Map => _map;

        /// <summary>
        /// Whether maps made by <see cref="Create(int)"/> take <see cref="GoMapOptions.SmallPagesForGrowth"/>:
        /// set only in the child process of the quick comparison's small-pages stall row.
        /// </summary>
        internal static bool SmallPagesForGrowth { get; set; }

        /// <summary>
        /// Whether maps made by <see cref="Create(int)"/> take <see cref="GoMapOptions.PrepareGrowthAhead"/>:
        /// set only in the child process of the quick comparison's prepared-ahead stall row.
        /// </summary>
        internal static bool PrepareGrowthAhead { get; set; }

        public static GoMapAdapter<TKey, TValue> Create(int capacityHint) =>
            new(capacityHint == 0 && !SmallPagesForGrowth && !PrepareGrowthAhead
                ? new GoMap<TKey, TValue>()
                : new GoMap<TKey, TValue>(new GoMapOptions { CapacityHint = capacityHint, SmallPagesForGrowth = SmallPagesForGrowth, PrepareGrowthAhead = PrepareGrowthAhead }));

        /// <summary>A new map with the given concurrency checks (<see cref="Create(int)"/> takes the default, Go).</summary>
        internal static GoMapAdapter<TKey, TValue> Create(int capacityHint, ConcurrencyChecks checks) =>
            new(new GoMap<TKey, TValue>(new GoMapOptions { CapacityHint = capacityHint, ConcurrencyChecks = checks }));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryGetValue(TKey key, out TValue value) => _map.TryGetValue(key, out value);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int TryGetValues(ReadOnlySpan<TKey> keys, Span<TValue> values, Span<bool> found) => _map.TryGetValues(keys, values, found);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Set(TKey key, TValue value) => _map[key] = value;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int SetValues(ReadOnlySpan<TKey> keys, ReadOnlySpan<TValue> values) => _map.SetValues(keys, values);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public ref TValue GetValueRefOrNullRef(TKey key) => ref _map.GetValueRefOrNullRef(key);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Remove(TKey key) => _map.Remove(key);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int RemoveKeys(ReadOnlySpan<TKey> keys) => _map.RemoveKeys(keys);

        public void Clear() => _map.Clear();

        public long SumValues()
        {
            long s = 0;
            foreach (KeyValuePair<TKey, TValue> kv in _map)
            {
                s += ValueOps<TValue>.Checksum(kv.Value);
            }

            return s;
        }

        public long SetEachWhileEnumerating()
        {
            long s = 0;
            foreach (KeyValuePair<TKey, TValue> kv in _map)
            {
                s += ValueOps<TValue>.Checksum(kv.Value);
                _map[kv.Key] = kv.Value;
            }

            return s;
        }

        public int RemoveQuarterWhileEnumerating(TKey[] keys, TValue[] values)
        {
            int n = 0;
            int walked = 0;
            foreach (KeyValuePair<TKey, TValue> kv in _map)
            {
                if ((walked++ & 3) == 0)
                {
                    _map.Remove(kv.Key);
                    keys[n] = kv.Key;
                    values[n] = kv.Value;
                    n++;
                }
            }

            for (int i = 0; i < n; i++)
            {
                _map[keys[i]] = values[i];
            }

            return n;
        }

        public void Free() => _map.Dispose();
    }

    internal readonly struct DictionaryAdapter<TKey, TValue> : IMap<TKey, TValue, DictionaryAdapter<TKey, TValue>>
        where TKey : notnull
    {
        private readonly Dictionary<TKey, TValue> _map;

        internal DictionaryAdapter(Dictionary<TKey, TValue> map) => _map = map;

        public static string Name => "Dictionary";

        public long Count => _map.Count;

        /// <summary>No work counters; the capacity shows a resize.</summary>
        public MapWork Work => new(default, _map.EnsureCapacity(0), JitInfo.GetCompiledMethodCount());

        internal Dictionary<TKey, TValue> Map => _map;

        public static DictionaryAdapter<TKey, TValue> Create(int capacityHint) =>
            new(capacityHint == 0 ? new Dictionary<TKey, TValue>() : new Dictionary<TKey, TValue>(capacityHint));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryGetValue(TKey key, out TValue value) => _map.TryGetValue(key, out value!);

        /// <summary>What a Dictionary user writes for many keys: one TryGetValue each.</summary>
        public int TryGetValues(ReadOnlySpan<TKey> keys, Span<TValue> values, Span<bool> found)
        {
            int hits = 0;
            for (int i = 0; i < keys.Length; i++)
            {
                bool f = _map.TryGetValue(keys[i], out values[i]!);
                found[i] = f;
                hits += f ? 1 : 0;
            }

            return hits;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Set(TKey key, TValue value) => _map[key] = value;

        /// <summary>What a Dictionary user writes for many keys: one indexer set each.</summary>
        public int SetValues(ReadOnlySpan<TKey> keys, ReadOnlySpan<TValue> values)
        {
            int before = _map.Count;
            for (int i = 0; i < keys.Length; i++)
            {
                _map[keys[i]] = values[i];
            }

            return _map.Count - before;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public ref TValue GetValueRefOrNullRef(TKey key) => ref CollectionsMarshal.GetValueRefOrNullRef(_map, key);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Remove(TKey key) => _map.Remove(key);

        public int RemoveKeys(ReadOnlySpan<TKey> keys)
        {
            int removed = 0;
            for (int i = 0; i < keys.Length; i++)
            {
                removed += _map.Remove(keys[i]) ? 1 : 0;
            }

            return removed;
        }

        public void Clear() => _map.Clear();

        public long SumValues()
        {
            long s = 0;
            foreach (KeyValuePair<TKey, TValue> kv in _map)
            {
                s += ValueOps<TValue>.Checksum(kv.Value);
            }

            return s;
        }

        public long SetEachWhileEnumerating()
        {
            long s = 0;
            foreach (KeyValuePair<TKey, TValue> kv in _map)
            {
                s += ValueOps<TValue>.Checksum(kv.Value);
                _map[kv.Key] = kv.Value;
            }

            return s;
        }

        public int RemoveQuarterWhileEnumerating(TKey[] keys, TValue[] values)
        {
            int n = 0;
            int walked = 0;
            foreach (KeyValuePair<TKey, TValue> kv in _map)
            {
                if ((walked++ & 3) == 0)
                {
                    _map.Remove(kv.Key);
                    keys[n] = kv.Key;
                    values[n] = kv.Value;
                    n++;
                }
            }

            for (int i = 0; i < n; i++)
            {
                _map[keys[i]] = values[i];
            }

            return n;
        }

        public void Free()
        {
        }
    }

    /// <summary>
    /// A map's slow-path work counters and capacity (slots) at one moment, with the methods the
    /// runtime had compiled by then (JitInfo, any thread; 0 where not read). GoMap has both;
    /// Dictionary only a capacity, whose change marks a resize.
    /// </summary>
    internal readonly record struct MapWork(WorkCounters Counters, long Capacity, long Compiled = 0)
    {
        /// <summary>The work done between two snapshots, in words: "growth end, 2 evacuations, 1 release step (2,048 KiB)".</summary>
        internal static string Describe(in MapWork before, in MapWork after)
        {
            WorkCounters a = before.Counters, b = after.Counters;
            var parts = new List<string>();
            if (after.Capacity != before.Capacity)
            {
                parts.Add(Inv($"capacity {before.Capacity:N0} -> {after.Capacity:N0} slots"));
            }

            Count(parts, b.GrowthStarts - a.GrowthStarts, "growth start");
            Count(parts, b.Evacuations - a.Evacuations, "evacuation");
            Count(parts, b.GrowthEnds - a.GrowthEnds, "growth end");
            long steps = b.ReleaseSteps - a.ReleaseSteps;
            if (steps > 0)
            {
                parts.Add(Inv($"{steps} release step{(steps == 1 ? "" : "s")} ({(b.ReleasedBytes - a.ReleasedBytes) / 1024:N0} KiB)"));
            }

            Count(parts, b.BucketAllocations - a.BucketAllocations, "bucket allocation");
            long compiled = after.Compiled - before.Compiled;
            string jit = compiled > 0 ? Inv($"JIT ({compiled} method{(compiled == 1 ? "" : "s")} compiled)") : "";
            return parts.Count == 0
                ? (jit.Length > 0 ? $"no map work counted, {jit}" : "no map work counted (page fault, preemption or timer)")
                : string.Join(", ", parts) + (jit.Length > 0 ? ", " + jit : "");

            static void Count(List<string> parts, long n, string what)
            {
                if (n > 0)
                {
                    parts.Add(n == 1 ? what : Inv($"{n} {what}s"));
                }
            }

            static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
        }
    }

    /// <summary>
    /// What the workloads do with a value of each value type, so that one loop serves numbers and
    /// structs. Branches on <c>typeof(T)</c> are folded per instantiation by the JIT.
    /// </summary>
    /// <typeparam name="T">int, long or <see cref="Entity64"/>.</typeparam>
    internal static class ValueOps<T>
    {
        /// <summary>What a lookup adds to its checksum: the number, or an entity's Health.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static long Checksum(in T v)
        {
            if (typeof(T) == typeof(int))
            {
                return Unsafe.As<T, int>(ref Unsafe.AsRef(in v));
            }

            if (typeof(T) == typeof(long))
            {
                return Unsafe.As<T, long>(ref Unsafe.AsRef(in v));
            }

            if (typeof(T) == typeof(Entity64))
            {
                return Unsafe.As<T, Entity64>(ref Unsafe.AsRef(in v)).Health;
            }

            throw new NotSupportedException(typeof(T).Name);
        }

        /// <summary><paramref name="v"/> with its counter bumped: v + 1, or an entity with Health + 1 (a whole value, for <c>m[k] = ...</c>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static T Next(in T v)
        {
            T next = v;
            Bump(ref next);
            return next;
        }

        /// <summary>
        /// What an update through a ref writes: <c>slot = source + 1</c> for numbers; for an
        /// entity, <c>slot.Health = source.Health + 1</c> (one field, as a user writes through a ref).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static void Update(ref T slot, in T source)
        {
            if (typeof(T) == typeof(Entity64))
            {
                Unsafe.As<T, Entity64>(ref slot).Health = Unsafe.As<T, Entity64>(ref Unsafe.AsRef(in source)).Health + 1;
                return;
            }

            slot = Next(source);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Bump(ref T v)
        {
            if (typeof(T) == typeof(int))
            {
                Unsafe.As<T, int>(ref v)++;
            }
            else if (typeof(T) == typeof(long))
            {
                Unsafe.As<T, long>(ref v)++;
            }
            else if (typeof(T) == typeof(Entity64))
            {
                Unsafe.As<T, Entity64>(ref v).Health++;
            }
            else
            {
                throw new NotSupportedException(typeof(T).Name);
            }
        }
    }

    /// <summary>
    /// The operations of the quick workload (benchmarks/go/README.md), written once. The quick
    /// comparison and the BenchmarkDotNet suite both call these, with the same key arrays.
    /// </summary>
    internal static class Workload<TKey, TValue, TMap>
        where TMap : struct, IMap<TKey, TValue, TMap>
    {
        /// <summary>Keys per <see cref="IMap{TKey, TValue, TSelf}.TryGetValues"/> call in <see cref="LookupBatch"/>.</summary>
        internal const int BatchSize = 1024;

        /// <summary>n inserts into a new map: with the capacity given (<paramref name="hint"/> = n) or none (0).</summary>
        internal static TMap Build(TKey[] keys, TValue[] values, int hint) => Fill(TMap.Create(hint), keys, values);

        /// <summary>Inserts every key into <paramref name="m"/>; returns it.</summary>
        internal static TMap Fill(TMap m, TKey[] keys, TValue[] values)
        {
            for (int i = 0; i < keys.Length; i++)
            {
                m.Set(keys[i], values[i]);
            }

            return m;
        }

        /// <summary>
        /// <see cref="Build"/> through <see cref="IMap{TKey, TValue, TSelf}.SetValues"/>,
        /// <see cref="BatchSize"/> keys per call: a new map with the capacity given
        /// (<paramref name="hint"/>) or none (0), the keys in the same order.
        /// </summary>
        internal static TMap BuildBatched(TKey[] keys, TValue[] values, int hint)
        {
            TMap m = TMap.Create(hint);
            for (int start = 0; start < keys.Length; start += BatchSize)
            {
                int len = Math.Min(BatchSize, keys.Length - start);
                m.SetValues(keys.AsSpan(start, len), values.AsSpan(start, len));
            }

            return m;
        }

        /// <summary><c>s += m[k]</c> for every key (Go's zero value for a missing key).</summary>
        internal static long Lookup(TMap m, TKey[] keys)
        {
            long s = 0;
            for (int i = 0; i < keys.Length; i++)
            {
                m.TryGetValue(keys[i], out TValue v);
                s += ValueOps<TValue>.Checksum(v);
            }

            return s;
        }

        /// <summary>
        /// The same lookups as <see cref="Lookup"/>, <see cref="BatchSize"/> keys per TryGetValues
        /// call into small reused buffers (<paramref name="values"/>, <paramref name="found"/>),
        /// then the values summed.
        /// </summary>
        internal static long LookupBatch(TMap m, TKey[] keys, TValue[] values, bool[] found)
        {
            long s = 0;
            for (int start = 0; start < keys.Length; start += BatchSize)
            {
                int len = Math.Min(BatchSize, keys.Length - start);
                m.TryGetValues(keys.AsSpan(start, len), values.AsSpan(0, len), found.AsSpan(0, len));
                for (int i = 0; i < len; i++)
                {
                    s += ValueOps<TValue>.Checksum(values[i]);
                }
            }

            return s;
        }

        /// <summary><c>m[k] = v + 1</c> for keys already present: insert-or-update, hashWriting taken.</summary>
        internal static void Update(TMap m, TKey[] keys, TValue[] values)
        {
            for (int i = 0; i < keys.Length; i++)
            {
                m.Set(keys[i], ValueOps<TValue>.Next(values[i]));
            }
        }

        /// <summary>The same update through a lookup ref (<see cref="ValueOps{T}.Update"/>): GoMap's read path.</summary>
        internal static void UpdateViaRef(TMap m, TKey[] keys, TValue[] values)
        {
            for (int i = 0; i < keys.Length; i++)
            {
                ref TValue v = ref m.GetValueRefOrNullRef(keys[i]);
                if (!Unsafe.IsNullRef(ref v))
                {
                    ValueOps<TValue>.Update(ref v, values[i]);
                }
            }
        }

        /// <summary>n ops: 90% <c>s += m[present[idx]]</c>, 10% <c>m[present[idx]] = v + 1</c>.</summary>
        internal static long Mix(TMap m, TKey[] keys, TValue[] values, uint[] ops)
        {
            long s = 0;
            for (int i = 0; i < ops.Length; i++)
            {
                uint op = ops[i];
                int idx = (int)(op & ~KeySets.WriteBit);
                if ((op & KeySets.WriteBit) != 0)
                {
                    m.Set(keys[idx], ValueOps<TValue>.Next(values[idx]));
                }
                else
                {
                    m.TryGetValue(keys[idx], out TValue v);
                    s += ValueOps<TValue>.Checksum(v);
                }
            }

            return s;
        }

        /// <summary><c>Clear()</c> then n inserts into the same (hinted) map.</summary>
        internal static void ClearRefill(TMap m, TKey[] keys, TValue[] values)
        {
            m.Clear();
            Fill(m, keys, values);
        }

        /// <summary>
        /// Removes every key (<paramref name="present"/>, the lookup order), then inserts them
        /// back (<paramref name="keys"/>, the build order) into the same map: a cache emptied
        /// entry by entry and filled again, where <see cref="ClearRefill"/> empties it at once.
        /// Pass after pass on one map, as the quick comparison runs it: an emptied GoMap draws a
        /// new seed (Go's rule), so each fill overflows other chains.
        /// </summary>
        internal static void RemoveRefill(TMap m, TKey[] present, TKey[] keys, TValue[] values)
        {
            RemoveAll(m, present);
            Fill(m, keys, values);
        }

        /// <summary>Removes every key.</summary>
        internal static void RemoveAll(TMap m, TKey[] keys)
        {
            for (int i = 0; i < keys.Length; i++)
            {
                m.Remove(keys[i]);
            }
        }

        /// <summary>The same removes as <see cref="RemoveAll"/>, <see cref="BatchSize"/> keys per RemoveKeys call.</summary>
        internal static void RemoveAllBatched(TMap m, TKey[] keys)
        {
            for (int start = 0; start < keys.Length; start += BatchSize)
            {
                m.RemoveKeys(keys.AsSpan(start, Math.Min(BatchSize, keys.Length - start)));
            }
        }

        /// <summary>
        /// Every operation once, untimed (JIT warm-up): a build without hint, then on
        /// <paramref name="empty"/> (a new map with capacity for the keys) all the others.
        /// </summary>
        internal static void RunAllOnce(KeySet<TKey, TValue> keys, TMap empty)
        {
            Build(keys.BuildKeys, keys.BuildValues, 0).Free();
            BuildBatched(keys.BuildKeys, keys.BuildValues, keys.BuildKeys.Length).Free();
            TMap m = Fill(empty, keys.BuildKeys, keys.BuildValues);
            Sink.Keep(Lookup(m, keys.Present));
            Sink.Keep(Lookup(m, keys.Missing));
            Sink.Keep(LookupBatch(m, keys.Present, new TValue[BatchSize], new bool[BatchSize]));
            Update(m, keys.Present, keys.Values);
            UpdateViaRef(m, keys.Present, keys.Values);
            Sink.Keep(m.SumValues());
            Sink.Keep(Mix(m, keys.Present, keys.Values, keys.MixOps));
            ClearRefill(m, keys.BuildKeys, keys.BuildValues);
            RemoveRefill(m, keys.Present, keys.BuildKeys, keys.BuildValues);
            RemoveAll(m, keys.Present);
            Fill(m, keys.BuildKeys, keys.BuildValues);
            RemoveAllBatched(m, keys.Present);
            m.Free();
        }

        /// <summary>
        /// The walks that write (iterate_set, iterate_remove) once, untimed (JIT warm-up), on
        /// <paramref name="empty"/> filled with the keys. Apart from <see cref="RunAllOnce"/>: see
        /// <see cref="JitWarmUp.Run{TGoKey, TDictKey, TValue}"/>.
        /// </summary>
        internal static void RunWritingWalksOnce(KeySet<TKey, TValue> keys, TMap empty)
        {
            TMap m = Fill(empty, keys.BuildKeys, keys.BuildValues);
            Sink.Keep(m.SetEachWhileEnumerating());
            Sink.Keep(m.RemoveQuarterWhileEnumerating(new TKey[keys.BuildKeys.Length], new TValue[keys.BuildKeys.Length]));
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
        /// <summary>For the stream keys (int, long, Guid): both maps on the same 1,000 keys.</summary>
        internal static void Run<TKey, TValue>()
            where TKey : unmanaged
            where TValue : unmanaged
        {
            KeySet<TKey, TValue> keys = KeySets.Create<TKey, TValue>(1_000);
            Run(keys, keys);
        }

        /// <summary>
        /// Runs every workload of both maps on small key sets for about half a second, waits for
        /// the background JIT, then repeats shortly (call counting starts only once no new code
        /// has been jitted for 100 ms); then the same for GoMap in Strict mode, then the walks that
        /// write for both maps. About 2 s in all.
        /// </summary>
        /// <remarks>
        /// Strict comes last, once the workload loops (shared by both modes: one adapter type) are
        /// tier-1 code with the profile of Go mode, the default, which the plain rows time. Run
        /// together, a Strict map's slow paths (every enumeration step, every read's
        /// announcement) entered the profile that the JIT optimizes the loops by: it then kept the
        /// timed foreach's enumerator in memory (4 callee-saved registers and the walk's fields
        /// reloaded from the stack at every step; 1,000 <c>&lt;long,long&gt;</c>: 1.55-1.74 ns per
        /// entry against 1.20-1.33), and 1,000-entry lookup misses took 2.6-2.8 ns against 2.2-2.5.
        /// The <c>_strict</c> rows therefore time Strict in code laid out for Go mode, as a
        /// process that uses both modes of one map type gets it. The walks that write
        /// (iterate_set, iterate_remove) come after Go mode's loops too, for the same reason: the
        /// enumerator's MoveNext, inlined into every walk, takes one profile, and theirs (steps
        /// after a write) laid the plain walk out worse in a probe (2026-12-05: 1.49 against
        /// 1.09-1.15 ns per entry, 1,000 <c>&lt;long,long&gt;</c>).
        /// </remarks>
        internal static void Run<TGoKey, TDictKey, TValue>(KeySet<TGoKey, TValue> goKeys, KeySet<TDictKey, TValue> dictKeys)
            where TGoKey : unmanaged
            where TDictKey : notnull
            where TValue : unmanaged
        {
            int n = goKeys.BuildKeys.Length;
            Repeat(() =>
            {
                Workload<TGoKey, TValue, GoMapAdapter<TGoKey, TValue>>.RunAllOnce(goKeys, GoMapAdapter<TGoKey, TValue>.Create(n, ConcurrencyChecks.Go));
                Workload<TDictKey, TValue, DictionaryAdapter<TDictKey, TValue>>.RunAllOnce(dictKeys, DictionaryAdapter<TDictKey, TValue>.Create(n));
            });
            Repeat(() => Workload<TGoKey, TValue, GoMapAdapter<TGoKey, TValue>>.RunAllOnce(goKeys, GoMapAdapter<TGoKey, TValue>.Create(n, ConcurrencyChecks.Strict)));
            Repeat(() =>
            {
                Workload<TGoKey, TValue, GoMapAdapter<TGoKey, TValue>>.RunWritingWalksOnce(goKeys, GoMapAdapter<TGoKey, TValue>.Create(n, ConcurrencyChecks.Go));
                Workload<TDictKey, TValue, DictionaryAdapter<TDictKey, TValue>>.RunWritingWalksOnce(dictKeys, DictionaryAdapter<TDictKey, TValue>.Create(n));
            });
        }

        /// <summary>Runs <paramref name="round"/> for 500 ms, waits 200 ms for the background JIT, then again for 150 ms and 200 ms.</summary>
        private static void Repeat(Action round)
        {
            foreach (int ms in new[] { 500, 150 })
            {
                var sw = Stopwatch.StartNew();
                while (sw.ElapsedMilliseconds < ms)
                {
                    round();
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
