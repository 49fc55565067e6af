using System.Runtime.CompilerServices;
#if !NETSTANDARD2_1
using System.Runtime.Intrinsics.X86;
#endif

namespace NativeGoMap
{
    /// <summary>Software prefetch: a hint, never a fault (a prefetch of an invalid address is ignored). A no-op on netstandard2.1, which has no intrinsics.</summary>
    internal static unsafe class Prefetch
    {
        /// <summary>Starts loading the cache line holding <paramref name="p"/> into every cache level; no-op where unsupported.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static void Read(void* p)
        {
#if !NETSTANDARD2_1
            if (Sse.IsSupported)
            {
                Sse.Prefetch0(p);
            }
#endif
        }
    }
}
