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
    /// enumeration-start trials race real threads over the same window.
    /// </summary>
    public unsafe class IterationGroupRaceTests
    {
        private const int BucketSlots = 8;

        private static int BucketSize => GoMap<int, long>.Layout.BucketSize;

        /// <summary>Entries of an <see cref="IterationHelpers.IntMap"/> (Go's doubling) one insert short of a growth.</summary>
        private static int EntriesJustBeforeAGrowth(ulong seed)
        {
            using GoMap<int, long> probe = IterationHelpers.IntMap(0, seed, goDoubling: true);
            for (int i = 0; i < 6000; i++)
            {
                probe.Add(i, i * 10L);
            }

            // The growth that starts at the first insert after the returned count (keys 0..count-1).
            return IterationHelpers.InsertUntilGrowing(probe, 6000) - 1;
        }

        private static int LiveSlots(byte* bucket)
        {
            int live = 0;
            for (int s = 0; s < BucketSlots; s++)
            {
                live += bucket[s] >= 5 ? 1 : 0; // minTopHash
            }

            return live;
        }

        private static bool Evacuated(byte* bucket) => bucket[0] is > 1 and < 5; // evacuatedX, evacuatedY or evacuatedEmpty

        /// <summary>A key (from <paramref name="from"/> up, not yet in the map) whose old bucket under <paramref name="oldMask"/> is <paramref name="oldBucket"/>.</summary>
        private static int KeyInOldBucket(GoMap<int, long> map, ulong oldBucket, ulong oldMask, ref int from)
        {
            while ((map.DefaultHashForTest(from) & oldMask) != oldBucket || map.ContainsKey(from))
            {
                from++;
            }

            return from++;
        }

        [Theory]
        [InlineData(3UL)]
        [InlineData(17UL)]
        [InlineData(101UL)]
        public void AGrowthThatEvacuatesTheNextGroupBetweenTheStepsCheckAndItsReads_LosesNoEntry(ulong seed)
        {
            int n = EntriesJustBeforeAGrowth(seed);
            using GoMap<int, long> map = IterationHelpers.IntMap(n, seed, goDoubling: true);
            Assert.False(map.GetStats().IsGrowing);
            int oldB = map.GetStats().B;
            ulong oldMask = (1UL << oldB) - 1;

            var log = new YieldLog();
            GoMap<int, long>.Enumerator e = map.GetEnumerator();

            // Walk to the last entry of a group that ends a chain (no overflow bucket comes next)
            // and whose next group starts at a bucket j with entries and no overflow chain,
            // followed (in the same group) by bucket j + 1 with entries; j is past the first
            // buckets, which the growth's sequential evacuation takes first.
            ulong j = 0;
            while (true)
            {
                Assert.True(e.MoveNext(), "no group boundary fit for the test");
                log.Saw(e.Current.Key);
                ulong rest = e.GroupRestForTest;
                (nint tail, nint next, nint stop) = e.NextGroupForTest;
                if (BitOperations.PopCount(rest) != 1 || MapInternals<int, long>.Overflow((byte*)tail) != null || next == stop || next + BucketSize >= stop)
                {
                    continue;
                }

                byte* first = (byte*)next;
                j = (ulong)((first - e._buckets) / BucketSize);
                if (j >= 32 && LiveSlots(first) > 0 && MapInternals<int, long>.Overflow(first) == null && LiveSlots(first + BucketSize) > 0)
                {
                    break;
                }
            }

            // Between the next step's first check and its reads: a growth starts and bucket j is
            // evacuated (Go's growWork evacuates the bucket a write hashes to), bucket j + 1 not.
            bool ran = false;
            GoMap<int, long>.Enumerator.t_beforeGroupReadForTest = m =>
            {
                GoMap<int, long>.Enumerator.t_beforeGroupReadForTest = null;
                ran = true;
                int next = IterationHelpers.InsertUntilGrowing(m, 1 << 24);
                while (!Evacuated(MapInternals<int, long>.Bucket(m.OldBucketArray, j)))
                {
                    int k = KeyInOldBucket(m, j, oldMask, ref next);
                    m.Add(k, k * 10L);
                }
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
            Assert.False(Evacuated(MapInternals<int, long>.Bucket(map.OldBucketArray, j + 1)), "bucket j + 1 was evacuated too: the test no longer shows the race");
            log.AssertYieldedAll(System.Linq.Enumerable.Range(0, n));
            map.Validate();
        }
    }
}
#endif
