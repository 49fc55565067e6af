using System;
using System.Collections.Generic;
using System.Threading;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// The reader slots of Strict maps (ReaderRegistry): each thread that announces a read takes
    /// one, every release scans them all, and a thread's slot becomes free for the next thread
    /// once a collection finds that the thread has ended (its thread statics gone). Runs alone
    /// (NativeMemory collection): it counts the process's slots, which every other test's Strict
    /// reads take too.
    /// </summary>
    [Collection(NativeMemoryCollection.Name)]
    public class ReaderSlotReuseTests
    {
        private static GoMapOptions Strict() => new() { ConcurrencyChecks = ConcurrencyChecks.Strict };

        /// <summary>Collects and runs finalizers until <paramref name="done"/> holds, a few times at most; returns whether it holds.</summary>
        private static bool CollectUntil(Func<bool> done)
        {
            for (int i = 0; i < 10 && !done(); i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }

            return done();
        }

        /// <summary>Runs <paramref name="action"/> on a new thread and waits until that thread has ended.</summary>
        private static void OnAThreadThatEnds(Action action) => Assert.Null(OffThread.Start(action).Join());

        [Fact]
        public void ShortLivedThreadsThatRead_GrowTheSlotListOnlyByThoseThatEndedSinceTheLastCollection()
        {
            // A server that makes a thread per connection: before 2026-12-05 every such thread
            // left its slot behind, 300 here, for every later release to scan.
            const int PerRound = 50;
            const int Rounds = 6;
            using var map = new GoMap<long, long>(Strict());
            map[1] = 1;
            int before = ReaderRegistry.SlotCountForTest;
            for (int round = 0; round < Rounds; round++)
            {
                for (int t = 0; t < PerRound; t++)
                {
                    OnAThreadThatEnds(() => Assert.True(map.ContainsKey(1)));
                }

                GC.Collect();
                GC.WaitForPendingFinalizers();
            }

            // One round's threads end before the collection that frees their slots, so they
            // take PerRound slots; twice that leaves room for a thread whose statics the runtime
            // had not yet dropped at its round's collection (freed at the next).
            int grown = ReaderRegistry.SlotCountForTest - before;
            Assert.True(grown <= 2 * PerRound, $"{Rounds * PerRound} threads that read one at a time, with a collection after every {PerRound}, left {grown} more slots");
        }

        [Fact]
        public void ACollection_FreesTheSlotOfAThreadThatEnded_NotTheSlotOfAThreadStillAlive()
        {
            using var map = new GoMap<long, long>(Strict());
            map[1] = 1;
            ReaderRegistry.ReaderSlot? ended = null;
            OnAThreadThatEnds(() =>
            {
                map.ContainsKey(1);
                ended = ReaderRegistry.ThisThreadSlot;
            });

            ReaderRegistry.ReaderSlot? alive = null;
            using var tookSlot = new ManualResetEventSlim();
            using var mayEnd = new ManualResetEventSlim();
            OffThread living = OffThread.Start(() =>
            {
                map.ContainsKey(1);
                alive = ReaderRegistry.ThisThreadSlot;
                tookSlot.Set();
                mayEnd.Wait();
            });
            tookSlot.Wait();

            bool endedFreed = CollectUntil(() => Volatile.Read(ref ended!.Free));
            bool aliveFreed = Volatile.Read(ref alive!.Free);
            mayEnd.Set();
            Assert.Null(living.Join());
            Assert.True(endedFreed, "the slot of a thread that ended was not freed by ten collections");
            Assert.False(aliveFreed, "a collection freed the slot of a thread still alive");
        }

        [Fact]
        public void ASlotTakenOverFromAThreadThatEnded_HoldsReleasesWhileItsNewThreadReads()
        {
            // As Strict_ARemoveWhileAReadIsInProgressOnAnotherThread_DefersTheIndirectBlockItDrops,
            // with the reader on a slot another thread used before it.
            OnAThreadThatEnds(() =>
            {
                using var other = new GoMap<int, int>(Strict());
                other.ContainsKey(1);
            });
            Assert.True(CollectUntil(() => ReaderRegistry.FreeSlotCountForTest > 0), "no slot was freed by ten collections after a thread that read had ended");
            int slots = ReaderRegistry.SlotCountForTest;
            HeldStrictRead.AssertARemoveDefersItsValueBlock(
                whileInside: () => Assert.Equal(slots, ReaderRegistry.SlotCountForTest)); // the reader took a freed slot, not a new one
        }

        [Fact]
        public void AThreadThatEndedInsideAnAnnouncedRead_HoldsNoReleaseOnceCollected()
        {
            // What a Mono thread aborted in the middle of a read leaves (Thread.Abort; CoreCLR has
            // none): an announcement never withdrawn. Before 2026-12-05 it held every release of
            // that map, and every Dispose, forever.
            long mapId = ReaderRegistry.NewMapId();
            OnAThreadThatEnds(() => ReaderRegistry.Enter(mapId));
            Assert.True(ReaderRegistry.AnyReading(mapId));
            Assert.True(CollectUntil(() => !ReaderRegistry.AnyReading(mapId)), "the announcement of a thread that ended still held releases after ten collections");
        }
    }
}
