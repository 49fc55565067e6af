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
