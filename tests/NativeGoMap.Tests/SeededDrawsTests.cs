#if NET10_0_OR_GREATER
using System;
using System.Linq;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// The Mono suite's stand-ins for <c>NextInt64</c> and <c>Shuffle</c> (<see cref="SeededDraws"/>)
    /// draw what .NET 10's seeded <see cref="Random"/> draws, so that a seed printed by a failing
    /// test replays the same keys on either runtime. Compiled where the running Random is
    /// .NET 10's (not the net8.0 copy, whose Random drew otherwise, nor the Mono copy, where the
    /// stand-ins are all there is).
    /// </summary>
    public class SeededDrawsTests
    {
        private const int Draws = 64;

        public static TheoryData<int> Seeds() => new TheoryData<int> { 0, 1, 42, 123_456_789, -5, int.MaxValue, int.MinValue };

        public static TheoryData<long, long> Ranges() => new TheoryData<long, long>
        {
            { 0, long.MaxValue },
            { long.MinValue, long.MaxValue },
            { long.MinValue, 0 },
            { -1_000, 1_000_000_007 },
            { 0, 1L << 40 },
            { 0, (1L << 40) + 1 },
            { 0, 3 },
            { 7, 9 },
            { 7, 8 },
            { 7, 7 },
        };

        [Theory]
        [MemberData(nameof(Ranges))]
        public void NextInt64WithBounds_DrawsWhatRandomDraws(long minValue, long maxValue)
        {
            foreach (int seed in Seeds())
            {
                AssertDrawsAlike(seed, r => r.NextInt64(minValue, maxValue), r => SeededDraws.NextInt64(r, minValue, maxValue), $"in [{minValue}, {maxValue})");
            }
        }

        [Theory]
        [MemberData(nameof(Seeds))]
        public void NextInt64WithoutBounds_DrawsWhatRandomDraws(int seed)
        {
            AssertDrawsAlike(seed, r => r.NextInt64(), SeededDraws.NextInt64, "without bounds");
        }

        [Theory]
        [MemberData(nameof(Seeds))]
        public void DrawsBetweenCallsOfNext_LeaveTheGeneratorWhereRandomLeavesIt(int seed)
        {
            var expected = new Random(seed);
            var actual = new Random(seed);
            for (int i = 0; i < Draws; i++)
            {
                Assert.Equal(expected.NextInt64(1_000_003), SeededDraws.NextInt64(actual, 0, 1_000_003));
                Assert.Equal(expected.Next(), actual.Next());
            }
        }

        [Theory]
        [InlineData(0)]
        [InlineData(1)]
        [InlineData(2)]
        [InlineData(17)]
        [InlineData(1_000)]
        public void Shuffle_SwapsAsRandomDoes(int length)
        {
            foreach (int seed in Seeds())
            {
                int[] expected = Enumerable.Range(0, length).ToArray();
                int[] actual = Enumerable.Range(0, length).ToArray();
                new Random(seed).Shuffle(expected);
                SeededDraws.Shuffle(new Random(seed), actual);
                Assert.Equal(expected, actual);
            }
        }

        [Fact]
        public void NextInt64_MinAboveMax_Throws()
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => SeededDraws.NextInt64(new Random(1), 2, 1));
        }

        /// <summary>Draws <see cref="Draws"/> numbers from two generators of one seed, one through Random's member, the other through the stand-in, and asserts each pair equal.</summary>
        private static void AssertDrawsAlike(int seed, Func<Random, long> random, Func<Random, long> standIn, string what)
        {
            var expected = new Random(seed);
            var actual = new Random(seed);
            for (int i = 0; i < Draws; i++)
            {
                long want = random(expected);
                long got = standIn(actual);
                Assert.True(want == got, $"seed {seed}, draw {i} {what}: Random drew {want}, the stand-in {got}");
            }
        }
    }
}
#endif
