using System.Runtime.CompilerServices;
using System.Threading;
#if NETSTANDARD2_1
using System.Runtime.InteropServices;
#else
using System.Runtime.Intrinsics.X86;
#endif

namespace NativeGoMap
{
    /// <summary>
    /// The two fences the concurrency checks need beyond .NET's acquire and release operations
    /// and the full fences of its interlocked ones, for CPUs that reorder more than x64 does.
    /// <see cref="LoadsBeforeLaterAccesses"/>: x64 keeps loads in program order, so a check of
    /// the state word after a read's loads (a seqlock reader's second check) sees any write that
    /// changed what they read; Arm64 does not, and .NET compiles <c>Volatile.Read</c> there to an
    /// acquire that may complete before the plain loads ahead of it (<c>ldapur</c>, seen in the
    /// JIT's listing under qemu-user), so the second check could pass on a read that saw a racing
    /// write's bytes. <see cref="StoreBeforeLaterLoadsOffX86"/>: a Strict reader's announcement
    /// before its loads of the map (see <see cref="ReaderRegistry"/>). Both found by reviews of
    /// the orderings for Arm64 (2026-12-05); not reproduced: no Arm64 machine here, and the
    /// emulator runs with x64's ordering. Not fenced, by choice: a Go-mode write's stores after
    /// its hashWriting store (a release store, which later plain stores may pass on Arm64), as
    /// Go's own <c>h.flags ^= hashWriting</c> is not; see <see cref="ConcurrencyChecks.Go"/>.
    /// </summary>
    internal static class Fences
    {
#if NETSTANDARD2_1
        /// <summary>Whether the process runs on a CPU that may reorder loads, and stores with later loads beyond x64's store buffer (not x86 or x64): netstandard2.1 cannot ask for the instruction set.</summary>
        private static readonly bool LoadsMayPass = RuntimeInformation.ProcessArchitecture is not (Architecture.X86 or Architecture.X64);
#endif

        /// <summary>
        /// Orders every load before it ahead of every load and store after it: .NET 10's
        /// <c>Volatile.ReadBarrier</c> (<c>dmb ishld</c> on Arm64, nothing on x64); on .NET 8 and
        /// netstandard2.1 a full fence where the CPU is not x86 or x64, and nothing where it is.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static void LoadsBeforeLaterAccesses()
        {
#if NET10_0_OR_GREATER
            Volatile.ReadBarrier();
#elif NETSTANDARD2_1
            if (LoadsMayPass)
            {
                Interlocked.MemoryBarrier();
            }
#else
            if (!X86Base.IsSupported)
            {
                Interlocked.MemoryBarrier();
            }
#endif
        }

        /// <summary>
        /// Orders every store before it ahead of every load after it where the CPU is not x86 or
        /// x64 (a full fence; nothing on x86 and x64, the JIT folding the test away). There the
        /// writer's <see cref="System.Threading.Interlocked.MemoryBarrierProcessWide"/> stands in
        /// for it: the page-protection change that implements it where <c>membarrier</c> is
        /// missing (Mono on Linux always) interrupts every core on x86 and x64, which drains its
        /// store buffer; Arm64 invalidates TLBs by broadcast, without interrupts, so that fallback
        /// orders nothing there.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static void StoreBeforeLaterLoadsOffX86()
        {
#if NETSTANDARD2_1
            if (LoadsMayPass)
#else
            if (!X86Base.IsSupported)
#endif
            {
                Interlocked.MemoryBarrier();
            }
        }
    }
}
