using System;
using System.Collections.Generic;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// A growth from an old array of at most 64 KiB (GoMap.BulkEvacuationMaxBytes) is evacuated
    /// whole by the write that starts it, while no enumerator is live, for keys that run no user
    /// code; bigger ones, same-size growths, growths under a live enumerator and keys with a
    /// comparer go a few units per write, as Go's. The test
    /// assemblies run their other maps at Go's pace (TestAssemblySetup); every map here turns
    /// the library's bound back on (EvacuateInBulkForTest).
    /// </summary>
    public class BulkEvacuationTests
    {
        // <long,long>: 144-byte buckets. Old arrays of 2^B buckets: B = 8 is 36 KiB (within the
        // bound), B = 9 is 72 KiB (over it). Growths: 0 → 2 → 4 → 6 → 8 (four times at once up to
        // 64 KiB of new array), then 8 → 9 at the 1,665th insert and 9 → 10 at the 3,329th.
        private const int InsertThatGrowsFromB9 = 3329;

        private static GoMap<long, long> NewBulkMap(ulong seed)
        {
            var map = new GoMap<long, long>(new GoMapOptions { Seed = seed });
            map.EvacuateInBulkForTest();
            return map;
        }

        private static long KeyOf(long i) => i * 0x5851F42D4C957F2DL;

        /// <summary>The map is at B = <paramref name="b"/>, growing or not as <paramref name="growing"/> says, and valid.</summary>
        private static void AssertAtB(GoMap<long, long> map, int b, bool growing)
        {
            GoMapStats s = map.GetStats();
            Assert.Equal(b, s.B);
            Assert.True(s.IsGrowing == growing, growing ? "the growth ended in the write that started it" : "the growth is still running after the write that started it");
            map.Validate();
        }

        [Fact]
        public void GrowthFromAnOldArrayWithinTheBound_EndsInTheWriteThatStartsIt()
        {
            Seeded.Run(seed =>
            {
                using GoMap<long, long> map = NewBulkMap((ulong)seed);
                long growths = 0;
                for (long i = 0; i < InsertThatGrowsFromB9 - 1; i++)
                {
                    int bBefore = map.GetStats().B;
                    long startsBefore = map.Work.GrowthStarts;
                    map[KeyOf(i)] = i;
                    GoMapStats s = map.GetStats();
                    Assert.False(s.IsGrowing, $"growing after insert {i + 1} (B {bBefore} -> {s.B})");
                    if (map.Work.GrowthStarts != startsBefore)
                    {
                        growths++;
                        Assert.True(s.B > bBefore, $"insert {i + 1} started a growth that did not raise B");
                        map.Validate();
                    }
                }

                Assert.Equal(5, growths); // 0 → 2 → 4 → 6 → 8 → 9
                Assert.Equal(9, map.GetStats().B);
                for (long i = 0; i < InsertThatGrowsFromB9 - 1; i++)
                {
                    Assert.True(map.TryGetValue(KeyOf(i), out long v) && v == i, $"key {i} lost");
                }
            });
        }

        [Fact]
        public void GrowthFromAnOldArrayOverTheBound_IsCarriedByTheWritesAfterIt()
        {
            using GoMap<long, long> map = NewBulkMap(7);
            for (long i = 0; i < InsertThatGrowsFromB9; i++)
            {
                map[KeyOf(i)] = i;
            }

            AssertAtB(map, 10, growing: true);
            Assert.Equal(9, MapInternals<long, long>.OldB(map));
            Assert.InRange(MapInternals<long, long>.EvacuatedOldBuckets(map), 1, 1 + GoMap<long, long>.SequentialUnitsPerWrite);
        }

        [Fact]
        public void GrowthWithinTheBound_UnderALiveEnumerator_IsCarriedByTheWritesAfterIt()
        {
            using GoMap<long, long> map = NewBulkMap(3);
            for (long i = 0; i < 416; i++)
            {
                map[KeyOf(i)] = i;
            }

            var seen = new HashSet<long>();
            using (GoMap<long, long>.Enumerator e = map.GetEnumerator())
            {
                Assert.True(e.MoveNext());
                seen.Add(e.Current.Key);
                map[KeyOf(416)] = 416; // the 417th insert: B 6 → 8, a 9 KiB old array
                AssertAtB(map, 8, growing: true);
                while (e.MoveNext())
                {
                    Assert.True(seen.Add(e.Current.Key), $"key {e.Current.Key} yielded twice");
                }
            }

            // Go's rule for entries present for the whole iteration: each yielded exactly once.
            for (long i = 0; i < 416; i++)
            {
                Assert.Contains(KeyOf(i), seen);
            }

            map.Validate();
        }

        [Fact]
        public void GrowthWithinTheBound_AfterTheEnumeratorIsDisposed_EndsInTheWriteThatStartsIt()
        {
            using GoMap<long, long> map = NewBulkMap(5);
            for (long i = 0; i < 416; i++)
            {
                map[KeyOf(i)] = i;
            }

            using (GoMap<long, long>.Enumerator e = map.GetEnumerator())
            {
                Assert.True(e.MoveNext());
            }

            map[KeyOf(416)] = 416;
            AssertAtB(map, 8, growing: false);
        }

        [Fact]
        public void GrowthWithinTheBound_OfKeysWithAComparer_IsCarriedByTheWritesAfterIt()
        {
            // A comparer's GetHashCode is user code of unknown cost: no bound on one write then.
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = 2 }, new LongModuloComparer(1 << 20));
            map.EvacuateInBulkForTest();
            for (long i = 0; i < 417; i++)
            {
                map[i] = i; // the 417th insert: B 6 → 8
            }

            AssertAtB(map, 8, growing: true);
        }

        [Fact]
        public void SameSizeGrowthWithinTheBound_IsCarriedByTheWritesAfterIt()
        {
            Seeded.Run(seed =>
            {
                // A 100-entry table (B = 4, 1.3 KiB) churned until deletes leave enough overflow
                // buckets behind for a same-size growth: seen in progress after the write that starts it.
                using var map = new GoMap<int, int>(new GoMapOptions { CapacityHint = 100, Seed = (ulong)seed });
                map.EvacuateInBulkForTest();
                var model = new Dictionary<int, int>();
                Assert.True(Workloads.ChurnUntilSameSizeGrowth(map, model, new Queue<int>(), new Random(seed), live: 96, maxSteps: 200_000) > 0);
                Assert.True(map.GetStats().IsSameSizeGrow);
                map.Validate();
                MapAssert.SameEntries(map, model);
            });
        }

        [Fact]
        public void OutOfMemoryAtEveryAllocationOfAGrowthInOneWrite_LeavesAValidMap()
        {
            // The insert that takes B from 8 to 9 (a 36 KiB old array) with its n-th allocation
            // failing, for every n until it completes: the new array, then the overflow chunks
            // the units reserve as the whole growth runs in that write. The keys all hash into
            // 32 of the 512 new buckets (seed fixed), so the chains the growth builds need far
            // more overflow buckets than the new array's preallocated 32.
            const ulong Seed = 13;
            var keys = new List<long>();
            using (GoMap<long, long> probe = NewBulkMap(Seed))
            {
                for (long i = 0; keys.Count < 1665; i++)
                {
                    if ((probe.DefaultHashForTest(KeyOf(i)) & 511) < 32)
                    {
                        keys.Add(KeyOf(i));
                    }
                }
            }

            bool completed = false;
            int faults = 0;
            for (int n = 1; !completed; n++)
            {
                using GoMap<long, long> map = NewBulkMap(Seed);
                for (int i = 0; i < 1664; i++)
                {
                    map[keys[i]] = i;
                }

                Assert.Equal(8, map.GetStats().B);
                NativeHeap.FailAfter(n);
                try
                {
                    map[keys[1664]] = 1664; // the 1,665th insert
                    completed = true;
                }
                catch (OutOfMemoryException)
                {
                    faults++;
                }
                finally
                {
                    NativeHeap.ClearFault();
                }

                map.Validate();
                Assert.False(completed && map.GetStats().IsGrowing, "the completed insert left its growth running");
                Assert.Equal(completed, map.ContainsKey(keys[1664]));
                Assert.Equal(completed ? 1665 : 1664, map.LongCount);
                for (int i = 0; i < 1664; i++)
                {
                    Assert.True(map.TryGetValue(keys[i], out long v) && v == i, $"key {i} lost after a fault at allocation {n}");
                }

                // The map goes on: the growth (ended, running or not started) completes under later writes.
                for (long i = 0; i < 1000; i++)
                {
                    map[KeyOf(-1 - i)] = i;
                }

                map.Validate();
                Assert.Equal((completed ? 1665 : 1664) + 1000, map.LongCount);
            }

            Assert.True(faults >= 3, $"only {faults} allocations of the growing insert were failed: the growth reserved no overflow chunk");
        }

        [Fact]
        public void RandomWritesWithGrowthsInOneWrite_AgreeWithAModel()
        {
            Seeded.Run(seed =>
            {
                var rng = new Random(seed);
                using GoMap<long, long> map = NewBulkMap((ulong)seed);
                var model = new Dictionary<long, long>();
                long startsSeenEnded = 0;
                for (int op = 0; op < 60_000; op++)
                {
                    // Fill and drain phases over 3,000 keys: growths up to B = 9, all within the bound.
                    long key = KeyOf(rng.Next(3000));
                    bool draining = (op / 6000) % 2 == 1;
                    long starts = map.Work.GrowthStarts;
                    if (rng.Next(100) < (draining ? 70 : 30))
                    {
                        Assert.Equal(model.Remove(key), map.Remove(key));
                    }
                    else
                    {
                        map[key] = op;
                        model[key] = op;
                    }

                    if (map.Work.GrowthStarts != starts && !map.GetStats().IsGrowing)
                    {
                        startsSeenEnded++;
                    }

                    if (op % 5000 == 0)
                    {
                        map.Validate();
                        MapAssert.SameEntries(map, model);
                    }
                }

                map.Validate();
                MapAssert.SameEntries(map, model);
                Assert.True(startsSeenEnded >= 5, $"only {startsSeenEnded} growths ended in the write that started them");
            });
        }
    }
}
