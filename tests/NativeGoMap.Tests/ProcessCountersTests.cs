using System;
using System.Collections.Generic;
using System.Threading;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// The process-wide counters that threads update without sharing a cache line: the count of
    /// live native bytes is striped per thread (NativeHeap.ChargeLive), and map ids are handed
    /// out in blocks per thread (ReaderRegistry.NewMapId). Runs alone (NativeMemory collection):
    /// it reads the global count of native bytes.
    /// </summary>
    [Collection(NativeMemoryCollection.Name)]
    public unsafe class ProcessCountersTests
    {
        [Fact]
        public void ABlockFreedOnAnotherThreadThanItsAllocation_LeavesTheLiveCountAtItsBaseline()
        {
            long baseline = LiveBytes.Settled();
            nint block = 0;
            int allocatingThread = 0;
            using var release = new ManualResetEventSlim();
            var allocator = new Thread(() =>
            {
                allocatingThread = Environment.CurrentManagedThreadId;
                Volatile.Write(ref block, (nint)NativeHeap.Alloc(4096, zero: true));
                release.Wait(); // alive while the block is freed, so the freeing thread has another id
            });
            allocator.Start();
            while (Volatile.Read(ref block) == default && allocator.IsAlive) // not 0: netstandard2.1 has no nint == int
            {
                Thread.Yield();
            }

            try
            {
                Assert.True(GoMapDiagnostics.LiveNativeBytes - baseline >= 4096, "the allocation was not counted");
                bool freed = false;
                while (!freed)
                {
                    // On a thread whose stripe differs from the allocating thread's (stripes are
                    // the managed thread id's low bits: 16 of them).
                    var freer = new Thread(() =>
                    {
                        if (((Environment.CurrentManagedThreadId ^ allocatingThread) & 15) != 0)
                        {
                            NativeHeap.Free((byte*)block);
                            freed = true;
                        }
                    });
                    freer.Start();
                    freer.Join();
                }

                Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
            }
            finally
            {
                release.Set();
                allocator.Join();
            }
        }

        [Fact]
        public void MapIds_AreUniqueAndNonZero_AcrossThreadsAndTheirBlocks()
        {
            const int perThread = 2500; // more than two blocks each
            var ids = new long[4][];
            TestThreads.RunAtOnce(ids.Length, k =>
            {
                ids[k] = new long[perThread];
                for (int i = 0; i < perThread; i++)
                {
                    ids[k][i] = ReaderRegistry.NewMapId();
                }
            });

            var seen = new HashSet<long>();
            foreach (long[] fromThread in ids)
            {
                foreach (long id in fromThread)
                {
                    Assert.NotEqual(0, id);
                    Assert.True(seen.Add(id), $"map id {id} was handed out twice");
                }
            }
        }
    }
}
