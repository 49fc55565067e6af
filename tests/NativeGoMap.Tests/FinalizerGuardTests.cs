using System;
using System.Runtime.CompilerServices;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// A map's finalizer is a guard object (FinalizerGuard.cs) that a disposed map hands on to
    /// the next map made on its thread, so that making maps does not register a finalizable
    /// object each time; a map dropped without Dispose is still freed, whichever guard it took.
    /// Each test runs on a thread of its own (TestThreads.RunAtOnce), whose pool starts empty.
    /// Runs alone (NativeMemory collection): it reads the global count of native bytes.
    /// </summary>
    [Collection(NativeMemoryCollection.Name)]
    public class FinalizerGuardTests
    {
        [Fact]
        public void ADisposedMapsGuard_IsTakenByTheNextMapMadeOnItsThread()
        {
            TestThreads.RunAtOnce(1, _ =>
            {
                var first = new GoMap<long, long>();
                first[1] = 1;
                FinalizerGuard guard = first.GuardForTest!;
                first.Dispose();
                Assert.Null(first.GuardForTest);
                Assert.False(guard.Guards, "a pooled guard still refers to its disposed map");
                Assert.Equal(1, FinalizerGuard.PooledOnThisThread);

                using var second = new GoMap<int, int>();
                Assert.Same(guard, second.GuardForTest);
                Assert.True(guard.Guards);
                Assert.Equal(0, FinalizerGuard.PooledOnThisThread);
            });
        }

        [Fact]
        public void AMapDroppedWithoutDispose_IsFreedByTheGuardItTookFromThePool()
        {
            long baseline = LiveBytes.Settled();
            long held = 0;
            TestThreads.RunAtOnce(1, _ => held = DisposeOneThenDropOne());
            Assert.True(held > 0);
            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static long DisposeOneThenDropOne()
        {
            new GoMap<long, long>().Dispose();
            var dropped = new GoMap<long, long>();
            Assert.Equal(0, FinalizerGuard.PooledOnThisThread); // it took the pooled guard
            for (long k = 0; k < 1000; k++)
            {
                dropped[k] = k;
            }

            return dropped.GetStats().NativeBytes;
        }

        [Fact]
        public void AThreadsPool_KeepsAtMostPoolMaxGuards()
        {
            TestThreads.RunAtOnce(1, _ =>
            {
                var maps = new GoMap<long, long>[FinalizerGuard.PoolMax + 5];
                for (int i = 0; i < maps.Length; i++)
                {
                    maps[i] = new GoMap<long, long>();
                }

                foreach (GoMap<long, long> map in maps)
                {
                    map.Dispose();
                }

                Assert.Equal(FinalizerGuard.PoolMax, FinalizerGuard.PooledOnThisThread);
            });
        }

        /// <summary>Holds a map and disposes it from its finalizer: the map and its guard become unreachable with it.</summary>
        private sealed class DisposingWrapper
        {
            internal GoMap<long, long>? Map;

            ~DisposingWrapper() => Map?.Dispose();
        }

        /// <summary>Makes a map on the finalizer thread, fills it and drops it undisposed: its guard must free it.</summary>
        private sealed class MapMakerOnTheFinalizerThread
        {
            ~MapMakerOnTheFinalizerThread()
            {
                var map = new GoMap<long, long>();
                for (long k = 0; k < 5_000; k++)
                {
                    map[k] = k;
                }
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void DropWrappers(int count)
        {
            for (int i = 0; i < count; i++)
            {
                var w = new DisposingWrapper { Map = new GoMap<long, long>() };
                for (long k = 0; k < 1_000; k++)
                {
                    w.Map[k] = k;
                }
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void DropMakers(int count)
        {
            for (int i = 0; i < count; i++)
            {
                _ = new MapMakerOnTheFinalizerThread();
            }
        }

        /// <summary>
        /// Collections and finalizer runs until what the test dropped is freed. Under Mono, each
        /// round first clears the stacks of this thread and of the finalizer thread: Mono's GC
        /// scans stacks conservatively, and a stale slot of the finalizer thread's stack that
        /// still held the last map a <see cref="MapMakerOnTheFinalizerThread"/> made kept that
        /// map alive (6 of 12 runs of the Release build failed so, by one map; in every one the
        /// map was freed once that stack was cleared). A map kept by a spent guard, the fault
        /// these tests are for, stays unfreed however clean the stacks are.
        /// </summary>
        private static void RunFinalizers()
        {
            for (int i = 0; i < 4; i++)
            {
                if (TestNeeds.IsMono)
                {
                    StackScrubber.Clear();
                    _ = new StackScrubber(); // its finalizer clears the finalizer thread's stack in this round's run
                }

                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        }

        /// <summary>Clears 256 KiB of the stack of the thread that runs it (<see cref="Clear"/>), and from its finalizer that of the finalizer thread.</summary>
        private sealed class StackScrubber
        {
            ~StackScrubber() => Clear();

            [MethodImpl(MethodImplOptions.NoInlining)]
            internal static void Clear() => ClearFrames(64);

            [MethodImpl(MethodImplOptions.NoInlining)]
            private static unsafe int ClearFrames(int depth)
            {
                byte* frame = stackalloc byte[4096];
                new Span<byte>(frame, 4096).Clear();
                return depth == 0 ? frame[0] : ClearFrames(depth - 1) + frame[depth];
            }
        }

        [Fact]
        public void MapsDisposedFromFinalizers_DoNotPoolTheirSpentGuards_SoMapsMadeThereAfterAreFreed()
        {
            // Found by review (2026-12-05): a wrapper's finalizer that disposes its map runs in the
            // batch that finalizes the map's guard too; the guard went back to the finalizer
            // thread's pool with its finalizer spent (or still due), and maps later made and
            // dropped on that thread took those guards and were never freed (8 of 20, the pool's size).
            long baseline = LiveBytes.Settled();
            DropWrappers(20);
            RunFinalizers();
            Assert.Equal(baseline, LiveBytes.Settled());
            DropMakers(20);
            RunFinalizers();
            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Fact]
        public void AConstructorThatRefusesTheKeyType_TakesNoGuard()
        {
            TestThreads.RunAtOnce(1, _ =>
            {
                new GoMap<long, long>().Dispose();
                Assert.Throws<NotSupportedException>(() => new GoMap<KeyTypeTests.PaddedPlain, int>());
                Assert.Equal(1, FinalizerGuard.PooledOnThisThread);
            });
        }
    }
}
