using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// Every native byte has one owner: the process-wide count returns exactly to its baseline
    /// after create/fill/clear/dispose and after the finalizer of an abandoned map; a map's own
    /// NativeBytes is exactly what it added to the process count; indirect key and value blocks
    /// leave with their entries. Runs alone (NativeMemory collection): it reads the global count.
    /// </summary>
    [Collection(NativeMemoryCollection.Name)]
    public class LeakTests
    {
        [Fact]
        public void AGrowthStartThatFindsTheMapCorrupt_AllocatesNothing()
        {
            // "oldoverflow is not empty" is reachable only in a map already corrupt; its check came
            // after the new array's allocation, which the throw then leaked (found by review).
            long baseline = LiveBytes.Settled();
            var map = new GoMap<long, long>(new GoMapOptions { Seed = 1 });
            map[0] = 0;
            long before = GoMapDiagnostics.LiveNativeBytes;
            map.OldOverflowListCountRefForTest = 1; // not growing, yet an old generation's list
            var e = Assert.Throws<InvalidOperationException>(() => map.EnsureCapacity(100_000));
            Assert.Contains("oldoverflow is not empty", e.Message);
            Assert.Equal(before, GoMapDiagnostics.LiveNativeBytes);
            map.OldOverflowListCountRefForTest = 0;
            map.Dispose();
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        [Fact]
        public void CreateFillClearDispose_LongLong_ReturnsToBaseline()
        {
            long baseline = LiveBytes.Settled();
            var map = new GoMap<long, long>(new GoMapOptions { Seed = 1 }, new LongModuloComparer(16));
            for (long k = 0; k < 5000; k++)
            {
                map[k] = k;
            }

            Assert.Equal(map.GetStats().NativeBytes, GoMapDiagnostics.LiveNativeBytes - baseline);
            map.Clear();
            Assert.Equal(map.GetStats().NativeBytes, GoMapDiagnostics.LiveNativeBytes - baseline);
            for (long k = 0; k < 3000; k++)
            {
                map[k] = k;
            }

            map.Dispose();
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        [Fact]
        public void GrowthsEndedInTheWriteThatStartsThem_ReturnToBaseline()
        {
            // Growths evacuated whole by one write (GoMap.BulkEvacuationMaxBytes, on for this map
            // only): their old generations are retired at once and released by later writes.
            long baseline = LiveBytes.Settled();
            var map = new GoMap<long, long>(new GoMapOptions { Seed = 4 });
            map.EvacuateInBulkForTest();
            for (long k = 0; k < 3000; k++)
            {
                map[k * 0x5851F42D4C957F2DL] = k;
                if (k % 500 == 0)
                {
                    Assert.Equal(map.GetStats().NativeBytes, GoMapDiagnostics.LiveNativeBytes - baseline);
                }
            }

            Assert.False(map.GetStats().IsGrowing);
            Assert.Equal(map.GetStats().NativeBytes, GoMapDiagnostics.LiveNativeBytes - baseline);
            map.Dispose();
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        [Fact]
        public void CreateFillClearDispose_IndirectKeysAndValues_ReturnsToBaseline()
        {
            long baseline = LiveBytes.Settled();
            var map = new GoMap<Blob200, Blob200>(new GoMapOptions { Seed = 2 });
            for (long k = 0; k < 1500; k++)
            {
                map[Blob200.Of(k)] = Blob200.Of(k);
            }

            for (long k = 0; k < 1500; k += 3)
            {
                map.Remove(Blob200.Of(k));
            }

            Assert.Equal(map.GetStats().NativeBytes, GoMapDiagnostics.LiveNativeBytes - baseline);
            map.Clear();
            for (long k = 0; k < 700; k++)
            {
                map[Blob200.Of(k)] = Blob200.Of(k);
            }

            map.Dispose();
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        [Fact]
        public void DisposeMidGrowth_ReturnsToBaseline()
        {
            long baseline = LiveBytes.Settled();
            var map = new GoMap<int, Blob200>(new GoMapOptions { Seed = 3 }, new ModuloComparer(8));
            for (int k = 0; !map.GetStats().IsGrowing || map.GetStats().B < 6; k++)
            {
                map[k] = Blob200.Of(k);
            }

            Assert.True(map.GetStats().IsGrowing);
            map.Dispose();
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        [Fact]
        public void NativeBytes_EqualsTheProcessCountDelta_AtEveryStage()
        {
            Seeded.Run(seed =>
            {
                var rng = new Random(seed);
                long baseline = LiveBytes.Settled();
                using var map = new GoMap<long, long>(new GoMapOptions { CapacityHint = 500, Seed = (ulong)seed }, new LongModuloComparer(50));
                Assert.Equal(map.GetStats().NativeBytes, GoMapDiagnostics.LiveNativeBytes - baseline);
                for (int op = 0; op < 30_000; op++)
                {
                    long k = rng.Next(3000);
                    if (rng.Next(3) == 0)
                    {
                        map.Remove(k);
                    }
                    else
                    {
                        map[k] = op;
                    }

                    if (rng.Next(10_000) == 0)
                    {
                        map.Clear();
                    }

                    Assert.Equal(map.GetStats().NativeBytes, GoMapDiagnostics.LiveNativeBytes - baseline);
                }

                map.Validate();
            });
        }

        [Fact]
        public void GrowthEnd_RetiresTheOldArrayAndItsOverflowChunks_TheNextWritesReleaseThem()
        {
            long baseline = LiveBytes.Settled();
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = 4 }, new LongModuloComparer(8));
            long k = 0;
            while (map.GetStats().B < 7 || !map.GetStats().IsGrowing)
            {
                map[k++] = 0;
            }

            Assert.True(map.OldOverflowChunkCount > 0, "precondition: the old generation owns overflow chunks");
            long growing = map.GetStats().NativeBytes;
            while (map.GetStats().IsGrowing)
            {
                map[0] = 1;
            }

            GoMapStats done = map.GetStats();
            Assert.Equal(0, map.OldOverflowChunkCount);
            Assert.True(done.DeferredBytes > 0, "the write that ended the growth released the old generation itself");
            long owned = done.NativeBytes - done.DeferredBytes;
            Assert.True(owned < growing, $"growth ended but the bytes the map owns went {growing} -> {owned}");
            Assert.Equal(done.NativeBytes, GoMapDiagnostics.LiveNativeBytes - baseline);

            Release.Drain(map, () => map[0] = 1);
            Assert.Equal(owned, map.GetStats().NativeBytes);
            Assert.Equal(owned, GoMapDiagnostics.LiveNativeBytes - baseline);
            map.Validate();
        }

        [Fact]
        public void DisposeHalfwayThroughAReleaseOfSmallBlocks_LeavesNothingBehind()
        {
            long baseline = LiveBytes.Settled();
            GoMap<long, BigValue> map = Release.FullMapWithRetiredBlocks(1000);
            map[0] = BigValue.Of(0);
            map[0] = BigValue.Of(0); // two release steps of the ~32 needed
            Assert.Equal(2, map.Work.ReleaseSteps);
            Assert.True(map.GetStats().DeferredBytes > 0);
            map.Dispose();
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        [Fact]
        public unsafe void DisposeHalfwayThroughTheReleaseOfABigArray_LeavesNothingBehind()
        {
            // The old array of a B = 15 -> 16 growth is a mapping of its own that release steps
            // cut from its tail: Dispose must free what is left of a partly released mapping.
            using IDisposable piecewise = Release.PiecewiseGrowthArrays();
            long baseline = LiveBytes.Settled();
            GoMap<long, long> map = Release.GrownToB15(new GoMapOptions { Seed = 8 }, out long k);
            while (!map.GetStats().IsGrowing)
            {
                map[k] = k;
                k++;
            }

            long arrayBytes = NativeHeap.ChargedSize(map.OldBucketArray);
            IterationHelpers.FinishGrowth(map, 0L, 0L);
            map[0] = 0; // a release step: old chunks first
            for (int w = 0; OsMemory.Supported && w < 1000 && map.GetStats().DeferredBytes >= arrayBytes; w++)
            {
                map[0] = 0; // then the array's tail (without mappings the array is freed whole)
            }

            Assert.True(map.GetStats().DeferredBytes > 0, "the release ended before the test could interrupt it");
            if (OsMemory.Supported)
            {
                Assert.True(map.GetStats().DeferredBytes < arrayBytes, "no piece of the array was released");
                Assert.Equal(1, map.DeferredBlockCount + map.QueuedBlockCount);
            }

            map.Dispose();
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        /// <summary>
        /// Starts the release of 1000 retired blocks, interrupts it with <paramref name="interrupt"/>,
        /// and lets <paramref name="write"/> (which must retire nothing) finish it: the map then
        /// validates, holds exactly what the process count says, and leaves nothing behind when disposed.
        /// </summary>
        private static void InterruptARelease(Action<GoMap<long, BigValue>> interrupt, Action<GoMap<long, BigValue>> write)
        {
            long baseline = LiveBytes.Settled();
            GoMap<long, BigValue> map = Release.FullMapWithRetiredBlocks(1000);
            map[0] = BigValue.Of(0); // one release step of the ~32 needed
            Assert.True(map.QueuedBlockCount > 0, "precondition: the release is under way");
            interrupt(map);
            Assert.True(map.GetStats().DeferredBytes > 0);
            Release.Drain(map, () => write(map));
            Assert.Equal(map.GetStats().NativeBytes, GoMapDiagnostics.LiveNativeBytes - baseline);
            map.Validate();
            map.Dispose();
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        [Fact]
        public void ClearBeforeAReleaseFinished_LeavesNothingBehind() =>
            InterruptARelease(
                map =>
                {
                    map.Clear(); // frees the live value blocks at once (no enumerator), retires the overflow chunks
                    Assert.Equal(0L, map.LongCount);
                },
                map =>
                {
                    map[1] = default;
                    map.Remove(1);
                });

        [Fact]
        public void ANewGrowthStartedBeforeAReleaseFinished_LeavesNothingBehind() =>
            InterruptARelease(
                map =>
                {
                    map[Release.FullAtB9] = BigValue.Of(Release.FullAtB9); // starts a growth
                    Assert.True(map.GetStats().IsGrowing);
                    IterationHelpers.FinishGrowth(map, 0L, BigValue.Of(0)); // and ends it: its old generation is retired too
                    Assert.Equal(Release.FullAtB9 + 1, map.Count);
                },
                map => map[0] = BigValue.Of(0));

        [Fact]
        public void Remove_FreesTheIndirectKeyAndValueBlocks()
        {
            long baseline = LiveBytes.Settled();
            using var map = new GoMap<Blob200, Blob200>(GoGrowth.HintFor(6));
            for (long k = 0; k < 400; k++)
            {
                map[Blob200.Of(k)] = Blob200.Of(k);
            }

            Assert.False(map.GetStats().IsGrowing);
            for (long k = 0; k < 400; k++)
            {
                long before = map.GetStats().NativeBytes;
                Assert.True(map.Remove(Blob200.Of(k)));
                long freed = before - map.GetStats().NativeBytes;
                Assert.InRange(freed, 2 * 200, 2 * (200 + 64)); // one key block, one value block, headers
                Assert.Equal(map.GetStats().NativeBytes, GoMapDiagnostics.LiveNativeBytes - baseline);
            }

            Assert.Equal(0L, map.LongCount);
        }

        [Fact]
        public void Remove_OfAnIndirectValueOnly_FreesOneBlock()
        {
            long baseline = LiveBytes.Settled();
            using var map = new GoMap<long, Blob200>(GoGrowth.HintFor(4));
            for (long k = 0; k < 50; k++)
            {
                map[k] = Blob200.Of(k);
            }

            long before = map.GetStats().NativeBytes;
            map.Remove(7);
            Assert.InRange(before - map.GetStats().NativeBytes, 200, 200 + 64);
            Assert.Equal(map.GetStats().NativeBytes, GoMapDiagnostics.LiveNativeBytes - baseline);
        }

        [Fact]
        public void Update_OfAnIndirectValue_AllocatesNothing()
        {
            using var map = new GoMap<Blob200, Blob200>(GoGrowth.HintFor(4));
            map[Blob200.Of(1)] = Blob200.Of(1);
            long bytes = map.GetStats().NativeBytes;
            long allocations = NativeHeap.AllocationCount;
            for (long v = 0; v < 100; v++)
            {
                map[Blob200.Of(1)] = Blob200.Of(v);
            }

            Assert.Equal(allocations, NativeHeap.AllocationCount);
            Assert.Equal(bytes, map.GetStats().NativeBytes);
            Assert.Equal(99, map[Blob200.Of(1)].Id);
        }

        [Fact]
        public void Clear_FreesEveryIndirectBlock()
        {
            long baseline = LiveBytes.Settled();
            using var map = new GoMap<Blob200, Blob200>(GoGrowth.HintFor(6));
            long bare = map.GetStats().NativeBytes;
            for (long k = 0; k < 400; k++)
            {
                map[Blob200.Of(k)] = Blob200.Of(k);
            }

            Assert.True(map.GetStats().NativeBytes >= bare + (400 * 2 * 200));
            map.Clear();

            // No enumerator can read them: the indirect blocks are freed by the Clear itself;
            // only overflow chunks wait for the next writes.
            GoMapStats cleared = map.GetStats();
            Assert.Equal(bare, cleared.NativeBytes - cleared.DeferredBytes);
            Assert.Equal(cleared.NativeBytes, GoMapDiagnostics.LiveNativeBytes - baseline);
            Release.Drain(map, () =>
            {
                map[Blob200.Of(1)] = default;
                map.Remove(Blob200.Of(1));
            });
            Assert.Equal(bare, map.GetStats().NativeBytes);
            Assert.Equal(bare, GoMapDiagnostics.LiveNativeBytes - baseline);
        }

        [Fact]
        public void AbandonedMap_IsFreedByItsFinalizer()
        {
            long baseline = LiveBytes.Settled();
            long held = CreateAndAbandon();
            Assert.True(held > 0);
            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static long CreateAndAbandon()
        {
            var map = new GoMap<Blob200, long>(new GoMapOptions { Seed = 5 }, null);
            for (long k = 0; !map.GetStats().IsGrowing || map.GetStats().B < 5; k++)
            {
                map[Blob200.Of(k)] = k;
            }

            return map.GetStats().NativeBytes;
        }

        [Fact]
        public void AbandonedMaps_OfManyShapes_AreAllFreedByFinalizers()
        {
            long baseline = LiveBytes.Settled();
            AbandonMany();
            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void AbandonMany()
        {
            _ = new GoMap<int, int>(1000);
            var a = new GoMap<int, int>();
            a[1] = 1;
            var b = new GoMap<long, long>(new GoMapOptions { Seed = 1 }, ConstantHashComparer<long>.Instance);
            for (long k = 0; k < 200; k++)
            {
                b[k] = k;
            }

            var c = new GoMap<Blob200, Blob200>();
            c[Blob200.Of(1)] = Blob200.Of(2);
            c.Clear();
            c[Blob200.Of(3)] = Blob200.Of(4);
        }

        [Fact]
        public void UnsupportedKeyType_ConstructorHoldsNoMemory()
        {
            long baseline = LiveBytes.Settled();
            ConstructUnsupported();
            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void ConstructUnsupported() =>
            Assert.Throws<NotSupportedException>(() => new GoMap<KeyTypeTests.PaddedPlain, int>(100_000));

        [Fact]
        public void EmptiedByRemoves_KeepsOnlyItsArrayAndOverflowBuckets()
        {
            // Deletes never free buckets (Go's do not either); the map's bytes after emptying are
            // the array plus the overflow buckets it has taken (linked, or unlinked as spares once
            // emptied: NOverflow counts both), and nothing of the removed indirect entries.
            long baseline = LiveBytes.Settled();
            using var map = new GoMap<long, Blob200>(new GoMapOptions { CapacityHint = 100, Seed = 1 });
            long bare = map.GetStats().NativeBytes;
            for (long k = 0; k < 100; k++)
            {
                map[k] = Blob200.Of(k);
            }

            for (long k = 0; k < 100; k++)
            {
                map.Remove(k);
            }

            long overflowBytes = map.GetStats().NativeBytes - bare;
            Assert.InRange(overflowBytes, 0, (map.GetStats().NOverflow * (144 + 64)) + 256);
            Assert.Equal(map.GetStats().NativeBytes, GoMapDiagnostics.LiveNativeBytes - baseline);
        }
    }
}
