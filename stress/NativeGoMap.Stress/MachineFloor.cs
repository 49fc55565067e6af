using System;
using System.Diagnostics;
using System.IO;

namespace NativeGoMap.Instruments
{
    /// <summary>
    /// What this machine does to a loop with no map in it, the floor under any insert's worst
    /// figure, and what it charges for a new 2 MiB page, the unit of a default growth's slowest
    /// inserts. Shared by the stress program's scale mode and the quick comparison's stall rows
    /// (linked into the benchmark project), so that both read the slowest insert against the
    /// same yardsticks.
    /// </summary>
    internal static unsafe class MachineFloor
    {
        /// <summary>
        /// The first touch of <paramref name="pages"/> new 2 MiB pages, each timed as an insert
        /// is: one store into each page of a fresh mapping that asked for transparent huge pages,
        /// as a growth's writes first touch its new array (<c>OsMemory.Map</c>, the same call).
        /// What a fresh page costs depends on where the kernel finds it: on the README's VM, whose
        /// kernel hands every free 2 MiB block back to the host (virtio-balloon free page
        /// reporting, see <see cref="PageReporting"/>), a block the process freed less than about
        /// half a second before took 0.08-0.11 ms and any other 2.3-3.4 ms (a C probe of
        /// MADV_POPULATE_WRITE, 2026-12-03): the host backs it again. Unmaps the pages after.
        /// </summary>
        /// <returns>The slowest and the mean first touch in Stopwatch ticks, or null where maps are not used or huge pages are off (<c>NATIVEGOMAP_MMAP=0</c>, <c>NATIVEGOMAP_HUGEPAGES=0</c>, not 64-bit Linux).</returns>
        internal static (long Worst, long Mean)? FreshHugePages(int pages)
        {
            if (!OsMemory.Supported || !OsMemory.HugePages || pages <= 0)
            {
                return null;
            }

            ulong length = (ulong)pages * OsMemory.HugePage;
            byte* p = OsMemory.Map(length, huge: true);
            if (p == null)
            {
                return null;
            }

            long worst = 0, total = 0;
            try
            {
                for (int i = 0; i < pages; i++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    p[(ulong)i * OsMemory.HugePage] = 1;
                    long dt = Stopwatch.GetTimestamp() - t0;
                    worst = Math.Max(worst, dt);
                    total += dt;
                }
            }
            finally
            {
                OsMemory.Unmap(p, length);
            }

            return (worst, total / pages);
        }

        /// <summary>
        /// The smallest order of the free blocks that the kernel reports to a hypervisor for it to
        /// take back (Linux's free page reporting, which a virtio-balloon device with the
        /// reporting feature uses), or null where the kernel has no such parameter. The parameter
        /// exists whenever the kernel was built with it, so it says what would be reported, not
        /// that a device is taking anything: on the README's VM one is (the balloon offers the
        /// feature, and the kernel's counter said 402 GB reported since boot), at order 9, so
        /// every free 2 MiB block goes back to the host and a new huge page is mostly one the
        /// host must back again on its first touch (<see cref="FreshHugePages"/>).
        /// </summary>
        internal static int? PageReporting()
        {
            try
            {
                string path = "/sys/module/page_reporting/parameters/page_reporting_order";
                return File.Exists(path) && int.TryParse(File.ReadAllText(path).Trim(), out int order) ? order : null;
            }
            catch (IOException)
            {
                return null;
            }
            catch (UnauthorizedAccessException)
            {
                return null;
            }
        }

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
