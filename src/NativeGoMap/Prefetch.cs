using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace NativeGoMap
{
    /// <summary>Software prefetch: a hint, never a fault (a prefetch of an invalid address is ignored).</summary>
    internal static unsafe class Prefetch
    {
        /// <summary>Starts loading the cache line holding <paramref name="p"/> into every cache level; no-op where unsupported.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static void Read(void* p)
        {
            if (Sse.IsSupported)
            {
                Sse.Prefetch0(p);
            }
        }
    }
}
