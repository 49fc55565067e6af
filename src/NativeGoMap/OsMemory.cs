using System;
using System.Runtime.InteropServices;

namespace NativeGoMap
{
    /// <summary>
    /// Anonymous memory mappings straight from the OS (Linux), for big bucket arrays: aligned to
    /// 2 MiB, zero pages, and releasable piece by piece (<c>MADV_DONTNEED</c> of a tail), which
    /// is how a retired array is returned a bounded step per write. Two kinds (see
    /// <see cref="NativeHeap.Alloc"/>):
    /// <list type="bullet">
    /// <item>Committed (an array the caller sized: a capacity hint, <c>EnsureCapacity</c>, a
    /// snapshot load): marked <c>MADV_HUGEPAGE</c> so that transparent huge pages back it (one
    /// TLB entry per 2 MiB instead of 512: a lookup in a 1M+ table stops paying a page-table
    /// walk on top of its cache miss) and populated at once, in the call that asked for it.</item>
    /// <item>On demand (an array a growth allocates under the writes): huge pages, faulted in by
    /// the writes as they reach them; or, with <see cref="GoMapOptions.SmallPagesForGrowth"/>,
    /// base pages (marked <c>MADV_NOHUGEPAGE</c>) populated by the release thread ahead of the
    /// writes (<see cref="NativeHeap.PopulateInBackground"/>) and faulted in by the growth's
    /// evacuations where they get there first, a 128 KiB chunk a write and page by page past it (<see cref="NativeHeap.FaultIn"/>). A first touch of a fresh 2 MiB page was
    /// measured at 3 to 5 ms on the README's VM (its kernel reports every free 2 MiB block to
    /// the host, virtio-balloon free page reporting at order 9, and the host backs it again on
    /// that touch; 0.1 ms for a block freed less than half a second before), a
    /// base-page fault at 16 to 27 µs, MADV_POPULATE_WRITE at about 1.2 µs a base page: huge
    /// pages put a multi-millisecond fault into single writes there, base pages cost builds up
    /// to 3 times as long and lookups 10-25 % more.
    /// Measured and not built (2026-12-06, a C probe on the README's VM, kernel 6.18): base
    /// pages populated ahead, then folded into huge pages in the background by
    /// <c>MADV_COLLAPSE</c> (25) a 2 MiB piece at a time, to keep a growth's writes free of
    /// faults and still give lookups huge pages. The collapse worked (256 MiB all in huge pages
    /// after it), but each piece took 4.7 ms on average and up to 8.5 ms: its copy lands in a
    /// fresh 2 MiB block the host backs on that touch, as a write's own fault would. A thread
    /// storing at random into the mapping meanwhile stalled for 5.0-8.3 ms in each of three runs
    /// (its store met a piece being collapsed), against 0.07-0.5 ms with nothing running
    /// beside it: the stall moves, it does not go.</item>
    /// </list>
    /// Elsewhere <see cref="Supported"/> is false and <see cref="NativeHeap"/> uses the C heap.
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
        /// aligned to <see cref="HugePage"/>, or returns null when the OS refuses. With
        /// <paramref name="huge"/> (and <see cref="HugePages"/>), asks for transparent huge pages;
        /// otherwise, from 2 MiB up, for base pages (MADV_NOHUGEPAGE).
        /// </summary>
        internal static byte* Map(ulong length, bool huge)
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

            if (length >= HugePage)
            {
                // Either way explicitly: under THP "always" (some distributions' default) the
                // kernel backs an unmarked mapping with huge pages too, and base pages asked for
                // (SmallPagesForGrowth, NATIVEGOMAP_HUGEPAGES=0) would not be.
                NativeMethods.madvise((IntPtr)aligned, (nuint)length, huge && HugePages ? NativeMethods.MadvHugePage : NativeMethods.MadvNoHugePage);
            }

            return (byte*)aligned;
        }

        /// <summary>
        /// Asks for base pages in the first 2 MiB of a mapping of more than that, so that the
        /// write of its header (<see cref="NativeHeap"/>) faults in one 4 KiB page (tens of µs)
        /// rather than a fresh 2 MiB one (3-5 ms on the README's VM): for an array allocated ahead
        /// of its growth, whose other pages the release thread faults in.
        /// </summary>
        internal static void SmallFirstHugePage(byte* p) => NativeMethods.madvise((IntPtr)p, (nuint)HugePage, NativeMethods.MadvNoHugePage);

        /// <summary>Returns <paramref name="length"/> bytes at <paramref name="p"/> (page-aligned) to the OS.</summary>
        internal static void Unmap(byte* p, ulong length)
        {
            if (NativeMethods.munmap((IntPtr)p, (nuint)length) != 0)
            {
                ThrowHelper.ThrowBadMapState("munmap failed");
            }
        }

        /// <summary>
        /// <see cref="Unmap"/> in pieces of <see cref="HugePage"/> from the end: munmap holds the
        /// mmap lock for writing, and any thread's first fault in a mapping waits for that lock
        /// (unmapping a 78 MiB array at once held it for 8 ms on the README's VM). For the release
        /// thread's unmaps and for <see cref="NativeHeap.UnmapAtOnce"/>'s.
        /// </summary>
        internal static void UnmapInPieces(byte* start, ulong length)
        {
            while (length > HugePage)
            {
                ulong piece = length % HugePage == 0 ? HugePage : length % HugePage;
                length -= piece;
                Unmap(start + length, piece);
            }

            Unmap(start, length);
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
        /// Populates <paramref name="length"/> bytes at <paramref name="p"/> (page-aligned, freshly
        /// mapped, nobody else using them) for writing, so that no later write takes a page fault
        /// in them: MADV_POPULATE_WRITE (Linux 5.14+; the contents stay zero), else a zero byte
        /// written to every base page. Costs what the faults would have cost, in one call: on the
        /// 2-vCPU KVM guest of the README, about 2 ms per MiB of memory the host had not backed yet.
        /// </summary>
        internal static void Populate(byte* p, ulong length)
        {
            if (!TryPopulate(p, length))
            {
                Touch(p, length); // faults as writes would
            }
        }

        /// <summary>
        /// MADV_POPULATE_WRITE of <paramref name="length"/> bytes at <paramref name="p"/>
        /// (page-aligned): the pages are allocated and mapped, their contents unchanged, so it is
        /// safe beside writes to them. False when the kernel refuses (before 5.14: EINVAL, after
        /// which it is not asked again; ENOMEM: no memory now, or the range is not mapped).
        /// </summary>
        internal static bool TryPopulate(byte* p, ulong length)
        {
            if (length == 0 || (!s_populateUnsupported && NativeMethods.madvise((IntPtr)p, (nuint)length, NativeMethods.MadvPopulateWrite) == 0))
            {
                return true;
            }

            if (!s_populateUnsupported && Marshal.GetLastWin32Error() == 22)
            {
                s_populateUnsupported = true;
            }

            return false;
        }

        /// <summary>Writes a zero byte to every base page that <paramref name="length"/> bytes at <paramref name="p"/> (zeroed memory nobody else uses) overlap, faulting them in.</summary>
        internal static void Touch(byte* p, ulong length)
        {
            for (ulong o = 0; o < length; o += Page)
            {
                System.Threading.Volatile.Write(ref p[o], (byte)0);
            }

            if (length != 0)
            {
                System.Threading.Volatile.Write(ref p[length - 1], (byte)0);
            }
        }

        private static bool s_populateUnsupported;

        /// <summary>Rounds up to a whole number of base pages.</summary>
        internal static ulong RoundUpToPage(ulong n) => (n + Page - 1) & ~(Page - 1);

#pragma warning disable SYSLIB1054 // DllImport, not LibraryImport: the same code serves targets without the source generator
#pragma warning disable CA5392 // libc is resolved by the loader as every runtime does for "libc"
        private static class NativeMethods
        {
            internal const int ProtReadWrite = 0x1 | 0x2;            // PROT_READ | PROT_WRITE
            internal const int MapPrivateAnonymous = 0x02 | 0x20;    // MAP_PRIVATE | MAP_ANONYMOUS (Linux)
            internal const int MadvHugePage = 14;                    // MADV_HUGEPAGE (Linux)
            internal const int MadvNoHugePage = 15;                  // MADV_NOHUGEPAGE (Linux)
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
