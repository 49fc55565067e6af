using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Text;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// Access, assign and delete behave as <see cref="Dictionary{TKey, TValue}"/> does: first as
    /// one-behaviour specifications (including Go's delete marks, slot reuse and reseeding), then
    /// as long random operation sequences checked against a Dictionary model, well over a million
    /// operations in all, across key and value types and colliding comparers.
    /// </summary>
    public class DifferentialTests
    {
        // ---- access / assign / delete, one behaviour each ----

        [Fact]
        public void Indexer_GetOfMissingKey_ThrowsKeyNotFound()
        {
            using var map = new GoMap<int, int>();
            Assert.Throws<KeyNotFoundException>(() => map[1]);
            map[2] = 3;
            Assert.Throws<KeyNotFoundException>(() => map[1]);
            Assert.Equal(3, map[2]);
        }

        [Fact]
        public void Indexer_Set_InsertsThenOverwrites()
        {
            using var map = new GoMap<int, long>();
            map[7] = 1;
            map[7] = 2;
            Assert.Equal(2, map[7]);
            Assert.Equal(1L, map.LongCount);
        }

        [Fact]
        public void Add_DuplicateKey_ThrowsArgumentException_AndKeepsTheValue()
        {
            using var map = new GoMap<int, int>();
            map.Add(1, 10);
            Assert.Throws<ArgumentException>(() => map.Add(1, 20));
            Assert.Equal(10, map[1]);
            Assert.Equal(1L, map.LongCount);
        }

        [Fact]
        public void TryAdd_ExistingKey_ReturnsFalse_AndKeepsTheValue()
        {
            using var map = new GoMap<int, int>();
            Assert.True(map.TryAdd(1, 10));
            Assert.False(map.TryAdd(1, 20));
            Assert.Equal(10, map[1]);
        }

        [Fact]
        public void Remove_ReturnsWhetherTheKeyWasPresent()
        {
            using var map = new GoMap<int, int>();
            map[1] = 1;
            map[2] = 2;
            Assert.False(map.Remove(3));
            Assert.True(map.Remove(1));
            Assert.False(map.Remove(1));
            Assert.False(map.ContainsKey(1));
            Assert.True(map.ContainsKey(2));
            Assert.Equal(1L, map.LongCount);
        }

        [Fact]
        public void RemoveWithOut_ReturnsTheRemovedValue_OrDefault()
        {
            using var map = new GoMap<int, long>();
            map[1] = 42;
            Assert.True(map.Remove(1, out long v));
            Assert.Equal(42, v);
            Assert.False(map.Remove(1, out v));
            Assert.Equal(0, v);
        }

        [Fact]
        public void GetValueOrDefault_MissingKey_IsDefault()
        {
            using var map = new GoMap<int, long>();
            Assert.Equal(0, map.GetValueOrDefault(5));
            map[5] = 9;
            Assert.Equal(9, map.GetValueOrDefault(5));
        }

        [Fact]
        public void GetValueRefOrNullRef_Missing_IsNullRef_Present_WritesThrough()
        {
            using var map = new GoMap<int, long>();
            Assert.True(Unsafe.IsNullRef(ref map.GetValueRefOrNullRef(1)));
            map[1] = 5;
            ref long v = ref map.GetValueRefOrNullRef(1);
            Assert.False(Unsafe.IsNullRef(ref v));
            Assert.Equal(5, v);
            v = 6;
            Assert.Equal(6, map[1]);
            Assert.Equal(1L, map.LongCount);
        }

        [Fact]
        public void GetValueRefOrAddDefault_Absent_AddsDefault_Present_ReturnsTheValue()
        {
            using var map = new GoMap<int, long>();
            ref long v = ref map.GetValueRefOrAddDefault(1, out bool exists);
            Assert.False(exists);
            Assert.Equal(0, v);
            v = 11;
            Assert.Equal(1L, map.LongCount);
            ref long w = ref map.GetValueRefOrAddDefault(1, out exists);
            Assert.True(exists);
            Assert.Equal(11, w);
            w++;
            Assert.Equal(12, map[1]);
            Assert.Equal(1L, map.LongCount);
        }

        [Fact]
        public void ZeroKeyAndZeroValue_AreOrdinaryEntries()
        {
            // Empty memory is all zeros: a zero key must exist only once inserted.
            using var map = new GoMap<long, long>(GoGrowth.HintFor(4));
            Assert.False(map.ContainsKey(0));
            map[0] = 0;
            Assert.True(map.ContainsKey(0));
            Assert.True(map.TryGetValue(0, out long v));
            Assert.Equal(0, v);
            Assert.True(map.Remove(0));
            Assert.False(map.ContainsKey(0));

            using var structs = new GoMap<Key16, Key16>();
            Assert.False(structs.ContainsKey(default));
            structs[default] = default;
            Assert.True(structs.ContainsKey(default));
        }

        [Fact]
        public void Count_IsExactThroughInsertsUpdatesAndRemoves()
        {
            using var map = new GoMap<int, int>();
            for (int k = 0; k < 1000; k++)
            {
                map[k] = k;
                map[k] = -k;
                Assert.Equal(k + 1L, map.LongCount);
            }

            for (int k = 0; k < 1000; k += 2)
            {
                map.Remove(k);
                map.Remove(k);
            }

            int count = map.Count;
            Assert.Equal(500, count);
            Assert.Equal(500L, map.GetStats().Count);
            map.Validate();
        }

        [Fact]
        public void Count_AboveIntMaxValue_ThrowsOverflow_LongCountDoesNot()
        {
            // 2^31 entries are out of reach of a unit test: set the header's count directly.
            using var map = new GoMap<int, int>();
            map.SetCountForTest((long)int.MaxValue + 1);
            try
            {
                Assert.Throws<OverflowException>(() => map.Count);
                Assert.Equal((long)int.MaxValue + 1, map.LongCount);
                map.SetCountForTest(int.MaxValue);
                Assert.Equal(int.MaxValue, map.Count);
            }
            finally
            {
                map.SetCountForTest(0);
            }
        }

        [Fact]
        public void Update_OfExistingKeysAtTheLoadLimit_NeverGrows()
        {
            // Go grows only when a new key would exceed the load factor.
            using var map = new GoMap<int, int>();
            for (int k = 0; k < 8; k++)
            {
                map[k] = k;
            }

            for (int k = 0; k < 8; k++)
            {
                map[k] = -k;
                Assert.False(map.TryAdd(k, 0));
                map.GetValueRefOrAddDefault(k, out bool exists)++;
                Assert.True(exists);
            }

            Assert.Equal(0, map.GetStats().B);
            map[8] = 8;
            Assert.Equal(2, map.GetStats().B); // a small table grows four times at once (GoMap.GrownB)
        }

        [Fact]
        public void Remove_LastEntry_RenewsTheSeed()
        {
            using var map = new GoMap<int, int>(new GoMapOptions { Seed = 77 });
            map[1] = 1;
            map[2] = 2;
            ulong seed = map.HashSeed;
            map.Remove(1);
            Assert.Equal(seed, map.HashSeed);
            map.Remove(3); // absent
            Assert.Equal(seed, map.HashSeed);
            map.Remove(2);
            Assert.NotEqual(seed, map.HashSeed);
            map.Validate();
        }

        [Fact]
        public void Remove_FromAnEmptyMap_KeepsTheSeed()
        {
            using var map = new GoMap<int, int>(new GoMapOptions { Seed = 77 });
            map[1] = 1;
            map.Remove(1);
            ulong seed = map.HashSeed;
            map.Remove(1);
            Assert.Equal(seed, map.HashSeed);
        }

        [Fact]
        public void Clear_RenewsTheSeed()
        {
            using var map = new GoMap<int, int>(new GoMapOptions { Seed = 78 });
            map[1] = 1;
            ulong seed = map.HashSeed;
            map.Clear();
            Assert.NotEqual(seed, map.HashSeed);
        }

        [Fact]
        public void Clear_OfAnEmptyMap_ChangesNothing()
        {
            // Go's mapclear returns at once when the count is 0: the seed the map took when it
            // emptied stays, and so do its array, its overflow buckets and what waits for release.
            using var map = new GoMap<int, int>(new GoMapOptions { Seed = 80 });
            for (int k = 0; k < 100; k++)
            {
                map[k] = k;
            }

            for (int k = 0; k < 100; k++)
            {
                map.Remove(k);
            }

            ulong seed = map.HashSeed;
            GoMapStats before = map.GetStats();
            map.Clear();
            GoMapStats after = map.GetStats();
            Assert.Equal(seed, map.HashSeed);
            Assert.Equal(before.B, after.B);
            Assert.Equal(before.OverflowBuckets, after.OverflowBuckets);
            Assert.Equal(before.NativeBytes, after.NativeBytes);
            Assert.Empty(map);
            map.Validate();
        }

        [Fact]
        public void Remove_LastEntry_NewSeedPlacesKeysDifferently()
        {
            // The observable side of reseeding: the same keys land in other buckets.
            using var map = new GoMap<int, int>(new GoMapOptions { CapacityHint = GoGrowth.HintFor(8), Seed = 79 });
            int[] Placement()
            {
                var where = new int[200];
                for (int k = 0; k < 200; k++)
                {
                    map[k] = k;
                }

                for (ulong j = 0; j < 256; j++)
                {
                    foreach (IntPtr c in MapInternals<int, int>.Chain(map, j))
                    {
                        for (int i = 0; i < 8; i++)
                        {
                            unsafe
                            {
                                if (((byte*)c)[i] >= 5)
                                {
                                    where[MapInternals<int, int>.Key((byte*)c, i)] = (int)j;
                                }
                            }
                        }
                    }
                }

                for (int k = 0; k < 200; k++)
                {
                    map.Remove(k);
                }

                return where;
            }

            int[] first = Placement();
            int[] second = Placement();
            int moved = 0;
            for (int k = 0; k < 200; k++)
            {
                moved += first[k] != second[k] ? 1 : 0;
            }

            Assert.True(moved > 150, $"only {moved} of 200 keys changed bucket after the map emptied");
        }

        private static unsafe string ChainMarks(GoMap<long, long> map, ulong index)
        {
            var sb = new StringBuilder();
            foreach (IntPtr c in MapInternals<long, long>.Chain(map, index))
            {
                if (sb.Length > 0)
                {
                    sb.Append('|');
                }

                for (int i = 0; i < 8; i++)
                {
                    byte top = ((byte*)c)[i];
                    sb.Append(top >= 5 ? 'L' : (char)('0' + top));
                }
            }

            return sb.ToString();
        }

        /// <summary>A B = 2 map whose keys all hash alike, holding 0..n-1 in slot order in one chain; returns the chain's index.</summary>
        private static unsafe ulong OneChain(GoMap<long, long> map, int n)
        {
            for (long k = 0; k < n; k++)
            {
                map[k] = k * 10;
            }

            Assert.Equal(2, map.GetStats().B);
            for (ulong j = 0; j < 4; j++)
            {
                List<IntPtr> chain = MapInternals<long, long>.Chain(map, j);
                if (((byte*)chain[0])[0] >= 5)
                {
                    for (int s = 0; s < n; s++)
                    {
                        Assert.Equal(s, MapInternals<long, long>.Key((byte*)chain[s / 8], s % 8));
                    }

                    return j;
                }
            }

            throw new InvalidOperationException("no chain holds the keys");
        }

        [Fact]
        public void Remove_MarksSlotsLikeGoMapdelete_EmptyRestFlowsBackAcrossBuckets()
        {
            using var map = new GoMap<long, long>(new GoMapOptions { CapacityHint = GoGrowth.HintFor(2), Seed = 1 }, ConstantHashComparer<long>.Instance);
            map.KeepEmptyOverflowLikeGoForTest(); // Go's marks, with the emptied buckets left linked (OverflowSpareTests: the map's own way)
            ulong j = OneChain(map, 20);
            Assert.Equal("LLLLLLLL|LLLLLLLL|LLLL0000", ChainMarks(map, j));

            void RemoveExpect(long key, string marks)
            {
                Assert.True(map.Remove(key));
                Assert.Equal(marks, ChainMarks(map, j));
                map.Validate();
                MapInternals<long, long>.AssertEmptyRestTails(map);
            }

            RemoveExpect(17, "LLLLLLLL|LLLLLLLL|L1LL0000"); // a live slot follows: emptyOne
            RemoveExpect(19, "LLLLLLLL|LLLLLLLL|L1L00000"); // last live slot: emptyRest
            RemoveExpect(18, "LLLLLLLL|LLLLLLLL|L0000000"); // emptyRest flows back over the emptyOne
            RemoveExpect(16, "LLLLLLLL|LLLLLLLL|00000000"); // ... and stops at the bucket start
            RemoveExpect(15, "LLLLLLLL|LLLLLLL0|00000000"); // slot 7: the next bucket starts with emptyRest
            RemoveExpect(9, "LLLLLLLL|L1LLLLL0|00000000");
            RemoveExpect(11, "LLLLLLLL|L1L1LLL0|00000000");
            RemoveExpect(10, "LLLLLLLL|L111LLL0|00000000");
            RemoveExpect(13, "LLLLLLLL|L111L1L0|00000000");
            RemoveExpect(12, "LLLLLLLL|L11111L0|00000000");
            RemoveExpect(14, "LLLLLLLL|L0000000|00000000");
            RemoveExpect(8, "LLLLLLLL|00000000|00000000");
            for (long k = 0; k < 7; k++)
            {
                Assert.True(map.Remove(k));
            }

            Assert.Equal("1111111L|00000000|00000000", ChainMarks(map, j));
            RemoveExpect(7, "00000000|00000000|00000000"); // back across the whole first bucket
            Assert.Equal(0L, map.LongCount);

            // Go never unlinks overflow buckets on delete (nor does the map when told to keep them).
            Assert.Equal(2, map.GetStats().OverflowBuckets);
        }

        [Fact]
        public void Remove_WithDefaultEquality_MarksSlotsLikeGoMapdelete_EmptyRestFlowsBackAcrossBuckets()
        {
            // The fast remove path (default equality) marks a chain's last bucket with one word
            // store and walks back only when that bucket empties; the other buckets keep the byte loop.
            Assert.True(1 < BucketLayout<long, long>.BeyondL2B);
            RemovesInChainZeroMarkLikeGoMapdelete(1);
        }

        [Fact]
        public void Remove_WithDefaultEquality_InATableBeyondL2_MarksSlotsLikeGoMapdelete()
        {
            // From BeyondL2B up, the fast remove path first takes mapdelete's own test (a slot
            // after it that is not emptyRest: emptyOne, one byte) before the word store: the
            // same marks must result.
            RemovesInChainZeroMarkLikeGoMapdelete(BucketLayout<long, long>.BeyondL2B);
        }

        /// <summary>13 keys in chain 0 of a table of 2^<paramref name="b"/> buckets, removed in an order that meets every marking case.</summary>
        private static void RemovesInChainZeroMarkLikeGoMapdelete(int b)
        {
            using var map = new GoMap<long, long>(new GoMapOptions { CapacityHint = GoGrowth.HintFor(b), Seed = 1 });
            map.KeepEmptyOverflowLikeGoForTest(); // Go's marks, with the emptied bucket left linked
            ulong mask = (1UL << b) - 1;
            var keys = new List<long>();
            for (long k = 0; keys.Count < 13; k++)
            {
                if ((map.DefaultHashForTest(k) & mask) == 0)
                {
                    keys.Add(k); // chain 0
                }
            }

            foreach (long k in keys)
            {
                map[k] = k;
            }

            Assert.Equal(b, map.GetStats().B);
            Assert.Equal("LLLLLLLL|LLLLL000", ChainMarks(map, 0));

            void RemoveExpect(int index, string marks)
            {
                Assert.True(map.Remove(keys[index]));
                Assert.Equal(marks, ChainMarks(map, 0));
                map.Validate();
                MapInternals<long, long>.AssertEmptyRestTails(map);
            }

            RemoveExpect(6, "LLLLLL1L|LLLLL000");  // first bucket, a live slot follows: emptyOne
            RemoveExpect(7, "LLLLLL11|LLLLL000");  // slot 7, the next bucket starts live: emptyOne
            RemoveExpect(9, "LLLLLL11|L1LLL000");  // last bucket, a live slot follows: emptyOne
            RemoveExpect(12, "LLLLLL11|L1LL0000"); // last live slot of the chain: emptyRest
            RemoveExpect(11, "LLLLLL11|L1L00000");
            RemoveExpect(10, "LLLLLL11|L0000000"); // emptyRest flows back over the emptyOne
            RemoveExpect(8, "LLLLLL00|00000000");  // the last bucket empties: on into the first bucket
            RemoveExpect(0, "1LLLLL00|00000000");
            for (int i = 1; i < 5; i++)
            {
                Assert.True(map.Remove(keys[i]));
            }

            Assert.Equal("11111L00|00000000", ChainMarks(map, 0));
            RemoveExpect(5, "00000000|00000000");  // back across the whole first bucket
            Assert.Equal(0L, map.LongCount);
        }

        [Fact]
        public void Insert_ReusesTheFirstFreeSlotOfTheChain()
        {
            using var map = new GoMap<long, long>(new GoMapOptions { CapacityHint = GoGrowth.HintFor(2), Seed = 2 }, ConstantHashComparer<long>.Instance);
            ulong j = OneChain(map, 20);
            map.Remove(13); // bucket 1, slot 5
            map.Remove(3);  // bucket 0, slot 3
            Assert.Equal("LLL1LLLL|LLLLL1LL|LLLL0000", ChainMarks(map, j));
            long allocations = NativeHeap.AllocationCount;

            map[100] = 1;
            Assert.Equal("LLLLLLLL|LLLLL1LL|LLLL0000", ChainMarks(map, j));
            map[101] = 2;
            Assert.Equal("LLLLLLLL|LLLLLLLL|LLLL0000", ChainMarks(map, j));
            map[102] = 3;
            Assert.Equal("LLLLLLLL|LLLLLLLL|LLLLL000", ChainMarks(map, j));

            unsafe
            {
                List<IntPtr> chain = MapInternals<long, long>.Chain(map, j);
                Assert.Equal(100, MapInternals<long, long>.Key((byte*)chain[0], 3));
                Assert.Equal(101, MapInternals<long, long>.Key((byte*)chain[1], 5));
                Assert.Equal(102, MapInternals<long, long>.Key((byte*)chain[2], 4));
            }

            Assert.Equal(allocations, NativeHeap.AllocationCount);
            Assert.Equal(2, map.GetStats().OverflowBuckets);
            map.Validate();
        }

        [Fact]
        public void Insert_AfterRemove_InAFullSingleBucket_NeedsNoOverflowBucket()
        {
            using var map = new GoMap<int, int>();
            for (int k = 0; k < 8; k++)
            {
                map[k] = k;
            }

            map.Remove(4);
            long allocations = NativeHeap.AllocationCount;
            map[100] = 100;
            Assert.Equal(allocations, NativeHeap.AllocationCount);
            Assert.Equal(0, map.GetStats().OverflowBuckets);
            Assert.Equal(0, map.GetStats().B);
            Assert.Equal(8L, map.LongCount);
        }

        // ---- differential runs against Dictionary ----

        [Fact]
        public void Differential_IntInt_AgreesWithDictionary()
        {
            Seeded.Run(seed =>
            {
                // Up to B = 10: 4 → 6 → 8 → 9 → 10 seen growing (0 → 2 and 2 → 4 end in the write
                // that starts them: four old buckets at most).
                Summary s = new Differential<int, int>(i => (int)(i * 2654435761u), v => (int)v) { KeySpace = 6000, Ops = 350_000 }.Run(seed);
                Assert.True(s.Growths >= 4, s.ToString());
            });
        }

        [Fact]
        public void Differential_LongLong_AgreesWithDictionary()
        {
            Seeded.Run(seed =>
            {
                Summary s = new Differential<long, long>(i => ((long)i << 33) ^ i, v => v) { KeySpace = 20_000, Ops = 300_000 }.Run(seed);
                Assert.True(s.MaxB >= 11, s.ToString());
            });
        }

        [Fact]
        public void Differential_LongLong_InATableBeyondL2_AgreesWithDictionary()
        {
            // Removes in a table of BeyondL2B take mapdelete's own test first (DeleteFast).
            Seeded.Run(seed =>
            {
                int b = BucketLayout<long, long>.BeyondL2B;
                Summary s = new Differential<long, long>(i => ((long)i << 33) ^ i, v => v)
                {
                    KeySpace = 20_000,
                    Ops = 300_000,
                    CapacityHint = GoGrowth.HintFor(b),
                }.Run(seed);
                Assert.True(s.MaxB >= b, s.ToString());
            });
        }

        [Fact]
        public void Differential_16ByteStructKey_AgreesWithDictionary()
        {
            Seeded.Run(seed =>
            {
                new Differential<Key16, long>(Key16.Of, v => v) { KeySpace = 5000, Ops = 150_000 }.Run(seed);
            });
        }

        [Fact]
        public void Differential_3ByteKey_AgreesWithDictionary()
        {
            Seeded.Run(seed =>
            {
                new Differential<Key3, int>(i => Key3.Of(i * 40503), v => (int)v) { KeySpace = 3000, Ops = 60_000 }.Run(seed);
            });
        }

        [Fact]
        public void Differential_200ByteKeyAnd200ByteValue_BothIndirect_AgreeWithDictionary()
        {
            Seeded.Run(seed =>
            {
                new Differential<Blob200, Blob200>(i => Blob200.Of(i), v => Blob200.Of(v & 0xFFFF_FFFF))
                {
                    KeySpace = 2000,
                    Ops = 60_000,
                    ModelComparer = Blob200Comparer.Instance,
                    Values = Blob200Comparer.Instance,
                }.Run(seed);
            });
        }

        [Fact]
        public void Differential_FourHashesOnly_LongChains_AgreeWithDictionary()
        {
            Seeded.Run(seed =>
            {
                Summary s = new Differential<int, int>(i => i, v => (int)v) { KeySpace = 400, Ops = 80_000, MapComparer = new ModuloComparer(4) }.Run(seed);
                Assert.True(s.MaxOverflow >= 20, s.ToString());
            });
        }

        [Fact]
        public void Differential_SixtyFourHashes_AgreeWithDictionary()
        {
            Seeded.Run(seed =>
            {
                Summary s = new Differential<int, int>(i => i, v => (int)v) { KeySpace = 3000, Ops = 100_000, MapComparer = new ModuloComparer(64) }.Run(seed);
                Assert.True(s.MaxOverflow >= 64, s.ToString());
            });
        }

        [Fact]
        public void Differential_SlidingCollisionGroups_SameSizeGrowths_AgreeWithDictionary()
        {
            Seeded.Run(seed =>
            {
                Summary s = new Differential<int, int>(i => i, v => (int)v)
                {
                    KeySpace = 400,
                    Ops = 150_000,
                    SlideEvery = 2,
                    MapComparer = new GroupComparer(5),
                    KeepEmptyOverflowLikeGo = true,
                }.Run(seed);
                Assert.True(s.SameSizeGrowths >= 1, s.ToString());
            });
        }

        /// <summary>What a differential run went through.</summary>
        private readonly record struct Summary(long Growths, long SameSizeGrowths, int MaxB, long MaxOverflow, long Clears);

        /// <summary>
        /// One random operation sequence applied to a map and a Dictionary model, compared after
        /// every operation, with Validate and a full comparison at checkpoints. Keys come from a
        /// space of <see cref="KeySpace"/> indexes (optionally a window sliding over the integers);
        /// fill and drain phases alternate so the map grows, shrinks in count and grows again.
        /// </summary>
        private sealed class Differential<TKey, TValue>
            where TKey : unmanaged
            where TValue : unmanaged
        {
            private readonly Func<int, TKey> _keyOf;
            private readonly Func<long, TValue> _valueOf;

            public Differential(Func<int, TKey> keyOf, Func<long, TValue> valueOf)
            {
                _keyOf = keyOf;
                _valueOf = valueOf;
            }

            public int KeySpace { get; init; } = 1000;

            public int Ops { get; init; } = 100_000;

            public int CheckEvery { get; init; } = 20_000;

            public int ClearOneIn { get; init; } = 40_000;

            /// <summary>When non-zero, the key window moves up by one every this many operations and the key leaving it is removed.</summary>
            public int SlideEvery { get; init; }

            public IEqualityComparer<TKey>? MapComparer { get; init; }

            public IEqualityComparer<TKey>? ModelComparer { get; init; }

            public IEqualityComparer<TValue> Values { get; init; } = EqualityComparer<TValue>.Default;

            /// <summary>The map's capacity hint (0: none), e.g. to start at a given B.</summary>
            public long CapacityHint { get; init; }

            /// <summary>Whether the map leaves emptied overflow buckets linked, as Go's mapdelete does (KeepEmptyOverflowLikeGoForTest), so that they can pile up into same-size growths.</summary>
            public bool KeepEmptyOverflowLikeGo { get; init; }

            public Summary Run(int seed)
            {
                var rng = new Random(seed);
                using var map = new GoMap<TKey, TValue>(new GoMapOptions { Seed = (ulong)seed, CapacityHint = CapacityHint }, MapComparer);
                if (KeepEmptyOverflowLikeGo)
                {
                    map.KeepEmptyOverflowLikeGoForTest();
                }
                var model = new Dictionary<TKey, TValue>(ModelComparer ?? MapComparer);
                long growths = 0, sameSize = 0, clears = 0, maxOverflow = 0;
                int maxB = 0;
                bool wasGrowing = false, wasSameSize = false;
                int windowBase = 0;
                int phaseLength = KeySpace * 2;

                for (int op = 0; op < Ops; op++)
                {
                    if (SlideEvery != 0 && op % SlideEvery == 0 && op > 0)
                    {
                        TKey leaving = _keyOf(windowBase);
                        Assert.Equal(model.Remove(leaving), map.Remove(leaving));
                        windowBase++;
                    }

                    TKey k = _keyOf(windowBase + rng.Next(KeySpace));
                    TValue v = _valueOf(rng.NextInt64());
                    bool draining = (op / phaseLength) % 2 == 1;
                    int r = rng.Next(100);
                    if (r < 40 && draining && rng.Next(10) < 7)
                    {
                        r = 40 + rng.Next(12); // turn an insert into a remove
                    }

                    bool present = model.TryGetValue(k, out TValue expected);
                    switch (r)
                    {
                        case < 20:
                            map[k] = v;
                            model[k] = v;
                            break;
                        case < 28:
                            Assert.Equal(!present, map.TryAdd(k, v));
                            model.TryAdd(k, v);
                            break;
                        case < 32:
                            if (!present)
                            {
                                map.Add(k, v);
                                model.Add(k, v);
                            }
                            else if (rng.Next(20) == 0)
                            {
                                Assert.Throws<ArgumentException>(() => map.Add(k, v));
                            }

                            break;
                        case < 40:
                        {
                            ref TValue slot = ref map.GetValueRefOrAddDefault(k, out bool exists);
                            Assert.Equal(present, exists);
                            Assert.True(Values.Equals(present ? expected : default, slot));
                            slot = v;
                            model[k] = v;
                            break;
                        }

                        case < 48:
                            Assert.Equal(model.Remove(k), map.Remove(k));
                            break;
                        case < 52:
                        {
                            Assert.Equal(present, map.Remove(k, out TValue removed));
                            Assert.True(Values.Equals(present ? expected : default, removed));
                            model.Remove(k);
                            break;
                        }

                        case < 67:
                        {
                            Assert.Equal(present, map.TryGetValue(k, out TValue got));
                            Assert.True(Values.Equals(present ? expected : default, got));
                            break;
                        }

                        case < 72:
                            if (present)
                            {
                                Assert.True(Values.Equals(expected, map[k]));
                            }
                            else if (rng.Next(20) == 0)
                            {
                                Assert.Throws<KeyNotFoundException>(() => map[k]);
                            }

                            break;
                        case < 77:
                            Assert.Equal(present, map.ContainsKey(k));
                            break;
                        case < 82:
                            Assert.True(Values.Equals(present ? expected : default, map.GetValueOrDefault(k)));
                            break;
                        case < 89:
                        {
                            ref TValue slot = ref map.GetValueRefOrNullRef(k);
                            Assert.Equal(present, !Unsafe.IsNullRef(ref slot));
                            if (present)
                            {
                                Assert.True(Values.Equals(expected, slot));
                                slot = v;
                                model[k] = v;
                            }

                            break;
                        }

                        default:
                            Assert.Equal(model.Count, map.LongCount);
                            break;
                    }

                    if (rng.Next(ClearOneIn) == 0)
                    {
                        map.Clear();
                        model.Clear();
                        clears++;
                    }

                    GoMapStats s = map.GetStats();
                    growths += s.IsGrowing && !wasGrowing ? 1 : 0;
                    sameSize += s.IsSameSizeGrow && !wasSameSize ? 1 : 0;
                    wasGrowing = s.IsGrowing;
                    wasSameSize = s.IsSameSizeGrow;
                    maxB = Math.Max(maxB, s.B);
                    maxOverflow = Math.Max(maxOverflow, s.OverflowBuckets);

                    if (op % CheckEvery == CheckEvery - 1)
                    {
                        Check(map, model);
                    }
                }

                Check(map, model);
                MapAssert.EnumeratesAs(map, model, ModelComparer ?? MapComparer, Values);
                return new Summary(growths, sameSize, maxB, maxOverflow, clears);
            }

            private void Check(GoMap<TKey, TValue> map, Dictionary<TKey, TValue> model)
            {
                map.Validate();
                MapInternals<TKey, TValue>.AssertEmptyRestTails(map);
                MapAssert.SameEntries(map, model, Values);
                Assert.Equal(model.Count, map.GetStats().Count);
            }
        }
    }
}
