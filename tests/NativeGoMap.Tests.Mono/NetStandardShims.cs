using System;
using System.Buffers.Binary;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Threading;
using NativeGoMap.Tests;

// The .NET 6-9 APIs the shared test sources call and netstandard2.1 lacks, as C# 14 extension
// members, so that those sources compile here unchanged. In namespace NativeGoMap, so that the
// tests' (NativeGoMap.Tests) and the fuzz oracle's (NativeGoMap.Fuzz) code both find them.
// None reads a ReadOnlySpan<T> through its indexer or enumerator: Mono 6.8 cannot bind those
// from a netstandard2.1 assembly (MissingMethodException; README, "On netstandard2.1").
namespace NativeGoMap
{
    /// <summary>Test-side stand-ins for APIs newer than netstandard2.1.</summary>
    internal static class NetStandardShims
    {
        private static readonly Random s_seeds = new Random();

        [ThreadStatic]
        private static Random? t_shared;

        extension(Random)
        {
            /// <summary>As .NET 6's <c>Random.Shared</c>, safe from any thread: one Random per thread (tests run in parallel draw their seeds from it).</summary>
            public static Random Shared => t_shared ??= NewSharedRandom();
        }

        extension(Random rng)
        {
            /// <summary>A non-negative long below <see cref="long.MaxValue"/>: .NET 10's draws (<see cref="SeededDraws"/>).</summary>
            public long NextInt64() => SeededDraws.NextInt64(rng);

            /// <summary>A long in [0, <paramref name="maxValue"/>): .NET 10's draws (<see cref="SeededDraws"/>).</summary>
            public long NextInt64(long maxValue) => SeededDraws.NextInt64(rng, 0, maxValue);

            /// <summary>A long in [<paramref name="minValue"/>, <paramref name="maxValue"/>): .NET 10's draws (<see cref="SeededDraws"/>).</summary>
            public long NextInt64(long minValue, long maxValue) => SeededDraws.NextInt64(rng, minValue, maxValue);

            /// <summary>A shuffle in place: .NET 10's swaps (<see cref="SeededDraws"/>).</summary>
            public void Shuffle<T>(T[] values) => SeededDraws.Shuffle(rng, values);
        }

        extension(Interlocked)
        {
            /// <summary>As .NET 5's: ors <paramref name="value"/> into <paramref name="location"/> atomically; returns the value before.</summary>
            public static long Or(ref long location, long value)
            {
                long current = Volatile.Read(ref location);
                while (true)
                {
                    long seen = Interlocked.CompareExchange(ref location, current | value, current);
                    if (seen == current)
                    {
                        return seen;
                    }

                    current = seen;
                }
            }

            /// <summary>As .NET 5's: ands <paramref name="value"/> into <paramref name="location"/> atomically; returns the value before.</summary>
            public static long And(ref long location, long value)
            {
                long current = Volatile.Read(ref location);
                while (true)
                {
                    long seen = Interlocked.CompareExchange(ref location, current & value, current);
                    if (seen == current)
                    {
                        return seen;
                    }

                    current = seen;
                }
            }
        }

        extension(Convert)
        {
            /// <summary>As .NET 5's: upper-case hex digits.</summary>
            public static string ToHexString(byte[] bytes) => BitConverter.ToString(bytes).Replace("-", string.Empty, StringComparison.Ordinal);
        }

        extension(SHA256)
        {
            /// <summary>As .NET 5's.</summary>
            public static byte[] HashData(byte[] source)
            {
                using var sha = SHA256.Create();
                return sha.ComputeHash(source);
            }
        }

        extension(BinaryPrimitives)
        {
            /// <summary>As .NET 5's.</summary>
            public static void WriteDoubleLittleEndian(Span<byte> destination, double value) =>
                BinaryPrimitives.WriteInt64LittleEndian(destination, BitConverter.DoubleToInt64Bits(value));
        }

        extension(ReadOnlySpan<byte> span)
        {
            /// <summary>As .NET 8's: the index of the first byte that is not <paramref name="value"/>, or -1.</summary>
            public int IndexOfAnyExcept(byte value)
            {
                ref byte first = ref MemoryMarshal.GetReference(span);
                for (int i = 0; i < span.Length; i++)
                {
                    if (Unsafe.Add(ref first, i) != value)
                    {
                        return i;
                    }
                }

                return -1;
            }
        }

        extension(ref HashCode hash)
        {
            /// <summary>As .NET 6's: adds each byte (not the same hash as .NET's, which no test compares).</summary>
            public void AddBytes(ReadOnlySpan<byte> value)
            {
                ref byte first = ref MemoryMarshal.GetReference(value);
                for (int i = 0; i < value.Length; i++)
                {
                    hash.Add(Unsafe.Add(ref first, i));
                }
            }
        }

        extension<T>(IEnumerable<T> source)
        {
            /// <summary>As .NET 6's: the count when the collection knows it.</summary>
            public bool TryGetNonEnumeratedCount(out int count)
            {
                switch (source)
                {
                    case ICollection<T> generic:
                        count = generic.Count;
                        return true;
                    case ICollection plain:
                        count = plain.Count;
                        return true;
                    default:
                        count = 0;
                        return false;
                }
            }

            /// <summary>As .NET Core 3's: pairs as tuples.</summary>
            public IEnumerable<(T First, TSecond Second)> Zip<TSecond>(IEnumerable<TSecond> second) =>
                source.Zip(second, (a, b) => (a, b));

            /// <summary>As .NET 7's.</summary>
            public IOrderedEnumerable<T> Order(IComparer<T>? comparer) => source.OrderBy(x => x, comparer);
        }

        private static Random NewSharedRandom()
        {
            lock (s_seeds)
            {
                return new Random(s_seeds.Next());
            }
        }
    }
}

namespace System.Runtime.InteropServices
{
    /// <summary>As .NET 6's NativeMemory, the two members the tests name, over the library's shim of it.</summary>
    internal static unsafe class NativeMemory
    {
        public static void* Alloc(nuint elementCount, nuint elementSize) => NativeGoMap.NativeMemory.Alloc(elementCount * elementSize);

        public static void Free(void* ptr) => NativeGoMap.NativeMemory.Free(ptr);
    }
}
