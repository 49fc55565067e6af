using System;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Threading;

namespace NativeGoMap.Stress
{
    /// <summary>
    /// The few Linux calls the stress program needs to steer the scheduler; elsewhere each
    /// degrades to a portable approximation (no pinning, a yield).
    /// </summary>
    internal static unsafe partial class Native
    {
        /// <summary>Pins the calling thread to the <paramref name="index"/>-th CPU it may run on (modulo their number); false where that is not possible.</summary>
        internal static bool PinCurrentThread(int index)
        {
            if (!OperatingSystem.IsLinux())
            {
                return false;
            }

            ulong allowed;
            if (sched_getaffinity(0, sizeof(ulong), &allowed) != 0 || allowed == 0)
            {
                return false;
            }

            int n = index % BitOperations.PopCount(allowed);
            ulong mask = allowed;
            for (int i = 0; i < n; i++)
            {
                mask &= mask - 1; // drop the lowest CPU
            }

            mask &= ~(mask - 1); // keep the lowest remaining one
            return sched_setaffinity(0, sizeof(ulong), &mask) == 0;
        }

        /// <summary>Sleeps about <paramref name="microseconds"/> (plus the timer slack); a yield where usleep is missing.</summary>
        internal static void SleepMicroseconds(uint microseconds)
        {
            if (OperatingSystem.IsLinux())
            {
                _ = usleep(microseconds);
            }
            else
            {
                Thread.Yield();
            }
        }

        [LibraryImport("libc")]
        private static partial int sched_getaffinity(int pid, nuint size, ulong* mask);

        [LibraryImport("libc")]
        private static partial int sched_setaffinity(int pid, nuint size, ulong* mask);

        [LibraryImport("libc")]
        private static partial int usleep(uint microseconds);
    }
}
