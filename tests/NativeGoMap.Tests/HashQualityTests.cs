using System;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// The default hash spreads structured keys (sequential ids, ids a power of two apart, ids
    /// in the high word, grid coordinates packed in one word, multiples, comparer hash codes,
    /// 16-byte keys) over the buckets as a random hash would, for every seed tried and at several
    /// table sizes. Each case puts four keys a bucket on average into 2^B buckets and asserts
    /// that no bucket holds more than 20: a uniform hash exceeds that about once in 10^5 tables
    /// of 4,096 buckets, while the one-round hash before 2026-12-05 (<c>Mix(v ^ k1, k2)</c>
    /// alone, no <see cref="Hasher.Finish"/>) exceeded it for most seeds in one pattern or
    /// another (seed 113 put keys 0-52 in one bucket of eight). The seeds are fixed, so a case
    /// fails every time or never; its message names the pattern, the seed and the bucket count.
    /// </summary>
    public class HashQualityTests
    {
        private const int KeysPerBucket = 4;
        private const int MaxFullest = 20;
        private const ulong Seeds = 64;
        private static readonly int[] BucketBits = { 3, 6, 9, 12 };

        [Fact]
        public void SequentialLongKeysSpreadOverBuckets() =>
            AssertSpread<long>("sequential longs", i => i, (m, k) => m.DefaultHashForTest(k));

        [Fact]
        public void SequentialIntKeysSpreadOverBuckets() =>
            AssertSpread<int>("sequential ints", i => (int)i, (m, k) => m.DefaultHashForTest(k));

        [Fact]
        public void DescendingNegativeKeysSpreadOverBuckets() =>
            AssertSpread<long>("0, -1, -2, ...", i => -i, (m, k) => m.DefaultHashForTest(k));

        [Theory]
        [InlineData(3)]
        [InlineData(10)]
        [InlineData(20)]
        [InlineData(32)]
        [InlineData(44)]
        public void KeysAPowerOfTwoApartSpreadOverBuckets(int shift) =>
            AssertSpread<long>($"longs 2^{shift} apart", i => i << shift, (m, k) => m.DefaultHashForTest(k));

        [Theory]
        [InlineData(3)]
        [InlineData(1_000)]
        [InlineData(65_537)]
        public void MultiplesSpreadOverBuckets(long step) =>
            AssertSpread<long>($"multiples of {step}", i => i * step, (m, k) => m.DefaultHashForTest(k));

        [Theory]
        [InlineData(16)]
        [InlineData(32)]
        public void GridCoordinatesPackedInOneWordSpreadOverBuckets(int shift) =>
            AssertSpread<long>($"(x << {shift}) | y, y < 32", i => ((i >> 5) << shift) | (i & 31), (m, k) => m.DefaultHashForTest(k));

        [Fact]
        public void WholeNumberDoubleKeysSpreadOverBuckets() =>
            AssertSpread<double>("doubles 0.0, 1.0, 2.0, ...", i => i, (m, k) => m.DefaultHashForTest(k));

        [Fact]
        public void TenthsAsDoubleKeysSpreadOverBuckets() =>
            AssertSpread<double>("doubles 0.0, 0.1, 0.2, ...", i => i / 10.0, (m, k) => m.DefaultHashForTest(k));

        [Fact]
        public void WholeNumberFloatKeysSpreadOverBuckets() =>
            AssertSpread<float>("floats 0, 1, 2, ...", i => i, (m, k) => m.DefaultHashForTest(k));

        [Fact]
        public void SequentialComparerHashCodesSpreadOverBuckets() =>
            AssertSpread<long>("comparer hash codes 0, 1, 2, ...", i => i, (m, k) => m.HashOfHashCode((int)k));

        [Fact]
        public void SixteenByteKeysDifferingInOneWordSpreadOverBuckets() =>
            AssertSpread<Guid>("16-byte keys (i, 0)", i => new Guid((int)i, 0, 0, new byte[8]), (m, k) => m.DefaultHashForTest(k));

        [Fact]
        public void SixteenByteKeysDifferingInTheirSecondWordSpreadOverBuckets() =>
            AssertSpread<Guid>("16-byte keys (0, i)", i => new Guid(0, 0, 0, BitConverter.GetBytes(i)), (m, k) => m.DefaultHashForTest(k));

        [Fact]
        public void ThreeByteKeysSpreadOverBuckets() =>
            AssertSpread<Key3>("3-byte keys 0, 1, 2, ...", i => Key3.Of((int)i), (m, k) => m.DefaultHashForTest(k));

        [Fact]
        public void TwelveByteKeysDifferingInOneFieldSpreadOverBuckets() =>
            AssertSpread<Key12>("12-byte keys (7, i, -1)", i => new Key12 { A = 7, B = (int)i, C = -1 }, (m, k) => m.DefaultHashForTest(k));

        [Fact]
        public void TwentyFourByteKeysDifferingInOneFieldSpreadOverBuckets() =>
            AssertSpread<Key24>("24-byte keys (i, 3, -1)", i => new Key24 { A = i, B = 3, C = -1 }, (m, k) => m.DefaultHashForTest(k));

        [Theory]
        [InlineData(0)]
        [InlineData(10)]
        [InlineData(32)]
        public void TopHashBytesOfKeysAPowerOfTwoApartSpread(int shift) =>
            AssertTopHashSpread<long>($"longs 2^{shift} apart", i => i << shift, (m, k) => m.DefaultHashForTest(k));

        [Fact]
        public void TopHashBytesOfGridCoordinatesSpread() =>
            AssertTopHashSpread<long>("(x << 16) | y, y < 32", i => ((i >> 5) << 16) | (i & 31), (m, k) => m.DefaultHashForTest(k));

        private static void AssertSpread<TKey>(string pattern, Func<long, TKey> key, Func<GoMap<TKey, long>, TKey, ulong> hash)
            where TKey : unmanaged
        {
            foreach (int bits in BucketBits)
            {
                var perBucket = new int[1 << bits];
                ulong mask = (1UL << bits) - 1;
                long keys = (long)KeysPerBucket << bits;
                for (ulong seed = 1; seed <= Seeds; seed++)
                {
                    using var map = new GoMap<TKey, long>(new GoMapOptions { Seed = seed });
                    int fullest = Fullest(perBucket, keys, i => hash(map, key(i)) & mask);
                    Assert.True(
                        fullest <= MaxFullest,
                        $"{pattern}, seed {seed}: {fullest} of {keys} keys in one of {perBucket.Length} buckets (a random hash: at most about {MaxFullest})");
                }
            }
        }

        /// <summary>
        /// The tophash (the hash's top 8 bits, which every probe compares before a key) of 2,048
        /// keys spreads over its 256 values: at most 30 keys on one value, where a uniform hash
        /// puts 8 on average and more than 30 about once in 10^7 seeds.
        /// </summary>
        private static void AssertTopHashSpread<TKey>(string pattern, Func<long, TKey> key, Func<GoMap<TKey, long>, TKey, ulong> hash)
            where TKey : unmanaged
        {
            const int keys = 2_048;
            const int maxFullest = 30;
            var perValue = new int[256];
            for (ulong seed = 1; seed <= Seeds; seed++)
            {
                using var map = new GoMap<TKey, long>(new GoMapOptions { Seed = seed });
                int fullest = Fullest(perValue, keys, i => hash(map, key(i)) >> 56);
                Assert.True(fullest <= maxFullest, $"{pattern}, seed {seed}: {fullest} of {keys} keys share one tophash (a random hash: at most about {maxFullest})");
            }
        }

        /// <summary>The most keys 0 to <paramref name="keys"/> - 1 that <paramref name="slot"/> puts on one of <paramref name="counts"/>' slots.</summary>
        private static int Fullest(int[] counts, long keys, Func<long, ulong> slot)
        {
            Array.Clear(counts, 0, counts.Length);
            int fullest = 0;
            for (long i = 0; i < keys; i++)
            {
                fullest = Math.Max(fullest, ++counts[slot(i)]);
            }

            return fullest;
        }

        /// <summary>A 12-byte key: hashed by <see cref="Hasher.HashBlock"/>'s short path (two overlapping reads).</summary>
        private struct Key12
        {
            public int A;
            public int B;
            public int C;
        }

        /// <summary>A 24-byte key: hashed by <see cref="Hasher.HashBlock"/>'s loop and tail.</summary>
        private struct Key24
        {
            public long A;
            public long B;
            public long C;
        }
    }
}
