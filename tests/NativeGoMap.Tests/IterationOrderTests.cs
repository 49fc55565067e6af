using System;
using System.Collections.Generic;
using System.Linq;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// Go's iteration order, exactly: from the start bucket to the end of the array and round to
    /// it again, each bucket followed by its overflow chain, each bucket's slots from the
    /// enumeration's offset on. The inline walk (Go mode, a map that is not growing) reads up to
    /// eight buckets' tophash words at once; these tests hold it to the order a bucket-by-bucket
    /// reading of the map's memory gives, across groups cut short by an overflow chain, by the
    /// end of the array and by the start bucket, and across writes between steps.
    /// </summary>
    public unsafe class IterationOrderTests
    {
        /// <summary>The keys in Go's order for an enumerator that has not stepped yet, read bucket by bucket from the map's memory.</summary>
        private static List<int> GoOrder(in GoMap<int, long>.Enumerator e)
        {
            var keys = new List<int>();
            ulong n = 1UL << e._b;
            for (ulong i = 0; i < n; i++)
            {
                ulong bucket = (e._startBucket + i) & (n - 1);
                for (byte* b = MapInternals<int, long>.Bucket(e._buckets, bucket); b != null; b = MapInternals<int, long>.Overflow(b))
                {
                    for (int j = 0; j < 8; j++)
                    {
                        int slot = (j + e._offset) & 7;
                        if (b[slot] >= 5)
                        {
                            keys.Add(MapInternals<int, long>.Key(b, slot));
                        }
                    }
                }
            }

            return keys;
        }

        /// <summary>A map of keys 0..n-1 (values 10 k) whose growth is done, so that the inline walk may run.</summary>
        private static GoMap<int, long> Settled(int n, ulong seed, long hint, IEqualityComparer<int>? comparer, ConcurrencyChecks checks)
        {
            var map = new GoMap<int, long>(new GoMapOptions { Seed = seed, CapacityHint = hint, ConcurrencyChecks = checks }, comparer);
            for (int i = 0; i < n; i++)
            {
                map.Add(i, i * 10L);
            }

            if (n > 0)
            {
                IterationHelpers.FinishGrowth(map, 0, 0L);
            }

            return map;
        }

        public static TheoryData<int, long, int> Shapes() => new()
        {
            // entries, capacity hint, hash codes (0: the keys' own; m: key mod m, so chains of overflow buckets)
            { 1, 0, 0 },
            { 9, 0, 0 },        // B = 1: a group cut by the end of the array
            { 40, 0, 0 },       // B = 3: fewer buckets than a group
            { 1000, 0, 0 },     // up to 6.5 entries per bucket: overflow buckets inside groups
            { 5000, 5000, 0 },
            { 60, 5000, 0 },    // sparse: groups with no live slot at all
            { 2000, 0, 64 },    // 64 hash codes: long chains
            { 600, 0, 97 },
        };

        [Theory]
        [MemberData(nameof(Shapes))]
        public void AnUnwrittenMap_IsWalkedInGoOrder_InGoMode(int n, long hint, int hashCodes) =>
            AssertGoOrder(n, hint, hashCodes, ConcurrencyChecks.Go);

        [Theory]
        [MemberData(nameof(Shapes))]
        public void AnUnwrittenMap_IsWalkedInGoOrder_InStrictMode(int n, long hint, int hashCodes) =>
            AssertGoOrder(n, hint, hashCodes, ConcurrencyChecks.Strict);

        private static void AssertGoOrder(int n, long hint, int hashCodes, ConcurrencyChecks checks)
        {
            IEqualityComparer<int>? comparer = hashCodes == 0 ? null : new ModuloComparer(hashCodes);
            for (ulong seed = 0; seed < 24; seed++)
            {
                using GoMap<int, long> map = Settled(n, seed, hint, comparer, checks);
                for (int start = 0; start < 4; start++) // several random starts per map
                {
                    GoMap<int, long>.Enumerator e = map.GetEnumerator();
                    List<int> expected = GoOrder(e);
                    List<int> walked = IterationHelpers.DrainKeys(ref e);
                    Assert.True(expected.SequenceEqual(walked), $"seed {seed}, start bucket {e._startBucket}, offset {e._offset}: walked {string.Join(",", walked.Take(40))} expected {string.Join(",", expected.Take(40))}");
                    Assert.True(n == walked.Count, $"seed {seed}: {walked.Count} entries walked of {n}");
                }
            }
        }

        [Fact]
        public void AMapWithHoles_IsWalkedInGoOrder()
        {
            // emptyOne slots between live ones, and whole emptied buckets.
            for (ulong seed = 0; seed < 16; seed++)
            {
                using GoMap<int, long> map = Settled(3000, seed, 0, null, ConcurrencyChecks.Go);
                for (int k = 0; k < 3000; k += 3)
                {
                    map.Remove(k);
                }

                for (int k = 1000; k < 2000; k++)
                {
                    map.Remove(k);
                }

                GoMap<int, long>.Enumerator e = map.GetEnumerator();
                List<int> expected = GoOrder(e);
                Assert.True(expected.SequenceEqual(IterationHelpers.DrainKeys(ref e)), $"seed {seed}: not Go's order");
            }
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void EntriesAheadRemovedAfterTheFirstStep_AreNotYielded_AndTheRestKeepsGoOrder(ConcurrencyChecks checks)
        {
            // Entries 1..24 of the walk lie in the group being walked and the next ones.
            for (ulong seed = 0; seed < 16; seed++)
            {
                using GoMap<int, long> map = Settled(1000, seed, 0, new ModuloComparer(200), checks);
                GoMap<int, long>.Enumerator e = map.GetEnumerator();
                List<int> expected = GoOrder(e);
                Assert.True(e.MoveNext());
                Assert.True(expected[0] == e.Current.Key, $"seed {seed}: first key {e.Current.Key}, expected {expected[0]}");
                var removed = new HashSet<int>(expected.Skip(1).Where((_, i) => i % 2 == 0).Take(12));
                foreach (int k in removed)
                {
                    Assert.True(map.Remove(k), $"seed {seed}: key {k} was not there to remove");
                }

                List<int> rest = IterationHelpers.DrainKeys(ref e);
                Assert.True(expected.Skip(1).Where(k => !removed.Contains(k)).SequenceEqual(rest), $"seed {seed}: the walk after the removes is not Go's order without them");
            }
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void EntriesAheadUpdatedBetweenSteps_AreYieldedWithTheirNewValues(ConcurrencyChecks checks)
        {
            for (ulong seed = 0; seed < 8; seed++)
            {
                using GoMap<int, long> map = Settled(1000, seed, 0, null, checks);
                GoMap<int, long>.Enumerator e = map.GetEnumerator();
                List<int> expected = GoOrder(e);
                var walked = new List<int>();
                for (int step = 0; e.MoveNext(); step++)
                {
                    walked.Add(e.Current.Key);
                    Assert.True(ValueAt(e.Current.Key, step) == e.Current.Value, $"seed {seed}, step {step}: key {e.Current.Key} yielded {e.Current.Value}, expected {ValueAt(e.Current.Key, step)}");
                    if (step % 5 == 0 && step + 3 < expected.Count)
                    {
                        map[expected[step + 3]] = -expected[step + 3]; // three entries ahead: usually later in the same group
                    }
                }

                Assert.True(expected.SequenceEqual(walked), $"seed {seed}: not Go's order");
            }
        }

        /// <summary>The value the walk in <see cref="EntriesAheadUpdatedBetweenSteps_AreYieldedWithTheirNewValues"/> must yield for <paramref name="key"/> at <paramref name="step"/>: updated three steps after a step that is a multiple of 5.</summary>
        private static long ValueAt(int key, int step)
        {
            int updatedAt = step - 3;
            return updatedAt >= 0 && updatedAt % 5 == 0 ? -key : key * 10L;
        }
    }
}
