using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Threading;

namespace NativeGoMap
{
    /// <summary>
    /// The one place native memory is allocated and freed. Every block carries a 16-byte
    /// header just below the address handed out:
    /// <code>
    ///   base ... [ size:48 | offset:8 | magic:8 ][ next ] user bytes ...
    ///            ^ user - 16                      ^ user - 8   ^ user
    /// </code>
    /// <c>size</c> is the number of bytes charged to <see cref="GoMapDiagnostics.LiveNativeBytes"/>
    /// for the block (header and alignment slack included), <c>offset</c> is <c>user - base</c>,
    /// and <c>next</c> links the block into a map's deferred-free list without allocating
    /// (see <c>GoMap.Iteration.cs</c>: retired memory waits there while enumerators live).
    /// </summary>
    internal static unsafe class NativeHeap
    {
        private const int HeaderSize = 16;
        private const ulong Magic = 0xA7UL << 56;
        private const ulong FreedMagic = 0x5DUL << 56;
        private const ulong SizeMask = (1UL << 48) - 1;

        /// <summary>Byte written over freed memory in poison mode; as a tophash it reads as a live slot, so a stale read shows.</summary>
        internal const byte PoisonByte = 0xDB;

        private static long s_liveBytes;

        // Fault seam (tests and stress only): per thread, so parallel tests do not disturb each other.
        [ThreadStatic] private static long t_failAt;          // 0 = off; else the allocation number that fails
        [ThreadStatic] private static long t_allocations;     // allocations made on this thread
        [ThreadStatic] private static bool t_poison;
        [ThreadStatic] private static List<IntPtr>? t_quarantine;

        /// <summary>All bytes currently held by every map in the process.</summary>
        internal static long LiveBytes => Volatile.Read(ref s_liveBytes);

        /// <summary>Number of native allocations attempted on this thread (the fault seam's clock).</summary>
        internal static long AllocationCount => t_allocations;

        /// <summary>
        /// Makes the <paramref name="n"/>th allocation from now on this thread throw
        /// <see cref="OutOfMemoryException"/> (1 = the next one). 0 disarms.
        /// </summary>
        internal static void FailAfter(long n) => t_failAt = n <= 0 ? 0 : t_allocations + n;

        /// <summary>Disarms the fault seam on this thread.</summary>
        internal static void ClearFault() => t_failAt = 0;

        /// <summary>
        /// Poison mode for this thread: freed blocks are overwritten with <see cref="PoisonByte"/>
        /// and kept in quarantine instead of being returned to the C heap, so a use-after-free
        /// reads poison deterministically. <see cref="ReleaseQuarantine"/> ends it.
        /// </summary>
        internal static bool PoisonFreedMemory
        {
            get => t_poison;
            set => t_poison = value;
        }

        /// <summary>Returns every quarantined block to the C heap.</summary>
        internal static void ReleaseQuarantine()
        {
            if (t_quarantine is null)
            {
                return;
            }

            foreach (IntPtr p in t_quarantine)
            {
                NativeMemory.Free((void*)p);
            }

            t_quarantine.Clear();
        }

        /// <summary>
        /// Allocates <paramref name="size"/> bytes whose address is a multiple of
        /// <paramref name="align"/> (a power of two, 16 or more). With <paramref name="zero"/>
        /// the memory comes from <c>calloc</c>, which for large sizes maps fresh zero pages
        /// from the OS without touching them.
        /// </summary>
        /// <exception cref="OutOfMemoryException">The C heap is exhausted, or the fault seam fired.</exception>
        internal static byte* Alloc(ulong size, bool zero, int align = HeaderSize)
        {
            long n = ++t_allocations;
            if (t_failAt != 0 && n == t_failAt)
            {
                t_failAt = 0;
                ThrowHelper.ThrowOutOfMemory_Injected();
            }

            ulong slack = (ulong)(align > HeaderSize ? align : 0);
            ulong total = size + HeaderSize + slack;
            if (size > SizeMask || total > SizeMask)
            {
                throw new OutOfMemoryException();
            }

            byte* baseP = (byte*)(zero ? NativeMemory.AllocZeroed((nuint)total) : NativeMemory.Alloc((nuint)total));
            if (baseP == null)
            {
                throw new OutOfMemoryException();
            }

            byte* user = baseP + HeaderSize;
            if (slack != 0)
            {
                user = (byte*)(((ulong)user + (ulong)(align - 1)) & ~(ulong)(align - 1));
            }

            ulong offset = (ulong)(user - baseP);
            *(ulong*)(user - HeaderSize) = total | (offset << 48) | Magic;
            *(byte**)(user - 8) = null;
            Interlocked.Add(ref s_liveBytes, (long)total);
            return user;
        }

        /// <summary>Bytes charged for the block at <paramref name="p"/> (header and slack included).</summary>
        internal static long ChargedSize(byte* p) => (long)(*(ulong*)(p - HeaderSize) & SizeMask);

        /// <summary>The deferred-free link of a block (null when not linked).</summary>
        internal static ref byte* Next(byte* p) => ref *(byte**)(p - 8);

        /// <summary>Frees a block from <see cref="Alloc"/>; null is ignored. A block freed twice is caught.</summary>
        internal static void Free(byte* p)
        {
            if (p == null)
            {
                return;
            }

            ulong header = *(ulong*)(p - HeaderSize);
            if ((header & (0xFFUL << 56)) != Magic)
            {
                ThrowHelper.ThrowBadMapState("native block freed twice or not ours");
            }

            ulong total = header & SizeMask;
            ulong offset = (header >> 48) & 0xFF;
            byte* baseP = p - offset;
            *(ulong*)(p - HeaderSize) = (header & ~(0xFFUL << 56)) | FreedMagic;
            Interlocked.Add(ref s_liveBytes, -(long)total);
            if (t_poison)
            {
                new Span<byte>(p, checked((int)Math.Min(total - offset, int.MaxValue))).Fill(PoisonByte);
                (t_quarantine ??= new List<IntPtr>()).Add((IntPtr)baseP);
                return;
            }

            NativeMemory.Free(baseP);
        }
    }
}
