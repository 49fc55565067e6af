using System;
using System.Collections;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace NativeGoMap
{
    // .NET's dictionary contracts (IDictionary, ICollection of pairs, IReadOnlyDictionary) on top
    // of the public members: nothing here is on a hot path, and no hot path pays for it (the pair
    // constructor borrows SetValues' prefetching for a map sized beyond the caches). Members
    // whose interface form would box or allocate are explicit; the struct-returning and
    // allocation-free forms stay public.
    public sealed unsafe partial class GoMap<TKey, TValue>
    {
        /// <summary>
        /// Creates a map holding the pairs of <paramref name="collection"/> (Dictionary's
        /// <c>Dictionary(IEnumerable&lt;KeyValuePair&lt;TKey, TValue&gt;&gt;)</c>). When the collection's
        /// count is known without enumerating it and exceeds the options' capacity hint, the map
        /// is sized for that count (the options object is not changed). Cost: one
        /// <see cref="Add(TKey, TValue)"/> per pair, plus the enumeration of
        /// <paramref name="collection"/> through its interface (which may allocate); in a map so
        /// sized beyond the CPU caches the pairs are read 16 at a time and their buckets
        /// prefetched before they are added, as <see cref="SetValues"/> does.
        /// </summary>
        /// <param name="collection">The pairs to add; keys must be distinct.</param>
        /// <param name="options">Capacity hint, seed and fail-fast behaviour; null for the defaults.</param>
        /// <param name="comparer">Key equality; null for the default.</param>
        /// <exception cref="ArgumentNullException"><paramref name="collection"/> is null.</exception>
        /// <exception cref="ArgumentException">Two pairs have equal keys.</exception>
        /// <exception cref="NotSupportedException">As for <see cref="GoMap{TKey, TValue}(GoMapOptions?, IEqualityComparer{TKey}?)"/>.</exception>
        /// <exception cref="OutOfMemoryException">Native memory ran out.</exception>
        /// <remarks>When it throws, the memory the map took is freed before the exception leaves.</remarks>
        public GoMap(IEnumerable<KeyValuePair<TKey, TValue>> collection, GoMapOptions? options = null, IEqualityComparer<TKey>? comparer = null)
            : this(GoMapOptions.WithCapacityHintAtLeast(options, KnownCount(collection)), comparer)
        {
            bool built = false;
            try
            {
                ThrowHelper.ThrowIfNull(collection, nameof(collection));
                if (AddAllBuffers())
                {
                    AddAllBuffered(collection);
                }
                else
                {
                    AddEach(collection);
                }

                built = true;
            }
            finally
            {
                if (!built)
                {
                    Dispose();
                }
            }
        }

        /// <summary>
        /// The key equality this map uses. O(1), never allocates after its first use per key type.
        /// The comparer given at construction; otherwise <see cref="EqualityComparer{T}.Default"/>
        /// for enums and for key types that implement <see cref="IEquatable{T}"/> (primitives,
        /// <see cref="Guid"/>, record structs), and for other structs, which the map compares by
        /// their bytes, a comparer that does the same (without boxing, and over the whole of
        /// fixed-size buffers and inline arrays, where <see cref="EqualityComparer{T}.Default"/>
        /// would compare their first element only).
        /// </summary>
        public IEqualityComparer<TKey> Comparer => _comparer ?? DefaultKeyComparer<TKey>.Instance;

        /// <summary>
        /// Whether some entry holds <paramref name="value"/>: a scan of every entry (Dictionary's
        /// <c>ContainsValue</c>). O(n); registers an enumerator for its duration (the map's first
        /// enumeration allocates its native registration table). No GC allocation, except for
        /// value types compared through <see cref="EqualityComparer{T}.Default"/> without
        /// <see cref="IEquatable{T}"/> (structs with padding or floating-point fields), which box
        /// both operands per entry, as Dictionary's ContainsValue does.
        /// Values compare as the map compares keys of their type by default: by their bytes where
        /// that equals <c>Equals</c> (whole fixed-size buffers included), else through
        /// <see cref="IEquatable{T}"/>; <c>float</c> and <c>double</c> as their <c>Equals</c>
        /// (NaN finds NaN); any other type through <see cref="EqualityComparer{T}.Default"/>.
        /// </summary>
        /// <param name="value">The value to look for.</param>
        /// <returns>True when found.</returns>
        /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
        /// <exception cref="ConcurrentMapAccessException">A write ran on another thread during the scan.</exception>
        /// <exception cref="OutOfMemoryException">The enumerator's registration could not be allocated.</exception>
        public bool ContainsValue(TValue value)
        {
            foreach (KeyValuePair<TKey, TValue> pair in this)
            {
                if (KeyOps<TValue>.Equal(pair.Value, value))
                {
                    return true;
                }
            }

            return false;
        }

        /// <summary>
        /// Copies every entry into <paramref name="array"/> from <paramref name="index"/> on, in the
        /// order of one enumeration (<see cref="GetEnumerator"/>: random start). O(n); no allocation;
        /// checks the arguments as Dictionary does before writing anything.
        /// </summary>
        /// <param name="array">The destination.</param>
        /// <param name="index">Where the first entry goes.</param>
        /// <exception cref="ArgumentNullException"><paramref name="array"/> is null.</exception>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is negative or past the end of <paramref name="array"/>.</exception>
        /// <exception cref="ArgumentException">The entries do not fit between <paramref name="index"/> and the end.</exception>
        /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
        /// <exception cref="ConcurrentMapAccessException">A write ran on another thread during the copy.</exception>
        /// <exception cref="OutOfMemoryException">The enumerator's registration could not be allocated.</exception>
        public void CopyTo(KeyValuePair<TKey, TValue>[] array, int index)
        {
            CheckCopyTo(array, index);
            CopyAll<KeyValuePair<TKey, TValue>, Enumerator>(GetEnumerator(), array, index);
        }

        /// <summary>False: the map is writable. O(1).</summary>
        bool ICollection<KeyValuePair<TKey, TValue>>.IsReadOnly => false;

        /// <summary>The keys as an <see cref="ICollection{T}"/>: a box of <see cref="Keys"/>, made on first use and kept (one allocation per map).</summary>
        ICollection<TKey> IDictionary<TKey, TValue>.Keys => _keysBox ??= Keys;

        /// <summary>The values as an <see cref="ICollection{T}"/>: a box of <see cref="Values"/>, made on first use and kept (one allocation per map).</summary>
        ICollection<TValue> IDictionary<TKey, TValue>.Values => _valuesBox ??= Values;

        /// <summary>The same box as <see cref="IDictionary{TKey, TValue}.Keys"/>.</summary>
        IEnumerable<TKey> IReadOnlyDictionary<TKey, TValue>.Keys => _keysBox ??= Keys;

        /// <summary>The same box as <see cref="IDictionary{TKey, TValue}.Values"/>.</summary>
        IEnumerable<TValue> IReadOnlyDictionary<TKey, TValue>.Values => _valuesBox ??= Values;

        /// <summary><see cref="Add(TKey, TValue)"/> of the pair's key and value. Amortized O(1); invalidates refs into the map.</summary>
        /// <exception cref="ArgumentException">The key is already present; the map is unchanged.</exception>
        void ICollection<KeyValuePair<TKey, TValue>>.Add(KeyValuePair<TKey, TValue> item) => Add(item.Key, item.Value);

        /// <summary>Whether the pair's key is present with an equal value (equality as in <see cref="ContainsValue"/>). O(1): one lookup.</summary>
        bool ICollection<KeyValuePair<TKey, TValue>>.Contains(KeyValuePair<TKey, TValue> item) =>
            TryGetValue(item.Key, out TValue value) && KeyOps<TValue>.Equal(value, item.Value);

        /// <summary>
        /// Removes the pair's key when it is present with an equal value (equality as in
        /// <see cref="ContainsValue"/>). O(1): one lookup, then <see cref="Remove(TKey)"/>'s costs
        /// when the value matches; a miss writes nothing and invalidates nothing.
        /// </summary>
        bool ICollection<KeyValuePair<TKey, TValue>>.Remove(KeyValuePair<TKey, TValue> item) =>
            TryGetValue(item.Key, out TValue value) && KeyOps<TValue>.Equal(value, item.Value) && Remove(item.Key);

        /// <summary>Boxes a new <see cref="Enumerator"/> (one allocation); otherwise as <see cref="GetEnumerator"/>.</summary>
        IEnumerator<KeyValuePair<TKey, TValue>> IEnumerable<KeyValuePair<TKey, TValue>>.GetEnumerator() => GetEnumerator();

        /// <summary>Boxes a new <see cref="Enumerator"/> (one allocation); otherwise as <see cref="GetEnumerator"/>.</summary>
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        /// <summary>
        /// Dictionary's argument checks of every <c>CopyTo</c>, in its order and with its parameter
        /// names, against this map's count: nothing is written unless all entries fit.
        /// </summary>
        private void CheckCopyTo<T>(T[] array, int index)
        {
            ThrowHelper.ThrowIfNull(array, nameof(array));
            if ((uint)index > (uint)array.Length)
            {
                ThrowHelper.ThrowCopyToIndex(index, array.Length);
            }

            if (array.Length - index < LongCount)
            {
                ThrowHelper.ThrowCopyToTooSmall();
            }
        }

        /// <summary>
        /// The copy loop of every <c>CopyTo</c>, after <see cref="CheckCopyTo"/>: writes what
        /// <paramref name="e"/> yields from <paramref name="index"/> on, and ends its registration
        /// even when a step throws. Generic over the struct enumerator, so nothing is boxed.
        /// </summary>
        private static void CopyAll<T, TEnumerator>(TEnumerator e, T[] array, int index)
            where TEnumerator : struct, IEnumerator<T>
        {
            try
            {
                while (e.MoveNext())
                {
                    array[index++] = e.Current;
                }
            }
            finally
            {
                e.Dispose();
            }
        }

        /// <summary>
        /// Whether the constructor adds its pairs through <see cref="AddAllBuffered"/>: where the
        /// map was sized (for a collection that knows its count) beyond the caches
        /// (<see cref="BatchFitsInCache"/>), for keys whose hashing runs no user code (hashing them
        /// ahead would run it early), and for a key and value of at most
        /// <see cref="AddAllBufferedPairBytes"/> together. Otherwise it adds the pairs as they come.
        /// </summary>
        private bool AddAllBuffers() =>
            Unsafe.SizeOf<TKey>() + Unsafe.SizeOf<TValue>() <= AddAllBufferedPairBytes && WritesPrefetch();

        /// <summary>The constructor's <see cref="Add(TKey, TValue)"/> of every pair, in order, as they come.</summary>
        private void AddEach(IEnumerable<KeyValuePair<TKey, TValue>> collection)
        {
            foreach (KeyValuePair<TKey, TValue> pair in collection)
            {
                Add(pair.Key, pair.Value);
            }
        }

        /// <summary>
        /// The constructor's <see cref="Add(TKey, TValue)"/> of every pair, in order, with the pairs
        /// read 16 at a time into a buffer on the stack and the buckets of the next 16 asked for
        /// (<see cref="PrefetchForWrites"/>) before the current 16 are added, as
        /// <see cref="SetValues"/> does: one Add per pair waited for each bucket in turn.
        /// </summary>
        /// <remarks>
        /// Measured (2026-12-04, README's VM, a probe copying a <c>Dictionary&lt;long,long&gt;</c>,
        /// best of five rounds, alternated processes against the build before): 1,000,000 pairs
        /// 43.4-50.6 → 17.7-22.2 ns per pair. Taken for every size, 1,000 pairs (an array the
        /// caches hold) went from 7.4-10.3 to 11.6-11.7 ns, hence <see cref="AddAllBuffers"/>. A
        /// method of its own, as is the plain loop (<see cref="AddEach"/>): with the buffers in
        /// the constructor, its plain loop slowed too (1,000 pairs 7.7 → 9.7 ns); as it is now,
        /// 1,000 pairs take 7.8-8.4 ns against 7.2-7.8 before (three alternated pairs; 16 pairs
        /// 17.1-19.0 against 16.7-17.9), a difference whose cause was not found.
        /// </remarks>
        private void AddAllBuffered(IEnumerable<KeyValuePair<TKey, TValue>> collection)
        {
            const int Block = 16;

            // Two halves: the block being added and the next one, read and prefetched before it.
            Span<TKey> keys = stackalloc TKey[2 * Block];
            Span<TValue> values = stackalloc TValue[2 * Block];
            // Elements through references, not the span indexer (see FindMany).
            ref TKey key0 = ref MemoryMarshal.GetReference(keys);
            ref TValue value0 = ref MemoryMarshal.GetReference(values);
            using IEnumerator<KeyValuePair<TKey, TValue>> e = collection.GetEnumerator();
            int n = ReadBlock(e, ref key0, ref value0, 0, Block);
            for (int half = 0; n > 0; half ^= 1)
            {
                int next = (half ^ 1) * Block;
                int m = n == Block ? ReadBlock(e, ref key0, ref value0, next, Block) : 0;
                for (int i = half * Block; i < (half * Block) + n; i++)
                {
                    Add(Unsafe.Add(ref key0, i), Unsafe.Add(ref value0, i));
                }

                n = m;
            }
        }

        /// <summary>
        /// For <see cref="AddAllBuffered"/>: reads up to <paramref name="count"/> pairs into the buffers from
        /// <paramref name="start"/> on and asks for their buckets; returns how many it read.
        /// </summary>
        private int ReadBlock(IEnumerator<KeyValuePair<TKey, TValue>> e, ref TKey key0, ref TValue value0, int start, int count)
        {
            int n = 0;
            while (n < count && e.MoveNext())
            {
                KeyValuePair<TKey, TValue> pair = e.Current;
                Unsafe.Add(ref key0, start + n) = pair.Key;
                Unsafe.Add(ref value0, start + n) = pair.Value;
                n++;
            }

            PrefetchForWrites(ref key0, start, n);
            return n;
        }

        /// <summary>Largest key and value, together, that <see cref="AddAllBuffered"/> buffers (32 pairs on the stack: 8 KiB).</summary>
        private const int AddAllBufferedPairBytes = 256;

        /// <summary>
        /// The number of pairs a source holds when it is known without enumerating it (0 otherwise),
        /// for sizing a map built from it. Runs before the map exists, so it reads a source map's
        /// count without the checks that could throw.
        /// </summary>
        private static long KnownCount(IEnumerable<KeyValuePair<TKey, TValue>>? collection)
        {
            if (collection is GoMap<TKey, TValue> map)
            {
                return map.IsDisposed ? 0 : Volatile.Read(ref map._count);
            }

            return collection switch
            {
                ICollection<KeyValuePair<TKey, TValue>> c => c.Count,
                IReadOnlyCollection<KeyValuePair<TKey, TValue>> r => r.Count,
                _ => 0,
            };
        }
    }

    /// <summary>
    /// What <see cref="GoMap{TKey, TValue}.Comparer"/> reports for a map built without a comparer:
    /// .NET's default where the map's default equality is .NET's, else <see cref="ByteKeyComparer{T}"/>.
    /// </summary>
    internal static class DefaultKeyComparer<[DynamicallyAccessedMembers(KeyClassifier.KeyTypeMembers)] T>
        where T : unmanaged
    {
        internal static readonly IEqualityComparer<T> Instance =
            KeyOps<T>.Kind == KeyKind.Bytes && !typeof(T).IsEnum && !typeof(IEquatable<T>).IsAssignableFrom(typeof(T))
                ? new ByteKeyComparer<T>()
                : EqualityComparer<T>.Default;
    }

    /// <summary>
    /// Equality by all the bytes of a struct, as the map's default for structs without padding
    /// and without equality of their own; hash codes from the map's hash under a fixed seed.
    /// </summary>
    internal sealed class ByteKeyComparer<[DynamicallyAccessedMembers(KeyClassifier.KeyTypeMembers)] T> : IEqualityComparer<T>
        where T : unmanaged
    {
        private const ulong K1 = 0x9E3779B97F4A7C15UL; // any fixed secrets: these hashes never place map entries
        private const ulong K2 = 0xBF58476D1CE4E5B9UL;

        /// <summary>Byte equality.</summary>
        public bool Equals(T x, T y) => KeyOps<T>.Equal(x, y);

        /// <summary>The 64-bit hash folded to 32 bits.</summary>
        public int GetHashCode(T obj)
        {
            ulong h = KeyOps<T>.Hash(obj, K1, K2);
            return (int)(h ^ (h >> 32));
        }
    }
}
