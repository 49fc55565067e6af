using System.Runtime.CompilerServices;
#if !NETSTANDARD2_1
using System.Runtime.Intrinsics.X86;
#endif

namespace NativeGoMap
{
    /// <summary>Software prefetch: a hint, never a fault (a prefetch of an invalid address is ignored). x64 only: a no-op on Arm64, which has no prefetch intrinsic outside SVE, and on netstandard2.1, which has no intrinsics.</summary>
    internal static unsafe class Prefetch
    {
        /// <summary>Whether <see cref="Read"/> asks the CPU for anything.</summary>
        internal static bool IsSupported
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
#if NETSTANDARD2_1
            get => false;
#else
            get => Sse.IsSupported;
#endif
        }

        /// <summary>
        /// Where loads made only to start cache misses early, where <see cref="IsSupported"/> is
        /// false, put their bytes, so that the compiler keeps them (GoMap's batched lookup). Its
        /// value means nothing.
        /// </summary>
        internal static int Sink;

        /// <summary>Starts loading the cache line holding <paramref name="p"/> into every cache level; no-op where unsupported.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static void Read(void* p)
        {
#if !NETSTANDARD2_1
            if (IsSupported)
            {
                Sse.Prefetch0(p);
            }
#endif
        }

        /// <summary>
        /// Starts loading the cache line holding <paramref name="p"/> into the L2 cache and
        /// beyond, not L1 (<c>prefetcht1</c>); no-op where unsupported. For lines wanted a while
        /// later, in bulk: the enumerator's walk of big buckets (see GoMap's LoadGroup).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static void ReadToL2(void* p)
        {
#if !NETSTANDARD2_1
            if (IsSupported)
            {
                Sse.Prefetch1(p);
            }
#endif
        }
    }
}
