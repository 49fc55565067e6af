using System;
using System.Collections.Generic;
using System.Linq;
using NativeGoMap.Fuzz;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// TryGetValues, the batched lookup (issue 8, item 5): for every i, found[i] and values[i] are
    /// what TryGetValue(keys[i]) gives (default when absent), the result counts the keys found,
    /// spans shorter than the keys are refused, and nothing is allocated.
    /// </summary>
    public class TryGetValuesTests
    {
        /// <summary>Checks TryGetValues against one TryGetValue per key, with garbage in the output spans beforehand.</summary>
        private static void AssertMatchesTryGetValue<TKey, TValue>(GoMap<TKey, TValue> map, TKey[] keys, TValue garbage, IEqualityComparer<TValue>? valueComparer = null)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            valueComparer ??= EqualityComparer<TValue>.Default;
            var values = new TValue[keys.Length];
            var found = new bool[keys.Length];
            Array.Fill(values, garbage);
            Array.Fill(found, true);
            int hits = map.TryGetValues(keys, values, found);
            int expectedHits = 0;
            for (int i = 0; i < keys.Length; i++)
            {
                bool present = map.TryGetValue(keys[i], out TValue v);
                expectedHits += present ? 1 : 0;
                Assert.True(present == found[i], $"key {i}: TryGetValue says {present}, TryGetValues {found[i]}");
                Assert.True(valueComparer.Equals(v, values[i]), $"key {i}: TryGetValue and TryGetValues give different values");
            }

            Assert.Equal(expectedHits, hits);
        }

        /// <summary>Keys 0..n-1 present and as many absent ones, shuffled; more than one prefetch block.</summary>
        private static long[] MixedKeys(int n, int seed)
        {
            var keys = new long[2 * n];
            for (int i = 0; i < n; i++)
            {
                keys[2 * i] = i;
                keys[(2 * i) + 1] = -1 - i;
            }

            new Random(seed).Shuffle(keys);
            return keys;
        }

        /// <summary>A map whose bucket array (2^13 buckets of 144 bytes, 1.2 MB) is over the 1 MiB that TryGetValues probes key by key: it runs the prefetching pipeline.</summary>
        private static GoMap<long, long> MapBeyondTheCacheBound(int seed, ConcurrencyChecks checks = ConcurrencyChecks.Go)
        {
            var map = new GoMap<long, long>(new GoMapOptions { Seed = (ulong)seed, CapacityHint = 40_000, ConcurrencyChecks = checks });
            Assert.True(map.BatchLookupPrefetches, "the map is meant to take the prefetching pipeline");
            Assert.False(map.ArrayBigEnoughToTargetSlots, "a 1.2 MB array is under the candidate-slot pipeline's bound");
            return map;
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void TryGetValues_MatchesTryGetValue_ForPresentAndAbsentKeys(ConcurrencyChecks checks)
        {
            using var map = MapBeyondTheCacheBound(1, checks);
            for (long k = 0; k < 5000; k++)
            {
                map[k] = k * 7;
            }

            Assert.False(map.GetStats().IsGrowing);
            AssertMatchesTryGetValue(map, MixedKeys(5000, 1), -99L);
        }

        [Theory]
        [InlineData(1)]
        [InlineData(0)]
        [InlineData(-1)]
        [InlineData(17)]
        public void TryGetValues_ValuesSharingTheKeysArray_GiveWhatTheLoopOfTryGetValueGives(int valuesOffset)
        {
            // One array for keys and values (found by review, 2026-12-05: with the values one
            // element after the keys the pipeline found 1 of 64 present keys). The loop it stands
            // for reads keys[i] after the stores into values[0..i-1].
            using var map = MapBeyondTheCacheBound(3);
            for (long k = 0; k < 5000; k++)
            {
                map[k] = (k * 7) % 5000; // values are keys too, so a key overwritten by a value is still found
            }

            const int n = 64;
            int keysAt = Math.Max(0, -valuesOffset);
            var batch = new long[n + Math.Abs(valuesOffset)];
            for (int i = 0; i < batch.Length; i++)
            {
                batch[i] = (i * 131) % 5000;
            }

            var loop = (long[])batch.Clone();
            var batchFound = new bool[n];
            int hits = map.TryGetValues(batch.AsSpan(keysAt, n), batch.AsSpan(keysAt + valuesOffset, n), batchFound);

            int loopHits = 0;
            for (int i = 0; i < n; i++)
            {
                bool present = map.TryGetValue(loop[keysAt + i], out long v);
                loop[keysAt + valuesOffset + i] = v;
                loopHits += present ? 1 : 0;
                Assert.True(present == batchFound[i], $"key {i}: the loop says {present}, TryGetValues {batchFound[i]}");
            }

            Assert.Equal(loopHits, hits);
            Assert.Equal(loop, batch);
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void TryGetValues_OnAnArrayTheCachesHold_ProbesKeyByKey_AndMatchesTryGetValue(ConcurrencyChecks checks)
        {
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = 1, ConcurrencyChecks = checks });
            for (long k = 0; k < 5000; k++)
            {
                map[k] = k * 7;
            }

            Assert.False(map.GetStats().IsGrowing);
            Assert.False(map.BatchLookupPrefetches); // 2^10 buckets of 144 bytes
            AssertMatchesTryGetValue(map, MixedKeys(5000, 1), -99L);
        }

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public void TryGetValues_OnAFullTableWithOverflowBuckets_MatchesTryGetValue(bool prefetching)
        {
            // Filled to just under the load that grows it, so that many chains have overflow
            // buckets: hits and misses past a chain's first bucket, in both loops.
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = 5, CapacityHint = prefetching ? 40_000 : 4_000 });
            long entries = (long)(6.45 * map.GetStats().BucketCount);
            for (long k = 0; k < entries; k++)
            {
                map[k] = k * 7;
            }

            Assert.False(map.GetStats().IsGrowing);
            Assert.True(map.GetStats().OverflowBuckets > map.GetStats().BucketCount / 20, $"{map.GetStats().OverflowBuckets} overflow buckets");
            Assert.Equal(prefetching, map.BatchLookupPrefetches);
            AssertMatchesTryGetValue(map, MixedKeys((int)entries, 3), -99L);
        }

        [Theory]
        [MemberData(nameof(BatchSizes.AroundTheBlocks), MemberType = typeof(BatchSizes))]
        public void TryGetValues_AnyNumberOfKeys_AroundThePrefetchBlock(int n)
        {
            using var map = MapBeyondTheCacheBound(2);
            for (long k = 0; k < 100; k++)
            {
                map[k] = k + 1;
            }

            Assert.False(map.GetStats().IsGrowing); // else the batched search is not used
            var keys = new long[n];
            for (int i = 0; i < n; i++)
            {
                keys[i] = (i * 37) % 150; // a third absent
            }

            AssertMatchesTryGetValue(map, keys, -99L);
        }

        /// <summary>A 128-byte value (buckets of 1,104 bytes) whose bytes come from <paramref name="k"/>.</summary>
        private static Bytes128 ValueOf(long k)
        {
            Bytes128 v = default;
            Span<byte> bytes = Bytes128.Span(ref v);
            for (int i = 0; i < bytes.Length; i++)
            {
                bytes[i] = (byte)((k >> (i % 8 * 8)) + i);
            }

            return v;
        }

        /// <summary>
        /// A <c>&lt;long,Bytes128&gt;</c> map of 2^14 buckets (17.25 MiB), filled with keys 0..n-1:
        /// TryGetValues takes the pipeline that reads each tophash word first and prefetches only
        /// the candidate slot's lines (tests that need prefetch instructions: <see cref="Needs.Prefetch"/>;
        /// elsewhere the pipeline is the whole-bucket one, which other tests cover).
        /// </summary>
        private static GoMap<long, Bytes128> MapPastTheTargetedBound(int seed, long n)
        {
            var map = new GoMap<long, Bytes128>(new GoMapOptions { Seed = (ulong)seed, CapacityHint = 100_000 });
            for (long k = 0; k < n; k++)
            {
                map[k] = ValueOf(k);
            }

            Assert.False(map.GetStats().IsGrowing);
            Assert.Equal(14, map.GetStats().B);
            Assert.True(map.BatchLookupPrefetches);
            Assert.True(map.ArrayBigEnoughToTargetSlots, "a 17.25 MiB array is past the candidate-slot pipeline's bound");
            Assert.True(map.BatchLookupTargetsSlots, "the batch does not take the candidate-slot pipeline on this array");
            return map;
        }

        [FactNeeding(Needs.Prefetch)]
        public void TryGetValues_WhereItPrefetchesCandidateSlots_MatchesTryGetValue()
        {
            using var map = MapPastTheTargetedBound(6, 20_000);
            AssertMatchesTryGetValue(map, MixedKeys(20_000, 6), ValueOf(-99), BytesComparer<Bytes128>.Instance);
        }

        [FactNeeding(Needs.Prefetch)]
        public void TryGetValues_WhereItPrefetchesCandidateSlots_OnAFullTableWithOverflowBuckets_MatchesTryGetValue()
        {
            // Filled to just under the load that grows it: hits and misses past a chain's first
            // bucket, whose lines the candidate prefetch does not ask for.
            long entries = (long)(6.45 * (1 << 14));
            using var map = MapPastTheTargetedBound(7, entries);
            Assert.True(map.GetStats().OverflowBuckets > map.GetStats().BucketCount / 20, $"{map.GetStats().OverflowBuckets} overflow buckets");
            AssertMatchesTryGetValue(map, MixedKeys((int)entries, 7), ValueOf(-99), BytesComparer<Bytes128>.Instance);
        }

        [TheoryNeeding(Needs.Prefetch)]
        [MemberData(nameof(BatchSizes.AroundTheBlocks), MemberType = typeof(BatchSizes))]
        public void TryGetValues_WhereItPrefetchesCandidateSlots_AnyNumberOfKeys_AroundThePrefetchBlocks(int n)
        {
            // Two stages ahead of the probe there (tophash lines 32 keys ahead, candidate slots
            // 16 ahead, in a ring of 64): counts around 16, 32 and 48 keys and the ring's size.
            using var map = MapPastTheTargetedBound(8, 100);
            var keys = new long[n];
            for (int i = 0; i < n; i++)
            {
                keys[i] = (i * 37) % 150; // a third absent
            }

            AssertMatchesTryGetValue(map, keys, ValueOf(-99), BytesComparer<Bytes128>.Instance);
        }

        [Fact]
        public void TryGetValues_DuringAGrowth_MatchesTryGetValue()
        {
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = 3 });
            long next = 0;
            while (!map.GetStats().IsGrowing || map.GetStats().B < 8)
            {
                map[next] = next * 3;
                next++;
            }

            for (int step = 0; map.GetStats().IsGrowing; step++)
            {
                if (step % 16 == 0)
                {
                    AssertMatchesTryGetValue(map, MixedKeys((int)next, step), -99L);
                }

                map[0] = 0; // advance the growth
            }

            AssertMatchesTryGetValue(map, MixedKeys((int)next, 1), -99L);
        }

        [Fact]
        public void TryGetValues_WithAComparer_MatchesTryGetValue()
        {
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = 4 }, new LongModuloComparer(13));
            for (long k = 0; k < 700; k++)
            {
                map[k] = -k;
            }

            AssertMatchesTryGetValue(map, MixedKeys(700, 4), 99L);
        }

        [Fact]
        public void TryGetValues_IndirectKeysAndValues_MatchTryGetValue()
        {
            using var map = new GoMap<Blob200, Blob200>(new GoMapOptions { Seed = 5 });
            for (long k = 0; k < 300; k++)
            {
                map[Blob200.Of(k)] = Blob200.Of(-k);
            }

            var keys = new Blob200[600];
            for (int i = 0; i < keys.Length; i++)
            {
                keys[i] = Blob200.Of(i * 7 % 600);
            }

            AssertMatchesTryGetValue(map, keys, Blob200.Of(12345), Blob200Comparer.Instance);
        }

        [Fact]
        public unsafe void TryGetValues_WithAValuesSpanOverTwoGigabytes_FindsItsKeys()
        {
            // Found by review (2026-12-05): the overlap test converted the spans to bytes, which
            // throws OverflowException past int.MaxValue bytes, between the read's begin and end.
            // 11M values of 200 bytes, allocated untouched: only the first 64 are written.
            using var map = new GoMap<long, Value200>(new GoMapOptions { Seed = 5, CapacityHint = 40_000 });
            Assert.True(map.BatchLookupPrefetches, "the map is meant to take the prefetching pipeline");
            for (long k = 0; k < 64; k++)
            {
                map[k] = Value200.Of(k);
            }

            const int huge = 11_000_000;
            void* memory = System.Runtime.InteropServices.NativeMemory.Alloc((nuint)huge, (nuint)sizeof(Value200));
            try
            {
                var values = new Span<Value200>(memory, huge);
                var keys = new long[64];
                for (int i = 0; i < keys.Length; i++)
                {
                    keys[i] = i;
                }

                var found = new bool[64];
                Assert.Equal(64, map.TryGetValues(keys, values, found));
                Assert.Equal(63, values[63].V);
            }
            finally
            {
                System.Runtime.InteropServices.NativeMemory.Free(memory);
            }
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void TryGetValues_WhoseComparerWritesTheMap_StopsWhereTheLoopOfTryGetValueStops(ConcurrencyChecks checks)
        {
            // Misuse the map detects: a comparer that writes the map from inside a lookup (and
            // swallows what that write throws). Found by review (2026-12-05): the batch was one
            // read, so it ran the comparer's write for every key (Go mode) or returned normally
            // from the map the refused write had poisoned (Strict). Each key is now a read of its
            // own, as in the loop.
            (Exception? Thrown, int Writes, bool[] Found) Run(bool batch)
            {
                var comparer = new WritingComparer();
                using var map = new GoMap<long, long>(new GoMapOptions { Seed = 4, ConcurrencyChecks = checks }, comparer);
                for (long k = 0; k < 10; k++)
                {
                    map[k] = k;
                }

                comparer.Map = map;
                long[] keys = { 0, 1, 2, 3, 4, 5 };
                var values = new long[keys.Length];
                var found = new bool[keys.Length];
                Exception? thrown = Record.Exception(() =>
                {
                    if (batch)
                    {
                        map.TryGetValues(keys, values, found);
                        return;
                    }

                    for (int i = 0; i < keys.Length; i++)
                    {
                        found[i] = map.TryGetValue(keys[i], out values[i]);
                    }
                });
                comparer.Map = null;
                Assert.True(map.IsPoisoned);
                return (thrown, comparer.Writes, found);
            }

            var loop = Run(batch: false);
            var batched = Run(batch: true);
            Assert.IsType<ConcurrentMapAccessException>(loop.Thrown);
            Assert.IsType<ConcurrentMapAccessException>(batched.Thrown);
            Assert.Equal(loop.Thrown!.Message, batched.Thrown!.Message);
            Assert.Equal(loop.Writes, batched.Writes);
            Assert.All(batched.Found.Skip(1), f => Assert.False(f)); // the keys after the one whose search wrote are not looked up
        }

        private sealed class WritingComparer : IEqualityComparer<long>
        {
            private bool _busy;

            public GoMap<long, long>? Map { get; set; }

            public int Writes { get; private set; }

            public bool Equals(long x, long y)
            {
                if (!_busy && Map is not null)
                {
                    _busy = true;
                    try
                    {
                        Map[1000 + Writes] = 1;
                        Writes++;
                    }
                    catch (ConcurrentMapAccessException)
                    {
                    }
                    finally
                    {
                        _busy = false;
                    }
                }

                return x == y;
            }

            public int GetHashCode(long obj) => obj.GetHashCode();
        }

        [Fact]
        public void TryGetValues_OnAMapWithoutBuckets_FindsNothing()
        {
            using var map = new GoMap<long, long>();
            AssertMatchesTryGetValue(map, new long[] { 0, 1, 2 }, 5L);
        }

        [Theory]
        [InlineData(10, 9, 10, "values")]
        [InlineData(10, 10, 9, "found")]
        [InlineData(10, 0, 0, "values")]
        [InlineData(1, 1, 0, "found")]
        public void TryGetValues_SpansShorterThanTheKeys_ThrowArgumentException_NamingTheSpan(int keys, int values, int found, string paramName)
        {
            using var map = new GoMap<long, long>();
            map[1] = 1;
            var valueArray = new long[values];
            var foundArray = new bool[found];
            ArgumentException e = Assert.ThrowsAny<ArgumentException>(() => map.TryGetValues(new long[keys], valueArray, foundArray));
            Assert.Equal(paramName, e.ParamName);
            Assert.All(valueArray, v => Assert.Equal(0, v)); // nothing written
        }

        [Fact]
        public void TryGetValues_LongerSpans_AreWrittenOnlyUpToTheKeys()
        {
            using var map = new GoMap<long, long>();
            map[1] = 10;
            var values = new long[] { -1, -1, -1, -1 };
            var found = new bool[] { false, true, true, true };
            Assert.Equal(1, map.TryGetValues(new long[] { 1, 2 }, values, found));
            Assert.Equal(new long[] { 10, 0, -1, -1 }, values);
            Assert.Equal(new[] { true, false, true, true }, found);
        }

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public void TryGetValues_AllocatesNothing(bool prefetching)
        {
            using var map = prefetching ? MapBeyondTheCacheBound(6) : new GoMap<long, long>(new GoMapOptions { Seed = 6 });
            for (long k = 0; k < 10_000; k++)
            {
                map[k] = k;
            }

            Assert.Equal(prefetching, map.BatchLookupPrefetches);

            long[] keys = MixedKeys(1000, 6);
            var values = new long[keys.Length];
            var found = new bool[keys.Length];
            Assert.Equal(0, IterationHelpers.AllocatedByHundredCalls(() => map.TryGetValues(keys, values, found), out long calls, out long hits));
            Assert.Equal(calls * 1000, hits);
        }

        [Fact]
        public void TryGetValues_OnADisposedMap_ThrowsObjectDisposed()
        {
            var map = new GoMap<long, long>();
            map[1] = 1;
            map.Dispose();
            Assert.Throws<ObjectDisposedException>(() => map.TryGetValues(new long[] { 1 }, new long[1], new bool[1]));
        }
    }
}
