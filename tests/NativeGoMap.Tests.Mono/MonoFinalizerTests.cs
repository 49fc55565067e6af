using System.Threading;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// Two tests of maps left to their finalizers, as under Mono they can be checked: Mono's GC scans
    /// stacks conservatively, so a map dropped in the test's own frames may stay alive (the shared
    /// tests need <see cref="Needs.PreciseStackScanning"/> and are skipped here). These drop theirs on
    /// a thread that has ended, whose stack no collection scans.
    /// </summary>
    [Collection(NativeMemoryCollection.Name)]
    public class MonoFinalizerTests
    {
        [Fact]
        public void AWriteThatNeverEnded_LeavesItsMemoryToTheFinalizer_DroppedOnAThreadThatEnded()
        {
            long baseline = LiveBytes.Settled();
            RunOnAThreadThatEnds(ConcurrencyDetectionTests.LeaveAMapWithAWriteThatNeverEnds);
            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [FactNeeding(Needs.Mappings)]
        public void AMapLeftToItsFinalizer_KeepsItsArrayOutOfTheReuseCache_DroppedOnAThreadThatEnded()
        {
            NativeHeap.EmptyCache();
            long live = NativeHeap.LiveBytes;
            RunOnAThreadThatEnds(() =>
            {
                PageBackingTests.AbandonAFilledMap(13L << 10); // B = 11: a C heap block's reuse cache
                PageBackingTests.AbandonAFilledMap(13L << 14); // B = 15: a mapping's
            });
            LiveBytes.Settled();
            Assert.Equal(0L, NativeHeap.CachedBytes);
            Assert.Equal(0L, NativeHeap.BigCachedBytes);
            Assert.Equal(live, NativeHeap.LiveBytes);
        }

        /// <summary>Runs <paramref name="body"/> on a new thread and waits for its end; rethrows what it threw (a failed assertion).</summary>
        private static void RunOnAThreadThatEnds(ThreadStart body)
        {
            System.Exception? thrown = null;
            var thread = new Thread(() =>
            {
                try
                {
                    body();
                }
                catch (System.Exception e)
                {
                    thrown = e;
                }
            });
            thread.Start();
            thread.Join();
            if (thrown is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(thrown).Throw();
            }
        }
    }
}
