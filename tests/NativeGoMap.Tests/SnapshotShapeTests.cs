using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
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
            // Writers until then spelled a packing of 8 out in the shapes (LegacyFingerprint), in
            // version-1 headers.
            Assert.NotEqual(SnapshotType<TwoLongsPackedBy8, long>.Fingerprint, SnapshotType<TwoLongsPackedBy8, long>.LegacyFingerprint);
            using var map = new GoMap<TwoLongsPackedBy8, long>();
            for (int i = 0; i < 100; i++)
            {
                map[new TwoLongsPackedBy8 { A = i, B = -i }] = i;
            }

            byte[] old = Snap.Craft(Snap.Of(map), s =>
            {
                BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(8), 1);
                BinaryPrimitives.WriteUInt64LittleEndian(s.AsSpan(32), SnapshotType<TwoLongsPackedBy8, long>.LegacyFingerprint);
            });
            using GoMap<TwoLongsPackedBy8, long> loaded = Snap.Load<TwoLongsPackedBy8, long>(old);
            Assert.Equal(100, loaded.Count);
            Assert.Equal(7, loaded[new TwoLongsPackedBy8 { A = 7, B = -7 }]);
        }

        [Fact]
        public void Snapshot_Version2_WithTheFingerprintOfBefore2026_12_05_IsRefused()
        {
            // No version-2 writer spelled the packing out.
            using var map = new GoMap<TwoLongsPackedBy8, long> { [new TwoLongsPackedBy8 { A = 1, B = 2 }] = 3 };
            byte[] crafted = Snap.Craft(Snap.Of(map), s => BinaryPrimitives.WriteUInt64LittleEndian(s.AsSpan(32), SnapshotType<TwoLongsPackedBy8, long>.LegacyFingerprint));
            Assert.Contains("not the same fields", Assert.Throws<InvalidDataException>(() => Snap.Load<TwoLongsPackedBy8, long>(crafted)).Message, StringComparison.Ordinal);
        }

        [Fact]
        public void WriteTo_WritesFormatVersion2()
        {
            using var map = new GoMap<long, long> { [1] = 2 };
            Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(Snap.Of(map).AsSpan(8)));
        }

        [Fact]
        public void AutoLayout_IsTheProbesFieldOffsets_OnThisRuntime()
        {
            // CoreCLR and native AOT put the widest field first; Mono keeps the declaration's order.
            Assert.Equal(TestNeeds.IsMono ? "0.8.16.20" : "14.0.8.12", SnapshotFormat.AutoLayout);
        }

        [Fact]
        public void Shape_OfAnAutoLayoutStructOfTwoOrMoreFields_CarriesTheRuntimesAutoLayout()
        {
            Assert.Contains("<auto " + SnapshotFormat.AutoLayout + ">", Shape(typeof(LayoutAut.Record)), StringComparison.Ordinal);
            Assert.Contains("<auto " + SnapshotFormat.AutoLayout + ">", Shape(typeof(ValueTuple<int, long>)), StringComparison.Ordinal);
            Assert.DoesNotContain("<auto", Shape(typeof(LayoutSeq.Record)), StringComparison.Ordinal);
        }

        [Fact]
        public void Shape_OfAnAutoLayoutStructOfOneField_IsAsInVersion1()
        {
            // One field has one place: DateTime (declared Auto) keeps version 1's shape, and with
            // it every snapshot of a type that holds one.
            Assert.Equal(SnapshotType<long, long>.Shape(typeof(DateTime), ShapeRules.Version1), Shape(typeof(DateTime)));
            Assert.Equal(SnapshotType<DateTime, long>.Version1Fingerprint, SnapshotType<DateTime, long>.Fingerprint);
        }

        [Fact]
        public void Shape_OfAStructHoldingAnAutoLayoutStruct_CarriesItsAutoLayout()
        {
            Assert.Contains("<auto " + SnapshotFormat.AutoLayout + ">", Shape(typeof(HoldsATuple)), StringComparison.Ordinal);
            Assert.NotEqual(SnapshotType<HoldsATuple, long>.Version1Fingerprint, SnapshotType<HoldsATuple, long>.Fingerprint);
        }

        [Fact]
        public unsafe void ReadFrom_RefusesATypeWhoseLayoutKindChangedFromSequentialToAuto()
        {
            // One declaration, one size, the fields in one order: CoreCLR lays the Auto record out
            // long first (B@0, A@8, C@12), the Sequential one in declaration order (A@0, C@4, B@8).
            // A snapshot written while the type was Sequential (LayoutSeq.Record's, under
            // LayoutAut.Record's name) must be refused, not loaded with its fields' bytes moved.
            // (Found by review, 2026-12-07: version 1's fingerprint left the layout kind out.)
            var auto = default(LayoutAut.Record);
            var seq = default(LayoutSeq.Record);
            Assert.Equal(sizeof(LayoutSeq.Record), sizeof(LayoutAut.Record));
            using var source = new GoMap<LayoutSeq.Record, long> { [new LayoutSeq.Record { A = 1, C = 2, B = 3 }] = 4 };
            byte[] renamed = RenameType(Snap.Of(source), "LayoutSeq", "LayoutAut");
            string shape = Shape(typeof(LayoutSeq.Record)).Replace("LayoutSeq", "LayoutAut", StringComparison.Ordinal);
            byte[] crafted = Snap.Craft(renamed, s => BinaryPrimitives.WriteUInt64LittleEndian(s.AsSpan(32), Fnv1a(shape + "|" + Shape(typeof(long)))));

            var e = Assert.Throws<InvalidDataException>(() => Snap.Load<LayoutAut.Record, long>(crafted));
            Assert.Contains("not the same fields", e.Message, StringComparison.Ordinal);
            if (!TestNeeds.IsMono)
            {
                Assert.NotEqual((byte*)&seq.B - (byte*)&seq, (byte*)&auto.B - (byte*)&auto); // what the refusal protects
            }
        }

        [Fact]
        public void ReadFrom_RefusesAnAutoLayoutType_FromARuntimeThatOrdersItsFieldsOtherwise()
        {
            // A version-2 snapshot of (int, long) keys written where the runtime orders Auto
            // fields otherwise (Mono's declaration order under CoreCLR, CoreCLR's under Mono).
            string other = SnapshotFormat.AutoLayout == "0.8.16.20" ? "14.0.8.12" : "0.8.16.20";
            using var map = new GoMap<(int, long), long> { [(1, 2L)] = 3 };
            ulong otherFingerprint = Fnv1a(SnapshotType<long, long>.Shape(typeof(ValueTuple<int, long>), ShapeRules.Version2, other) + "|" + Shape(typeof(long)));
            byte[] crafted = Snap.Craft(Snap.Of(map), s => BinaryPrimitives.WriteUInt64LittleEndian(s.AsSpan(32), otherFingerprint));

            Assert.Contains("LayoutKind.Auto", Assert.Throws<InvalidDataException>(() => Snap.Load<(int, long), long>(crafted)).Message, StringComparison.Ordinal);
        }

        [Fact]
        public void ReadFrom_LoadsAVersion1SnapshotOfAnAutoLayoutType()
        {
            // Written before version 2 (its fingerprint without the runtime's order): loads as it
            // did, on the runtime that wrote it.
            using var map = new GoMap<(int, long), long>();
            for (int i = 0; i < 100; i++)
            {
                map[(i, -i * 1000L)] = i;
            }

            byte[] v1 = Snap.Craft(Snap.Of(map), s =>
            {
                BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(8), 1);
                BinaryPrimitives.WriteUInt64LittleEndian(s.AsSpan(32), SnapshotType<(int, long), long>.Version1Fingerprint);
            });
            using GoMap<(int, long), long> loaded = Snap.Load<(int, long), long>(v1);
            Assert.Equal(100, loaded.Count);
            Assert.Equal(42, loaded[(42, -42000L)]);
        }

        [Fact]
        public void ReadFrom_RefusesAVersion2SnapshotWithTheVersion1FingerprintOfAnAutoLayoutType()
        {
            // A version-2 header vouches for the runtime's order: without it, the order is unknown.
            using var map = new GoMap<(int, long), long> { [(1, 2L)] = 3 };
            byte[] crafted = Snap.Craft(Snap.Of(map), s => BinaryPrimitives.WriteUInt64LittleEndian(s.AsSpan(32), SnapshotType<(int, long), long>.Version1Fingerprint));
            Assert.Throws<InvalidDataException>(() => Snap.Load<(int, long), long>(crafted));
        }

        [Fact]
        public void Snapshot_OfTupleKeys_RoundTrips()
        {
            using var map = new GoMap<(int, long), (byte, long)>();
            for (int i = 0; i < 1000; i++)
            {
                map[(i, (long)i << 33)] = ((byte)i, -i);
            }

            using GoMap<(int, long), (byte, long)> loaded = Snap.Load<(int, long), (byte, long)>(Snap.Of(map));
            Assert.Equal(1000, loaded.Count);
            Assert.Equal(((byte)77, -77L), loaded[(77, 77L << 33)]);
        }

        private static byte[] RenameType(byte[] snapshot, string from, string to)
        {
            // Same length names only: the header's name lengths stay.
            Assert.Equal(from.Length, to.Length);
            return Snap.Craft(snapshot, s =>
            {
                byte[] f = System.Text.Encoding.UTF8.GetBytes(from);
                byte[] t = System.Text.Encoding.UTF8.GetBytes(to);
                for (int i = 48; i + f.Length <= Snap.HeaderLength(s) - 4; i++)
                {
                    if (s.AsSpan(i, f.Length).SequenceEqual(f))
                    {
                        t.CopyTo(s, i);
                    }
                }
            });
        }

        private static ulong Fnv1a(string s)
        {
            ulong h = 0xcbf29ce484222325UL;
            foreach (byte c in System.Text.Encoding.UTF8.GetBytes(s))
            {
                h = (h ^ c) * 0x100000001b3UL;
            }

            return h;
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

        /// <summary>A record declared Sequential: A@0, C@4, B@8 on every runtime.</summary>
        public static class LayoutSeq
        {
            public struct Record
            {
                public int A;
                public int C;
                public long B;
            }
        }

        /// <summary>The same record declared Auto (the same name length, for a renamed header): CoreCLR puts B first.</summary>
        public static class LayoutAut
        {
            [StructLayout(LayoutKind.Auto)]
            public struct Record
            {
                public int A;
                public int C;
                public long B;
            }
        }

        /// <summary>A Sequential struct holding a tuple (declared Auto).</summary>
        public struct HoldsATuple
        {
            public (int, long) T;
            public int X;
        }

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
