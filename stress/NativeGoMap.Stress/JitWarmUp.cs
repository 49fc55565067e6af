using System;
using System.Diagnostics;
using System.Threading;

namespace NativeGoMap.Instruments
{
    /// <summary>
    /// The warm-up before a timed build: the stress program's scale mode and the quick
    /// comparison's stall rows (linked into the benchmark project), so that both time the same
    /// code. Builds for half a second, then a pause for the background JIT, so that the timed
    /// build runs tier-1 code and no first call of a path lands in a timed insert.
    /// </summary>
    internal static class JitWarmUp
    {
        /// <summary>
        /// Entries of each warm-up build: past the growth to 2^15 buckets (106,496 inserts, the
        /// first into an array of more than 4 MiB), that growth's end and first release steps
        /// (about 111,200) and the growth to 2^16 buckets (212,992). With 100,000 (until
        /// 2026-12-07) those paths' first calls were JIT-compiled inside the timed build: the
        /// slowest <c>SmallPagesForGrowth</c> insert of two 10M stall-row runs on the Zen 4 was
        /// the growth start at 106,497 (0.53 and 0.56 ms, a method compiled during it), and the
        /// slowest insert of most 2,000,000-entry scale runs was the first release step's JIT
        /// (0.45-0.97 ms; four runs since read 0.29-0.35 ms).
        /// </summary>
        internal const int BuildEntries = 250_000;

        /// <summary>Runs <paramref name="build"/> (a build of <see cref="BuildEntries"/> and its disposal) for half a second, then waits 200 ms for the background JIT.</summary>
        internal static void Run(Action build)
        {
            var sw = Stopwatch.StartNew();
            while (sw.ElapsedMilliseconds < 500)
            {
                build();
            }

            Thread.Sleep(200);
        }
    }
}
