using System;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace NativeGoMap.Benchmarks.Bdn
{
    /// <summary>
    /// Dictionary vs GoMap, one category per operation with Dictionary as the baseline, so that
    /// the Ratio column reads GoMap/Dictionary. Both maps run the same <see cref="Workload{TKey, TValue, TMap}"/>
    /// loop over the same key arrays. Every benchmark does N operations per invocation;
    /// <see cref="BdnRunner"/> sets OperationsPerInvoke = N, so Mean is ns per operation and
    /// Allocated is bytes per operation. Every global setup starts with <see cref="JitWarmUp"/>:
    /// at large N a benchmark is invoked too few times for its loop to leave OSR code.
    /// </summary>
    /// <typeparam name="TKey">Key type.</typeparam>
    /// <typeparam name="TValue">Value type.</typeparam>
    [MemoryDiagnoser]
    [GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
    [CategoriesColumn]
    [GenericTypeArguments(typeof(int), typeof(int))]
    [GenericTypeArguments(typeof(long), typeof(long))]
    [GenericTypeArguments(typeof(Guid), typeof(long))]
    public class MapBenchmarks<TKey, TValue>
        where TKey : unmanaged
        where TValue : unmanaged
    {
        private KeySet<TKey, TValue> _keys = null!;
        private DictionaryAdapter<TKey, TValue> _dict;
        private GoMapAdapter<TKey, TValue> _goMap;
        private TValue[] _batchValues = null!;
        private bool[] _batchFound = null!;

        /// <summary>Map size: entries in the map, and operations per invocation.</summary>
        [Params(1_000, 1_000_000, 10_000_000)]
        public int N { get; set; }

        /// <summary>Keys and a Dictionary built with the capacity given.</summary>
        [GlobalSetup(Targets = new[]
        {
            nameof(LookupHit_Dictionary), nameof(LookupMiss_Dictionary), nameof(LookupBatch_Dictionary), nameof(Update_Dictionary), nameof(UpdateViaRef_Dictionary),
            nameof(Iterate_Dictionary), nameof(Mix90To10_Dictionary), nameof(ClearRefill_Dictionary),
        })]
        public void SetupDictionary()
        {
            JitWarmUp.Run<TKey, TValue>();
            _keys = KeySets.Create<TKey, TValue>(N);
            _dict = Workload<TKey, TValue, DictionaryAdapter<TKey, TValue>>.Build(_keys.Present, _keys.Values, N);
            AllocateBatchBuffers();
        }

        /// <summary>Keys and a GoMap built with the capacity given.</summary>
        [GlobalSetup(Targets = new[]
        {
            nameof(LookupHit_GoMap), nameof(LookupMiss_GoMap), nameof(LookupBatch_GoMap), nameof(Update_GoMap), nameof(UpdateViaRef_GoMap),
            nameof(Iterate_GoMap), nameof(Mix90To10_GoMap), nameof(ClearRefill_GoMap),
        })]
        public void SetupGoMap()
        {
            JitWarmUp.Run<TKey, TValue>();
            _keys = KeySets.Create<TKey, TValue>(N);
            _goMap = Workload<TKey, TValue, GoMapAdapter<TKey, TValue>>.Build(_keys.Present, _keys.Values, N);
            AllocateBatchBuffers();
        }

        /// <summary>Keys only: the insert benchmarks build their own maps.</summary>
        [GlobalSetup(Targets = new[] { nameof(InsertNoHint_Dictionary), nameof(InsertNoHint_GoMap), nameof(InsertHint_Dictionary), nameof(InsertHint_GoMap), nameof(InsertBatch_Dictionary), nameof(InsertBatch_GoMap) })]
        public void SetupKeys()
        {
            JitWarmUp.Run<TKey, TValue>();
            _keys = KeySets.Create<TKey, TValue>(N);
        }

        /// <summary>Frees the GoMap's native memory.</summary>
        [GlobalCleanup]
        public void Cleanup()
        {
            if (_goMap.Map is not null)
            {
                _goMap.Free();
            }
        }

        /// <summary>TryGetValue of the N present keys.</summary>
        [Benchmark(Baseline = true), BenchmarkCategory("LookupHit")]
        public long LookupHit_Dictionary() => Workload<TKey, TValue, DictionaryAdapter<TKey, TValue>>.Lookup(_dict, _keys.Present);

        /// <summary>TryGetValue of the N present keys.</summary>
        [Benchmark, BenchmarkCategory("LookupHit")]
        public long LookupHit_GoMap() => Workload<TKey, TValue, GoMapAdapter<TKey, TValue>>.Lookup(_goMap, _keys.Present);

        /// <summary>TryGetValue of N missing keys.</summary>
        [Benchmark(Baseline = true), BenchmarkCategory("LookupMiss")]
        public long LookupMiss_Dictionary() => Workload<TKey, TValue, DictionaryAdapter<TKey, TValue>>.Lookup(_dict, _keys.Missing);

        /// <summary>TryGetValue of N missing keys.</summary>
        [Benchmark, BenchmarkCategory("LookupMiss")]
        public long LookupMiss_GoMap() => Workload<TKey, TValue, GoMapAdapter<TKey, TValue>>.Lookup(_goMap, _keys.Missing);

        /// <summary>The N present keys, 1,024 per call, one TryGetValue each (what a Dictionary user writes).</summary>
        [Benchmark(Baseline = true), BenchmarkCategory("LookupBatch")]
        public long LookupBatch_Dictionary() =>
            Workload<TKey, TValue, DictionaryAdapter<TKey, TValue>>.LookupBatch(_dict, _keys.Present, _batchValues, _batchFound);

        /// <summary>The N present keys, 1,024 per GoMap.TryGetValues call.</summary>
        [Benchmark, BenchmarkCategory("LookupBatch")]
        public long LookupBatch_GoMap() =>
            Workload<TKey, TValue, GoMapAdapter<TKey, TValue>>.LookupBatch(_goMap, _keys.Present, _batchValues, _batchFound);

        /// <summary>New map without a hint, N inserts (growth included).</summary>
        [Benchmark(Baseline = true), BenchmarkCategory("InsertNoHint")]
        public long InsertNoHint_Dictionary() => BuildAndFree<DictionaryAdapter<TKey, TValue>>(0);

        /// <summary>New map without a hint, N inserts (growth and Dispose included).</summary>
        [Benchmark, BenchmarkCategory("InsertNoHint")]
        public long InsertNoHint_GoMap() => BuildAndFree<GoMapAdapter<TKey, TValue>>(0);

        /// <summary>New map with capacity N, N inserts.</summary>
        [Benchmark(Baseline = true), BenchmarkCategory("InsertHint")]
        public long InsertHint_Dictionary() => BuildAndFree<DictionaryAdapter<TKey, TValue>>(N);

        /// <summary>New map with capacity N, N inserts (Dispose included).</summary>
        [Benchmark, BenchmarkCategory("InsertHint")]
        public long InsertHint_GoMap() => BuildAndFree<GoMapAdapter<TKey, TValue>>(N);

        /// <summary>New map with capacity N, N inserts 1,024 per call, one indexer set each (what a Dictionary user writes).</summary>
        [Benchmark(Baseline = true), BenchmarkCategory("InsertBatch")]
        public long InsertBatch_Dictionary() => BuildBatchedAndFree<DictionaryAdapter<TKey, TValue>>(N);

        /// <summary>New map with capacity N, N inserts 1,024 per GoMap.SetValues call (Dispose included).</summary>
        [Benchmark, BenchmarkCategory("InsertBatch")]
        public long InsertBatch_GoMap() => BuildBatchedAndFree<GoMapAdapter<TKey, TValue>>(N);

        /// <summary><c>m[k] = v + 1</c> for the N present keys.</summary>
        [Benchmark(Baseline = true), BenchmarkCategory("Update")]
        public void Update_Dictionary() => Workload<TKey, TValue, DictionaryAdapter<TKey, TValue>>.Update(_dict, _keys.Present, _keys.Values);

        /// <summary><c>m[k] = v + 1</c> for the N present keys (write path: hashWriting compare-and-swap).</summary>
        [Benchmark, BenchmarkCategory("Update")]
        public void Update_GoMap() => Workload<TKey, TValue, GoMapAdapter<TKey, TValue>>.Update(_goMap, _keys.Present, _keys.Values);

        /// <summary>CollectionsMarshal.GetValueRefOrNullRef and a write through the ref.</summary>
        [Benchmark(Baseline = true), BenchmarkCategory("UpdateViaRef")]
        public void UpdateViaRef_Dictionary() => Workload<TKey, TValue, DictionaryAdapter<TKey, TValue>>.UpdateViaRef(_dict, _keys.Present, _keys.Values);

        /// <summary>GetValueRefOrNullRef and a write through the ref (read path, no compare-and-swap).</summary>
        [Benchmark, BenchmarkCategory("UpdateViaRef")]
        public void UpdateViaRef_GoMap() => Workload<TKey, TValue, GoMapAdapter<TKey, TValue>>.UpdateViaRef(_goMap, _keys.Present, _keys.Values);

        /// <summary>foreach over all entries, summing values.</summary>
        [Benchmark(Baseline = true), BenchmarkCategory("Iterate")]
        public long Iterate_Dictionary() => _dict.SumValues();

        /// <summary>foreach over all entries, summing values.</summary>
        [Benchmark, BenchmarkCategory("Iterate")]
        public long Iterate_GoMap() => _goMap.SumValues();

        /// <summary>N ops: 90% lookups, 10% updates (the Go program's seed-999 stream).</summary>
        [Benchmark(Baseline = true), BenchmarkCategory("Mix90To10")]
        public long Mix90To10_Dictionary() => Workload<TKey, TValue, DictionaryAdapter<TKey, TValue>>.Mix(_dict, _keys.Present, _keys.Values, _keys.MixOps);

        /// <summary>N ops: 90% lookups, 10% updates (the Go program's seed-999 stream).</summary>
        [Benchmark, BenchmarkCategory("Mix90To10")]
        public long Mix90To10_GoMap() => Workload<TKey, TValue, GoMapAdapter<TKey, TValue>>.Mix(_goMap, _keys.Present, _keys.Values, _keys.MixOps);

        /// <summary>Clear, then N inserts into the same map (per reinserted key, clear included).</summary>
        [Benchmark(Baseline = true), BenchmarkCategory("ClearRefill")]
        public void ClearRefill_Dictionary() => Workload<TKey, TValue, DictionaryAdapter<TKey, TValue>>.ClearRefill(_dict, _keys.Present, _keys.Values);

        /// <summary>Clear, then N inserts into the same map (per reinserted key, clear included).</summary>
        [Benchmark, BenchmarkCategory("ClearRefill")]
        public void ClearRefill_GoMap() => Workload<TKey, TValue, GoMapAdapter<TKey, TValue>>.ClearRefill(_goMap, _keys.Present, _keys.Values);

        private void AllocateBatchBuffers()
        {
            _batchValues = new TValue[Workload<TKey, TValue, GoMapAdapter<TKey, TValue>>.BatchSize];
            _batchFound = new bool[Workload<TKey, TValue, GoMapAdapter<TKey, TValue>>.BatchSize];
        }

        private long BuildAndFree<TMap>(int hint)
            where TMap : struct, IMap<TKey, TValue, TMap> =>
            CountAndFree(Workload<TKey, TValue, TMap>.Build(_keys.Present, _keys.Values, hint));

        private long BuildBatchedAndFree<TMap>(int hint)
            where TMap : struct, IMap<TKey, TValue, TMap> =>
            CountAndFree(Workload<TKey, TValue, TMap>.BuildBatched(_keys.Present, _keys.Values, hint));

        private static long CountAndFree<TMap>(TMap m)
            where TMap : struct, IMap<TKey, TValue, TMap>
        {
            long count = m.Count;
            m.Free();
            return count;
        }
    }

    /// <summary>
    /// Remove all N keys, one Remove per key (Remove) and through GoMap.RemoveKeys 1,024 keys per
    /// call (RemoveBatch; Dictionary still one Remove per key). Needs a freshly built map per invocation, so each iteration is one
    /// invocation after an [IterationSetup] that builds the map (untimed, as in the Go program's
    /// remove). At N = 1,000 an iteration is only microseconds long and BenchmarkDotNet warns
    /// about it (MinIterationTime); 15 iterations average that out, but expect more noise here
    /// than in the other categories.
    /// </summary>
    /// <typeparam name="TKey">Key type.</typeparam>
    /// <typeparam name="TValue">Value type.</typeparam>
    [MemoryDiagnoser]
    [GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
    [CategoriesColumn]
    [InvocationCount(1)]
    [IterationCount(15)]
    [GenericTypeArguments(typeof(int), typeof(int))]
    [GenericTypeArguments(typeof(long), typeof(long))]
    [GenericTypeArguments(typeof(Guid), typeof(long))]
    public class RemoveBenchmarks<TKey, TValue>
        where TKey : unmanaged
        where TValue : unmanaged
    {
        private KeySet<TKey, TValue> _keys = null!;
        private DictionaryAdapter<TKey, TValue> _dict;
        private GoMapAdapter<TKey, TValue> _goMap;

        /// <summary>Map size.</summary>
        [Params(1_000, 1_000_000, 10_000_000)]
        public int N { get; set; }

        /// <summary>
        /// The keys, after a JIT warm-up: with one invocation per iteration the workload would run
        /// only ~20 times, too few for tier-1 code.
        /// </summary>
        [GlobalSetup]
        public void Setup()
        {
            JitWarmUp.Run<TKey, TValue>();
            _keys = KeySets.Create<TKey, TValue>(N);
        }

        /// <summary>A fresh Dictionary with capacity N.</summary>
        [IterationSetup(Targets = new[] { nameof(Remove_Dictionary), nameof(RemoveBatch_Dictionary) })]
        public void BuildDictionary()
        {
            _dict = default;
            _dict = Workload<TKey, TValue, DictionaryAdapter<TKey, TValue>>.Build(_keys.Present, _keys.Values, N);
        }

        /// <summary>A fresh GoMap with capacity N.</summary>
        [IterationSetup(Targets = new[] { nameof(Remove_GoMap), nameof(RemoveBatch_GoMap) })]
        public void BuildGoMap() => _goMap = Workload<TKey, TValue, GoMapAdapter<TKey, TValue>>.Build(_keys.Present, _keys.Values, N);

        /// <summary>Frees the GoMap.</summary>
        [IterationCleanup(Targets = new[] { nameof(Remove_GoMap), nameof(RemoveBatch_GoMap) })]
        public void FreeGoMap() => _goMap.Free();

        /// <summary>Remove of the N present keys.</summary>
        [Benchmark(Baseline = true), BenchmarkCategory("Remove")]
        public void Remove_Dictionary() => Workload<TKey, TValue, DictionaryAdapter<TKey, TValue>>.RemoveAll(_dict, _keys.Present);

        /// <summary>Remove of the N present keys.</summary>
        [Benchmark, BenchmarkCategory("Remove")]
        public void Remove_GoMap() => Workload<TKey, TValue, GoMapAdapter<TKey, TValue>>.RemoveAll(_goMap, _keys.Present);

        /// <summary>The same removes, 1,024 keys per call: one Remove per key for Dictionary.</summary>
        [Benchmark(Baseline = true), BenchmarkCategory("RemoveBatch")]
        public void RemoveBatch_Dictionary() => Workload<TKey, TValue, DictionaryAdapter<TKey, TValue>>.RemoveAllBatched(_dict, _keys.Present);

        /// <summary>The same removes through GoMap.RemoveKeys, 1,024 keys per call.</summary>
        [Benchmark, BenchmarkCategory("RemoveBatch")]
        public void RemoveBatch_GoMap() => Workload<TKey, TValue, GoMapAdapter<TKey, TValue>>.RemoveAllBatched(_goMap, _keys.Present);
    }
}
