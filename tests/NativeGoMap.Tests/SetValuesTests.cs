using System;
using System.Collections.Generic;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// SetValues, the batched set: the map ends as a loop of indexer sets in the same order
    /// leaves it (same entries, every invariant), the result counts the keys added, a values
    /// span shorter than the keys is refused before anything is set, a failing write leaves the
    /// keys before it set and the rest not, and nothing is allocated.
    /// </summary>
    public class SetValuesTests
    {
        /// <summary>
        /// Sets <paramref name="keys"/> with SetValues on <paramref name="batched"/> and with one
        /// indexer set per key on <paramref name="looped"/> (two maps with the same content and
        /// seed), then checks that both validate, hold the same entries, and that SetValues
        /// returned the number of keys the loop added.
        /// </summary>
        private static void AssertSetValuesMatchesLoop<TKey, TValue>(GoMap<TKey, TValue> batched, GoMap<TKey, TValue> looped, TKey[] keys, TValue[] values, IEqualityComparer<TKey>? keyComparer = null, IEqualityComparer<TValue>? valueComparer = null)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            long before = looped.LongCount;
            for (int i = 0; i < keys.Length; i++)
            {
                looped[keys[i]] = values[i];
            }

            int added = batched.SetValues(keys, values);
            Assert.Equal(looped.LongCount - before, added);
            batched.Validate();
            looped.Validate();
            Assert.Equal(looped.LongCount, batched.LongCount);
            var expected = new Dictionary<TKey, TValue>(keyComparer);
            foreach (KeyValuePair<TKey, TValue> kv in looped)
            {
                expected.Add(kv.Key, kv.Value);
            }

            MapAssert.EnumeratesAs(batched, expected, keyComparer, valueComparer);
        }

        /// <summary>Keys 0..n-1 given twice each (the second time with another value) and as many new ones, shuffled.</summary>
        private static (long[] Keys, long[] Values) MixedWrites(int n, int seed)
        {
            var keys = new long[3 * n];
            for (int i = 0; i < n; i++)
            {
                keys[3 * i] = i;
                keys[(3 * i) + 1] = i;
                keys[(3 * i) + 2] = -1 - i;
            }

            new Random(seed).Shuffle(keys);
            var values = new long[keys.Length];
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = (keys[i] * 31) + i; // a duplicate key's two writes carry different values
            }

            return (keys, values);
        }

        /// <summary>Two maps with the same seed and options, both holding keys 0..present-1 (value = key).</summary>
        private static (GoMap<long, long> Batched, GoMap<long, long> Looped) TwinMaps(GoMapOptions options, int present, IEqualityComparer<long>? comparer = null) =>
            BatchTwins.Make(options, present, valueFactor: 1, comparer);

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void SetValues_OnATableBeyondTheCaches_MatchesALoopOfIndexerSets(ConcurrencyChecks checks)
        {
            // 2^13 buckets of 144 bytes (1.2 MB): over the 1 MiB from which SetValues prefetches.
            (GoMap<long, long> batched, GoMap<long, long> looped) = TwinMaps(new GoMapOptions { Seed = 1, CapacityHint = 40_000, ConcurrencyChecks = checks }, 3000);
            using (batched)
            using (looped)
            {
                Assert.True(batched.BatchSetPrefetches, "the map is meant to take the prefetching path");
                (long[] keys, long[] values) = MixedWrites(6000, 1);
                AssertSetValuesMatchesLoop(batched, looped, keys, values);
            }
        }

        [Fact]
        public void SetValues_OnATableTheCachesHold_SetsKeyByKey_AndMatchesALoopOfIndexerSets()
        {
            (GoMap<long, long> batched, GoMap<long, long> looped) = TwinMaps(new GoMapOptions { Seed = 2 }, 500);
            using (batched)
            using (looped)
            {
                Assert.False(batched.BatchSetPrefetches); // 2^7 buckets of 144 bytes
                (long[] keys, long[] values) = MixedWrites(700, 2);
                AssertSetValuesMatchesLoop(batched, looped, keys, values);
            }
        }

        [Fact]
        public void SetValues_FromAnEmptyMap_ThroughManyGrowths_MatchesALoopOfIndexerSets()
        {
            // From no array to 2^15 buckets: growths start and end inside the batch, with the
            // table first under and then over the size from which it prefetches (old buckets too).
            (GoMap<long, long> batched, GoMap<long, long> looped) = TwinMaps(new GoMapOptions { Seed = 3 }, 0);
            using (batched)
            using (looped)
            {
                (long[] keys, long[] values) = MixedWrites(60_000, 3);
                AssertSetValuesMatchesLoop(batched, looped, keys, values);
                Assert.True(batched.BatchSetPrefetches);
            }
        }

        [Fact]
        public void SetValues_StartedDuringAGrowth_MatchesALoopOfIndexerSets()
        {
            var options = new GoMapOptions { Seed = 4 };
            (GoMap<long, long> batched, GoMap<long, long> looped) = TwinMaps(options, 0);
            using (batched)
            using (looped)
            {
                long next = 0;
                while (!batched.GetStats().IsGrowing || batched.GetStats().B < 14)
                {
                    batched[next] = next;
                    looped[next] = next;
                    next++;
                }

                Assert.True(batched.BatchSetPrefetches);
                (long[] keys, long[] values) = MixedWrites((int)next, 4);
                AssertSetValuesMatchesLoop(batched, looped, keys, values);
            }
        }

        [Theory]
        [MemberData(nameof(BatchSizes.AroundTheBlocksAndRuns), MemberType = typeof(BatchSizes))]
        public void SetValues_AnyNumberOfKeys_AroundThePrefetchBlocksAndTheRuns(int n, bool beyondTheCaches)
        {
            (GoMap<long, long> batched, GoMap<long, long> looped) = TwinMaps(new GoMapOptions { Seed = 5, CapacityHint = beyondTheCaches ? 40_000 : 0 }, 100);
            using (batched)
            using (looped)
            {
                Assert.Equal(beyondTheCaches, batched.BatchSetPrefetches); // else written in runs of 256 keys
                var keys = new long[n];
                var values = new long[n];
                for (int i = 0; i < n; i++)
                {
                    keys[i] = (i * 37) % 150; // two thirds present
                    values[i] = -i;
                }

                AssertSetValuesMatchesLoop(batched, looped, keys, values);
            }
        }

        [Fact]
        public void SetValues_KeyGivenTwice_EndsWithItsLastValue_AndCountsOnceAsAdded()
        {
            using var map = new GoMap<long, long>();
            map[7] = 70;
            Assert.Equal(2, map.SetValues(new long[] { 1, 7, 1, 2 }, new long[] { 10, 71, 11, 20 }));
            Assert.Equal(3, map.Count);
            Assert.Equal(11, map[1]);
            Assert.Equal(71, map[7]);
            Assert.Equal(20, map[2]);
        }

        [Fact]
        public void SetValues_WithAComparer_SetsKeyByKey_AndMatchesALoopOfIndexerSets()
        {
            var comparer = new LongModuloComparer(13);
            (GoMap<long, long> batched, GoMap<long, long> looped) = TwinMaps(new GoMapOptions { Seed = 6, CapacityHint = 40_000 }, 300, comparer);
            using (batched)
            using (looped)
            {
                Assert.False(batched.BatchSetPrefetches); // its hashing runs user code: not ahead of the writes
                (long[] keys, long[] values) = MixedWrites(700, 6);
                AssertSetValuesMatchesLoop(batched, looped, keys, values, comparer);
            }
        }

        [Fact]
        public void SetValues_IndirectKeysAndValues_MatchALoopOfIndexerSets()
        {
            var options = new GoMapOptions { Seed = 7 };
            using var batched = new GoMap<Blob200, Blob200>(options);
            using var looped = new GoMap<Blob200, Blob200>(options);
            var keys = new Blob200[900];
            var values = new Blob200[900];
            for (int i = 0; i < keys.Length; i++)
            {
                keys[i] = Blob200.Of(i * 7 % 600); // a third given twice
                values[i] = Blob200.Of(-i);
            }

            AssertSetValuesMatchesLoop(batched, looped, keys, values, Blob200Comparer.Instance, Blob200Comparer.Instance);
        }

        [Fact]
        public void SetValues_WhenAWriteThrows_LeavesTheKeysBeforeItSet_AndTheRestNot()
        {
            var comparer = new ThrowOnHashComparer(500);
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = 8 }, comparer);
            var keys = new long[1000];
            var values = new long[1000];
            for (int i = 0; i < keys.Length; i++)
            {
                keys[i] = i;
                values[i] = i * 3;
            }

            Assert.Throws<InvalidOperationException>(() => map.SetValues(keys, values));
            comparer.Armed = false; // so that the checks below can look key 500 up
            map.Validate();
            Assert.Equal(500, map.Count);
            for (long k = 0; k < 1000; k++)
            {
                Assert.Equal(k < 500, map.TryGetValue(k, out long v));
                Assert.Equal(k < 500 ? k * 3 : 0, v);
            }
        }

        [Theory]
        [InlineData(10, 9)]
        [InlineData(10, 0)]
        [InlineData(1, 0)]
        public void SetValues_ValuesShorterThanTheKeys_ThrowArgumentException_AndSetNothing(int keys, int values)
        {
            using var map = new GoMap<long, long>();
            map[-1] = 1;
            var keyArray = new long[keys];
            for (int i = 0; i < keys; i++)
            {
                keyArray[i] = i;
            }

            ArgumentException e = Assert.ThrowsAny<ArgumentException>(() => map.SetValues(keyArray, new long[values]));
            Assert.Equal("values", e.ParamName);
            Assert.Equal(1L, map.LongCount); // only the entry from before
        }

        [Fact]
        public void SetValues_LongerValues_UsesOnlyThoseOfTheKeys()
        {
            using var map = new GoMap<long, long>();
            Assert.Equal(2, map.SetValues(new long[] { 1, 2 }, new long[] { 10, 20, 30, 40 }));
            Assert.Equal(2, map.Count);
            Assert.Equal(10, map[1]);
            Assert.Equal(20, map[2]);
        }

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public void SetValues_AllocatesNothing(bool prefetching)
        {
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = 9, CapacityHint = prefetching ? 40_000 : 0 });
            for (long k = 0; k < 10_000; k++)
            {
                map[k] = k;
            }

            Assert.Equal(prefetching, map.BatchSetPrefetches);
            (long[] keys, long[] values) = MixedWrites(1000, 9);
            Assert.Equal(0, IterationHelpers.AllocatedByHundredCalls(() => map.SetValues(keys, values), out _, out long added));
            Assert.Equal(1000, added); // the new keys, on the first call only
        }

        [Theory]
        [InlineData(0)]
        [InlineData(1)]
        public void SetValues_OnADisposedMap_ThrowsObjectDisposed(int n)
        {
            var map = new GoMap<long, long>();
            map[1] = 1;
            map.Dispose();
            Assert.Throws<ObjectDisposedException>(() => map.SetValues(new long[n], new long[n]));
        }
    }
}
