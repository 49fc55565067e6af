using System;
using System.Numerics;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// What .NET 10's seeded <see cref="Random"/> (<c>new Random(seed)</c>) draws for the members
    /// the suite calls that netstandard2.1 lacks (<c>NextInt64</c>, <c>Shuffle</c>), written over
    /// <see cref="Random.Next(int)"/> and <see cref="Random.Next(int, int)"/>, which Mono's and
    /// .NET's seeded generators draw alike (the same subtractive generator, the same scaling).
    /// The Mono suite's stand-ins (NetStandardShims.cs) call these, so that a seed a failing test
    /// prints under Mono replays the same keys under .NET 10, and the other way round.
    /// </summary>
    /// <remarks>
    /// .NET 10 builds a 64-bit draw from three calls of <c>Next</c> (22, 22 and 20 bits, low part
    /// first), narrows a range to its smallest enclosing power of two by a shift and rejects draws
    /// past it; its <c>Shuffle</c> swaps each position from the first with one drawn from it to
    /// the end. .NET 8 drew its 64 bits as eight bytes instead, so a seed printed by the .NET 8
    /// suite replays only there. SeededDrawsTests holds these against the running .NET's
    /// <see cref="Random"/>.
    /// </remarks>
    internal static class SeededDraws
    {
        /// <summary>A draw of 64 bits, as .NET 10's seeded Random makes one for NextInt64.</summary>
        internal static ulong NextUInt64(Random rng)
        {
            ulong low = (uint)rng.Next(1 << 22);
            ulong middle = (uint)rng.Next(1 << 22);
            ulong high = (uint)rng.Next(1 << 20);
            return low | (middle << 22) | (high << 44);
        }

        /// <summary>A long in [<paramref name="minValue"/>, <paramref name="maxValue"/>), as .NET 10's seeded <c>NextInt64(min, max)</c> draws it.</summary>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="minValue"/> is above <paramref name="maxValue"/>.</exception>
        internal static long NextInt64(Random rng, long minValue, long maxValue)
        {
            if (minValue > maxValue)
            {
                throw new ArgumentOutOfRangeException(nameof(minValue), minValue, "minValue is above maxValue.");
            }

            ulong range = (ulong)(maxValue - minValue);
            if (range <= 1)
            {
                return minValue;
            }

            int shift = BitOperations.LeadingZeroCount(range - 1); // 64 minus the bits of the smallest power of two >= range
            while (true)
            {
                ulong draw = NextUInt64(rng) >> shift;
                if (draw < range)
                {
                    return (long)((ulong)minValue + draw);
                }
            }
        }

        /// <summary>A non-negative long below <see cref="long.MaxValue"/>, as .NET 10's seeded <c>NextInt64()</c> draws it.</summary>
        internal static long NextInt64(Random rng)
        {
            while (true)
            {
                ulong draw = NextUInt64(rng) >> 1;
                if (draw != long.MaxValue)
                {
                    return (long)draw;
                }
            }
        }

        /// <summary>Shuffles <paramref name="values"/> in place as .NET 10's <c>Shuffle</c> does: position i, from the first, swapped with one drawn from [i, length).</summary>
        internal static void Shuffle<T>(Random rng, T[] values)
        {
            for (int i = 0; i < values.Length - 1; i++)
            {
                int j = rng.Next(i, values.Length);
                (values[i], values[j]) = (values[j], values[i]);
            }
        }
    }
}
