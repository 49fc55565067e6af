using System;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// Retired memory (an old generation, overflow chunks, indirect blocks an enumerator may read)
    /// is not freed by the write or enumerator end that retires it: the writes that follow release
    /// it, one bounded step each (GoMap.Memory.cs). These helpers drive those writes and hold the
    /// map to the bound.
    /// </summary>
    public static class Release
    {
        /// <summary>Whole blocks one release step frees at most (GoMap.Memory.cs, ReleaseBudgetBlocks).</summary>
        public const int BlocksPerStep = 32;

        /// <summary>Most bytes of a big block's tail one release step returns: one huge page (a mapping in base pages gives 512 KiB).</summary>
        public const long BytesPerStep = 2L << 20;

        /// <summary>Least bytes of a big block's tail one release step returns when more is left: a mapping in base pages gives 512 KiB.</summary>
        public const long MinBytesPerStep = 512L << 10;

        /// <summary>Bytes of small blocks after which a release step stops (GoMap.Memory.cs, ReleaseBudgetSmallBytes).</summary>
        public const long SmallBytesPerStep = 32L << 10;

        /// <summary>
        /// A <c>&lt;long,long&gt;</c> map at B = 15 (a 5.4 MB array, a mapping of its own) that got
        /// there by a growth from B = 14, with keys 0 to <paramref name="next"/> − 1 and nothing
        /// retired or parked. Its array is not committed, so when a growth retires it on a thread inside
        /// <see cref="PiecewiseGrowthArrays"/>, release steps return it in pieces, as they do an
        /// array over 32 MiB; a capacity hint's array (committed) would go whole to the reuse
        /// cache's big pool instead (NativeHeap.FreeToCache), and so would this one outside the scope.
        /// </summary>
        public static GoMap<long, long> GrownToB15(GoMapOptions options, out long next)
        {
            Assert.True(NativeHeap.GrowthArraysUncachedForTests, "GrownToB15 is for tests that watch its array released in pieces: open PiecewiseGrowthArrays first");
            options.CapacityHint = 13L << 13; // B = 14
            var map = new GoMap<long, long>(options);
            long k = 0;
            while (map.GetStats().B < 15 || map.GetStats().IsGrowing || map.GetStats().DeferredBytes != 0)
            {
                map[k] = k;
                k++;
            }

            // The B = 14 array (2.4 MB) goes whole to the reuse cache's small pool, unless that
            // pool is full of mappings other tests (running in parallel) cached within its grace
            // period: then it is released in pieces and, in Go mode, parked, and the tests that
            // count the pages the next growth parks would count it too (CI: 8192 for 4096).
            map.FreeParkedForTest();
            next = k;
            return map;
        }

        /// <summary>
        /// A scope (until disposed) in which this thread's growth arrays of a few MiB neither go
        /// to the reuse cache's big pool nor come from it (NativeHeap.GrowthArraysUncachedForTests):
        /// release steps return them in pieces, as they return arrays over 32 MiB, which take
        /// seconds to build in a test.
        /// </summary>
        public static IDisposable PiecewiseGrowthArrays()
        {
            NativeHeap.GrowthArraysUncachedForTests = true;
            return new SeamReset();
        }

        private sealed class SeamReset : IDisposable
        {
            public void Dispose() => NativeHeap.GrowthArraysUncachedForTests = false;
        }

        /// <summary>
        /// The most writes that may be needed to release everything the map holds retired now,
        /// one step per write: one per <see cref="BlocksPerStep"/> blocks or per
        /// <see cref="SmallBytesPerStep"/> bytes of them, and per <see cref="MinBytesPerStep"/>
        /// of retired bytes one for a piece of a big block's tail and one for the step that a
        /// big block ends early.
        /// </summary>
        public static int MaxWritesToRelease<TKey, TValue>(GoMap<TKey, TValue> map)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            long blocks = map.DeferredBlockCount + map.QueuedBlockCount;
            long bytes = map.GetStats().DeferredBytes;
            return (int)(((blocks + BlocksPerStep - 1) / BlocksPerStep) + (bytes / SmallBytesPerStep) + (2 * (bytes / MinBytesPerStep)) + 2);
        }

        /// <summary>
        /// Runs <paramref name="write"/> until the map holds no retired memory, failing when that
        /// takes more than <see cref="MaxWritesToRelease"/> writes (measured before the first).
        /// The write must retire nothing itself. Returns the writes it took.
        /// </summary>
        public static int Drain<TKey, TValue>(GoMap<TKey, TValue> map, Action write)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            int bound = MaxWritesToRelease(map);
            int writes = 0;
            while (map.GetStats().DeferredBytes != 0)
            {
                Assert.True(writes < bound, $"{map.GetStats().DeferredBytes} retired bytes ({map.DeferredBlockCount} deferred and {map.QueuedBlockCount} queued blocks) still held after {writes} writes; the bound was {bound}");
                write();
                writes++;
            }

            Assert.Equal(0, map.DeferredBlockCount);
            Assert.Equal(0, map.QueuedBlockCount);
            return writes;
        }

        /// <summary>The most entries a map of B = 9 holds before its next new key starts a growth (6.5 × 2^9).</summary>
        public const int FullAtB9 = 3328;

        /// <summary>
        /// A map of B = 9 holding keys 0 .. <see cref="FullAtB9"/> − 1 (value = key), so that the next
        /// new key starts a growth, with <paramref name="retired"/> indirect value blocks waiting
        /// for release: keys 0 .. retired − 1 were removed while an enumerator was live (their
        /// blocks deferred for it) and added back; the enumerator has ended since.
        /// </summary>
        public static GoMap<long, BigValue> FullMapWithRetiredBlocks(int retired, GoMapOptions? options = null)
        {
            options ??= new GoMapOptions();
            options.CapacityHint = FullAtB9;
            var map = new GoMap<long, BigValue>(options);
            for (long k = 0; k < FullAtB9; k++)
            {
                map.Add(k, BigValue.Of(k));
            }

            GoMap<long, BigValue>.Enumerator e = map.GetEnumerator();
            Assert.True(e.MoveNext());
            for (long k = 0; k < retired; k++)
            {
                Assert.True(map.Remove(k));
                map.Add(k, BigValue.Of(k));
            }

            e.Dispose();
            GoMapStats s = map.GetStats();
            Assert.Equal(9, s.B);
            Assert.False(s.IsGrowing);
            Assert.Equal(retired, map.DeferredBlockCount);
            return map;
        }
    }
}
