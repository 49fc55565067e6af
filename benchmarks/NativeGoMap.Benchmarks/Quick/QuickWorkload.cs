using System;
using System.Diagnostics;

namespace NativeGoMap.Benchmarks.Quick
{
    /// <summary>The operations of the quick comparison, in the Go program's order, plus lookup_batch, insert_batch, update_via_ref, iterate_set, iterate_remove, remove_refill and remove_batch.</summary>
    internal enum QuickOp
    {
        LookupHit,
        LookupMiss,
        LookupBatch,
        InsertNoHint,
        InsertHint,
        InsertBatch,
        Update,
        UpdateViaRef,
        Iterate,
        IterateSet,
        IterateRemove,
        Mix90To10,
        ClearRefill,
        RemoveRefill,
        Remove,
        RemoveBatch,
    }

    internal static class QuickOps
    {
        internal static readonly QuickOp[] All = Enum.GetValues<QuickOp>();

        /// <summary>The op's name in the Go program's output (and in the table).</summary>
        internal static string Name(QuickOp op) => op switch
        {
            QuickOp.LookupHit => "lookup_hit",
            QuickOp.LookupMiss => "lookup_miss",
            QuickOp.LookupBatch => "lookup_batch",
            QuickOp.InsertNoHint => "insert_nohint",
            QuickOp.InsertHint => "insert_hint",
            QuickOp.InsertBatch => "insert_batch",
            QuickOp.Update => "update",
            QuickOp.UpdateViaRef => "update_via_ref",
            QuickOp.Iterate => "iterate",
            QuickOp.IterateSet => "iterate_set",
            QuickOp.IterateRemove => "iterate_remove",
            QuickOp.Mix90To10 => "mix90_10",
            QuickOp.ClearRefill => "clear_refill",
            QuickOp.RemoveRefill => "remove_refill",
            QuickOp.Remove => "remove",
            QuickOp.RemoveBatch => "remove_batch",
            _ => throw new ArgumentOutOfRangeException(nameof(op)),
        };
    }

    /// <summary>
    /// One map implementation under the quick workload: holds the map built with the capacity
    /// given (as Go's <c>make(map, n)</c>) and measures each op on it with <see cref="Harness"/>.
    /// Inserts use the key set's build order, lookups, updates and removes its lookup order.
    /// </summary>
    internal sealed class QuickRunner<TKey, TValue, TMap> : IDisposable
        where TMap : struct, IMap<TKey, TValue, TMap>
    {
        private readonly KeySet<TKey, TValue> _keys;
        private readonly int _reps;
        private readonly TValue[] _batchValues = new TValue[Workload<TKey, TValue, TMap>.BatchSize];
        private readonly bool[] _batchFound = new bool[Workload<TKey, TValue, TMap>.BatchSize];
        private TKey[]? _removedKeys;     // iterate_remove's buffers, made when that row first runs (the 10M lookup child never does)
        private TValue[]? _removedValues;
        private TMap _map;

        /// <summary>A runner whose map is created with the capacity for the key set (<c>TMap.Create(n)</c>).</summary>
        internal QuickRunner(KeySet<TKey, TValue> keys, int reps)
            : this(keys, reps, TMap.Create(keys.BuildKeys.Length))
        {
        }

        /// <summary>A runner on <paramref name="empty"/>, a new map made by the caller (e.g. with other options), which it fills and owns.</summary>
        internal QuickRunner(KeySet<TKey, TValue> keys, int reps, TMap empty)
        {
            _keys = keys;
            _reps = reps;
            _map = Workload<TKey, TValue, TMap>.Fill(empty, keys.BuildKeys, keys.BuildValues);
        }

        internal double Measure(QuickOp op)
        {
            TKey[] build = _keys.BuildKeys;
            TValue[] buildValues = _keys.BuildValues;
            TKey[] present = _keys.Present;
            TValue[] values = _keys.Values;
            TMap map = _map;
            int n = _keys.Count;
            int size = build.Length;
            return op switch
            {
                QuickOp.LookupHit => Harness.Batch(_reps, n, iters => Harness.Repeat(iters, () => Workload<TKey, TValue, TMap>.Lookup(map, present))),
                QuickOp.LookupMiss => Harness.Batch(_reps, _keys.Missing.Length, iters => Harness.Repeat(iters, () => Workload<TKey, TValue, TMap>.Lookup(map, _keys.Missing))),
                QuickOp.LookupBatch => Harness.Batch(_reps, n, iters => Harness.Repeat(iters, () => Workload<TKey, TValue, TMap>.LookupBatch(map, present, _batchValues, _batchFound))),
                QuickOp.InsertNoHint => Harness.Batch(_reps, size, iters => BuildAndFree(iters, 0)),
                QuickOp.InsertHint => Harness.Batch(_reps, size, iters => BuildAndFree(iters, size)),
                QuickOp.InsertBatch => Harness.Batch(_reps, size, iters => BuildBatchedAndFree(iters, size)),
                QuickOp.Update => Harness.Batch(_reps, n, iters => Loop(iters, () => Workload<TKey, TValue, TMap>.Update(map, present, values))),
                QuickOp.UpdateViaRef => Harness.Batch(_reps, n, iters => Loop(iters, () => Workload<TKey, TValue, TMap>.UpdateViaRef(map, present, values))),
                QuickOp.Iterate => Harness.Batch(_reps, map.Count, iters => Harness.Repeat(iters, map.SumValues)),
                QuickOp.IterateSet => Harness.Batch(_reps, map.Count, iters => Harness.Repeat(iters, map.SetEachWhileEnumerating)),
                QuickOp.IterateRemove => MeasureIterateRemove(map),
                QuickOp.Mix90To10 => Harness.Batch(_reps, _keys.MixOps.Length, iters => Harness.Repeat(iters, () => Workload<TKey, TValue, TMap>.Mix(map, present, values, _keys.MixOps))),
                QuickOp.ClearRefill => Harness.Batch(_reps, size, iters => Loop(iters, () => Workload<TKey, TValue, TMap>.ClearRefill(map, build, buildValues))),
                QuickOp.RemoveRefill => Harness.Batch(_reps, size, iters => Loop(iters, () => Workload<TKey, TValue, TMap>.RemoveRefill(map, present, build, buildValues))),
                QuickOp.Remove => Harness.PerPass(_reps, n, () => RemoveFromFresh(batched: false)),
                QuickOp.RemoveBatch => Harness.PerPass(_reps, n, () => RemoveFromFresh(batched: true)),
                _ => throw new ArgumentOutOfRangeException(nameof(op)),
            };
        }

        /// <summary>iterate_remove: the walk that removes every fourth entry, in its buffers (made on the first call).</summary>
        private double MeasureIterateRemove(TMap map)
        {
            TKey[] keys = _removedKeys ??= new TKey[_keys.BuildKeys.Length];
            TValue[] values = _removedValues ??= new TValue[_keys.BuildKeys.Length];
            return Harness.Batch(_reps, map.Count, iters => Harness.Repeat(iters, () => (long)map.RemoveQuarterWhileEnumerating(keys, values)));
        }

        public void Dispose()
        {
            _map.Free();
            _map = default;
        }

        private static void Loop(int iters, Action body)
        {
            for (int it = 0; it < iters; it++)
            {
                body();
            }
        }

        private void BuildAndFree(int iters, int hint)
        {
            for (int it = 0; it < iters; it++)
            {
                Workload<TKey, TValue, TMap>.Build(_keys.BuildKeys, _keys.BuildValues, hint).Free();
            }
        }

        /// <summary>
        /// One pass of remove or remove_batch: a map built with the capacity given (untimed), then
        /// every key removed in the lookup order (timed), one Remove per key or
        /// <see cref="Workload{TKey, TValue, TMap}.BatchSize"/> per RemoveKeys call; returns the ticks.
        /// </summary>
        private long RemoveFromFresh(bool batched)
        {
            TMap fresh = Workload<TKey, TValue, TMap>.Build(_keys.BuildKeys, _keys.BuildValues, _keys.BuildKeys.Length);
            long t0 = Stopwatch.GetTimestamp();
            if (batched)
            {
                Workload<TKey, TValue, TMap>.RemoveAllBatched(fresh, _keys.Present);
            }
            else
            {
                Workload<TKey, TValue, TMap>.RemoveAll(fresh, _keys.Present);
            }

            long ticks = Stopwatch.GetTimestamp() - t0;
            fresh.Free();
            return ticks;
        }

        private void BuildBatchedAndFree(int iters, int hint)
        {
            for (int it = 0; it < iters; it++)
            {
                Workload<TKey, TValue, TMap>.BuildBatched(_keys.BuildKeys, _keys.BuildValues, hint).Free();
            }
        }
    }
}
