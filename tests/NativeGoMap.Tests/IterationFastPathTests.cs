using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics;
using System.Threading;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// Iteration's cached-mask fast path: after yielding an entry, an enumerator keeps the rest of
    /// the live slots of its bucket (and of the buckets read with it, up to eight) as a bit mask
    /// and yields them without reading the tophash words again while the map is not written.
    /// Whatever happens between two steps inside a bucket (a
    /// delete, an update, a clear, a disposal, a write on another thread) must be honoured as if
    /// the bucket were read again.
    /// </summary>
    public unsafe class IterationFastPathTests
    {
        private const int Entries = 1000;

        private static GoMap<int, long> Map(ConcurrencyChecks checks) => IterationHelpers.IntMap(Entries, seed: 11, checks: checks);

        /// <summary>
        /// Steps <paramref name="e"/> until it stands inside a bucket with at least
        /// <paramref name="rest"/> entries still to yield from its mask; returns those entries'
        /// keys in the order they would be yielded.
        /// </summary>
        private static List<int> StepIntoABucket(ref GoMap<int, long>.Enumerator e, YieldLog log, int rest = 2)
        {
            while (true)
            {
                Assert.True(e.MoveNext(), $"no bucket with {rest} more entries to yield");
                log.Saw(e.Current.Key);
                if (BitOperations.PopCount(e.RestOfBucket) >= rest)
                {
                    var keys = new List<int>();
                    for (ulong m = e.RestOfBucket; m != 0; m &= m - 1)
                    {
                        int slot = ((BitOperations.TrailingZeroCount(m) >> 3) + e._offset) & 7; // one 0x80 byte per slot, rotated by the offset
                        keys.Add(MapInternals<int, long>.Key(e.CurrentBucket, slot));
                    }

                    return keys;
                }
            }
        }

        private static void Finish(ref GoMap<int, long>.Enumerator e, YieldLog log, Action<int, long>? check = null)
        {
            while (e.MoveNext())
            {
                log.Saw(e.Current.Key);
                check?.Invoke(e.Current.Key, e.Current.Value);
            }
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go, false)]
        [InlineData(ConcurrencyChecks.Strict, false)]
        [InlineData(ConcurrencyChecks.Go, true)]
        [InlineData(ConcurrencyChecks.Strict, true)]
        public void DeletingANotYetYieldedEntryOfTheCurrentBucket_BetweenSteps_ItIsNotYielded(ConcurrencyChecks checks, bool currentToo)
        {
            // currentToo: the current entry is removed in the same gap, so its slot reads empty,
            // yet the rest must still be narrowed (two removals: RemovedOnlyCurrent says no).
            using GoMap<int, long> map = Map(checks);
            var log = new YieldLog();
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            List<int> rest = StepIntoABucket(ref e, log);
            int victim = rest[^1];
            Assert.False(log.Contains(victim));

            if (currentToo)
            {
                Assert.True(map.Remove(e.Current.Key));
            }

            Assert.True(map.Remove(victim));
            Finish(ref e, log);
            Assert.False(log.Contains(victim), $"key {victim} was removed before it was reached but was yielded");
            log.AssertYieldedAll(Enumerable.Range(0, Entries).Where(k => k != victim));
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void DeletingTheWholeRestOfTheCurrentBucket_BetweenSteps_NoneOfItIsYielded(ConcurrencyChecks checks)
        {
            using GoMap<int, long> map = Map(checks);
            var log = new YieldLog();
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            List<int> rest = StepIntoABucket(ref e, log, rest: 3);
            foreach (int k in rest)
            {
                Assert.True(map.Remove(k));
            }

            Finish(ref e, log);
            Assert.All(rest, k => Assert.False(log.Contains(k), $"removed key {k} was yielded"));
            log.AssertYieldedAll(Enumerable.Range(0, Entries).Except(rest));
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void RemovingTheCurrentEntry_BetweenSteps_YieldsTheRestOfItsBucketInOrder(ConcurrencyChecks checks)
        {
            // Go's filtering idiom; the walk keeps the rest of its group as it was (one removal,
            // and it emptied the current slot: RemovedOnlyCurrent).
            using GoMap<int, long> map = Map(checks);
            var log = new YieldLog();
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            List<int> rest = StepIntoABucket(ref e, log);
            Assert.True(map.Remove(e.Current.Key));
            foreach (int k in rest)
            {
                Assert.True(e.MoveNext());
                Assert.Equal(k, e.Current.Key);
                log.Saw(k);
            }

            Finish(ref e, log);
            log.AssertYieldedAll(Enumerable.Range(0, Entries));
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void UpdatingANotYetYieldedEntryOfTheCurrentBucket_BetweenSteps_YieldsTheNewValue(ConcurrencyChecks checks)
        {
            using GoMap<int, long> map = Map(checks);
            var log = new YieldLog();
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            List<int> rest = StepIntoABucket(ref e, log);
            map[rest[0]] = -1;
            map[rest[1]] = -2;
            Finish(ref e, log, (k, v) => Assert.Equal(k == rest[0] ? -1 : k == rest[1] ? -2 : k * 10L, v));
            log.AssertYieldedAll(Enumerable.Range(0, Entries));
        }

        [Fact]
        public void AnotherEnumerationEndingBetweenSteps_TheWalkGoesOnYieldingEachEntryOnce()
        {
            using GoMap<int, long> map = Map(ConcurrencyChecks.Go);
            var log = new YieldLog();
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            List<int> rest = StepIntoABucket(ref e, log);

            // One enumeration runs to its end, another is disposed early: each ends a registration.
            foreach (KeyValuePair<int, long> kv in map)
            {
                Assert.True(map.ContainsKey(kv.Key));
            }

            GoMap<int, long>.Enumerator other = map.GetEnumerator();
            Assert.True(other.MoveNext());
            other.Dispose();

            Assert.True(e.MoveNext());
            Assert.Equal(rest[0], e.Current.Key);
            log.Saw(e.Current.Key);
            Finish(ref e, log);
            log.AssertYieldedAll(Enumerable.Range(0, Entries));
        }

        [Fact]
        public void AValueChangedThroughARefBetweenSteps_IsYieldedAsChanged()
        {
            // Writing through a ref is not a write to the map: the fast path goes on, and must
            // read the value when it yields the entry, not when it cached the mask.
            using GoMap<int, long> map = Map(ConcurrencyChecks.Go);
            var log = new YieldLog();
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            List<int> rest = StepIntoABucket(ref e, log);
            map.GetValueRefOrNullRef(rest[0]) = -7;
            Assert.True(e.MoveNext());
            Assert.Equal(rest[0], e.Current.Key);
            Assert.Equal(-7, e.Current.Value);
            e.CurrentValueRef = -8; // and the ref it hands out is the entry's
            Assert.Equal(-8, map[rest[0]]);
            e.Dispose();
        }

        [Fact]
        public void ClearBetweenStepsInsideABucket_YieldsNothingMore()
        {
            using GoMap<int, long> map = Map(ConcurrencyChecks.Go);
            var log = new YieldLog();
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            StepIntoABucket(ref e, log);
            map.Clear();
            Assert.False(e.MoveNext());
        }

        [Fact]
        public void DisposingTheMapInsideABucket_TheNextStepThrowsObjectDisposed()
        {
            GoMap<int, long> map = Map(ConcurrencyChecks.Go);
            var log = new YieldLog();
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            StepIntoABucket(ref e, log);
            map.Dispose();
            Assert.Throws<ObjectDisposedException>(() => e.MoveNext());
        }

        [Fact]
        public void AFinishedEnumerator_ThrowsObjectDisposed_OnceTheMapIsDisposed()
        {
            GoMap<int, long> map = Map(ConcurrencyChecks.Go);
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            while (e.MoveNext())
            {
            }

            Assert.False(e.MoveNext()); // after the end, while the map lives
            map.Dispose();
            Assert.Throws<ObjectDisposedException>(() => e.MoveNext());
        }

        [Fact]
        public void AWriteInProgressOnAnotherThread_IsDetectedInsideABucket()
        {
            using GoMap<int, long> map = Map(ConcurrencyChecks.Go);
            var log = new YieldLog();
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            StepIntoABucket(ref e, log);

            // The "other thread" holds hashWriting until the detection has begun (as in
            // IterationSemanticsTests.MoveNextThrowsWhileAWriteIsInProgressOnAnotherThread).
            map.SimulateWriteBegin();
            OffThread writer = OffThread.Start(() =>
            {
                SpinWait.SpinUntil(() => map.PoisonMessage is not null, TimeSpan.FromSeconds(60));
                map.SimulateWriteEnd();
            });
            ConcurrentMapAccessException ex = Assert.Throws<ConcurrentMapAccessException>(() => e.MoveNext());
            Assert.Null(writer.Join());
            Assert.Equal("concurrent map iteration and map write", ex.Message);
        }

        // ---- writes in place: the inline walk goes on across them ----

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void SettingEveryEntryThroughTheIndexerDuringAForeach_YieldsEachEntryOnceWithTheValueItHad(ConcurrencyChecks checks)
        {
            // Go's for k, v := range m { m[k] = f(v) }; Dictionary allows it too since .NET Core 3.0.
            using GoMap<int, long> map = Map(checks);
            var log = new YieldLog();
            foreach (KeyValuePair<int, long> kv in map)
            {
                log.Saw(kv.Key);
                Assert.Equal(kv.Key * 10L, kv.Value);
                map[kv.Key] = -kv.Value;
            }

            log.AssertYieldedAll(Enumerable.Range(0, Entries));
            Assert.All(Enumerable.Range(0, Entries), k => Assert.Equal(-k * 10L, map[k]));
            map.Validate();
        }

        [Fact]
        public void AnUpdateThroughTheIndexerBetweenSteps_LeavesTheInlineWalkRunning()
        {
            // A write in place moves and frees nothing: the next step needs no checked walk.
            using GoMap<int, long> map = Map(ConcurrencyChecks.Go);
            GoMap<int, long>.Enumerator e = OneStepIn(map);
            map[e.Current.Key] = -1;
            map[(e.Current.Key + 1) % Entries] = -2;
            Assert.True(e.InlineWalkAllowedForTest);
            e.Dispose();
        }

        [Fact]
        public void AnInsertIntoAFreeSlotBetweenSteps_LeavesTheInlineWalkRunning_AndEveryOldEntryIsYieldedOnce()
        {
            // Room for the new keys without a growth (capacity for twice the entries): each is
            // stored in place. A new key may be yielded or not, as in Go; the old ones exactly once.
            using GoMap<int, long> map = IterationHelpers.IntMap(Entries, seed: 11, capacityHint: 2 * Entries);
            var log = new YieldLog();
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            StepIntoABucket(ref e, log);
            for (int k = Entries; k < Entries + 20; k++)
            {
                map.Add(k, k * 10L);
            }

            Assert.False(map.GetStats().IsGrowing);
            Assert.True(e.InlineWalkAllowedForTest);
            var newKeys = new HashSet<int>();
            while (e.MoveNext())
            {
                if (e.Current.Key >= Entries)
                {
                    Assert.True(newKeys.Add(e.Current.Key), $"new key {e.Current.Key} yielded twice");
                }
                else
                {
                    log.Saw(e.Current.Key);
                }
            }

            log.AssertYieldedAll(Enumerable.Range(0, Entries));
        }

        [Fact]
        public void TryAddAndGetValueRefOrAddDefaultOfPresentKeysBetweenSteps_LeaveTheInlineWalkRunning()
        {
            using GoMap<int, long> map = Map(ConcurrencyChecks.Go);
            GoMap<int, long>.Enumerator e = OneStepIn(map);
            Assert.False(map.TryAdd(e.Current.Key, 5));
            map.GetValueRefOrAddDefault(e.Current.Key, out bool exists) = -3;
            Assert.True(exists);
            Assert.True(e.InlineWalkAllowedForTest);
            e.Dispose();
        }

        [Fact]
        public void ARemoveBetweenSteps_LeavesTheInlineWalkRunning()
        {
            // A removal on the fast path only marks tophash bytes: the walk goes on, dropping the
            // slots it emptied from the group it is in (the Deleting... tests above: not yielded).
            using GoMap<int, long> map = Map(ConcurrencyChecks.Go);
            GoMap<int, long>.Enumerator e = OneStepIn(map);
            Assert.True(map.Remove(e.Current.Key));
            Assert.False(map.Remove(-1)); // absent: nothing marked
            Assert.True(e.InlineWalkAllowedForTest);
            e.Dispose();
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void RemovingTheEntriesItYieldsDuringAForeach_YieldsEachEntryOnce_AndLeavesTheRest(ConcurrencyChecks checks)
        {
            // Go's for k, v := range m { if drop(v) { delete(m, k) } }; Dictionary allows it too since .NET Core 3.0.
            using GoMap<int, long> map = Map(checks);
            var log = new YieldLog();
            foreach (KeyValuePair<int, long> kv in map)
            {
                log.Saw(kv.Key);
                if (kv.Key % 3 != 0)
                {
                    Assert.True(map.Remove(kv.Key));
                }
            }

            log.AssertYieldedAll(Enumerable.Range(0, Entries));
            Assert.Equal(Enumerable.Range(0, Entries).Where(k => k % 3 == 0).OrderBy(k => k), map.Keys.OrderBy(k => k));
            map.Validate();
        }

        [Fact]
        public void RemovingKeysAheadOfTheWalkDuringAForeach_TheyAreNotYielded()
        {
            // Each step removes a key not reached yet (chosen among those still present): in the
            // group the walk is in or in one after it. None of them may be yielded.
            using GoMap<int, long> map = Map(ConcurrencyChecks.Go);
            var log = new YieldLog();
            var removed = new HashSet<int>();
            var rng = new Random(5);
            foreach (KeyValuePair<int, long> kv in map)
            {
                Assert.DoesNotContain(kv.Key, removed);
                log.Saw(kv.Key);
                for (int tries = 0; tries < 4; tries++)
                {
                    int k = rng.Next(Entries);
                    if (!log.Contains(k) && removed.Add(k))
                    {
                        Assert.True(map.Remove(k));
                        break;
                    }
                }
            }

            log.AssertYieldedAll(Enumerable.Range(0, Entries).Where(k => !removed.Contains(k)));
            map.Validate();
        }

        [Fact]
        public void TheWriteInPlaceThatWrapsItsCount_CarriesIntoTheRemovalsCount_AndTheWalkStaysExact()
        {
            // The count of writes in place has 8 bits; its carry is a removal's bump, so the next
            // step narrows its group to the live slots (which changes nothing here) and goes on.
            using GoMap<int, long> map = Map(ConcurrencyChecks.Go);
            var log = new YieldLog();
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            StepIntoABucket(ref e, log);
            int key = e.Current.Key;
            for (int i = map.InPlaceCountForTest; i < 255; i++)
            {
                map[key] = i;
            }

            Assert.Equal(255, map.InPlaceCountForTest);
            int removals = map.RemovalCountForTest;
            map[key] = key * 10L;
            Assert.Equal(0, map.InPlaceCountForTest);
            Assert.Equal((removals + 1) & 0xFF, map.RemovalCountForTest);
            Assert.True(e.InlineWalkAllowedForTest);
            Finish(ref e, log);
            log.AssertYieldedAll(Enumerable.Range(0, Entries));
        }

        [Fact]
        public void TheRemovalThatWrapsItsCount_CarriesIntoTheSequence_AndTheWalkStaysExact()
        {
            using GoMap<int, long> map = Map(ConcurrencyChecks.Go);
            var log = new YieldLog();
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            StepIntoABucket(ref e, log);
            for (int i = map.RemovalCountForTest; i < 255; i++)
            {
                Assert.False(map.Remove(-1 - i)); // absent keys: counted, nothing marked
            }

            Assert.Equal(255, map.RemovalCountForTest);
            Assert.True(e.InlineWalkAllowedForTest);
            Assert.False(map.Remove(-1000));
            Assert.False(e.InlineWalkAllowedForTest);
            Finish(ref e, log);
            log.AssertYieldedAll(Enumerable.Range(0, Entries));
        }

        [Fact]
        public void CurrentValueRef_AfterARemovalAndAStepThatThrew_StillRefusesTheRemovedSlot()
        {
            // A step that may not go on (here: a copy ended the shared registration) must leave
            // the enumerator's word as it was, so that a caller who catches the exception is not
            // handed the removed entry's slot (found by review).
            using GoMap<int, long> map = IterationHelpers.IntMap(200, seed: 11);
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            do
            {
                Assert.True(e.MoveNext(), "no group with one entry after the current one");
            }
            while (BitOperations.PopCount(e.GroupRestForTest) != 1);

            GoMap<int, long>.Enumerator copy = e;
            copy.Dispose();                     // ends the registration both copies share
            Assert.True(map.Remove(e.Current.Key)); // in place: the current entry's slot emptied
            Assert.Throws<InvalidOperationException>(() => e.MoveNext());
            Assert.Throws<InvalidOperationException>(() => { e.CurrentValueRef = 12345; });
        }

        [Fact]
        public void CurrentValueRef_AfterAStepThatFollowedAnUpdate_IsTheNewEntrysSlot()
        {
            // The step that went on across the update took the map's new word as its own, so the
            // ref of the entry it yielded is not stale; an update after the step makes it so.
            using GoMap<int, long> map = Map(ConcurrencyChecks.Go);
            var log = new YieldLog();
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            List<int> rest = StepIntoABucket(ref e, log);
            map[e.Current.Key] = -1;
            Assert.True(e.MoveNext());
            Assert.Equal(rest[0], e.Current.Key);
            e.CurrentValueRef = -9;
            Assert.Equal(-9, map[rest[0]]);
            map[rest[0]] = -10;
            Assert.Throws<InvalidOperationException>(() => { _ = e.CurrentValueRef; });
            e.Dispose();
        }

        // ---- registration slots: what stops an inline walk, and what does not ----

        /// <summary>An enumerator of <paramref name="map"/> one step in, its inline walk armed.</summary>
        private static GoMap<int, long>.Enumerator OneStepIn(GoMap<int, long> map)
        {
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            Assert.True(e.MoveNext());
            Assert.True(e.InlineWalkAllowedForTest);
            return e;
        }

        [Fact]
        public void AnotherEnumerationsEnd_LeavesAnInlineWalkRunning()
        {
            // Each registration's end bumps its own slot's epoch, not one every walk compares.
            using GoMap<int, long> map = Map(ConcurrencyChecks.Go);
            GoMap<int, long>.Enumerator a = OneStepIn(map);
            foreach (KeyValuePair<int, long> unused in map)
            {
            }

            GoMap<int, long>.Enumerator c = map.GetEnumerator();
            Assert.True(c.MoveNext());
            c.Dispose();
            Assert.True(a.InlineWalkAllowedForTest);
            a.Dispose();
        }

        [Fact]
        public void APoisonedMap_StopsAnInlineWalk_AtItsNextStep()
        {
            using GoMap<int, long> map = Map(ConcurrencyChecks.Go);
            GoMap<int, long>.Enumerator e = OneStepIn(map);
            map.PoisonForTest("concurrent map writes");
            Assert.False(e.InlineWalkAllowedForTest);
            ConcurrentMapAccessException ex = Assert.Throws<ConcurrentMapAccessException>(() => e.MoveNext());
            Assert.Equal("concurrent map writes", ex.Message);
            e.Dispose();
        }

        [Fact]
        public void AnEmptyMapsEnumerator_PoisonedBeforeItsFirstStep_Throws()
        {
            // It holds no registration (its epoch word never changes): its end checks the flags.
            using var map = new GoMap<int, long>();
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            map.PoisonForTest("concurrent map writes");
            Assert.Throws<ConcurrentMapAccessException>(() => e.MoveNext());
        }

        [Fact]
        public void ACopyWhoseRegistrationEndsAfterTheTableDoubled_StopsAtItsNextStep()
        {
            // The copy compares the epoch of its slot in the outgrown table, which the doubling
            // bumped: its next step is a checked one, which finds the registration ended. The
            // fast slots are taken first, so that the enumerator lands in the locked table.
            using GoMap<int, long> map = Map(ConcurrencyChecks.Go);
            var others = new List<GoMap<int, long>.Enumerator>();
            for (int i = 0; i < GoMap<int, long>.FastIterSlotsForTest; i++)
            {
                others.Add(map.GetEnumerator());
            }

            GoMap<int, long>.Enumerator a = OneStepIn(map);
            GoMap<int, long>.Enumerator copy = a;
            for (int i = 0; i < 4; i++)
            {
                others.Add(map.GetEnumerator()); // the fifth registration in the locked table doubles its four slots
            }

            Assert.False(copy.InlineWalkAllowedForTest);
            Assert.True(a.MoveNext()); // a checked step, armed again on the new table
            Assert.True(a.InlineWalkAllowedForTest);
            a.Dispose();
            Assert.Throws<InvalidOperationException>(() => copy.MoveNext());
            foreach (GoMap<int, long>.Enumerator o in others)
            {
                o.Dispose();
            }

            Assert.Equal(0, map.GetStats().LiveEnumerators);
            map.Validate();
        }

        [Fact]
        public void AWalkPastTheArraysEnd_WalksTheLastBucketsChainOnce()
        {
            // The inline walk wraps itself: the last bucket's overflow chain comes before the
            // wrap to bucket 0 and must not be walked again after it. 16 buckets; bucket 15 holds
            // 12 keys (one overflow bucket), the others a few each; walks from every start bucket.
            using var map = new GoMap<int, long>(new GoMapOptions { Seed = 5, CapacityHint = 64 });
            Assert.Equal(4, map.GetStats().B);
            var keys = new List<int>();
            var perBucket = new int[16];
            for (int k = 0; keys.Count < 12 + (15 * 3); k++)
            {
                int bucket = (int)(map.DefaultHashForTest(k) & 15);
                if (perBucket[bucket] < (bucket == 15 ? 12 : 3))
                {
                    perBucket[bucket]++;
                    map[k] = k;
                    keys.Add(k);
                }
            }

            Assert.Equal(1, map.GetStats().OverflowBuckets);
            var starts = new HashSet<ulong>();
            for (int walk = 0; walk < 400 && starts.Count < 16; walk++)
            {
                var log = new YieldLog();
                GoMap<int, long>.Enumerator e = map.GetEnumerator();
                starts.Add(e._startBucket);
                Finish(ref e, log);
                Assert.Equal(keys.Count, log.Count);
                log.AssertYieldedAll(keys);
            }

            Assert.Equal(16, starts.Count);
        }

        [Fact]
        public void WritesBetweenGetEnumeratorAndTheFirstMoveNext_AreHonoured()
        {
            // The constructor hands the first step to the inline walk; a write before that step
            // must send it through the checked step, as any write between two steps does.
            using GoMap<int, long> map = Map(ConcurrencyChecks.Go);
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            var removed = new HashSet<int>();
            for (int k = 0; k < Entries; k += 3)
            {
                Assert.True(map.Remove(k));
                removed.Add(k);
            }

            map[-1] = -1; // added after the start: may or may not be yielded, never twice
            var log = new YieldLog();
            while (e.MoveNext())
            {
                Assert.DoesNotContain(e.Current.Key, removed);
                Assert.Equal(e.Current.Key == -1 ? -1 : e.Current.Key * 10L, e.Current.Value);
                log.Saw(e.Current.Key);
            }

            log.AssertYieldedAll(Enumerable.Range(0, Entries).Where(k => !removed.Contains(k)));
        }

        [Fact]
        public void AClearBetweenGetEnumeratorAndTheFirstMoveNext_LeavesNoEntryFromBeforeItToYield()
        {
            using GoMap<int, long> map = Map(ConcurrencyChecks.Go);
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            map.Clear();
            map[5] = 50; // after the clear: may or may not be yielded
            while (e.MoveNext())
            {
                Assert.Equal(5, e.Current.Key);
            }

            Assert.Equal(0, map.GetStats().LiveEnumerators);
        }

        /// <summary>A 64-byte value, as an entity's: <c>&lt;int, Value64&gt;</c> buckets are 560 bytes.</summary>
        private struct Value64
        {
            public long A, B, C, D, E, F, G, H;

            public static Value64 Of(int k) => new Value64 { A = k, B = k + 1, C = k + 2, D = k + 3, E = k + 4, F = k + 5, G = k + 6, H = -k };
        }

        [Fact]
        public void ATableOfBigBucketsPastThePrefetchBound_IsWalkedAskingAhead_YieldingEachEntryOnce()
        {
            // 2^16 buckets of 560 bytes (37 MB, over the 32 MiB bound), sparsely filled: the walk
            // asks for lines two groups ahead and must still yield each entry once, whole.
            using var map = new GoMap<int, Value64>(new GoMapOptions { Seed = 3, CapacityHint = 400_000 });
            Assert.Equal(16, map.GetStats().B);
            for (int k = 0; k < 20_000; k++)
            {
                map[k] = Value64.Of(k);
            }

            AssertWalkAsksAheadYieldingEachOnce(map, Value64.Of, 20_000);
        }

        [Fact]
        public void ATableOfThreeLineBucketsPastThePrefetchBound_IsWalkedAskingAhead_YieldingEachEntryOnce()
        {
            // 2^18 buckets of 208 bytes (<Guid,long>, 55 MB): a walk reads only the key lines of
            // live slots, so it asks ahead as for bigger buckets, and must still yield each entry once.
            using var map = new GoMap<Guid, long>(new GoMapOptions { Seed = 5, CapacityHint = 1_000_000 });
            Assert.Equal(208, GoMap<Guid, long>.Layout.BucketSize);
            Assert.Equal(18, map.GetStats().B);
            var rng = new Random(11);
            var expected = new Dictionary<Guid, long>();
            for (long v = 0; v < 20_000; v++)
            {
                byte[] bytes = new byte[16];
                rng.NextBytes(bytes);
                var k = new Guid(bytes);
                map[k] = v;
                expected[k] = v;
            }

            AssertWalkAsksAheadYieldingEachOnce(map, k => expected[k], expected.Count);
        }

        /// <summary>The walk of <paramref name="map"/> asks ahead and yields each of its <paramref name="count"/> entries once, with its value.</summary>
        private static void AssertWalkAsksAheadYieldingEachOnce<TKey, TValue>(GoMap<TKey, TValue> map, Func<TKey, TValue> valueOf, int count)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            GoMap<TKey, TValue>.Enumerator e = map.GetEnumerator();
            Assert.True(e.PrefetchesAheadForTest);
            var seen = new HashSet<TKey>();
            while (e.MoveNext())
            {
                Assert.True(seen.Add(e.Current.Key), $"key {e.Current.Key} yielded twice");
                Assert.Equal(valueOf(e.Current.Key), e.Current.Value);
            }

            Assert.Equal(count, seen.Count);
        }

        [Fact]
        public void WalkAsksAhead_WholeGroupsReachingEightKiB_AtLeastTwo()
        {
            // 560-byte buckets: two groups of 8 (8,960 bytes) already reach 8 KiB; 208-byte
            // buckets: two groups are 3,328 bytes, five (8,320) the fewest that reach it.
            using var entities = new GoMap<int, Value64>(new GoMapOptions { CapacityHint = 400_000 }); // 2^16 buckets, 37 MB
            using var guids = new GoMap<Guid, long>(new GoMapOptions { CapacityHint = 1_000_000 }); // 2^18 buckets, 55 MB
            entities[1] = Value64.Of(1);
            guids[Guid.NewGuid()] = 1;
            Assert.Equal(560, GoMap<int, Value64>.Layout.BucketSize);
            Assert.Equal(208, GoMap<Guid, long>.Layout.BucketSize);
            using GoMap<int, Value64>.Enumerator e1 = entities.GetEnumerator();
            using GoMap<Guid, long>.Enumerator e2 = guids.GetEnumerator();
            Assert.Equal(2 * 8 * 560, e1.PrefetchDistanceForTest);
            Assert.Equal(5 * 8 * 208, e2.PrefetchDistanceForTest);
        }

        [Fact]
        public void SmallBucketsOrAnArrayTheCachesHold_AreWalkedWithoutAskingAhead()
        {
            using var bigArraySmallBuckets = new GoMap<long, long>(new GoMapOptions { CapacityHint = 2_000_000 }); // 2^19 buckets of 144 bytes, 75 MB
            using var bigBucketsSmallArray = new GoMap<int, Value64>(new GoMapOptions { CapacityHint = 100_000 }); // 2^14 buckets of 560 bytes, 9 MB
            bigArraySmallBuckets[1] = 1;
            bigBucketsSmallArray[1] = Value64.Of(1);
            Assert.False(bigArraySmallBuckets.GetEnumerator().PrefetchesAheadForTest);
            Assert.False(bigBucketsSmallArray.GetEnumerator().PrefetchesAheadForTest);
        }
    }
}
