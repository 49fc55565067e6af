using System;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// Overflow buckets beyond an array's preallocated tail come from chunks of 1 to 128 buckets,
    /// one entry per chunk in the generation's ownership list (Go's mapextra.overflow), growing
    /// with the generation's overflow count so that small maps stay small and big ones allocate
    /// and release a few hundred blocks instead of a hundred thousand.
    /// </summary>
    public class OverflowChunkTests
    {
        [Fact]
        public void OverflowChunks_GrowWithTheOverflowCount_UpTo128Buckets()
        {
            using GoMap<long, long> map = MapWithFullSizeChunks();
            GoMapStats s = map.GetStats();
            long chunks = map.OverflowChunkCount;
            long buckets = 0;
            long previous = 0;
            for (long i = 0; i < chunks; i++)
            {
                long n = map.OverflowChunkBuckets(i);
                Assert.InRange(n, Math.Max(1, previous), 128);
                buckets += n;
                previous = n;
            }

            Assert.Equal(128, previous);
            Assert.True(chunks * 20 < s.OverflowBuckets, $"{chunks} chunks for {s.OverflowBuckets} overflow buckets");

            // Every overflow bucket linked is one of the 2^(B-4) preallocated ones or a used chunk bucket.
            Assert.Equal(s.OverflowBuckets, (1L << (13 - 4)) + buckets - map.ChunkBucketsLeft);
            map.Validate();
        }

        [Fact]
        public void ASmallMapsFirstOverflowBucket_IsAChunkOfOne()
        {
            using var map = new GoMap<long, long>(new GoMapOptions { CapacityHint = 13, Seed = 2 }, ConstantHashComparer<long>.Instance);
            for (long k = 0; k < 9; k++)
            {
                map[k] = k; // B = 1, one chain: the 9th entry needs an overflow bucket
            }

            Assert.Equal(1, map.GetStats().B);
            Assert.False(map.GetStats().IsGrowing);
            Assert.Equal(1, map.OverflowChunkCount);
            Assert.Equal(1, map.OverflowChunkBuckets(0));
            Assert.Equal(0, map.ChunkBucketsLeft);
        }

        [Fact]
        public void AnEvacuation_ReservesOneChunkForItsWholeChain()
        {
            // One chain of 26 entries at B = 2; the 27th starts the doubling to B = 3 (no
            // preallocated tail below B = 4), whose evacuation of that chain needs 3 overflow
            // buckets: one chunk holds them all.
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = 3 }, ConstantHashComparer<long>.Instance);
            map.DoubleLikeGoForTest(); // Go's doubling, as big tables grow
            for (long k = 0; k < 26; k++)
            {
                map[k] = k;
            }

            Assert.Equal(2, map.GetStats().B);
            Assert.False(map.GetStats().IsGrowing);
            long allocations = map.Work.BucketAllocations;

            map[26] = 26;
            Assert.Equal(3, map.GetStats().B);
            Assert.Equal(allocations + 2, map.Work.BucketAllocations); // the new array and one chunk
            Assert.Equal(1, map.OverflowChunkCount);
            Assert.True(map.OverflowChunkBuckets(0) >= 3);
            map.Validate();
        }

        [Fact]
        public void TheEndOfAGrowth_QueuesTheOldGenerationsChunksForRelease_OldestFirst()
        {
            // The newest chunks lie at the C heap's top: freed first, each would make it trim.
            using GoMap<long, long> map = MapWithFullSizeChunks();
            var chunks = new nint[map.OverflowChunkCount];
            for (long i = 0; i < chunks.Length; i++)
            {
                chunks[i] = map.OverflowChunkAt(i);
            }

            map.EnsureCapacity(100_000); // a growth to B = 14: the chunks become the old generation's
            IterationHelpers.FinishGrowth(map, 0L, 0L); // its last write retires them

            nint[] releaseOrder = map.DeferredBlocks();
            int previous = -1;
            for (int i = 0; i < chunks.Length; i++)
            {
                int at = Array.IndexOf(releaseOrder, chunks[i]);
                Assert.True(at > previous, $"chunk {i} of {chunks.Length} is at {at} of the deferred list, the chunk before it at {previous}");
                previous = at;
            }

            map.Validate();
        }

        /// <summary>
        /// A <c>&lt;long,long&gt;</c> map at B = 13 with 40,000 entries on 64 distinct hashes: 64 long
        /// chains, overflow chunks from small ones up to full-size ones (128 buckets), no growth.
        /// </summary>
        internal static GoMap<long, long> MapWithFullSizeChunks()
        {
            var map = new GoMap<long, long>(new GoMapOptions { CapacityHint = 13L << 12, Seed = 1 }, new LongModuloComparer(64));
            for (long k = 0; k < 40_000; k++)
            {
                map[k] = k;
            }

            Assert.Equal(13, map.GetStats().B);
            Assert.False(map.GetStats().IsGrowing);
            return map;
        }
    }
}
