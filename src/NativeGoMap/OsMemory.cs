using System;
using System.Runtime.InteropServices;

namespace NativeGoMap
{
    /// <summary>
    /// Anonymous memory mappings straight from the OS (Linux), for big bucket arrays: aligned to
    /// 2 MiB and marked <c>MADV_HUGEPAGE</c> so that transparent huge pages back them (one TLB
    /// entry per 2 MiB instead of 512: a lookup in a 1M+ table stops paying a page-table walk on
    /// top of its cache miss), zero pages that nobody touches until an entry arrives, and
    /// releasable piece by piece (<c>munmap</c> of a tail), which is how a retired array is
    /// returned a bounded step per write. Elsewhere <see cref="Supported"/> is false and
    /// <see cref="NativeHeap"/> uses the C heap.
    /// </summary>
    internal static unsafe class OsMemory
    {
        /// <summary>Alignment of a mapping, and the huge page size on x64 and arm64 Linux.</summary>
        internal const ulong HugePage = 2UL << 20;

        /// <summary>The base page size assumed for lengths and cuts.</summary>
        internal const ulong Page = 4096;

        /// <summary>True where mappings are used: 64-bit Linux, unless NATIVEGOMAP_MMAP=0.</summary>
        internal static readonly bool Supported =
            IntPtr.Size == 8 && RuntimeInformation.IsOSPlatform(OSPlatform.Linux) && Environment.GetEnvironmentVariable("NATIVEGOMAP_MMAP") != "0";

        /// <summary>True when mappings ask for huge pages; NATIVEGOMAP_HUGEPAGES=0 turns it off (to measure the difference).</summary>
        internal static readonly bool HugePages = Environment.GetEnvironmentVariable("NATIVEGOMAP_HUGEPAGES") != "0";

        /// <summary>
        /// Maps <paramref name="length"/> bytes (a multiple of <see cref="Page"/>) of zeroed memory
        /// aligned to <see cref="HugePage"/>, or returns null when the OS refuses.
        /// </summary>
        internal static byte* Map(ulong length)
        {
            // Over-map by one huge page, then trim the unaligned head and the tail.
            ulong span = length + HugePage;
            IntPtr raw = NativeMethods.mmap(IntPtr.Zero, (nuint)span, NativeMethods.ProtReadWrite, NativeMethods.MapPrivateAnonymous, -1, 0);
            if (raw == NativeMethods.MapFailed)
            {
                return null;
            }

            ulong start = (ulong)raw;
            ulong aligned = (start + HugePage - 1) & ~(HugePage - 1);
            if (aligned != start)
            {
                NativeMethods.munmap(raw, (nuint)(aligned - start));
            }

            ulong end = start + span;
            ulong usedEnd = aligned + length;
            if (end != usedEnd)
            {
                NativeMethods.munmap((IntPtr)usedEnd, (nuint)(end - usedEnd));
            }

            if (HugePages && length >= HugePage)
            {
                NativeMethods.madvise((IntPtr)aligned, (nuint)length, NativeMethods.MadvHugePage);
            }

            return (byte*)aligned;
        }

        /// <summary>Returns <paramref name="length"/> bytes at <paramref name="p"/> (page-aligned) to the OS.</summary>
        internal static void Unmap(byte* p, ulong length)
        {
            if (NativeMethods.munmap((IntPtr)p, (nuint)length) != 0)
            {
                ThrowHelper.ThrowBadMapState("munmap failed");
            }
        }

        /// <summary>
        /// Gives the pages of <paramref name="length"/> bytes at <paramref name="p"/> (page-aligned)
        /// back to the OS but keeps them mapped: they read as zeros afterwards (MADV_DONTNEED on
        /// a private anonymous mapping).
        /// </summary>
        internal static void Discard(byte* p, ulong length)
        {
            if (length != 0 && NativeMethods.madvise((IntPtr)p, (nuint)length, NativeMethods.MadvDontNeed) != 0)
            {
                ThrowHelper.ThrowBadMapState("madvise(MADV_DONTNEED) failed");
            }
        }

        /// <summary>
        /// True when new mappings are populated ahead of use by a background thread: off unless
        /// NATIVEGOMAP_PREFAULT=1. Its effect on the slowest inserts could not be measured apart
        /// from the noise of the shared VM it was built on, so it is not the default.
        /// </summary>
        internal static readonly bool PrefaultEnabled = Environment.GetEnvironmentVariable("NATIVEGOMAP_PREFAULT") == "1";

        private static readonly object s_prefaultLock = new object();
        private static readonly System.Collections.Generic.Queue<(IntPtr Start, ulong Length, ulong Split)> s_prefaultQueue = new System.Collections.Generic.Queue<(IntPtr, ulong, ulong)>(64);
        private static System.Threading.Thread? s_prefaulter;
        private static bool s_prefaultUnsupported;

        /// <summary>
        /// Asks a background thread to populate a new mapping's pages for writing
        /// (MADV_POPULATE_WRITE: the kernel allocates and zeroes them; the contents do not
        /// change, so it is safe beside writes to the same pages), a huge page at a time, from
        /// its start. A first touch of a fresh page is a page fault, and on a virtual machine
        /// whose host backs guest memory lazily a fault of a fresh 2 MiB page was measured at
        /// milliseconds: without this the writes that evacuate into a new array would pay those
        /// faults one by one. A mapping unmapped before its turn (Dispose) is skipped: the kernel
        /// refuses an unmapped range, and populating a range reused by another mapping changes
        /// nothing in it. Allocates nothing once the thread and its queue exist.
        /// </summary>
        internal static void Prefault(byte* p, ulong length, ulong split)
        {
            if (!PrefaultEnabled || s_prefaultUnsupported)
            {
                return;
            }

            lock (s_prefaultLock)
            {
                if (s_prefaulter is null)
                {
                    s_prefaulter = new System.Threading.Thread(PrefaultLoop) { IsBackground = true, Name = "NativeGoMap prefault", Priority = System.Threading.ThreadPriority.BelowNormal };
                    s_prefaulter.Start();
                }

                s_prefaultQueue.Enqueue(((IntPtr)p, length, split & ~(HugePage - 1)));
                System.Threading.Monitor.Pulse(s_prefaultLock);
            }
        }

        private static void PrefaultLoop()
        {
            while (true)
            {
                (IntPtr Start, ulong Length, ulong Split) job;
                lock (s_prefaultLock)
                {
                    while (s_prefaultQueue.Count == 0)
                    {
                        System.Threading.Monitor.Wait(s_prefaultLock);
                    }

                    job = s_prefaultQueue.Dequeue();
                }

                // With a split, two cursors advance together: [0, split) and [split, 2 split);
                // then whatever lies beyond.
                ulong paired = job.Split != 0 && 2 * job.Split <= job.Length ? job.Split : 0;
                bool ok = true;
                for (ulong done = 0; ok && done < paired; done += HugePage)
                {
                    ok = Populate(job.Start, done, paired) && Populate(job.Start, paired + done, 2 * paired);
                }

                for (ulong done = 2 * paired; ok && done < job.Length; done += HugePage)
                {
                    ok = Populate(job.Start, done, job.Length);
                }
            }
        }

        /// <summary>Populates one huge page's worth at <paramref name="offset"/>, not past <paramref name="end"/>; false when the kernel refuses.</summary>
        private static bool Populate(IntPtr start, ulong offset, ulong end)
        {
            ulong n = Math.Min(HugePage, end - offset);
            if (NativeMethods.madvise(start + (nint)offset, (nuint)n, NativeMethods.MadvPopulateWrite) == 0)
            {
                return true;
            }

            // EINVAL: a kernel before 5.14 (no MADV_POPULATE_WRITE): stop asking.
            // ENOMEM: the mapping is gone (its map was disposed): skip the rest.
            if (Marshal.GetLastWin32Error() == 22)
            {
                s_prefaultUnsupported = true;
            }

            return false;
        }

        /// <summary>Rounds up to a whole number of base pages.</summary>
        internal static ulong RoundUpToPage(ulong n) => (n + Page - 1) & ~(Page - 1);

#pragma warning disable SYSLIB1054 // DllImport, not LibraryImport: the same code serves targets without the source generator
#pragma warning disable CA5392 // libc is resolved by the loader as every runtime does for "libc"
        private static class NativeMethods
        {
            internal const int ProtReadWrite = 0x1 | 0x2;            // PROT_READ | PROT_WRITE
            internal const int MapPrivateAnonymous = 0x02 | 0x20;    // MAP_PRIVATE | MAP_ANONYMOUS (Linux)
            internal const int MadvHugePage = 14;                    // MADV_HUGEPAGE (Linux)
            internal const int MadvDontNeed = 4;                     // MADV_DONTNEED (Linux)
            internal const int MadvPopulateWrite = 23;               // MADV_POPULATE_WRITE (Linux 5.14+)
            internal static readonly IntPtr MapFailed = new IntPtr(-1);

            [DllImport("libc", EntryPoint = "mmap")]
            internal static extern IntPtr mmap(IntPtr addr, nuint length, int prot, int flags, int fd, nint offset);

            [DllImport("libc", EntryPoint = "munmap")]
            internal static extern int munmap(IntPtr addr, nuint length);

            [DllImport("libc", EntryPoint = "madvise", SetLastError = true)]
            internal static extern int madvise(IntPtr addr, nuint length, int advice);
        }
#pragma warning restore CA5392
#pragma warning restore SYSLIB1054
    }
}
