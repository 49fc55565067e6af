using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace NativeGoMap
{
    /// <summary>Every throw of the library, out of line so the hot paths stay small.</summary>
    [StackTraceHidden]
    internal static class ThrowHelper
    {
        [DoesNotReturn]
        internal static void ThrowKeyNotFound<TKey>(TKey key) =>
            throw new KeyNotFoundException($"The given key '{key}' was not present in the map.");

        [DoesNotReturn]
        internal static void ThrowDuplicateKey<TKey>(TKey key) =>
            throw new ArgumentException($"An item with the same key has already been added. Key: {key}", nameof(key));

        [DoesNotReturn]
        internal static void ThrowDisposed(Type type) => throw new ObjectDisposedException(type.FullName);

        [DoesNotReturn]
        internal static void ThrowConcurrent(string message) => throw new ConcurrentMapAccessException(message);

        [DoesNotReturn]
        internal static void ThrowCountOverflow(long count) =>
            throw new OverflowException($"The map holds {count} entries, more than int.MaxValue; use LongCount.");

        [DoesNotReturn]
        internal static void ThrowBadMapState(string detail) =>
            throw new InvalidOperationException("bad map state: " + detail);

        [DoesNotReturn]
        internal static void ThrowUnsupportedKey(string reason) => throw new NotSupportedException(reason);

        [DoesNotReturn]
        internal static void ThrowOutOfMemory(string message) => throw new OutOfMemoryException(message);

        [DoesNotReturn]
        internal static void ThrowOutOfMemory_Injected() =>
            throw new OutOfMemoryException("Injected native allocation failure (fault seam).");

        [DoesNotReturn]
        internal static void ThrowEnumeratorEnded() =>
            throw new InvalidOperationException("The enumerator was disposed or has finished; a copy of it cannot go on.");

        [DoesNotReturn]
        internal static void ThrowSpanTooShort(string paramName) =>
            throw new ArgumentException("The span is shorter than the keys.", paramName);

        [DoesNotReturn]
        internal static void ThrowStaleValueRef() =>
            throw new InvalidOperationException("The map was written since the current entry was found; its value reference is stale.");

        [DoesNotReturn]
        internal static void ThrowNoCurrent() =>
            throw new InvalidOperationException("Enumeration has not started or has already finished.");
    }
}
