using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>Go's iteration semantics on a map that does not grow: order, exactly-once, writes during iteration, misuse.</summary>
    public class IterationSemanticsTests
    {
        // ---- 1. random start bucket and slot offset ----

        [Fact]
        public void AMapOfOneEntry_IsEnumeratedAsThatEntry_EveryTime()
        {
            // One entry has one order: the random start has nothing to shuffle, but whichever
            // bucket and slot offset it picks, the walk must still reach the entry, once.
            using GoMap<int, long> single = IterationHelpers.IntMap(1);
            for (int i = 0; i < 20; i++)
            {
                Assert.Equal(new[] { 0 }, IterationHelpers.OrderOf(single));
            }
        }

        [Theory]
        [InlineData(3)]
        [InlineData(7)]
        [InlineData(9)]
        [InlineData(15)]
        [InlineData(100)]
        public void TwoEnumerationsOfAnUnchangedMapUsuallyDifferInOrder(int n)
        {
            // Go's TestMapIterOrder: over many tries, some pair of enumerations must differ.
            for (int attempt = 0; attempt < 100; attempt++)
            {
                using GoMap<int, long> map = IterationHelpers.IntMap(n);
                List<int> first = IterationHelpers.OrderOf(map);
                Assert.Equal(Enumerable.Range(0, n), first.OrderBy(k => k));
                for (int again = 0; again < 10; again++)
                {
                    if (!first.SequenceEqual(IterationHelpers.OrderOf(map)))
                    {
                        return;
                    }
                }
            }

            Assert.Fail($"a map of {n} entries was always enumerated in the same order");
        }

        [Fact]
        public void EnumerationsOfASparseMapUsuallyDifferInOrder()
        {
            // Go's TestMapSparseIterOrder: 1000 entries, all but 20 deleted, so most buckets are empty.
            for (int round = 0; round < 20; round++)
            {
                using GoMap<int, long> map = IterationHelpers.IntMap(1000);
                for (int i = 20; i < 1000; i++)
                {
                    Assert.True(map.Remove(i));
                }

                List<int> first = IterationHelpers.OrderOf(map);
                Assert.Equal(Enumerable.Range(0, 20), first.OrderBy(k => k));
                bool differs = false;
                for (int again = 0; again < 200 && !differs; again++)
                {
                    differs = !first.SequenceEqual(IterationHelpers.OrderOf(map));
                }

                Assert.True(differs, $"constant enumeration order of a sparse map on round {round}");
            }
        }

        [Fact]
        public void MapsBuiltIdenticallyWithTheSameSeedEnumerateInTheSameOrder()
        {
            static GoMap<int, long> Build()
            {
                var map = new GoMap<int, long>(new GoMapOptions { Seed = 42 });
                for (int i = 0; i < 500; i++)
                {
                    map[i * 7] = i;
                }

                for (int i = 0; i < 500; i += 3)
                {
                    map.Remove(i * 7);
                }

                return map;
            }

            using GoMap<int, long> a = Build();
            using GoMap<int, long> b = Build();
            var ordersA = new List<List<int>>();
            for (int k = 0; k < 4; k++)
            {
                List<int> orderA = IterationHelpers.OrderOf(a);
                List<int> orderB = IterationHelpers.OrderOf(b);
                Assert.Equal(orderA, orderB);
                ordersA.Add(orderA);
            }

            // The seed fixes the sequence of starting points, not one starting point.
            Assert.Contains(ordersA, o => !o.SequenceEqual(ordersA[0]));
        }

        // ---- 2. exactly once; removes, adds and updates during iteration ----

        [Theory]
        [InlineData(0)]
        [InlineData(1)]
        [InlineData(8)]
        [InlineData(9)]
        [InlineData(53)]
        [InlineData(1000)]
        public void EveryEntryOfAnUnchangedMapIsYieldedOnceWithItsValue(int n)
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(n);
            var seen = new HashSet<int>();
            foreach (KeyValuePair<int, long> kv in map)
            {
                Assert.True(seen.Add(kv.Key), $"key {kv.Key} yielded twice");
                Assert.Equal(kv.Key * 10L, kv.Value);
            }

            Assert.Equal(n, seen.Count);
        }

        [Fact]
        public void EveryEntryOfCollidingOverflowChainsIsYieldedOnce()
        {
            var comparer = new CollidingComparer<int>(EqualityComparer<int>.Default, k => k % 3);
            using var map = new GoMap<int, long>(null, comparer);
            for (int i = 0; i < 200; i++)
            {
                map.Add(i, i);
            }

            Assert.True(map.GetStats().OverflowBuckets > 0);
            var seen = new HashSet<int>();
            foreach (KeyValuePair<int, long> kv in map)
            {
                Assert.True(seen.Add(kv.Key), $"key {kv.Key} yielded twice");
                Assert.Equal(kv.Key, kv.Value);
            }

            Assert.Equal(200, seen.Count);
        }

        [Fact]
        public void EnumerationAfterTheEndKeepsReturningFalse()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(10);
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            Assert.Equal(10, IterationHelpers.DrainKeys(ref e).Count);
            Assert.False(e.MoveNext());
            Assert.False(e.MoveNext());
            e.Dispose();
        }

        [Fact]
        public void EntriesRemovedBeforeTheyAreReachedAreNotYielded()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(300);
            var seen = new List<int>();
            var removed = new HashSet<int>();
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            while (e.MoveNext())
            {
                int k = e.Current.Key;
                Assert.DoesNotContain(k, removed);
                seen.Add(k);
                if (seen.Count == 1)
                {
                    // Remove every even key not yet reached.
                    for (int i = 0; i < 300; i += 2)
                    {
                        if (i != k && map.Remove(i))
                        {
                            removed.Add(i);
                        }
                    }
                }
            }

            Assert.Equal(seen.Count, seen.Distinct().Count());
            Assert.Equal(Enumerable.Range(0, 300).Where(i => !removed.Contains(i)).OrderBy(i => i), seen.OrderBy(i => i));
        }

        [Fact]
        public void RemovingTheCurrentEntryDoesNotDisturbTheRest()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(500);
            var seen = new HashSet<int>();
            foreach (KeyValuePair<int, long> kv in map)
            {
                Assert.True(seen.Add(kv.Key));
                Assert.True(map.Remove(kv.Key));
            }

            Assert.Equal(500, seen.Count);
            Assert.True(map.Count == 0, "the map is not empty");
            map.Validate();
        }

        [Fact]
        public void EntriesAddedDuringEnumerationAreYieldedAtMostOnce()
        {
            // Room for everything up front: no growth, only the add-during-iteration rule.
            using GoMap<int, long> map = IterationHelpers.IntMap(200, capacityHint: 2000);
            int b = map.GetStats().B;
            var counts = new Dictionary<int, int>();
            int next = 1000;
            foreach (KeyValuePair<int, long> kv in map)
            {
                counts[kv.Key] = counts.GetValueOrDefault(kv.Key) + 1;
                Assert.Equal(kv.Key * 10L, kv.Value);
                for (int j = 0; j < 5 && next < 2000; j++, next++)
                {
                    map.Add(next, next * 10L);
                }
            }

            Assert.Equal(b, map.GetStats().B);
            Assert.All(counts, c => Assert.Equal(1, c.Value));
            Assert.All(Enumerable.Range(0, 200), k => Assert.True(counts.ContainsKey(k), $"original key {k} missing"));
        }

        [Fact]
        public void ValuesUpdatedThroughTheIndexerDuringEnumerationAreYieldedUpdated()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(400);
            var seen = new HashSet<int>();
            foreach (KeyValuePair<int, long> kv in map)
            {
                // Every key reached after the first step was updated before it was reached.
                long expected = seen.Count == 0 ? kv.Key * 10L : -kv.Key;
                Assert.Equal(expected, kv.Value);
                if (seen.Count == 0)
                {
                    for (int i = 0; i < 400; i++)
                    {
                        if (i != kv.Key)
                        {
                            map[i] = -i;
                        }
                    }
                }

                Assert.True(seen.Add(kv.Key));
            }

            Assert.Equal(400, seen.Count);
        }

        [Fact]
        public void CurrentValueRefUpdatesTheCurrentEntryInPlace()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(300);
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            int n = 0;
            while (e.MoveNext())
            {
                Assert.Equal(e.Current.Value, e.CurrentValueRef);
                e.CurrentValueRef += 1;
                n++;
            }

            Assert.Equal(300, n);
            for (int i = 0; i < 300; i++)
            {
                Assert.Equal((i * 10L) + 1, map[i]);
            }
        }

        [Fact]
        public void ValueEnumeratorCurrentValueRefUpdatesValuesInPlace()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(100);
            GoMap<int, long>.ValueEnumerator e = map.Values.GetEnumerator();
            while (e.MoveNext())
            {
                e.CurrentValueRef = e.Current * 2;
            }

            for (int i = 0; i < 100; i++)
            {
                Assert.Equal(i * 20L, map[i]);
            }
        }

        [Fact]
        public void CurrentValueRefThrowsOnceTheMapWasWritten()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(50);
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            Assert.True(e.MoveNext());
            _ = e.CurrentValueRef;
            map[1000] = 1; // any write
            Assert.Throws<InvalidOperationException>(() => { _ = e.CurrentValueRef; });

            // The next step finds a new current entry, whose reference is valid again.
            Assert.True(e.MoveNext());
            Assert.Equal(e.Current.Value, e.CurrentValueRef);
            e.Dispose();
        }

        [Fact]
        public void CurrentValueRefThrowsWithoutACurrentEntry()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(3);
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            Assert.Throws<InvalidOperationException>(() => { _ = e.CurrentValueRef; });
            while (e.MoveNext())
            {
            }

            Assert.Throws<InvalidOperationException>(() => { _ = e.CurrentValueRef; });
        }

        // ---- Keys, Values, the boxed interfaces, copies ----

        [Fact]
        public void KeysAndValuesYieldEachEntryOnce()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(777);
            var keys = new List<int>();
            foreach (int k in map.Keys)
            {
                keys.Add(k);
            }

            var values = new List<long>();
            foreach (long v in map.Values)
            {
                values.Add(v);
            }

            Assert.Equal(Enumerable.Range(0, 777), keys.OrderBy(k => k));
            Assert.Equal(Enumerable.Range(0, 777).Select(k => k * 10L), values.OrderBy(v => v));
            Assert.Equal(777, map.Keys.Count);
            Assert.Equal(777, map.Values.Count);
        }

        [Fact]
        public void ReadOnlyDictionaryEnumerationYieldsEachEntryOnce()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(100);
            IReadOnlyDictionary<int, long> dict = map;
            Assert.Equal(Enumerable.Range(0, 100).ToDictionary(k => k, k => k * 10L), dict.ToDictionary(kv => kv.Key, kv => kv.Value));
            Assert.Equal(Enumerable.Range(0, 100), dict.Keys.OrderBy(k => k));
            Assert.Equal(Enumerable.Range(0, 100).Select(k => k * 10L), dict.Values.OrderBy(v => v));

            int n = 0;
            IEnumerator untyped = ((IEnumerable)map).GetEnumerator();
            while (untyped.MoveNext())
            {
                Assert.IsType<KeyValuePair<int, long>>(untyped.Current);
                n++;
            }

            Assert.Equal(100, n);
            ((IDisposable)untyped).Dispose();
            Assert.Equal(0, map.GetStats().LiveEnumerators);
        }

        [Fact]
        public void CopiesOfAnEnumeratorStopOnceOneCopyIsDisposed()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(20);
            GoMap<int, long>.Enumerator a = map.GetEnumerator();
            Assert.True(a.MoveNext());
            GoMap<int, long>.Enumerator b = a;
            Assert.Equal(1, map.GetStats().LiveEnumerators);
            a.Dispose();
            Assert.Equal(0, map.GetStats().LiveEnumerators);
            Assert.Throws<InvalidOperationException>(() => b.MoveNext());
            b.Dispose(); // harmless
            Assert.Equal(0, map.GetStats().LiveEnumerators);
        }

        [Fact]
        public void CopiesOfAnEnumeratorStopOnceOneCopyFinishes()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(20);
            GoMap<int, long>.Enumerator a = map.GetEnumerator();
            Assert.True(a.MoveNext());
            GoMap<int, long>.Enumerator b = a;
            while (a.MoveNext())
            {
            }

            Assert.Equal(0, map.GetStats().LiveEnumerators);
            Assert.Throws<InvalidOperationException>(() => b.MoveNext());
        }

        [Fact]
        public void DefaultEnumeratorYieldsNothing()
        {
            GoMap<int, long>.Enumerator e = default;
            Assert.False(e.MoveNext());
            e.Dispose();
        }

        [Fact]
        public void EnumeratorsStartedAndEndedOnSeveralThreadsAtOnce_LeaveNoRegistrationBehind()
        {
            // The registration lock (EnterIterLock) under contention: every start takes a slot and
            // a ticket, every end gives them back; a lost update leaves a count or a slot behind.
            using GoMap<int, long> map = IterationHelpers.IntMap(16);
            TestThreads.RunAtOnce(4, _ =>
            {
                for (int round = 0; round < 20_000; round++)
                {
                    using GoMap<int, long>.Enumerator e = map.GetEnumerator();
                    if (!e.MoveNext())
                    {
                        throw new InvalidOperationException("an enumeration of 16 entries yielded none");
                    }
                }
            });

            Assert.Equal(0, map.GetStats().LiveEnumerators);
            map.Validate();
        }

        [Fact]
        public void EnumerationsOnSeveralThreadsAtOnceEachYieldEveryEntry()
        {
            // Reads may run in parallel, and so may enumerations (Go: ranging over a map from
            // several goroutines without writers is fine).
            using GoMap<int, long> map = IterationHelpers.IntMap(2000);
            TestThreads.RunAtOnce(3, _ =>
            {
                for (int round = 0; round < 30; round++)
                {
                    var seen = new bool[2000];
                    int n = 0;
                    foreach (KeyValuePair<int, long> kv in map)
                    {
                        if (seen[kv.Key] || kv.Value != kv.Key * 10L)
                        {
                            throw new InvalidOperationException($"key {kv.Key} yielded twice or with value {kv.Value}");
                        }

                        seen[kv.Key] = true;
                        n++;
                    }

                    if (n != 2000)
                    {
                        throw new InvalidOperationException($"{n} entries yielded instead of 2000");
                    }
                }
            });

            Assert.Equal(0, map.GetStats().LiveEnumerators);
            map.Validate();
        }

        // ---- 5. a write detected during a step ----

        [Fact]
        public void MoveNextThrowsWhileAWriteIsInProgressOnAnotherThread()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(100);
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            Assert.True(e.MoveNext());

            // The "other thread" holds hashWriting; detection poisons the map, which waits for
            // that writer to finish, so the writer is released as soon as detection has begun.
            map.SimulateWriteBegin();
            var writer = new Thread(() =>
            {
                var deadline = DateTime.UtcNow.AddSeconds(60); // hang guard only
                while (map.PoisonMessage is null && DateTime.UtcNow < deadline)
                {
                    Thread.Yield();
                }

                map.SimulateWriteEnd();
            });
            writer.Start();
            ConcurrentMapAccessException ex = Assert.Throws<ConcurrentMapAccessException>(() => e.MoveNext());
            writer.Join();
            Assert.Equal("concurrent map iteration and map write", ex.Message);

            // The map is poisoned now: every later use throws the same, Dispose still frees.
            Assert.True(map.IsPoisoned);
            ConcurrentMapAccessException again = Assert.Throws<ConcurrentMapAccessException>(() => e.MoveNext());
            Assert.Equal("concurrent map iteration and map write", again.Message);
            Assert.Throws<ConcurrentMapAccessException>(() => map.GetEnumerator());
            e.Dispose();
        }

        [Fact]
        public void MoveNextThrowsWhenAWriteRunsDuringTheStep()
        {
            // The comparer is consulted inside the step (the table grew, so the step looks the
            // entry up again); there it lets a whole write of "another thread" happen.
            var comparer = new CollidingComparer<int>(EqualityComparer<int>.Default, k => k);
            using var map = new GoMap<int, long>(null, comparer);
            GoMap<int, long>.Enumerator e = GrownUnderAStartedEnumeration(map, out _);
            comparer.OnHash = () =>
            {
                comparer.OnHash = null;
                map.SimulateWriteBegin();
                map.SimulateWriteEnd();
            };
            ConcurrentMapAccessException ex = Assert.Throws<ConcurrentMapAccessException>(() => e.MoveNext());
            Assert.Null(comparer.OnHash); // the write really happened inside the step
            Assert.Equal("concurrent map iteration and map write", ex.Message);
            Assert.True(map.IsPoisoned);
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void AComparerThatThrowsInsideAStep_LeavesNoReadBehind(ConcurrencyChecks checks)
        {
            // The step looks an entry up again (the table grew since the enumeration started),
            // and the comparer throws there. Its exception reaches the caller, and the step's
            // read ends with it: a Strict read's announcement left behind would make the next
            // write on another thread report a read that is not running.
            var comparer = new CollidingComparer<int>(EqualityComparer<int>.Default, k => k);
            using var map = new GoMap<int, long>(new GoMapOptions { ConcurrencyChecks = checks }, comparer);
            GoMap<int, long>.Enumerator e = GrownUnderAStartedEnumeration(map, out int count);
            comparer.OnHash = () =>
            {
                comparer.OnHash = null;
                throw new InvalidOperationException("the comparer failed");
            };
            InvalidOperationException ex = Assert.Throws<InvalidOperationException>(() => e.MoveNext());
            Assert.Equal("the comparer failed", ex.Message);
            Assert.Null(comparer.OnHash); // it threw from inside the step

            Assert.Null(CoreSupport.OffThread.Start(() => map.Add(-1, -1)).Join());
            Assert.False(map.IsPoisoned);
            e.Dispose();
            map.Validate();
            Assert.Equal(count + 1, map.Count);
        }

        /// <summary>
        /// Fills an empty <paramref name="map"/> with keys 0 to 49, starts an enumeration and
        /// takes its first step, then inserts the next keys until a growth to a larger B has
        /// finished: the enumeration's next step looks the entries the growth moved up again
        /// (through the map's comparer, if any). <paramref name="count"/> is the map's count then.
        /// </summary>
        private static GoMap<int, long>.Enumerator GrownUnderAStartedEnumeration(GoMap<int, long> map, out int count)
        {
            for (int i = 0; i < 50; i++)
            {
                map.Add(i, i);
            }

            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            Assert.True(e.MoveNext());
            int next = 50;
            int b = map.GetStats().B;
            while (map.GetStats().B == b || map.GetStats().IsGrowing)
            {
                map.Add(next, next);
                next++;
            }

            count = next;
            return e;
        }

        [Fact]
        public unsafe void StrictDisposeOnAnotherThreadDoesNotFreeMemoryAStepIsReading()
        {
            // Misuse must not become a use-after-free (a Strict-mode guarantee): a map disposed on
            // one thread while an enumeration step runs on another. Strict reads announce
            // themselves so that Dispose waits for them; a step must be covered the same way. The
            // comparer stops the step right after its state check (in the lookup of an entry
            // moved by a growth), and Dispose runs on another thread meanwhile, in poison mode so
            // that freed blocks stay mapped and can be recognized.
            var comparer = new CollidingComparer<int>(EqualityComparer<int>.Default, k => k);
            var map = new GoMap<int, long>(new GoMapOptions { ConcurrencyChecks = ConcurrencyChecks.Strict }, comparer);
            GoMap<int, long>.Enumerator e = GrownUnderAStartedEnumeration(map, out _);
            byte* walked = e._buckets; // retired by the growth, kept for the enumerator
            bool walkedArrayFreedDuringStep = false;
            Exception? disposeError = null;
            using var disposeEnded = new ManualResetEventSlim();
            using var release = new ManualResetEventSlim();
            var disposer = new Thread(() =>
            {
                NativeHeap.PoisonFreedMemory = true;
                try
                {
                    map.Dispose();
                }
                catch (Exception ex)
                {
                    disposeError = ex; // detecting the misuse instead of waiting is fine too
                }

                disposeEnded.Set();
                release.Wait();
                NativeHeap.PoisonFreedMemory = false;
                NativeHeap.ReleaseQuarantine();
            });
            comparer.OnEquals = () =>
            {
                comparer.OnEquals = null;
                disposer.Start();

                // A Dispose that waits for this step cannot end now; this wait only bounds how
                // long a wrong one is given to show itself.
                if (disposeEnded.Wait(TimeSpan.FromSeconds(2)))
                {
                    walkedArrayFreedDuringStep = *(ulong*)(walked - 16) >> 56 == 0x5D; // NativeHeap's freed-block magic
                    if (walkedArrayFreedDuringStep)
                    {
                        throw new OperationCanceledException("step abandoned: its memory was freed under it");
                    }
                }
            };

            Exception? stepError = Record.Exception(() => e.MoveNext());
            release.Set();
            disposer.Join();
            Assert.False(walkedArrayFreedDuringStep, "Dispose on another thread freed the bucket array an enumeration step was reading" + (disposeError is null ? "" : $" (Dispose threw {disposeError.GetType().Name})"));
            // Either the Dispose waited for the step (which then completed normally, and the next
            // one finds the map disposed), or the misuse was detected.
            Assert.True(stepError is null or ObjectDisposedException or ConcurrentMapAccessException, $"the step ended with {stepError?.GetType().Name}");
            Assert.True(map.IsDisposed || disposeError is ConcurrentMapAccessException);
            if (stepError is null)
            {
                Assert.Null(disposeError);
                Assert.Throws<ObjectDisposedException>(() => e.MoveNext());
            }
        }

        // ---- 6. disposed maps ----

        [Fact]
        public void EnumeratingADisposedMapThrowsObjectDisposed()
        {
            GoMap<int, long> map = IterationHelpers.IntMap(10);
            map.Dispose();
            Assert.Throws<ObjectDisposedException>(() => map.GetEnumerator());
            Assert.Throws<ObjectDisposedException>(() => map.Keys.GetEnumerator());
            Assert.Throws<ObjectDisposedException>(() => map.Values.GetEnumerator());
            Assert.Throws<ObjectDisposedException>(() => ((IEnumerable<KeyValuePair<int, long>>)map).GetEnumerator());
        }

        [Fact]
        public void ContinuingAnEnumeratorAfterItsMapWasDisposedThrowsObjectDisposed()
        {
            GoMap<int, long> map = IterationHelpers.IntMap(100);
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            GoMap<int, long>.KeyEnumerator ke = map.Keys.GetEnumerator();
            GoMap<int, long>.ValueEnumerator ve = map.Values.GetEnumerator();
            Assert.True(e.MoveNext());
            Assert.True(ke.MoveNext());
            Assert.True(ve.MoveNext());
            map.Dispose();

            Assert.Throws<ObjectDisposedException>(() => e.MoveNext());
            Assert.Throws<ObjectDisposedException>(() => ke.MoveNext());
            Assert.Throws<ObjectDisposedException>(() => ve.MoveNext());
            Assert.Throws<ObjectDisposedException>(() => { _ = e.CurrentValueRef; });
            e.Dispose();
            ke.Dispose();
            ve.Dispose();
        }

        [Fact]
        public void AnEnumeratorThatFinishedBeforeItsMapWasDisposedThrowsObjectDisposed()
        {
            GoMap<int, long> map = IterationHelpers.IntMap(5);
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            while (e.MoveNext())
            {
            }

            map.Dispose();
            Assert.Throws<ObjectDisposedException>(() => e.MoveNext());
            e.Dispose();
        }
    }
}
