#if DEBUG // the seam these tests write through exists in Debug builds of the library only
using System.Numerics;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// The inline walk's step to a new group checks the map's state before it reads the group's
    /// tophash words and again before it commits the group (since 2026-12-04). A write on another thread
    /// between the first check and the reads (misuse, in a Go-mode map) that starts a growth
    /// evacuates buckets, whose moved slots then read as empty: committing the group would skip
    /// their entries for good, without detecting anything. No second thread can be placed in that
    /// window on purpose, so these tests place the write there through the enumerator's Debug-only
    /// seam (<c>t_beforeGroupReadForTest</c>), on the enumerating thread. The stress program's
    /// enumeration-start trials race real threads over the same window. The step inside a group
    /// after a removal in place reads the group's tophash words too (to drop the slots emptied),
    /// and checks again after them for the same reason (<c>t_beforeRestReadForTest</c>).
    /// </summary>
    public unsafe class IterationGroupRaceTests
    {
        private static int BucketSize => GoMap<int, long>.Layout.BucketSize;

        /// <summary>A key (from <paramref name="from"/> up, not yet in the map) whose old bucket under <paramref name="oldMask"/> is <paramref name="oldBucket"/>.</summary>
        private static int KeyInOldBucket(GoMap<int, long> map, ulong oldBucket, ulong oldMask, ref int from)
        {
            while ((map.DefaultHashForTest(from) & oldMask) != oldBucket || map.ContainsKey(from))
            {
                from++;
            }

            return from++;
        }

        /// <summary>
        /// The write the tests place inside a step (for another thread's): inserts until a growth
        /// starts, then keys of old bucket <paramref name="j"/> until the growth has evacuated it
        /// (Go's growWork evacuates the bucket a write hashes to).
        /// </summary>
        private static void StartAGrowthEvacuating(GoMap<int, long> m, ulong j, ulong oldMask)
        {
            int next = IterationHelpers.InsertUntilGrowing(m, 1 << 24);
            while (!MapInternals<int, long>.Evacuated(MapInternals<int, long>.Bucket(m.OldBucketArray, j)))
            {
                int k = KeyInOldBucket(m, j, oldMask, ref next);
                m.Add(k, k * 10L);
            }
        }

        /// <summary>
        /// Steps <paramref name="e"/> to the last entry of a group whose next step reads buckets
        /// that a growth can evacuate under it, and returns the old bucket index j whose
        /// evacuation the test places before those reads. j is past the first buckets, which a
        /// growth's sequential evacuation takes first, and a later bucket with entries follows in
        /// the same step, so that a step that did not check again would commit.
        /// <paramref name="throughOverflow"/> false: the group ends its chain, and the next group
        /// starts at bucket j (entries, no chain) followed by bucket j + 1 (entries). True: the
        /// group's last bucket j has one overflow bucket with entries, which the step reads first,
        /// and the regular bucket after it has entries.
        /// </summary>
        private static ulong StepToARacedGroupBoundary(ref GoMap<int, long>.Enumerator e, YieldLog log, bool throughOverflow)
        {
            while (true)
            {
                Assert.True(e.MoveNext(), "no group boundary fit for the test");
                log.Saw(e.Current.Key);
                (nint tailAddress, nint next, nint stop) = e.NextGroupForTest;
                if (BitOperations.PopCount(e.GroupRestForTest) != 1 || next == stop || next + BucketSize >= stop)
                {
                    continue;
                }

                byte* tail = (byte*)tailAddress;
                byte* overflow = MapInternals<int, long>.Overflow(tail);
                byte* first = (byte*)next;
                if (throughOverflow)
                {
                    ulong j = (ulong)((tail - e._buckets) / BucketSize);
                    if (j >= 32 && overflow != null && MapInternals<int, long>.LiveSlots(overflow) > 0 && MapInternals<int, long>.Overflow(overflow) == null && MapInternals<int, long>.LiveSlots(first) > 0)
                    {
                        return j;
                    }
                }
                else
                {
                    ulong j = (ulong)((first - e._buckets) / BucketSize);
                    if (j >= 32 && overflow == null && MapInternals<int, long>.LiveSlots(first) > 0 && MapInternals<int, long>.Overflow(first) == null && MapInternals<int, long>.LiveSlots(first + BucketSize) > 0)
                    {
                        return j;
                    }
                }
            }
        }

        [Theory]
        [InlineData(3UL, false)]
        [InlineData(17UL, false)]
        [InlineData(101UL, false)]
        [InlineData(3UL, true)]
        [InlineData(17UL, true)]
        [InlineData(101UL, true)]
        public void AGrowthThatEvacuatesTheBucketsOfAStepBetweenItsCheckAndItsReads_LosesNoEntry(ulong seed, bool throughOverflow)
        {
            // Built from empty by Go's doublings to B = 10, one insert short of the growth to 11.
            int n = (int)MapMath.MaxCountBeforeGrowth(10);
            using GoMap<int, long> map = IterationHelpers.IntMap(n, seed, goDoubling: true);
            Assert.False(map.GetStats().IsGrowing);
            int oldB = map.GetStats().B;
            ulong oldMask = (1UL << oldB) - 1;

            var log = new YieldLog();
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            ulong j = StepToARacedGroupBoundary(ref e, log, throughOverflow);

            // Between the next step's first check and its reads: a growth starts and old bucket j
            // is evacuated with its chain (Go's growWork evacuates the bucket a write hashes to),
            // the buckets after it not.
            bool ran = false;
            GoMap<int, long>.Enumerator.t_beforeGroupReadForTest = m =>
            {
                GoMap<int, long>.Enumerator.t_beforeGroupReadForTest = null;
                ran = true;
                StartAGrowthEvacuating(m, j, oldMask);
            };

            try
            {
                while (e.MoveNext())
                {
                    log.Saw(e.Current.Key);
                }
            }
            finally
            {
                GoMap<int, long>.Enumerator.t_beforeGroupReadForTest = null;
                e.Dispose();
            }

            Assert.True(ran, "the walk never stepped to a new group inline");
            Assert.True(map.GetStats().IsGrowing);
            Assert.False(MapInternals<int, long>.Evacuated(MapInternals<int, long>.Bucket(map.OldBucketArray, j + 1)), "bucket j + 1 was evacuated too: the test no longer shows the race");
            log.AssertYieldedAll(System.Linq.Enumerable.Range(0, n));
            map.Validate();
        }

        [Theory]
        [InlineData(3UL)]
        [InlineData(17UL)]
        [InlineData(101UL)]
        public void AGrowthBetweenTheChecksAndTheReadsOfAStepAfterARemoval_LosesNoEntry(ulong seed)
        {
            // The walk stands in a group whose rest spans old buckets j to jy; the current entry is
            // removed (in place: the next step narrows the rest to the slots still live); then,
            // between that step's checks and its reads, a write that stands for another thread's
            // starts a growth and evacuates bucket j, whose slots then read as empty. Without the
            // check after the reads, the step dropped j's entries for good (found by review: each
            // seed lost entries).
            int n = (int)MapMath.MaxCountBeforeGrowth(10);
            using GoMap<int, long> map = IterationHelpers.IntMap(n, seed, goDoubling: true);
            ulong oldMask = (1UL << map.GetStats().B) - 1;
            var log = new YieldLog();
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            ulong j;
            ulong jy;
            while (true)
            {
                Assert.True(e.MoveNext(), "no group fit for the test");
                log.Saw(e.Current.Key);
                ulong m = e.GroupRestForTest;
                ulong rest = m & (m - 1);
                if (rest == 0)
                {
                    continue;
                }

                int lo = BitOperations.TrailingZeroCount(rest) >> 3;
                int hi = (63 - BitOperations.LeadingZeroCount(rest)) >> 3;
                if (hi == lo)
                {
                    continue;
                }

                byte* bx = e._bptr + (lo * BucketSize);
                byte* by = e._bptr + (hi * BucketSize);
                j = (ulong)((bx - e._buckets) / BucketSize);
                jy = (ulong)((by - e._buckets) / BucketSize);
                if (j < 32 || j >= (1UL << 10) || MapInternals<int, long>.Overflow(bx) != null)
                {
                    continue; // past the buckets a growth evacuates first in order; no chain in the way
                }

                break;
            }

            Assert.True(map.Remove(e.Current.Key));
            bool ran = false;
            GoMap<int, long>.Enumerator.t_beforeRestReadForTest = m =>
            {
                GoMap<int, long>.Enumerator.t_beforeRestReadForTest = null;
                ran = true;
                StartAGrowthEvacuating(m, j, oldMask);
            };

            try
            {
                while (e.MoveNext())
                {
                    if (e.Current.Key < n)
                    {
                        log.Saw(e.Current.Key); // the keys added by the write may or may not be yielded
                    }
                }
            }
            finally
            {
                GoMap<int, long>.Enumerator.t_beforeRestReadForTest = null;
                e.Dispose();
            }

            Assert.True(ran, "the walk never narrowed its rest after the removal");
            Assert.False(MapInternals<int, long>.Evacuated(MapInternals<int, long>.Bucket(map.OldBucketArray, jy)), "bucket jy was evacuated too: the test no longer shows the race");
            log.AssertYieldedAll(System.Linq.Enumerable.Range(0, n));
            map.Validate();
        }
    }
}
#endif
