using System;
using System.Threading;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// Release steps (GoMap.Memory.cs): what a write or the end of an enumerator retires is
    /// released by the writes that follow, one bounded step per write (up to 32 small blocks, or a
    /// piece of a big array's tail), so that no write pays for a whole generation, and never by
    /// the write that retired it, so that an operation racing that write still reads mapped memory.
    /// </summary>
    public class ReleaseStepTests
    {
        /// <summary>Largest block one of the maps below retires: a 200-byte value block or a full overflow chunk, with headers.</summary>
        private const long MaxSmallBlockBytes = 64 * 1024;

        [Fact]
        public void EachReleaseStep_FreesAtMost32Blocks_OneStepPerWrite()
        {
            using GoMap<long, BigValue> map = Release.FullMapWithRetiredBlocks(1000);
            int writes = 0;
            while (map.DeferredBlockCount + map.QueuedBlockCount > 0)
            {
                int blocks = map.DeferredBlockCount + map.QueuedBlockCount;
                WorkCounters before = map.Work;
                GoMapStats stats = map.GetStats();
                map[0] = BigValue.Of(0); // an update retires nothing
                writes++;

                int freed = blocks - (map.DeferredBlockCount + map.QueuedBlockCount);
                long released = map.Work.ReleasedBytes - before.ReleasedBytes;
                Assert.Equal(before.ReleaseSteps + 1, map.Work.ReleaseSteps);
                Assert.Equal(Math.Min(Release.BlocksPerStep, blocks), freed);
                Assert.InRange(released, freed * 200L, freed * MaxSmallBlockBytes);
                Assert.Equal(stats.NativeBytes - released, map.GetStats().NativeBytes);
                Assert.Equal(stats.DeferredBytes - released, map.GetStats().DeferredBytes);
            }

            Assert.Equal((1000 + Release.BlocksPerStep - 1) / Release.BlocksPerStep, writes);
            Assert.Equal(0, map.GetStats().DeferredBytes);
            map.Validate();
        }

        [Fact]
        public void EachReleaseStep_StopsOnce32KiBOfSmallBlocksAreFreed()
        {
            // 2 KiB values are indirect blocks: 32 of them would be 64 KiB, so the byte budget
            // (ReleaseBudgetSmallBytes), not the block count, ends each step, after the block
            // that reaches it.
            using var map = new GoMap<long, Value2K>(new GoMapOptions { Seed = 4 });
            for (long k = 0; k < 200; k++)
            {
                map[k] = default;
            }

            IterationHelpers.FinishGrowth(map, 0L, default(Value2K));
            Release.Drain(map, () => map[0] = default);
            GoMap<long, Value2K>.Enumerator e = map.GetEnumerator();
            Assert.True(e.MoveNext());
            for (long k = 100; k < 200; k++)
            {
                Assert.True(map.Remove(k)); // deferred: e may still look these up
            }

            e.Dispose();
            Assert.Equal(100, map.DeferredBlockCount + map.QueuedBlockCount);
            int writes = 0;
            while (map.DeferredBlockCount + map.QueuedBlockCount > 0)
            {
                int blocks = map.DeferredBlockCount + map.QueuedBlockCount;
                long releasedBefore = map.Work.ReleasedBytes;
                map[0] = default; // an update retires nothing
                writes++;

                int freed = blocks - (map.DeferredBlockCount + map.QueuedBlockCount);
                long released = map.Work.ReleasedBytes - releasedBefore;
                long block = released / Math.Max(1, freed); // the blocks are all one size
                Assert.True(freed >= 1, $"step {writes} freed nothing");
                Assert.True(released - block < Release.SmallBytesPerStep, $"step {writes} went on past {Release.SmallBytesPerStep} bytes: {freed} blocks, {released} bytes");
                if (map.DeferredBlockCount + map.QueuedBlockCount > 0)
                {
                    Assert.True(released >= Release.SmallBytesPerStep, $"step {writes} stopped early: {freed} blocks, {released} bytes");
                }
            }

            Assert.True(writes > (100 + Release.BlocksPerStep - 1) / Release.BlocksPerStep, $"{writes} writes released 100 blocks of 2 KiB");
            map.Validate();
        }

        /// <summary>A value of 2 KiB: stored in a block of its own (indirect), each a small block of the release queue.</summary>
        private unsafe struct Value2K
        {
            public fixed byte Bytes[2048];
        }

        [Fact]
        public void TheEndOfABigGrowth_IsReleasedOverSeveralWrites_AHugePageAtATime()
        {
            // B = 15 -> 16 for <long,long>: the old array is 5.4 MB, a mapping of its own, which
            // release steps return from its tail a huge page at a time.
            using IDisposable piecewise = Release.PiecewiseGrowthArrays();
            using GoMap<long, long> map = Release.GrownToB15(new GoMapOptions { Seed = 3 }, out long k);
            while (!map.GetStats().IsGrowing)
            {
                map[k] = k;
                k++;
            }

            while (map.GetStats().IsGrowing)
            {
                map[0] = 0;
            }

            GoMapStats ended = map.GetStats();
            long retired = ended.DeferredBytes;
            Assert.True(retired > 2 * Release.BytesPerStep, $"only {retired} bytes retired");
            long releasedBefore = map.Work.ReleasedBytes;
            int bound = Release.MaxWritesToRelease(map);
            int writes = 0;
            int arraySteps = 0;
            while (map.GetStats().DeferredBytes != 0)
            {
                Assert.True(writes < bound, $"the release took more than {bound} writes");
                int blocks = map.DeferredBlockCount + map.QueuedBlockCount;
                WorkCounters before = map.Work;
                long nativeBefore = map.GetStats().NativeBytes;
                map[0] = 0;
                writes++;

                int freed = blocks - (map.DeferredBlockCount + map.QueuedBlockCount);
                long released = map.Work.ReleasedBytes - before.ReleasedBytes;
                Assert.Equal(before.ReleaseSteps + 1, map.Work.ReleaseSteps);
                Assert.InRange(freed, 0, Release.BlocksPerStep);
                Assert.Equal(nativeBefore - released, map.GetStats().NativeBytes);
                if (!OsMemory.Supported)
                {
                    continue; // without mappings a big array is one C-heap block, freed whole
                }

                if (blocks == 1)
                {
                    // Only the old array is left. Every piece is at most one huge page; the last
                    // step parks (Go) or unmaps (Strict) what is left: its first page.
                    arraySteps++;
                    Assert.True(released <= (freed == 1 ? 2 : 1) * Release.BytesPerStep, $"step {writes} released {released} bytes of the array");
                }
                else
                {
                    Assert.True(released <= (freed * MaxSmallBlockBytes) + Release.BytesPerStep, $"step {writes} released {released} bytes with {freed} blocks");
                }
            }

            if (OsMemory.Supported)
            {
                Assert.True(writes >= 3, $"the old generation was released in {writes} writes");
                Assert.True(arraySteps >= 1, "no step released a piece of the array alone");
            }

            // Go mode keeps the emptied mapping's first page mapped until the next growth starts.
            Assert.Equal(OsMemory.Supported ? (long)OsMemory.Page : 0L, map.ParkedBytes);
            Assert.Equal(retired, map.Work.ReleasedBytes - releasedBefore + map.ParkedBytes);
            Assert.Equal(ended.NativeBytes - retired + map.ParkedBytes, map.GetStats().NativeBytes);
            map.Validate();
        }

        /// <summary>Grows a map whose array is mapped (from key <paramref name="k"/> on), runs the growth and its release steps to the end; returns the next key.</summary>
        private static long GrowAndRelease(GoMap<long, long> map, long k)
        {
            while (!map.GetStats().IsGrowing)
            {
                map[k] = k;
                k++;
            }

            while (map.GetStats().IsGrowing || map.GetStats().DeferredBytes != 0)
            {
                map[0] = 0;
            }

            return k;
        }

        private static void GrowOnce(GoMap<long, long> map, ref long k)
        {
            int growths = (int)map.Work.GrowthStarts;
            while (map.Work.GrowthStarts == growths)
            {
                map[k] = k;
                k++;
            }
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void AnEmptiedBigArray_StaysMappedInGoMode_ThroughAGrowthStartWithinTheGracePeriod(ConcurrencyChecks checks)
        {
            using IDisposable piecewise = Release.PiecewiseGrowthArrays();
            bool parks = OsMemory.Supported && checks == ConcurrencyChecks.Go;
            long parked = Timed.WithinWindow(GoMap<long, long>.ParkedGraceMilliseconds, () =>
            {
                using GoMap<long, long> map = Release.GrownToB15(new GoMapOptions { Seed = 5, ConcurrencyChecks = checks }, out long next);

                // Started before the writes that park (and stamp) the array: a check made within the
                // grace period by this clock is within it by the stamp's. The growth takes 50-200 ms
                // here; on a machine so loaded that it took longer than the grace, an unmap is right.
                var clock = System.Diagnostics.Stopwatch.StartNew();
                long k = GrowAndRelease(map, next);
                Assert.Equal(parks ? (long)OsMemory.Page : 0L, map.ParkedBytes);
                GrowOnce(map, ref k);
                long parkedNow = map.ParkedBytes;
                long elapsed = clock.ElapsedMilliseconds;
                map.Validate();
                return (elapsed, parkedNow);
            });
            Assert.Equal(parks ? (long)OsMemory.Page : 0L, parked);
        }

        [FactNeeding(Needs.Mappings)] // only the library's own mappings park
        public void AnEmptiedBigArray_IsUnmappedByAGrowthStartAfterTheGracePeriod()
        {
            using IDisposable piecewise = Release.PiecewiseGrowthArrays();
            using GoMap<long, long> map = Release.GrownToB15(new GoMapOptions { Seed = 5 }, out long next);
            long k = GrowAndRelease(map, next);
            Assert.Equal((long)OsMemory.Page, map.ParkedBytes); // parked: what the growth start below must unmap
            Thread.Sleep(1100);
            GrowOnce(map, ref k);
            Assert.Equal(0L, map.ParkedBytes);
            map.Validate();
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public unsafe void TheWriteThatEndsAGrowth_ReleasesNoneOfTheOldGeneration(ConcurrencyChecks checks)
        {
            // Colliding keys: the old generation owns overflow chunks besides its array.
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = 6, ConcurrencyChecks = checks }, new LongModuloComparer(8));
            long k = 0;
            while (map.GetStats().B < 5 || !map.GetStats().IsGrowing)
            {
                map[k] = k;
                k++;
            }

            Assert.True(map.OldOverflowChunkCount > 0);
            while (true)
            {
                byte* old = map.OldBucketArray;
                long oldChunks = map.OldOverflowChunkCount;
                GoMapStats before = map.GetStats();
                WorkCounters work = map.Work;
                map[0] = 0;
                if (map.Work.GrowthEnds == work.GrowthEnds)
                {
                    continue;
                }

                Assert.Equal(0, before.DeferredBytes); // earlier retirements are released by now
                Assert.Equal(work.ReleaseSteps, map.Work.ReleaseSteps);
                Assert.Equal(work.ReleasedBytes, map.Work.ReleasedBytes);
                Assert.Equal(oldChunks + 1, map.DeferredBlockCount); // the array and every old chunk
                Assert.True(NativeHeapBlock.IsLive(old), "the write that ended the growth freed the old array");
                Assert.True(map.GetStats().DeferredBytes >= NativeHeap.ChargedSize(old));
                break;
            }

            Assert.True(Release.Drain(map, () => map[0] = 0) > 0);
            map.Validate();
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void ClearReleasesNoneOfTheChunksItRetires_TheNextWritesDo(ConcurrencyChecks checks)
        {
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = 7, ConcurrencyChecks = checks }, new LongModuloComparer(4));
            for (long k = 0; k < 600; k++)
            {
                map[k] = k;
            }

            IterationHelpers.FinishGrowth(map, 0L, 0L);
            Release.Drain(map, () => map[0] = 0);
            long chunks = map.OverflowChunkCount;
            Assert.True(chunks > 0);
            WorkCounters work = map.Work;

            map.Clear();
            Assert.Equal(work.ReleaseSteps, map.Work.ReleaseSteps);
            Assert.Equal(chunks, map.DeferredBlockCount);

            map[1] = 1;
            Assert.Equal(work.ReleaseSteps + 1, map.Work.ReleaseSteps);
            Release.Drain(map, () => map[1] = 1);
            map.Validate();
        }

        [Fact]
        public void WhileAnEnumeratorLives_WritesReleaseNothingItMayRead()
        {
            using GoMap<long, BigValue> map = Release.FullMapWithRetiredBlocks(0);
            GoMap<long, BigValue>.Enumerator e = map.GetEnumerator();
            Assert.True(e.MoveNext());
            for (long k = 100; k < 200; k++)
            {
                Assert.True(map.Remove(k)); // deferred: e may still look these up
            }

            long deferred = map.GetStats().DeferredBytes;
            long steps = map.Work.ReleaseSteps;
            for (int w = 0; w < 100; w++)
            {
                map[0] = BigValue.Of(0);
            }

            Assert.Equal(deferred, map.GetStats().DeferredBytes);
            Assert.Equal(steps, map.Work.ReleaseSteps);
            e.Dispose();
            Assert.Equal((100 + Release.BlocksPerStep - 1) / Release.BlocksPerStep, Release.Drain(map, () => map[0] = BigValue.Of(0)));
        }
    }

    /// <summary>Reads a NativeHeap block header (NativeHeap.cs draws it) without touching the block.</summary>
    internal static unsafe class NativeHeapBlock
    {
        /// <summary>True while the block at <paramref name="p"/> is allocated: its header carries a live magic byte (C heap or mapping).</summary>
        public static bool IsLive(byte* p) => (*(ulong*)(p - 16) >> 56) is 0xA7 or 0xA9;
    }
}
