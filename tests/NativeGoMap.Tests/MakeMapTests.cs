using System;
using System.Collections.Generic;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// The bucket array's life: Go's makemap (hint to B, lazy B = 0, bogus hints, the
    /// preallocated overflow tail) and mapclear (the array is kept and reset).
    /// </summary>
    public class MakeMapTests
    {
        // ---- makemap ----

        [Theory]
        [MemberData(nameof(GoGrowth.HintToB), MemberType = typeof(GoGrowth))]
        public void MakeMap_Hint_ChoosesGoB(long hint, int expectedB)
        {
            using var map = new GoMap<long, long>(hint);
            Assert.Equal(expectedB, map.GetStats().B);
            Assert.Equal(0, map.LongCount);
            Assert.False(map.GetStats().IsGrowing);
        }

        [Theory]
        [InlineData(0L)]
        [InlineData(1L)]
        [InlineData(8L)]
        public void MakeMap_HintUpTo8_AllocatesNothingUntilFirstInsert(long hint)
        {
            long allocations = NativeHeap.AllocationCount;
            using var map = new GoMap<long, long>(hint);
            Assert.Equal(allocations, NativeHeap.AllocationCount);
            Assert.Equal(0, map.GetStats().NativeBytes);

            // Reads and removes of an empty map allocate nothing either.
            Assert.False(map.ContainsKey(1));
            Assert.False(map.Remove(1));
            Assert.Equal(allocations, NativeHeap.AllocationCount);
            Assert.Equal(0, map.GetStats().NativeBytes);

            map[1] = 1;
            Assert.Equal(allocations + 1, NativeHeap.AllocationCount);
            Assert.InRange(map.GetStats().NativeBytes, 144, 144 + 128);
            map.Validate();
        }

        [Fact]
        public void MakeMap_DefaultConstructor_AllocatesNothing()
        {
            long allocations = NativeHeap.AllocationCount;
            using var map = new GoMap<int, int>();
            Assert.Equal(allocations, NativeHeap.AllocationCount);
            Assert.Equal(0, map.GetStats().NativeBytes);
            Assert.Equal(0, map.GetStats().B);
            map.Validate();
        }

        /// <summary>Keys with the same last decimal digit are equal.</summary>
        private sealed class SameLastDigit : IEqualityComparer<int>
        {
            public bool Equals(int x, int y) => x % 10 == y % 10;

            public int GetHashCode(int obj) => obj % 10;
        }

        [Fact]
        public void MakeMap_ComparerConstructor_ComparesKeysWithIt_AndAllocatesNothing()
        {
            // Dictionary's new(comparer): keys equal under the comparer (same value mod 10) are one key.
            long allocations = NativeHeap.AllocationCount;
            using var map = new GoMap<int, int>(new SameLastDigit());
            Assert.Equal(allocations, NativeHeap.AllocationCount);
            Assert.IsType<SameLastDigit>(map.Comparer);
            map[3] = 1;
            map[13] = 2;
            Assert.Equal(1L, map.LongCount);
            Assert.Equal(2, map[23]);
            map.Validate();
        }

        [Theory]
        [InlineData(-1L)]
        [InlineData(-9L)]
        [InlineData(int.MinValue)]
        [InlineData(long.MinValue)]
        public void MakeMap_NegativeHint_IsTreatedAsZero(long hint)
        {
            long allocations = NativeHeap.AllocationCount;
            using var map = new GoMap<long, long>(hint);
            Assert.Equal(0, map.GetStats().B);
            Assert.Equal(0, map.GetStats().NativeBytes);
            Assert.Equal(allocations, NativeHeap.AllocationCount);
            map[5] = 6;
            Assert.Equal(6, map[5]);
        }

        [Theory]
        [InlineData(long.MaxValue)]
        [InlineData(1L << 62)]
        [InlineData((1L << 48) / 144 + 1)]
        public void MakeMap_HintWhoseBucketMemoryCannotBeAddressed_IsTreatedAsZero(long hint)
        {
            long allocations = NativeHeap.AllocationCount;
            using var map = new GoMap<long, long>(hint);
            Assert.Equal(0, map.GetStats().B);
            Assert.Equal(0, map.GetStats().NativeBytes);
            Assert.Equal(allocations, NativeHeap.AllocationCount);
            map[5] = 6;
            Assert.Equal(6, map[5]);
        }

        [Fact]
        public void MakeMap_BogusHintLimit_DependsOnBucketSize()
        {
            // 1104-byte buckets: a hint that 144-byte buckets would accept is bogus here.
            long hint = (1L << 48) / 1104 + 1;
            using var map = new GoMap<Bytes128, long>(hint);
            Assert.Equal(0, map.GetStats().B);
            Assert.Equal(0, map.GetStats().NativeBytes);
        }

        [Fact]
        public void MakeMap_HintedArray_HoldsTwoToTheBMinus4PreallocatedOverflowBuckets()
        {
            // B < 4 has no tail; the header slack is whatever NativeBytes exceeds the bare array by.
            long slack;
            using (var small = new GoMap<long, long>(GoGrowth.HintFor(1)))
            {
                Assert.Equal(1, small.GetStats().B);
                slack = small.GetStats().NativeBytes - (2 * 144);
                Assert.InRange(slack, 0, 128);
            }

            for (int b = 2; b <= 12; b++)
            {
                using var map = new GoMap<long, long>(GoGrowth.HintFor(b));
                Assert.Equal(b, map.GetStats().B);
                long buckets = (1L << b) + (b >= 4 ? 1L << (b - 4) : 0);
                ulong bytes = (ulong)(buckets * 144);

                // Arrays from NativeHeap.MappedThreshold up are mappings of their own: a cache
                // line of header room, rounded up to whole pages.
                long expected = OsMemory.Supported && bytes >= NativeHeap.MappedThreshold
                    ? (long)OsMemory.RoundUpToPage(bytes + NativeHeap.MappedOffset)
                    : (long)bytes + slack;
                Assert.Equal(expected, map.GetStats().NativeBytes);
                Assert.Equal(0, map.GetStats().OverflowBuckets);
                map.Validate();
            }
        }

        [Fact]
        public void MakeMap_PreallocatedOverflowBuckets_AreLinkedBeforeAnyAllocation()
        {
            // B = 5: two preallocated overflow buckets. Every key hashes alike, so one chain grows.
            using var map = new GoMap<long, long>(new GoMapOptions { CapacityHint = GoGrowth.HintFor(5), Seed = 11 }, ConstantHashComparer<long>.Instance);
            Assert.Equal(5, map.GetStats().B);
            long bytes = map.GetStats().NativeBytes;
            long allocations = NativeHeap.AllocationCount;
            for (long k = 0; k < 24; k++)
            {
                map[k] = k;
            }

            Assert.Equal(allocations, NativeHeap.AllocationCount);
            Assert.Equal(bytes, map.GetStats().NativeBytes);
            Assert.Equal(2, map.GetStats().OverflowBuckets);
            Assert.Equal(2, map.GetStats().NOverflow);
            map.Validate();

            // The 25th key needs a third overflow bucket: the tail is used up, so it is allocated.
            map[24] = 24;
            Assert.True(NativeHeap.AllocationCount > allocations);
            Assert.True(map.GetStats().NativeBytes > bytes);
            Assert.Equal(3, map.GetStats().OverflowBuckets);
            Assert.Equal(5, map.GetStats().B);
            map.Validate();
            for (long k = 0; k < 25; k++)
            {
                Assert.Equal(k, map[k]);
            }
        }

        [Fact]
        public void MakeMap_FillingToTheHint_NeverGrows()
        {
            Seeded.Run(seed =>
            {
                foreach (long hint in new long[] { 9, 14, 26, 100, 104, 1000, 6656 })
                {
                    using var map = new GoMap<long, long>(new GoMapOptions { CapacityHint = hint, Seed = (ulong)seed });
                    int b = map.GetStats().B;
                    for (long k = 0; k < hint; k++)
                    {
                        map[k * 0x9E3779B9L] = k;
                        GoMapStats s = map.GetStats();
                        Assert.False(s.IsGrowing, $"hint {hint}: growth started at insert {k + 1}");
                        Assert.Equal(b, s.B);
                    }

                    map.Validate();
                }
            });
        }

        [Fact]
        public void MakeMap_FixedSeed_MakesPlacementReproducible()
        {
            using var a = new GoMap<int, int>(new GoMapOptions { Seed = 1234 });
            using var b = new GoMap<int, int>(new GoMapOptions { Seed = 1234 });
            for (int k = 0; k < 3000; k++)
            {
                a[k] = k;
                b[k] = k;
            }

            Assert.Equal(a.GetStats().OverflowBuckets, b.GetStats().OverflowBuckets);
            Assert.Equal(a.HashSeed, b.HashSeed);
            var orderA = new List<int>();
            foreach (KeyValuePair<int, int> kv in a)
            {
                orderA.Add(kv.Key);
            }

            var orderB = new List<int>();
            foreach (KeyValuePair<int, int> kv in b)
            {
                orderB.Add(kv.Key);
            }

            Assert.Equal(orderA, orderB);
        }

        // ---- mapclear ----

        /// <summary>NativeBytes of a map holding nothing but a fresh array for B.</summary>
        private static long BareArrayBytes<TKey, TValue>(int b)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            using var fresh = new GoMap<TKey, TValue>(GoGrowth.HintFor(b));
            if (b == 0)
            {
                fresh[default] = default;
                fresh.Remove(default);
            }

            Assert.Equal(b, fresh.GetStats().B);
            return fresh.GetStats().NativeBytes;
        }

        /// <summary>
        /// After a clear the map owns its bucket array and nothing else: the overflow chunks it
        /// retired wait for release, and the writes that follow release them (a bounded number),
        /// down to the bare array.
        /// </summary>
        private static void AssertReleasesDownToTheBareArray<TKey, TValue>(GoMap<TKey, TValue> map)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            long bare = BareArrayBytes<TKey, TValue>(map.GetStats().B);
            GoMapStats cleared = map.GetStats();
            Assert.Equal(0, map.OverflowChunkCount);
            Assert.Equal(0, map.OldOverflowChunkCount);
            Assert.Equal(0, map.ChunkBucketsLeft);
            Assert.True(bare == cleared.NativeBytes - cleared.DeferredBytes, $"after Clear the map owns {cleared.NativeBytes - cleared.DeferredBytes} native bytes besides retired ones, its bare bucket array {bare}");
            Release.Drain(map, () =>
            {
                map[default] = default;
                map.Remove(default);
            });
            Assert.Equal(bare, map.GetStats().NativeBytes);
        }

        [Fact]
        public void Clear_RemovesEverything_AndAllLookupsMiss()
        {
            using var map = new GoMap<int, int>();
            for (int k = 0; k < 5000; k++)
            {
                map[k] = -k;
            }

            map.Clear();
            Assert.Equal(0, map.LongCount);
            Assert.Equal(0, map.GetStats().Count);
            for (int k = 0; k < 5000; k++)
            {
                Assert.False(map.ContainsKey(k));
                Assert.False(map.TryGetValue(k, out _));
                Assert.False(map.Remove(k));
            }

            var e = map.GetEnumerator();
            Assert.False(e.MoveNext());
            map.Validate();
        }

        [Fact]
        public void Clear_KeepsTheBucketArray_AndRetiresOverflowChunks()
        {
            // All keys in 4 chains: plenty of overflow buckets, in chunks.
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = 5 }, new LongModuloComparer(4));
            for (long k = 0; k < 600; k++)
            {
                map[k] = k;
            }

            while (map.GetStats().IsGrowing)
            {
                map[0] = 0; // finish the growth so the array settles
            }

            GoMapStats before = map.GetStats();
            Assert.True(before.OverflowBuckets > 0);
            Assert.True(map.OverflowChunkCount > 0, "precondition: overflow buckets beyond the preallocated tail, in chunks");
            Assert.True(before.NativeBytes > BareArrayBytes<long, long>(before.B));

            map.Clear();
            GoMapStats after = map.GetStats();
            Assert.Equal(before.B, after.B);
            Assert.Equal(0, after.OverflowBuckets);
            Assert.Equal(0, after.NOverflow);
            AssertReleasesDownToTheBareArray(map);
            map.Validate();
        }

        [Fact]
        public void Clear_AllocatesNothing()
        {
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = 5 }, new LongModuloComparer(4));
            for (long k = 0; k < 600; k++)
            {
                map[k] = k;
            }

            long allocations = NativeHeap.AllocationCount;
            map.Clear();
            Assert.Equal(allocations, NativeHeap.AllocationCount);
        }

        [Fact]
        public void Clear_ReclaimsThePreallocatedOverflowTail()
        {
            using var map = new GoMap<long, long>(new GoMapOptions { CapacityHint = GoGrowth.HintFor(5), Seed = 2 }, ConstantHashComparer<long>.Instance);
            for (long k = 0; k < 24; k++)
            {
                map[k] = k; // uses both preallocated overflow buckets
            }

            map.Clear();
            long allocations = NativeHeap.AllocationCount;
            for (long k = 100; k < 124; k++)
            {
                map[k] = k;
            }

            Assert.Equal(allocations, NativeHeap.AllocationCount);
            Assert.Equal(2, map.GetStats().OverflowBuckets);
            map.Validate();
        }

        [Fact]
        public void Clear_DuringGrowth_AbandonsTheGrowthCleanly()
        {
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = 9 });
            long k = 0;
            while (map.GetStats().B < 6 || !map.GetStats().IsGrowing)
            {
                map[k] = k;
                k++;
            }

            GoMapStats growing = map.GetStats();
            Assert.True(growing.IsGrowing);
            Assert.False(growing.IsSameSizeGrow);

            map.Clear();
            GoMapStats after = map.GetStats();
            Assert.False(after.IsGrowing);
            Assert.False(after.IsSameSizeGrow);
            Assert.Equal(0, after.EvacuatedBuckets);
            Assert.Equal(growing.B, after.B);
            AssertReleasesDownToTheBareArray(map);
            map.Validate();

            // Usable after: refill past another growth and find everything.
            var model = new Dictionary<long, long>();
            for (long j = 0; j < 2 * k; j++)
            {
                map[j] = j * 3;
                model[j] = j * 3;
            }

            map.Validate();
            MapAssert.SameEntries(map, model);
        }

        [Fact]
        public void Clear_SameSizeGrowthInProgress_IsAbandonedToo()
        {
            Seeded.Run(seed =>
            {
                using var map = new GoMap<int, int>(new GoMapOptions { CapacityHint = 100, Seed = (ulong)seed });
                var model = new Dictionary<int, int>();
                Assert.True(Workloads.ChurnUntilSameSizeGrowth(map, model, new Queue<int>(), new Random(seed), live: 96, maxSteps: 200_000) > 0, "no same-size growth");
                Assert.True(map.GetStats().IsGrowing);
                int b = map.GetStats().B;

                map.Clear();
                GoMapStats after = map.GetStats();
                Assert.False(after.IsGrowing);
                Assert.False(after.IsSameSizeGrow);
                Assert.Equal(b, after.B);
                AssertReleasesDownToTheBareArray(map);
                map.Validate();
                map[1] = 2;
                Assert.Equal(2, map[1]);
                Assert.Equal(1L, map.LongCount);
            });
        }

        [Fact]
        public void Clear_IndirectEntries_ReturnsToTheBareArray()
        {
            using var map = new GoMap<Blob200, Blob200>(new GoMapOptions { Seed = 4 });
            for (long k = 0; k < 300; k++)
            {
                map[Blob200.Of(k)] = Blob200.Of(-k);
            }

            while (map.GetStats().IsGrowing)
            {
                map[Blob200.Of(0)] = default;
            }

            int b = map.GetStats().B;
            map.Clear();
            Assert.Equal(b, map.GetStats().B);

            AssertReleasesDownToTheBareArray(map);
            map.Validate();
        }

        [Fact]
        public void Clear_NeverUsedMap_StaysWithoutMemory()
        {
            using var map = new GoMap<int, int>();
            map.Clear();
            Assert.Equal(0, map.GetStats().NativeBytes);
            Assert.Equal(0L, map.LongCount);
            map.Validate();
        }

        [Fact]
        public void Clear_ThenReuse_BehavesLikeANewMap()
        {
            Seeded.Run(seed =>
            {
                var rng = new Random(seed);
                using var map = new GoMap<int, int>(new GoMapOptions { Seed = (ulong)seed });
                var model = new Dictionary<int, int>();
                for (int round = 0; round < 5; round++)
                {
                    int n = rng.Next(0, 3000);
                    for (int i = 0; i < n; i++)
                    {
                        int k = rng.Next(0, 5000);
                        map[k] = i;
                        model[k] = i;
                    }

                    MapAssert.SameEntries(map, model);
                    map.Clear();
                    model.Clear();
                    MapAssert.SameEntries(map, model);
                    map.Validate();
                }
            });
        }
    }
}
