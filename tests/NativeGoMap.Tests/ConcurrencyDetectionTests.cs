using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// Go's hashWriting detection: a write or read that meets a write in progress throws Go's
    /// message, the map is poisoned for good, and Dispose still frees it. A simulated writer holds
    /// the flag as another thread's write would; the offending call runs on a second thread,
    /// because detection waits for the write in progress to end before poisoning the map.
    /// In the NativeMemory collection because the tests read the process-wide byte count.
    /// </summary>
    [Collection(NativeMemoryCollection.Name)]
    public class ConcurrencyDetectionTests
    {
        private const string Writes = "concurrent map writes";
        private const string ReadWrite = "concurrent map read and map write";
        private const string IterationWrite = "concurrent map iteration and map write";

        /// <summary>
        /// Holds hashWriting as a writer would, runs <paramref name="offending"/> on another
        /// thread, lets the simulated write end once the offender has detected it (it records
        /// Go's message first) or has returned, and hands back what the offender threw.
        /// </summary>
        internal static Exception? AgainstSimulatedWriter<TKey, TValue>(GoMap<TKey, TValue> map, Action offending)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            map.SimulateWriteBegin();
            OffThread t = OffThread.Start(offending);
            SpinWait.SpinUntil(() => map.PoisonMessage != null || !t.IsAlive, TimeSpan.FromSeconds(60));
            map.SimulateWriteEnd();
            return t.Join();
        }

        private static GoMap<int, int> Filled()
        {
            var map = new GoMap<int, int>(new GoMapOptions { Seed = 8 });
            for (int k = 0; k < 500; k++)
            {
                map[k] = k;
            }

            return map;
        }

        [Theory]
        [InlineData("IndexerSet")]
        [InlineData("TryAdd")]
        [InlineData("Add")]
        [InlineData("Remove")]
        [InlineData("RemoveOut")]
        [InlineData("Clear")]
        [InlineData("GetValueRefOrAddDefault")]
        [InlineData("EnsureCapacity")]
        [InlineData("TrimExcess")]
        [InlineData("TrimExcessCapacity")]
        public void WriteDuringAWrite_ThrowsConcurrentMapWrites_AndPoisons(string member)
        {
            using GoMap<int, int> map = Filled();
            Exception? e = AgainstSimulatedWriter(map, () => MisuseTests.Call(map, member));
            var c = Assert.IsType<ConcurrentMapAccessException>(e);
            Assert.Equal(Writes, c.Message);
            Assert.True(map.IsPoisoned);
        }

        [Fact]
        public void ClearOfAnEmptyStrictMap_DuringAWrite_ThrowsConcurrentMapWrites()
        {
            // Strict catches every overlapping write, an empty map's Clear included.
            using var map = new GoMap<int, int>(new GoMapOptions { ConcurrencyChecks = ConcurrencyChecks.Strict });
            Exception? e = AgainstSimulatedWriter(map, map.Clear);
            var c = Assert.IsType<ConcurrentMapAccessException>(e);
            Assert.Equal(Writes, c.Message);
        }

        [Fact]
        public void ClearOfAnEmptyStrictMap_WithNoOtherWrite_EndsItsWrite()
        {
            // Its write check takes hashWriting and gives it back: the next write is no race.
            using var map = new GoMap<int, int>(new GoMapOptions { ConcurrencyChecks = ConcurrencyChecks.Strict });
            map.Clear();
            map[1] = 1;
            Assert.False(map.IsPoisoned);
            Assert.Equal(1, map[1]);
        }

        [Fact]
        public void ClearOfAnEmptyGoModeMap_DuringAWrite_DoesNothing()
        {
            // Go's mapclear returns before its write check when the count is 0.
            using var map = new GoMap<int, int>();
            Exception? e = AgainstSimulatedWriter(map, map.Clear);
            Assert.Null(e);
            Assert.False(map.IsPoisoned);
        }

        [Theory]
        [InlineData("IndexerGet")]
        [InlineData("TryGetValue")]
        [InlineData("GetValueOrDefault")]
        [InlineData("ContainsKey")]
        [InlineData("GetValueRefOrNullRef")]
        public void ReadDuringAWrite_ThrowsConcurrentMapReadAndMapWrite_AndPoisons(string member)
        {
            using GoMap<int, int> map = Filled();
            Exception? e = AgainstSimulatedWriter(map, () => MisuseTests.Call(map, member));
            var c = Assert.IsType<ConcurrentMapAccessException>(e);
            Assert.Equal(ReadWrite, c.Message);
            Assert.True(map.IsPoisoned);
        }

        [Fact]
        public void EnumeratorStepDuringAWrite_ThrowsConcurrentMapIterationAndMapWrite()
        {
            using GoMap<int, int> map = Filled();
            GoMap<int, int>.Enumerator it = map.GetEnumerator();
            Assert.True(it.MoveNext());
            Exception? e = AgainstSimulatedWriter(map, () => it.MoveNext());
            var c = Assert.IsType<ConcurrentMapAccessException>(e);
            Assert.Equal(IterationWrite, c.Message);
            Assert.True(map.IsPoisoned);
        }

        public static TheoryData<string> AllMembers()
        {
            var data = new TheoryData<string>();
            foreach (string m in MisuseTests.Members)
            {
                data.Add(m);
            }

            return data;
        }

        [Theory]
        [MemberData(nameof(AllMembers))]
        public void PoisonedByAWriteRace_EveryMemberThrowsConcurrentMapWrites(string member)
        {
            using GoMap<int, int> map = Filled();
            Assert.NotNull(AgainstSimulatedWriter(map, () => map[1000] = 1));
            var e = Assert.Throws<ConcurrentMapAccessException>(() => MisuseTests.Call(map, member));
            Assert.Equal(Writes, e.Message);
        }

        [Theory]
        [MemberData(nameof(AllMembers))]
        public void PoisonedByAReadRace_EveryMemberThrowsConcurrentMapReadAndMapWrite(string member)
        {
            using GoMap<int, int> map = Filled();
            Assert.NotNull(AgainstSimulatedWriter(map, () => map.ContainsKey(3)));
            var e = Assert.Throws<ConcurrentMapAccessException>(() => MisuseTests.Call(map, member));
            Assert.Equal(ReadWrite, e.Message);
        }

        [Fact]
        public void PoisonedMap_DisposeFreesEverything()
        {
            long baseline = LiveBytes.Settled();
            var map = new GoMap<Blob200, Blob200>(new GoMapOptions { Seed = 12 });
            for (long k = 0; !map.GetStats().IsGrowing || map.GetStats().B < 4; k++)
            {
                map[Blob200.Of(k)] = Blob200.Of(-k);
            }

            Assert.NotNull(AgainstSimulatedWriter(map, () => map[Blob200.Of(-1)] = default));
            Assert.True(map.IsPoisoned);
            Assert.True(GoMapDiagnostics.LiveNativeBytes > baseline);
            map.Dispose();
            Assert.True(map.IsDisposed);
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
            Assert.Throws<ObjectDisposedException>(() => map.ContainsKey(Blob200.Of(1)));
        }

        [Fact]
        public void DisposeDuringAWrite_ThrowsAndPoisons_ALaterDisposeFrees()
        {
            long baseline = LiveBytes.Settled();
            GoMap<int, int> map = Filled();
            Exception? e = AgainstSimulatedWriter(map, () => map.Dispose());
            var c = Assert.IsType<ConcurrentMapAccessException>(e);
            Assert.Equal(Writes, c.Message);
            Assert.False(map.IsDisposed);
            Assert.True(map.IsPoisoned);
            Assert.True(GoMapDiagnostics.LiveNativeBytes > baseline);
            map.Dispose();
            Assert.True(map.IsDisposed);
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        [Fact]
        public void AWriteThatPublishesAfterADetectionPoisonedTheMap_LeavesItsLookupsThrowing()
        {
            // TryRead and GetValueRefOrNullRef test only hashWriting and the plain-read table: the racing
            // write's Publish, which runs after the other thread set the poisoned flag, must not
            // bring that word back.
            using GoMap<int, int> map = Filled();
            map.SimulateWriteBegin();
            OffThread reader = OffThread.Start(() => map.ContainsKey(3));
            Assert.True(SpinWait.SpinUntil(() => map.IsPoisoned, TimeSpan.FromSeconds(60))); // the flag is set (it waits for this write now)
            map.PublishForTest();
            map.SimulateWriteEnd();
            Assert.IsType<ConcurrentMapAccessException>(reader.Join());

            var e = Assert.Throws<ConcurrentMapAccessException>(() => map.TryGetValue(7, out _));
            Assert.Equal(ReadWrite, e.Message);
            e = Assert.Throws<ConcurrentMapAccessException>(() => map.GetValueRefOrNullRef(7));
            Assert.Equal(ReadWrite, e.Message);
            map.Validate();
        }

        [Fact]
        public void PoisonedMap_IsStillStructurallyValid()
        {
            // Detection happens before the offending write touches anything: the write is
            // refused, the map poisoned, and its buckets hold what they held (the 500 entries,
            // not the refused key), as Validate's walk of every chain counts them.
            using GoMap<int, int> map = Filled();
            Exception? e = AgainstSimulatedWriter(map, () => map[99999] = 1);
            Assert.Equal(Writes, Assert.IsType<ConcurrentMapAccessException>(e).Message);
            Assert.True(map.IsPoisoned);
            map.Validate();
            Assert.Equal(500L, map.CountForTest);
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void TwoThreadsWritingOneMap_DetectTheRace_AndDisposeFreesEverything(ConcurrencyChecks checks)
        {
            long baseline = LiveBytes.Settled();
            var map = new GoMap<long, long>(new GoMapOptions { ConcurrencyChecks = checks });
            const int MaxOpsPerThread = 20_000_000;
            using var start = new Barrier(2);
            var caught = new ConcurrentMapAccessException?[2];
            Action Writer(int id) => () =>
            {
                start.SignalAndWait();
                try
                {
                    for (long i = 0; i < MaxOpsPerThread; i++)
                    {
                        long k = (i * 2) + id;
                        map[k & 0xFFFFF] = i; // bounded key space: the map grows, then updates
                        if ((i & 3) == 0)
                        {
                            map.Remove((k + 0x1000) & 0xFFFFF);
                        }
                    }
                }
                catch (ConcurrentMapAccessException e)
                {
                    caught[id] = e;
                }
            };

            OffThread a = OffThread.Start(Writer(0));
            OffThread b = OffThread.Start(Writer(1));
            Exception? errorA = a.Join();
            Exception? errorB = b.Join();
            Assert.Null(errorA); // nothing but the detection may escape
            Assert.Null(errorB);
            Assert.True(caught[0] is not null || caught[1] is not null, $"no race detected in {MaxOpsPerThread} writes per thread");
            foreach (ConcurrentMapAccessException? e in caught)
            {
                if (e is not null)
                {
                    Assert.Equal(Writes, e.Message);
                }
            }

            Assert.True(map.IsPoisoned);
            if (checks == ConcurrencyChecks.Strict)
            {
                // Only Strict catches every overlap before it touches memory; in Go mode writes
                // that slipped past each other before the detection may have lost an entry.
                map.Validate();
            }

            map.Dispose();
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void ReaderBesideAWriter_DetectsTheRace(ConcurrencyChecks checks)
        {
            using var map = new GoMap<int, int>(new GoMapOptions { ConcurrencyChecks = checks });
            for (int k = 0; k < 1000; k++)
            {
                map[k] = k;
            }

            const int MaxOps = 20_000_000;
            using var start = new Barrier(2);
            using var stop = new CancellationTokenSource();
            Exception? readerSaw = null, writerSaw = null;
            OffThread reader = OffThread.Start(() =>
            {
                start.SignalAndWait();
                try
                {
                    for (int i = 0; i < MaxOps && !stop.IsCancellationRequested; i++)
                    {
                        map.TryGetValue(i & 1023, out _);
                    }
                }
                catch (ConcurrentMapAccessException e)
                {
                    readerSaw = e;
                }
                finally
                {
                    stop.Cancel();
                }
            });
            OffThread writer = OffThread.Start(() =>
            {
                start.SignalAndWait();
                try
                {
                    for (int i = 0; i < MaxOps && !stop.IsCancellationRequested; i++)
                    {
                        map[i & 1023] = i;
                    }
                }
                catch (ConcurrentMapAccessException e)
                {
                    writerSaw = e;
                }
                finally
                {
                    stop.Cancel();
                }
            });

            Assert.Null(reader.Join());
            Assert.Null(writer.Join());
            Assert.True(readerSaw is not null || writerSaw is not null, "no race detected");
            Assert.True(map.IsPoisoned);
            string message = (readerSaw ?? writerSaw)!.Message;
            Assert.Equal(ReadWrite, message);
        }

        [Fact]
        public void ComparerCallingBackIntoTheMapDuringAWrite_ThrowsInsteadOfHanging()
        {
            // A comparer that reads the map while the map is writing: the same thread holds
            // hashWriting, so this is a read during a write and must throw Go's message. It must
            // not wait for the write in progress to end: that write is its own caller.
            var comparer = new ReenteringComparer();
            var map = new GoMap<int, int>(new GoMapOptions { Seed = 2 }, comparer);
            comparer.Map = map;
            map[1] = 1;
            comparer.Armed = true;
            OffThread t = OffThread.Start(() => map[1] = 2); // Equals(1, 1) runs inside the write
            SpinWait.SpinUntil(() => map.PoisonMessage != null || !t.IsAlive, TimeSpan.FromSeconds(60));
            bool finishedOnItsOwn = SpinWait.SpinUntil(() => !t.IsAlive, TimeSpan.FromSeconds(5)); // a liveness bound, not a timing one
            if (!finishedOnItsOwn)
            {
                map.SimulateWriteEnd(); // free the spinning thread so the run can go on
            }

            Exception? e = t.Join();
            Assert.True(finishedOnItsOwn, "a read from inside a write spun forever waiting for that write to end (GoMap.Poison)");
            var c = Assert.IsType<ConcurrentMapAccessException>(e);
            Assert.Equal(ReadWrite, c.Message);
            Assert.True(map.IsPoisoned);
            map.Dispose();
        }

        [Fact]
        public void AWriteWhoseHashWritingFlagAnotherWriterCleared_ThrowsConcurrentMapWritesAtItsEnd_AndPoisons()
        {
            // Go's mapassign ends with `if h.flags&hashWriting == 0 { fatal("concurrent map
            // writes") }`: two writers that both passed the check at the start find it at the end,
            // when the first to finish has cleared the flag under the other. The comparer plays the
            // writer that finishes first: inside the write (Equals(1, 1) of an update) it ends a
            // simulated write, which clears hashWriting as that writer's end would.
            var comparer = new CallbackComparer();
            using var map = new GoMap<int, int>(new GoMapOptions { Seed = 2 }, comparer);
            map[1] = 1;
            comparer.Callback = map.SimulateWriteEnd;
            var e = Assert.Throws<ConcurrentMapAccessException>(() => map[1] = 2);
            Assert.Equal(Writes, e.Message);
            Assert.True(map.IsPoisoned);
            Assert.Equal(Writes, Assert.Throws<ConcurrentMapAccessException>(() => map.ContainsKey(1)).Message);
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void DisposeOnTheThreadThatWroteLast_WaitsForAnotherThreadsWriteBegunBeforeIt(ConcurrencyChecks checks)
        {
            // Found by review (2026-12-05): the map recorded the thread of a write of user-code
            // keys and never cleared the record, so a Dispose on the thread that wrote last took
            // another thread's write, begun (hashWriting taken) but not yet recorded, for its own
            // and freed the memory under it. The other thread holds the registration lock, which
            // holds the Dispose inside SetFlag, past its checks; there it takes hashWriting as
            // that write's start would, releases the lock, and ends the write half a second later.
            var map = new GoMap<int, int>(new GoMapOptions { Seed = 2, ConcurrencyChecks = checks }, new CallbackComparer());
            for (int k = 0; k < 100; k++)
            {
                map[k] = k; // this thread writes last
            }

            var locked = new ManualResetEventSlim();
            int disposeReturned = 0;
            bool returnedDuringTheWrite = true;
            OffThread other = OffThread.Start(() =>
            {
                map.EnterIterLockForTest();
                locked.Set();
                SpinWait.SpinUntil(() => map.IsDisposed, TimeSpan.FromSeconds(60)); // the Dispose set its flag and waits for the lock
                Interlocked.Or(ref map.StateRefForTest, 1); // the other write begins: hashWriting, its thread not yet recorded
                map.ExitIterLockForTest();
                SpinWait.SpinUntil(() => Volatile.Read(ref disposeReturned) != 0, TimeSpan.FromMilliseconds(500)); // a liveness bound: the fixed Dispose waits for ever
                returnedDuringTheWrite = Volatile.Read(ref disposeReturned) != 0;
                Interlocked.And(ref map.StateRefForTest, ~1L); // the other write ends
            });
            locked.Wait();
            map.Dispose();
            Volatile.Write(ref disposeReturned, 1);
            Assert.Null(other.Join());
            Assert.False(returnedDuringTheWrite, "Dispose freed the map while another thread's write held hashWriting");
            Assert.True(map.IsDisposed);
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void CurrentValueRefDuringAWrite_ThrowsConcurrentMapIterationAndMapWrite_AndPoisons(ConcurrencyChecks checks)
        {
            // Found by a chaos harness (2026-12-05): a write in progress got the stale-reference
            // InvalidOperationException, and the map was not poisoned.
            var map = new GoMap<int, int>(new GoMapOptions { Seed = 8, ConcurrencyChecks = checks });
            for (int k = 0; k < 100; k++)
            {
                map[k] = k;
            }

            GoMap<int, int>.Enumerator e = map.GetEnumerator();
            Assert.True(e.MoveNext());
            Exception? thrown = AgainstSimulatedWriter(map, () => _ = e.CurrentValueRef);
            var c = Assert.IsType<ConcurrentMapAccessException>(thrown);
            Assert.Equal(IterationWrite, c.Message);
            Assert.True(map.IsPoisoned);
            e.Dispose();
            map.Dispose();
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void ADetectionMadeAfterADispose_ThrowsAtOnce(ConcurrencyChecks checks)
        {
            // Found by a chaos harness (2026-12-05): a writer that passed its disposed check, then
            // met another write, waited in Detected for the right to restructure, which Dispose
            // holds for good: it hung for ever (Strict, with keys that run user code). The window
            // of 1 s is under the 2 s after which a wait for a write gives up; a machine stall
            // past it gets two more tries, where the bug would wait in every one.
            Exception? thrown = Timed.WithinWindow(
                1000,
                () =>
                {
                    var map = new GoMap<int, int>(new GoMapOptions { Seed = 3, ConcurrencyChecks = checks });
                    map[1] = 1;
                    map.Dispose();
                    var clock = Stopwatch.StartNew();
                    Exception? e = OffThread.Start(map.DetectForTest).Join();
                    return (clock.ElapsedMilliseconds, e);
                },
                failure: "the detection waited for the Dispose's hold on the map");
            var c = Assert.IsType<ConcurrentMapAccessException>(thrown);
            Assert.Equal(Writes, c.Message);
        }

        [FactNeeding(Needs.PreciseStackScanning)]
        public void AWriteThatNeverEnded_LeavesLaterWritesThrowing_AndItsMemoryToTheFinalizer()
        {
            // Found by a chaos harness (2026-12-05): in Go mode a write that another thread's
            // misuse made throw halfway (following a pointer into a block the C heap had reused)
            // left hashWriting set; every later write and every Dispose then waited for it for
            // ever. Now they give up after GoMap.WriterWaitLimitMilliseconds: writes throw Go's
            // message, Dispose marks the map disposed and leaves its memory to the finalizer.
            long baseline = LiveBytes.Settled();
            LeaveAMapWithAWriteThatNeverEnds();
            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        internal static void LeaveAMapWithAWriteThatNeverEnds()
        {
            var map = new GoMap<int, int>(new GoMapOptions { Seed = 3 });
            for (int k = 0; k < 1000; k++)
            {
                map[k] = k;
            }

            Interlocked.Or(ref map.StateRefForTest, 1); // a write that threw halfway: hashWriting stays set
            var e = Assert.Throws<ConcurrentMapAccessException>(() => map[1] = 2);
            Assert.Equal(Writes, e.Message);
            map.Dispose(); // gives up waiting: no exception, the memory stays for the finalizer
            Assert.True(map.IsDisposed);
            Assert.True(map.NativeBytesRefForTest > 0, "Dispose freed the memory of a map whose write had not ended");
        }

        private sealed class CallbackComparer : IEqualityComparer<int>
        {
            public Action? Callback { get; set; }

            public bool Equals(int x, int y)
            {
                Action? callback = Callback;
                Callback = null;
                callback?.Invoke();
                return x == y;
            }

            public int GetHashCode(int obj) => obj;
        }

        private sealed class ReenteringComparer : IEqualityComparer<int>
        {
            public GoMap<int, int>? Map { get; set; }

            public bool Armed { get; set; }

            public bool Equals(int x, int y)
            {
                if (Armed)
                {
                    Armed = false;
                    Map!.ContainsKey(x);
                }

                return x == y;
            }

            public int GetHashCode(int obj) => obj;
        }
    }
}
