using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// Native allocation can fail anywhere. Every write is swept: its 1st allocation fails, then
    /// (retrying) its 2nd, and so on until the write completes without reaching the failing one.
    /// After each OutOfMemoryException the map must validate, hold exactly the entries it held
    /// before (the key being inserted is not there), and keep working; after Dispose the process
    /// count is back to its baseline. Runs alone (NativeMemory collection).
    /// </summary>
    [Collection(NativeMemoryCollection.Name)]
    public class FaultInjectionTests
    {
        /// <summary>A map, its Dictionary model, and the sweep of every write over its allocations.</summary>
        private sealed class Sweep<TKey, TValue> : IDisposable
            where TKey : unmanaged
            where TValue : unmanaged
        {
            private readonly IEqualityComparer<TValue> _values;

            public Sweep(GoMap<TKey, TValue> map, IEqualityComparer<TKey>? modelComparer = null, IEqualityComparer<TValue>? values = null)
            {
                Map = map;
                Model = new Dictionary<TKey, TValue>(modelComparer);
                _values = values ?? EqualityComparer<TValue>.Default;
            }

            public GoMap<TKey, TValue> Map { get; }

            public Dictionary<TKey, TValue> Model { get; }

            /// <summary>Injected faults that fired.</summary>
            public int Faults { get; private set; }

            /// <summary>Injected faults that fired while a growth was in progress (before the write).</summary>
            public int FaultsDuringGrowth { get; private set; }

            /// <summary>Injected faults that fired in a write that had already run a release step.</summary>
            public int FaultsAfterAReleaseStep { get; private set; }

            /// <summary>Writes that needed at least one allocation.</summary>
            public int AllocatingWrites { get; private set; }

            /// <summary>Allocations the attempt that completed the last write made (each of them was failed once before).</summary>
            public long LastWriteAllocations { get; private set; }

            public void Set(TKey key, TValue value) =>
                Write(key, m => m[key] = value, d => d[key] = value);

            public void TryAdd(TKey key, TValue value) =>
                Write(key, m => Assert.Equal(!Model.ContainsKey(key), m.TryAdd(key, value)), d => d.TryAdd(key, value));

            public void AddOrUpdateByRef(TKey key, TValue value) =>
                Write(key, m => m.GetValueRefOrAddDefault(key, out _) = value, d => d[key] = value);

            public void Remove(TKey key) =>
                Write(key, m => Assert.Equal(Model.ContainsKey(key), m.Remove(key)), d => d.Remove(key));

            /// <summary>
            /// Runs <paramref name="write"/> with its n-th allocation failing, n = 1, 2, ... until it
            /// completes; checks the map after every failure; then applies the write to the model.
            /// A failed attempt may keep what it completed (a growth started, buckets evacuated, a
            /// release step, an ownership list's larger storage): the sweep then starts again from
            /// n = 1, since the next attempt's allocations are not those of the last one, so that
            /// every allocation of the attempt that completes has been failed once.
            /// </summary>
            private void Write(TKey key, Action<GoMap<TKey, TValue>> write, Action<Dictionary<TKey, TValue>> apply)
            {
                int attempts = 0;
                for (int n = 1; ; n++)
                {
                    Assert.True(++attempts <= 500, "a write kept failing: the sweep does not end");
                    bool growing = Map.GetStats().IsGrowing;
                    WorkCounters work = Map.Work;
                    long bytes = Map.GetStats().NativeBytes;
                    long start = NativeHeap.AllocationCount;
                    NativeHeap.FailAfter(n);
                    bool completed = false;
                    try
                    {
                        write(Map);
                        completed = true;
                    }
                    catch (OutOfMemoryException)
                    {
                    }
                    finally
                    {
                        NativeHeap.ClearFault();
                    }

                    if (completed)
                    {
                        long made = NativeHeap.AllocationCount - start;
                        Assert.True(made < n, $"allocation {n} should have failed but the write completed after {made} allocations");
                        AllocatingWrites += made > 0 ? 1 : 0;
                        LastWriteAllocations = made;
                        apply(Model);
                        return;
                    }

                    Faults++;
                    FaultsDuringGrowth += growing ? 1 : 0;
                    FaultsAfterAReleaseStep += Map.Work.ReleaseSteps != work.ReleaseSteps ? 1 : 0;
                    Assert.Equal(start + n, NativeHeap.AllocationCount); // it failed at the n-th, and tried nothing after
                    CheckUnchanged(key);
                    if (!work.Equals(Map.Work) || bytes != Map.GetStats().NativeBytes)
                    {
                        n = 0; // progress was kept: sweep the next attempt from its first allocation
                    }
                }
            }

            private void CheckUnchanged(TKey key)
            {
                Map.Validate();
                MapInternals<TKey, TValue>.AssertEmptyRestTails(Map);
                Assert.Equal(Model.ContainsKey(key), Map.ContainsKey(key));
                MapAssert.SameEntries(Map, Model, _values);
            }

            public void CheckAll()
            {
                Map.Validate();
                MapAssert.SameEntries(Map, Model, _values);
            }

            public void Dispose() => Map.Dispose();
        }

        /// <summary>
        /// Fills a <see cref="GoMapOptions.PrepareGrowthAhead"/> map with keys 0, 1, … until its
        /// next insert prepares the next growth's array (at B 13 or more, where that array is 2 MiB
        /// or more); returns that insert's key. For the two fault tests of the prepared array.
        /// </summary>
        private static long FillToThePreparingInsert(GoMap<long, long> map)
        {
            long k = 0;
            while (map.GetStats().B < 13 || map.Count < map.PreparePointForTest)
            {
                map[k] = k;
                k++;
            }

            return k;
        }

        [FactNeeding(Needs.Mappings | Needs.ReleaseThread)]
        public unsafe void Fault_APreparationThatRunsOutOfMemory_TheInsertGoesOn_AndTheNextGrowthsPointPreparesAgain()
        {
            // The prepared array serves a growth to come: its allocation failing is no reason to
            // refuse the insert (which needs no memory), nor to try again at every insert until
            // the growth (each try a failing system call). Until 2026-12-05 the insert threw.
            long baseline = LiveBytes.Settled();
            using (var map = new GoMap<long, long>(new GoMapOptions { PrepareGrowthAhead = true }))
            {
                long k = FillToThePreparingInsert(map);

                int b = map.GetStats().B;
                long fired = NativeHeap.FaultsFired;
                NativeHeap.FailAfter(1); // the preparation's allocation, the insert's first
                try
                {
                    map[k] = k;
                }
                finally
                {
                    NativeHeap.ClearFault();
                }

                Assert.Equal(fired + 1, NativeHeap.FaultsFired);
                map.Validate();
                Assert.Equal(k + 1, map.LongCount);
                Assert.Equal(k, map[k]);
                Assert.True(map.PreparedArrayForTest == null, "an array was prepared by the insert whose preparation failed");
                Assert.Equal(b, map.PrepareRefusedBRefForTest);

                // No insert tries again while B stays; the growth allocates its own array.
                while (map.GetStats().B == b)
                {
                    k++;
                    map[k] = k;
                    Assert.True(map.PreparedArrayForTest == null, $"insert {k} prepared an array at the refused B");
                }

                Assert.Equal(-1, map.PrepareRefusedBRefForTest);
                while (map.PreparedArrayForTest == null && map.LongCount < 4 * k)
                {
                    k++;
                    map[k] = k;
                }

                Assert.True(map.PreparedArrayForTest != null, "no array was prepared after the growth");
                map.Validate();
            }

            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [FactNeeding(Needs.Mappings | Needs.ReleaseThread)]
        public unsafe void Fault_AnEnsureCapacityThatFails_KeepsThePreparedArray()
        {
            // Found by review (2026-12-05): the new array's allocation came after the prepared
            // array (of the next growth's B) was freed, so a failed EnsureCapacity left the map
            // without it, and the next growth allocated and faulted it in again.
            long baseline = LiveBytes.Settled();
            using (var map = new GoMap<long, long>(new GoMapOptions { PrepareGrowthAhead = true }))
            {
                long k = FillToThePreparingInsert(map);
                map[k] = k;
                k++;
                Assert.True(map.PreparedArrayForTest != null, "the insert at the prepare point prepared no array");

                byte* prepared = map.PreparedArrayForTest;
                long bytes = map.GetStats().NativeBytes;
                int failed = 0;
                for (int n = 1; ; n++)
                {
                    // Each allocation EnsureCapacity makes fails in turn, until one call succeeds.
                    NativeHeap.FailAfter(n);
                    try
                    {
                        map.EnsureCapacity(k * 8);
                        break;
                    }
                    catch (OutOfMemoryException)
                    {
                        failed++;
                    }
                    finally
                    {
                        NativeHeap.ClearFault();
                    }

                    map.Validate();
                    Assert.True(map.PreparedArrayForTest == prepared, $"the EnsureCapacity whose allocation {n} failed dropped the prepared array");
                    Assert.Equal(bytes, map.GetStats().NativeBytes);
                    Assert.Equal(k, map.LongCount);
                }

                Assert.True(failed > 0);
                Assert.True(map.PreparedArrayForTest == null, "a committed array of another B keeps no prepared one");
                map.Validate();
            }

            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Fact]
        public void Fault_GrowthTriggeringInserts_LeaveTheMapAsItWas()
        {
            long baseline = LiveBytes.Settled();
            Seeded.Run(seed =>
            {
                using var s = new Sweep<long, long>(new GoMap<long, long>(new GoMapOptions { Seed = (ulong)seed }));
                for (long k = 0; k < 1700; k++)
                {
                    s.Set(k * 0x9E3779B97F4A7C1L, k);
                }

                Assert.Equal(GoGrowth.BAfterInserts(1700), s.Map.GetStats().B);
                Assert.True(s.Faults >= 8, $"only {s.Faults} faults: every growth start allocates an array");
                for (long k = 0; k < 1700; k += 3)
                {
                    s.Remove(k * 0x9E3779B97F4A7C1L);
                }

                for (long k = 1700; k < 2500; k++)
                {
                    s.TryAdd(k * 0x9E3779B97F4A7C1L, -k);
                }

                s.CheckAll();
            });
            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Fact]
        public void Fault_InsertsNeedingNewOverflowChunks_LeaveTheMapAsItWas()
        {
            long baseline = LiveBytes.Settled();
            Seeded.Run(seed =>
            {
                // Three hashes: long chains, overflow buckets taken from chunk after chunk.
                using var s = new Sweep<long, long>(new GoMap<long, long>(new GoMapOptions { Seed = (ulong)seed }, new LongModuloComparer(3)));
                for (long k = 0; k < 600; k++)
                {
                    s.Set(k, k);
                }

                // Every bucket allocation but the arrays (the first one and one per growth) is a
                // chunk: 19 to 25 of them, by the seed (19 for 12 of 3,000 seeds without faults;
                // the bound was 20 until seed 477260928 made 19 here).
                WorkCounters work = s.Map.Work;
                long chunks = work.BucketAllocations - work.GrowthStarts - 1;
                Assert.True(chunks >= 15, $"only {chunks} overflow chunks were allocated");
                Assert.True(s.Faults >= chunks, $"only {s.Faults} faults for {chunks} chunk allocations");
                for (long k = 0; k < 600; k += 2)
                {
                    s.Remove(k);
                }

                for (long k = 600; k < 900; k++)
                {
                    s.AddOrUpdateByRef(k, k * 2);
                }

                s.CheckAll();
            });
            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Fact]
        public void Fault_IndirectKeyAndValueInserts_LeaveTheMapAsItWas_AndLeakNothing()
        {
            long baseline = LiveBytes.Settled();
            Seeded.Run(seed =>
            {
                using var s = new Sweep<Blob200, Blob200>(new GoMap<Blob200, Blob200>(new GoMapOptions { Seed = (ulong)seed }), Blob200Comparer.Instance, Blob200Comparer.Instance);
                for (long k = 0; k < 160; k++)
                {
                    long before = s.Map.GetStats().NativeBytes;
                    bool growing = s.Map.GetStats().IsGrowing;
                    s.Set(Blob200.Of(k), Blob200.Of(-k));
                    if (!growing)
                    {
                        Assert.True(s.Map.GetStats().NativeBytes >= before + 400);
                    }
                }

                Assert.True(s.Faults >= 320, $"only {s.Faults} faults: each insert allocates a key and a value block");
                for (long k = 0; k < 160; k += 2)
                {
                    s.Remove(Blob200.Of(k));
                }

                for (long k = 0; k < 120; k++)
                {
                    s.TryAdd(Blob200.Of(k), Blob200.Of(k));
                    s.AddOrUpdateByRef(Blob200.Of(k + 1000), Blob200.Of(k));
                }

                s.CheckAll();
            });
            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Fact]
        public void Fault_IndirectValueOnlyInserts_LeaveTheMapAsItWas()
        {
            long baseline = LiveBytes.Settled();
            Seeded.Run(seed =>
            {
                using var s = new Sweep<long, Blob200>(new GoMap<long, Blob200>(new GoMapOptions { Seed = (ulong)seed }, new LongModuloComparer(5)), null, Blob200Comparer.Instance);
                for (long k = 0; k < 300; k++)
                {
                    s.Set(k, Blob200.Of(k));
                }

                s.CheckAll();
            });
            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Fact]
        public void Fault_GrowthSteps_CollidingKeysWithDeletes_LeaveTheMapAsItWas()
        {
            long baseline = LiveBytes.Settled();
            Seeded.Run(seed =>
            {
                // 32 consecutive keys share a hash; a sliding window of live keys: doubling and
                // same-size growths whose evacuations need overflow buckets.
                using var s = new Sweep<int, int>(new GoMap<int, int>(new GoMapOptions { Seed = (ulong)seed }, new GroupComparer(5)));
                s.Map.KeepEmptyOverflowLikeGoForTest(); // emptied chains keep their overflow buckets, as in Go, so that same-size growths start
                int sameSize = 0;
                bool was = false;
                for (int k = 0; k < 6000; k++)
                {
                    s.Set(k, k);
                    if (k >= 300)
                    {
                        s.Remove(k - 300);
                    }

                    bool now = s.Map.GetStats().IsSameSizeGrow;
                    sameSize += now && !was ? 1 : 0;
                    was = now;
                }

                Assert.True(sameSize >= 1, "no same-size growth");
                Assert.True(s.FaultsDuringGrowth > 0, "no fault hit a write during a growth");
                Assert.True(s.FaultsAfterAReleaseStep > 0, "no fault hit a write after its release step");
                s.CheckAll();
            });
            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Fact]
        public void Fault_GrowthSteps_FewHashes_LeaveTheMapAsItWas()
        {
            long baseline = LiveBytes.Settled();
            Seeded.Run(seed =>
            {
                // Six hashes and a small map: every growth moves long chains at B < 4 (no
                // preallocated overflow), so evacuations reserve overflow buckets of their own.
                var rng = new Random(seed);
                using var s = new Sweep<int, int>(new GoMap<int, int>(new GoMapOptions { Seed = (ulong)seed }, new ModuloComparer(6)));
                for (int round = 0; round < 30; round++)
                {
                    int n = rng.Next(20, 120);
                    for (int i = 0; i < n; i++)
                    {
                        s.Set(rng.Next(400), i);
                    }

                    for (int i = 0; i < n / 2; i++)
                    {
                        s.Remove(rng.Next(400));
                    }
                }

                Assert.True(s.FaultsDuringGrowth > 0, "no fault hit a write during a growth");
                // Whether a write that ran a release step then allocates depends on the seed here (six
                // hashes, small arrays: a step usually frees everything at once); the colliding-keys
                // sweep above requires such faults.
                s.CheckAll();
            });
            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Fact]
        public void Fault_EvacuationThatNeedsANewChunk_LeavesTheOldChainWhole()
        {
            // An evacuation reserves every overflow bucket it may link before it moves an entry:
            // the preallocated tail, what is left of the current chunk, else one new chunk large
            // enough for the whole chain. A growth starts the new generation without a chunk (and
            // without the storage of its ownership list), so the first long chain it evacuates
            // must allocate both up front: failing in the middle of linking would leave an old
            // chain half evacuated.
            long baseline = LiveBytes.Settled();
            Seeded.Run(seed =>
            {
                using var s = new Sweep<int, int>(new GoMap<int, int>(new GoMapOptions { Seed = (ulong)seed }, new GroupComparer(8)));
                GoMap<int, int> map = s.Map;
                map.DoubleLikeGoForTest(); // Go's doubling, as big tables grow

                // Hash codes whose mixed hashes fall where we need them (key = code << 8 | i).
                int Code(Func<ulong, bool> wanted, int after = 0)
                {
                    for (int hc = after + 1; ; hc++)
                    {
                        if (wanted(map.HashOfHashCode(hc)))
                        {
                            return hc;
                        }
                    }
                }

                int p = Code(h => (h & 15) == 0);   // bucket 0 at B = 1..4, never moves to Y
                int q = Code(h => (h & 7) == 4);    // bucket 0 at B = 2, moves to Y at B = 3
                int[] others = new int[8];
                foreach (int j in new[] { 1, 2, 3, 5, 6, 7 })
                {
                    others[j] = Code(h => (h & 7) == (ulong)j);
                }

                var keys = new List<int>();
                for (int i = 0; i < 17; i++)
                {
                    keys.Add((p << 8) | i);
                }

                for (int i = 0; i < 8; i++)
                {
                    keys.Add((q << 8) | i);
                }

                // 27 more in chains 1, 2, 3, 5, 6, 7 of B = 3, at most 8 per chain: no overflow there.
                int[] used = new int[8];
                for (int n = 0; n < 27; n++)
                {
                    int j = new[] { 1, 2, 3, 5, 6, 7 }[n % 6];
                    keys.Add((others[j] << 8) | used[j]++);
                }

                // 52 entries: B = 3, chain 0 holds 17 keys that all stay in bucket 0 at B = 4.
                foreach (int k in keys)
                {
                    s.Set(k, k);
                }

                Assert.Equal(3, map.GetStats().B);
                Assert.False(map.GetStats().IsGrowing);
                Assert.True(map.OverflowChunkCount >= 1, "precondition: chain 0 overflows into chunks at B = 3");

                // The 53rd entry starts the growth to B = 4 and evacuates old chain 0, which needs
                // 2 overflow buckets there: the preallocated one and one of a new chunk.
                // Earlier attempts fail after starting the growth and after making room in the new
                // generation's ownership list; the attempt that completes allocates the chunk, which
                // the sweep failed once before.
                s.Set((others[1] << 8) | used[1]++, -1);
                Assert.Equal(4, map.GetStats().B);
                Assert.Equal(1, s.LastWriteAllocations);
                Assert.Equal(1, map.OverflowChunkCount);
                Assert.True(map.OverflowChunkBuckets(0) >= 1);
                s.CheckAll();
            });
            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Fact]
        public void Fault_FirstInsertOfALazyMap_LeavesItEmptyAndUsable()
        {
            long baseline = LiveBytes.Settled();
            using (var map = new GoMap<long, long>())
            {
                NativeHeap.FailAfter(1);
                try
                {
                    Assert.Throws<OutOfMemoryException>(() => map[1] = 1);
                }
                finally
                {
                    NativeHeap.ClearFault();
                }

                Assert.Equal(0L, map.LongCount);
                Assert.Equal(0, map.GetStats().NativeBytes);
                Assert.False(map.ContainsKey(1));
                map.Validate();
                map[1] = 2;
                Assert.Equal(2, map[1]);
            }

            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Fact]
        public void Fault_EnsureCapacity_BetweenTheStepsOfAShrink_LeavesTheShrinkPending()
        {
            // Found by a review's mutation (2026-12-05) that no test caught: the failed request
            // restores the plan it raised, here a deeper shrink that TrimExcess left for the
            // next step; dropped, the map would stay at the step's B.
            long baseline = LiveBytes.Settled();
            using (var map = new GoMap<long, long>())
            {
                for (long k = 0; k < 10_000; k++)
                {
                    map[k] = k; // B = 11
                }

                for (long k = 20; k < 10_000; k++)
                {
                    map.Remove(k);
                }

                map.TrimExcess(); // 11 -> 6 under way, B = 2 pending
                while (map.GetStats().IsGrowing)
                {
                    map[0] = 0; // each write carries the running step's evacuation, not the next step
                }

                Assert.Equal(6, map.GetStats().B);
                Assert.Equal(2, map.PendingResizeB);
                NativeHeap.FailAfter(1);
                try
                {
                    Assert.Throws<OutOfMemoryException>(() => map.EnsureCapacity(1000)); // B = 8 asked for: raises the plan, allocates
                }
                finally
                {
                    NativeHeap.ClearFault();
                }

                Assert.Equal(2, map.PendingResizeB);
                Assert.Equal(6, map.GetStats().B);
                Assert.Equal(20L, map.LongCount);
                map.Validate();
            }

            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Fact]
        public void Fault_EnsureCapacity_LeavesNoRequestPending_SoLaterWritesNeedNoAllocation()
        {
            // Found by review: the failed request stayed pending, and the next write (an update
            // included) allocated its array, or threw OutOfMemoryException again and again.
            long baseline = LiveBytes.Settled();
            using (var map = new GoMap<long, long>())
            {
                for (long k = 0; k < 100; k++)
                {
                    map[k] = k;
                }

                long before = map.GetStats().NativeBytes;
                int b = map.GetStats().B;
                NativeHeap.FailAfter(1);
                try
                {
                    Assert.Throws<OutOfMemoryException>(() => map.EnsureCapacity(100_000));
                }
                finally
                {
                    NativeHeap.ClearFault();
                }

                Assert.Equal(-1, map.PendingResizeB);
                map[1] = 42; // an update: no allocation, no growth
                Assert.Equal(b, map.GetStats().B);
                Assert.Equal(before, map.GetStats().NativeBytes);
                Assert.Equal(42, map[1]);
                map.Validate();
            }

            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Fact]
        public void Fault_TrimExcess_LeavesNoShrinkPending_SoLaterUpdatesNeedNoAllocation()
        {
            // Found by review: the failed shrink stayed pending, and every later write (updates
            // included) tried to allocate its array first and threw OutOfMemoryException.
            long baseline = LiveBytes.Settled();
            using (var map = new GoMap<long, long>())
            {
                for (long k = 0; k < 20_000; k++)
                {
                    map[k] = k;
                }

                for (long k = 100; k < 20_000; k++)
                {
                    map.Remove(k);
                }

                int b = map.GetStats().B;
                NativeHeap.FailAfter(1);
                try
                {
                    Assert.Throws<OutOfMemoryException>(() => map.TrimExcess());
                }
                finally
                {
                    NativeHeap.ClearFault();
                }

                Assert.Equal(-1, map.PendingResizeB);
                Assert.Equal(b, map.GetStats().B);
                NativeHeap.FailAfter(1);
                try
                {
                    map[1] = 42; // an update: needs no memory
                }
                finally
                {
                    NativeHeap.ClearFault();
                }

                Assert.Equal(42, map[1]);
                map.Validate();
                Assert.True(map.TrimExcess() || map.GetStats().B < b, "a later trim does not shrink");
            }

            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Fact]
        public unsafe void Fault_AnEnsureCapacityDeferredByAGrowth_IsDroppedWhenItsArrayCannotBeAllocated_AndTheWriteGoesOn()
        {
            long baseline = LiveBytes.Settled();
            using (var map = new GoMap<long, long>())
            {
                map.DoubleLikeGoForTest();
                long k = 0;
                while (map.OldBucketArray == null)
                {
                    map[k] = k;
                    k++;
                }

                map.EnsureCapacity(1_000_000); // a growth runs: the request waits for its end
                Assert.True(map.PendingResizeB > map.GetStats().B, "the request was not deferred");
                while (map.OldBucketArray != null)
                {
                    map[0] = 0; // updates carry the growth to its end
                }

                int b = map.GetStats().B;
                NativeHeap.FailAfter(1);
                try
                {
                    map[1] = 42; // the write that would start the requested growth
                }
                finally
                {
                    NativeHeap.ClearFault();
                }

                Assert.Equal(42, map[1]);
                Assert.Equal(-1, map.PendingResizeB);
                Assert.Equal(b, map.GetStats().B);
                map.Validate();
            }

            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public unsafe void AComparerThatThrowsDuringAnEvacuation_PoisonsTheMap_OutOfMemoryToo(bool outOfMemory)
        {
            // Found by review: an OutOfMemoryException from a comparer's GetHashCode (no native
            // allocation can fail there: the evacuation reserves its buckets first) left a
            // half-evacuated map in use.
            long baseline = LiveBytes.Settled();
            var comparer = new FailingHashComparer();

            // A fixed seed under which keys 0-52 spread over the eight old buckets: with a random
            // one, about one seed in 300 put them in one or two buckets (the one-round hash's
            // weakness, f91ef7c and its revert), the writes after the growth's start found only
            // empty or evacuated old buckets, no write hashed an entry, and the test failed
            // (CI on 8d4f624).
            var map = new GoMap<long, long>(new GoMapOptions { Seed = 5 }, comparer);
            map.DoubleLikeGoForTest();
            long k = 0;
            while (map.OldBucketArray == null)
            {
                map[k] = k;
                k++;
            }

            // Each write hashes its own key first (before it changes anything), then the entries
            // its evacuation moves: the second hash of a write throws, within an evacuation.
            comparer.ThrowOutOfMemory = outOfMemory;
            Exception? e = null;
            while (e is null && map.OldBucketArray != null)
            {
                comparer.Calls = 0;
                comparer.FailAt = 2;
                e = Record.Exception(() => map[k] = k);
                k++;
            }

            Assert.IsType(outOfMemory ? typeof(OutOfMemoryException) : typeof(InvalidOperationException), e);
            Assert.True(map.IsPoisoned, "a half-evacuated map stayed in use");
            comparer.FailAt = -1;
            var c = Assert.Throws<ConcurrentMapAccessException>(() => map.ContainsKey(0));
            Assert.StartsWith("bad map state: the key comparer threw during growth", c.Message, StringComparison.Ordinal);
            map.Dispose();
            Assert.Equal(baseline, LiveBytes.Settled());
        }

        /// <summary>The key as its hash code; the call numbered <see cref="FailAt"/> throws.</summary>
        private sealed class FailingHashComparer : IEqualityComparer<long>
        {
            public long Calls;
            public long FailAt = -1;
            public bool ThrowOutOfMemory;

            public bool Equals(long x, long y) => x == y;

            public int GetHashCode(long obj)
            {
                if (++Calls == FailAt)
                {
                    throw ThrowOutOfMemory ? new OutOfMemoryException("from the comparer") : new InvalidOperationException("from the comparer");
                }

                return (int)obj;
            }
        }

        [Fact]
        public void Fault_ConstructorWithHint_LeavesNothingBehind()
        {
            long baseline = LiveBytes.Settled();
            ConstructUnderFault();
            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void ConstructUnderFault()
        {
            NativeHeap.FailAfter(1);
            try
            {
                Assert.Throws<OutOfMemoryException>(() => new GoMap<long, long>(10_000));
            }
            finally
            {
                NativeHeap.ClearFault();
            }
        }

        [Theory]
        [InlineData(1)]
        [InlineData(3)]
        [InlineData(8)]
        [InlineData(20)]
        public void Fault_InASetValuesBatch_LeavesTheKeysBeforeTheFailingWriteSet_AndTheRestAbsent(int failingAllocation)
        {
            // From empty, 100,000 keys in one batch take many allocations (arrays, overflow
            // chunks, ownership lists); the n-th fails inside some key's write.
            long baseline = LiveBytes.Settled();
            using (var map = new GoMap<long, long>(new GoMapOptions { Seed = 12 }))
            {
                var keys = new long[100_000];
                var values = new long[keys.Length];
                for (int i = 0; i < keys.Length; i++)
                {
                    keys[i] = i;
                    values[i] = -i;
                }

                NativeHeap.FailAfter(failingAllocation);
                try
                {
                    Assert.Throws<OutOfMemoryException>(() => map.SetValues(keys, values));
                }
                finally
                {
                    NativeHeap.ClearFault();
                }

                map.Validate();
                long set = map.LongCount; // the keys before the failing write
                Assert.InRange(set, 0, keys.Length - 1);
                for (long k = 0; k < keys.Length; k++)
                {
                    Assert.Equal(k < set, map.TryGetValue(k, out long v));
                    Assert.Equal(k < set ? -k : 0, v);
                }

                Assert.Equal(keys.Length - set, map.SetValues(keys, values)); // the rest, once memory is back
                map.Validate();
            }

            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Theory]
        [InlineData(1)]
        [InlineData(2)]
        [InlineData(4)]
        public void Fault_InARemoveKeysBatch_LeavesTheKeysBeforeTheFailingRemoveRemoved_AndTheRestPresent(int failingAllocation)
        {
            // A map left in the middle of a growth of long chains (13 hashes): each remove
            // evacuates old chains first, and a chain moved into a new bucket takes overflow
            // buckets beyond the new array's preallocated ones (chunks, ownership lists).
            long baseline = LiveBytes.Settled();
            using (var map = new GoMap<long, long>(new GoMapOptions { Seed = 13 }, new LongModuloComparer(13)))
            {
                long n = 0;
                while (n < 2000 || !map.GetStats().IsGrowing)
                {
                    map[n] = -n;
                    n++;
                }

                var keys = new long[n];
                for (int i = 0; i < keys.Length; i++)
                {
                    keys[i] = i;
                }

                NativeHeap.FailAfter(failingAllocation);
                try
                {
                    Assert.Throws<OutOfMemoryException>(() => map.RemoveKeys(keys));
                }
                finally
                {
                    NativeHeap.ClearFault();
                }

                map.Validate();
                long removed = n - map.LongCount; // the keys before the failing remove, which left the map unchanged
                Assert.InRange(removed, 0, n - 1);
                for (long k = 0; k < n; k++)
                {
                    Assert.Equal(k >= removed, map.TryGetValue(k, out long v));
                    Assert.Equal(k >= removed ? -k : 0, v);
                }

                Assert.Equal(n - removed, map.RemoveKeys(keys)); // the rest, once memory is back
                Assert.Empty(map);
                map.Validate();
            }

            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Fact]
        public void Fault_UpdatesOfExistingKeysOutsideGrowth_NeverAllocate()
        {
            using var map = new GoMap<Blob200, Blob200>(GoGrowth.HintFor(5));
            for (long k = 0; k < 100; k++)
            {
                map[Blob200.Of(k)] = default;
            }

            Assert.False(map.GetStats().IsGrowing);
            NativeHeap.FailAfter(1);
            try
            {
                for (long k = 0; k < 100; k++)
                {
                    map[Blob200.Of(k)] = Blob200.Of(k);
                    Assert.False(map.TryAdd(Blob200.Of(k), default));
                    Assert.True(map.Remove(Blob200.Of(k), out Blob200 v));
                    Assert.Equal(k, v.Id);
                }

                map.Clear();
            }
            finally
            {
                NativeHeap.ClearFault();
            }
        }
    }
}
