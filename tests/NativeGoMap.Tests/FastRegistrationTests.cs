using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// The fast registration slots: the first enumerators of a map register without the lock, by
    /// a compare-and-swap on a claim word of their own (GoMap.RegisterIterator); the rest go to
    /// the locked table. What must hold: every enumerator is registered somewhere, memory retired
    /// under the oldest of them waits whichever table it is in, and Dispose never frees the fast
    /// table under a claim in progress.
    /// </summary>
    [Collection(NativeMemoryCollection.Name)]
    public class FastRegistrationTests
    {
        private static readonly int FastSlots = GoMap<int, long>.FastIterSlotsForTest;

        [Fact]
        public void TheFirstLiveEnumerators_TakeDistinctFastSlots_AndTheNextOnesTheLockedTable()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(100);
            var live = new List<GoMap<int, long>.Enumerator>();
            for (int k = 0; k < FastSlots + 2; k++)
            {
                GoMap<int, long>.Enumerator e = map.GetEnumerator();
                Assert.True(e.MoveNext());
                live.Add(e);
            }

            int[] slots = live.Select(e => e.SlotForTest).ToArray();
            Assert.Equal(slots.Length, slots.Distinct().Count());
            Assert.All(slots.Take(FastSlots), s => Assert.InRange(s, 0, FastSlots - 1));
            Assert.All(slots.Skip(FastSlots), s => Assert.True(s >= FastSlots, $"slot {s}"));
            Assert.Equal(2, map.LiveIteratorsRefForTest); // the locked table's count
            Assert.Equal(FastSlots + 2, map.GetStats().LiveEnumerators);
            map.Validate();

            foreach (GoMap<int, long>.Enumerator e in live)
            {
                e.Dispose();
            }

            Assert.Equal(0, map.GetStats().LiveEnumerators);
            map.Validate();
        }

        [Fact]
        public void AThreadWhoseFirstSlotIsTaken_StartsAtTheSlotItGot_NextTime()
        {
            // Slots are handed to threads in turn, so the fifth thread's turn meets the first's:
            // it moves to the slot it got, instead of reading the other's claim word every time.
            using GoMap<int, long> map = IterationHelpers.IntMap(16);
            GoMap<int, long>.Enumerator held = map.GetEnumerator();
            Assert.True(held.MoveNext());
            int taken = held.SlotForTest;
            int got = -1, hintAfter = -1;
            var other = new Thread(() =>
            {
                IterSlotHint.Current = 4 + taken; // this thread's turn meets the holder's
                GoMap<int, long>.Enumerator e = map.GetEnumerator();
                got = e.SlotForTest;
                e.Dispose();
                hintAfter = IterSlotHint.Current;
            });
            other.Start();
            other.Join();
            held.Dispose();

            Assert.NotEqual(taken, got);
            Assert.InRange(got, 0, FastSlots - 1);
            Assert.Equal(4 + got, hintAfter);
        }

        [Fact]
        public void WithAFixedSeed_EnumerationOrders_DoNotDependOnTheSlotTheThreadTakes()
        {
            // GoMapOptions.Seed makes iteration order reproducible; which fast slot a thread
            // starts at depends on the threads the process ran before (IterSlotHint).
            List<int> OrdersFromSlot(int slot)
            {
                var keys = new List<int>();
                var thread = new Thread(() =>
                {
                    IterSlotHint.Current = 4 + slot;
                    using var map = new GoMap<int, long>(new GoMapOptions { Seed = 42 });
                    for (int i = 0; i < 200; i++)
                    {
                        map.Add(i, i);
                    }

                    for (int walk = 0; walk < 3; walk++)
                    {
                        foreach (KeyValuePair<int, long> kv in map)
                        {
                            keys.Add(kv.Key);
                        }
                    }
                });
                thread.Start();
                thread.Join();
                return keys;
            }

            List<int> first = OrdersFromSlot(0);
            Assert.Equal(600, first.Count);
            for (int slot = 1; slot < FastSlots; slot++)
            {
                Assert.Equal(first, OrdersFromSlot(slot));
            }
        }

        [Fact]
        public void EnumerationsOnTwoThreadsAtOnce_EachYieldEveryEntry_AndLeaveNoRegistration()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(16);
            long expected = Enumerable.Range(0, 16).Sum(i => (long)i * 10);
            using var start = new Barrier(2);
            int bad = 0;
            void Enumerate()
            {
                start.SignalAndWait();
                for (int round = 0; round < 20_000; round++)
                {
                    long sum = 0;
                    int count = 0;
                    foreach (KeyValuePair<int, long> kv in map)
                    {
                        sum += kv.Value;
                        count++;
                    }

                    if (sum != expected || count != 16)
                    {
                        Interlocked.Increment(ref bad);
                    }
                }
            }

            var other = new Thread(Enumerate);
            other.Start();
            Enumerate();
            other.Join();

            Assert.Equal(0, bad);
            Assert.Equal(0, map.GetStats().LiveEnumerators);
            map.Validate();
        }

        [Fact]
        public void MemoryRetiredUnderALockedRegistration_WaitsForIt_AfterTheYoungerFastOnesEnd()
        {
            // The oldest live enumerator is the one whose boundary lies deepest in the deferred
            // list, whichever table it is in: here a locked one, started before a fast one.
            using GoMap<int, long> map = IterationHelpers.IntMap(100);
            GoMap<int, long>.Enumerator locked = LockedOverARetiredArray(map, out long deferred);

            GoMap<int, long>.Enumerator younger = map.GetEnumerator();
            Assert.True(younger.MoveNext());
            Assert.True(younger.SlotForTest < FastSlots);
            younger.Dispose();
            for (int w = 0; w < 2 * Release.MaxWritesToRelease(map); w++)
            {
                map[0] = 0L; // writes release nothing the locked enumerator may still read
            }

            Assert.Equal(deferred, map.GetStats().DeferredBytes);
            Assert.True(locked.MoveNext()); // still walking the retired array
            locked.Dispose();
            Release.Drain(map, () => map[0] = 0L);
            Assert.Equal(0, map.GetStats().DeferredBytes);
            map.Validate();
        }

        [Fact]
        public void MemoryRetiredBeforeAFastRegistration_DoesNotWaitForIt_WhenTheOlderLockedOneEnds()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(100);
            GoMap<int, long>.Enumerator locked = LockedOverARetiredArray(map, out _);

            GoMap<int, long>.Enumerator younger = map.GetEnumerator(); // a fast slot, started after the retirement
            Assert.True(younger.MoveNext());
            locked.Dispose();
            Release.Drain(map, () => map[0] = 0L);
            Assert.Equal(0, map.GetStats().DeferredBytes);
            Assert.Equal(1, map.GetStats().LiveEnumerators);
            Assert.True(younger.MoveNext());
            younger.Dispose();
            map.Validate();
        }

        [Fact]
        public void OfTwoLiveEnumerators_TheOneWhoseBoundaryLiesDeeper_KeepsWhatWasRetiredUnderIt()
        {
            // Registrations carry no global order any more: the deferred list (newest first) has
            // it. first starts after retirement A, second after retirement B; once the enumerator
            // that kept A ends, A is released (first and second started after it), and B stays
            // for first, which may still walk it.
            using GoMap<int, long> map = IterationHelpers.IntMap(100);
            GoMap<int, long>.Enumerator holder = map.GetEnumerator(); // keeps A deferred
            Assert.True(holder.MoveNext());
            int next = IterationHelpers.InsertUntilGrowing(map, 100);
            IterationHelpers.FinishGrowth(map, 0, 0L);
            long a = map.GetStats().DeferredBytes;
            Assert.True(a > 0);

            GoMap<int, long>.Enumerator first = map.GetEnumerator(); // boundary: A
            Assert.True(first.MoveNext());
            IterationHelpers.InsertUntilGrowing(map, next);
            IterationHelpers.FinishGrowth(map, 0, 0L);
            long b = map.GetStats().DeferredBytes - a;
            Assert.True(b > 0);

            GoMap<int, long>.Enumerator second = map.GetEnumerator(); // boundary: B
            Assert.True(second.MoveNext());
            holder.Dispose();
            for (int w = 0; w < 2 * Release.MaxWritesToRelease(map); w++)
            {
                map[0] = 0L; // enough writes to release A, and B too were nothing to keep it
            }

            Assert.Equal(b, map.GetStats().DeferredBytes); // A released, B kept for first

            first.Dispose();
            Release.Drain(map, () => map[0] = 0L);
            Assert.Equal(0, map.GetStats().DeferredBytes);
            second.Dispose();
            map.Validate();
        }

        [Fact]
        public void Dispose_WaitsWhileAFastSlotIsBeingClaimed_ThenFreesEverything()
        {
            // A claim in progress on another thread (its word Claiming: it passed the flag check
            // and writes into the fast table) holds Dispose until the word settles.
            long baseline = LiveBytes.Settled();
            var map = IterationHelpers.IntMap(100);
            foreach (KeyValuePair<int, long> kv in map)
            {
            }

            int k = Enumerable.Range(0, FastSlots).First(s => (map.FastClaimWordRefForTest(s) & 3) == 0);
            long free = map.FastClaimWordRefForTest(k);
            map.FastClaimWordRefForTest(k) = free + 1; // Claiming

            var dispose = new Thread(map.Dispose);
            dispose.Start();
            Assert.False(dispose.Join(200), "Dispose freed the fast table under a claim in progress");
            Assert.True(map.IsDisposed);

            Volatile.Write(ref map.FastClaimWordRefForTest(k), free + 4); // the claim saw the flag and gave up
            Assert.True(dispose.Join(10_000), "Dispose did not finish once the claim settled");
            map.Validate();
            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Fact]
        public void AFastClaimOnAPoisonedMap_IsGivenUp_AndTheStartThrows()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(100);
            foreach (KeyValuePair<int, long> kv in map)
            {
            }

            long[] before = Enumerable.Range(0, FastSlots).Select(s => map.FastClaimWordRefForTest(s)).ToArray();
            map.PoisonForTest("concurrent map writes");
            Assert.Throws<ConcurrentMapAccessException>(() => map.RegisterForTest()); // the claim's own check, which a start racing the poisoning meets

            long[] after = Enumerable.Range(0, FastSlots).Select(s => map.FastClaimWordRefForTest(s)).ToArray();
            Assert.All(after, w => Assert.Equal(0L, w & 3)); // every slot Free
            Assert.Equal(1, Enumerable.Range(0, FastSlots).Count(s => after[s] == before[s] + 4)); // one claimed and given up: its next generation
            Assert.Equal(0, map.LiveIteratorCountForTest);
        }

        /// <summary><see cref="LockedOneStepIn"/>, then a growth of the 100-entry map run to its end, which retires the array that enumerator walks: <paramref name="deferred"/> bytes wait for it.</summary>
        private static GoMap<int, long>.Enumerator LockedOverARetiredArray(GoMap<int, long> map, out long deferred)
        {
            GoMap<int, long>.Enumerator locked = LockedOneStepIn(map);
            IterationHelpers.InsertUntilGrowing(map, 100);
            IterationHelpers.FinishGrowth(map, 0, 0L);
            deferred = map.GetStats().DeferredBytes;
            Assert.True(deferred > 0);
            return locked;
        }

        /// <summary>
        /// An enumerator one step in that registered in the locked table (the fast slots were
        /// held meanwhile, and are free again when it returns).
        /// </summary>
        private static GoMap<int, long>.Enumerator LockedOneStepIn(GoMap<int, long> map)
        {
            var fastHolders = new List<GoMap<int, long>.Enumerator>();
            for (int k = 0; k < FastSlots; k++)
            {
                fastHolders.Add(map.GetEnumerator());
            }

            GoMap<int, long>.Enumerator locked = map.GetEnumerator();
            Assert.True(locked.MoveNext());
            Assert.True(locked.SlotForTest >= FastSlots);
            foreach (GoMap<int, long>.Enumerator e in fastHolders)
            {
                e.Dispose();
            }

            return locked;
        }
    }
}
