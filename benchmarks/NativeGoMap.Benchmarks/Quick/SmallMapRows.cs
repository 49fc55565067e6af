using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;

namespace NativeGoMap.Benchmarks.Quick
{
    /// <summary>
    /// The <c>small</c> rows: what a map's life and an enumeration's start and end cost when the
    /// map holds few entries, which the 1,000-entry rows spread over a thousand operations.
    /// <c>GoMap&lt;long,long&gt;</c> vs <c>Dictionary&lt;long,long&gt;</c> with <see cref="Entries"/>
    /// entries (the stream keys): made, filled and disposed (Dictionary's garbage left to the
    /// collector), and enumerated whole (a <c>foreach</c> summing the values); each also on two
    /// threads at once, the enumerations on one shared map, where the row is the wall time per
    /// operation on each thread.
    /// </summary>
    internal static class SmallMapRows
    {
        /// <summary>Entries of the small rows' maps.</summary>
        internal const int Entries = 16;

        /// <summary>Measures the rows (GoMap first, then Dictionary, for each) into <paramref name="sink"/>.</summary>
        internal static void Run(int reps, IResultSink sink)
        {
            long[] keys = KeySets.Create<long, long>(Entries).BuildKeys;
            using var go = new GoMap<long, long>();
            var dict = new Dictionary<long, long>();
            foreach (long k in keys)
            {
                go[k] = k;
                dict[k] = k;
            }

            var rows = new (string Op, Action<int> Go, Action<int> Dict)[]
            {
                ("make_fill_dispose", iters => Repeat(iters, () => GoLife(keys)), iters => Repeat(iters, () => DictLife(keys))),
                ("enumerate", iters => Repeat(iters, () => GoWalk(go)), iters => Repeat(iters, () => DictWalk(dict))),
                ("make_fill_dispose_2threads", iters => OnTwoThreads(iters, n => Repeat(n, () => GoLife(keys))), iters => OnTwoThreads(iters, n => Repeat(n, () => DictLife(keys)))),
                ("enumerate_2threads", iters => OnTwoThreads(iters, n => Repeat(n, () => GoWalk(go))), iters => OnTwoThreads(iters, n => Repeat(n, () => DictWalk(dict)))),
            };

            // Tier-1 code before anything is timed: every body a few thousand times, with pauses
            // in which the JIT's background compiles land (see JitWarmUp).
            for (int round = 0; round < 4; round++)
            {
                foreach ((_, Action<int> goBody, Action<int> dictBody) in rows)
                {
                    goBody(5_000);
                    dictBody(5_000);
                }

                Thread.Sleep(150);
            }

            foreach ((string op, Action<int> goBody, Action<int> dictBody) in rows)
            {
                sink.Add("GoMap", "small", Entries, op, Harness.Batch(reps, 1, goBody));
                sink.Add("Dictionary", "small", Entries, op, Harness.Batch(reps, 1, dictBody));
            }
        }

        private static void Repeat(int iters, Func<long> op)
        {
            long s = 0;
            for (int i = 0; i < iters; i++)
            {
                s += op();
            }

            Sink.Keep(s);
        }

        /// <summary>Runs <paramref name="body"/>(iters) on this thread and on a second one at once.</summary>
        private static void OnTwoThreads(int iters, Action<int> body)
        {
            var other = new Thread(() => body(iters));
            other.Start();
            body(iters);
            other.Join();
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static long GoLife(long[] keys)
        {
            var m = new GoMap<long, long>();
            foreach (long k in keys)
            {
                m[k] = k;
            }

            long n = m.LongCount;
            m.Dispose();
            return n;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static long DictLife(long[] keys)
        {
            var m = new Dictionary<long, long>();
            foreach (long k in keys)
            {
                m[k] = k;
            }

            return m.Count;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static long GoWalk(GoMap<long, long> m)
        {
            long s = 0;
            foreach (KeyValuePair<long, long> kv in m)
            {
                s += kv.Value;
            }

            return s;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static long DictWalk(Dictionary<long, long> m)
        {
            long s = 0;
            foreach (KeyValuePair<long, long> kv in m)
            {
                s += kv.Value;
            }

            return s;
        }
    }
}
