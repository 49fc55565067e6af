using System;
using System.Diagnostics;
using System.Numerics;

namespace NativeGoMap.Benchmarks.Quick
{
    /// <summary>The operations of the quick comparison, in the Go program's order, plus update_via_ref.</summary>
    internal enum QuickOp
    {
        LookupHit,
        LookupMiss,
        InsertNoHint,
        InsertHint,
        Update,
        UpdateViaRef,
        Iterate,
        Mix90To10,
        ClearRefill,
        Remove,
    }

    internal static class QuickOps
    {
        internal static readonly QuickOp[] All = Enum.GetValues<QuickOp>();

        /// <summary>The op's name in the Go program's output (and in the table).</summary>
        internal static string Name(QuickOp op) => op switch
        {
            QuickOp.LookupHit => "lookup_hit",
            QuickOp.LookupMiss => "lookup_miss",
            QuickOp.InsertNoHint => "insert_nohint",
            QuickOp.InsertHint => "insert_hint",
            QuickOp.Update => "update",
            QuickOp.UpdateViaRef => "update_via_ref",
            QuickOp.Iterate => "iterate",
            QuickOp.Mix90To10 => "mix90_10",
            QuickOp.ClearRefill => "clear_refill",
            QuickOp.Remove => "remove",
            _ => throw new ArgumentOutOfRangeException(nameof(op)),
        };
    }

    /// <summary>
    /// One map implementation under the quick workload: holds the map built with the capacity
    /// given (as Go's <c>make(map, n)</c>) and measures each op on it with <see cref="Harness"/>.
    /// </summary>
    internal sealed class QuickRunner<TKey, TValue, TMap> : IDisposable
        where TKey : unmanaged
        where TValue : unmanaged, INumber<TValue>
        where TMap : struct, IMap<TKey, TValue, TMap>
    {
        private readonly KeySet<TKey, TValue> _keys;
        private readonly int _reps;
        private TMap _map;

        internal QuickRunner(KeySet<TKey, TValue> keys, int reps)
        {
            _keys = keys;
            _reps = reps;
            _map = Workload<TKey, TValue, TMap>.Build(keys.Present, keys.Values, keys.Count);
        }

        internal double Measure(QuickOp op)
        {
            TKey[] present = _keys.Present;
            TValue[] values = _keys.Values;
            TMap map = _map;
            int n = _keys.Count;
            return op switch
            {
                QuickOp.LookupHit => Harness.Batch(_reps, n, iters => Repeat(iters, () => Workload<TKey, TValue, TMap>.Lookup(map, present))),
                QuickOp.LookupMiss => Harness.Batch(_reps, n, iters => Repeat(iters, () => Workload<TKey, TValue, TMap>.Lookup(map, _keys.Missing))),
                QuickOp.InsertNoHint => Harness.Batch(_reps, n, iters => BuildAndFree(iters, 0)),
                QuickOp.InsertHint => Harness.Batch(_reps, n, iters => BuildAndFree(iters, n)),
                QuickOp.Update => Harness.Batch(_reps, n, iters => Loop(iters, () => Workload<TKey, TValue, TMap>.Update(map, present, values))),
                QuickOp.UpdateViaRef => Harness.Batch(_reps, n, iters => Loop(iters, () => Workload<TKey, TValue, TMap>.UpdateViaRef(map, present, values))),
                QuickOp.Iterate => Harness.Batch(_reps, map.Count, iters => Repeat(iters, map.SumValues)),
                QuickOp.Mix90To10 => Harness.Batch(_reps, n, iters => Repeat(iters, () => Workload<TKey, TValue, TMap>.Mix(map, present, values, _keys.MixOps))),
                QuickOp.ClearRefill => Harness.Batch(_reps, n, iters => Loop(iters, () => Workload<TKey, TValue, TMap>.ClearRefill(map, present, values))),
                QuickOp.Remove => Harness.PerPass(_reps, n, () =>
                {
                    TMap fresh = Workload<TKey, TValue, TMap>.Build(present, values, n);
                    long t0 = Stopwatch.GetTimestamp();
                    Workload<TKey, TValue, TMap>.RemoveAll(fresh, present);
                    long ticks = Stopwatch.GetTimestamp() - t0;
                    fresh.Free();
                    return ticks;
                }),
                _ => throw new ArgumentOutOfRangeException(nameof(op)),
            };
        }

        public void Dispose()
        {
            _map.Free();
            _map = default;
        }

        private static void Repeat(int iters, Func<TValue> body)
        {
            TValue s = TValue.Zero;
            for (int it = 0; it < iters; it++)
            {
                s += body();
            }

            Sink.Keep(s);
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
                Workload<TKey, TValue, TMap>.Build(_keys.Present, _keys.Values, hint).Free();
            }
        }
    }
}
