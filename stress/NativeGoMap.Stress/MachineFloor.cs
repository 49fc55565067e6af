using System;
using System.Diagnostics;

namespace NativeGoMap.Instruments
{
    /// <summary>
    /// What this machine does to a loop with no map in it, the floor under any insert's worst
    /// figure. Shared by the stress program's scale mode and the quick comparison's stall rows
    /// (linked into the benchmark project), so that both read the slowest insert against the
    /// same yardstick.
    /// </summary>
    internal static class MachineFloor
    {
        /// <summary>
        /// Stores at random places of a 64 MiB array touched beforehand (no page fault, no system
        /// call), each timed as an insert is (Stopwatch.GetTimestamp before and after), for as
        /// long as <paramref name="duration"/> (the build's). Its slowest store and its stores over
        /// 1 ms are the machine's own stalls (interrupts, the hypervisor, the other tenants of a
        /// shared host). On the README's 2-vCPU VM a C loop of 20M such stores showed a worst of
        /// 2 to 5 ms and 1 to 6 stores over 1 ms. First waits until the release thread is idle, so
        /// that nothing of ours runs during the window. Allocates the array once (64 MiB on the GC heap).
        /// </summary>
        /// <returns>The slowest store and the count of stores over 1 ms, in Stopwatch ticks and stores.</returns>
        internal static (long Worst, long OverMs) Measure(TimeSpan duration)
        {
            ReleaseThread.WaitIdle();
            var cells = new long[8 << 20];
            Array.Fill(cells, 1L);
            long msTicks = Stopwatch.Frequency / 1000;
            long worst = 0, overMs = 0;
            ulong x = 1;
            long end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
            for (long i = 0; (i & 1023) != 0 || Stopwatch.GetTimestamp() < end; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                x = (x * 6364136223846793005UL) + 1442695040888963407UL;
                cells[(int)((x >> 40) & (ulong)(cells.Length - 1))] += i;
                long dt = Stopwatch.GetTimestamp() - t0;
                worst = Math.Max(worst, dt);
                overMs += dt > msTicks ? 1 : 0;
            }

            GC.KeepAlive(cells);
            return (worst, overMs);
        }
    }
}
