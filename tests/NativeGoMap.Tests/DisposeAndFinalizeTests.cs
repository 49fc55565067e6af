using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// A map's lifetime at its edges: a map freed by its finalizer guard while another finalizer
    /// still reaches it, Dispose from inside the map's own operations and from two threads at
    /// once, dead Strict readers, short-lived threads, abandoned enumerators. Written by a review
    /// of the lifecycle (2026-12-07), which found the first (FreeFromFinalizer did not mark the
    /// map disposed). Runs alone (NativeMemory collection): it reads the process's native bytes.
    /// </summary>
    /// <remarks>
    /// A map's finalizer is its <see cref="FinalizerGuard"/>. When an object with a finalizer of
    /// its own (a wrapper, a cursor) holds the map, the collection that finds the wrapper
    /// unreachable finds the map and its guard unreachable too, and the finalizers of the wrapper
    /// and of the guard run in no set order: in a probe of 40 wrappers, the guard's ran first for
    /// 39. The guard's <c>FreeFromFinalizer</c> frees everything but does not mark the map
    /// disposed (until 2026-12-07), so the wrapper's finalizer then met a map that looked live and
    /// empty, leaked what it wrote, walked freed buckets, or (an enumerator's Dispose) wrote
    /// through a freed table. The tests of real finalizers need a GC that scans stacks precisely
    /// (Mono's may keep a wrapper alive).
    /// The deterministic tests call <c>FreeFromFinalizer</c> themselves, as the guard's finalizer does.
    /// </remarks>
    [Collection(NativeMemoryCollection.Name)]
    public class DisposeAndFinalizeTests
    {
        private static int s_sawLiveEmptyMap;
        private static int s_enumeratorDisposeFailures;
        private static Exception? s_enumeratorDisposeFailure;

        /// <summary>Holds a filled map; its finalizer reads the map and then writes to it (a wrapper that flushes or recycles on finalization).</summary>
        private sealed class WritingWrapper
        {
            internal GoMap<long, long>? Map;

            ~WritingWrapper()
            {
                GoMap<long, long> map = Map!;
                try
                {
                    if (map.LongCount == 0)
                    {
                        Interlocked.Increment(ref s_sawLiveEmptyMap); // it held 1,000 entries and nobody removed one
                    }

                    for (long k = 0; k < 2_000; k++)
                    {
                        map[k] = k;
                    }
                }
                catch (ObjectDisposedException)
                {
                    // What a map freed under the wrapper should say.
                }
            }
        }

        /// <summary>Holds an enumerator of a filled map (a cursor); its finalizer disposes the enumerator, as a cursor's Dispose pattern does.</summary>
        private sealed class CursorWrapper
        {
            internal GoMap<long, long>.Enumerator Cursor;

            ~CursorWrapper()
            {
                try
                {
                    Cursor.Dispose();
                }
                catch (Exception e)
                {
                    // Uncaught, this exception on the finalizer thread ends the process.
                    Interlocked.Increment(ref s_enumeratorDisposeFailures);
                    s_enumeratorDisposeFailure = e;
                }
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void DropWritingWrappers(int count)
        {
            for (int i = 0; i < count; i++)
            {
                var w = new WritingWrapper { Map = new GoMap<long, long>() };
                for (long k = 0; k < 1_000; k++)
                {
                    w.Map[k] = k;
                }
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void DropCursorWrappers(int count)
        {
            for (int i = 0; i < count; i++)
            {
                var map = new GoMap<long, long>();
                for (long k = 0; k < 100; k++)
                {
                    map[k] = k;
                }

                var w = new CursorWrapper { Cursor = map.GetEnumerator() };
                w.Cursor.MoveNext();
            }
        }

        private static void RunFinalizers()
        {
            for (int i = 0; i < 4; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        }

        [FactNeeding(Needs.PreciseStackScanning)]
        public void AMapThatAnotherFinalizerStillReaches_IsNotSeenLiveAndEmpty_AndItsWritesLeakNothing()
        {
            long baseline = LiveBytes.Settled();
            s_sawLiveEmptyMap = 0;
            DropWritingWrappers(40);
            RunFinalizers();
            long leaked = LiveBytes.Settled() - baseline;
            Assert.True(s_sawLiveEmptyMap == 0, $"{s_sawLiveEmptyMap} of 40 wrappers' finalizers found their 1,000-entry map empty and usable (freed by its guard, not marked disposed)");
            Assert.True(leaked == 0, $"{leaked} native bytes leaked: writes to maps their guards had already freed");
        }

        [FactNeeding(Needs.PreciseStackScanning)]
        public void AnEnumeratorDisposedFromAnotherFinalizer_AfterTheMapsGuardRan_DoesNotThrow()
        {
            s_enumeratorDisposeFailures = 0;
            s_enumeratorDisposeFailure = null;
            DropCursorWrappers(40);
            RunFinalizers();
            Assert.True(s_enumeratorDisposeFailures == 0, $"{s_enumeratorDisposeFailures} of 40 cursors' Enumerator.Dispose threw on the finalizer thread (a crash if uncaught): {s_enumeratorDisposeFailure}");
        }

        /// <summary>What the guard's finalizer does to the map (FinalizerGuard's ~FinalizerGuard).</summary>
        private static void FreeAsTheGuardsFinalizerDoes<TKey, TValue>(GoMap<TKey, TValue> map)
            where TKey : unmanaged
            where TValue : unmanaged =>
            ((IGuardedByFinalizer)map).FreeFromFinalizer();

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void AMapFreedByItsGuard_ThrowsObjectDisposed_LikeADisposedMap(ConcurrencyChecks mode)
        {
            long baseline = LiveBytes.Settled();
            var map = new GoMap<long, long>(new GoMapOptions { ConcurrencyChecks = mode });
            for (long k = 0; k < 1_000; k++)
            {
                map[k] = k;
            }

            FreeAsTheGuardsFinalizerDoes(map);
            Assert.True(map.IsDisposed, "a map whose memory its finalizer freed says it is not disposed");
            Assert.Throws<ObjectDisposedException>(() => map.Count);
            Assert.Throws<ObjectDisposedException>(() => map[5] = 5);
            Assert.Equal(baseline, LiveBytes.Settled());
            GC.KeepAlive(map);
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void AnEnumeratorsDispose_AfterItsMapsGuardFreedTheMap_DoesNotWriteThroughANullTable(ConcurrencyChecks mode)
        {
            var map = new GoMap<long, long>(new GoMapOptions { ConcurrencyChecks = mode });
            for (long k = 0; k < 100; k++)
            {
                map[k] = k;
            }

            GoMap<long, long>.Enumerator e = map.GetEnumerator(); // a fast registration slot
            Assert.True(e.MoveNext());
            FreeAsTheGuardsFinalizerDoes(map);
            Exception? thrown = Record.Exception(() => e.Dispose());
            Assert.True(thrown is null, $"Enumerator.Dispose threw {thrown?.GetType().Name}: the fast slots' table is null after FreeAll and the map is not marked disposed");
            GC.KeepAlive(map);
        }

        [Fact]
        public void AnEnumeratorsMoveNext_AfterItsMapsGuardFreedTheMap_ThrowsObjectDisposed_InsteadOfWalkingFreedBuckets()
        {
            var map = new GoMap<long, long>();
            for (long k = 0; k < 100; k++)
            {
                map[k] = k;
            }

            GoMap<long, long>.Enumerator e = map.GetEnumerator();
            Assert.True(e.MoveNext());
            FreeAsTheGuardsFinalizerDoes(map);
            int yielded = 0;
            Exception? thrown = Record.Exception(() =>
            {
                while (e.MoveNext() && yielded < 1_000)
                {
                    yielded++;
                }
            });
            Assert.True(thrown is ObjectDisposedException, $"MoveNext on a map its guard freed yielded {yielded} entries from freed memory and then {(thrown is null ? "ended" : "threw " + thrown.GetType().Name)}");
            GC.KeepAlive(map);
        }

        // Paths that held when the review probed them, kept as tests.

        private sealed class HookComparer : IEqualityComparer<long>
        {
            internal Action? OnHash;

            public bool Equals(long x, long y) => x == y;

            public int GetHashCode(long obj)
            {
                OnHash?.Invoke();
                return obj.GetHashCode();
            }
        }

        private sealed class HookStream : System.IO.MemoryStream
        {
            internal Action? OnWrite;

            public override void Write(ReadOnlySpan<byte> buffer)
            {
                base.Write(buffer);
                OnWrite?.Invoke();
            }

            public override void Write(byte[] buffer, int offset, int count)
            {
                base.Write(buffer, offset, count);
                OnWrite?.Invoke();
            }
        }

        private static GoMap<long, long> Filled(ConcurrencyChecks mode, int n, IEqualityComparer<long>? comparer = null)
        {
            var map = new GoMap<long, long>(new GoMapOptions { ConcurrencyChecks = mode }, comparer);
            for (long k = 0; k < n; k++)
            {
                map[k] = k;
            }

            return map;
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void TwoThreadsDisposingOneMapAtOnce_FreeItOnce(ConcurrencyChecks mode)
        {
            long baseline = LiveBytes.Settled();
            for (int round = 0; round < 50; round++)
            {
                GoMap<long, long> map = Filled(mode, 5_000);
                TestThreads.RunAtOnce(2, _ => map.Dispose());
                Assert.True(map.IsDisposed);
            }

            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go, "pairs")]
        [InlineData(ConcurrencyChecks.Go, "keys")]
        [InlineData(ConcurrencyChecks.Go, "boxed values")]
        [InlineData(ConcurrencyChecks.Strict, "pairs")]
        [InlineData(ConcurrencyChecks.Strict, "boxed keys")]
        public void DisposeInsideAForeach_StopsTheNextStepWithObjectDisposed_AndLeaksNothing(ConcurrencyChecks mode, string how)
        {
            long baseline = LiveBytes.Settled();
            GoMap<long, long> map = Filled(mode, 3_000);
            map.EnsureCapacity(20_000); // a growth in progress: retired memory and an old array too
            map[100_000] = 1;
            Assert.Throws<ObjectDisposedException>(() =>
            {
                switch (how)
                {
                    case "pairs":
                        foreach (KeyValuePair<long, long> kv in map)
                        {
                            map.Dispose();
                        }

                        break;
                    case "keys":
                        foreach (long k in map.Keys)
                        {
                            map.Dispose();
                        }

                        break;
                    case "boxed keys":
                        foreach (long k in (IEnumerable<long>)map.Keys)
                        {
                            map.Dispose();
                        }

                        break;
                    default:
                        foreach (long v in ((IReadOnlyDictionary<long, long>)map).Values)
                        {
                            map.Dispose();
                        }

                        break;
                }
            });
            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void DisposeFromAComparerDuringAGrowthsEvacuation_IsRefused_ALaterDisposeFrees(ConcurrencyChecks mode)
        {
            long baseline = LiveBytes.Settled();
            var comparer = new HookComparer();
            GoMap<long, long> map = Filled(mode, 1_000, comparer);
            while (!map.GetStats().IsGrowing)
            {
                map[map.LongCount + 10] = 1;
            }

            int calls = 0;
            comparer.OnHash = () =>
            {
                if (++calls == 2)
                {
                    map.Dispose(); // the first hash is the key's, before the write; the second an evacuated key's
                }
            };
            Assert.Throws<ConcurrentMapAccessException>(() => map[-1] = 1);
            Assert.True(calls >= 2, "the write evacuated nothing");
            Assert.False(map.IsDisposed);
            comparer.OnHash = null;
            Assert.Throws<ConcurrentMapAccessException>(() => map.Count);
            map.Dispose();
            Assert.True(map.IsDisposed);
            Assert.Throws<ObjectDisposedException>(() => map.Count);
            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void DisposeFromWriteTosStream_ThrowsObjectDisposed_AndLeaksNothing(ConcurrencyChecks mode)
        {
            long baseline = LiveBytes.Settled();
            GoMap<long, long> map = Filled(mode, 50_000);
            var stream = new HookStream();
            int writes = 0;
            stream.OnWrite = () =>
            {
                if (++writes == 3)
                {
                    map.Dispose();
                }
            };
            Assert.Throws<ObjectDisposedException>(() => map.WriteTo(stream));
            Assert.True(map.IsDisposed);
            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Fact]
        public void StrictReadersWhoseComparerThrowsOnThreadsThatThenDie_HoldNoDispose()
        {
            var comparer = new HookComparer();
            GoMap<long, long> map = Filled(ConcurrencyChecks.Strict, 1_000, comparer);
            comparer.OnHash = () => throw new InvalidOperationException("comparer");
            for (int t = 0; t < 20; t++)
            {
                var thread = new Thread(() =>
                {
                    try
                    {
                        map.TryGetValue(5, out _);
                    }
                    catch (InvalidOperationException)
                    {
                    }

                    try
                    {
                        GoMap<long, long>.Enumerator e = map.GetEnumerator();
                        e.MoveNext();
                        throw new InvalidOperationException("loop body"); // the thread's enumeration ends by an exception, undisposed
                    }
                    catch (InvalidOperationException)
                    {
                    }
                });
                thread.Start();
                thread.Join();
            }

            comparer.OnHash = null;
            var disposer = new Thread(map.Dispose);
            disposer.Start();
            Assert.True(disposer.Join(10_000), "Dispose waited for a read announcement that no thread holds");
        }

        [Fact]
        public void ManyShortLivedThreads_MakingStrictMapsAndDisposingThem_LeaveNothingBehind()
        {
            long baseline = LiveBytes.Settled();
            for (int round = 0; round < 200; round++)
            {
                var thread = new Thread(() =>
                {
                    using GoMap<long, long> map = Filled(ConcurrencyChecks.Strict, 100);
                    map.TryGetValue(3, out _);
                    foreach (KeyValuePair<long, long> kv in map)
                    {
                        break;
                    }
                });
                thread.Start();
                thread.Join();
            }

            Assert.Equal(baseline, LiveBytes.Settled());
            GC.Collect(2, GCCollectionMode.Forced, blocking: true);
            GC.WaitForPendingFinalizers();
            Assert.True(ReaderRegistry.FreeSlotCountForTest >= ReaderRegistry.SlotCountForTest - 8, $"{ReaderRegistry.SlotCountForTest} reader slots, {ReaderRegistry.FreeSlotCountForTest} free after the threads ended");
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void AbandonedBoxedEnumerators_ThenDispose_ThenTheirDisposeAndMoveNext_AreSafe(ConcurrencyChecks mode)
        {
            long baseline = LiveBytes.Settled();
            GoMap<long, long> map = Filled(mode, 2_000);
            var boxes = new List<System.Collections.IEnumerator>();
            for (int i = 0; i < 12; i++) // past the four fast slots: locked slots too
            {
                IEnumerator<KeyValuePair<long, long>> e = ((IEnumerable<KeyValuePair<long, long>>)map).GetEnumerator();
                e.MoveNext();
                boxes.Add(e);
                IEnumerator<long> k = ((IEnumerable<long>)map.Keys).GetEnumerator();
                k.MoveNext();
                boxes.Add(k);
            }

            for (long k = 2_000; k < 20_000; k++)
            {
                map[k] = k; // growths retire memory under the enumerators
            }

            map.Dispose();
            foreach (System.Collections.IEnumerator e in boxes)
            {
                Assert.Throws<ObjectDisposedException>(() => e.MoveNext());
                ((IDisposable)e).Dispose();
                Assert.Throws<ObjectDisposedException>(() => e.MoveNext());
            }

            Assert.Equal(baseline, LiveBytes.Settled());
        }
}
}
