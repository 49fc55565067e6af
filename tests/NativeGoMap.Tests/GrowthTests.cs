using System;
using System.Collections.Generic;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// Growth as Go does it: doubling exactly at Go's load-factor thresholds, incrementally (each
    /// write evacuates the old bucket it needs and at most GoMap.SequentialUnitsPerWrite more, reads
    /// none), lookups correct mid-growth, and a
    /// same-size growth when deletes leave too many overflow buckets behind. A map grows its small
    /// tables four times at once (GoMap.GrownB) and doubles past 64 KiB as Go does at every size:
    /// the tests of Go's schedule and of the doubling's split turn the quadrupling off
    /// (DoubleLikeGoForTest), so that small maps show what big ones do; the tests of work done
    /// mid-growth run both schedules.
    /// </summary>
    public class GrowthTests
    {
        private static readonly long[] GoThresholds = { 9, 14, 27, 53, 105, 209, 417, 833, 1665, 3329, 6657 };

        [Fact]
        public void Growth_RestatedRule_HasGoThresholds()
        {
            // Our restatement of overLoadFactor: B becomes k+1 at the n-th insert, n > 8 && n > 6.5 * 2^k.
            var thresholds = new List<long>();
            int b = 0;
            for (long n = 1; n <= 6657; n++)
            {
                if (GoGrowth.OverLoad(n, b))
                {
                    b++;
                    thresholds.Add(n);
                }
            }

            Assert.Equal(GoThresholds, thresholds);
            Assert.Equal(11, GoGrowth.BAfterInserts(6657));
            Assert.Equal(10, GoGrowth.BAfterInserts(6656));
        }

        [Fact]
        public void Growth_NoHint_BGrowsAtGoThresholds()
        {
            Seeded.Run(seed =>
            {
                using var map = new GoMap<long, long>(new GoMapOptions { Seed = (ulong)seed });
                map.DoubleLikeGoForTest();
                int expectedB = 0;
                for (long n = 1; n <= 6657; n++)
                {
                    map[(n * 0x5851F42D4C957F2DL) ^ seed] = n;
                    if (GoGrowth.OverLoad(n, expectedB))
                    {
                        expectedB++;
                        Assert.Contains(n, GoThresholds);
                    }

                    Assert.True(expectedB == map.GetStats().B, $"after {n} inserts B is {map.GetStats().B}, Go's is {expectedB}");
                    if (n % 500 == 0)
                    {
                        map.Validate();
                    }
                }

                Assert.Equal(11, map.GetStats().B);
                map.Validate();
            });
        }

        [Fact]
        public void Growth_NoHint_SmallTablesQuadrupleThenDoubleAtGoThresholds()
        {
            // <long,long> buckets are 144 bytes: B 0 → 2 → 4 → 6 → 8 (256 buckets, 36 KiB),
            // then doubling (1,024 would be 144 KiB, past GrownB's 64 KiB), each growth at
            // Go's load-factor threshold of the B it leaves.
            Seeded.Run(seed =>
            {
                using var map = new GoMap<long, long>(new GoMapOptions { Seed = (ulong)seed });
                var expected = new Dictionary<long, int> { [9] = 2, [27] = 4, [105] = 6, [417] = 8, [1665] = 9, [3329] = 10, [6657] = 11 };
                int b = 0;
                for (long n = 1; n <= 6657; n++)
                {
                    map[(n * 0x5851F42D4C957F2DL) ^ seed] = n;
                    if (expected.TryGetValue(n, out int next))
                    {
                        b = next;
                    }

                    Assert.True(b == map.GetStats().B, $"after {n} inserts B is {map.GetStats().B}, expected {b}");
                }

                map.Validate();
            });
        }

        [Fact]
        public void Growth_NoHint_QuadruplesOnlyUpTo64KiBOfBuckets()
        {
            // 1,072-byte buckets (<int> keys, 128-byte values): 4 and 16 buckets (17 KiB) come
            // four times at once; 64 would be 67 KiB, so B 4 doubles to 5, and on.
            using var map = new GoMap<int, Bytes128>(new GoMapOptions { Seed = 3 });
            var bs = new List<int> { 0 };
            for (int n = 1; n <= 833; n++)
            {
                map[n] = default;
                if (map.GetStats().B != bs[^1])
                {
                    bs.Add(map.GetStats().B);
                }
            }

            Assert.Equal(new[] { 0, 2, 4, 5, 6, 7, 8 }, bs);
            map.Validate();
        }

        [Fact]
        public void Growth_ThatQuadruples_IsCarriedByTheWritesAfterIt()
        {
            // The 417th insert of a <long,long> map takes B from 6 to 8: 64 old buckets, which
            // the writes after it evacuate as a doubling's: the one each needs and
            // SequentialUnitsPerWrite more in order.
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = 11 });
            for (long k = 0; k < 416; k++)
            {
                map[k] = k;
            }

            Assert.Equal(6, map.GetStats().B);
            map[416] = 416;
            GoMapStats s = map.GetStats();
            Assert.Equal(8, s.B);
            Assert.True(s.IsGrowing);
            Assert.Equal(6, MapInternals<long, long>.OldB(map));
            Assert.InRange(MapInternals<long, long>.EvacuatedOldBuckets(map), 1, 1 + GoMap<long, long>.SequentialUnitsPerWrite);
            int writes = 1;
            for (long k = 417; map.GetStats().IsGrowing; k++)
            {
                map[k] = k;
                writes++;
                map.Validate();
            }

            Assert.InRange(writes, 64 / (1 + GoMap<long, long>.SequentialUnitsPerWrite), 64);
            for (long k = 0; k < 416 + writes; k++)
            {
                Assert.Equal(k, map[k]);
            }
        }

        [Fact]
        public void Growth_InsertOverTheThreshold_StartsAnIncrementalGrowth()
        {
            Seeded.Run(seed =>
            {
                using var map = new GoMap<int, int>(new GoMapOptions { Seed = (ulong)seed });
                map.DoubleLikeGoForTest();
                for (int k = 0; k < 52; k++)
                {
                    map[k] = k;
                }

                Assert.Equal(3, map.GetStats().B);
                Assert.False(map.GetStats().IsGrowing);

                map[52] = 52; // the 53rd entry: 8 old buckets to move, at most 4 moved by this write
                GoMapStats s = map.GetStats();
                Assert.Equal(4, s.B);
                Assert.True(s.IsGrowing);
                Assert.False(s.IsSameSizeGrow);
                Assert.InRange(MapInternals<int, int>.EvacuatedOldBuckets(map), 1, 1 + GoMap<int, int>.SequentialUnitsPerWrite);
                Assert.InRange(s.EvacuatedBuckets, 0, 1 + GoMap<int, int>.SequentialUnitsPerWrite);
                map.Validate();
            });
        }

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public void Growth_EachWriteEvacuatesItsOldBucketAndAFewMore(bool goDoubling)
        {
            Seeded.Run(seed =>
            {
                var rng = new Random(seed);
                using var map = new GoMap<int, int>(new GoMapOptions { Seed = (ulong)seed });
                if (goDoubling)
                {
                    map.DoubleLikeGoForTest();
                }

                var model = new Dictionary<int, int>();
                int next = 0;
                int growthsSeen = 0;
                while (map.GetStats().B < 10)
                {
                    long before = MapInternals<int, int>.EvacuatedOldBuckets(map);
                    long oldBuckets = before < 0 ? 0 : 1L << MapInternals<int, int>.OldB(map);
                    long nevacuate = map.GetStats().EvacuatedBuckets;
                    int op = rng.Next(10);
                    if (op < 6 || model.Count == 0)
                    {
                        map[next] = next;
                        model[next] = next;
                        next++;
                    }
                    else if (op < 8)
                    {
                        int k = rng.Next(next);
                        map.Remove(k);
                        model.Remove(k);
                    }
                    else if (op < 9)
                    {
                        int k = rng.Next(next);
                        map[k] = -k; // update or insert
                        model[k] = -k;
                    }
                    else
                    {
                        map.Remove(-1 - rng.Next(100)); // absent: Go's mapdelete still does growth work
                    }

                    if (before < 0)
                    {
                        continue; // not growing before this write (it may have started one)
                    }

                    long after = MapInternals<int, int>.EvacuatedOldBuckets(map);
                    long moved = (after < 0 ? oldBuckets : after) - before;
                    Assert.InRange(moved, 1, 1 + GoMap<int, int>.SequentialUnitsPerWrite);
                    if (after >= 0)
                    {
                        Assert.True(map.GetStats().EvacuatedBuckets > nevacuate, "nevacuate did not advance");
                    }
                    else
                    {
                        growthsSeen++;
                    }
                }

                // Growths that outlive the write that starts them (more than four old buckets) until
                // the one to B = 10 starts: from B = 3 … 9 doubling, or 4 → 6 → 8 → 9 (<int,int>
                // buckets are 80 bytes: 256 of them are the last table that quadruples).
                Assert.True(growthsSeen >= (goDoubling ? 6 : 3), $"only {growthsSeen} growths completed");
                MapAssert.SameEntries(map, model);
                map.Validate();
            });
        }

        [Fact]
        public void Growth_DoublingOfAOneBucketChain_KeepsEachEntryInItsSlot()
        {
            // <long,long> buckets are split by copying the whole bucket to both halves: an entry
            // keeps its slot index in its new bucket (Go packs them from slot 0), the slots it
            // left are emptyOne below the last entry kept and emptyRest after it.
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = 7 });
            map.DoubleLikeGoForTest();
            Assert.True(AtSomeGrowthStart(map, 12, SplitOneOldBucket), "no old bucket to split found");
        }

        /// <summary>
        /// Inserts keys 0, 1, 2, … (value = key) into <paramref name="map"/> and, at each growth
        /// start up to B = <paramref name="maxB"/>, asks <paramref name="tryHere"/> (given the
        /// map and how many keys it holds); finishes that growth when it declines. True when it
        /// accepted one.
        /// </summary>
        private static unsafe bool AtSomeGrowthStart(GoMap<long, long> map, int maxB, Func<GoMap<long, long>, long, bool> tryHere)
        {
            long next = 0;
            while (map.GetStats().B < maxB)
            {
                do
                {
                    map[next] = next;
                    next++;
                }
                while (map.OldBucketArray == null);

                if (tryHere(map, next))
                {
                    return true;
                }

                IterationHelpers.FinishGrowth(map, 0L, 0L);
            }

            return false;
        }

        [Fact]
        public void Growth_WithDeletesBetweenDoublings_MatchesTheModel_ForEveryKeyKindTheCopyingSplitTakes()
        {
            // The kinds whose evacuation hashes all eight slots (stale and zero keys included)
            // and copies buckets whole: integers, floating point (NaN payloads and both zeroes
            // are one key each), Half, Guid, odd-sized structs; and a user comparer, which copies
            // whole but hashes live slots only. Deletes leave holes and stale bytes that later
            // doublings carry along; every key and value is checked after each doubling.
            Seeded.Run(seed =>
            {
                double[] specials = { double.NaN, -double.NaN, BitConverter.Int64BitsToDouble(0x7FF0_0000_0000_0001), 0.0, -0.0 };
                RunAgainstModel<long, long>(seed, r => r.Next(0, 6000), r => r.NextInt64());
                RunAgainstModel<double, int>(seed, r => r.Next(8) == 0 ? specials[r.Next(specials.Length)] : r.Next(0, 6000) / 7.0, r => r.Next());
                RunAgainstModel<float, long>(seed, r => r.Next(8) == 0 ? (float)specials[r.Next(specials.Length)] : r.Next(0, 6000) / 3f, r => r.NextInt64());
#if NET8_0_OR_GREATER
                RunAgainstModel<Half, int>(seed, r => (Half)(r.Next(0, 6000) / 3.0), r => r.Next());
#endif
                RunAgainstModel<Guid, long>(seed, r => new Guid(r.Next(0, 6000), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10), r => r.NextInt64());
                RunAgainstModel<Key3, int>(seed, r => Key3.Of(r.Next(0, 6000)), r => r.Next());
                RunAgainstModel<Key16, long>(seed, r => Key16.Of(r.Next(0, 6000)), r => r.NextInt64());
                RunAgainstModel<int, int>(seed, r => r.Next(0, 6000), r => r.Next(), new ModuloComparer(997));
            });
        }

        /// <summary>
        /// For <see cref="Growth_WithDeletesBetweenDoublings_MatchesTheModel_ForEveryKeyKindTheCopyingSplitTakes"/>:
        /// inserts (two in three) and removes against a Dictionary model until B reaches 8 (keys
        /// drawn from a few thousand values, so that removes hit), validating and comparing every
        /// entry at the end of each growth that outlives the write that started it (four at least).
        /// </summary>
        private static void RunAgainstModel<TKey, TValue>(int seed, Func<Random, TKey> key, Func<Random, TValue> value, IEqualityComparer<TKey>? comparer = null)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            var rng = new Random(seed);
            using var map = new GoMap<TKey, TValue>(new GoMapOptions { Seed = (ulong)seed }, comparer);
            map.DoubleLikeGoForTest();
            var model = new Dictionary<TKey, TValue>(comparer ?? EqualityComparer<TKey>.Default);
            int growthEnds = 0;
            for (int op = 0; map.GetStats().B < 8; op++)
            {
                Assert.True(op < 1_000_000, $"{typeof(TKey).Name}: B is still {map.GetStats().B} after {op} operations");
                bool wasGrowing = map.GetStats().IsGrowing;
                TKey k = key(rng);
                if (rng.Next(3) != 0)
                {
                    TValue v = value(rng);
                    map[k] = v;
                    model[k] = v;
                }
                else
                {
                    Assert.Equal(model.Remove(k), map.Remove(k));
                }

                if (wasGrowing && !map.GetStats().IsGrowing)
                {
                    growthEnds++;
                    map.Validate();
                    MapAssert.SameEntries(map, model);
                }
            }

            Assert.True(growthEnds >= 4, $"{typeof(TKey).Name}: only {growthEnds} growths ended");
            MapAssert.SameEntries(map, model);
        }

        [Fact]
        public void Growth_DoublingLeavesANewBucketThatGetsNoEntryUntouched()
        {
            // An old bucket whose entries all go to one half: the other new bucket stays as the
            // array gave it, every byte zero, rather than receive a copy with no slot kept (with
            // few distinct hash codes that would write, and fault in, the whole new array).
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = 11 });
            Assert.True(AtSomeGrowthStart(map, 14, EvacuateAnOldBucketBoundForOneHalf), "no old bucket whose entries all go to one half found");
        }

        /// <summary>
        /// For <see cref="Growth_DoublingLeavesANewBucketThatGetsNoEntryUntouched"/>: finds an old
        /// bucket not yet evacuated, alone in its chain, whose entries all go to one half; has an
        /// update evacuate it and checks the other half's new bucket. False when there is none.
        /// </summary>
        private static unsafe bool EvacuateAnOldBucketBoundForOneHalf(GoMap<long, long> map, long count)
        {
            int oldB = MapInternals<long, long>.OldB(map);
            ulong newbit = 1UL << oldB;
            for (ulong u = 0; u < newbit; u++)
            {
                byte* ob = MapInternals<long, long>.Bucket(map.OldBucketArray, u);
                if (*ob is > 1 and < 5 || MapInternals<long, long>.Overflow(ob) != null || ob[0] < MapMath.MinTopHash)
                {
                    continue; // evacuated already, a longer chain, or empty
                }

                var sides = new List<bool>();
                for (int i = 0; i < 8; i++)
                {
                    if (ob[i] >= MapMath.MinTopHash)
                    {
                        sides.Add((map.DefaultHashForTest(MapInternals<long, long>.Key(ob, i)) & newbit) != 0);
                    }
                }

                if (sides.Contains(true) && sides.Contains(false))
                {
                    continue;
                }

                byte* empty = MapInternals<long, long>.Bucket(map.BucketArray, sides[0] ? u : u + newbit);
                map[MapInternals<long, long>.Key(ob, 0)] = -1; // an update: its growth work evacuates old bucket u
                Assert.True(*ob is > 1 and < 5, $"old bucket {u} was not evacuated");
                int size = GoMap<long, long>.Layout.BucketSize;
                Assert.True(new ReadOnlySpan<byte>(empty, size).IndexOfAnyExcept((byte)0) < 0, $"the new bucket that got no entry of old bucket {u} was written");
                map.Validate();
                return true;
            }

            return false;
        }

        /// <summary>
        /// For <see cref="Growth_DoublingOfAOneBucketChain_KeepsEachEntryInItsSlot"/>: finds an old
        /// bucket not yet evacuated, alone in its chain, whose entries go to both halves, the first
        /// of them to x (so that Go's packing would move some entry bound for y to a lower slot);
        /// has an update evacuate it and checks both new buckets. False when the growth has no
        /// such bucket.
        /// </summary>
        private static unsafe bool SplitOneOldBucket(GoMap<long, long> map, long next)
        {
            int oldB = MapInternals<long, long>.OldB(map);
            ulong newbit = 1UL << oldB;
            byte* old = map.OldBucketArray;
            for (ulong u = 0; u < newbit; u++)
            {
                byte* ob = MapInternals<long, long>.Bucket(old, u);
                if (*ob is > 1 and < 5 || MapInternals<long, long>.Overflow(ob) != null)
                {
                    continue; // evacuated already, or a chain of more than one bucket
                }

                var slots = new List<(int Slot, long Key, byte Top, bool ToY)>();
                for (int i = 0; i < 8; i++)
                {
                    if (ob[i] >= MapMath.MinTopHash)
                    {
                        long key = MapInternals<long, long>.Key(ob, i);
                        slots.Add((i, key, ob[i], (map.DefaultHashForTest(key) & newbit) != 0));
                    }
                }

                if (!slots.Exists(e => e.ToY) || !slots.Exists(e => !e.ToY) || slots.FindIndex(e => e.ToY) == 0)
                {
                    continue; // Go's packing would leave some entry in its slot too: not telling
                }

                map[slots[0].Key] = -1; // an update: its growth work evacuates old bucket u
                Assert.True(*ob is > 1 and < 5, $"old bucket {u} was not evacuated");
                foreach (bool toY in new[] { false, true })
                {
                    byte* nb = MapInternals<long, long>.Bucket(map.BucketArray, toY ? u + newbit : u);
                    List<(int Slot, long Key, byte Top, bool ToY)> kept = slots.FindAll(e => e.ToY == toY);
                    int last = kept[^1].Slot;
                    for (int i = 0; i < 8; i++)
                    {
                        int k = kept.FindIndex(e => e.Slot == i);
                        if (k >= 0)
                        {
                            Assert.Equal(kept[k].Top, nb[i]);
                            Assert.Equal(kept[k].Key, MapInternals<long, long>.Key(nb, i));
                        }
                        else
                        {
                            Assert.Equal(i < last ? MapMath.EmptyOne : MapMath.EmptyRest, nb[i]);
                        }
                    }
                }

                map.Validate();
                for (long k = 0; k < next; k++)
                {
                    Assert.Equal(k == slots[0].Key ? -1 : k, map[k]);
                }

                return true;
            }

            return false;
        }

        [Fact]
        public void Growth_ReadsDoNotEvacuate()
        {
            Seeded.Run(seed =>
            {
                using var map = new GoMap<int, int>(new GoMapOptions { Seed = (ulong)seed });
                int k = 0;
                while (map.GetStats().B < 8 || !map.GetStats().IsGrowing)
                {
                    map[k] = k;
                    k++;
                }

                long evacuated = MapInternals<int, int>.EvacuatedOldBuckets(map);
                long nevacuate = map.GetStats().EvacuatedBuckets;
                for (int i = -10; i < k + 10; i++)
                {
                    map.TryGetValue(i, out _);
                    map.ContainsKey(i);
                    map.GetValueOrDefault(i);
                    _ = map.GetValueRefOrNullRef(i);
                    if (i >= 0 && i < k)
                    {
                        Assert.Equal(i, map[i]);
                    }
                }

                Assert.Equal(evacuated, MapInternals<int, int>.EvacuatedOldBuckets(map));
                Assert.Equal(nevacuate, map.GetStats().EvacuatedBuckets);
                Assert.True(map.GetStats().IsGrowing);
            });
        }

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public void Growth_LookupsMidGrowth_FindEveryEntry(bool goDoubling)
        {
            Seeded.Run(seed =>
            {
                var rng = new Random(seed);
                using var map = new GoMap<long, long>(new GoMapOptions { Seed = (ulong)seed });
                if (goDoubling)
                {
                    map.DoubleLikeGoForTest();
                }

                var model = new Dictionary<long, long>();
                long next = 1;
                int writesWhileGrowing = 0;
                while (map.GetStats().B < 10)
                {
                    long k = rng.Next(4) == 0 && model.Count > 0 ? rng.NextInt64(1, next) : next++;
                    if (rng.Next(5) == 0)
                    {
                        Assert.Equal(model.Remove(k), map.Remove(k));
                    }
                    else
                    {
                        map[k] = k * 7;
                        model[k] = k * 7;
                    }

                    if (map.GetStats().IsGrowing)
                    {
                        writesWhileGrowing++;
                        MapAssert.SameEntries(map, model);
                        for (long miss = next; miss < next + 20; miss++)
                        {
                            Assert.False(map.ContainsKey(miss));
                        }
                    }
                }

                // A growth takes about 2^(old B − 2) writes (four old buckets each): up to B = 9 (the
                // loop ends as the growth to 10 starts), about 1 + 1 + 2 + … + 64 doubling, or
                // 1 + 1 + 4 + 16 + 64 quadrupling to 8, and more where writes find their bucket evacuated.
                Assert.True(writesWhileGrowing > 60, $"only {writesWhileGrowing} writes saw a growth in progress");
                map.Validate();
            });
        }

        [Fact]
        public void Growth_InProgress_ValidatesAfterEveryWrite()
        {
            Seeded.Run(seed =>
            {
                var rng = new Random(seed);
                using var map = new GoMap<int, long>(new GoMapOptions { Seed = (ulong)seed });
                int next = 0;
                while (map.GetStats().B < 7)
                {
                    if (rng.Next(4) == 0 && next > 0)
                    {
                        map.Remove(rng.Next(next));
                    }
                    else
                    {
                        map[next] = next;
                        next++;
                    }

                    if (map.GetStats().IsGrowing)
                    {
                        map.Validate();
                        MapInternals<int, long>.AssertEmptyRestTails(map);
                    }
                }
            });
        }

        [Fact]
        public void Growth_AWriteEvacuatesItsOldBucketAndThreeMoreInOrder()
        {
            // A doubling of 256 old buckets (B 8 → 9), then one insert whose old bucket lies far
            // past the evacuation mark: it evacuates that bucket and the three at the mark
            // (Go's growWork: one at the mark).
            using GoMap<int, int> map = DoublingToB9(out int k);

            long oldBuckets = 1L << MapInternals<int, int>.OldB(map);
            int key = k;
            while ((map.DefaultHashForTest(key) & (ulong)(oldBuckets - 1)) < (ulong)oldBuckets / 2)
            {
                key++;
            }

            long before = MapInternals<int, int>.EvacuatedOldBuckets(map);
            long mark = map.GetStats().EvacuatedBuckets;
            Assert.True(before <= 8 && mark <= 8, $"precondition: the growth has just started ({before} evacuated, mark {mark})");
            map[key] = key;
            Assert.Equal(before + 4, MapInternals<int, int>.EvacuatedOldBuckets(map));
            Assert.True(map.GetStats().EvacuatedBuckets >= mark + 3, "the mark did not move past the three buckets in order");
            map.Validate();
        }

        /// <summary>A map of keys 0..<paramref name="next"/> − 1 that has just started a doubling of 256 old buckets (B 8 → 9) at Go's pace.</summary>
        private static GoMap<int, int> DoublingToB9(out int next)
        {
            var map = new GoMap<int, int>(new GoMapOptions { Seed = 5 });
            map.DoubleLikeGoForTest();
            next = 0;
            while (!(map.GetStats().IsGrowing && map.GetStats().B == 9))
            {
                map[next] = next;
                next++;
            }

            return map;
        }

        [Fact]
        public unsafe void Growth_TheEvacuationMarkSkipsOldBucketsAlreadyEvacuatedAheadOfIt()
        {
            // Go's advanceEvacuationMark: when the bucket at the mark is evacuated, the mark moves
            // past every evacuated bucket after it (up to 1024), so buckets that writes evacuated
            // out of order cost the sequential work nothing. Mark m: a write to old bucket m+5
            // evacuates it and m..m+2 (mark m+3); a write to m+4 evacuates it and m+3, after which
            // the mark passes m+4 and m+5 at once, and its two further steps take m+6 and m+7.
            using GoMap<int, int> map = DoublingToB9(out int k);

            ulong oldBuckets = 1UL << MapInternals<int, int>.OldB(map);
            long m = map.GetStats().EvacuatedBuckets;
            for (long j = m; j < m + 8; j++)
            {
                byte top0 = *MapInternals<int, int>.Bucket(map.OldBucketArray, (ulong)j);
                Assert.False(top0 is > 1 and < 5, $"precondition: old bucket {j} is already evacuated (mark {m})");
            }

            int KeyInOldBucket(long bucket)
            {
                int key = k;
                while ((map.DefaultHashForTest(key) & (oldBuckets - 1)) != (ulong)bucket)
                {
                    key++;
                }

                k = key + 1;
                return key;
            }

            long before = MapInternals<int, int>.EvacuatedOldBuckets(map);
            int first = KeyInOldBucket(m + 5);
            map[first] = first;
            Assert.Equal(m + 3, map.GetStats().EvacuatedBuckets);
            int second = KeyInOldBucket(m + 4);
            map[second] = second;
            Assert.Equal(m + 8, map.GetStats().EvacuatedBuckets);
            Assert.Equal(before + 8, MapInternals<int, int>.EvacuatedOldBuckets(map));
            map.Validate();
        }

        [Fact]
        public void Growth_CompletesWithinOneWritePerOldBucket()
        {
            Seeded.Run(seed =>
            {
                using var map = new GoMap<int, int>(new GoMapOptions { Seed = (ulong)seed });
                int k = 0;
                while (map.GetStats().B < 9 || !map.GetStats().IsGrowing)
                {
                    map[k] = k;
                    k++;
                }

                long oldBuckets = 1L << MapInternals<int, int>.OldB(map);
                long writes = 0;
                while (map.GetStats().IsGrowing)
                {
                    map[k] = k; // one write, growth work included
                    k++;
                    writes++;
                    Assert.True(writes < oldBuckets, $"growth of {oldBuckets} old buckets still running after {writes} writes");
                }

                // 1 + SequentialUnitsPerWrite buckets per write at best.
                long most = 1 + GoMap<int, int>.SequentialUnitsPerWrite;
                Assert.True(writes >= (oldBuckets / most) - 1, $"{oldBuckets} old buckets evacuated in {writes} writes");
                Assert.Equal(9, map.GetStats().B);
                map.Validate();
            });
        }

        [Fact]
        public void Growth_DeleteHeavyChurn_WithEmptiedOverflowLeftLinkedAsInGo_StartsASameSizeGrowth()
        {
            Seeded.Run(seed =>
            {
                using var map = new GoMap<int, int>(new GoMapOptions { CapacityHint = 100, Seed = (ulong)seed });
                var model = new Dictionary<int, int>();
                int b = map.GetStats().B;
                Assert.Equal(4, b);
                int steps = Workloads.ChurnUntilSameSizeGrowth(map, model, new Queue<int>(), new Random(seed), live: 96, maxSteps: 200_000);
                Assert.True(steps > 0, "no same-size growth in 200,000 delete/insert steps");

                GoMapStats s = map.GetStats();
                Assert.True(s.IsGrowing);
                Assert.True(s.IsSameSizeGrow);
                Assert.Equal(b, s.B);
                MapAssert.SameEntries(map, model);
                map.Validate();
            });
        }

        [Fact]
        public void Growth_SameSizeGrowth_KeepsBAndCompactsOverflowBuckets()
        {
            Seeded.Run(seed =>
            {
                using var map = new GoMap<int, int>(new GoMapOptions { CapacityHint = 100, Seed = (ulong)seed });
                var model = new Dictionary<int, int>();
                Assert.True(Workloads.ChurnUntilSameSizeGrowth(map, model, new Queue<int>(), new Random(seed), live: 96, maxSteps: 200_000) > 0);

                // Finish the growth with updates (writes that add nothing).
                int writes = 0;
                while (map.GetStats().IsGrowing)
                {
                    foreach (KeyValuePair<int, int> kv in model)
                    {
                        map[kv.Key] = kv.Value;
                        writes++;
                        MapAssert.SameEntries(map, model);
                        if (!map.GetStats().IsGrowing)
                        {
                            break;
                        }
                    }
                }

                GoMapStats s = map.GetStats();
                Assert.Equal(4, s.B);
                Assert.False(s.IsSameSizeGrow);
                Assert.True(s.NOverflow < 16, $"{s.NOverflow} overflow buckets left after compaction");
                Assert.InRange(writes, 1, 16);
                MapAssert.SameEntries(map, model);
                map.Validate();
                MapInternals<int, int>.AssertEmptyRestTails(map);
            });
        }

        [Fact]
        public void Growth_CollidingKeys_GrowAndStayFindable()
        {
            // 4 distinct hashes: every chain is long, every evacuation needs overflow buckets.
            Seeded.Run(seed =>
            {
                using var map = new GoMap<int, int>(new GoMapOptions { Seed = (ulong)seed }, new ModuloComparer(4));
                var model = new Dictionary<int, int>();
                for (int k = 0; k < 900; k++)
                {
                    map[k] = k + 1;
                    model[k] = k + 1;
                    if (k % 50 == 0)
                    {
                        map.Validate();
                    }
                }

                Assert.Equal(GoGrowth.BAfterInserts(900), map.GetStats().B);
                MapAssert.SameEntries(map, model);
                map.Validate();
            });
        }

        [Fact]
        public void Growth_SlidingCollisionGroups_StartSameSizeGrowths()
        {
            // 32 consecutive keys share a hash; the live window slides, leaving emptied chains
            // with their overflow buckets behind while new groups overflow other chains.
            Seeded.Run(seed =>
            {
                using var map = new GoMap<int, int>(new GoMapOptions { Seed = (ulong)seed }, new GroupComparer(5));
                map.KeepEmptyOverflowLikeGoForTest(); // Go's mapdelete: emptied overflow buckets stay linked
                var model = new Dictionary<int, int>();
                int sameSize = 0;
                bool wasSameSize = false;
                for (int k = 0; k < 40_000; k++)
                {
                    map[k] = k;
                    model[k] = k;
                    if (k >= 300)
                    {
                        Assert.True(map.Remove(k - 300));
                        model.Remove(k - 300);
                    }

                    bool isSameSize = map.GetStats().IsSameSizeGrow;
                    if (isSameSize && !wasSameSize)
                    {
                        sameSize++;
                        map.Validate();
                    }

                    wasSameSize = isSameSize;
                }

                Assert.True(sameSize >= 2, $"only {sameSize} same-size growths");
                MapAssert.SameEntries(map, model);
                map.Validate();
                MapInternals<int, int>.AssertEmptyRestTails(map);
            });
        }
    }
}
