using System;

namespace NativeGoMap
{
    /// <summary>Process-wide figures about native memory held by maps.</summary>
    public static class GoMapDiagnostics
    {
        /// <summary>
        /// All native bytes currently held by all maps in the process: bucket arrays, overflow
        /// buckets, indirect key and value blocks, bookkeeping lists and memory retired while
        /// enumerators run, headers included. Returns to its earlier value when every map created
        /// since is disposed (or finalized). Exact when no thread is allocating or freeing at the
        /// moment of the read; while one is, it may be off by what that thread is doing. Cost: 16
        /// reads (the count is kept in per-thread stripes, so that threads making maps at once do
        /// not contend on it).
        /// </summary>
        public static long LiveNativeBytes => NativeHeap.LiveBytes;
    }

    /// <summary>
    /// A map was used by more than one thread at a time with at least one of them writing, or a
    /// map was used after such a use was detected (the map is then poisoned). The message is Go's,
    /// word for word: "concurrent map writes", "concurrent map read and map write" or
    /// "concurrent map iteration and map write".
    /// </summary>
    public sealed class ConcurrentMapAccessException : InvalidOperationException
    {
        /// <summary>Creates the exception with Go's message for a concurrent write.</summary>
        public ConcurrentMapAccessException()
            : base(GoMessages.ConcurrentWrites)
        {
        }

        /// <summary>Creates the exception with a given message.</summary>
        /// <param name="message">Go's message for the kind of race detected.</param>
        public ConcurrentMapAccessException(string message)
            : base(message)
        {
        }

        /// <summary>Creates the exception with a given message and cause.</summary>
        /// <param name="message">Go's message for the kind of race detected.</param>
        /// <param name="innerException">The exception that caused this one.</param>
        public ConcurrentMapAccessException(string message, Exception innerException)
            : base(message, innerException)
        {
        }
    }

    /// <summary>Go's runtime messages, word for word.</summary>
    internal static class GoMessages
    {
        internal const string ConcurrentWrites = "concurrent map writes";
        internal const string ConcurrentReadWrite = "concurrent map read and map write";
        internal const string ConcurrentIterationWrite = "concurrent map iteration and map write";
    }
}
