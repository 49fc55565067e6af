using System;
using System.Runtime.InteropServices;

namespace NativeGoMap
{
    /// <summary>
    /// Asks Linux to back a large block with 2 MiB pages (<c>madvise(MADV_HUGEPAGE)</c>; this
    /// machine's transparent-huge-page mode is <c>madvise</c>, so nothing is huge unless asked).
    /// First touches of fresh memory then fault once per 2 MiB instead of once per 4 KiB: in a VM,
    /// where each 4 KiB fault costs microseconds, that is most of the cost of writing a fresh
    /// buffer. Advice only: it never fails the caller, and elsewhere than Linux it does nothing.
    /// </summary>
    internal static unsafe partial class HugePages
    {
        private const int MadvHugePage = 14;
        private const ulong PageSize = 2UL << 20;

        private static volatile bool s_unavailable; // libc's madvise could not be bound: stop asking

        /// <summary>Advises the whole 2 MiB pages inside [<paramref name="p"/>, <paramref name="p"/> + <paramref name="size"/>).</summary>
        internal static void Advise(byte* p, ulong size)
        {
            if (!OperatingSystem.IsLinux() || size < 2 * PageSize || s_unavailable)
            {
                return;
            }

            ulong start = ((ulong)p + PageSize - 1) & ~(PageSize - 1);
            ulong end = ((ulong)p + size) & ~(PageSize - 1);
            if (end <= start)
            {
                return;
            }

            try
            {
                _ = Madvise((void*)start, (nuint)(end - start), MadvHugePage); // advice: a refusal changes nothing
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                s_unavailable = true;
            }
        }

        [LibraryImport("libc", EntryPoint = "madvise")]
        private static partial int Madvise(void* address, nuint length, int advice);
    }
}
