using System;
using System.Collections.Generic;
using System.IO;
using System.Numerics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// The netstandard2.1 build must behave as the .NET builds do. This suite runs against every
    /// build (tests/NativeGoMap.Tests.NetStandard, .Tests.Net8 on .NET 8's runtime, .Tests.Mono):
    /// these tests pin down the pieces that differ between the builds (src/NativeGoMap/Compat)
    /// against the real .NET APIs the test host has.
    /// </summary>
    public unsafe class CompatTests
    {
#if NATIVEGOMAP_NETSTANDARD
        private const string ExpectedLibraryTarget = ".NETStandard,Version=v2.1";
#elif NATIVEGOMAP_NET8
        private const string ExpectedLibraryTarget = ".NETCoreApp,Version=v8.0";
#else
        private const string ExpectedLibraryTarget = ".NETCoreApp,Version=v10.0";
#endif

        [Fact]
        public void TheLibraryUnderTest_IsTheBuildThisTestProjectNames()
        {
            string? target = typeof(GoMap<,>).Assembly.GetCustomAttribute<TargetFrameworkAttribute>()?.FrameworkName;
            Assert.Equal(ExpectedLibraryTarget, target);
        }

#if NATIVEGOMAP_NET8
        [Fact]
        public void TheRuntime_IsDotNet8_NotALaterOneRolledForwardTo()
        {
            Assert.Equal(8, Environment.Version.Major);
        }
#endif

#if NET8_0_OR_GREATER
        [Fact]
        public void PortableBigMul_Is_The128BitProduct_AndEveryPathOfTheHashMixAgrees()
        {
            var rng = new Random(11);
            var values = new List<ulong> { 0, 1, 2, uint.MaxValue, (ulong)uint.MaxValue + 1, ulong.MaxValue, ulong.MaxValue - 1, 1UL << 63 };
            for (int i = 0; i < 10_000; i++)
            {
                values.Add((ulong)rng.NextInt64() ^ ((ulong)rng.Next() << 40));
            }

            foreach (ulong a in values)
            {
                ulong b = values[(int)(a % (ulong)values.Count)];
                UInt128 expected = (UInt128)a * b;
                ulong hi = WideMath.Portable(a, b, out ulong lo);
                Assert.Equal((ulong)(expected >> 64), hi);
                Assert.Equal((ulong)expected, lo);
                Assert.Equal(hi ^ lo, WideMath.HighXorLow(a, b)); // mulx here, the same bits as the portable form

            }
        }

        [Fact]
        public void HalfBits_Equal_IsHalfEquals()
        {
            // Every half against the values its equality could confuse it with.
            for (int a = 0; a <= ushort.MaxValue; a++)
            {
                foreach (int b in new[] { a, a ^ 0x8000, (a + 1) & 0xFFFF, (a - 1) & 0xFFFF, 0x0000, 0x8000, 0x7C00, 0xFC00, 0x7E00, 0x7C01, 0xFFFF })
                {
                    Half x = BitConverter.UInt16BitsToHalf((ushort)a);
                    Half y = BitConverter.UInt16BitsToHalf((ushort)b);
                    Assert.Equal(x.Equals(y), HalfBits.Equal((ushort)a, (ushort)b));
                }
            }
        }
#endif

        [FactNeeding(Needs.FunctionPointerFields)]
        public void KeysWithPointerFields_AreComparedByBytes()
        {
            Assert.Equal(KeyKind.Bytes, KeyOps<PointerKey>.Kind);
            Assert.Equal(KeyKind.Bytes, KeyOps<FunctionPointerKey>.Kind);
            int x = 0;
            using var map = new GoMap<PointerKey, int> { [new PointerKey { P = &x, Tag = 1 }] = 5 };
            Assert.Equal(5, map[new PointerKey { P = &x, Tag = 1 }]);
            Assert.False(map.ContainsKey(new PointerKey { P = &x, Tag = 2 }));
            using var functions = new GoMap<FunctionPointerKey, int> { [new FunctionPointerKey { F = &Target }] = 6 };
            Assert.Equal(6, functions[new FunctionPointerKey { F = &Target }]);
        }

        [Fact]
        public void ProcessWideBarrier_IsAvailableHere_SoMapsConstruct()
        {
            Assert.Null(ProcessWideBarrier.Unavailable);
            ProcessWideBarrier.EnsureAvailable();
        }

        [Fact]
        public void FirstSlotAndCountLive_MatchNaiveCounts()
        {
            var rng = new Random(3);
            for (int i = 0; i < 20_000; i++)
            {
                ulong word = (ulong)rng.NextInt64();
                if (i % 3 == 0)
                {
                    word &= 0x0707070707070707UL; // many marks (0..4) and low tophash values
                }

                int live = 0;
                int first = 8;
                for (int slot = 7; slot >= 0; slot--)
                {
                    byte top = (byte)(word >> (slot * 8));
                    live += top >= MapMath.MinTopHash ? 1 : 0;
                    first = top != 0 ? slot : first;
                }

                Assert.Equal(live, MapMath.CountLive(word));
                if (word != 0)
                {
                    Assert.Equal(first, MapMath.FirstSlot(word));
                }
            }
        }

#if NET8_0_OR_GREATER
        [Fact]
        public void FirstSlotOfBits_IsTheLowestSlotOfEveryMatchMask()
        {
            // Every candidate mask (bits 0..7) with every chain-end half (bits 8..15).
            for (uint low = 1; low < 256; low++)
            {
                for (uint end = 0; end < 256; end += 17)
                {
                    uint bits = low | (end << 8);
                    Assert.Equal(System.Numerics.BitOperations.TrailingZeroCount(low), MapMath.FirstSlotOfBits(bits));
                }
            }
        }
#endif

#if NATIVEGOMAP_NETSTANDARD
#if NET8_0_OR_GREATER
        [Fact]
        public void BitOperationsShim_AgreesWithBitOperations()
        {
            var rng = new Random(5);
            var values = new List<ulong> { 0, ulong.MaxValue, 1UL << 63, uint.MaxValue };
            for (int bit = 0; bit < 64; bit++)
            {
                values.Add(1UL << bit);
                values.Add((1UL << bit) - 1);
                values.Add(~(1UL << bit));
            }

            for (int i = 0; i < 10_000; i++)
            {
                values.Add((ulong)rng.NextInt64() >> rng.Next(64));
            }

            foreach (ulong v in values)
            {
                uint u = (uint)v;
                Assert.Equal(System.Numerics.BitOperations.TrailingZeroCount(v), NativeGoMap.BitOperations.TrailingZeroCount(v));
                Assert.Equal(System.Numerics.BitOperations.TrailingZeroCount(u), NativeGoMap.BitOperations.TrailingZeroCount(u));
                Assert.Equal(System.Numerics.BitOperations.TrailingZeroCount((long)v), NativeGoMap.BitOperations.TrailingZeroCount((long)v));
                Assert.Equal(System.Numerics.BitOperations.TrailingZeroCount((int)u), NativeGoMap.BitOperations.TrailingZeroCount((int)u));
                Assert.Equal(System.Numerics.BitOperations.LeadingZeroCount(v), NativeGoMap.BitOperations.LeadingZeroCount(v));
                Assert.Equal(System.Numerics.BitOperations.LeadingZeroCount(u), NativeGoMap.BitOperations.LeadingZeroCount(u));
                Assert.Equal(System.Numerics.BitOperations.Log2(v), NativeGoMap.BitOperations.Log2(v));
                Assert.Equal(System.Numerics.BitOperations.Log2(u), NativeGoMap.BitOperations.Log2(u));
                Assert.Equal(System.Numerics.BitOperations.PopCount(v), NativeGoMap.BitOperations.PopCount(v));
                Assert.Equal(System.Numerics.BitOperations.PopCount(u), NativeGoMap.BitOperations.PopCount(u));
                Assert.Equal(System.Numerics.BitOperations.IsPow2(v), NativeGoMap.BitOperations.IsPow2(v));
                int r = (int)(v % 64);
                Assert.Equal(System.Numerics.BitOperations.RotateLeft(v, r), NativeGoMap.BitOperations.RotateLeft(v, r));
                Assert.Equal(System.Numerics.BitOperations.RotateRight(v, r), NativeGoMap.BitOperations.RotateRight(v, r));
            }
        }
#endif

        [Fact]
        public void NativeMemoryShim_BindsTheCRuntimeAllocator()
        {
            Assert.Equal(RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "Ucrt" : "Libc", NativeGoMap.NativeMemory.Allocator);
        }

        [Fact]
        public void NativeMemoryShim_AllocatesZeroesFillsCopiesAndFrees()
        {
            const int N = 1 << 20;
            byte* z = (byte*)NativeGoMap.NativeMemory.AllocZeroed(N);
            byte* a = (byte*)NativeGoMap.NativeMemory.Alloc(N);
            try
            {
                Assert.True(new ReadOnlySpan<byte>(z, N).IndexOfAnyExcept((byte)0) < 0);
                NativeGoMap.NativeMemory.Fill(a, N, 0xAB);
                Assert.True(new ReadOnlySpan<byte>(a, N).IndexOfAnyExcept((byte)0xAB) < 0);
                NativeGoMap.NativeMemory.Copy(a, z + 1, N - 1); // overlapping-safe, shifted by one
                Assert.Equal(0, z[0]);
                Assert.True(new ReadOnlySpan<byte>(z + 1, N - 1).IndexOfAnyExcept((byte)0xAB) < 0);
                NativeGoMap.NativeMemory.Clear(a, N);
                Assert.True(new ReadOnlySpan<byte>(a, N).IndexOfAnyExcept((byte)0) < 0);
            }
            finally
            {
                NativeGoMap.NativeMemory.Free(a);
                NativeGoMap.NativeMemory.Free(z);
                NativeGoMap.NativeMemory.Free(null);
            }
        }

        [Fact]
        public void NetStandardBuild_UsesNoReadOnlySpanMemberMonoCannotBind()
        {
            // Mono 6.8 cannot bind these from a netstandard2.1 assembly: their ref readonly return
            // carries a modreq its corlib lacks, and the call throws MissingMethodException. The
            // Mono smoke finds them only on the paths it runs; this finds them anywhere.
            var forbidden = new HashSet<string> { "ReadOnlySpan`1.get_Item", "ReadOnlySpan`1.GetPinnableReference", "ReadOnlySpan`1/Enumerator.get_Current" };
            using var pe = new System.Reflection.PortableExecutable.PEReader(File.OpenRead(typeof(GoMap<,>).Assembly.Location));
            System.Reflection.Metadata.MetadataReader md = System.Reflection.Metadata.PEReaderExtensions.GetMetadataReader(pe);
            var found = new List<string>();
            foreach (System.Reflection.Metadata.MemberReferenceHandle h in md.MemberReferences)
            {
                System.Reflection.Metadata.MemberReference m = md.GetMemberReference(h);
                string name = TypeName(md, m.Parent) + "." + md.GetString(m.Name);
                if (forbidden.Contains(name))
                {
                    found.Add(name);
                }
            }

            Assert.Empty(found);
        }

        /// <summary>Name of a member reference's parent: a type reference (Outer/Nested) or a generic instantiation of one.</summary>
        private static string TypeName(System.Reflection.Metadata.MetadataReader md, System.Reflection.Metadata.EntityHandle parent)
        {
            if (parent.Kind == System.Reflection.Metadata.HandleKind.TypeSpecification)
            {
                System.Reflection.Metadata.BlobReader blob = md.GetBlobReader(md.GetTypeSpecification((System.Reflection.Metadata.TypeSpecificationHandle)parent).Signature);
                if (blob.ReadSignatureTypeCode() != System.Reflection.Metadata.SignatureTypeCode.GenericTypeInstance)
                {
                    return "";
                }

                blob.ReadCompressedInteger(); // CLASS or VALUETYPE
                parent = blob.ReadTypeHandle();
            }

            if (parent.Kind != System.Reflection.Metadata.HandleKind.TypeReference)
            {
                return "";
            }

            System.Reflection.Metadata.TypeReference t = md.GetTypeReference((System.Reflection.Metadata.TypeReferenceHandle)parent);
            string name = md.GetString(t.Name);
            return t.ResolutionScope.Kind == System.Reflection.Metadata.HandleKind.TypeReference
                ? TypeName(md, t.ResolutionScope) + "/" + name
                : name;
        }

#if NET8_0_OR_GREATER
        [Fact]
        public void CoreTypes_AreFoundByName_OnARuntimeThatHasThem()
        {
            Assert.Same(typeof(Half), CoreTypes.Half);
            Assert.Same(typeof(Int128), CoreTypes.Int128);
            Assert.Same(typeof(UInt128), CoreTypes.UInt128);
        }
#endif
#endif

        private static void Target()
        {
        }

        private struct PointerKey
        {
            public void* P;
            public long Tag;
        }

        private struct FunctionPointerKey
        {
            public delegate*<void> F;
        }
    }
}
