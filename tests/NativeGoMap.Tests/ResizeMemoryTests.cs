using System;
using System.Collections.Generic;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// EnsureCapacity and TrimExcess (GoMap.Resize.cs) and memory: every native byte comes back
    /// after a trim, after Dispose in the middle of a shrink or of an EnsureCapacity growth, with
    /// or without a live enumerator; an allocation failure in either call, or in a write carrying
    /// a shrink, leaves a valid map with the same entries and no leak. Runs alone (NativeMemory
    /// collection): it reads the process-wide LiveNativeBytes and arms the fault seam.
    /// </summary>
    [Collection(NativeMemoryCollection.Name)]
    public class ResizeMemoryTests
    {
        /// <summary>A map of <paramref name="n"/> entries (value = key × 3) with all but the first <paramref name="keep"/> removed.</summary>
        private static GoMap<long, long> Shrunk(long n, long keep, Dictionary<long, long>? model = null, ulong seed = 1)
        {
            var map = new GoMap<long, long>(new GoMapOptions { Seed = seed });
            for (long k = 0; k < n; k++)
            {
                map[k] = k * 3;
            }

            for (long k = keep; k < n; k++)
            {
                map.Remove(k);
            }

            for (long k = 0; model != null && k < keep; k++)
            {
                model[k] = k * 3;
            }

            return map;
        }

        private static void TrimToEnd(GoMap<long, long> map)
        {
            for (int calls = 1; !map.TrimExcess(); calls++)
            {
                Assert.True(calls < 1_000_000, "TrimExcess never completed");
            }
        }

        // ---- leaks ----

        [Fact]
        public void TrimToCompletion_ThenDispose_ReturnsToBaseline()
        {
            long baseline = LiveBytes.Settled();
            GoMap<long, long> map = Shrunk(100_000, 1_000);
            TrimToEnd(map);
            Assert.Equal(map.GetStats().NativeBytes, GoMapDiagnostics.LiveNativeBytes - baseline);
            map.Dispose();
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        [Fact]
        public void DisposeHalfwayThroughAShrink_ReturnsToBaseline()
        {
            long baseline = LiveBytes.Settled();
            GoMap<long, long> map = Shrunk(100_000, 1_000);
            map.TrimExcess();
            for (long k = 0; k < 20; k++)
            {
                map[k] = k; // writes carry the shrink on
            }

            Assert.True(map.GetStats().IsShrinking);
            map.Dispose();
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        [Fact]
        public void DisposeWithALiveEnumeratorMidShrink_ReturnsToBaseline()
        {
            long baseline = LiveBytes.Settled();
            GoMap<long, long> map = Shrunk(100_000, 1_000);
            GoMap<long, long>.Enumerator before = map.GetEnumerator(); // walks the old array
            Assert.True(before.MoveNext());
            map.TrimExcess();
            GoMap<long, long>.Enumerator during = map.GetEnumerator(); // walks the new array and the old chains
            Assert.True(during.MoveNext());
            map[5] = 5;
            Assert.True(map.GetStats().IsShrinking);
            map.Dispose();
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
            Assert.Throws<ObjectDisposedException>(() => before.MoveNext());
            Assert.Throws<ObjectDisposedException>(() => during.MoveNext());
        }

        [Fact]
        public void DisposeWithAnEnumeratorThatOutlivedACompletedTrim_ReturnsToBaseline()
        {
            long baseline = LiveBytes.Settled();
            GoMap<long, long> map = Shrunk(100_000, 1_000);
            GoMap<long, long>.Enumerator e = map.GetEnumerator();
            Assert.True(e.MoveNext());
            TrimToEnd(map);
            Assert.True(map.GetStats().DeferredBytes > 0); // the old array waits for the enumerator
            map.Dispose();
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        [Fact]
        public void DisposeDuringAnEnsureCapacityGrowth_ReturnsToBaseline()
        {
            long baseline = LiveBytes.Settled();
            var map = new GoMap<long, long>(new GoMapOptions { Seed = 2 });
            for (long k = 0; k < 5_000; k++)
            {
                map[k] = k;
            }

            map.EnsureCapacity(1_000_000);
            map[-1] = -1;
            Assert.True(map.GetStats().IsGrowing);
            map.Dispose();
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        [Fact]
        public void EnsureCapacity_NeverCarriedByAWrite_DisposeReturnsToBaseline()
        {
            long baseline = LiveBytes.Settled();
            var map = new GoMap<Blob200, Blob200>(new GoMapOptions { Seed = 3 });
            for (long k = 0; k < 500; k++)
            {
                map[Blob200.Of(k)] = Blob200.Of(k); // indirect entries: blocks owned through the old array
            }

            map.EnsureCapacity(200_000);
            map.Dispose();
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        [Fact]
        public void TrimExcess_WithIndirectEntries_ThenDispose_ReturnsToBaseline()
        {
            long baseline = LiveBytes.Settled();
            var map = new GoMap<Blob200, Blob200>(new GoMapOptions { Seed = 4 });
            for (long k = 0; k < 3_000; k++)
            {
                map[Blob200.Of(k)] = Blob200.Of(k);
            }

            for (long k = 30; k < 3_000; k++)
            {
                map.Remove(Blob200.Of(k));
            }

            while (!map.TrimExcess())
            {
            }

            Assert.Equal(map.GetStats().NativeBytes, GoMapDiagnostics.LiveNativeBytes - baseline);
            map.Dispose();
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        // ---- fault injection ----

        /// <summary>
        /// Runs <paramref name="op"/> with its n-th native allocation failing, n = 1, 2, ... until
        /// it completes; after each OutOfMemoryException the map must validate, hold the model's
        /// entries, and own exactly the process's bytes above <paramref name="baseline"/>. A failed
        /// attempt that kept progress (work counters or bytes changed) restarts the sweep at n = 1,
        /// as FaultInjectionTests does. Returns the number of faults that fired.
        /// </summary>
        private static int SweepFaults(GoMap<long, long> map, Dictionary<long, long> model, long baseline, Action op)
        {
            int faults = 0;
            for (int n = 1, attempts = 0; ; n++)
            {
                Assert.True(++attempts <= 500, "an operation kept failing: the sweep does not end");
                WorkCounters work = map.Work;
                long bytes = map.GetStats().NativeBytes;
                NativeHeap.FailAfter(n);
                try
                {
                    op();
                    return faults;
                }
                catch (OutOfMemoryException)
                {
                    faults++;
                }
                finally
                {
                    NativeHeap.ClearFault();
                }

                map.Validate();
                MapAssert.SameEntries(map, model);
                Assert.Equal(map.GetStats().NativeBytes, GoMapDiagnostics.LiveNativeBytes - baseline);
                if (!work.Equals(map.Work) || bytes != map.GetStats().NativeBytes)
                {
                    n = 0;
                }
            }
        }

        [Fact]
        public void EnsureCapacity_OutOfMemory_LeavesAValidMapWithTheSameEntries_AndNoLeak()
        {
            long baseline = LiveBytes.Settled();
            var model = new Dictionary<long, long>();
            GoMap<long, long> map = Shrunk(3_000, 3_000, model);
            int faults = SweepFaults(map, model, baseline, () => map.EnsureCapacity(100_000));
            Assert.True(faults > 0);
            for (long k = 3_000; k < 3_100; k++)
            {
                long key = k;
                faults += SweepFaults(map, model, baseline, () => map[key] = key * 3); // writes carrying the growth
                model[k] = k * 3;
            }

            map.Validate();
            MapAssert.SameEntries(map, model);
            map.Dispose();
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        [Fact]
        public void EnsureCapacity_OnAnEmptyMap_OutOfMemory_LeavesItEmptyAndUsable()
        {
            long baseline = LiveBytes.Settled();
            var model = new Dictionary<long, long>();
            GoMap<long, long> map = Shrunk(100, 0, model);
            Assert.True(SweepFaults(map, model, baseline, () => map.EnsureCapacity(50_000)) > 0);
            map[1] = 3;
            map.Validate();
            map.Dispose();
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        [Theory]
        [InlineData(-1L)]
        [InlineData(700L)]
        public void TrimExcess_EveryCallOfATrimLoop_OutOfMemory_LeavesAValidMapWithTheSameEntries_AndNoLeak(long capacity)
        {
            long baseline = LiveBytes.Settled();
            var model = new Dictionary<long, long>();
            GoMap<long, long> map = Shrunk(60_000, 500, model);
            int faults = 0;
            bool done = false;
            for (int calls = 0; !done; calls++)
            {
                Assert.True(calls < 100_000, "TrimExcess never completed");
                faults += SweepFaults(map, model, baseline, () => done = capacity < 0 ? map.TrimExcess() : map.TrimExcess(capacity));
            }

            Assert.True(faults > 0);
            Assert.False(map.GetStats().IsGrowing);
            map.Validate();
            MapAssert.SameEntries(map, model);
            map.Dispose();
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        [Fact]
        public void WritesCarryingAShrink_OutOfMemory_LeaveAValidMapWithTheSameEntries_AndNoLeak()
        {
            long baseline = LiveBytes.Settled();
            var model = new Dictionary<long, long>();
            // Kept at the load factor of the smaller array: the merged chains need overflow buckets.
            GoMap<long, long> map = Shrunk(150_000, 6_656, model);
            map.TrimExcess();
            Assert.True(map.GetStats().IsShrinking);
            int faults = 0;
            for (long i = 0; map.GetStats().IsGrowing || map.GetStats().DeferredBytes > 0; i++)
            {
                Assert.True(i < 100_000, "writes never finished the shrink");
                long gone = i;
                faults += SweepFaults(map, model, baseline, () => map.Remove(gone));
                model.Remove(gone);
                long key = 1_000_000 + i;
                faults += SweepFaults(map, model, baseline, () => map[key] = key * 3);
                model[key] = key * 3;
            }

            Assert.True(faults > 0);
            map.Validate();
            MapAssert.SameEntries(map, model);
            map.Dispose();
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        /// <summary>
        /// TrimExcess "gives back the memory the entries do not need" and returns true once
        /// nothing is left to release. A PrepareGrowthAhead map that deleted down below its
        /// prepare point (three quarters of the count that starts the next growth) at the same B
        /// kept the next growth's array, twice its own, through a trim that reported completion:
        /// only a change of B or Dispose freed it (found by review, 2026-12-07).
        /// </summary>
        [FactNeeding(Needs.Mappings | Needs.ReleaseThread)]
        public unsafe void TrimExcess_OnAPrepareGrowthAheadMapBelowItsPreparePoint_GivesBackThePreparedArray()
        {
            const int b = 13; // the growth to B = 14 has a 2.4 MB array: prepared ahead
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = 6, PrepareGrowthAhead = true });
            long k = 0;
            while (map.PreparedArrayForTest == null)
            {
                map[k] = k;
                k++;
                Assert.True(k <= MapMath.MaxCountBeforeGrowth(b), "nothing was prepared");
            }

            Assert.Equal(b, map.GetStats().B);

            // Down to just above the half of the threshold: B = 13 is still the smallest B that holds it.
            long keep = (MapMath.MaxCountBeforeGrowth(b) / 2) + 100;
            for (long r = keep; r < k; r++)
            {
                Assert.True(map.Remove(r));
            }

            Assert.True(keep < map.PreparePointForTest);
            for (int calls = 0; !map.TrimExcess(); calls++)
            {
                Assert.True(calls < 100_000);
            }

            Assert.Equal(b, map.GetStats().B);
            map.Validate();
            long prepared = map.PreparedArrayForTest == null ? 0 : NativeHeap.ChargedSize(map.PreparedArrayForTest);
            Assert.True(prepared == 0, $"a completed trim kept the prepared array of {prepared} bytes beside the map's other {map.GetStats().NativeBytes - prepared}");
        }
    }
}
