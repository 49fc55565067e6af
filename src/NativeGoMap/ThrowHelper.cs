using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace NativeGoMap
{
    /// <summary>
    /// Every throw of the map's code, out of line so the hot paths stay small; the snapshot
    /// format's have their own class (SnapshotErrors, SnapshotFormat.cs), and the Compat shims
    /// throw as the .NET APIs they stand in for do.
    /// </summary>
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
        internal static void ThrowCopyToIndex(int index, int length) =>
            throw new ArgumentOutOfRangeException(nameof(index), index, $"The index must lie between 0 and the array's length ({length}).");

        [DoesNotReturn]
        internal static void ThrowCopyToTooSmall() =>
            throw new ArgumentException("Destination array is not long enough to copy all the items in the collection. Check array index and length.");

        [DoesNotReturn]
        internal static void ThrowKeyCollectionReadOnly() =>
            throw new NotSupportedException("Mutating a key collection derived from a map is not allowed.");

        [DoesNotReturn]
        internal static void ThrowValueCollectionReadOnly() =>
            throw new NotSupportedException("Mutating a value collection derived from a map is not allowed.");

        [DoesNotReturn]
        internal static void ThrowDisposed(Type type) => throw new ObjectDisposedException(type.FullName);

        [DoesNotReturn]
        internal static void ThrowStreamNotWritable(string paramName) => throw new ArgumentException("The stream is not writable.", paramName);

        [DoesNotReturn]
        internal static void ThrowStreamNotReadable(string paramName) => throw new ArgumentException("The stream is not readable.", paramName);

        [DoesNotReturn]
        internal static void ThrowNeeds64BitProcess() =>
            throw new PlatformNotSupportedException("NativeGoMap needs a 64-bit process: its bucket layout, the state words its checks read and its memory management assume 8-byte pointers.");

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
        internal static void ThrowCapacityNegative(string paramName, long capacity) =>
            throw new ArgumentOutOfRangeException(paramName, capacity, "The capacity must not be negative.");

        [DoesNotReturn]
        internal static void ThrowCapacityBelowCount(string paramName, long capacity, long count) =>
            throw new ArgumentOutOfRangeException(paramName, capacity, $"The capacity must not be less than the map's count ({count}).");

        [DoesNotReturn]
        internal static void ThrowOutOfMemory(string message) => throw new OutOfMemoryException(message);

        [DoesNotReturn]
        internal static void ThrowNativeAllocationFailed(ulong bytes) =>
            throw new OutOfMemoryException("A native allocation of " + bytes.ToString("N0", CultureInfo.InvariantCulture) + " bytes failed.");

        [DoesNotReturn]
        internal static void ThrowOutOfMemory_Injected() =>
            throw new OutOfMemoryException("Injected native allocation failure (fault seam).");

        [DoesNotReturn]
        internal static void ThrowEnumeratorEnded() =>
            throw new InvalidOperationException(
                "A copy of this enumerator was disposed, finished or reset. Copies of a GoMap enumerator share one registration, " +
                "which keeps memory retired under the enumeration alive; once it ends, no copy can go on. Start a new enumeration, or Reset this one.");

        /// <summary>ArgumentNullException.ThrowIfNull, which netstandard2.1 lacks.</summary>
        internal static void ThrowIfNull([NotNull] object? argument, string paramName)
        {
            if (argument is null)
            {
                ThrowArgumentNull(paramName);
            }
        }

        [DoesNotReturn]
        internal static void ThrowArgumentNull(string paramName) => throw new ArgumentNullException(paramName);

        [DoesNotReturn]
        internal static void ThrowSpanTooShort(string paramName) =>
            throw new ArgumentException("The span is shorter than the keys.", paramName);

        [DoesNotReturn]
        internal static void ThrowStaleValueRef() =>
            throw new InvalidOperationException("The map was written since the current entry was found; its value reference is stale.");

        [DoesNotReturn]
        internal static void ThrowNoCurrent() =>
            throw new InvalidOperationException("Enumeration has either not started or has already finished.");
    }
}
