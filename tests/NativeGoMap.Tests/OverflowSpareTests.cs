using System.Collections.Generic;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// A delete that leaves the end of a chain wholly empty unlinks those overflow buckets and
    /// keeps them as spares of the generation, which the next insert that needs an overflow
    /// bucket links again before it takes a new one (TrimEmptyTail). Go's map leaves them linked
    /// until a growth; a map emptied by deletes and filled again then collects an empty overflow
    /// bucket behind most chains, and its deletes slow down. Never while an enumerator is
    /// registered: it may stand in such a bucket.
    /// </summary>
    public class OverflowSpareTests
    {
        private const int Seed = 5;

        /// <summary>A 16-bucket map (B = 4) with 10 keys in bucket 0 (the last 2 in its overflow bucket) and one key elsewhere, so that emptying the chain never empties the map (which would reseed it).</summary>
        internal static GoMap<long, long> MapWithOneOverflowBucket(ConcurrencyChecks mode, out List<long> chain, out long other)
        {
            var map = new GoMap<long, long>(new GoMapOptions { CapacityHint = 64, Seed = Seed, ConcurrencyChecks = mode });
            Assert.Equal(4, map.GetStats().B);
            chain = new List<long>();
            other = -1;
            for (long k = 0; chain.Count < 10 || other < 0; k++)
            {
                if ((map.DefaultHashForTest(k) & 15) == 0)
                {
                    if (chain.Count < 10)
                    {
                        chain.Add(k);
                    }
                }
                else if (other < 0)
                {
                    other = k;
                }
            }

            foreach (long k in chain)
            {
                map[k] = k;
            }

            map[other] = other;
            GoMapStats s = map.GetStats();
            Assert.False(s.IsGrowing);
            Assert.Equal(1, s.OverflowBuckets);
            Assert.Equal(1, s.NOverflow);
            return map;
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void ADeleteThatEmptiesTheChainsLastOverflowBucket_UnlinksItAsASpare(ConcurrencyChecks mode)
        {
            using GoMap<long, long> map = MapWithOneOverflowBucket(mode, out List<long> chain, out long other);

            Assert.True(map.Remove(chain[9]));
            Assert.Equal(1, map.GetStats().OverflowBuckets); // one entry left in it
            Assert.True(map.Remove(chain[8]));

            GoMapStats s = map.GetStats();
            Assert.Equal(0, s.OverflowBuckets);
            Assert.Equal(1, map.SpareOverflowCountForTest);
            Assert.Equal(1, s.NOverflow); // still owned by the generation
            map.Validate();
            for (int i = 0; i < 8; i++)
            {
                Assert.Equal(chain[i], map[chain[i]]);
            }

            Assert.Equal(other, map[other]);
            Assert.False(map.ContainsKey(chain[8]));
            Assert.False(map.ContainsKey(chain[9]));
        }

        [Fact]
        public void WithAComparer_ADeleteThatEmptiesTheLastOverflowBucket_UnlinksItToo()
        {
            // Every key in one chain; deletes with a comparer take DeleteIn under the structural right.
            using var map = new GoMap<long, long>(new GoMapOptions { CapacityHint = 64, Seed = Seed }, ConstantHashComparer<long>.Instance);
            for (long k = 0; k < 20; k++)
            {
                map[k] = k;
            }

            Assert.Equal(2, map.GetStats().OverflowBuckets);
            for (long k = 19; k >= 8; k--)
            {
                map.Remove(k);
            }

            Assert.Equal(0, map.GetStats().OverflowBuckets);
            Assert.Equal(2, map.SpareOverflowCountForTest);
            map.Validate();
            for (long k = 0; k < 8; k++)
            {
                Assert.Equal(k, map[k]);
            }
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void AnInsertThatNeedsAnOverflowBucket_LinksASpare_AllocatingNothing(ConcurrencyChecks mode)
        {
            using GoMap<long, long> map = MapWithOneOverflowBucket(mode, out List<long> chain, out _);
            map.Remove(chain[9]);
            map.Remove(chain[8]);
            Assert.Equal(1, map.SpareOverflowCountForTest);
            long nativeBytes = map.GetStats().NativeBytes;
            long allocations = map.Work.BucketAllocations;

            map[chain[8]] = 80;

            GoMapStats s = map.GetStats();
            Assert.Equal(1, s.OverflowBuckets);
            Assert.Equal(0, map.SpareOverflowCountForTest);
            Assert.Equal(1, s.NOverflow); // a reuse brings no same-size growth nearer
            Assert.Equal(nativeBytes, s.NativeBytes);
            Assert.Equal(allocations, map.Work.BucketAllocations);
            Assert.Equal(80, map[chain[8]]);
            map.Validate();
        }

        [Fact]
        public void WhileAnEnumeratorIsRegistered_EmptiedOverflowBucketsStayLinked()
        {
            using GoMap<long, long> map = MapWithOneOverflowBucket(ConcurrencyChecks.Go, out List<long> chain, out _);
            var seen = new HashSet<long>();
            foreach (KeyValuePair<long, long> kv in map)
            {
                Assert.True(seen.Add(kv.Key), $"key {kv.Key} yielded twice");
                if (seen.Count == 1)
                {
                    map.Remove(chain[9]);
                    map.Remove(chain[8]);
                    Assert.Equal(1, map.GetStats().OverflowBuckets);
                    Assert.Equal(0, map.SpareOverflowCountForTest);
                    map.Validate();
                }
            }

            Assert.Equal(map.Count, seen.Count - (seen.Contains(chain[8]) ? 1 : 0) - (seen.Contains(chain[9]) ? 1 : 0));

            // Once the walk is over, the delete that empties the chain's first bucket unlinks the
            // empty bucket left behind it; the deletes before it leave it linked.
            for (int i = 0; i < 7; i++)
            {
                map.Remove(chain[i]);
                Assert.Equal(1, map.GetStats().OverflowBuckets);
            }

            map.Remove(chain[7]);
            Assert.Equal(0, map.GetStats().OverflowBuckets);
            Assert.Equal(1, map.SpareOverflowCountForTest);
            map.Validate();
        }

        [Fact]
        public void AGrowthStart_DropsTheSparesWithTheirGeneration()
        {
            using GoMap<long, long> map = MapWithOneOverflowBucket(ConcurrencyChecks.Go, out List<long> chain, out _);
            map.Remove(chain[9]);
            map.Remove(chain[8]);
            Assert.Equal(1, map.SpareOverflowCountForTest);

            long growths = map.Work.GrowthStarts;
            for (long k = 1_000_000; map.Work.GrowthStarts == growths; k++)
            {
                map[k] = k;
            }

            Assert.True(map.GetStats().IsGrowing);
            Assert.Equal(0, map.SpareOverflowCountForTest);
            map.Validate();
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void RemovingEveryEntryAndRefilling_LinksNoNewOverflowBucketsAndStartsNoGrowth(ConcurrencyChecks mode)
        {
            // Each emptying reseeds the map, so each fill overflows other chains. With the
            // emptied overflow buckets left linked (Go's way), about 5 more per fill stayed behind
            // their chains until noverflow reached 2^B and a same-size growth started.
            const int N = 1000;
            using var map = new GoMap<long, long>(new GoMapOptions { CapacityHint = N, Seed = Seed, ConcurrencyChecks = mode });
            var keys = new long[N];
            var rng = new System.Random(Seed);
            for (int i = 0; i < N; i++)
            {
                keys[i] = rng.NextInt64();
            }

            long growths = map.Work.GrowthStarts;
            for (int cycle = 0; cycle < 150; cycle++)
            {
                foreach (long k in keys)
                {
                    map[k] = k;
                }

                Assert.Equal(N, map.Count);
                Assert.True(map.GetStats().NOverflow < 64, $"cycle {cycle}: noverflow {map.GetStats().NOverflow}");
                foreach (long k in keys)
                {
                    map.Remove(k);
                }

                Assert.Equal(0, map.GetStats().OverflowBuckets);
            }

            Assert.Equal(growths, map.Work.GrowthStarts);
            map.Validate();
        }
    }
}
