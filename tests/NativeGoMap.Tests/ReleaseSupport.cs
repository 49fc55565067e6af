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

        /// <summary>Bytes of a big block's tail one release step returns (one huge page).</summary>
        public const long BytesPerStep = 2L << 20;

        /// <summary>
        /// The most writes that may be needed to release everything the map holds retired now,
        /// one step per write: one per <see cref="BlocksPerStep"/> blocks, and per huge page of
        /// retired bytes one for a piece of a big block's tail and one for the step that a big
        /// block ends early.
        /// </summary>
        public static int MaxWritesToRelease<TKey, TValue>(GoMap<TKey, TValue> map)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            long blocks = map.DeferredBlockCount + map.QueuedBlockCount;
            long hugePages = map.GetStats().DeferredBytes / BytesPerStep;
            return (int)(((blocks + BlocksPerStep - 1) / BlocksPerStep) + (2 * hugePages) + 1);
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
    }
}
