using System;
using System.Collections.Generic;
using System.Linq;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// Memory retired while enumerators run: it must stay readable for them (no use-after-free)
    /// and be released by the writes that follow once no enumerator can read it.
    /// </summary>
    public class IterationMemoryTests
    {
        // ---- 7. use-after-free ----

        [Fact]
        public void EnumeratorWalkingARetiredBucketArrayReadsNoFreedMemory()
        {
            using var poison = new PoisonScope();
            using GoMap<int, long> map = IterationHelpers.IntMap(200);
            var log = new YieldLog();
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            for (int s = 0; s < 20; s++)
            {
                Assert.True(e.MoveNext());
                log.Saw(e.Current.Key);
            }

            // Two complete growths: the enumerator's array and the one after it are both retired.
            int next = IterationHelpers.InsertUntilGrowing(map, 200);
            IterationHelpers.FinishGrowth(map, 0, 0L);
            next = IterationHelpers.InsertUntilGrowing(map, next);
            IterationHelpers.FinishGrowth(map, 0, 0L);
            GoMapStats grown = map.GetStats();
            Assert.False(grown.IsGrowing);
            Assert.True(grown.DeferredBytes > 0, "nothing was deferred for the live enumerator");

            for (int s = 0; s < 150; s++)
            {
                Assert.True(e.MoveNext());
                int k = e.Current.Key;
                Assert.True(k >= 0 && k < next, $"key {k} read from freed memory");
                Assert.Equal(k * 10L, e.Current.Value);
                log.Saw(k);
            }

            Assert.True(map.GetStats().DeferredBytes > 0);
            e.Dispose();
            Release.Drain(map, () => map[0] = 0L);
            map.Validate();
        }

        [Fact]
        public void IndirectEntriesRemovedAfterEvacuationAreNotReadFromFreedMemory()
        {
            // 200-byte keys and values live in blocks of their own. The enumerator keeps walking
            // its retired array, whose evacuated slots still point at those blocks; removing an
            // entry retires its blocks while the enumerator may still look its key up. A key
            // read from a freed block reads as all poison bytes: that key is in the map too, so
            // such a read would yield it a second time.
            using var poison = new PoisonScope();
            using var map = new GoMap<BigKey, BigValue>(new GoMapOptions { Seed = 5 });
            for (int i = 0; i < 200; i++)
            {
                map.Add(BigKey.Of(i), BigValue.Of(i * 10L));
            }

            map.Add(BigKey.Poison(), BigValue.Of(-1));
            var log = new YieldLog();
            GoMap<BigKey, BigValue>.Enumerator e = map.GetEnumerator();
            for (int s = 0; s < 10; s++)
            {
                Assert.True(e.MoveNext());
                log.Saw(e.Current.Key.Id);
            }

            int next = 1000;
            int b = map.GetStats().B;
            while (map.GetStats().B == b || map.GetStats().IsGrowing)
            {
                map.Add(BigKey.Of(next), BigValue.Of(next * 10L));
                next++;
            }

            long deferredAfterGrowth = map.GetStats().DeferredBytes;
            Assert.True(deferredAfterGrowth > 0, "the retired bucket array was not deferred");

            var removed = new HashSet<int>();
            for (int i = 1; i < 200; i += 2)
            {
                if (!log.Contains(i))
                {
                    Assert.True(map.Remove(BigKey.Of(i)));
                    removed.Add(i);
                }
            }

            Assert.True(map.GetStats().DeferredBytes > deferredAfterGrowth, "removed indirect blocks were not deferred");
            while (e.MoveNext())
            {
                BigKey k = e.Current.Key;
                Assert.True(k.IsWellFormed, $"key {k.Id} is torn");
                Assert.True(e.Current.Value.IsWellFormed, $"value of key {k.Id} is torn");
                Assert.DoesNotContain(k.Id, removed);
                Assert.Equal(k.Id == BigKey.PoisonId ? -1 : k.Id * 10L, e.Current.Value.V);
                log.Saw(k.Id);
            }

            log.AssertYieldedAll(Enumerable.Range(0, 200).Where(i => !removed.Contains(i)).Append(BigKey.PoisonId));
            Release.Drain(map, () => map[BigKey.Of(0)] = BigValue.Of(0));
            map.Validate();
        }

        [Fact]
        public void DeferredMemoryIsReleasedByTheWritesAfterTheEnumeratorIsDisposed()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(100);
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            Assert.True(e.MoveNext());
            IterationHelpers.InsertUntilGrowing(map, 100);
            IterationHelpers.FinishGrowth(map, 0, 0L);
            GoMapStats live = map.GetStats();
            Assert.True(live.DeferredBytes > 0);

            e.Dispose(); // releases the registration, not the memory: the next writes do that
            Assert.Equal(0, map.GetStats().LiveEnumerators);
            Assert.Equal(live.DeferredBytes, map.GetStats().DeferredBytes);

            Assert.True(Release.Drain(map, () => map[0] = 0L) > 0);
            GoMapStats after = map.GetStats();
            Assert.Equal(0, after.DeferredBytes);
            Assert.Equal(live.NativeBytes - live.DeferredBytes, after.NativeBytes);
            map.Validate();
        }

        [Fact]
        public void MemoryRetiredBeforeAnEnumeratorStartedDoesNotWaitForIt()
        {
            // Only enumerators live when a block was retired can still read it (DESIGN.md: free it
            // "when the last such enumerator ends"). One started afterwards walks the current array.
            using GoMap<int, long> map = IterationHelpers.IntMap(100);
            GoMap<int, long>.Enumerator a = map.GetEnumerator();
            Assert.True(a.MoveNext());
            IterationHelpers.InsertUntilGrowing(map, 100);
            IterationHelpers.FinishGrowth(map, 0, 0L);
            Assert.True(map.GetStats().DeferredBytes > 0);

            GoMap<int, long>.Enumerator b = map.GetEnumerator();
            Assert.True(b.MoveNext());
            a.Dispose();
            Release.Drain(map, () => map[0] = 0L); // b is still live
            Assert.Equal(1, map.GetStats().LiveEnumerators);
            Assert.True(b.MoveNext());
            b.Dispose();
        }

        [Fact]
        public void OverlappingEnumerationsDoNotAccumulateRetiredMemory()
        {
            // A busy map on which some enumeration is always in progress: each one starts before
            // the previous one ends, while entries with indirect values come and go. What waits
            // must stay bounded by what was retired while the oldest live enumerator ran.
            // The keys cycle through one set of 500, each removed and added back: a removed key's
            // chain has room for it again, so no overflow bucket is added and no growth starts.
            // (With ever new keys, 2 seeds in 3,000 gathered enough overflow buckets for a
            // same-size growth in the last round, whose retired generation also waits for the
            // enumerator, beyond this bound on what the removes retire.)
            using var map = new GoMap<int, BigValue>();
            for (int i = 0; i < 500; i++)
            {
                map.Add(i, BigValue.Of(i));
            }

            GoMap<int, BigValue>.Enumerator current = map.GetEnumerator();
            Assert.True(current.MoveNext());
            long growths = map.Work.GrowthStarts;
            int removed = 0;
            long perRound = 0;
            for (int round = 0; round < 40; round++)
            {
                long before = map.GetStats().DeferredBytes;
                for (int i = 0; i < 100; i++)
                {
                    int key = removed++ % 500;
                    Assert.True(map.Remove(key)); // retires a value block
                    map.Add(key, BigValue.Of(500 + removed));
                }

                if (round == 0)
                {
                    perRound = map.GetStats().DeferredBytes - before;
                    Assert.True(perRound > 0);
                }

                GoMap<int, BigValue>.Enumerator successor = map.GetEnumerator();
                Assert.True(successor.MoveNext());
                current.Dispose();
                current = successor;
            }

            long deferred = map.GetStats().DeferredBytes;
            current.Dispose();
            Assert.Equal(growths, map.Work.GrowthStarts);
            Assert.True(deferred <= 2 * perRound, $"{deferred} bytes wait for enumerators after 40 overlapping rounds of {perRound} bytes retired each");
        }

        [Fact]
        public void MemoryRetiredWithoutALiveEnumeratorIsReleasedByTheFollowingWrites()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(100);
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            while (e.MoveNext())
            {
            }

            IterationHelpers.InsertUntilGrowing(map, 100);
            IterationHelpers.FinishGrowth(map, 0, 0L);
            Assert.True(map.GetStats().DeferredBytes > 0, "the write that ended the growth released the old array itself");
            Release.Drain(map, () => map[0] = 0L);
        }

        // ---- 8. registrations end by themselves ----

        [Fact]
        public void EnumeratorThatRunsToTheEndReleasesItsRegistrationAndDeferredMemory()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(100);
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            Assert.Equal(1, map.GetStats().LiveEnumerators);
            Assert.True(e.MoveNext());
            int next = IterationHelpers.InsertUntilGrowing(map, 100);
            IterationHelpers.FinishGrowth(map, 0, 0L);
            Assert.True(map.GetStats().DeferredBytes > 0);

            while (e.MoveNext())
            {
                Assert.Equal(1, map.GetStats().LiveEnumerators);
            }

            Assert.Equal(0, map.GetStats().LiveEnumerators);
            Release.Drain(map, () => map[0] = 0L);
            map.Validate();
            e.Dispose(); // after the end: a no-op
            Assert.Equal(next, map.Count);
        }

        [Fact]
        public void GrowingTheRegistrationTableUnderLiveEnumerators_KeepsTheOldTableApartUntilDispose()
        {
            // The fifth live enumerator of the locked table (the fast slots taken first) outgrows
            // its first table (4 slots). Others may be reading the old table, so it is kept, but
            // not as deferred memory: a registration is not a write, and the deferred list and its
            // slow-write flag belong to writes. Dispose frees it (Validate of a disposed map checks
            // that it holds no block and no byte).
            var map = IterationHelpers.IntMap(100);
            var live = new List<GoMap<int, long>.Enumerator>();
            for (int k = 0; k < GoMap<int, long>.FastIterSlotsForTest + 5; k++)
            {
                GoMap<int, long>.Enumerator e = map.GetEnumerator();
                Assert.True(e.MoveNext());
                live.Add(e);
            }

            Assert.Equal(1, map.OutgrownEnumeratorTableCount);
            Assert.Equal(0, map.DeferredBlockCount);
            map.Validate();
            foreach (GoMap<int, long>.Enumerator e in live)
            {
                e.Dispose();
            }

            map[0] = 1L;
            Assert.Equal(1, map.OutgrownEnumeratorTableCount);
            map.Validate();
            map.Dispose();
            map.Validate();
        }

        [Fact]
        public void ForeachReleasesItsRegistrationWhenLeftEarly()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(100);
            foreach (KeyValuePair<int, long> kv in map)
            {
                Assert.Equal(1, map.GetStats().LiveEnumerators);
                break;
            }

            Assert.Equal(0, map.GetStats().LiveEnumerators);
        }

        [Fact]
        public void EnumeratingAnEmptyMapRegistersNothing()
        {
            using var map = new GoMap<int, long>();
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            Assert.Equal(0, map.GetStats().LiveEnumerators);
            Assert.False(e.MoveNext());
            Assert.Equal(0, map.GetStats().NativeBytes);
        }

        [Fact]
        public void AnEmptyMapsEnumerator_EndingInItsFirstStep_ReleasesNoOtherRegistration()
        {
            // An enumerator of an empty map holds no ticket (slot 0, ticket 0); its end must not
            // take a free slot 0 for its own while another enumerator is registered in slot 1.
            using GoMap<int, long> map = IterationHelpers.IntMap(10);
            GoMap<int, long>.Enumerator a = map.GetEnumerator();
            GoMap<int, long>.Enumerator b = map.GetEnumerator();
            a.Dispose();
            map.Clear();
            Assert.Equal(1, map.GetStats().LiveEnumerators);
            GoMap<int, long>.Enumerator empty = map.GetEnumerator();
            Assert.False(empty.MoveNext());
            Assert.Equal(1, map.GetStats().LiveEnumerators);
            map.Validate();
            b.Dispose();
            Assert.Equal(0, map.GetStats().LiveEnumerators);
        }

        [Fact]
        public void AnEmptyMapsEnumerator_AfterAnInsert_StillYieldsNothing()
        {
            // Go's mapiterinit: an iterator started on an empty map walks nothing, whatever is
            // inserted before its first step.
            using var map = new GoMap<int, long>();
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            map[1] = 10;
            Assert.False(e.MoveNext());
            Assert.Equal(0, map.GetStats().LiveEnumerators);
        }

        [Fact]
        public void DeferredMemoryWaitsForTheLastOfSeveralEnumerators()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(100);
            GoMap<int, long>.Enumerator a = map.GetEnumerator();
            GoMap<int, long>.Enumerator b = map.GetEnumerator();
            Assert.True(a.MoveNext());
            Assert.True(b.MoveNext());
            IterationHelpers.InsertUntilGrowing(map, 100);
            IterationHelpers.FinishGrowth(map, 0, 0L);
            long deferred = map.GetStats().DeferredBytes;
            Assert.True(deferred > 0);

            a.Dispose();
            for (int w = 0; w < 2 * Release.MaxWritesToRelease(map); w++)
            {
                map[0] = 0L; // writes release nothing b may still read
            }

            Assert.Equal(deferred, map.GetStats().DeferredBytes);
            Assert.Equal(1, map.GetStats().LiveEnumerators);
            Assert.True(b.MoveNext()); // still walking the retired array

            b.Dispose();
            Assert.Equal(0, map.GetStats().LiveEnumerators);
            Release.Drain(map, () => map[0] = 0L);
            map.Validate();
        }

        [Fact]
        public void ManyLiveEnumeratorsEachYieldEveryEntryOnce()
        {
            // More enumerators than the registration table first holds, interleaved, with
            // growth between their steps: the table grows (and is retired) while others read it.
            using var poison = new PoisonScope();
            using GoMap<int, long> map = IterationHelpers.IntMap(64);
            var enumerators = new GoMap<int, long>.Enumerator[20];
            var logs = new YieldLog[20];
            int next = 64;
            for (int j = 0; j < enumerators.Length; j++)
            {
                enumerators[j] = map.GetEnumerator();
                logs[j] = new YieldLog();
                Assert.True(enumerators[j].MoveNext());
                logs[j].Saw(enumerators[j].Current.Key);
                for (int x = 0; x < 20; x++, next++)
                {
                    map.Add(next, next * 10L);
                }
            }

            Assert.Equal(20, map.GetStats().LiveEnumerators);
            bool any = true;
            while (any)
            {
                any = false;
                for (int j = 0; j < enumerators.Length; j++)
                {
                    if (enumerators[j].MoveNext())
                    {
                        any = true;
                        int k = enumerators[j].Current.Key;
                        Assert.True(k >= 0 && k < next, $"key {k} read from freed memory");
                        Assert.Equal(k * 10L, enumerators[j].Current.Value);
                        logs[j].Saw(k);
                    }
                }
            }

            Assert.All(logs, log => log.AssertYieldedAll(Enumerable.Range(0, 64)));
            Assert.Equal(0, map.GetStats().LiveEnumerators);
            Release.Drain(map, () => map[0] = 0L);
            map.Validate();
        }

        // ---- allocation failures around enumerators ----

        [Fact]
        public void ARegistrationThatCannotAllocateLeavesTheMapUnchanged()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(50);
            GoMapStats before = map.GetStats();
            try
            {
                NativeHeap.FailAfter(1); // the first enumerator allocates the registration table
                Assert.Throws<OutOfMemoryException>(() => map.GetEnumerator());
            }
            finally
            {
                NativeHeap.ClearFault();
            }

            GoMapStats after = map.GetStats();
            Assert.Equal(0, after.LiveEnumerators);
            Assert.Equal(before.NativeBytes, after.NativeBytes);
            map.Validate();
            Assert.Equal(Enumerable.Range(0, 50), IterationHelpers.OrderOf(map).OrderBy(k => k));
        }

        [Fact]
        public void AGrowthThatCannotAllocateDuringIterationLeavesTheIterationIntact()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(104, capacityHint: 104); // full: the next key grows the map
            var log = new YieldLog();
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            Assert.True(e.MoveNext());
            log.Saw(e.Current.Key);
            try
            {
                NativeHeap.FailAfter(1);
                Assert.Throws<OutOfMemoryException>(() => map.Add(104, 1040L));
            }
            finally
            {
                NativeHeap.ClearFault();
            }

            Assert.False(map.ContainsKey(104));
            Assert.False(map.GetStats().IsGrowing);
            while (e.MoveNext())
            {
                log.Saw(e.Current.Key);
                Assert.Equal(e.Current.Key * 10L, e.Current.Value);
            }

            log.AssertYieldedAll(Enumerable.Range(0, 104));
            Assert.Equal(104, log.Count);
            map.Validate();
        }
    }

    /// <summary>Process-wide native bytes around enumerators: these tests run alone.</summary>
    [Collection(NativeMemoryCollection.Name)]
    public class IterationNativeBytesTests
    {
        private static long Baseline()
        {
            // Maps other tests forgot to dispose would otherwise be finalized in the middle of ours.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            return GoMapDiagnostics.LiveNativeBytes;
        }

        [Fact]
        public void LiveNativeBytesReturnToTheBaselineAfterEnumeratorsAndTheMapAreDisposed()
        {
            long baseline = Baseline();
            var map = new GoMap<BigKey, BigValue>();
            for (int i = 0; i < 300; i++)
            {
                map.Add(BigKey.Of(i), BigValue.Of(i));
            }

            GoMap<BigKey, BigValue>.Enumerator a = map.GetEnumerator();
            GoMap<BigKey, BigValue>.Enumerator b = map.GetEnumerator();
            Assert.True(a.MoveNext());
            for (int i = 300; i < 3000; i++)
            {
                map.Add(BigKey.Of(i), BigValue.Of(i)); // growths while both are live
            }

            for (int i = 0; i < 3000; i += 2)
            {
                map.Remove(BigKey.Of(i)); // indirect blocks retired while both are live
            }

            Assert.True(b.MoveNext());
            Assert.True(map.GetStats().DeferredBytes > 0);
            Assert.True(GoMapDiagnostics.LiveNativeBytes > baseline);

            a.Dispose();
            while (b.MoveNext())
            {
            }

            Release.Drain(map, () => map[BigKey.Of(1)] = BigValue.Of(1));
            Assert.Equal(map.GetStats().NativeBytes, GoMapDiagnostics.LiveNativeBytes - baseline);
            map.Dispose();
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        [Fact]
        public void AbandonedEnumeratorsLeakNothingOnceTheMapIsDisposed()
        {
            long baseline = Baseline();
            var map = new GoMap<BigKey, BigValue>();
            for (int i = 0; i < 200; i++)
            {
                map.Add(BigKey.Of(i), BigValue.Of(i));
            }

            // Several enumerators, never disposed, each left somewhere in its walk, while the
            // map grows, drops entries and is cleared: all of that memory waits for them.
            var abandoned = new GoMap<BigKey, BigValue>.Enumerator[6];
            for (int j = 0; j < abandoned.Length; j++)
            {
                abandoned[j] = map.GetEnumerator();
                for (int s = 0; s <= j * 10; s++)
                {
                    Assert.True(abandoned[j].MoveNext());
                }

                for (int i = 0; i < 300; i++)
                {
                    map[BigKey.Of(1000 + (j * 300) + i)] = BigValue.Of(i);
                }

                for (int i = 0; i < 100; i++)
                {
                    map.Remove(BigKey.Of((j * 300) + i));
                }
            }

            map.Clear();
            map[BigKey.Of(1)] = BigValue.Of(1);
            Assert.True(map.GetStats().DeferredBytes > 0);
            Assert.Equal(abandoned.Length, map.GetStats().LiveEnumerators);

            map.Dispose();
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
            for (int j = 0; j < abandoned.Length; j++)
            {
                Assert.Throws<ObjectDisposedException>(() => abandoned[j].MoveNext());
                abandoned[j].Dispose();
            }

            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        [Fact]
        public void AbandonedEnumeratorsOfAFinalizedMapLeakNothing()
        {
            long baseline = Baseline();
            AbandonMapWithLiveEnumerators();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private static void AbandonMapWithLiveEnumerators()
        {
            var map = new GoMap<int, BigValue>();
            for (int i = 0; i < 100; i++)
            {
                map.Add(i, BigValue.Of(i));
            }

            GoMap<int, BigValue>.Enumerator e = map.GetEnumerator();
            Assert.True(e.MoveNext());
            for (int i = 100; i < 1000; i++)
            {
                map.Add(i, BigValue.Of(i));
            }

            Assert.True(map.GetStats().DeferredBytes > 0);
        }
    }
}
