using System;
using System.Numerics;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// The integer arithmetic of the map: bucket counts, masks, addresses and array sizes stay
    /// exact in 64 bits for B = 31..40 (where 32-bit arithmetic would wrap), the load-factor rule,
    /// the SWAR helpers that read and mark tophash words, and the key searches' tophash match.
    /// No bucket memory is touched: bucket addresses are computed from a fake base pointer and
    /// never dereferenced (the match reads a word on the test's stack).
    /// </summary>
    public class ArithmeticTests
    {
        private static readonly unsafe byte* FakeBase = (byte*)0x0000_1000_0000_0000UL;

        public static TheoryData<int> LargeB()
        {
            var data = new TheoryData<int>();
            for (int b = 31; b <= 40; b++)
            {
                data.Add(b);
            }

            return data;
        }

        [Theory]
        [MemberData(nameof(LargeB))]
        public void BucketShiftAndMask_LargeB_AreExact64BitValues(int b)
        {
            BigInteger two = BigInteger.Pow(2, b);
            Assert.Equal(two, (BigInteger)MapMath.BucketShift(b));
            Assert.Equal(two - 1, (BigInteger)MapMath.BucketMask(b));
            Assert.True(MapMath.BucketShift(b) > int.MaxValue);
        }

        [Theory]
        [MemberData(nameof(LargeB))]
        public void ArrayBucketCount_LargeB_AddsOneSixteenthForPreallocatedOverflow(int b)
        {
            BigInteger expected = BigInteger.Pow(2, b) + BigInteger.Pow(2, b - 4);
            Assert.Equal(expected, (BigInteger)MapMath.ArrayBucketCount(b));
        }

        [Theory]
        [InlineData(0, 1UL)]
        [InlineData(1, 2UL)]
        [InlineData(2, 4UL)]
        [InlineData(3, 8UL)]
        [InlineData(4, 17UL)]
        [InlineData(5, 34UL)]
        [InlineData(8, 272UL)]
        public void ArrayBucketCount_SmallB_HasOverflowTailFromBFour(int b, ulong expected) =>
            Assert.Equal(expected, MapMath.ArrayBucketCount(b));

        [Theory]
        [MemberData(nameof(LargeB))]
        public unsafe void BucketAddress_LargeB_Uses64BitOffsets(int b)
        {
            ulong last = MapMath.BucketShift(b) - 1;
            AssertBucketOffset<long, long>(last, 144);
            AssertBucketOffset<Bytes128, long>(last, 1104);
            AssertBucketOffset<long, Blob200>(last, 144);
            AssertBucketOffset<Key3, int>(last, 72);

            // The preallocated overflow tail lies beyond 2^B buckets.
            ulong tailEnd = MapMath.ArrayBucketCount(b);
            AssertBucketOffset<Bytes128, long>(tailEnd, 1104);
        }

        private static unsafe void AssertBucketOffset<TKey, TValue>(ulong index, int bucketSize)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            byte* p = BucketLayout<TKey, TValue>.Bucket(FakeBase, index);
            BigInteger expected = (BigInteger)(ulong)FakeBase + ((BigInteger)index * bucketSize);
            Assert.Equal(expected, (BigInteger)(ulong)p);
        }

        [Theory]
        [MemberData(nameof(LargeB))]
        public void ArrayBytes_LargeB_IsExact(int b)
        {
            BigInteger buckets = BigInteger.Pow(2, b) + BigInteger.Pow(2, b - 4);
            Assert.Equal(buckets * 144, (BigInteger)BucketLayout<long, long>.ArrayBytes(b)!.Value);
            Assert.Equal(buckets * 1104, (BigInteger)BucketLayout<Bytes128, long>.ArrayBytes(b)!.Value);
            Assert.Equal(buckets * 72, (BigInteger)BucketLayout<Key3, int>.ArrayBytes(b)!.Value);
        }

        [Fact]
        public void ArrayBytes_IsNullExactlyWhenTheSizeOverflows64Bits()
        {
            for (int b = 31; b <= 63; b++)
            {
                BigInteger buckets = BigInteger.Pow(2, b) + (b >= 4 ? BigInteger.Pow(2, b - 4) : 0);
                CheckOverflow(BucketLayout<long, long>.ArrayBytes(b), buckets * 144, b);
                CheckOverflow(BucketLayout<Bytes128, long>.ArrayBytes(b), buckets * 1104, b);
                CheckOverflow(BucketLayout<byte, byte>.ArrayBytes(b), buckets * 32, b);
            }

            static void CheckOverflow(ulong? actual, BigInteger exact, int b)
            {
                if (exact > ulong.MaxValue)
                {
                    Assert.True(actual is null, $"B={b}: {exact} bytes do not fit in 64 bits, got {actual}");
                }
                else
                {
                    Assert.Equal(exact, (BigInteger)actual!.Value);
                }
            }
        }

        [Theory]
        [InlineData(58)]
        [InlineData(59)]
        [InlineData(60)]
        [InlineData(61)]
        [InlineData(62)]
        [InlineData(63)]
        public void LoadFactorArithmetic_AgreesWithExactIntegers_UpToB63(int b)
        {
            // Found by review: 13 * 2^(B-1) overflowed 64 bits from B = 61 (MaxCountBeforeGrowth
            // then said 8) and B = 62 (OverLoadFactor wrapped).
            BigInteger limit = 13 * (BigInteger.One << (b - 1));
            long expectedMax = limit > long.MaxValue ? long.MaxValue : (long)limit;
            Assert.Equal(expectedMax, MapMath.MaxCountBeforeGrowth(b));
            foreach (long count in new[] { long.MaxValue, long.MaxValue - 1, 1L << 62, (long)BigInteger.Min(limit, long.MaxValue) })
            {
                Assert.Equal(count > limit, MapMath.OverLoadFactor(count, b));
            }

            if (limit < long.MaxValue)
            {
                Assert.True(MapMath.OverLoadFactor((long)limit + 1, b));
            }
        }

        [Fact]
        public void OverLoadFactor_AtB40_ThresholdIs13Times2To39()
        {
            long limit = 13L << 39; // 6.5 * 2^40
            Assert.False(MapMath.OverLoadFactor(limit, 40));
            Assert.True(MapMath.OverLoadFactor(limit + 1, 40));
        }

        [Theory]
        [MemberData(nameof(LargeB))]
        public void BForHint_LargeHints_AreExact(int b)
        {
            long fits = 13L << (b - 1);
            Assert.Equal(b, MapMath.BForHint(fits));
            Assert.Equal(b + 1, MapMath.BForHint(fits + 1));
        }

        [Theory]
        [MemberData(nameof(GoGrowth.HintToB), MemberType = typeof(GoGrowth))]
        public void BForHint_MatchesGoMakemap(long hint, int expectedB)
        {
            Assert.Equal(expectedB, MapMath.BForHint(hint));
            Assert.Equal(expectedB, GoGrowth.BForHint(hint));
        }

        [Fact]
        public void OverLoadFactor_MatchesGoForAllSmallCounts()
        {
            for (int b = 0; b <= 20; b++)
            {
                for (long count = 0; count <= 20; count++)
                {
                    Assert.Equal(GoGrowth.OverLoad(count, b), MapMath.OverLoadFactor(count, b));
                }

                long edge = 13L * (1L << b) / 2;
                Assert.Equal(GoGrowth.OverLoad(edge, b), MapMath.OverLoadFactor(edge, b));
                Assert.Equal(GoGrowth.OverLoad(edge + 1, b), MapMath.OverLoadFactor(edge + 1, b));
            }
        }

        [Fact]
        public void TooManyOverflowBuckets_ThresholdIs2ToBCappedAt2To15()
        {
            for (int b = 0; b <= 40; b++)
            {
                int threshold = 1 << Math.Min(b, 15);
                Assert.False(MapMath.TooManyOverflowBuckets(threshold - 1, b), $"B={b}");
                Assert.True(MapMath.TooManyOverflowBuckets(threshold, b), $"B={b}");
            }
        }

        [Fact]
        public void TopHash_IsTheTopByteMovedClearOfTheMarks()
        {
            for (int top = 0; top < 256; top++)
            {
                ulong hash = ((ulong)top << 56) | 0x00FF_FFFF_FFFF_FFFFUL;
                byte expected = top < 5 ? (byte)(top + 5) : (byte)top;
                Assert.Equal(expected, MapMath.TopHash(hash));
                Assert.Equal(expected, MapMath.TopHash((ulong)top << 56));
            }
        }

        [Fact]
        public void LowestBit_IsTheIndexOfTheLowestSetBit_And64ForNone()
        {
            Assert.Equal((nuint)64, MapMath.LowestBit(0));
            for (int bit = 0; bit < 64; bit++)
            {
                Assert.Equal((nuint)bit, MapMath.LowestBit(1UL << bit));
                Assert.Equal((nuint)bit, MapMath.LowestBit(ulong.MaxValue << bit)); // higher bits set too
            }
        }

        // ---- SWAR helpers: exact for every byte value in every slot ----

        private static ulong WithByte(ulong background, int slot, byte value) =>
            (background & ~(0xFFUL << (slot * 8))) | ((ulong)value << (slot * 8));

        private static readonly ulong[] Backgrounds =
        {
            0x0000000000000000UL, // all emptyRest: maximal borrow chains
            0x0101010101010101UL, // all emptyOne
            0xFFFFFFFFFFFFFFFFUL,
            0x8080808080808080UL,
            0x7F7F7F7F7F7F7F7FUL,
            0x0504030201000506UL, // marks and the smallest live tophash, mixed
            0x05050505050505FFUL,
        };

        [Fact]
        public void MatchTopHash_IsExactForEveryByteValueInEverySlot()
        {
            // Every probe byte against every byte value in every slot, over backgrounds that
            // provoke borrows; then neighbours one above and below the probe in all other slots.
            long checks = 0;
            for (int top = 0; top < 256; top++)
            {
                foreach (ulong background in Backgrounds)
                {
                    for (int slot = 0; slot < 8; slot++)
                    {
                        for (int v = 0; v < 256; v++)
                        {
                            ulong word = WithByte(background, slot, (byte)v);
                            ulong actual = MapMath.MatchTopHash(word, (byte)top);
                            if (actual != Reference.Match(word, (byte)top))
                            {
                                Assert.Fail($"MatchTopHash(0x{word:X16}, {top}) = 0x{actual:X16}, expected 0x{Reference.Match(word, (byte)top):X16}");
                            }

                            checks++;
                        }
                    }
                }

                for (int slot = 0; slot < 8; slot++)
                {
                    ulong above = WithByte((ulong)(byte)(top + 1) * 0x0101010101010101UL, slot, (byte)top);
                    ulong below = WithByte((ulong)(byte)(top - 1) * 0x0101010101010101UL, slot, (byte)top);
                    Assert.Equal(0x80UL << (slot * 8), MapMath.MatchTopHash(above, (byte)top));
                    Assert.Equal(0x80UL << (slot * 8), MapMath.MatchTopHash(below, (byte)top));
                }
            }

            Assert.Equal(256L * Backgrounds.Length * 8 * 256, checks);
        }

        [Fact]
        public unsafe void MatchTopHashAndEnd_SetsCandidatesInTheLowByteAndEmptyRestSlotsInTheNext()
        {
            // The key searches' match and chain-end test from one load (a duplicated vector compare
            // where accelerated, as on the test machines; the netstandard2.1 suite runs the word
            // arithmetic): bit i where slot i holds the tophash, bit 8 + i where slot i is
            // emptyRest (0), nothing above. Random words built mostly from the probe byte, its
            // neighbours and the marks.
            ForEachProbeWord((word, top) =>
            {
                uint expected = Reference.SlotBits(Reference.Match(word, top)) | (Reference.SlotBits(Reference.Match(word, 0)) << 8);
                uint actual = MapMath.MatchTopHashAndEnd(&word, top);
                if (actual != expected)
                {
                    Assert.Fail($"MatchTopHashAndEnd(0x{word:X16}, {top}) = 0x{actual:X4}, expected 0x{expected:X4}");
                }

                Assert.Equal(Reference.SlotBits(Reference.Match(word, top)) != 0, MapMath.HasCandidate(actual));
                Assert.Equal(Reference.Match(word, 0) != 0, MapMath.ChainEnds(actual));
            });
        }

        [Fact]
        public unsafe void MatchForInsert_AddsTheEmptySlotsToMatchTopHashAndEnd()
        {
            // The insert search's mask: MatchTopHashAndEnd's, and bit i of empty where slot i is
            // emptyRest (0) or emptyOne (1), nothing above bit 7.
            ForEachProbeWord((word, top) =>
            {
                uint actual = MapMath.MatchForInsert(&word, top, out uint empty);
                uint expectedEmpty = Reference.SlotBits(Reference.Empty(word));
                if (actual != MapMath.MatchTopHashAndEnd(&word, top) || empty != expectedEmpty)
                {
                    Assert.Fail($"MatchForInsert(0x{word:X16}, {top}) = 0x{actual:X4}, empty 0x{empty:X2}; expected 0x{MapMath.MatchTopHashAndEnd(&word, top):X4}, empty 0x{expectedEmpty:X2}");
                }
            });
        }

        [Fact]
        public unsafe void EmptySlotBits_SetsBitIWhereSlotIIsEmptyRestOrEmptyOne()
        {
            // The insert search's free slots, asked for after the key was not found: bit i where
            // slot i is emptyRest (0) or emptyOne (1), nothing above bit 7.
            ForEachProbeWord((word, _) =>
            {
                uint actual = MapMath.EmptySlotBits(&word);
                uint expected = Reference.SlotBits(Reference.Empty(word));
                if (actual != expected)
                {
                    Assert.Fail($"EmptySlotBits(0x{word:X16}) = 0x{actual:X2}; expected 0x{expected:X2}");
                }
            });
        }

        /// <summary>
        /// Runs <paramref name="check"/> on 200,000 seeded (<see cref="ProbeWord"/>, probe byte)
        /// pairs per seed; the probe byte is a tophash, never 0.
        /// </summary>
        private static void ForEachProbeWord(Action<ulong, byte> check)
        {
            Seeded.Run(seed =>
            {
                var rng = new Random(seed);
                for (int n = 0; n < 200_000; n++)
                {
                    byte top = (byte)rng.Next(1, 256);
                    check(ProbeWord(rng, top), top);
                }
            });
        }

        /// <summary>
        /// A random tophash word for the key searches' masks, built mostly from the probe byte
        /// <paramref name="top"/>, its neighbour, and the marks (emptyRest and emptyOne twice as
        /// often as the other interesting bytes).
        /// </summary>
        private static ulong ProbeWord(Random rng, byte top)
        {
            byte[] interesting = { 0, 0, 1, 1, 2, 3, 4, 5, 6, 0x7F, 0x80, 0x81, 0xFE, 0xFF };
            ulong word = 0;
            for (int i = 0; i < 8; i++)
            {
                int pick = rng.Next(4);
                byte b = pick == 0 ? top : pick == 1 ? (byte)(top ^ 1) : pick == 2 ? (byte)rng.Next(256) : interesting[rng.Next(interesting.Length)];
                word |= (ulong)b << (i * 8);
            }

            return word;
        }

        [Fact]
        public void GatherSlotFlags_MovesEachSlotsFlagToBitI_ForAll256Masks()
        {
            // The fallback of MatchTopHashAndEnd and MatchForInsert without vectors: every combination of 0x80 flags.
            for (int bits = 0; bits < 256; bits++)
            {
                ulong mask = 0;
                for (int i = 0; i < 8; i++)
                {
                    if ((bits & (1 << i)) != 0)
                    {
                        mask |= 0x80UL << (i * 8);
                    }
                }

                Assert.Equal((uint)bits, MapMath.GatherSlotFlags(mask));
            }
        }

        [Fact]
        public void TryMarkDeleted_MatchesMapdeletesBytewiseMarking()
        {
            // Every chain-shaped word (live slots, emptyOne, then an emptyRest tail) and every live
            // slot below 7: the one-store marking must equal mapdelete's byte loop, or decline
            // exactly when that loop would walk into the previous bucket.
            byte[] kinds = { 1, 5, 0x9C }; // emptyOne, and two live tophash values
            long checks = 0;
            for (int tail = 0; tail <= 8; tail++)
            {
                int lead = 8 - tail;
                int combos = (int)Math.Pow(kinds.Length, lead);
                for (int c = 0; c < combos; c++)
                {
                    var bytes = new byte[8];
                    for (int i = 0, x = c; i < lead; i++, x /= kinds.Length)
                    {
                        bytes[i] = kinds[x % kinds.Length];
                    }

                    for (int slot = 0; slot < Math.Min(lead, 7); slot++)
                    {
                        if (bytes[slot] < MapMath.MinTopHash)
                        {
                            continue;
                        }

                        foreach (bool first in new[] { true, false })
                        {
                            ulong word = BitConverter.ToUInt64(bytes, 0);
                            (ulong expected, bool crossesBucket) = Reference.MarkDeleted(bytes, slot);
                            bool done = MapMath.TryMarkDeleted(ref word, slot, first);
                            if (crossesBucket && !first)
                            {
                                Assert.False(done);
                                Assert.Equal(BitConverter.ToUInt64(bytes, 0), word);
                            }
                            else
                            {
                                Assert.True(done);
                                Assert.Equal(expected, word);
                            }

                            checks++;
                        }
                    }
                }
            }

            Assert.True(checks > 10_000);
        }

        [Fact]
        public void MarkDeletedInLastBucket_MatchesMapdeletesBytewiseMarking()
        {
            // Every word a chain's last bucket can hold (live slots and emptyOne, the last of them
            // live, then an emptyRest tail) and every live slot, 7 included: the one-word marking
            // must equal mapdelete's byte loop with no bucket after this one, and be zero exactly
            // when that loop would walk on into the previous bucket.
            byte[] kinds = { 1, 5, 0x9C, 0xFF }; // emptyOne, and live tophash values
            long checks = 0;
            for (int lead = 1; lead <= 8; lead++)
            {
                int combos = (int)Math.Pow(kinds.Length, lead);
                for (int c = 0; c < combos; c++)
                {
                    var bytes = new byte[8];
                    for (int i = 0, x = c; i < lead; i++, x /= kinds.Length)
                    {
                        bytes[i] = kinds[x % kinds.Length];
                    }

                    if (bytes[lead - 1] < MapMath.MinTopHash)
                    {
                        continue; // a last bucket never ends in emptyOne
                    }

                    for (int slot = 0; slot < lead; slot++)
                    {
                        if (bytes[slot] < MapMath.MinTopHash)
                        {
                            continue;
                        }

                        (ulong expected, bool crossesBucket) = Reference.MarkDeletedInLastBucket(bytes, slot);
                        ulong word = MapMath.MarkDeletedInLastBucket(BitConverter.ToUInt64(bytes, 0), slot, bytes[slot]);
                        Assert.Equal(expected, word);
                        Assert.Equal(crossesBucket, word == 0);
                        checks++;
                    }
                }
            }

            Assert.True(checks > 50_000);
        }

        [Fact]
        public void KeepSlots_KeepsTheFlaggedBytes_EmptyOneBelowTheLastKept_EmptyRestAfter()
        {
            // A doubling's split of a one-bucket chain: every live tophash value in every slot,
            // every set of slots kept (all 256), against a byte loop.
            var rng = new Random(20261202);
            for (int round = 0; round < 200; round++)
            {
                var bytes = new byte[8];
                for (int i = 0; i < 8; i++)
                {
                    bytes[i] = (byte)rng.Next(MapMath.MinTopHash, 256);
                }

                ulong word = BitConverter.ToUInt64(bytes, 0);
                for (int set = 0; set < 256; set++)
                {
                    ulong keep = 0;
                    int last = -1;
                    for (int i = 0; i < 8; i++)
                    {
                        if ((set & (1 << i)) != 0)
                        {
                            keep |= 0x80UL << (i * 8);
                            last = i;
                        }
                    }

                    var expected = new byte[8];
                    for (int i = 0; i < 8; i++)
                    {
                        expected[i] = (set & (1 << i)) != 0 ? bytes[i] : i < last ? MapMath.EmptyOne : MapMath.EmptyRest;
                    }

                    Assert.Equal(BitConverter.ToUInt64(expected, 0), MapMath.KeepSlots(word, keep));
                }
            }
        }

        [Fact]
        public void SwarHelpers_AgreeWithBytewiseReferenceOnRandomWords()
        {
            Seeded.Run(seed =>
            {
                var rng = new Random(seed);
                byte[] interesting = { 0, 1, 2, 3, 4, 5, 6, 0x7F, 0x80, 0x81, 0xFE, 0xFF };
                for (int n = 0; n < 200_000; n++)
                {
                    ulong word = 0;
                    for (int i = 0; i < 8; i++)
                    {
                        byte b = rng.Next(3) == 0 ? (byte)rng.Next(256) : interesting[rng.Next(interesting.Length)];
                        word |= (ulong)b << (i * 8);
                    }

                    byte top = (byte)rng.Next(256);
                    Assert.Equal(Reference.Match(word, top), MapMath.MatchTopHash(word, top));
                    Assert.Equal(Reference.Empty(word), MapMath.MatchEmpty(word));
                    Assert.Equal(Reference.HasZero(word), MapMath.HasEmptyRest(word));
                    Assert.Equal(Reference.Live(word), MapMath.CountLive(word));
                }
            });
        }

        [Fact]
        public void MatchEmpty_CountLive_HasEmptyRest_AreExactForEveryByteValueInEverySlot()
        {
            foreach (ulong background in Backgrounds)
            {
                for (int slot = 0; slot < 8; slot++)
                {
                    for (int v = 0; v < 256; v++)
                    {
                        ulong word = WithByte(background, slot, (byte)v);
                        Assert.Equal(Reference.Empty(word), MapMath.MatchEmpty(word));
                        Assert.Equal(Reference.Live(word), MapMath.CountLive(word));
                        Assert.Equal(Reference.HasZero(word), MapMath.HasEmptyRest(word));
                    }
                }
            }
        }

        [Fact]
        public unsafe void LiveSlotBits_SetsBitIExactlyWhereSlotIIsLive_ForEveryByteValueInEverySlot()
        {
            // The iteration's group masks: bit i for a tophash of minTopHash (5) or more in slot i.
            foreach (ulong background in Backgrounds)
            {
                for (int slot = 0; slot < 8; slot++)
                {
                    for (int v = 0; v < 256; v++)
                    {
                        ulong word = WithByte(background, slot, (byte)v);
                        uint expected = 0;
                        for (int i = 0; i < 8; i++)
                        {
                            expected |= (byte)(word >> (i * 8)) >= MapMath.MinTopHash ? 1u << i : 0;
                        }

                        Assert.Equal(expected, MapMath.LiveSlotBits(&word));
                    }
                }
            }
        }

        [Fact]
        public void RotateSlotBits_RotatesEveryByteIntoTheIterationsOrder_ForEveryOffset()
        {
            // Bit i of each byte of the result is bit (i + offset) mod 8 of the same byte before.
            var rng = new Random(20261201);
            for (int round = 0; round < 200; round++)
            {
                ulong bits = (ulong)rng.NextInt64() ^ ((ulong)rng.Next() << 63);
                for (int offset = 0; offset < 8; offset++)
                {
                    ulong expected = 0;
                    for (int b = 0; b < 8; b++)
                    {
                        uint x = (uint)(bits >> (b * 8)) & 0xFF;
                        for (int i = 0; i < 8; i++)
                        {
                            expected |= (ulong)((x >> ((i + offset) & 7)) & 1) << ((b * 8) + i);
                        }
                    }

                    Assert.True(expected == MapMath.RotateSlotBits(bits, offset), $"bits {bits:X16}, offset {offset}");
                }
            }
        }

        [Fact]
        public void CountLive_CountsTopHashesOfFiveAndAbove()
        {
            Assert.Equal(0, MapMath.CountLive(0x0404030302020101UL));
            Assert.Equal(8, MapMath.CountLive(0x0505050505050505UL));
            Assert.Equal(8, MapMath.CountLive(0xFFFFFFFFFFFFFFFFUL));
            Assert.Equal(3, MapMath.CountLive(0x0000000000FF8005UL));
        }

        [Fact]
        public void HasEmptyRest_FindsAZeroByteInAnySlot_AndOnlyThen()
        {
            for (int slot = 0; slot < 8; slot++)
            {
                Assert.True(MapMath.HasEmptyRest(WithByte(0x0101010101010101UL, slot, 0)));
                Assert.True(MapMath.HasEmptyRest(WithByte(0xFFFFFFFFFFFFFFFFUL, slot, 0)));
                Assert.False(MapMath.HasEmptyRest(WithByte(0x0101010101010101UL, slot, 0x80)));
            }

            // A zero below a 0x01 borrows into it; the answer is still just "there is a zero".
            Assert.True(MapMath.HasEmptyRest(0x0101010101010100UL));
            Assert.False(MapMath.HasEmptyRest(0x0101010101010101UL));
        }

        [Fact]
        public void FirstSlot_IsTheLowestMatchingSlot()
        {
            for (int slot = 0; slot < 8; slot++)
            {
                ulong mask = 0x80UL << (slot * 8);
                Assert.Equal(slot, MapMath.FirstSlot(mask));
                Assert.Equal(slot, MapMath.FirstSlot(mask | 0x8000000000000000UL));
            }
        }

        /// <summary>Byte-at-a-time definitions of the SWAR helpers.</summary>
        private static class Reference
        {
            internal static ulong Match(ulong word, byte top)
            {
                ulong m = 0;
                for (int i = 0; i < 8; i++)
                {
                    if ((byte)(word >> (i * 8)) == top)
                    {
                        m |= 0x80UL << (i * 8);
                    }
                }

                return m;
            }

            /// <summary>A 0x80-per-slot mask as bits 0..7, slot by slot.</summary>
            internal static uint SlotBits(ulong mask)
            {
                uint bits = 0;
                for (int i = 0; i < 8; i++)
                {
                    if (((mask >> (i * 8)) & 0x80) != 0)
                    {
                        bits |= 1u << i;
                    }
                }

                return bits;
            }

            internal static ulong Empty(ulong word)
            {
                ulong m = 0;
                for (int i = 0; i < 8; i++)
                {
                    if ((byte)(word >> (i * 8)) <= 1)
                    {
                        m |= 0x80UL << (i * 8);
                    }
                }

                return m;
            }

            /// <summary>
            /// mapdelete's marking within one bucket, byte by byte; true when it would go on into the
            /// previous bucket. In the last bucket of a chain (<paramref name="lastInChain"/>) nothing
            /// follows slot 7, so emptying it counts as followed by emptyRest.
            /// </summary>
            internal static (ulong Word, bool CrossesBucket) MarkDeleted(byte[] bucket, int slot, bool lastInChain = false)
            {
                byte[] b = (byte[])bucket.Clone();
                b[slot] = MapMath.EmptyOne;
                bool restFollows = (lastInChain && slot == 7) || b[slot + 1] == MapMath.EmptyRest;
                if (!restFollows)
                {
                    return (BitConverter.ToUInt64(b, 0), false);
                }

                for (int i = slot; ; i--)
                {
                    b[i] = MapMath.EmptyRest;
                    if (i == 0)
                    {
                        return (BitConverter.ToUInt64(b, 0), true);
                    }

                    if (b[i - 1] != MapMath.EmptyOne)
                    {
                        return (BitConverter.ToUInt64(b, 0), false);
                    }
                }
            }

            /// <summary>mapdelete's marking in the last bucket of a chain, byte by byte (see <see cref="MarkDeleted"/>).</summary>
            internal static (ulong Word, bool CrossesBucket) MarkDeletedInLastBucket(byte[] bucket, int slot) => MarkDeleted(bucket, slot, lastInChain: true);

            internal static bool HasZero(ulong word)
            {
                for (int i = 0; i < 8; i++)
                {
                    if ((byte)(word >> (i * 8)) == 0)
                    {
                        return true;
                    }
                }

                return false;
            }

            internal static int Live(ulong word)
            {
                int n = 0;
                for (int i = 0; i < 8; i++)
                {
                    n += (byte)(word >> (i * 8)) >= 5 ? 1 : 0;
                }

                return n;
            }
        }
    }
}
