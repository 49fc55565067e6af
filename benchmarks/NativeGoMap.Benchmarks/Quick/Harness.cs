using System;
using System.Diagnostics;

namespace NativeGoMap.Benchmarks.Quick
{
    /// <summary>
    /// The quick comparison's timer, the same procedure as benchmarks/go/main.go (batch and
    /// perPass): a warm-up that calibrates an iteration count so that one rep takes at least
    /// 20 ms, then the best (minimum) ns/op over the reps, with a full GC before each rep.
    /// </summary>
    internal static class Harness
    {
        private static readonly long MinTicks = Stopwatch.Frequency / 50; // 20 ms
        private static readonly double NsPerTick = 1e9 / Stopwatch.Frequency;

        /// <summary>
        /// For work without untimed setup: <paramref name="body"/>(iters) runs the loop iters times,
        /// each doing <paramref name="opsPerIter"/> operations. Returns the best ns/op.
        /// </summary>
        internal static double Batch(int reps, long opsPerIter, Action<int> body)
        {
            GC.Collect();
            int iters = 1;
            while (true)
            {
                long t0 = Stopwatch.GetTimestamp();
                body(iters);
                if (Stopwatch.GetTimestamp() - t0 >= MinTicks)
                {
                    break;
                }

                iters *= 2;
            }

            double best = double.MaxValue;
            for (int rep = 0; rep < reps; rep++)
            {
                GC.Collect();
                long t0 = Stopwatch.GetTimestamp();
                body(iters);
                long ticks = Stopwatch.GetTimestamp() - t0;
                best = Math.Min(best, ticks * NsPerTick / iters / opsPerIter);
            }

            return best;
        }

        /// <summary>Runs <paramref name="body"/> <paramref name="iters"/> times and keeps the sum of its results (so the JIT cannot drop the work).</summary>
        internal static void Repeat(int iters, Func<long> body)
        {
            long s = 0;
            for (int it = 0; it < iters; it++)
            {
                s += body();
            }

            Sink.Keep(s);
        }

        /// <summary>
        /// For work that needs untimed setup: <paramref name="pass"/> does its setup and returns the
        /// Stopwatch ticks of its timed part only. Passes repeat until 20 ms of timed work is done;
        /// one untimed warm-up rep comes first. Returns the best ns/op.
        /// </summary>
        internal static double PerPass(int reps, long opsPerPass, Func<long> pass)
        {
            double best = double.MaxValue;
            for (int rep = -1; rep < reps; rep++)
            {
                GC.Collect();
                long total = 0;
                int passes = 0;
                while (total < MinTicks || passes == 0)
                {
                    total += pass();
                    passes++;
                }

                if (rep >= 0)
                {
                    best = Math.Min(best, total * NsPerTick / passes / opsPerPass);
                }
            }

            return best;
        }
    }
}
