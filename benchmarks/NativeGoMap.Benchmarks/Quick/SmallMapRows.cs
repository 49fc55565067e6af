using System;
using System.Runtime.CompilerServices;
using System.Threading;

namespace NativeGoMap.Benchmarks.Quick
{
    /// <summary>
    /// The <c>small</c> rows: what a map's life and an enumeration's start and end cost when the
    /// map holds few entries, which the 1,000-entry rows spread over a thousand operations.
    /// <c>GoMap&lt;long,long&gt;</c> vs <c>Dictionary&lt;long,long&gt;</c> with <see cref="Entries"/>
    /// entries (the stream keys): made, filled and disposed (Dictionary's garbage left to the
    /// collector: the workload's Build and Free), and enumerated whole (the iterate row's
    /// SumValues); each also on two threads at once, the enumerations on one shared map, where
    /// the row is the wall time per operation on each thread; and lookups of every key on one
    /// thread while a second thread enumerates the same map in a loop (per lookup): what
    /// enumerations on one thread cost the readers of that map on another.
    /// </summary>
    internal static class SmallMapRows
    {
        /// <summary>Entries of the small rows' maps.</summary>
        internal const int Entries = 16;

        /// <summary>Measures the rows (GoMap first, then Dictionary, for each) into <paramref name="sink"/>.</summary>
        internal static void Run(int reps, IResultSink sink)
        {
            KeySet<long, long> keys = KeySets.Create<long, long>(Entries);
            GoMapAdapter<long, long> go = Workload<long, long, GoMapAdapter<long, long>>.Build(keys.BuildKeys, keys.BuildValues, 0);
            DictionaryAdapter<long, long> dict = Workload<long, long, DictionaryAdapter<long, long>>.Build(keys.BuildKeys, keys.BuildValues, 0);
            try
            {
                // Ops: what one iteration of a body does (a map, an enumeration, or a lookup of every key).
                var rows = new (string Op, long Ops, Action<int> Go, Action<int> Dict)[]
                {
                    ("make_fill_dispose", 1, iters => Harness.Repeat(iters, () => Life<GoMapAdapter<long, long>>(keys)), iters => Harness.Repeat(iters, () => Life<DictionaryAdapter<long, long>>(keys))),
                    ("enumerate", 1, iters => Harness.Repeat(iters, go.SumValues), iters => Harness.Repeat(iters, dict.SumValues)),
                    ("make_fill_dispose_2threads", 1, iters => OnTwoThreads(iters, n => Harness.Repeat(n, () => Life<GoMapAdapter<long, long>>(keys))), iters => OnTwoThreads(iters, n => Harness.Repeat(n, () => Life<DictionaryAdapter<long, long>>(keys)))),
                    ("enumerate_2threads", 1, iters => OnTwoThreads(iters, n => Harness.Repeat(n, go.SumValues)), iters => OnTwoThreads(iters, n => Harness.Repeat(n, dict.SumValues))),
                    ("lookup_while_enumerated", Entries, iters => WhileOtherThreadRuns(() => Harness.Repeat(iters, () => Workload<long, long, GoMapAdapter<long, long>>.Lookup(go, keys.Present)), go.SumValues),
                        iters => WhileOtherThreadRuns(() => Harness.Repeat(iters, () => Workload<long, long, DictionaryAdapter<long, long>>.Lookup(dict, keys.Present)), dict.SumValues)),
                };

                // Tier-1 code before anything is timed: every body a few thousand times, with
                // pauses in which the JIT's background compiles land (see JitWarmUp).
                for (int round = 0; round < 4; round++)
                {
                    foreach ((_, _, Action<int> goBody, Action<int> dictBody) in rows)
                    {
                        goBody(5_000);
                        dictBody(5_000);
                    }

                    Thread.Sleep(150);
                }

                foreach ((string op, long ops, Action<int> goBody, Action<int> dictBody) in rows)
                {
                    sink.AddPair(GoMapAdapter<long, long>.Name, DictionaryAdapter<long, long>.Name, "small", Entries, op, () => Harness.Batch(reps, ops, goBody), () => Harness.Batch(reps, ops, dictBody));
                }
            }
            finally
            {
                go.Free();
                dict.Free();
            }
        }

        /// <summary>A map made, filled with the keys and freed; returns its count.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static long Life<TMap>(KeySet<long, long> keys)
            where TMap : struct, IMap<long, long, TMap>
        {
            TMap m = Workload<long, long, TMap>.Build(keys.BuildKeys, keys.BuildValues, 0);
            long n = m.Count;
            m.Free();
            return n;
        }

        /// <summary>
        /// Runs <paramref name="timed"/> on this thread while a second thread calls
        /// <paramref name="background"/> in a loop (started before and stopped after it).
        /// </summary>
        private static void WhileOtherThreadRuns(Action timed, Func<long> background)
        {
            bool stop = false;
            var other = new Thread(() =>
            {
                long s = 0;
                while (!Volatile.Read(ref stop))
                {
                    s += background();
                }

                Sink.Keep(s);
            });
            other.Start();
            timed();
            Volatile.Write(ref stop, true);
            other.Join();
        }

        /// <summary>Runs <paramref name="body"/>(iters) on this thread and on a second one at once.</summary>
        private static void OnTwoThreads(int iters, Action<int> body)
        {
            var other = new Thread(() => body(iters));
            other.Start();
            body(iters);
            other.Join();
        }
    }
}
