using System;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Threading;

namespace NativeGoMap.Stress
{
    /// <summary>
    /// The few Linux calls the stress program needs to steer the scheduler and read fault counts;
    /// elsewhere each degrades to a portable approximation (no pinning, a yield, no counts).
    /// </summary>
    internal static unsafe partial class Native
    {
        private const int RusageThread = 1;

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

        /// <summary>
        /// What the calling thread has gone through so far: page faults (minor and major), and
        /// context switches, involuntary (preempted) and voluntary (blocked); zeros where unknown.
        /// One system call.
        /// </summary>
        internal static (long Faults, long Preempted, long Blocked) ThreadUsage()
        {
            if (!OperatingSystem.IsLinux())
            {
                return default;
            }

            RUsage u;
            return getrusage(RusageThread, &u) == 0 ? (u.MinFlt + u.MajFlt, u.NIvcsw, u.NVcsw) : default;
        }

        [LibraryImport("libc")]
        private static partial int sched_getaffinity(int pid, nuint size, ulong* mask);

        [LibraryImport("libc")]
        private static partial int sched_setaffinity(int pid, nuint size, ulong* mask);

        [LibraryImport("libc")]
        private static partial int usleep(uint microseconds);

        [LibraryImport("libc")]
        private static partial int getrusage(int who, RUsage* usage);

        /// <summary>struct rusage on 64-bit Linux: two timevals, then 14 longs.</summary>
        [StructLayout(LayoutKind.Sequential)]
        private struct RUsage
        {
            internal long UTimeSec;
            internal long UTimeMicro;
            internal long STimeSec;
            internal long STimeMicro;
            internal long MaxRss;
            internal long IxRss;
            internal long IdRss;
            internal long IsRss;
            internal long MinFlt;
            internal long MajFlt;
            internal long NSwap;
            internal long InBlock;
            internal long OuBlock;
            internal long MsgSnd;
            internal long MsgRcv;
            internal long NSignals;
            internal long NVcsw;
            internal long NIvcsw;
        }
    }
}
