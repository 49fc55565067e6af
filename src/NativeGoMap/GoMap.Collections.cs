using System;
using System.Collections;
using System.Collections.Generic;
using System.Runtime.CompilerServices;

namespace NativeGoMap
{
    // Keys and Values: read-only collections over the map, as Dictionary's KeyCollection and
    // ValueCollection, but structs, so that `map.Keys` and `foreach` over it allocate nothing.
    //
    // Their enumerations line up: while the map is not written, an enumeration of Keys and one
    // of Values walk the buckets from the same start, so they come in the same order and
    // Keys.Zip(Values) pairs each key with its value (.NET's contract). The start is not drawn
    // from the map's RNG, as the map's own enumerator's is (Go's random start per range), but
    // mixed from the seed and the state word's write counts (OrderedStart): fixed between two
    // writes, different after each.
    //
    // ValueCollection and ValueEnumerator mirror KeyCollection and KeyEnumerator member for
    // member (as Dictionary's do); keep the two in sync. Deliberate differences, as in
    // Dictionary: KeyCollection.Contains is public (a lookup) where ValueCollection's is an
    // explicit ICollection member (a scan, ContainsValue); ValueEnumerator has CurrentValueRef
    // (the map's enumerator's, for updates in place) and KeyEnumerator nothing like it (a key
    // must not change in place).
    public sealed unsafe partial class GoMap<TKey, TValue>
    {
        // The boxes the IDictionary and IReadOnlyDictionary forms of Keys and Values hand out:
        // made on first use and kept, so those properties allocate once per map, as Dictionary's do.
        private ICollection<TKey>? _keysBox;
        private ICollection<TValue>? _valuesBox;

        /// <summary>
        /// The keys, as a read-only struct collection: getting it and <c>foreach</c> over it
        /// allocate nothing. O(1); does not check the map's state until used.
        /// </summary>
        /// <remarks>
        /// While the map is not written, every enumeration of <see cref="Keys"/> and of
        /// <see cref="Values"/> comes in one and the same order, so <c>Keys.Zip(Values)</c>, or
        /// <c>Keys.ToArray()</c> beside <c>Values.ToArray()</c>, pairs each key with its value. Any
        /// write may change that order. Otherwise as <see cref="GetEnumerator"/>: each entry present
        /// throughout an enumeration is yielded once, and writes during it are allowed.
        /// </remarks>
        public KeyCollection Keys => new KeyCollection(this);

        /// <summary>
        /// The values, as a read-only struct collection: getting it and <c>foreach</c> over it
        /// allocate nothing. O(1). In the order of <see cref="Keys"/> while the map is not written.
        /// </summary>
        public ValueCollection Values => new ValueCollection(this);

        /// <summary>
        /// Start of a <see cref="Keys"/> or <see cref="Values"/> enumeration beginning at state word
        /// <paramref name="state"/>: the write counts (bits 8 and up, which every write moves) mixed with the seed, so it is
        /// the same for every such enumeration until the next write, and unpredictable without the seed.
        /// </summary>
        private ulong OrderedStart(long state)
        {
            ulong x = _hash0 ^ ((ulong)state >> 8);
            return Hasher.SplitMix(ref x);
        }

        /// <summary>
        /// The keys of a map: a read-only <see cref="ICollection{T}"/> and
        /// <see cref="IReadOnlyCollection{T}"/> that reads through to the map, as
        /// <see cref="Dictionary{TKey, TValue}.KeyCollection"/> does. A struct: used through an
        /// interface it is boxed (one allocation); the map's <see cref="IDictionary{TKey, TValue}.Keys"/>
        /// keeps one such box.
        /// </summary>
        public readonly struct KeyCollection : ICollection<TKey>, IReadOnlyCollection<TKey>
        {
            private readonly GoMap<TKey, TValue> _map;

            internal KeyCollection(GoMap<TKey, TValue> map) => _map = map;

            /// <summary>Number of keys: the map's <see cref="GoMap{TKey, TValue}.Count"/>. O(1).</summary>
            /// <exception cref="OverflowException">More than <see cref="int.MaxValue"/> keys; read <see cref="LongCount"/>.</exception>
            /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
            public int Count => _map.Count;

            /// <summary>Number of keys, as a 64-bit count. O(1).</summary>
            /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
            public long LongCount => _map.LongCount;

            /// <summary>Always true: keys cannot be added or removed through this collection.</summary>
            bool ICollection<TKey>.IsReadOnly => true;

            /// <summary>
            /// Whether the map holds <paramref name="key"/>: one lookup, the map's
            /// <see cref="GoMap{TKey, TValue}.ContainsKey"/>. O(1), no allocation.
            /// </summary>
            /// <param name="key">The key.</param>
            /// <returns>True when present.</returns>
            /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
            /// <exception cref="ConcurrentMapAccessException">A concurrent write was detected.</exception>
            public bool Contains(TKey key) => _map.ContainsKey(key);

            /// <summary>
            /// Copies the keys into <paramref name="array"/> from <paramref name="index"/> on, in the
            /// order an enumeration of <see cref="Keys"/> yields them. One enumeration: O(n + 2^B), and
            /// its registration (<see cref="GetEnumerator"/>); no GC allocation; checks the arguments as
            /// Dictionary does before writing anything.
            /// </summary>
            /// <param name="array">The destination.</param>
            /// <param name="index">Where the first key goes.</param>
            /// <exception cref="ArgumentNullException"><paramref name="array"/> is null.</exception>
            /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is negative or past the end of <paramref name="array"/>.</exception>
            /// <exception cref="ArgumentException">The keys do not fit between <paramref name="index"/> and the end.</exception>
            /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
            /// <exception cref="ConcurrentMapAccessException">A write ran on another thread before or during the copy, or the map is poisoned.</exception>
            /// <exception cref="OutOfMemoryException">The map's registration table could not be allocated or doubled (see <see cref="GetEnumerator"/>).</exception>
            public void CopyTo(TKey[] array, int index)
            {
                _map.CheckCopyTo(array, index);
                CopyAll<TKey, KeyEnumerator>(GetEnumerator(), array, index);
            }

            /// <summary>
            /// Starts an enumeration of the keys, in the order of <see cref="Values"/>; see
            /// <see cref="GoMap{TKey, TValue}.Keys"/>. Costs as <see cref="GoMap{TKey, TValue}.GetEnumerator"/>.
            /// </summary>
            /// <returns>A struct enumerator.</returns>
            /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
            /// <exception cref="ConcurrentMapAccessException">A write is running on another thread, or an earlier race was detected (the map is poisoned).</exception>
            /// <exception cref="OutOfMemoryException">The map's registration table could not be allocated (any first enumeration of a non-empty map) or doubled.</exception>
            public KeyEnumerator GetEnumerator() => new KeyEnumerator(new Enumerator(_map, ordered: true));

            /// <summary>Not supported: the collection is read-only.</summary>
            /// <exception cref="NotSupportedException">Always.</exception>
            void ICollection<TKey>.Add(TKey item) => ThrowHelper.ThrowKeyCollectionReadOnly();

            /// <summary>Not supported: the collection is read-only.</summary>
            /// <exception cref="NotSupportedException">Always.</exception>
            void ICollection<TKey>.Clear() => ThrowHelper.ThrowKeyCollectionReadOnly();

            /// <summary>Not supported: the collection is read-only.</summary>
            /// <exception cref="NotSupportedException">Always.</exception>
            bool ICollection<TKey>.Remove(TKey item)
            {
                ThrowHelper.ThrowKeyCollectionReadOnly();
                return false;
            }

            /// <summary>Boxes a new <see cref="KeyEnumerator"/> (one allocation); otherwise as <see cref="GetEnumerator"/>.</summary>
            /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
            /// <exception cref="ConcurrentMapAccessException">A write is running on another thread, or an earlier race was detected (the map is poisoned).</exception>
            /// <exception cref="OutOfMemoryException">The map's registration table could not be allocated (any first enumeration of a non-empty map) or doubled.</exception>
            IEnumerator<TKey> IEnumerable<TKey>.GetEnumerator() => GetEnumerator();

            /// <summary>Boxes a new <see cref="KeyEnumerator"/> (one allocation); otherwise as <see cref="GetEnumerator"/>.</summary>
            /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
            /// <exception cref="ConcurrentMapAccessException">A write is running on another thread, or an earlier race was detected (the map is poisoned).</exception>
            /// <exception cref="OutOfMemoryException">The map's registration table could not be allocated (any first enumeration of a non-empty map) or doubled.</exception>
            IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
        }

        /// <summary>
        /// Enumerates keys. Same rules as <see cref="Enumerator"/>, copies included; a reset
        /// starts again in the order <see cref="Values"/> would yield.
        /// </summary>
        public struct KeyEnumerator : IEnumerator<TKey>
        {
            private Enumerator _inner;

            internal KeyEnumerator(Enumerator inner) => _inner = inner;

            /// <summary>The current key; <c>default</c> before the first and after the last <see cref="MoveNext"/>. O(1).</summary>
            public readonly TKey Current => _inner.Current.Key;

            /// <summary>The current key, boxed: one allocation per call (the typed <see cref="Current"/> allocates nothing).</summary>
            /// <exception cref="InvalidOperationException">Before the first <see cref="MoveNext"/> or after the last.</exception>
            readonly object IEnumerator.Current => _inner.UntypedCurrent(Current);

            /// <summary>Advances; see <see cref="Enumerator.MoveNext"/>.</summary>
            /// <returns>False at the end.</returns>
            /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
            /// <exception cref="ConcurrentMapAccessException">A write ran on another thread during the step.</exception>
            /// <exception cref="InvalidOperationException">Another copy of this enumerator was disposed, finished or reset.</exception>
            [MethodImpl(MethodImplOptions.AggressiveInlining)] // as Enumerator.MoveNext, whose inline walk this is
            public bool MoveNext() => _inner.MoveNext();

            /// <summary>Releases the registration; see <see cref="Enumerator.Dispose"/>.</summary>
            public void Dispose() => _inner.Dispose();

            /// <summary>Starts a new enumeration of the keys; see <see cref="Enumerator"/>'s <see cref="IEnumerator.Reset"/>.</summary>
            /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
            /// <exception cref="ConcurrentMapAccessException">A write is running on another thread, or an earlier race was detected (the map is poisoned).</exception>
            /// <exception cref="OutOfMemoryException">The map's registration table could not be allocated or doubled.</exception>
            void IEnumerator.Reset() => _inner.Restart();
        }

        /// <summary>
        /// The values of a map: a read-only <see cref="ICollection{T}"/> and
        /// <see cref="IReadOnlyCollection{T}"/> that reads through to the map, as
        /// <see cref="Dictionary{TKey, TValue}.ValueCollection"/> does. A struct: used through an
        /// interface it is boxed (one allocation); the map's <see cref="IDictionary{TKey, TValue}.Values"/>
        /// keeps one such box.
        /// </summary>
        public readonly struct ValueCollection : ICollection<TValue>, IReadOnlyCollection<TValue>
        {
            private readonly GoMap<TKey, TValue> _map;

            internal ValueCollection(GoMap<TKey, TValue> map) => _map = map;

            /// <summary>Number of values: the map's <see cref="GoMap{TKey, TValue}.Count"/>. O(1).</summary>
            /// <exception cref="OverflowException">More than <see cref="int.MaxValue"/> values; read <see cref="LongCount"/>.</exception>
            /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
            public int Count => _map.Count;

            /// <summary>Number of values, as a 64-bit count. O(1).</summary>
            /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
            public long LongCount => _map.LongCount;

            /// <summary>Always true: values cannot be added or removed through this collection.</summary>
            bool ICollection<TValue>.IsReadOnly => true;

            /// <summary>
            /// Copies the values into <paramref name="array"/> from <paramref name="index"/> on, in the
            /// order of <see cref="KeyCollection.CopyTo"/>. One enumeration: O(n + 2^B), and its
            /// registration (<see cref="GetEnumerator"/>); no GC allocation; checks the arguments as
            /// Dictionary does before writing anything.
            /// </summary>
            /// <param name="array">The destination.</param>
            /// <param name="index">Where the first value goes.</param>
            /// <exception cref="ArgumentNullException"><paramref name="array"/> is null.</exception>
            /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is negative or past the end of <paramref name="array"/>.</exception>
            /// <exception cref="ArgumentException">The values do not fit between <paramref name="index"/> and the end.</exception>
            /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
            /// <exception cref="ConcurrentMapAccessException">A write ran on another thread before or during the copy, or the map is poisoned.</exception>
            /// <exception cref="OutOfMemoryException">The map's registration table could not be allocated or doubled (see <see cref="GetEnumerator"/>).</exception>
            public void CopyTo(TValue[] array, int index)
            {
                _map.CheckCopyTo(array, index);
                CopyAll<TValue, ValueEnumerator>(GetEnumerator(), array, index);
            }

            /// <summary>
            /// Starts an enumeration of the values, in the order of <see cref="Keys"/>; see
            /// <see cref="GoMap{TKey, TValue}.Keys"/>. Costs as <see cref="GoMap{TKey, TValue}.GetEnumerator"/>.
            /// </summary>
            /// <returns>A struct enumerator.</returns>
            /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
            /// <exception cref="ConcurrentMapAccessException">A write is running on another thread, or an earlier race was detected (the map is poisoned).</exception>
            /// <exception cref="OutOfMemoryException">The map's registration table could not be allocated (any first enumeration of a non-empty map) or doubled.</exception>
            public ValueEnumerator GetEnumerator() => new ValueEnumerator(new Enumerator(_map, ordered: true));

            /// <summary>Whether some entry holds <paramref name="item"/>: the map's <see cref="GoMap{TKey, TValue}.ContainsValue"/>, a scan. O(n).</summary>
            bool ICollection<TValue>.Contains(TValue item) => _map.ContainsValue(item);

            /// <summary>Not supported: the collection is read-only.</summary>
            /// <exception cref="NotSupportedException">Always.</exception>
            void ICollection<TValue>.Add(TValue item) => ThrowHelper.ThrowValueCollectionReadOnly();

            /// <summary>Not supported: the collection is read-only.</summary>
            /// <exception cref="NotSupportedException">Always.</exception>
            void ICollection<TValue>.Clear() => ThrowHelper.ThrowValueCollectionReadOnly();

            /// <summary>Not supported: the collection is read-only.</summary>
            /// <exception cref="NotSupportedException">Always.</exception>
            bool ICollection<TValue>.Remove(TValue item)
            {
                ThrowHelper.ThrowValueCollectionReadOnly();
                return false;
            }

            /// <summary>Boxes a new <see cref="ValueEnumerator"/> (one allocation); otherwise as <see cref="GetEnumerator"/>.</summary>
            /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
            /// <exception cref="ConcurrentMapAccessException">A write is running on another thread, or an earlier race was detected (the map is poisoned).</exception>
            /// <exception cref="OutOfMemoryException">The map's registration table could not be allocated (any first enumeration of a non-empty map) or doubled.</exception>
            IEnumerator<TValue> IEnumerable<TValue>.GetEnumerator() => GetEnumerator();

            /// <summary>Boxes a new <see cref="ValueEnumerator"/> (one allocation); otherwise as <see cref="GetEnumerator"/>.</summary>
            /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
            /// <exception cref="ConcurrentMapAccessException">A write is running on another thread, or an earlier race was detected (the map is poisoned).</exception>
            /// <exception cref="OutOfMemoryException">The map's registration table could not be allocated (any first enumeration of a non-empty map) or doubled.</exception>
            IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
        }

        /// <summary>
        /// Enumerates values. Same rules as <see cref="Enumerator"/>, copies included; a reset
        /// starts again in the order <see cref="Keys"/> would yield.
        /// </summary>
        public struct ValueEnumerator : IEnumerator<TValue>
        {
            private Enumerator _inner;

            internal ValueEnumerator(Enumerator inner) => _inner = inner;

            /// <summary>The current value; <c>default</c> before the first and after the last <see cref="MoveNext"/>. O(1).</summary>
            public readonly TValue Current => _inner.Current.Value;

            /// <summary>A reference to the current value in the map; see <see cref="Enumerator.CurrentValueRef"/>.</summary>
            /// <exception cref="InvalidOperationException">No current entry, the enumerator is disposed, or the map was written since.</exception>
            /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
            public readonly ref TValue CurrentValueRef => ref _inner.CurrentValueRef;

            /// <summary>The current value, boxed: one allocation per call (the typed <see cref="Current"/> allocates nothing).</summary>
            /// <exception cref="InvalidOperationException">Before the first <see cref="MoveNext"/> or after the last.</exception>
            readonly object IEnumerator.Current => _inner.UntypedCurrent(Current);

            /// <summary>Advances; see <see cref="Enumerator.MoveNext"/>.</summary>
            /// <returns>False at the end.</returns>
            /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
            /// <exception cref="ConcurrentMapAccessException">A write ran on another thread during the step.</exception>
            /// <exception cref="InvalidOperationException">Another copy of this enumerator was disposed, finished or reset.</exception>
            [MethodImpl(MethodImplOptions.AggressiveInlining)] // as Enumerator.MoveNext, whose inline walk this is
            public bool MoveNext() => _inner.MoveNext();

            /// <summary>Releases the registration; see <see cref="Enumerator.Dispose"/>.</summary>
            public void Dispose() => _inner.Dispose();

            /// <summary>Starts a new enumeration of the values; see <see cref="Enumerator"/>'s <see cref="IEnumerator.Reset"/>.</summary>
            /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
            /// <exception cref="ConcurrentMapAccessException">A write is running on another thread, or an earlier race was detected (the map is poisoned).</exception>
            /// <exception cref="OutOfMemoryException">The map's registration table could not be allocated or doubled.</exception>
            void IEnumerator.Reset() => _inner.Restart();
        }
    }
}
