using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// EnsureCapacity and TrimExcess (GoMap.Resize.cs) as the rest of the map is used around them:
    /// random resize workloads on Strict maps, no GC allocation, a foreach whose body finishes a
    /// trim (entries, keys, values), and snapshots written in the middle of a shrink or of a growth
    /// of several levels.
    /// </summary>
    public class ResizeUsageTests
    {
        private static GoMap<long, long> Filled(long n, Dictionary<long, long>? model = null, ConcurrencyChecks checks = ConcurrencyChecks.Go, ulong seed = 5)
        {
            var map = new GoMap<long, long>(new GoMapOptions { Seed = seed, ConcurrencyChecks = checks });
            for (long k = 0; k < n; k++)
            {
                map[k] = k * 3;
                if (model != null)
                {
                    model[k] = k * 3;
                }
            }

            return map;
        }

        private static void RemoveFrom(GoMap<long, long> map, Dictionary<long, long>? model, long from, long to)
        {
            for (long k = from; k < to; k++)
            {
                map.Remove(k);
                model?.Remove(k);
            }
        }

        // ---- Strict mode ----

        [Fact]
        public void RandomResizeWorkload_OnAStrictMap_MatchesTheModel()
        {
            Seeded.Run(seed =>
            {
                var rng = new Random(seed);
                var model = new Dictionary<long, long>();
                using GoMap<long, long> map = Filled(0, model, ConcurrencyChecks.Strict, (ulong)seed);
                long space = 40_000;
                for (int op = 0; op < 20_000; op++)
                {
                    if (op % 5_000 == 0)
                    {
                        // Alternate a large key space with a small one: a small one removes most
                        // entries, so trims go down several levels (chained past five).
                        space = space == 40_000 ? 300 : 40_000;
                        RemoveFrom(map, model, space, 40_000);
                    }

                    long key = rng.NextInt64(space);
                    int r = rng.Next(1000);
                    if (!MapAssert.SetRemoveOrLookUp(map, model, key, op, r, setBelow: 450, removeBelow: 800, lookupBelow: 960))
                    {
                        ResizeOrWalk(map, model, rng, r);
                    }

                    if (op % 501 == 0)
                    {
                        map.Validate();
                        Assert.Equal(model.Count, map.LongCount);
                    }
                }

                map.Validate();
                MapAssert.SameEntries(map, model);
            });
        }

        /// <summary>The rest of <see cref="RandomResizeWorkload_OnAStrictMap_MatchesTheModel"/>'s draws (<paramref name="r"/> from 960 to 999): a resize, a trim to completion or a walk.</summary>
        private static void ResizeOrWalk(GoMap<long, long> map, Dictionary<long, long> model, Random rng, int r)
        {
            if (r < 970)
            {
                Assert.True(map.EnsureCapacity(rng.NextInt64(3 * (model.Count + 10))) >= model.Count);
            }
            else if (r < 980)
            {
                map.TrimExcess(model.Count + rng.Next(1_000));
            }
            else if (r < 990)
            {
                map.TrimExcess();
            }
            else if (r < 999)
            {
                int calls = 0;
                while (!map.TrimExcess())
                {
                    Assert.True(++calls < 1_000_000, "TrimExcess never completed");
                }

                Assert.False(map.GetStats().IsGrowing);
            }
            else
            {
                WalkWithResizes(map, model, rng);
            }
        }

        /// <summary>A walk (entries, keys or values) with resizes and writes between steps, checked by Go's rules.</summary>
        private static void WalkWithResizes(GoMap<long, long> map, Dictionary<long, long> model, Random rng)
        {
            var stayed = new HashSet<long>(model.Keys);
            var seen = new HashSet<long>();
            int kind = rng.Next(3);
            long added = 1_000_000 + rng.NextInt64(1L << 40);
            IEnumerator<long> walk = kind switch
            {
                0 => map.Select(kv =>
                {
                    Assert.Equal(model[kv.Key], kv.Value);
                    return kv.Key;
                }).GetEnumerator(),
                1 => map.Keys.GetEnumerator(),
                _ => map.Values.Select(v => v).GetEnumerator(),
            };
            bool finished = false;
            using (walk)
            {
                for (int steps = 0; steps < 3_000; steps++)
                {
                    if (!walk.MoveNext())
                    {
                        finished = true;
                        break;
                    }

                    if (kind != 2)
                    {
                        Assert.True(seen.Add(walk.Current), $"{walk.Current} yielded twice");
                        Assert.True(model.ContainsKey(walk.Current));
                    }
                    else
                    {
                        seen.Add(seen.Count);
                    }

                    switch (rng.Next(6))
                    {
                        case 0:
                            map.TrimExcess();
                            break;
                        case 1:
                            map.EnsureCapacity(model.Count * 2);
                            break;
                        case 2:
                            map[added] = added * 3;
                            model[added] = added * 3;
                            added++;
                            break;
                        case 3:
                            long gone = rng.NextInt64(40_000);
                            stayed.Remove(gone);
                            Assert.Equal(model.Remove(gone), map.Remove(gone));
                            break;
                        default:
                            break;
                    }
                }
            }

            if (!finished)
            {
                return; // stopped early: Go's rules promise nothing about the rest
            }

            if (kind != 2)
            {
                Assert.Empty(stayed.Except(seen));
            }
            else
            {
                Assert.True(seen.Count >= stayed.Count);
            }
        }

        // ---- the size a completed trim reaches ----

        /// <summary>
        /// Inserts during a shrink start no growth (as in Go, a growth in progress defers the
        /// next), so they may pass the smaller array's load factor; TrimExcess then grows back to
        /// the smallest B that holds the count before it reports completion (it reported
        /// completion over the load factor at d43addb).
        /// </summary>
        [Fact]
        public void TrimExcess_AfterInsertsDuringTheShrinkPassedTheLoadFactor_CompletesAtABThatHoldsTheCount()
        {
            // 6,650 entries at B = 11: TrimExcess targets B = 10 (6.5 × 1,024 = 6,656 entries).
            using GoMap<long, long> map = Filled(13_000);
            RemoveFrom(map, null, 6_650, 13_000);
            Assert.Equal(11, map.GetStats().B);
            map.TrimExcess();
            Assert.True(map.GetStats().IsShrinking);
            for (long k = 100_000; k < 100_010; k++)
            {
                map[k] = k; // 6,660 entries: more than B = 10 holds
            }

            while (!map.TrimExcess())
            {
            }

            GoMapStats s = map.GetStats();
            Assert.True(s.Count <= 13 * (s.BucketCount / 2), $"TrimExcess reported completion over the load factor: {s}");
        }

        // ---- GC allocation ----

        [Fact]
        public void EnsureCapacityAndTrimExcess_AllocateNothingOnTheGcHeap()
        {
            using GoMap<long, long> map = Filled(5_000);
            long GrowThenTrim()
            {
                long fits = map.EnsureCapacity(200_000);
                map.TrimExcess(20_000);
                map.EnsureCapacity(100_000);
                while (!map.TrimExcess())
                {
                }

                return fits + map.GetStats().B;
            }

            Assert.Equal(0, IterationHelpers.AllocatedBy(GrowThenTrim));
        }

        [Fact]
        public void WritesCarryingAShrink_AllocateNothingOnTheGcHeap()
        {
            using GoMap<long, long> map = Filled(100);
            long FillEmptyAndCarryTheShrink()
            {
                for (long k = 1_000; k < 30_000; k++)
                {
                    map[k] = k;
                }

                RemoveFrom(map, null, 1_000, 30_000);
                map.TrimExcess();
                long writes = 0;
                while (map.GetStats().IsGrowing || map.GetStats().DeferredBytes > 0)
                {
                    long k = writes % 100;
                    map[k] = writes++;
                    map.Remove(k + 50);
                    map[k + 50] = k;
                }

                return writes + 1;
            }

            Assert.Equal(0, IterationHelpers.AllocatedBy(FillEmptyAndCarryTheShrink));
        }

        // ---- iteration while a trim completes ----

        [Theory]
        [InlineData("entries", false)]
        [InlineData("entries", true)]
        [InlineData("keys", false)]
        [InlineData("keys", true)]
        [InlineData("values", false)]
        [InlineData("values", true)]
        public void Foreach_WhoseBodyRunsTrimExcessToCompletion_YieldsEveryEntryOnce(string kind, bool oneCallPerStep)
        {
            var model = new Dictionary<long, long>();
            using GoMap<long, long> map = Filled(60_000, model);
            RemoveFrom(map, model, 2_000, 60_000);
            int b = map.GetStats().B;
            bool done = false;
            var keys = new List<long>();
            var values = new List<long>();
            void Step()
            {
                if (oneCallPerStep)
                {
                    done = done || map.TrimExcess();
                }
                else
                {
                    while (!done)
                    {
                        done = map.TrimExcess();
                    }
                }
            }

            switch (kind)
            {
                case "entries":
                    foreach (KeyValuePair<long, long> kv in map)
                    {
                        keys.Add(kv.Key);
                        values.Add(kv.Value);
                        Step();
                    }

                    break;
                case "keys":
                    foreach (long k in map.Keys)
                    {
                        keys.Add(k);
                        Step();
                    }

                    break;
                default:
                    foreach (long v in map.Values)
                    {
                        values.Add(v);
                        Step();
                    }

                    break;
            }

            Assert.True(done, "the trim did not complete during the walk");
            Assert.True(map.GetStats().B < b);
            map.Validate();
            if (kind != "values")
            {
                Assert.Equal(model.Keys.OrderBy(k => k), keys.OrderBy(k => k));
            }

            if (kind != "keys")
            {
                Assert.Equal(model.Values.OrderBy(v => v), values.OrderBy(v => v));
            }
        }

        // ---- snapshots ----

        private static GoMap<long, long> RoundTrip(GoMap<long, long> map)
        {
            var stream = new MemoryStream();
            map.WriteTo(stream);
            stream.Position = 0;
            return GoMap<long, long>.ReadFrom(stream);
        }

        [Fact]
        public void WriteTo_InTheMiddleOfAShrink_RoundTripsThroughReadFrom()
        {
            var model = new Dictionary<long, long>();
            using GoMap<long, long> map = Filled(100_000, model);
            RemoveFrom(map, model, 3_000, 100_000);
            map.TrimExcess();
            for (long k = 200_000; k < 200_020; k++)
            {
                map[k] = k * 3; // carried a little further, new entries in the new array
                model[k] = k * 3;
            }

            Assert.True(map.GetStats().IsShrinking);
            using GoMap<long, long> loaded = RoundTrip(map);
            loaded.Validate();
            MapAssert.SameEntries(loaded, model);
            Assert.True(map.GetStats().IsShrinking); // writing moved nothing
            map.Validate();
            MapAssert.SameEntries(map, model);
        }

        [Fact]
        public void WriteTo_InTheMiddleOfAShrinkThatInsertsFilledPastItsTarget_RoundTripsThroughReadFrom()
        {
            // Found by review: inserts during a shrink start no growth, so the count passed the
            // load factor of the shrink's target B, which WriteTo wrote as the header's B; ReadFrom
            // refused the map's own snapshot as corrupt (B too small for the count).
            var model = new Dictionary<long, long>();
            using GoMap<long, long> map = Filled(13_000, model);
            Assert.Equal(11, map.GetStats().B);
            RemoveFrom(map, model, 6_600, 13_000);
            map.TrimExcess(); // starts 11 -> 10 (6.5 x 2^10 = 6,656 entries)
            for (long k = 100_000; k < 100_100; k++)
            {
                map[k] = k;
                model[k] = k;
            }

            Assert.True(map.GetStats().IsShrinking);
            Assert.True(map.Count > 6_656, $"{map.Count} entries");
            using GoMap<long, long> loaded = RoundTrip(map);
            loaded.Validate();
            MapAssert.SameEntries(loaded, model);
        }

        [Fact]
        public void WriteTo_InTheMiddleOfAnEnsureCapacityGrowthOfSeveralLevels_RoundTripsThroughReadFrom()
        {
            var model = new Dictionary<long, long>();
            using GoMap<long, long> map = Filled(20_000, model);
            int b = map.GetStats().B;
            map.EnsureCapacity(1_000_000);
            for (long k = 20_000; k < 20_050; k++)
            {
                map[k] = k * 3;
                model[k] = k * 3;
            }

            GoMapStats s = map.GetStats();
            Assert.True(s.IsGrowing && s.B >= b + 2, s.ToString());
            using GoMap<long, long> loaded = RoundTrip(map);
            loaded.Validate();
            MapAssert.SameEntries(loaded, model);
            map.Validate();
            MapAssert.SameEntries(map, model);
        }
    }
}
