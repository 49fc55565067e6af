using System;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace NativeGoMap.Benchmarks
{
    /// <summary>
    /// splitmix64, exactly as benchmarks/go/main.go: the one key generator of every benchmark here,
    /// so the C# and Go rows see the same keys.
    /// </summary>
    internal struct SplitMix64
    {
        internal const ulong Gamma = 0x9E3779B97F4A7C15UL;
        private ulong _state;

        internal SplitMix64(ulong seed) => _state = seed;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal ulong Next()
        {
            _state += Gamma;
            return Finish(_state);
        }

        /// <summary>Shuffles <paramref name="items"/> in place (Fisher-Yates), drawing from this stream.</summary>
        internal void Shuffle<T>(T[] items)
        {
            for (int i = items.Length - 1; i > 0; i--)
            {
                int j = (int)(Next() % (ulong)(i + 1));
                (items[i], items[j]) = (items[j], items[i]);
            }
        }

        /// <summary>Output number <paramref name="index"/> (0-based) of the stream with <paramref name="seed"/>, in O(1).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ulong At(ulong seed, long index) => Finish(seed + ((ulong)(index + 1) * Gamma));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static ulong Finish(ulong z)
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    /// <summary>
    /// The keys of one key type and size n: the n present keys (first n keys of the stream with
    /// seed 12345) with their values, the n missing keys (the keys that follow), and the
    /// precomputed 90/10 read/write stream (seed 999). Shared by Dictionary and GoMap.
    /// Other key sets (UserKeys.cs) insert their keys in one order and look them up in another;
    /// for the stream keys the two orders are the same array, as the stream is random already.
    /// </summary>
    /// <typeparam name="TKey">int, long or Guid for the stream keys; see UserKeys.cs for the others.</typeparam>
    /// <typeparam name="TValue">int for int keys, long otherwise.</typeparam>
    internal sealed class KeySet<TKey, TValue>
    {
        internal KeySet(TKey[] present, TValue[] values, TKey[] missing, uint[] mixOps)
            : this(present, values, present, values, missing, mixOps)
        {
        }

        internal KeySet(TKey[] buildKeys, TValue[] buildValues, TKey[] present, TValue[] values, TKey[] missing, uint[] mixOps)
        {
            BuildKeys = buildKeys;
            BuildValues = buildValues;
            Present = present;
            Values = values;
            Missing = missing;
            MixOps = mixOps;
        }

        /// <summary>Number of lookups of one pass over <see cref="Present"/>.</summary>
        internal int Count => Present.Length;

        /// <summary>The keys a build inserts, in insertion order (the map's entries).</summary>
        internal TKey[] BuildKeys { get; }

        /// <summary>The values of <see cref="BuildKeys"/>.</summary>
        internal TValue[] BuildValues { get; }

        /// <summary>Present keys in the order lookups, updates and removes use them.</summary>
        internal TKey[] Present { get; }

        /// <summary>The values of <see cref="Present"/>.</summary>
        internal TValue[] Values { get; }

        internal TKey[] Missing { get; }

        /// <summary>Op i of the mix: key index in the low 31 bits, <see cref="KeySets.WriteBit"/> for a write.</summary>
        internal uint[] MixOps { get; }
    }

    /// <summary>Builds <see cref="KeySet{TKey, TValue}"/>s; the only place that knows how a key type is made from the stream.</summary>
    internal static class KeySets
    {
        internal const ulong KeySeed = 12345;
        internal const ulong MixSeed = 999;
        internal const uint WriteBit = 1u << 31;

        static KeySets()
        {
            // Test vector of benchmarks/go/README.md: the harness must see Go's keys.
            var r = new SplitMix64(KeySeed);
            if (r.Next() != 0x22118258a9d111a0UL || r.Next() != 0x346edce5f713f8edUL || r.Next() != 0x1e9a57bc80e6721dUL ||
                SplitMix64.At(KeySeed, 2) != 0x1e9a57bc80e6721dUL)
            {
                throw new InvalidOperationException("splitmix64 does not match the Go program's test vector");
            }
        }

        /// <summary>The short type name the Go program uses: int, long or guid.</summary>
        internal static string TypeName<TKey>() => TypeName(typeof(TKey));

        /// <inheritdoc cref="TypeName{TKey}"/>
        internal static string TypeName(Type key) =>
            key == typeof(int) ? "int" : key == typeof(long) ? "long" : key == typeof(Guid) ? "guid" : key.Name;

        internal static KeySet<TKey, TValue> Create<TKey, TValue>(int n)
        {
            var r = new SplitMix64(KeySeed);
            var present = new TKey[n];
            var values = new TValue[n];
            var missing = new TKey[n];
            for (int i = 0; i < n; i++)
            {
                present[i] = NextKey<TKey, TValue>(ref r, out values[i]);
            }

            for (int i = 0; i < n; i++)
            {
                missing[i] = NextKey<TKey, TValue>(ref r, out _);
            }

            return new KeySet<TKey, TValue>(present, values, missing, MixOps(n));
        }

        /// <summary>The 90/10 stream: for op i, first <c>next() % 10 == 0</c> (a write), then <c>next() % n</c> (the key index).</summary>
        internal static uint[] MixOps(int n)
        {
            var r = new SplitMix64(MixSeed);
            var ops = new uint[n];
            for (int i = 0; i < n; i++)
            {
                bool write = r.Next() % 10 == 0;
                uint index = (uint)(r.Next() % (ulong)n);
                ops[i] = write ? index | WriteBit : index;
            }

            return ops;
        }

        /// <summary>
        /// The next key of the stream and its value. int: <c>(int)(uint)x</c>, value = key.
        /// long: <c>(long)x</c>, value = key. Guid: outputs a then b, little-endian, as bytes 0-7
        /// and 8-15 (<c>new Guid(ReadOnlySpan&lt;byte&gt;)</c>), value = <c>(long)a</c>.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static TKey NextKey<TKey, TValue>(ref SplitMix64 r, out TValue value)
        {
            if (typeof(TKey) == typeof(int) && typeof(TValue) == typeof(int))
            {
                int k = (int)(uint)r.Next();
                value = Unsafe.As<int, TValue>(ref k);
                return Unsafe.As<int, TKey>(ref k);
            }

            if (typeof(TKey) == typeof(long) && typeof(TValue) == typeof(long))
            {
                long k = (long)r.Next();
                value = Unsafe.As<long, TValue>(ref k);
                return Unsafe.As<long, TKey>(ref k);
            }

            if (typeof(TKey) == typeof(Guid) && typeof(TValue) == typeof(long))
            {
                ulong a = r.Next();
                ulong b = r.Next();
                Span<byte> bytes = stackalloc byte[16];
                BinaryPrimitives.WriteUInt64LittleEndian(bytes, a);
                BinaryPrimitives.WriteUInt64LittleEndian(bytes[8..], b);
                var g = new Guid(bytes);
                long v = (long)a;
                value = Unsafe.As<long, TValue>(ref v);
                return Unsafe.As<Guid, TKey>(ref g);
            }

            throw new NotSupportedException($"No key stream for <{typeof(TKey).Name}, {typeof(TValue).Name}>; use <int,int>, <long,long> or <Guid,long>.");
        }
    }
}
