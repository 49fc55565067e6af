using System;
using System.Collections.Generic;
using System.Linq;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// EnsureCapacity and TrimExcess (GoMap.Resize.cs): the sizes they reach, that they move the
    /// map incrementally (no call finishes a big resize by itself), Go's iteration rules across a
    /// shrink and a growth of several levels, and random operation sequences mixing them in,
    /// checked against a Dictionary model with Validate at every step.
    /// </summary>
    public class ResizeTests
    {
        private static void Fill(GoMap<long, long> map, Dictionary<long, long>? model, long from, long to)
        {
            for (long k = from; k < to; k++)
            {
                map[k] = k * 3;
                if (model != null)
                {
                    model[k] = k * 3;
                }
            }
        }

        /// <summary>Removes keys <paramref name="from"/> to <paramref name="to"/> − 1 from the map and the model (the reverse of <see cref="Fill"/>).</summary>
        private static void Drop(GoMap<long, long> map, Dictionary<long, long>? model, long from, long to)
        {
            for (long k = from; k < to; k++)
            {
                map.Remove(k);
                model?.Remove(k);
            }
        }

        /// <summary>Calls TrimExcess until it reports completion; returns the number of calls.</summary>
        private static int TrimToEnd(GoMap<long, long> map, Func<bool> trim)
        {
            int calls = 1;
            while (!trim())
            {
                map.Validate();
                calls++;
                Assert.True(calls < 1_000_000, "TrimExcess never completed");
            }

            map.Validate();
            return calls;
        }

        // ---- EnsureCapacity ----

        [Theory]
        [InlineData(0, 0)]
        [InlineData(8, 0)]
        [InlineData(9, 1)]
        [InlineData(1000, 8)]
        [InlineData(1_000_000, 18)]
        public void EnsureCapacity_OnAnEmptyMap_SizesAsTheConstructorHint(long capacity, int b)
        {
            using var map = new GoMap<long, long>();
            long guaranteed = map.EnsureCapacity(capacity);
            using var hinted = new GoMap<long, long>(capacity);
            Assert.Equal(b, map.GetStats().B);
            Assert.Equal(hinted.GetStats().B, map.GetStats().B);
            Assert.False(map.GetStats().IsGrowing);
            Assert.True(guaranteed >= capacity);
            map.Validate();
        }

        [Fact]
        public void EnsureCapacity_ReturnsTheCountThatFitsWithoutGrowth()
        {
            using var map = new GoMap<long, long>();
            long guaranteed = map.EnsureCapacity(1000);
            int b = map.GetStats().B;
            Fill(map, null, 0, guaranteed);
            Assert.Equal(b, map.GetStats().B);
            Assert.Equal(0, map.Work.GrowthStarts);
            map[guaranteed] = 1; // one more grows
            Assert.Equal(1, map.Work.GrowthStarts);
        }

        [Fact]
        public void EnsureCapacity_NegativeCapacity_Throws()
        {
            using var map = new GoMap<long, long>();
            Assert.Throws<ArgumentOutOfRangeException>(() => map.EnsureCapacity(-1));
        }

        [Fact]
        public void EnsureCapacity_AbsurdCapacity_ThrowsOutOfMemory_AndLeavesTheMapAsItWas()
        {
            using var map = new GoMap<long, long>();
            map[1] = 1;
            Assert.Throws<OutOfMemoryException>(() => map.EnsureCapacity(long.MaxValue));
            Assert.Equal(1, map[1]);
            Assert.Equal(0, map.GetStats().B);
            map.Validate();
        }

        [Fact]
        public void EnsureCapacity_OnADisposedMap_ThrowsObjectDisposed_EvenForACapacityNoArrayCanHold()
        {
            var map = new GoMap<long, long>();
            map.Dispose();
            Assert.Throws<ObjectDisposedException>(() => map.EnsureCapacity(long.MaxValue));
        }

        [Fact]
        public void EnsureCapacity_SmallerThanTheMap_ChangesNothing()
        {
            using var map = new GoMap<long, long>(10_000);
            int b = map.GetStats().B;
            long guaranteed = map.EnsureCapacity(10);
            Assert.Equal(b, map.GetStats().B);
            Assert.Equal(Math.Max(8L, GoGrowth.HintFor(b)), guaranteed);
            Assert.Equal(0, map.Work.GrowthStarts);
        }

        [Fact]
        public void EnsureCapacity_OnAPopulatedMap_StartsOneGrowthOfSeveralLevels_CarriedByLaterWrites()
        {
            using var map = new GoMap<long, long>();
            map.DoubleLikeGoForTest(); // Go's doubling, as big tables grow
            var model = new Dictionary<long, long>();
            Fill(map, model, 0, 500); // B = 7
            Assert.Equal(7, map.GetStats().B);
            long startsBefore = map.Work.GrowthStarts;

            long guaranteed = map.EnsureCapacity(100_000);
            GoMapStats s = map.GetStats();
            Assert.Equal(14, s.B);
            Assert.True(s.IsGrowing, "a populated map grows incrementally");
            Assert.Equal(7, map.OldBForTest);
            Assert.Equal(startsBefore + 1, map.Work.GrowthStarts);
            Assert.True(guaranteed >= 100_000);
            map.Validate();
            MapAssert.SameEntries(map, model);

            Fill(map, model, 500, 100_000);
            Assert.Equal(14, map.GetStats().B);
            Assert.False(map.GetStats().IsGrowing);
            Assert.Equal(startsBefore + 1, map.Work.GrowthStarts);
            map.Validate();
            MapAssert.SameEntries(map, model);
        }

        [Fact]
        public void EnsureCapacity_DuringAGrowth_GrowsToTheCapacityWhenItEnds()
        {
            using var map = new GoMap<long, long>();
            var model = new Dictionary<long, long>();
            Fill(map, model, 0, 105); // the 105th insert started a growth (B 4 → 6)
            Assert.True(map.GetStats().IsGrowing);
            long guaranteed = map.EnsureCapacity(50_000);
            Assert.Equal(13, map.PendingResizeB);
            long startsAfterCall = map.Work.GrowthStarts;
            Fill(map, model, 105, 50_000);
            Assert.Equal(13, map.GetStats().B);
            Assert.Equal(startsAfterCall + 1, map.Work.GrowthStarts); // only the planned one
            Assert.True(guaranteed >= 50_000);
            map.Validate();
            MapAssert.SameEntries(map, model);
        }

        [Fact]
        public void EnsureCapacity_DuringAShrink_GrowsOnceToTheCapacity_WhenAnInsertEndsTheShrinkOverItsLoadFactor()
        {
            // Found by review: the insert whose growth work ended the shrink (B 12 → 8) was over
            // B 8's load factor and started a growth of its own (to 9), and the plan (11) came after.
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = 3 });
            var model = new Dictionary<long, long>();
            Fill(map, model, 0, 20_000);
            Drop(map, model, 1_600, 20_000);
            map.TrimExcess();
            Assert.True(map.GetStats().IsShrinking);
            Assert.True(map.EnsureCapacity(10_000) >= 10_000);
            long starts = map.Work.GrowthStarts;
            Fill(map, model, 1_600, 10_000);
            Assert.Equal(11, map.GetStats().B);
            Assert.Equal(starts + 1, map.Work.GrowthStarts); // only the planned one
            map.Validate();
            MapAssert.SameEntries(map, model);
        }

        [Fact]
        public void EnsureCapacity_AfterInsertsDuringAShrinkPassedItsLoadFactor_GuaranteesAtLeastTheCount()
        {
            // 6,650 entries at B = 11 shrink to B = 10 (6,656 entries fit); 10 inserts meanwhile.
            using var map = new GoMap<long, long>();
            Fill(map, null, 0, 13_000);
            Drop(map, null, 6_650, 13_000);

            map.TrimExcess();
            Assert.True(map.GetStats().IsShrinking);
            Fill(map, null, 100_000, 100_010);
            long guaranteed = map.EnsureCapacity(0);
            Assert.True(guaranteed >= map.LongCount, $"EnsureCapacity(0) guaranteed {guaranteed} with {map.LongCount} entries");
            long starts = map.Work.GrowthStarts;
            while (map.GetStats().IsGrowing || map.PendingResizeB >= 0)
            {
                map[1] = 1; // updates carry the resize
            }

            Fill(map, null, 200_000, 200_000 + (guaranteed - map.LongCount));
            Assert.True(map.Work.GrowthStarts - starts <= 1, "only the growth EnsureCapacity planned");
            map.Validate();
        }

        // ---- TrimExcess ----

        [Fact]
        public void TrimExcess_AfterDeletes_ShrinksToTheSmallestBThatHoldsTheCount()
        {
            using var map = new GoMap<long, long>();
            var model = new Dictionary<long, long>();
            Fill(map, model, 0, 100_000); // B = 14
            Drop(map, model, 1000, 100_000);

            TrimToEnd(map, map.TrimExcess);
            Assert.Equal(GoGrowth.BForHint(1000), map.GetStats().B);
            Assert.Equal(8, map.GetStats().B);
            MapAssert.SameEntries(map, model);
        }

        [Fact]
        public void TrimExcess_IsIncremental_OneCallMovesABoundedPart()
        {
            using var map = new GoMap<long, long>();
            Fill(map, null, 0, 400_000); // B = 16
            Drop(map, null, 100, 400_000);

            Assert.False(map.TrimExcess(), "one call cannot finish a shrink of 65,536 buckets");
            GoMapStats s = map.GetStats();
            Assert.True(s.IsGrowing);
            Assert.True(map.OldBForTest > s.B);
            Assert.True(s.EvacuatedBuckets * (1L << (map.OldBForTest - s.B)) <= GoMap<long, long>.TrimStepBuckets);
            map.Validate();
        }

        [Fact]
        public void TrimExcess_ShrinksAtMostMaxShrinkLevelsPerStep_AndChainsTheRest()
        {
            using var map = new GoMap<long, long>();
            var model = new Dictionary<long, long>();
            Fill(map, model, 0, 400_000); // B = 16
            Drop(map, model, 10, 400_000);

            map.TrimExcess();
            Assert.Equal(16 - GoMap<long, long>.MaxShrinkLevels, map.GetStats().B);
            Assert.Equal(1, map.PendingResizeB); // 10 entries need B = 1
            TrimToEnd(map, map.TrimExcess);
            Assert.Equal(1, map.GetStats().B);
            Assert.Equal(-1, map.PendingResizeB);
            MapAssert.SameEntries(map, model);
        }

        [Fact]
        public void TrimExcess_WritesCarryTheShrink()
        {
            using var map = new GoMap<long, long>();
            var model = new Dictionary<long, long>();
            Fill(map, model, 0, 50_000);
            Drop(map, model, 0, 49_000);

            map.TrimExcess();
            long k2 = 1_000_000;
            while (map.GetStats().IsGrowing || map.PendingResizeB >= 0)
            {
                map[k2] = k2;
                model[k2] = k2;
                map.Remove(k2);
                model.Remove(k2);
                k2++;
            }

            map.Validate();
            Assert.Equal(GoGrowth.BForHint(1000), map.GetStats().B);
            MapAssert.SameEntries(map, model);
        }

        [Fact]
        public void TrimExcess_OnAnEmptyMap_DropsTheArrays()
        {
            using var map = new GoMap<long, long>(100_000);
            Assert.True(map.GetStats().NativeBytes > 1_000_000);
            Assert.True(TrimToEnd(map, map.TrimExcess) >= 1);
            Assert.Equal(0, map.GetStats().B);
            Assert.True(map.GetStats().NativeBytes - map.ParkedBytes < 4096, map.GetStats().ToString() + " parked=" + map.ParkedBytes);
            map[1] = 2;
            Assert.Equal(2, map[1]);
            map.Validate();
        }

        [Fact]
        public void InsertIntoAMapEmptiedWhileAShrinkToBZeroWasPending_AddsTheKey()
        {
            // Found by review: the write allocated the first array, then the pending shrink step
            // replaced it with none (an empty map's B = 0), and the insert read bucket 0 of null.
            using var map = new GoMap<long, long>();
            map.EnsureCapacity(1336); // B = 8
            map[1] = 1;
            map.TrimExcess(); // B 8 -> 3 (MaxShrinkLevels), the rest (B = 0) pending
            Assert.Equal(0, map.PendingResizeB);
            map.Remove(1);
            map[2] = 2;
            Assert.Equal(2, map[2]);
            Assert.Equal(1L, map.LongCount);
            map.Validate();
        }

        [Fact]
        public void InsertIntoAMapEmptiedWhileAShrinkWasPending_AfterClear_AddsTheKey()
        {
            using var map = new GoMap<long, long>();
            map.EnsureCapacity(1336);
            map[1] = 1;
            map.TrimExcess();
            map.Clear();
            Assert.True(map.TryAdd(2, 2));
            Assert.Equal(2, map[2]);
            map.Validate();
        }

        [Fact]
        public void InsertIntoAMapEmptiedByTheWritesThatFinishedAShrink_AddsTheKey()
        {
            // The removes that carry the shrink to its end also take the last entries; the next
            // write meets the pending step to B = 0 with an empty map.
            using var map = new GoMap<long, long>();
            var model = new Dictionary<long, long>();
            Fill(map, model, 0, 3000); // B = 9
            Drop(map, model, 5, 3000);

            map.TrimExcess(); // 9 -> 4 (16 evacuation units), B = 0 pending
            Assert.True(map.GetStats().IsGrowing);
            Assert.Equal(0, map.PendingResizeB);
            for (long k = 1_000_000; k < 1_000_003; k++)
            {
                Assert.False(map.Remove(k)); // absent, but each carries the shrink by two units
            }

            Drop(map, model, 0, 5);

            Assert.False(map.GetStats().IsGrowing);
            Assert.Equal(0L, map.LongCount);
            Assert.Equal(0, map.PendingResizeB);
            for (long k = 100; k < 200; k++)
            {
                map[k] = k;
                model[k] = k;
            }

            map.Validate();
            MapAssert.SameEntries(map, model);
        }

        [Fact]
        public void TrimExcessWithCapacity_CancelsADeeperShrinkAnEarlierTrimLeftPending()
        {
            // Found by review: only a pending growth was cut to the new capacity.
            using var map = new GoMap<long, long>();
            for (long k = 0; k < 10_000; k++)
            {
                map[k] = k; // B = 11
            }

            Drop(map, null, 20, 10_000);

            map.TrimExcess(); // 11 -> 6 under way, B = 2 pending
            Assert.Equal(6, map.GetStats().B);
            Assert.Equal(2, map.PendingResizeB);
            TrimToEnd(map, () => map.TrimExcess(1000)); // 1,000 entries need B = 8: nothing below 6
            Assert.Equal(6, map.GetStats().B);
            Assert.Equal(-1, map.PendingResizeB);
            Assert.Equal(20L, map.LongCount);
        }

        [Fact]
        public void TrimExcess_OnAnEmptiedMapAtBZero_DropsItsArray()
        {
            using var map = new GoMap<long, long>();
            map[1] = 1;
            map.Remove(1);
            Assert.True(map.GetStats().NativeBytes > 0);
            TrimToEnd(map, map.TrimExcess);
            Assert.Equal(0, map.GetStats().NativeBytes);
            map[2] = 2;
            Assert.Equal(2, map[2]);
            map.Validate();
        }

        [Fact]
        public void TrimExcessWithACapacityNoArrayCouldHold_ChangesNothing()
        {
            // Found by review: it threw OutOfMemoryException (as Dictionary.TrimExcess(int.MaxValue) does nothing).
            using var map = new GoMap<long, long>();
            Fill(map, null, 0, 100);
            GoMapStats before = map.GetStats();
            Assert.True(map.TrimExcess(long.MaxValue));
            Assert.Equal(before.B, map.GetStats().B);
            Assert.Equal(before.NativeBytes, map.GetStats().NativeBytes);
            map.Validate();
        }

        [Fact]
        public void TrimExcess_GivesTheMemoryBack()
        {
            using var map = new GoMap<long, long>();
            Fill(map, null, 0, 200_000);
            long before = map.GetStats().NativeBytes;
            Drop(map, null, 2000, 200_000);

            TrimToEnd(map, map.TrimExcess);
            long after = map.GetStats().NativeBytes;
            Assert.True(after * 20 < before, $"native bytes {before} before, {after} after");
            Assert.Equal(0, map.GetStats().DeferredBytes);
        }

        [Fact]
        public void TrimExcessWithCapacity_KeepsRoomForThatCapacity()
        {
            using var map = new GoMap<long, long>();
            Fill(map, null, 0, 100_000);
            Drop(map, null, 100, 100_000);

            TrimToEnd(map, () => map.TrimExcess(5000));
            Assert.Equal(GoGrowth.BForHint(5000), map.GetStats().B);
        }

        [Fact]
        public void TrimExcessWithCapacity_BelowTheCount_Throws()
        {
            using var map = new GoMap<long, long>();
            Fill(map, null, 0, 10);
            Assert.Throws<ArgumentOutOfRangeException>(() => map.TrimExcess(9));
        }

        [Fact]
        public void TrimExcess_OnAMapAlreadyThatSmall_ChangesNothing()
        {
            using var map = new GoMap<long, long>();
            Fill(map, null, 0, 1000);
            int b = map.GetStats().B;
            long starts = map.Work.GrowthStarts;
            Assert.True(map.TrimExcess());
            Assert.True(map.TrimExcess(100_000));
            Assert.Equal(b, map.GetStats().B);
            Assert.Equal(starts, map.Work.GrowthStarts);
        }

        [Fact]
        public void TrimExcess_CancelsAPendingEnsureCapacity()
        {
            using var map = new GoMap<long, long>();
            Fill(map, null, 0, 105); // growing
            map.EnsureCapacity(1_000_000);
            Assert.True(map.PendingResizeB > map.GetStats().B);
            TrimToEnd(map, map.TrimExcess);
            Assert.Equal(GoGrowth.BForHint(105), map.GetStats().B);
        }

        [Fact]
        public void TrimExcess_AfterDeletes_CompactsSparseOverflowChainsAtTheSameSize()
        {
            // 64 distinct hashes: 6,000 keys in 64 long chains; deleting a third leaves their
            // overflow buckets sparse while the count still needs the same B.
            using var map = new GoMap<int, int>(null, new ModuloComparer(64));
            var model = new Dictionary<int, int>();
            for (int k = 0; k < 6000; k++)
            {
                map[k] = k;
                model[k] = k;
            }

            for (int k = 0; k < 2000; k++)
            {
                map.Remove(k);
                model.Remove(k);
            }

            int b = map.GetStats().B;
            Assert.Equal(GoGrowth.BForHint(4000), b);
            long overflowBefore = map.GetStats().OverflowBuckets;
            long starts = map.Work.GrowthStarts;
            int calls = 1;
            while (!map.TrimExcess())
            {
                calls++;
            }

            map.Validate();
            Assert.Equal(starts + 1, map.Work.GrowthStarts);
            Assert.Equal(b, map.GetStats().B);
            Assert.True(map.GetStats().OverflowBuckets < overflowBefore, $"{map.GetStats().OverflowBuckets} overflow buckets after, {overflowBefore} before");
            MapAssert.SameEntries(map, model);
        }

        [Fact]
        public void TrimExcess_CompactsAtTheSameSizeOnlyOnceTheDeletesReachTheOverflowBucketCount()
        {
            // The compaction rule's second half: at least as many deletes since the array was
            // made as overflow buckets in use. One delete short, TrimExcess leaves the chains as
            // they are; the delete that makes the counts equal lets it compact.
            using var map = new GoMap<int, int>(null, new ModuloComparer(64));
            for (int k = 0; k < 6000; k++)
            {
                map[k] = k;
            }

            IterationHelpers.FinishGrowth(map, 0, 0);
            int b = map.GetStats().B;
            long used = map.GetStats().OverflowBuckets;
            Assert.True(used > (1L << b) / 4, $"precondition: {used} overflow buckets at B = {b}");
            int next = 1; // key 0 stays: FinishGrowth's writes update it
            while (map.DeletesSinceGrowth < used - 1)
            {
                Assert.True(map.Remove(next++));
            }

            Assert.Equal(used, map.GetStats().OverflowBuckets); // deletes free no overflow bucket
            Assert.Equal(b, GoGrowth.BForHint(map.LongCount));
            long starts = map.Work.GrowthStarts;
            Assert.True(map.TrimExcess());
            Assert.Equal(starts, map.Work.GrowthStarts);
            Assert.Equal(used, map.GetStats().OverflowBuckets);

            Assert.True(map.Remove(next));
            Assert.Equal(used, map.DeletesSinceGrowth);
            while (!map.TrimExcess())
            {
            }

            Assert.Equal(starts + 1, map.Work.GrowthStarts);
            Assert.Equal(b, map.GetStats().B);
            Assert.True(map.GetStats().OverflowBuckets < used, $"{map.GetStats().OverflowBuckets} overflow buckets after the compaction, {used} before");
            map.Validate();
        }

        [Fact]
        public void Deletes_AreCountedForTheCompactionRule_OnTheFastAndTheComparerPaths()
        {
            using var plain = new GoMap<long, long>();
            using var compared = new GoMap<int, int>(null, new ModuloComparer(64));
            for (int k = 0; k < 500; k++)
            {
                plain[k] = k;
                compared[k] = k;
            }

            long plainBefore = plain.DeletesSinceGrowth;
            long comparedBefore = compared.DeletesSinceGrowth;
            for (int k = 0; k < 100; k++)
            {
                plain.Remove(k);
                compared.Remove(k);
            }

            plain.Remove(-1); // absent: not a delete
            Assert.Equal(plainBefore + 100, plain.DeletesSinceGrowth);
            Assert.Equal(comparedBefore + 100, compared.DeletesSinceGrowth);
        }

        // ---- iteration across resizes ----

        [Fact]
        public void Enumeration_StartedBeforeAShrink_YieldsEveryEntryOnce()
        {
            Seeded.Run(seed =>
            {
                using var map = new GoMap<long, long>(new GoMapOptions { Seed = (ulong)seed });
                var model = new Dictionary<long, long>();
                Fill(map, model, 0, 20_000);
                Drop(map, model, 500, 20_000);

                var seen = new HashSet<long>();
                int step = 0;
                foreach (var (k, v) in map)
                {
                    Assert.True(seen.Add(k), $"{k} yielded twice");
                    Assert.Equal(model[k], v);
                    if (step++ % 7 == 0)
                    {
                        map.TrimExcess(); // carries the shrink along under the enumeration
                    }
                }

                Assert.Equal(model.Keys.OrderBy(x => x), seen.OrderBy(x => x));
                map.Validate();
            });
        }

        [Fact]
        public void Enumeration_StartedDuringAShrink_WalksTheMergedOldChains_AndYieldsEveryEntryOnce()
        {
            Seeded.Run(seed =>
            {
                using var map = new GoMap<long, long>(new GoMapOptions { Seed = (ulong)seed });
                var model = new Dictionary<long, long>();
                Fill(map, model, 0, 200_000); // B = 15
                Drop(map, model, 3000, 200_000);

                Assert.False(map.TrimExcess()); // a shrink of 5 levels (then 1 more), partly done
                Assert.True(map.GetStats().IsGrowing);
                Assert.True(map.OldBForTest > map.GetStats().B);

                var seen = new HashSet<long>();
                int step = 0;
                foreach (var (k, v) in map)
                {
                    Assert.True(seen.Add(k), $"{k} yielded twice");
                    Assert.Equal(model[k], v);
                    if (step++ % 5 == 0)
                    {
                        // Writes during the walk evacuate groups ahead of and behind it.
                        map[k] = v;
                        map.TrimExcess();
                    }
                }

                Assert.Equal(model.Count, seen.Count);
                map.Validate();
            });
        }

        [Fact]
        public void Enumeration_StartedDuringAShrink_SkipsEntriesRemovedBeforeTheyAreReached()
        {
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = 7 });
            Fill(map, null, 0, 100_000);
            Drop(map, null, 2000, 100_000);

            map.TrimExcess();
            Assert.True(map.GetStats().IsGrowing);
            var removed = new HashSet<long>();
            var seen = new HashSet<long>();
            foreach (var (k, _) in map)
            {
                Assert.DoesNotContain(k, removed);
                Assert.True(seen.Add(k));
                for (long r = 0; r < 2000 && removed.Count < seen.Count * 2; r++)
                {
                    if (!seen.Contains(r) && removed.Add(r))
                    {
                        Assert.True(map.Remove(r));
                        break;
                    }
                }
            }

            Assert.Equal(2000, seen.Count + removed.Count);
            map.Validate();
        }

        [Fact]
        public void Enumeration_StartedDuringAGrowthOfSeveralLevels_YieldsEveryEntryOnce()
        {
            Seeded.Run(seed =>
            {
                using var map = new GoMap<long, long>(new GoMapOptions { Seed = (ulong)seed });
                var model = new Dictionary<long, long>();
                Fill(map, model, 0, 3000);
                map.EnsureCapacity(1_000_000); // 9 → 18 levels: each old chain spreads over 512 new buckets
                Assert.True(map.GetStats().IsGrowing);
                var seen = new HashSet<long>();
                int step = 0;
                foreach (var (k, v) in map)
                {
                    Assert.True(seen.Add(k), $"{k} yielded twice");
                    Assert.Equal(model[k], v);
                    if (step++ % 3 == 0)
                    {
                        map[k] = v + 1;
                        model[k] = v + 1;
                    }
                }

                Assert.Equal(model.Count, seen.Count);
                map.Validate();
                MapAssert.SameEntries(map, model);
            });
        }

        [Fact]
        public void Enumeration_OnAnOldChain_WhenTheGrowthEndsUnderIt_StillYieldsTheRestOfThatChain()
        {
            // 64 distinct hashes: long chains. A same-size growth (TrimExcess compacting them) is
            // left half done; an enumeration started now walks the unevacuated old chains for
            // their new buckets. Ending the growth mid-walk marks the rest of such a chain
            // evacuated: those entries need a lookup, not the inline walk of the current array.
            Seeded.Run(seed =>
            {
                var rng = new Random(seed);
                for (int trial = 0; trial < 20; trial++)
                {
                    using var map = new GoMap<int, int>(new GoMapOptions { Seed = (ulong)rng.Next() }, new ModuloComparer(64));
                    for (int k = 0; k < 9000; k++)
                    {
                        map[k] = k;
                    }

                    for (int k = 0; k < 1200; k++)
                    {
                        map.Remove(k);
                    }

                    Assert.False(map.TrimExcess());
                    Assert.True(map.GetStats().IsSameSizeGrow);
                    int endAt = rng.Next(7800);
                    int step = 0;
                    var seen = new HashSet<int>();
                    foreach (var (k, v) in map)
                    {
                        Assert.True(seen.Add(k), $"{k} yielded twice");
                        Assert.Equal(k, v);
                        if (step++ == endAt)
                        {
                            while (!map.TrimExcess())
                            {
                            }
                        }
                    }

                    Assert.Equal(7800, seen.Count);
                }
            });
        }

        // ---- random operations against a model ----

        [Fact]
        public void RandomOperations_WithEnsureCapacityAndTrimExcess_MatchTheModel()
        {
            Seeded.Run(seed =>
            {
                var rng = new Random(seed);
                using var map = new GoMap<long, long>(new GoMapOptions { Seed = (ulong)seed });
                var model = new Dictionary<long, long>();
                GoMap<long, long>.Enumerator? live = null;
                var liveSeen = new HashSet<long>(); // yielded by the live enumeration and present since
                var present = new HashSet<long>(); // present since the live enumeration started
                for (int op = 0; op < 75_000; op++)
                {
                    // Three phases: a big table, a smaller key space (shrinks of several levels),
                    // then six keys and clears (maps that empty while a shrink to B = 0 is pending).
                    int r = rng.Next(1000);
                    long key = rng.Next(op < 30_000 ? 20_000 : op < 60_000 ? 2_000 : 6);
                    if (op >= 60_000 && r >= 990)
                    {
                        map.Clear();
                        model.Clear();
                        present.Clear();
                        liveSeen.Clear(); // the keys set again are new entries: each may be yielded once more
                    }
                    else if (r < 450)
                    {
                        map[key] = op;
                        model[key] = op;
                    }
                    else if (r < 900)
                    {
                        Assert.Equal(model.Remove(key), map.Remove(key));
                        present.Remove(key);
                        // Set again later, the key is a new entry, which Go lets the live
                        // enumeration yield or skip: a second yield of it is not a duplicate.
                        liveSeen.Remove(key);
                    }
                    else if (r < 930)
                    {
                        map.TrimExcess();
                    }
                    else if (r < 940)
                    {
                        map.TrimExcess(model.Count + rng.Next(5000));
                    }
                    else if (r < 950)
                    {
                        long c = map.EnsureCapacity(rng.Next(30_000));
                        Assert.True(c >= model.Count);
                    }
                    else if (r < 960)
                    {
                        live?.Dispose();
                        live = map.GetEnumerator();
                        liveSeen.Clear();
                        present = new HashSet<long>(model.Keys);
                    }
                    else if (live is GoMap<long, long>.Enumerator e)
                    {
                        for (int s = 0; s < 20; s++)
                        {
                            if (!e.MoveNext())
                            {
                                Assert.Empty(present.Except(liveSeen));
                                e.Dispose();
                                live = null;
                                break;
                            }

                            Assert.True(liveSeen.Add(e.Current.Key), $"{e.Current.Key} yielded twice");
                            Assert.Equal(model[e.Current.Key], e.Current.Value);
                        }

                        if (live != null)
                        {
                            live = e;
                        }
                    }

                    if (op % 97 == 0)
                    {
                        map.Validate();
                        Assert.Equal(model.Count, map.Count);
                    }
                }

                live?.Dispose();
                map.Validate();
                MapAssert.SameEntries(map, model);
            });
        }

        /// <summary>
        /// EnsureCapacity on a populated map "starts a growth to that size ... allocates the new
        /// array and commits its memory" (its XML doc; the README: outside a running growth it
        /// populates its array at once). When an earlier EnsureCapacity's plan is left pending by
        /// the write that ended the growth it waited for (a growth's end starts nothing), a second
        /// EnsureCapacity for the same capacity found target == plan and did nothing: no growth
        /// started and no array was committed; the next insert then started it uncommitted (found
        /// by review, 2026-12-07).
        /// </summary>
        [Fact]
        public void EnsureCapacity_WithAnEarlierPlanLeftPendingByTheEndOfAGrowth_StartsThatGrowthCommitted()
        {
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = 5 });
            long k = 0;
            while (!map.GetStats().IsGrowing)
            {
                map[k] = k;
                k++;
            }

            map.EnsureCapacity(200_000); // during the growth: recorded as the plan
            int plan = map.PendingResizeB;
            Assert.True(plan > map.GetStats().B);

            // Updates carry the running growth; the one that ends it leaves the plan pending.
            for (long u = 0; map.GetStats().IsGrowing; u = (u + 1) % k)
            {
                map[u] = u;
            }

            Assert.Equal(plan, map.PendingResizeB);
            Assert.False(map.GetStats().IsGrowing);

            long got = map.EnsureCapacity(200_000); // outside any growth now
            Assert.True(got >= 200_000);
            GoMapStats s = map.GetStats();
            Assert.True(s.IsGrowing && s.B == plan, $"EnsureCapacity(200000) on a populated map outside a growth started none: {s}, plan {map.PendingResizeB} still pending");
            map.Validate();
        }
    }
}
