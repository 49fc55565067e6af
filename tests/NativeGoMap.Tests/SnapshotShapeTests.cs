using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NativeGoMap.Tests.CoreSupport;
using NativeGoMap.Tests.SnapshotSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// The type shapes a snapshot's fingerprint is made of (SnapshotType.Shape), for the struct
    /// forms users write: fixed buffers, enums, generic structs, explicit layouts, inline arrays.
    /// A snapshot is refused when its types kept their names but changed their fields; the
    /// shape is what tells, so each form must appear in it, and field names must not (a renamed
    /// field keeps old snapshots loadable). Maps of such types also round-trip.
    /// </summary>
    [Collection(NativeMemoryCollection.Name)]
    public unsafe class SnapshotShapeTests
    {
        [Fact]
        public void Snapshot_OfMapsOfUserStructForms_RoundTrips()
        {
            RoundTrip(300, i => Name16.Of(i), i => (Level)(i % 3));
            RoundTrip(300, i => new Pair<int, int> { A = (int)i, B = (int)(i * 31) }, i => new Pair<int, long> { A = (int)i, B = -i });
            RoundTrip(300, i => i, i => new Overlaid { Whole = i * 0x1_0000_0001L });
#if NET8_0_OR_GREATER
            RoundTrip(300, i => (int)i, i => Four.Of((int)i));
#endif
        }

        [Fact]
        public void Shape_OfAFixedBuffer_GivesItsElementTypeAndLength()
        {
            Assert.Contains("System.Byte[16]", Shape(typeof(Name16)), StringComparison.Ordinal);
        }

        [Fact]
        public void Shape_OfAnEnumField_GivesTheEnumsUnderlyingType()
        {
            Assert.Contains("+Level(System.Int16)", Shape(typeof(WithLevel)), StringComparison.Ordinal);
        }

        [Fact]
        public void Shape_OfAGenericStruct_NamesItsTypeArguments()
        {
            Assert.StartsWith("NativeGoMap.Tests.SnapshotShapeTests+Pair`2[System.Int32,System.Int64]{", Shape(typeof(Pair<int, long>)), StringComparison.Ordinal);
        }

        [Fact]
        public void Shape_OfAnExplicitLayout_GivesTheLayoutAndEachFieldsOffset()
        {
            string shape = Shape(typeof(Overlaid));
            Assert.Contains("<Explicit", shape, StringComparison.Ordinal);
            Assert.Contains("System.Int64@0;", shape, StringComparison.Ordinal);
            Assert.Contains("System.Int32@4;", shape, StringComparison.Ordinal);
        }

#if NET8_0_OR_GREATER
        [Fact]
        public void Shape_OfAnInlineArray_GivesItsLength()
        {
            Assert.Contains("Four[4]{System.Int32;}", Shape(typeof(Four)), StringComparison.Ordinal);
        }
#endif

        [Fact]
        public void Shape_LeavesFieldNamesOut_SoARenamedFieldKeepsItsSnapshots()
        {
            Assert.Equal(WithoutName(typeof(NamedAlpha)), WithoutName(typeof(NamedBeta)));
        }

        [Fact]
        public void Shape_ChangesWithTheOrderOfTheFields()
        {
            Assert.NotEqual(WithoutName(typeof(IntThenLong)), WithoutName(typeof(LongThenInt)));
        }

        [Fact]
        public void Shape_ChangesWithAFixedBuffersLength_AtTheSameSize()
        {
            Assert.Equal(Unsafe.SizeOf<Bytes8>(), Unsafe.SizeOf<Shorts4>());
            Assert.NotEqual(WithoutName(typeof(Bytes8)), WithoutName(typeof(Shorts4)));
        }

        [Fact]
        public void Shape_OfAPackingOf8_IsThatOfNoPacking_AsMonoReportsEveryStructs()
        {
            // Found by review: Mono reports Pack = 8 for a struct that declares none, CoreCLR 0;
            // with the packing in the shape, no struct's snapshot loaded across the two.
            Assert.Equal(WithoutName(typeof(IntThenLong)), WithoutName(typeof(IntThenLongPackedBy8)));
            Assert.NotEqual(WithoutName(typeof(IntThenLong)), WithoutName(typeof(IntThenLongPackedBy4)));
        }

#if NET8_0_OR_GREATER
        [Fact]
        public void Shape_KeepsAPackingOf8_WhereAFieldAlignsBeyond8Bytes_EvenInANestedStruct()
        {
            // Found by review of the normalization above: Pack = 8 on a nested struct holding an
            // Int128 moves that field without changing the outer struct's size.
            Assert.Equal(sizeof(VersionA.Outer), sizeof(VersionB.Outer));
            Assert.NotEqual(Shape(typeof(VersionA.Outer)).Replace("VersionA", "V", StringComparison.Ordinal), Shape(typeof(VersionB.Outer)).Replace("VersionB", "V", StringComparison.Ordinal));
        }
#endif

        [Fact]
        public void Snapshot_WithTheFingerprintOfBefore2026_12_05_StillLoads()
        {
            // Writers until then spelled a packing of 8 out in the shapes (LegacyFingerprint).
            Assert.NotEqual(SnapshotType<TwoLongsPackedBy8, long>.Fingerprint, SnapshotType<TwoLongsPackedBy8, long>.LegacyFingerprint);
            using var map = new GoMap<TwoLongsPackedBy8, long>();
            for (int i = 0; i < 100; i++)
            {
                map[new TwoLongsPackedBy8 { A = i, B = -i }] = i;
            }

            byte[] old = Snap.Craft(Snap.Of(map), s => BinaryPrimitives.WriteUInt64LittleEndian(s.AsSpan(32), SnapshotType<TwoLongsPackedBy8, long>.LegacyFingerprint));
            using GoMap<TwoLongsPackedBy8, long> loaded = Snap.Load<TwoLongsPackedBy8, long>(old);
            Assert.Equal(100, loaded.Count);
            Assert.Equal(7, loaded[new TwoLongsPackedBy8 { A = 7, B = -7 }]);
        }

        private static string Shape(Type t) => SnapshotType<long, long>.Shape(t);

        /// <summary>A type's shape with its own name taken out: what two versions of one type would be compared on.</summary>
        private static string WithoutName(Type t) => Shape(t).Substring(SnapshotFormat.CanonicalName(t).Length);

        private static void RoundTrip<TKey, TValue>(int n, Func<long, TKey> key, Func<long, TValue> value)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            using var map = new GoMap<TKey, TValue>();
            var model = new Dictionary<TKey, TValue>(map.Comparer); // the map's equality: a fixed buffer compared whole, not by its first element
            for (long i = 0; i < n; i++)
            {
                model[key(i)] = value(i);
                map[key(i)] = value(i);
            }

            using GoMap<TKey, TValue> loaded = Snap.Load<TKey, TValue>(Snap.Of(map));
            loaded.Validate();
            MapAssert.SameEntries(loaded, model, NativeGoMap.Fuzz.BytesComparer<TValue>.Instance); // bytes: inline arrays' own Equals throws
        }

        public enum Level : short
        {
            Low,
            Mid,
            High,
        }

        public struct WithLevel
        {
            public Level L;
            public short Pad;
        }

        public unsafe struct Name16
        {
            public fixed byte Bytes[16];

            public static Name16 Of(long i)
            {
                var n = default(Name16);
                for (int k = 0; k < 8; k++)
                {
                    n.Bytes[k] = (byte)(i >> (8 * k));
                    n.Bytes[15 - k] = (byte)('a' + (k % 26));
                }

                return n;
            }
        }

        [StructLayout(LayoutKind.Sequential, Pack = 8)]
        public struct IntThenLongPackedBy8
        {
            public int I;
            public long L;
        }

#if NET8_0_OR_GREATER
        /// <summary>A type as first written: no packing declared.</summary>
        public static class VersionA
        {
            public struct Inner
            {
                public long A;
                public Int128 Y;
            }

            public struct Outer
            {
                public Int128 C;
                public Inner I;
            }
        }

        /// <summary>The same type changed to Pack = 8: Y moves from 32 to 24 within Outer, whose size stays 48.</summary>
        public static class VersionB
        {
            [StructLayout(LayoutKind.Sequential, Pack = 8)]
            public struct Inner
            {
                public long A;
                public Int128 Y;
            }

            public struct Outer
            {
                public Int128 C;
                public Inner I;
            }
        }
#endif

        [StructLayout(LayoutKind.Sequential, Pack = 8)]
        public struct TwoLongsPackedBy8
        {
            public long A;
            public long B;
        }

        [StructLayout(LayoutKind.Sequential, Pack = 4)]
        public struct IntThenLongPackedBy4
        {
            public int I;
            public long L;
        }

        public struct Pair<TA, TB>
            where TA : unmanaged
            where TB : unmanaged
        {
            public TA A;
            public TB B;
        }

        [StructLayout(LayoutKind.Explicit)]
        public struct Overlaid
        {
            [FieldOffset(0)]
            public long Whole;

            [FieldOffset(4)]
            public int High;
        }

#if NET8_0_OR_GREATER
        [InlineArray(4)]
        public struct Four
        {
            private int _first;

            public static Four Of(int i)
            {
                var f = default(Four);
                for (int k = 0; k < 4; k++)
                {
                    f[k] = i + k;
                }

                return f;
            }
        }
#endif

        public struct NamedAlpha
        {
            public int Alpha;
            public long Gamma;
        }

        public struct NamedBeta
        {
            public int Beta;
            public long Delta;
        }

        public struct IntThenLong
        {
            public int X;
            public long Y;
        }

        public struct LongThenInt
        {
            public long Y;
            public int X;
        }

        public unsafe struct Bytes8
        {
            public fixed byte B[8];
        }

        public unsafe struct Shorts4
        {
            public fixed short B[4];
        }
    }
}
