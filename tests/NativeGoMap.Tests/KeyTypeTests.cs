using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// Key equality is .NET's, as Dictionary's: floating-point keys follow Equals (NaN is one
    /// findable key, -0 equals +0), structs compare by bytes only when that is the same as their
    /// equality, padded structs need IEquatable (else the map refuses the type), comparers win.
    /// </summary>
    public class KeyTypeTests
    {
        // ---- floating point ----

        private static readonly double[] DoubleNaNs =
        {
            double.NaN,
            -double.NaN,
            BitConverter.Int64BitsToDouble(0x7FF0_0000_0000_0001), // signalling NaN
            BitConverter.Int64BitsToDouble(unchecked((long)0xFFFF_FFFF_FFFF_FFFF)),
        };

        [Fact]
        public void DoubleKey_NaN_IsOneFindableKey_LikeDictionary()
        {
            using var map = new GoMap<double, int>();
            var model = new Dictionary<double, int>();
            for (int i = 0; i < DoubleNaNs.Length; i++)
            {
                map[DoubleNaNs[i]] = i;
                model[DoubleNaNs[i]] = i;
            }

            Assert.Equal(model.Count, map.Count);
            Assert.Equal(1L, map.LongCount);
            foreach (double nan in DoubleNaNs)
            {
                Assert.True(map.ContainsKey(nan));
                Assert.Equal(model[nan], map[nan]);
            }

            Assert.True(map.Remove(double.NaN));
            Assert.False(map.ContainsKey(DoubleNaNs[2]));
        }

        [Fact]
        public void SingleKey_NaN_IsOneFindableKey_LikeDictionary()
        {
            float[] nans = { float.NaN, -float.NaN, BitConverter.Int32BitsToSingle(0x7F80_0001), BitConverter.Int32BitsToSingle(-1) };
            using var map = new GoMap<float, int>();
            var model = new Dictionary<float, int>();
            foreach (float nan in nans)
            {
                map[nan] = 1;
                model[nan] = 1;
            }

            Assert.Equal(model.Count, map.Count);
            foreach (float nan in nans)
            {
                Assert.True(map.ContainsKey(nan));
            }
        }

#if NET8_0_OR_GREATER
        [Fact]
        public void HalfKey_NaN_IsOneFindableKey_LikeDictionary()
        {
            Half[] nans = { Half.NaN, BitConverter.UInt16BitsToHalf(0x7C01), BitConverter.UInt16BitsToHalf(0xFFFF), BitConverter.UInt16BitsToHalf(0xFE00) };
            using var map = new GoMap<Half, int>();
            var model = new Dictionary<Half, int>();
            foreach (Half nan in nans)
            {
                map[nan] = 1;
                model[nan] = 1;
            }

            Assert.Equal(model.Count, map.Count);
            foreach (Half nan in nans)
            {
                Assert.True(map.ContainsKey(nan));
            }
        }
#endif

        [Fact]
        public void DoubleKey_NegativeAndPositiveZero_AreOneKey_StoredKeyKept()
        {
            using var map = new GoMap<double, int>();
            var model = new Dictionary<double, int>();
            map[0.0] = 1;
            model[0.0] = 1;
            map[-0.0] = 2;
            model[-0.0] = 2;
            Assert.Equal(model.Count, map.Count);
            Assert.Equal(2, map[0.0]);
            Assert.Equal(2, map[-0.0]);

            // Like Dictionary, an update keeps the key first stored (+0 here).
            foreach (KeyValuePair<double, int> kv in map)
            {
                Assert.Equal(BitConverter.DoubleToInt64Bits(0.0), BitConverter.DoubleToInt64Bits(kv.Key));
            }

            foreach (KeyValuePair<double, int> kv in model)
            {
                Assert.Equal(BitConverter.DoubleToInt64Bits(0.0), BitConverter.DoubleToInt64Bits(kv.Key));
            }

            Assert.True(map.Remove(-0.0));
            Assert.False(map.ContainsKey(0.0));
        }

        [Fact]
        public void SingleKey_NegativeAndPositiveZero_AreOneKey()
        {
            using var map = new GoMap<float, int>();
            map[-0.0f] = 1;
            Assert.True(map.ContainsKey(0.0f));
            map[0.0f] = 2;
            Assert.Equal(1L, map.LongCount);
            Assert.Equal(2, map[-0.0f]);
        }

#if NET8_0_OR_GREATER
        [Fact]
        public void HalfKey_NegativeAndPositiveZero_AreOneKey()
        {
            Half negZero = BitConverter.UInt16BitsToHalf(0x8000);
            using var map = new GoMap<Half, int>();
            map[negZero] = 1;
            Assert.True(map.ContainsKey(Half.Zero));
            map[Half.Zero] = 2;
            Assert.Equal(1L, map.LongCount);
            Assert.Equal(2, map[negZero]);
        }
#endif

        [Fact]
        public void DoubleKey_NaNAndZeroes_SurviveGrowth()
        {
            // Go's TestGrowWithNaN / TestGrowWithNegativeZero, with .NET's equality.
            using var map = new GoMap<double, int>();
            map[double.NaN] = -1;
            map[-0.0] = -2;
            for (int i = 1; i <= 10_000; i++)
            {
                map[i] = i;
            }

            map.Validate();
            Assert.Equal(-1, map[DoubleNaNs[2]]);
            Assert.Equal(-2, map[0.0]);
            int nans = 0, zeroes = 0;
            foreach (KeyValuePair<double, int> kv in map)
            {
                nans += double.IsNaN(kv.Key) ? 1 : 0;
                zeroes += kv.Key == 0 ? 1 : 0;
            }

            Assert.Equal(1, nans);
            Assert.Equal(1, zeroes);
        }

        [Fact]
        public void DoubleKey_SpecialValues_AgreeWithDictionary()
        {
            double[] specials =
            {
                0.0, -0.0, double.Epsilon, -double.Epsilon, double.MaxValue, double.MinValue,
                double.PositiveInfinity, double.NegativeInfinity, 1.0, -1.0, 0.1, 1e300,
            };
            Seeded.Run(seed =>
            {
                var rng = new Random(seed);
                using var map = new GoMap<double, long>(new GoMapOptions { Seed = (ulong)seed });
                var model = new Dictionary<double, long>();
                for (int op = 0; op < 30_000; op++)
                {
                    int pick = rng.Next(3);
                    double k = pick == 0 ? DoubleNaNs[rng.Next(DoubleNaNs.Length)]
                        : pick == 1 ? specials[rng.Next(specials.Length)]
                        : rng.Next(2000) * 0.5;
                    if (rng.Next(3) == 0)
                    {
                        Assert.Equal(model.Remove(k), map.Remove(k));
                    }
                    else
                    {
                        map[k] = op;
                        model[k] = op;
                    }

                    Assert.Equal(model.TryGetValue(k, out long a), map.TryGetValue(k, out long b));
                    Assert.Equal(a, b);
                }

                map.Validate();
                MapAssert.SameEntries(map, model);
                MapAssert.EnumeratesAs(map, model, null);
            });
        }

        // ---- how a struct key is compared ----

        [Fact]
        public void PaddedStructWithoutIEquatable_IsRefusedAtConstruction_WithAClearMessage()
        {
            long allocations = NativeHeap.AllocationCount;
            var e = Assert.Throws<NotSupportedException>(() => new GoMap<PaddedPlain, int>());
            Assert.Contains(nameof(PaddedPlain), e.Message, StringComparison.Ordinal);
            Assert.Contains("padding", e.Message, StringComparison.Ordinal);
            Assert.Contains("IEquatable", e.Message, StringComparison.Ordinal);
            Assert.Contains("IEqualityComparer", e.Message, StringComparison.Ordinal);
            Assert.Throws<NotSupportedException>(() => new GoMap<PaddedPlain, int>(1000));
            Assert.Throws<NotSupportedException>(() => new GoMap<PaddedPlain, int>(new GoMapOptions { CapacityHint = 1000 }));
            Assert.Equal(allocations, NativeHeap.AllocationCount);
            Assert.Equal(KeyKind.Unsupported, KeyOps<PaddedPlain>.Kind);
        }

        [Fact]
        public void StructWithPaddedField_WithoutIEquatable_IsRefused()
        {
            Assert.Throws<NotSupportedException>(() => new GoMap<HoldsPadded, int>());
        }

        [Fact]
        public void StructWithFloatField_WithoutIEquatable_IsRefused()
        {
            // Its bytes are not its equality (NaN, -0), and it has no IEquatable to use instead.
            var e = Assert.Throws<NotSupportedException>(() => new GoMap<HoldsFloat, int>());
            Assert.Contains(nameof(HoldsFloat), e.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void StructOverridingEqualsObjectOnly_IsRefused()
        {
            var e = Assert.Throws<NotSupportedException>(() => new GoMap<EqualsObjectOnly, int>());
            Assert.Contains("IEquatable", e.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void PaddedStructWithoutIEquatable_IsAcceptedWithAComparer()
        {
            using var map = new GoMap<PaddedPlain, int>(null, new PaddedPlainComparer());
            map[new PaddedPlain { A = 1, B = 2 }] = 3;
            Assert.Equal(3, map[new PaddedPlain { A = 1, B = 2 }]);
            Assert.False(map.ContainsKey(new PaddedPlain { A = 2, B = 2 }));
        }

        [Fact]
        public void PaddedStructWithIEquatable_UsesItsEquality()
        {
            Assert.Equal(KeyKind.Equatable, KeyOps<PaddedEquatable>.Kind);
            using var map = new GoMap<PaddedEquatable, int>();
            var model = new Dictionary<PaddedEquatable, int>();
            for (int i = 0; i < 3000; i++)
            {
                var k = new PaddedEquatable((byte)i, i / 256);
                map[k] = i;
                model[k] = i;
            }

            map.Validate();
            MapAssert.SameEntries(map, model);
        }

        [Fact]
        public void PaddedStructWithIEquatable_KeysDifferingOnlyInPadding_AreOneKey()
        {
            var clean = new PaddedEquatable(7, 9);
            PaddedEquatable dirty = clean;
            Span<byte> bytes = MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref dirty, 1));
            bytes.Slice(1, 7).Fill(0xAB); // the padding between the byte and the long
            Assert.False(bytes.SequenceEqual(MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref clean, 1))));

            using var map = new GoMap<PaddedEquatable, int>();
            map[clean] = 1;
            Assert.True(map.ContainsKey(dirty));
            map[dirty] = 2;
            Assert.Equal(1L, map.LongCount);
            Assert.Equal(2, map[clean]);
        }

        [Fact]
        public void RecordStructWithPadding_UsesItsEquality()
        {
            Assert.Equal(KeyKind.Equatable, KeyOps<IntAndByte>.Kind);
            var clean = new IntAndByte(5, 6);
            IntAndByte dirty = clean;
            MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref dirty, 1)).Slice(5, 3).Fill(0xCD);
            using var map = new GoMap<IntAndByte, int>();
            map[clean] = 1;
            Assert.Equal(1, map[dirty]);
        }

        [Fact]
        public unsafe void RecordStructHoldingAFixedBuffer_UsesItsEquality_AsDictionaryDoes()
        {
            // Found by review: a record struct's generated Equals reaches a nested fixed buffer
            // through ValueType.Equals, which compares its first element only; the map compared
            // every byte, so two keys Equals, Dictionary and the map's own Comparer call equal
            // were two entries.
            Assert.Equal(KeyKind.Equatable, KeyOps<NamedRecord>.Kind);
            var first = default(Name4);
            first.Bytes[0] = 1;
            first.Bytes[1] = 2;
            Name4 second = first;
            second.Bytes[1] = 3;
            var a = new NamedRecord(first);
            var b = new NamedRecord(second);
            var dictionary = new Dictionary<NamedRecord, int> { [a] = 1, [b] = 2 };

            using var map = new GoMap<NamedRecord, int>();
            map[a] = 1;
            map[b] = 2;
            Assert.True(map.Comparer.Equals(a, b));
            Assert.Equal(dictionary.Count, map.Count);
            Assert.Equal(2, map[a]);
        }

        [Fact]
        public void RecordStructOfInts_IsComparedByBytes()
        {
            Assert.Equal(KeyKind.Bytes, KeyOps<IntPair>.Kind);
            using var map = new GoMap<IntPair, int>();
            var model = new Dictionary<IntPair, int>();
            for (int i = 0; i < 2000; i++)
            {
                map[new IntPair(i % 37, i / 37)] = i;
                model[new IntPair(i % 37, i / 37)] = i;
            }

            MapAssert.SameEntries(map, model);
            Assert.True(map.ContainsKey(new IntPair(1, 1)));
            Assert.False(map.ContainsKey(new IntPair(-1, 1)));
        }

        [Fact]
        public void RecordStructWithDouble_UsesItsEquality_NaNFieldsEqual()
        {
            Assert.Equal(KeyKind.Equatable, KeyOps<DoubleAndLong>.Kind);
            using var map = new GoMap<DoubleAndLong, int>();
            map[new DoubleAndLong(double.NaN, 1)] = 1;
            map[new DoubleAndLong(0.0, 2)] = 2;
            Assert.Equal(1, map[new DoubleAndLong(DoubleNaNs[2], 1)]);
            Assert.Equal(2, map[new DoubleAndLong(-0.0, 2)]);
            Assert.Equal(2L, map.LongCount);
        }

        [Fact]
        public void StructOfRecordStructs_IsComparedByBytes()
        {
            Assert.Equal(KeyKind.Bytes, KeyOps<PairAndInt>.Kind);
            using var map = new GoMap<PairAndInt, int>();
            map[new PairAndInt { P = new IntPair(1, 2), Q = 3 }] = 4;
            Assert.Equal(4, map[new PairAndInt { P = new IntPair(1, 2), Q = 3 }]);
            Assert.False(map.ContainsKey(new PairAndInt { P = new IntPair(1, 2), Q = 4 }));
        }

        [Fact]
        public void StructWithOwnIEquatable_UsesIt_NotItsBytes()
        {
            Assert.Equal(KeyKind.Equatable, KeyOps<CaseInsensitiveCode>.Kind);
            using var map = new GoMap<CaseInsensitiveCode, int>();
            map[new CaseInsensitiveCode('a')] = 1;
            Assert.True(map.ContainsKey(new CaseInsensitiveCode('A')));
            map[new CaseInsensitiveCode('A')] = 2;
            Assert.Equal(1L, map.LongCount);
        }

        [Fact]
        public void FixedBufferStruct_IsComparedByAllItsBytes()
        {
            Assert.Equal(KeyKind.Bytes, KeyOps<FixedName>.Kind);
            Seeded.Run(seed => DifferentialBytes(seed, FixedName.Of));

            // Unlike ValueType.Equals, which for a fixed buffer compares its first element only.
            FixedName a = FixedName.Of(1), b = FixedName.Of(1 + (1 << 8));
            using var map = new GoMap<FixedName, int>();
            map[a] = 1;
            Assert.False(map.ContainsKey(b));
        }

#if NET8_0_OR_GREATER
        [Fact]
        public void StructOfEveryPrimitiveKind_WithoutPadding_IsComparedByBytes()
        {
            // The classifier sizes each primitive field from its own table (it instantiates no
            // Unsafe.SizeOf, which native AOT cannot run): one size wrong there reads as padding
            // here, and the key would be refused.
            Assert.Equal(KeyKind.Bytes, KeyOps<EveryPrimitiveKind>.Kind);
            using var map = new GoMap<EveryPrimitiveKind, int>();
            map[EveryPrimitiveKind.Of(1)] = 1;
            map[EveryPrimitiveKind.Of(2)] = 2;
            Assert.Equal(2, map.Count);
            Assert.Equal(1, map[EveryPrimitiveKind.Of(1)]);
        }
#endif

        [Fact]
        public void PrimitiveKindsSetAhead_AreTheClassifiersVerdicts()
        {
            // KeyOps.Kind decides these kinds itself (so that the JIT and native AOT fold them
            // wherever the code is compiled), a copy of the classifier's list: the two must agree.
            AgreesWithTheClassifier<long>();
            AgreesWithTheClassifier<ulong>();
            AgreesWithTheClassifier<int>();
            AgreesWithTheClassifier<uint>();
            AgreesWithTheClassifier<short>();
            AgreesWithTheClassifier<ushort>();
            AgreesWithTheClassifier<byte>();
            AgreesWithTheClassifier<sbyte>();
            AgreesWithTheClassifier<char>();
            AgreesWithTheClassifier<bool>();
            AgreesWithTheClassifier<nint>();
            AgreesWithTheClassifier<nuint>();
            AgreesWithTheClassifier<Guid>();
            AgreesWithTheClassifier<double>();
            AgreesWithTheClassifier<float>();
        }

        private static unsafe void AgreesWithTheClassifier<T>()
            where T : unmanaged
        {
            (KeyKind kind, string? reason) = KeyClassifier.Classify(typeof(T), sizeof(T), typeof(IEquatable<T>).IsAssignableFrom(typeof(T)));
            Assert.Equal(kind, KeyOps<T>.Kind);
            Assert.Null(reason);
            Assert.Null(KeyOps<T>.UnsupportedReason);
        }

        [Fact]
        public void EmptyStructWithoutIEquatable_IsRefused_SayingItShowsNoFields()
        {
            // Also what a key whose fields a trimmer removed (native AOT) reads as.
            var e = Assert.Throws<NotSupportedException>(() => new GoMap<NoFields, int>());
            Assert.Contains("shows no fields to reflection", e.Message, StringComparison.Ordinal);
            Assert.Contains(nameof(NoFields), e.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void ExplicitLayoutStructWithoutIEquatable_IsRefused()
        {
            // Overlapping fields: equal values need not have equal bytes (0f and -0f here).
            var e = Assert.Throws<NotSupportedException>(() => new GoMap<Overlapping, int>());
            Assert.Contains("explicit layout", e.Message, StringComparison.Ordinal);
            Assert.Equal(KeyKind.Unsupported, KeyOps<Overlapping>.Kind);
        }

        [Fact]
        public void ByteKeys_AgreeWithDictionary() => Seeded.Run(seed => DifferentialBytes(seed, i => (byte)i));

        [Fact]
        public void SByteKeys_AgreeWithDictionary() => Seeded.Run(seed => DifferentialBytes(seed, i => (sbyte)i));

        [Fact]
        public void ShortKeys_AgreeWithDictionary() => Seeded.Run(seed => DifferentialBytes(seed, i => (short)(i * 31)));

        [Fact]
        public void UShortKeys_AgreeWithDictionary() => Seeded.Run(seed => DifferentialBytes(seed, i => (ushort)(i * 31)));

        [Fact]
        public void CharKeys_AgreeWithDictionary() => Seeded.Run(seed => DifferentialBytes(seed, i => (char)i));

        [Fact]
        public void BoolKeys_AgreeWithDictionary() => Seeded.Run(seed => DifferentialBytes(seed, i => (i & 1) != 0));

#if NET8_0_OR_GREATER
        [Fact]
        public void InlineArrayStruct_IsComparedByAllItsBytes()
        {
            Assert.Equal(KeyKind.Bytes, KeyOps<Inline32>.Kind);
            Seeded.Run(seed => DifferentialBytes(seed, Inline32.Of));
        }
#endif

        /// <summary>Random inserts, removes and lookups against a Dictionary comparing the key's bytes.</summary>
        private static void DifferentialBytes<T>(int seed, Func<int, T> keyOf)
            where T : unmanaged
        {
            var rng = new Random(seed);
            using var map = new GoMap<T, int>(new GoMapOptions { Seed = (ulong)seed });
            var model = new Dictionary<T, int>(new ByteComparer<T>());
            for (int op = 0; op < 20_000; op++)
            {
                T k = keyOf(rng.Next(3000));
                switch (rng.Next(4))
                {
                    case 0:
                        Assert.Equal(model.Remove(k), map.Remove(k));
                        break;
                    case 1:
                        Assert.Equal(model.ContainsKey(k), map.ContainsKey(k));
                        break;
                    default:
                        map[k] = op;
                        model[k] = op;
                        break;
                }
            }

            map.Validate();
            MapAssert.SameEntries(map, model);
        }

        [Fact]
        public void GuidKeys_AreComparedByBytes_AndAgreeWithDictionary()
        {
            Assert.Equal(KeyKind.Bytes, KeyOps<Guid>.Kind);
            Seeded.Run(seed =>
            {
                var rng = new Random(seed);
                var keys = new Guid[2000];
                Span<byte> bytes = stackalloc byte[16];
                for (int i = 0; i < keys.Length; i++)
                {
                    rng.NextBytes(bytes);
                    keys[i] = new Guid(bytes);
                }

                using var map = new GoMap<Guid, int>(new GoMapOptions { Seed = (ulong)seed });
                var model = new Dictionary<Guid, int>();
                for (int op = 0; op < 20_000; op++)
                {
                    Guid k = keys[rng.Next(keys.Length)];
                    if (rng.Next(3) == 0)
                    {
                        Assert.Equal(model.Remove(k), map.Remove(k));
                    }
                    else
                    {
                        map[k] = op;
                        model[k] = op;
                    }
                }

                map.Validate();
                MapAssert.SameEntries(map, model);
                Assert.False(map.ContainsKey(Guid.NewGuid()));
            });
        }

        [Fact]
        public void EnumKeys_AreComparedByBytes_AndWork()
        {
            Assert.Equal(KeyKind.Bytes, KeyOps<SmallEnum>.Kind);
            Assert.Equal(KeyKind.Bytes, KeyOps<WideEnum>.Kind);
            using var small = new GoMap<SmallEnum, int>();
            for (int i = 0; i < 256; i++)
            {
                small[(SmallEnum)i] = i;
            }

            Assert.Equal(256L, small.LongCount);
            Assert.Equal(200, small[(SmallEnum)200]);
            small.Validate();

            using var wide = new GoMap<WideEnum, int>();
            wide[WideEnum.Big] = 1;
            wide[WideEnum.Small] = 2;
            Assert.Equal(1, wide[WideEnum.Big]);
            Assert.False(wide.ContainsKey((WideEnum)(long.MaxValue - 1)));
        }

        [Fact]
        public void PrimitiveKeys_AreComparedByBytes()
        {
            Assert.Equal(KeyKind.Bytes, KeyOps<bool>.Kind);
            Assert.Equal(KeyKind.Bytes, KeyOps<char>.Kind);
            Assert.Equal(KeyKind.Bytes, KeyOps<short>.Kind);
            Assert.Equal(KeyKind.Bytes, KeyOps<ulong>.Kind);
            Assert.Equal(KeyKind.Bytes, KeyOps<nint>.Kind);
#if NET8_0_OR_GREATER
            Assert.Equal(KeyKind.Bytes, KeyOps<Int128>.Kind);
#endif
            Assert.Equal(KeyKind.Single, KeyOps<float>.Kind);
            Assert.Equal(KeyKind.Double, KeyOps<double>.Kind);
#if NET8_0_OR_GREATER
            Assert.Equal(KeyKind.Half, KeyOps<Half>.Kind);
#endif
        }

        [Fact]
        public void DecimalKeys_EqualValuesWithOtherScales_AreOneKey_LikeDictionary()
        {
            Assert.Equal(KeyKind.Equatable, KeyOps<decimal>.Kind);
            using var map = new GoMap<decimal, int>();
            var model = new Dictionary<decimal, int>();
            foreach (decimal d in new[] { 1.0m, 1.00m, 1m, -0.0m, 0m, 2.50m, 2.5m })
            {
                map[d] = 1;
                model[d] = 1;
            }

            Assert.Equal(model.Count, map.Count);
            Assert.True(map.ContainsKey(1.000m));
        }

        [Fact]
        public void DateTimeKeys_DifferingOnlyInKind_AreOneKey_LikeDictionary()
        {
            // DateTime.Equals compares ticks only: its bytes (which carry the Kind) are not its equality.
            Assert.Equal(KeyKind.Equatable, KeyOps<DateTime>.Kind);
            var utc = new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc);
            var local = new DateTime(utc.Ticks, DateTimeKind.Local);
            var unspecified = new DateTime(utc.Ticks, DateTimeKind.Unspecified);
            using var map = new GoMap<DateTime, int>();
            var model = new Dictionary<DateTime, int>();
            foreach (DateTime t in new[] { utc, local, unspecified })
            {
                map[t] = 1;
                model[t] = 1;
            }

            Assert.Equal(model.Count, map.Count);
            Assert.True(map.ContainsKey(local));
        }

#if NET8_0_OR_GREATER
        [Fact]
        public void Int128Keys_Work()
        {
            using var map = new GoMap<Int128, int>();
            for (int i = 0; i < 1000; i++)
            {
                map[(Int128)i << 64] = i;
            }

            Assert.Equal(999, map[(Int128)999 << 64]);
            Assert.False(map.ContainsKey(999));
            map.Validate();
        }
#endif

        // ---- comparers ----

        [Fact]
        public void Comparer_CaseInsensitiveOnAStruct_IsHonoured()
        {
            var comparer = new AsciiCaseInsensitive();
            using var map = new GoMap<Tag4, int>(null, comparer);
            var model = new Dictionary<Tag4, int>(comparer);
            map[Tag4.Of("abcd")] = 1;
            model[Tag4.Of("abcd")] = 1;
            Assert.True(map.ContainsKey(Tag4.Of("ABCD")));
            map[Tag4.Of("AbCd")] = 2;
            model[Tag4.Of("AbCd")] = 2;
            Assert.Equal(1L, map.LongCount);
            Assert.Equal(2, map[Tag4.Of("aBcD")]);

            // The stored key is the first one, as in Dictionary.
            foreach (KeyValuePair<Tag4, int> kv in map)
            {
                Assert.Equal("abcd", kv.Key.ToString());
            }

            foreach (KeyValuePair<Tag4, int> kv in model)
            {
                Assert.Equal("abcd", kv.Key.ToString());
            }
        }

        [Fact]
        public void Comparer_CaseInsensitive_HoldsThroughGrowth()
        {
            var comparer = new AsciiCaseInsensitive();
            using var map = new GoMap<Tag4, int>(null, comparer);
            for (int i = 0; i < 4000; i++)
            {
                map[Tag4.Of(Name(i, upper: false))] = i;
            }

            for (int i = 0; i < 4000; i++)
            {
                Assert.Equal(i, map[Tag4.Of(Name(i, upper: true))]);
            }

            Assert.Equal(4000L, map.LongCount);
            map.Validate();

            static string Name(int i, bool upper)
            {
                char[] c = new char[4];
                for (int d = 0; d < 4; d++)
                {
                    c[d] = (char)((upper ? 'A' : 'a') + (i % 26));
                    i /= 26;
                }

                return new string(c);
            }
        }

        [Fact]
        public void Comparer_ReplacesTheDefaultEquality()
        {
            using var map = new GoMap<int, int>(null, new ParityComparer());
            for (int i = 0; i < 100; i++)
            {
                map[i] = i;
            }

            Assert.Equal(2L, map.LongCount);
            Assert.Equal(98, map[1000]);
            Assert.Equal(99, map[-1]);
        }

        // ---- key types ----

        public enum ByteKind : byte { A, B }

        public enum ShortKind : short { A, B }

        public enum IntKind { A, B }

#if NET8_0_OR_GREATER
        /// <summary>Every primitive kind the classifier sizes, largest first: 112 bytes of fields in 112.</summary>
        public unsafe struct EveryPrimitiveKind
        {
            public Int128 A;
            public Guid B;
            public long C;
            public ulong D;
            public nint E;
            public nuint F;
            public int* G;
            public delegate*<void> H;
            public long I;
            public int J;
            public uint K;
            public IntKind L;
            public short M;
            public ushort N;
            public char O;
            public ShortKind P;
            public byte Q;
            public sbyte R;
            public bool S;
            public ByteKind T;

            public static EveryPrimitiveKind Of(int i) => new() { A = i, B = new Guid(i, 0, 0, new byte[8]), C = i, J = i, M = (short)i, O = (char)i, Q = (byte)i, S = (i & 1) != 0, T = (ByteKind)(i & 1) };
        }
#endif

        public struct NoFields
        {
        }

        public struct PaddedPlain
        {
            public byte A;
            public long B;
        }

        public sealed class PaddedPlainComparer : IEqualityComparer<PaddedPlain>
        {
            public bool Equals(PaddedPlain x, PaddedPlain y) => x.A == y.A && x.B == y.B;

            public int GetHashCode(PaddedPlain obj) => HashCode.Combine(obj.A, obj.B);
        }

        public struct HoldsPadded
        {
            public PaddedPlain P;
        }

        [StructLayout(LayoutKind.Explicit)]
        public struct Overlapping
        {
            [FieldOffset(0)]
            public int I;

            [FieldOffset(0)]
            public float F;
        }

        public struct HoldsFloat
        {
            public float F;
            public int I;
        }

        public struct EqualsObjectOnly
        {
            public int X;

            public override readonly bool Equals(object? obj) => obj is EqualsObjectOnly o && o.X == X;

            public override readonly int GetHashCode() => X;
        }

        public readonly struct PaddedEquatable : IEquatable<PaddedEquatable>
        {
            public PaddedEquatable(byte a, long b)
            {
                A = a;
                B = b;
            }

            public byte A { get; }

            public long B { get; }

            public bool Equals(PaddedEquatable other) => A == other.A && B == other.B;

            public override bool Equals(object? obj) => obj is PaddedEquatable o && Equals(o);

            public override int GetHashCode() => HashCode.Combine(A, B);
        }

        /// <summary>A four-byte fixed buffer in a struct without equality of its own.</summary>
        public unsafe struct Name4
        {
            public fixed byte Bytes[4];
        }

        /// <summary>A record struct around <see cref="Name4"/>: its generated equality compares the buffer's first byte only.</summary>
        public readonly record struct NamedRecord(Name4 Name);

        public readonly record struct IntPair(int A, int B);

        public readonly record struct IntAndByte(int A, byte B);

        public readonly record struct DoubleAndLong(double D, long L);

        public struct PairAndInt
        {
            public IntPair P;
            public int Q;
        }

        public readonly struct CaseInsensitiveCode : IEquatable<CaseInsensitiveCode>
        {
            private readonly char _c;

            public CaseInsensitiveCode(char c) => _c = c;

            public bool Equals(CaseInsensitiveCode other) => char.ToUpperInvariant(_c) == char.ToUpperInvariant(other._c);

            public override bool Equals(object? obj) => obj is CaseInsensitiveCode o && Equals(o);

            public override int GetHashCode() => char.ToUpperInvariant(_c);
        }

        public unsafe struct FixedName
        {
            public fixed byte Name[32];

            /// <summary>Names sharing their first bytes: id's low byte goes last.</summary>
            public static FixedName Of(int id)
            {
                FixedName n = default;
                n.Name[0] = 7;
                n.Name[13] = (byte)(id >> 8);
                n.Name[31] = (byte)id;
                return n;
            }
        }

#if NET8_0_OR_GREATER
        [InlineArray(32)]
        public struct Inline32
        {
            private byte _first;

            public static Inline32 Of(int id)
            {
                Inline32 n = default;
                n[0] = 7;
                n[13] = (byte)(id >> 8);
                n[31] = (byte)id;
                return n;
            }
        }
#endif

        public sealed unsafe class ByteComparer<T> : IEqualityComparer<T>
            where T : unmanaged
        {
            public bool Equals(T x, T y) => new ReadOnlySpan<byte>(&x, sizeof(T)).SequenceEqual(new ReadOnlySpan<byte>(&y, sizeof(T)));

            public int GetHashCode(T obj)
            {
                var h = new HashCode();
                h.AddBytes(new ReadOnlySpan<byte>(&obj, sizeof(T)));
                return h.ToHashCode();
            }
        }

        public enum SmallEnum : byte
        {
            Zero,
        }

        public enum WideEnum : long
        {
            Small = 1,
            Big = long.MaxValue,
        }

        public unsafe struct Tag4
        {
            public fixed byte Chars[4];

            public static Tag4 Of(string s)
            {
                Tag4 t = default;
                for (int i = 0; i < 4; i++)
                {
                    t.Chars[i] = (byte)s[i];
                }

                return t;
            }

            public override readonly string ToString()
            {
                char[] c = new char[4];
                for (int i = 0; i < 4; i++)
                {
                    c[i] = (char)Chars[i];
                }

                return new string(c);
            }
        }

        public sealed unsafe class AsciiCaseInsensitive : IEqualityComparer<Tag4>
        {
            private static int Upper(byte b) => b is >= (byte)'a' and <= (byte)'z' ? b - 32 : b;

            public bool Equals(Tag4 x, Tag4 y)
            {
                for (int i = 0; i < 4; i++)
                {
                    if (Upper(x.Chars[i]) != Upper(y.Chars[i]))
                    {
                        return false;
                    }
                }

                return true;
            }

            public int GetHashCode(Tag4 obj) =>
                Upper(obj.Chars[0]) | (Upper(obj.Chars[1]) << 8) | (Upper(obj.Chars[2]) << 16) | (Upper(obj.Chars[3]) << 24);
        }

        public sealed class ParityComparer : IEqualityComparer<int>
        {
            public bool Equals(int x, int y) => ((x ^ y) & 1) == 0;

            public int GetHashCode(int obj) => obj & 1;
        }

        // Found by review (2026-12-07): a record struct with an explicit IEquatable<T>.Equals was
        // compared by its bytes, as was one reaching an [InlineArray] through a plain struct.
        [Fact]
        public void RecordStructWithExplicitIEquatable_UsesThatEquality_AsDictionaryDoes()
        {
            // The compiler still generates a public Equals(T), marked [CompilerGenerated], which
            // the classifier reads; EqualityComparer<T>.Default (Dictionary, the map's Comparer)
            // calls the interface's method, the user's explicit one.
            SetsAsDictionaryDoes(new CaseInsensitiveRecord('a'), new CaseInsensitiveRecord('A'));
        }

        [Fact]
        public void RecordStructHoldingARecordWithExplicitIEquatable_UsesItsEquality_AsDictionaryDoes()
        {
            // The outer record's generated Equals compares the field with
            // EqualityComparer<CaseInsensitiveRecord>.Default: the explicit method again.
            SetsAsDictionaryDoes(new HoldsCaseInsensitive(new CaseInsensitiveRecord('a'), 'x'), new HoldsCaseInsensitive(new CaseInsensitiveRecord('A'), 'x'));
        }

#if NET8_0_OR_GREATER
        [Fact]
        public void RecordStructHoldingAStructHoldingAnInlineArray_UsesItsEquality_AsDictionaryDoes()
        {
            // The record's generated Equals reaches the inline array through the plain struct's
            // ValueType.Equals, which (as for a fixed buffer, RecordStructHoldingAFixedBuffer_...
            // above) compares the array's first element only: Dictionary keeps one key.
            Bytes4 first = default;
            first[0] = 1;
            first[1] = 2;
            Bytes4 second = first;
            second[1] = 3;
            SetsAsDictionaryDoes(new RecordOfPlainInline(new PlainInline { Items = first }), new RecordOfPlainInline(new PlainInline { Items = second }));
        }
#endif

        /// <summary>
        /// Sets <paramref name="a"/> then <paramref name="b"/>, two keys .NET's default equality
        /// calls equal, in a Dictionary and in a map: both hold one entry, with b's value.
        /// </summary>
        private static void SetsAsDictionaryDoes<T>(T a, T b)
            where T : unmanaged
        {
            var dictionary = new Dictionary<T, int> { [a] = 1, [b] = 2 };
            Assert.Single(dictionary);
            using var map = new GoMap<T, int>();
            map[a] = 1;
            map[b] = 2;
            Assert.True(map.Comparer.Equals(a, b));
            Assert.Equal(1L, map.LongCount);
            Assert.Equal(2, map[a]);
            map.Validate();
        }

        public record struct CaseInsensitiveRecord(char C) : IEquatable<CaseInsensitiveRecord>
        {
            readonly bool IEquatable<CaseInsensitiveRecord>.Equals(CaseInsensitiveRecord other) =>
                char.ToUpperInvariant(C) == char.ToUpperInvariant(other.C);

            public override readonly int GetHashCode() => char.ToUpperInvariant(C);
        }

        public record struct HoldsCaseInsensitive(CaseInsensitiveRecord Code, char Other);

#if NET8_0_OR_GREATER
        [InlineArray(4)]
        public struct Bytes4
        {
            private byte _first;
        }

        public struct PlainInline
        {
            public Bytes4 Items;
        }

        public record struct RecordOfPlainInline(PlainInline Inner);
#endif
    }
}
