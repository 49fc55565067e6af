using System;
using System.Diagnostics.CodeAnalysis;
using System.Threading;

namespace NativeGoMap
{
    /// <summary>
    /// Whether the running runtime implements <see cref="Interlocked.MemoryBarrierProcessWide"/>,
    /// the asymmetric fence that lets <see cref="ReaderRegistry"/> see every reader's
    /// announcement before memory is freed. netstandard2.1 declares it, but whether a runtime
    /// implements it is the runtime's business: CoreCLR does (membarrier or FlushProcessWriteBuffers),
    /// and so does Mono 6.8 (measured: about 0.1 ms a call); a runtime that does not throws from
    /// it. A Strict map, which relies on the fence, checks here at construction, so such a runtime fails
    /// there with a clear <see cref="PlatformNotSupportedException"/>, not in the middle of a write.
    /// </summary>
    internal static class ProcessWideBarrier
    {
        /// <summary>Null when the fence works here; otherwise what the runtime answered.</summary>
        internal static readonly string? Unavailable = Probe();

        /// <summary>Throws <see cref="PlatformNotSupportedException"/> when the fence is unavailable.</summary>
        internal static void EnsureAvailable()
        {
            if (Unavailable is not null)
            {
                ThrowUnavailable(Unavailable);
            }
        }

        private static string? Probe()
        {
            try
            {
                Interlocked.MemoryBarrierProcessWide();
                return null;
            }
            catch (Exception e) when (e is PlatformNotSupportedException or NotSupportedException or NotImplementedException or MissingMethodException or EntryPointNotFoundException)
            {
                return $"{e.GetType().Name}: {e.Message}";
            }
        }

        [DoesNotReturn]
        private static void ThrowUnavailable(string reason) =>
            throw new PlatformNotSupportedException(
                "GoMap's reader announcements (ConcurrencyChecks.Strict) need Interlocked.MemoryBarrierProcessWide, which this runtime does not implement (" + reason + "). ConcurrencyChecks.Go, the default, does not need it.");
    }
}
