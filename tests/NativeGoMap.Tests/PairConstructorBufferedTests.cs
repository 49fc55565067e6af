using System;
using System.Collections.Generic;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// The pair constructor's buffered path, taken where the map is sized beyond the caches:
    /// pairs read 16 at a time and their buckets asked for ahead, each still one Add, so the map
    /// holds every pair, a duplicate key still throws, and a failure frees everything.
    /// </summary>
    [Collection(NativeMemoryCollection.Name)]
    public class PairConstructorBufferedTests
    {
        // 40,007 entries: a bucket array of 2^13 buckets of 144 bytes (1.2 MB), over the 1 MiB
        // the caches are taken to hold, and a count that is not a multiple of the block of 16.
        private const int Count = 40_007;

        private static Dictionary<long, long> Source(int seed)
        {
            var rng = new Random(seed);
            var d = new Dictionary<long, long>(Count);
            while (d.Count < Count)
            {
                d[rng.NextInt64()] = d.Count;
            }

            return d;
        }

        [Fact]
        public void PairConstructor_BeyondTheCaches_TakesTheBufferedPath_AndHoldsEveryPair()
        {
            Dictionary<long, long> source = Source(1);
            using var map = new GoMap<long, long>(source);
            Assert.True(map.PairConstructorBuffersForTest, "the map is meant to be built through the buffers");
            map.Validate();
            Assert.Equal(source.Count, map.Count);
            foreach (KeyValuePair<long, long> pair in source)
            {
                Assert.True(map.TryGetValue(pair.Key, out long v));
                Assert.Equal(pair.Value, v);
            }
        }

        [Fact]
        public void PairConstructor_InTheCaches_OrWithAComparer_AddsThePairsAsTheyCome()
        {
            using var small = new GoMap<long, long>(new Dictionary<long, long> { [1] = 10, [2] = 20 });
            Assert.False(small.PairConstructorBuffersForTest);
            Assert.Equal(20, small[2]);

            Dictionary<long, long> source = Source(2);
            using var compared = new GoMap<long, long>(source, comparer: new LongModuloComparer(1_000_003));
            Assert.False(compared.PairConstructorBuffersForTest); // hashing runs user code: not ahead of the Adds
            Assert.Equal(source.Count, compared.Count);
        }

        [Theory]
        [InlineData(16)]
        [InlineData(20_021)]
        [InlineData(Count)]
        public void PairConstructor_BeyondTheCaches_DuplicateKey_ThrowsArgumentException_AndFreesEverything(int duplicateAt)
        {
            long baseline = LiveBytes.Settled();
            var pairs = new List<KeyValuePair<long, long>>(Source(3));
            pairs.Insert(duplicateAt, KeyValuePair.Create(pairs[7].Key, -1L)); // a key given twice, the second time here
            Assert.Throws<ArgumentException>(() => new GoMap<long, long>(pairs));
            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Fact]
        public void PairConstructor_BeyondTheCaches_SourceThrowingMidway_PropagatesAndFreesEverything()
        {
            long baseline = LiveBytes.Settled();
            var source = new CutShortPairs(Source(4), after: 30_001, thenThrow: true);
            Assert.Throws<InvalidOperationException>(() => new GoMap<long, long>(source));
            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Theory]
        [MemberData(nameof(BatchSizes.AroundTheBlocks), MemberType = typeof(BatchSizes))]
        public void PairConstructor_BeyondTheCaches_AnyNumberOfPairs_AroundTheBlocks_HoldsExactlyThem(int n)
        {
            // A source that claims Count pairs (so the map is sized beyond the caches) and yields
            // n: counts around the blocks of 16 pairs and the buffer's two halves.
            var source = new CutShortPairs(Source(5), after: n, thenThrow: false);
            using var map = new GoMap<long, long>(source);
            Assert.True(map.PairConstructorBuffersForTest, "the map is meant to be built through the buffers");
            map.Validate();
            Assert.Equal(n, map.Count);
            foreach (KeyValuePair<long, long> pair in source)
            {
                Assert.True(map.TryGetValue(pair.Key, out long v), $"key {pair.Key} missing");
                Assert.Equal(pair.Value, v);
            }
        }

        /// <summary>
        /// A collection that claims every pair of <paramref name="pairs"/> (so the map is sized
        /// for them) and yields only the first <paramref name="after"/>, then ends or, with
        /// <paramref name="thenThrow"/>, throws.
        /// </summary>
        private sealed class CutShortPairs(Dictionary<long, long> pairs, int after, bool thenThrow) : IReadOnlyCollection<KeyValuePair<long, long>>
        {
            public int Count => pairs.Count;

            public IEnumerator<KeyValuePair<long, long>> GetEnumerator()
            {
                int n = 0;
                foreach (KeyValuePair<long, long> pair in pairs)
                {
                    if (n++ == after)
                    {
                        if (thenThrow)
                        {
                            throw new InvalidOperationException("the source failed");
                        }

                        yield break;
                    }

                    yield return pair;
                }
            }

            System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
        }
    }
}
