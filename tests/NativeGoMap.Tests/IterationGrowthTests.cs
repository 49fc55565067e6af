using System;
using System.Collections.Generic;
using System.Linq;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>Iteration while the table grows under it, and Clear during iteration.</summary>
    public unsafe class IterationGrowthTests
    {
        private const ulong NoCheck = ulong.MaxValue; // the enumerator's checkBucket when it walks no old chain

        // ---- 3. growth during iteration ----

        // goDoubling: every growth doubles (Go's schedule, which big tables follow); else the small
        // tables here grow four times at once (GoMap.GrownB).
        [Theory]
        [InlineData(0, false)]
        [InlineData(1, false)]
        [InlineData(7, false)]
        [InlineData(0, true)]
        [InlineData(1, true)]
        [InlineData(7, true)]
        public void IterationStartedBeforeAGrowthYieldsEveryOriginalEntryOnce(int insertsPerStep, bool goDoubling)
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(100, goDoubling: goDoubling);
            int b0 = map.GetStats().B;
            var log = new YieldLog();
            int next = 1000;
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            while (e.MoveNext())
            {
                int k = e.Current.Key;
                log.Saw(k);
                Assert.Equal(k * 10L, e.Current.Value);
                int inserts = insertsPerStep == 0 ? (log.Count == 10 ? 2000 : 0) : insertsPerStep;
                for (int j = 0; j < inserts; j++, next++)
                {
                    map.Add(next, next * 10L);
                }
            }

            Assert.True(map.GetStats().B > b0, "the map did not grow during the iteration");
            log.AssertYieldedAll(Enumerable.Range(0, 100));
            map.Validate();
        }

        [Theory]
        [InlineData(0, false)]
        [InlineData(1, false)]
        [InlineData(3, false)]
        [InlineData(50, false)]
        [InlineData(0, true)]
        [InlineData(1, true)]
        [InlineData(3, true)]
        [InlineData(50, true)]
        public void IterationStartedDuringAGrowthYieldsEveryOriginalEntryOnce(int insertsPerStep, bool goDoubling)
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(200, goDoubling: goDoubling);
            int next = IterationHelpers.InsertUntilGrowing(map, 200);
            int originals = next;
            GoMapStats atStart = map.GetStats();
            Assert.True(atStart.IsGrowing && !atStart.IsSameSizeGrow);

            var log = new YieldLog();
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            bool sawGrowthEnd = false;
            while (e.MoveNext())
            {
                int k = e.Current.Key;
                log.Saw(k);
                Assert.Equal(k * 10L, e.Current.Value);
                for (int j = 0; j < insertsPerStep; j++, next++)
                {
                    map.Add(next, next * 10L);
                }

                sawGrowthEnd |= !map.GetStats().IsGrowing;
            }

            Assert.True(insertsPerStep == 0 || sawGrowthEnd, "the growth never completed during the iteration");
            log.AssertYieldedAll(Enumerable.Range(0, originals));
            map.Validate();
        }

        [Theory]
        [InlineData(1, false)]
        [InlineData(4, false)]
        [InlineData(1, true)]
        [InlineData(4, true)]
        public void UpdatesThatAdvanceAGrowthDuringIterationAreYieldedCurrent(int updatesPerStep, bool goDoubling)
        {
            // Updates write (and so evacuate) without adding keys: every entry is present
            // throughout, and each one must be yielded with the value it has at that moment.
            using GoMap<int, long> map = IterationHelpers.IntMap(300, goDoubling: goDoubling);
            int n = IterationHelpers.InsertUntilGrowing(map, 300);
            var model = Enumerable.Range(0, n).ToDictionary(k => k, k => k * 10L);
            var rng = new Random(7);
            var log = new YieldLog();
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            long stamp = 1;
            while (e.MoveNext())
            {
                int k = e.Current.Key;
                log.Saw(k);
                Assert.Equal(model[k], e.Current.Value);
                for (int j = 0; j < updatesPerStep; j++)
                {
                    int u = rng.Next(n);
                    model[u] = -(stamp++);
                    map[u] = model[u];
                }
            }

            Assert.False(map.GetStats().IsGrowing);
            log.AssertYieldedAll(model.Keys);
            map.Validate();
        }

        [Fact]
        public void IterationStartedDuringASameSizeGrowthYieldsEveryEntryOnce()
        {
            using GoMap<int, long> map = IterationHelpers.ChurnableIntMap(60, seed: 11);
            IterationHelpers.ChurnUntilSameSizeGrowing(map);
            var present = new List<int>(IterationHelpers.OrderOf(map));
            Assert.True(map.GetStats().IsSameSizeGrow);

            var log = new YieldLog();
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            bool sawGrowthEnd = false;
            while (e.MoveNext())
            {
                int k = e.Current.Key;
                log.Saw(k);
                Assert.Equal(k * 10L, e.Current.Value);
                map[present[0]] = present[0] * 10L; // a write: advances the growth
                sawGrowthEnd |= !map.GetStats().IsGrowing;
            }

            Assert.True(sawGrowthEnd);
            log.AssertYieldedAll(present);
            map.Validate();
        }

        // Found by review: an enumeration started during a shrink or a same-size growth walked a
        // new bucket's old chains without Go's hash filter. When the map empties under it (a new
        // seed) and keys come back, an evacuated old slot's lookup found a key that now lives in
        // another new bucket, where the walk met it again.

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void AKeyReaddedAfterTheMapEmpties_DuringAShrinkUnderAnEnumeration_IsYieldedOnce(ConcurrencyChecks checks)
        {
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = 30, ConcurrencyChecks = checks });
            for (long k = 0; k < 10_000; k++)
            {
                map[k] = k;
            }

            for (long k = 30; k < 10_000; k++)
            {
                map.Remove(k);
            }

            map.TrimExcess(); // B 11 -> 6; the first call carries 256 of 2,048 old buckets
            Assert.True(map.GetStats().IsShrinking);
            GoMap<long, long>.Enumerator e = map.GetEnumerator();
            Assert.True(e.MoveNext());
            Assert.True(e._onOld, "the enumeration does not start in an old chain");
            AssertReaddedKeysYieldedOnce(map, ref e, Enumerable.Range(0, 30).Select(k => (long)k).ToList());
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void AKeyReaddedAfterTheMapEmpties_DuringASameSizeGrowthUnderAnEnumeration_IsYieldedOnce(ConcurrencyChecks checks)
        {
            using GoMap<int, long> map = IterationHelpers.ChurnableIntMap(60, seed: 1, checks);
            IterationHelpers.ChurnUntilSameSizeGrowing(map);
            Assert.True(map.GetStats().IsSameSizeGrow);
            var keys = new List<int>(IterationHelpers.OrderOf(map));
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            bool more;
            while ((more = e.MoveNext()) && !e._onOld)
            {
            }

            Assert.True(more, "the enumeration never walked an old chain");
            AssertReaddedKeysYieldedOnce(map, ref e, keys);
        }

        /// <summary>Removes <paramref name="keys"/> (all the map holds: the last remove renews the seed), adds them back, and walks <paramref name="e"/> to its end: no key twice.</summary>
        private static void AssertReaddedKeysYieldedOnce<TKey>(GoMap<TKey, long> map, ref GoMap<TKey, long>.Enumerator e, List<TKey> keys)
            where TKey : unmanaged
        {
            foreach (TKey k in keys)
            {
                Assert.True(map.Remove(k));
            }

            Assert.Equal(0L, map.LongCount);
            foreach (TKey k in keys)
            {
                map[k] = 1;
            }

            var seen = new HashSet<TKey>();
            while (e.MoveNext())
            {
                Assert.True(seen.Add(e.Current.Key), $"key {e.Current.Key}, added once during the enumeration, was yielded twice");
            }

            map.Validate();
        }

        [Fact]
        public void OddKeysDeletedAfterAGrowthDuringIterationAreNotYielded()
        {
            // Go's TestIterGrowAndDelete.
            using GoMap<int, long> map = IterationHelpers.IntMap(100, capacityHint: 4);
            int b0 = map.GetStats().B;
            bool first = true;
            var log = new YieldLog();
            foreach (KeyValuePair<int, long> kv in map)
            {
                log.Saw(kv.Key);
                if (first)
                {
                    for (int i = 100; i < 1000; i++)
                    {
                        map[i] = i * 10L;
                    }

                    for (int i = 1; i < 1000; i += 2)
                    {
                        map.Remove(i);
                    }

                    first = false;
                }
                else
                {
                    Assert.True(kv.Key % 2 == 0, $"deleted odd key {kv.Key} was yielded");
                    Assert.Equal(kv.Key * 10L, kv.Value);
                }
            }

            Assert.True(map.GetStats().B > b0);
            log.AssertYieldedAll(Enumerable.Range(0, 100).Where(k => k % 2 == 0));
            map.Validate();
        }

        [Fact]
        public void KeysPresentThroughoutAreYieldedWhenTheTableGrowsAtTheFirstStep()
        {
            // Go's TestIterGrowWithGC: keys 0..15 must all be yielded although the table grows
            // (and a collection runs) right after the first one.
            using var map = new GoMap<int, long>(4);
            for (int i = 0; i < 8; i++)
            {
                map[i] = i;
            }

            for (int i = 8; i < 16; i++)
            {
                map[i] = i;
            }

            bool grow = true;
            int bitmask = 0;
            foreach (KeyValuePair<int, long> kv in map)
            {
                if (kv.Key < 16)
                {
                    Assert.True((bitmask & (1 << kv.Key)) == 0, $"key {kv.Key} yielded twice");
                    Assert.Equal(kv.Key, kv.Value);
                    bitmask |= 1 << kv.Key;
                }

                if (grow)
                {
                    for (int i = 100; i < 1000; i++)
                    {
                        map[i] = i;
                    }

                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    grow = false;
                }
            }

            Assert.Equal((1 << 16) - 1, bitmask);
        }

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public void DeletingEveryEntryDuringIterationEndsIt(bool startMidGrowth)
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(500);
            int n = startMidGrowth ? IterationHelpers.InsertUntilGrowing(map, 500) : 500;
            Assert.Equal(startMidGrowth, map.GetStats().IsGrowing);
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            Assert.True(e.MoveNext());
            for (int i = 0; i < n; i++)
            {
                Assert.True(map.Remove(i));
            }

            Assert.False(e.MoveNext());
            Assert.True(map.Count == 0, "entries left after deleting every key");
            Assert.Equal(0, map.GetStats().LiveEnumerators);
            map.Validate();
        }

        [Fact]
        public void InsertingManyDuringIterationThroughSeveralGrowthsYieldsOriginalsOnce()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(50);
            int b0 = map.GetStats().B;
            var log = new YieldLog();
            int next = 1000;
            foreach (KeyValuePair<int, long> kv in map)
            {
                log.Saw(kv.Key);
                Assert.Equal(kv.Key * 10L, kv.Value);
                if (next < 60_000)
                {
                    for (int j = 0; j < 500; j++, next++)
                    {
                        map.Add(next, next * 10L);
                    }
                }
            }

            Assert.True(map.GetStats().B >= b0 + 4, $"expected several growths, got B {b0} -> {map.GetStats().B}");
            log.AssertYieldedAll(Enumerable.Range(0, 50));
            map.Validate();
        }

        [Fact]
        public void ValuesYieldedAfterACompleteGrowthAreTheCurrentOnes()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(200);
            var log = new YieldLog();
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            for (int s = 0; s < 20; s++)
            {
                Assert.True(e.MoveNext());
                log.Saw(e.Current.Key);
                Assert.Equal(e.Current.Key * 10L, e.Current.Value);
            }

            int next = IterationHelpers.InsertUntilGrowing(map, 200);
            IterationHelpers.FinishGrowth(map, 0, 0L);
            for (int i = 0; i < next; i++)
            {
                map[i] = i * 1000L;
            }

            while (e.MoveNext())
            {
                int k = e.Current.Key;
                log.Saw(k);
                Assert.Equal(k * 1000L, e.Current.Value);
                Assert.Equal(k * 1000L, e.CurrentValueRef);
                e.CurrentValueRef = -k;
            }

            log.AssertYieldedAll(Enumerable.Range(0, 200));
            for (int k = 0; k < 200; k++)
            {
                if (map[k] != k * 1000L)
                {
                    Assert.Equal(-k, map[k]); // updated through CurrentValueRef after the growth
                }
            }

            map.Validate();
        }

        [Fact]
        public void OldChainWalkStaysFilteredWhenASameSizeGrowthFollowsTheDoubling()
        {
            // An enumerator started during a doubling walks an unevacuated old chain for one of
            // its two new buckets and skips the keys bound for the other. If, between two steps,
            // the doubling completes and a same-size growth starts, the rest of that chain must
            // still be filtered, or its keys bound for the other bucket are yielded twice.
            int scenarios = 0;
            for (ulong seed = 1; seed <= 12; seed++)
            {
                using GoMap<int, long> map = IterationHelpers.ChurnableIntMap(100, seed);
                int originals = IterationHelpers.InsertUntilGrowing(map, 100);
                Assert.False(map.GetStats().IsSameSizeGrow);
                var log = new YieldLog();
                GoMap<int, long>.Enumerator e = map.GetEnumerator();
                Assert.True(e.MoveNext());
                log.Saw(e.Current.Key);
                if (e._checkBucket == NoCheck)
                {
                    e.Dispose();
                    continue; // started on an evacuated bucket: not the case under test
                }

                scenarios++;
                IterationHelpers.FinishGrowth(map, 0, 0L);
                IterationHelpers.ChurnUntilSameSizeGrowing(map);
                while (e.MoveNext())
                {
                    int k = e.Current.Key;
                    if (k < originals) // churn keys come and go
                    {
                        Assert.True(!log.Contains(k), $"seed {seed}: original key {k} yielded twice");
                        log.Saw(k);
                    }
                }

                log.AssertYieldedAll(Enumerable.Range(0, originals));
                map.Validate();
            }

            Assert.True(scenarios >= 6, $"only {scenarios} seeds reached the scenario");
        }

        // ---- 4. Clear during iteration ----

        public enum ClearMoment
        {
            NoGrowth,
            GrowthStartedDuringIteration,
            IterationStartedDuringGrowth,
            AfterACompletedGrowth,
        }

        [Theory]
        [InlineData(ClearMoment.NoGrowth)]
        [InlineData(ClearMoment.GrowthStartedDuringIteration)]
        [InlineData(ClearMoment.IterationStartedDuringGrowth)]
        [InlineData(ClearMoment.AfterACompletedGrowth)]
        public void ClearDuringIterationHidesEveryEarlierEntry(ClearMoment moment)
        {
            for (ulong seed = 1; seed <= 8; seed++)
            {
                using GoMap<int, long> map = IterationHelpers.IntMap(300, seed: seed);
                int next = 300;
                if (moment == ClearMoment.IterationStartedDuringGrowth)
                {
                    next = IterationHelpers.InsertUntilGrowing(map, next);
                }

                var log = new YieldLog();
                GoMap<int, long>.Enumerator e = map.GetEnumerator();
                for (int s = 0; s < 30; s++)
                {
                    Assert.True(e.MoveNext());
                    log.Saw(e.Current.Key);
                }

                if (moment == ClearMoment.GrowthStartedDuringIteration)
                {
                    next = IterationHelpers.InsertUntilGrowing(map, next);
                }
                else if (moment == ClearMoment.AfterACompletedGrowth)
                {
                    next = IterationHelpers.InsertUntilGrowing(map, next);
                    IterationHelpers.FinishGrowth(map, 0, 0L);
                }

                Assert.Equal(moment is ClearMoment.GrowthStartedDuringIteration or ClearMoment.IterationStartedDuringGrowth, map.GetStats().IsGrowing);
                int firstNew = next;
                map.Clear();
                Assert.True(map.Count == 0, "entries left after Clear");

                // Keys added after the clear (some re-using earlier keys) may be yielded, once.
                var added = new HashSet<int>();
                for (int i = 0; i < 150; i++)
                {
                    int k = i % 3 == 0 ? i : firstNew + i;
                    map[k] = -k;
                    added.Add(k);
                }

                var afterClear = new YieldLog();
                while (e.MoveNext())
                {
                    int k = e.Current.Key;
                    Assert.True(added.Contains(k), $"seed {seed}: key {k}, removed by the clear, was yielded after it");
                    Assert.Equal(-k, e.Current.Value);
                    afterClear.Saw(k);
                }

                map.Validate();
            }
        }

        [Fact]
        public void ClearWhileInsideAnOverflowChainHidesEveryEarlierEntry()
        {
            for (ulong seed = 1; seed <= 8; seed++)
            {
                // One bucket, chained: 40 keys need 5 buckets (B = 3: no preallocated overflow).
                var comparer = new CollidingComparer<int>(EqualityComparer<int>.Default, k => k < 1000 ? 1 : 2);
                using var map = new GoMap<int, long>(new GoMapOptions { Seed = seed }, comparer);
                for (int i = 0; i < 40; i++)
                {
                    map.Add(i, i);
                }

                Assert.True(map.GetStats().OverflowBuckets >= 4);
                GoMap<int, long>.Enumerator e = map.GetEnumerator();
                for (int s = 0; s < 12; s++)
                {
                    Assert.True(e.MoveNext()); // past the first bucket of the chain
                }

                map.Clear();
                for (int i = 0; i < 40; i++)
                {
                    map.Add(1000 + i, -i); // a new chain of colliding keys
                }

                var log = new YieldLog();
                while (e.MoveNext())
                {
                    int k = e.Current.Key;
                    Assert.True(k >= 1000, $"seed {seed}: key {k}, removed by the clear, was yielded after it");
                    log.Saw(k);
                }

                map.Validate();
            }
        }

        [Fact]
        public void ClearWhileInsideTheLastPreallocatedOverflowBucketDoesNotWalkIntoBucketZero()
        {
            // With B = 4 the bucket array ends with one preallocated overflow bucket (whose
            // overflow pointer Go sets to the array start as a sentinel; this map leaves it null).
            // The enumerator stands in that bucket when the map is cleared. Later entries, none
            // needing an overflow bucket, must still be yielded at most once.
            for (ulong seed = 1; seed <= 20; seed++)
            {
                using GoMap<int, long> map = TailOverflowMap(seed);
                GoMap<int, long>.Enumerator e = map.GetEnumerator();
                StepIntoTailOverflowBucket(ref e);
                map.Clear();
                for (int i = 0; i < 16; i++)
                {
                    map.Add(1000 + i, -i); // spread over the 16 buckets
                }

                Assert.Equal(0, map.GetStats().OverflowBuckets);
                AssertOnlyLaterKeysAtMostOnce(ref e, seed);
                map.Validate();
            }
        }

        [Fact]
        public void ClearWhileInsideAPreallocatedOverflowBucketThatIsReusedYieldsLaterEntriesAtMostOnce()
        {
            // As above, but the entries added after the clear form one chain that links the
            // preallocated overflow bucket again, in another chain than the enumerator's.
            for (ulong seed = 1; seed <= 20; seed++)
            {
                using GoMap<int, long> map = TailOverflowMap(seed);
                GoMap<int, long>.Enumerator e = map.GetEnumerator();
                StepIntoTailOverflowBucket(ref e);
                map.Clear();
                for (int i = 0; i < 12; i++)
                {
                    map.Add(2000 + i, -i); // one chain again (hash code 7)
                }

                Assert.Equal(1, map.GetStats().OverflowBuckets);
                AssertOnlyLaterKeysAtMostOnce(ref e, seed);
                map.Validate();
            }
        }

        /// <summary>B = 4; keys 0..11 in one chain: a regular bucket and the preallocated overflow bucket.</summary>
        private static GoMap<int, long> TailOverflowMap(ulong seed)
        {
            var comparer = new CollidingComparer<int>(EqualityComparer<int>.Default, k => k < 1000 ? 1 : k < 2000 ? k : 7);
            var map = new GoMap<int, long>(new GoMapOptions { Seed = seed, CapacityHint = 104 }, comparer);
            Assert.Equal(4, map.GetStats().B);
            for (int i = 0; i < 12; i++)
            {
                map.Add(i, i);
            }

            Assert.Equal(1, map.GetStats().OverflowBuckets);
            return map;
        }

        private static void StepIntoTailOverflowBucket(ref GoMap<int, long>.Enumerator e)
        {
            byte* tail = e._buckets + (16 * GoMap<int, long>.Layout.BucketSize);
            int steps = 0;
            while (e.CurrentBucket != tail)
            {
                Assert.True(e.MoveNext());
                steps++;
            }

            Assert.Equal(9, steps); // 8 from the regular bucket, then the first of the overflow bucket
        }

        private static void AssertOnlyLaterKeysAtMostOnce(ref GoMap<int, long>.Enumerator e, ulong seed)
        {
            var seen = new HashSet<int>();
            while (e.MoveNext())
            {
                int k = e.Current.Key;
                Assert.True(k >= 1000, $"seed {seed}: key {k}, removed by the clear, was yielded after it");
                Assert.True(seen.Add(k), $"seed {seed}: key {k}, added after the clear, was yielded twice");
            }
        }
    }
}
