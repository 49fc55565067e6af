using System;
using System.Collections.Generic;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// The bucket is Go's bmap byte for byte. Expected numbers are Go 1.19's on amd64, read with
    /// unsafe.Sizeof/Offsetof on struct { topbits [8]uint8; keys [8]K'; elems [8]V'; overflow uintptr }
    /// (K', V' a pointer when the type exceeds 128 bytes).
    /// </summary>
    public class LayoutTests
    {
        private static void AssertLayout(GoMapLayout l, int bucketSize, int keysOffset, int valuesOffset, int overflowOffset, int keySlot, int valueSlot, bool indirectKey, bool indirectValue)
        {
            Assert.Equal(bucketSize, l.BucketSize);
            Assert.Equal(keysOffset, l.KeysOffset);
            Assert.Equal(valuesOffset, l.ValuesOffset);
            Assert.Equal(overflowOffset, l.OverflowOffset);
            Assert.Equal(keySlot, l.KeySlotSize);
            Assert.Equal(valueSlot, l.ValueSlotSize);
            Assert.Equal(indirectKey, l.IndirectKey);
            Assert.Equal(indirectValue, l.IndirectValue);
        }

        [Fact]
        public void Layout_LongLong_Is144Bytes() =>
            AssertLayout(GoMap<long, long>.Layout, 144, 8, 72, 136, 8, 8, false, false);

        [Fact]
        public void Layout_IntInt_Is80Bytes() =>
            AssertLayout(GoMap<int, int>.Layout, 80, 8, 40, 72, 4, 4, false, false);

        [Fact]
        public void Layout_IntSByte_Is56Bytes() =>
            AssertLayout(GoMap<int, sbyte>.Layout, 56, 8, 40, 48, 4, 1, false, false);

        [Fact]
        public void Layout_LongByte_Is88Bytes() =>
            AssertLayout(GoMap<long, byte>.Layout, 88, 8, 72, 80, 8, 1, false, false);

        [Fact]
        public void Layout_ThreeByteKeyIntValue_Is72Bytes() =>
            AssertLayout(GoMap<Key3, int>.Layout, 72, 8, 32, 64, 3, 4, false, false);

        [Fact]
        public void Layout_128ByteKeyLongValue_Is1104BytesInline() =>
            AssertLayout(GoMap<Bytes128, long>.Layout, 1104, 8, 1032, 1096, 128, 8, false, false);

        [Fact]
        public void Layout_129ByteKeyLongValue_Is144BytesWithIndirectKey() =>
            AssertLayout(GoMap<Bytes129, long>.Layout, 144, 8, 72, 136, 8, 8, true, false);

        [Fact]
        public void Layout_LongKey128ByteValue_KeepsValueInline() =>
            AssertLayout(GoMap<long, Bytes128>.Layout, 1104, 8, 72, 1096, 8, 128, false, false);

        [Fact]
        public void Layout_LongKey200ByteValue_StoresValueIndirect() =>
            AssertLayout(GoMap<long, Blob200>.Layout, 144, 8, 72, 136, 8, 8, false, true);

        [Fact]
        public void Layout_200ByteKey200ByteValue_StoresBothIndirect() =>
            AssertLayout(GoMap<Blob200, Blob200>.Layout, 144, 8, 72, 136, 8, 8, true, true);

        [Fact]
        public void Layout_ByteByte_Is32Bytes() =>
            AssertLayout(GoMap<byte, byte>.Layout, 32, 8, 16, 24, 1, 1, false, false);

        [Fact]
        public void Layout_ShortLong_PadsValuesTo8() =>
            AssertLayout(GoMap<short, long>.Layout, 96, 8, 24, 88, 2, 8, false, false);

        [Fact]
        public void Layout_Key16Int_Is176Bytes() =>
            AssertLayout(GoMap<Key16, int>.Layout, 176, 8, 136, 168, 16, 4, false, false);

#if NET8_0_OR_GREATER
        [Fact]
        public void Layout_Int128Key_KeepsEverySlotOf16ByteAlignedKeysAligned()
        {
            // Go has no 16-aligned type; .NET's Int128 is. Slots and the bucket stride stay aligned.
            GoMapLayout l = GoMap<Int128, byte>.Layout;
            Assert.Equal(0, l.KeysOffset % 16);
            Assert.Equal(0, l.BucketSize % 16);
            Assert.Equal(l.BucketSize - 8, l.OverflowOffset);
            Assert.True(l.ValuesOffset >= l.KeysOffset + (8 * 16));
            Assert.True(l.OverflowOffset >= l.ValuesOffset + 8);
        }
#endif

        [Fact]
        public void LayoutNumbersTheCodeReads_AreGoRulesOwn_ForEveryShape()
        {
            // The numbers the code reads (BucketLayout's: some written out as sizeof tests, so that
            // they fold without the class being initialized, the others fields) are the ones of
            // the full rule, GoMapLayout.Compute, which Layout reports.
            NumbersMatchLayout<long, long>();
            NumbersMatchLayout<int, int>();
            NumbersMatchLayout<int, sbyte>();
            NumbersMatchLayout<long, byte>();
            NumbersMatchLayout<byte, byte>();
            NumbersMatchLayout<short, long>();
            NumbersMatchLayout<Key3, int>();
            NumbersMatchLayout<byte, Key3>();
            NumbersMatchLayout<Key16, int>();
            NumbersMatchLayout<Guid, short>();
            NumbersMatchLayout<Bytes128, long>();
            NumbersMatchLayout<long, Bytes128>();
            NumbersMatchLayout<Bytes129, long>();
            NumbersMatchLayout<long, Blob200>();
            NumbersMatchLayout<Blob200, Blob200>();
#if NET8_0_OR_GREATER
            NumbersMatchLayout<Int128, byte>();
            NumbersMatchLayout<byte, Int128>();
            NumbersMatchLayout<Int128, Int128>();
            NumbersMatchLayout<Bytes129, Int128>();
#endif
        }

        private static void NumbersMatchLayout<TKey, TValue>()
            where TKey : unmanaged
            where TValue : unmanaged
        {
            GoMapLayout l = GoMap<TKey, TValue>.Layout;
            string shape = $"<{typeof(TKey).Name},{typeof(TValue).Name}>";
            Assert.True(l.BucketSize == BucketLayout<TKey, TValue>.BucketSize, $"{shape} BucketSize");
            Assert.True(l.KeysOffset == BucketLayout<TKey, TValue>.KeysOffset, $"{shape} KeysOffset");
            Assert.True(l.ValuesOffset == BucketLayout<TKey, TValue>.ValuesOffset, $"{shape} ValuesOffset");
            Assert.True(l.OverflowOffset == BucketLayout<TKey, TValue>.OverflowOffset, $"{shape} OverflowOffset");
            Assert.True(l.KeySlotSize == BucketLayout<TKey, TValue>.KeySlotSize, $"{shape} KeySlotSize");
            Assert.True(l.ValueSlotSize == BucketLayout<TKey, TValue>.ValueSlotSize, $"{shape} ValueSlotSize");
            Assert.True(l.IndirectKey == BucketLayout<TKey, TValue>.IndirectKey, $"{shape} IndirectKey");
            Assert.True(l.IndirectValue == BucketLayout<TKey, TValue>.IndirectValue, $"{shape} IndirectValue");
        }

        [Fact]
        public void Layout_OverflowPointerIsAlwaysTheLast8Bytes()
        {
            foreach (GoMapLayout l in new[]
            {
                GoMap<long, long>.Layout, GoMap<int, sbyte>.Layout, GoMap<Key3, int>.Layout, GoMap<Key3, byte>.Layout,
                GoMap<Bytes129, Blob200>.Layout, GoMap<Guid, short>.Layout, GoMap<byte, Key3>.Layout,
            })
            {
                Assert.Equal(l.BucketSize - 8, l.OverflowOffset);
                Assert.Equal(0, l.OverflowOffset % 8);
            }
        }

        [Fact]
        public void Layout_EqualityIsFieldByField()
        {
            // <long,long> and <ulong,double> share every offset and size; <long,int> does not.
            GoMapLayout a = GoMap<long, long>.Layout;
            GoMapLayout same = GoMap<ulong, double>.Layout;
            GoMapLayout other = GoMap<long, int>.Layout;
            Assert.True(a == same);
            Assert.False(a != same);
            Assert.True(a.Equals((object)same));
            Assert.Equal(a.GetHashCode(), same.GetHashCode());
            Assert.False(a == other);
            Assert.True(a != other);
            Assert.False(a.Equals((object)other));
            Assert.False(a.Equals("not a layout"));
            Assert.False(GoMap<long, Blob200>.Layout == GoMap<long, long>.Layout); // same offsets, value indirect
        }

        [Fact]
        public void Layout_ToStringNamesEveryOffsetAndIndirection()
        {
            Assert.Equal("bucket 144 B: keys @8 x8, values @72 x8, overflow @136", GoMap<long, long>.Layout.ToString());
            Assert.Equal("bucket 144 B: keys @8 x8, values @72 x8 (indirect), overflow @136", GoMap<long, Blob200>.Layout.ToString());
        }

        [Fact]
        public unsafe void Layout_LongLong_EntriesSitAtGoOffsetsInBucketMemory()
        {
            // B = 0: one bucket. Read its bytes as Go's runtime would.
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = 7 });
            var model = new Dictionary<long, long>();
            for (long k = 1; k <= 8; k++)
            {
                map[k * 1000] = k;
                model[k * 1000] = k;
            }

            Assert.Equal(0, map.GetStats().B);
            byte* bucket = map.BucketArray;
            var found = new HashSet<long>();
            for (int i = 0; i < 8; i++)
            {
                Assert.True(bucket[i] >= 5, $"slot {i} should be live (tophash {bucket[i]})");
                long key = *(long*)(bucket + 8 + (8 * i));
                long value = *(long*)(bucket + 72 + (8 * i));
                Assert.True(model.TryGetValue(key, out long expected), $"slot {i} holds unknown key {key}");
                Assert.Equal(expected, value);
                Assert.True(found.Add(key));
            }

            Assert.True(*(byte**)(bucket + 136) == null, "a full bucket of a map below the load factor has no overflow");
        }

        [Fact]
        public unsafe void Layout_IndirectKey_SlotHoldsPointerToTheKeyBytes()
        {
            using var map = new GoMap<Blob200, long>(new GoMapOptions { Seed = 3 });
            Blob200 key = Blob200.Of(12345);
            map[key] = 99;
            byte* bucket = map.BucketArray;
            int slot = -1;
            for (int i = 0; i < 8; i++)
            {
                if (bucket[i] >= 5)
                {
                    slot = i;
                }
            }

            Assert.True(slot >= 0);
            byte* keyBlock = *(byte**)(bucket + 8 + (8 * slot));
            Assert.True(new ReadOnlySpan<byte>(keyBlock, 200).SequenceEqual(Blob200.Span(ref key)));
            Assert.Equal(99L, *(long*)(bucket + 72 + (8 * slot)));
        }

        /// <summary>
        /// Checks every entry of the inline walk's slot table against Go's offsets, written out
        /// from the layout's numbers: bit b of a group mask is slot (b mod 8 + offset) mod 8 of
        /// the group's bucket b / 8.
        /// </summary>
        private static unsafe void AssertWalkTableFindsEverySlot<TKey, TValue>()
            where TKey : unmanaged
            where TValue : unmanaged
        {
            GoMapLayout l = GoMap<TKey, TValue>.Layout;
            byte* group = (byte*)0x100000; // never read: the layouts checked here keep keys and values inline
            for (int offset = 0; offset < 8; offset++)
            {
                ushort* row = BucketLayout<TKey, TValue>.WalkRow(offset);
                for (int bit = 0; bit < 64; bit++)
                {
                    int slot = ((bit % 8) + offset) % 8;
                    byte* bucket = group + ((bit / 8) * l.BucketSize);
                    ulong mask = ulong.MaxValue << bit; // the lowest set bit is the one looked up
                    Assert.True(BucketLayout<TKey, TValue>.WalkKey(group, row, mask) == (TKey*)(bucket + l.KeysOffset + (slot * l.KeySlotSize)), $"key of offset {offset}, bit {bit}");
                    Assert.True(BucketLayout<TKey, TValue>.WalkValue(group, row, mask) == (TValue*)(bucket + l.ValuesOffset + (slot * l.ValueSlotSize)), $"value of offset {offset}, bit {bit}");
                }
            }
        }

        [Fact]
        public unsafe void WalkTopHash_ReadsTheTopHashOfTheSlotWalkKeyFinds()
        {
            // A group of 8 <long,long> buckets whose tophash bytes are all different; bit b of a
            // group mask is slot (b mod 8 + offset) mod 8 of bucket b / 8, as WalkKey's table says.
            GoMapLayout l = GoMap<long, long>.Layout;
            byte[] group = new byte[8 * l.BucketSize];
            for (int bucket = 0; bucket < 8; bucket++)
            {
                for (int slot = 0; slot < 8; slot++)
                {
                    group[(bucket * l.BucketSize) + slot] = (byte)(MapMath.MinTopHash + (bucket * 8) + slot);
                }
            }

            fixed (byte* g = group)
            {
                for (int offset = 0; offset < 8; offset++)
                {
                    for (int bit = 0; bit < 64; bit++)
                    {
                        int slot = ((bit % 8) + offset) % 8;
                        ulong mask = ulong.MaxValue << bit; // the lowest set bit is the one looked up
                        Assert.True(
                            BucketLayout<long, long>.WalkTopHash(g, offset, mask) == (byte)(MapMath.MinTopHash + ((bit / 8) * 8) + slot),
                            $"offset {offset}, bit {bit}");
                    }
                }
            }
        }

        [Fact]
        public void WalkTable_LongLong_FindsEverySlotOfAGroup() => AssertWalkTableFindsEverySlot<long, long>();

        [Fact]
        public void WalkTable_KeyAndValueOfDifferentSizes_FindsEverySlotOfAGroup()
        {
            AssertWalkTableFindsEverySlot<Guid, long>();
            AssertWalkTableFindsEverySlot<int, sbyte>();
            AssertWalkTableFindsEverySlot<Key3, int>();
            AssertWalkTableFindsEverySlot<long, Bytes128>();
        }

        [Fact]
        public void WalkTable_LargestInlineBucket_FindsEverySlotOfAGroup() => AssertWalkTableFindsEverySlot<Bytes128, Bytes128>();

        [Fact]
        public unsafe void WalkTable_IndirectSlots_ReadThroughTheSlotsPointers()
        {
            // Eight buckets whose key and value slots point at distinct blocks: the walk must
            // return the blocks, not the slots.
            GoMapLayout l = GoMap<Blob200, Blob200>.Layout;
            byte[] group = new byte[8 * l.BucketSize];
            byte[] blocks = new byte[64 * 2];
            fixed (byte* g = group)
            fixed (byte* blk = blocks)
            {
                for (int slotIndex = 0; slotIndex < 64; slotIndex++)
                {
                    byte* bucket = g + ((slotIndex / 8) * l.BucketSize);
                    *(byte**)(bucket + l.KeysOffset + ((slotIndex % 8) * l.KeySlotSize)) = blk + (2 * slotIndex);
                    *(byte**)(bucket + l.ValuesOffset + ((slotIndex % 8) * l.ValueSlotSize)) = blk + (2 * slotIndex) + 1;
                }

                for (int offset = 0; offset < 8; offset++)
                {
                    ushort* row = BucketLayout<Blob200, Blob200>.WalkRow(offset);
                    for (int bit = 0; bit < 64; bit++)
                    {
                        int slotIndex = ((bit / 8) * 8) + (((bit % 8) + offset) % 8);
                        ulong mask = ulong.MaxValue << bit; // the lowest set bit is the one looked up
                        Assert.True(BucketLayout<Blob200, Blob200>.WalkKey(g, row, mask) == (Blob200*)(blk + (2 * slotIndex)), $"key of offset {offset}, bit {bit}");
                        Assert.True(BucketLayout<Blob200, Blob200>.WalkValue(g, row, mask) == (Blob200*)(blk + (2 * slotIndex) + 1), $"value of offset {offset}, bit {bit}");
                    }
                }
            }
        }
    }
}
