using System.Runtime.CompilerServices;
using System.Threading;
#if NETSTANDARD2_1
using System.Runtime.InteropServices;
#elif !NET10_0_OR_GREATER
using System.Runtime.Intrinsics.X86;
#endif

namespace NativeGoMap
{
    /// <summary>
    /// The one fence the concurrency checks need beyond .NET's acquire and release operations.
    /// x64 keeps loads in program order, so a check of the state word after a read's loads
    /// (a seqlock reader's second check) sees any write that changed what they read; Arm64
    /// does not, and .NET compiles <c>Volatile.Read</c> there to an acquire
    /// that may complete before the plain loads ahead of it (<c>ldapur</c>, seen in the JIT's
    /// listing under qemu-user), so the second check could pass on a read that saw a racing
    /// write's bytes. Found by a review of the orderings for Arm64 (2026-12-05); not reproduced:
    /// no Arm64 machine here, and the emulator runs with x64's ordering.
    /// </summary>
    internal static class Fences
    {
#if NETSTANDARD2_1
        /// <summary>Whether the process runs on a CPU that may reorder loads (not x86 or x64): netstandard2.1 cannot ask for the instruction set.</summary>
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
    }
}
