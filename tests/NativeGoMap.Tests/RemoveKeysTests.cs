using System;
using System.Collections.Generic;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// RemoveKeys, the batched remove: the map ends as a loop of Remove calls in the same order
    /// leaves it (same entries, every invariant), the result counts the keys that were present,
    /// a failing remove leaves the keys before it removed and the rest present, an enumeration
    /// running across the batch keeps Go's rules, and nothing is allocated.
    /// </summary>
    public class RemoveKeysTests
    {
        /// <summary>
        /// Removes <paramref name="keys"/> with RemoveKeys on <paramref name="batched"/> and with
        /// one Remove per key on <paramref name="looped"/> (two maps with the same content and
        /// seed), then checks that both validate, hold the same entries, and that RemoveKeys
        /// returned the number of keys the loop removed.
        /// </summary>
        private static void AssertRemoveKeysMatchesLoop<TKey, TValue>(GoMap<TKey, TValue> batched, GoMap<TKey, TValue> looped, TKey[] keys, IEqualityComparer<TKey>? keyComparer = null, IEqualityComparer<TValue>? valueComparer = null)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            int loopRemoved = 0;
            foreach (TKey key in keys)
            {
                loopRemoved += looped.Remove(key) ? 1 : 0;
            }

            int removed = batched.RemoveKeys(keys);
            Assert.Equal(loopRemoved, removed);
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

        /// <summary>Keys 0..n-1, two thirds of them given once and a third twice, and as many absent ones (negative), shuffled.</summary>
        private static long[] MixedRemoves(int n, int seed)
        {
            var keys = new List<long>();
            for (int i = 0; i < n; i++)
            {
                keys.Add(i);
                if (i % 3 == 0)
                {
                    keys.Add(i);
                }

                keys.Add(-1 - i);
            }

            long[] array = keys.ToArray();
            new Random(seed).Shuffle(array);
            return array;
        }

        /// <summary>Two maps with the same seed and options, both holding keys 0..present-1 (value = key × 3).</summary>
        private static (GoMap<long, long> Batched, GoMap<long, long> Looped) TwinMaps(GoMapOptions options, int present, IEqualityComparer<long>? comparer = null) =>
            BatchTwins.Make(options, present, valueFactor: 3, comparer);

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void RemoveKeys_OnATableBeyondTheCaches_MatchesALoopOfRemoves(ConcurrencyChecks checks)
        {
            // 2^13 buckets of 144 bytes (1.2 MB): over the 1 MiB from which batched writes prefetch.
            (GoMap<long, long> batched, GoMap<long, long> looped) = TwinMaps(new GoMapOptions { Seed = 1, CapacityHint = 40_000, ConcurrencyChecks = checks }, 30_000);
            using (batched)
            using (looped)
            {
                Assert.True(batched.BatchSetPrefetches, "the map is meant to take the prefetching path");
                AssertRemoveKeysMatchesLoop(batched, looped, MixedRemoves(20_000, 1));
            }
        }

        [Fact]
        public void RemoveKeys_OnATableTheCachesHold_RemovesKeyByKey_AndMatchesALoopOfRemoves()
        {
            (GoMap<long, long> batched, GoMap<long, long> looped) = TwinMaps(new GoMapOptions { Seed = 2 }, 500);
            using (batched)
            using (looped)
            {
                Assert.False(batched.BatchSetPrefetches); // 2^7 buckets of 144 bytes
                AssertRemoveKeysMatchesLoop(batched, looped, MixedRemoves(400, 2));
            }
        }

        [Fact]
        public void RemoveKeys_StartedDuringAGrowth_CarriesIt_AndMatchesALoopOfRemoves()
        {
            (GoMap<long, long> batched, GoMap<long, long> looped) = TwinMaps(new GoMapOptions { Seed = 3 }, 0);
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
                AssertRemoveKeysMatchesLoop(batched, looped, MixedRemoves((int)next / 2, 3));
                Assert.False(batched.GetStats().IsGrowing); // each remove did its share of the evacuation
            }
        }

        [Theory]
        [MemberData(nameof(BatchSizes.AroundTheBlocksAndRuns), MemberType = typeof(BatchSizes))]
        public void RemoveKeys_AnyNumberOfKeys_AroundThePrefetchBlocksAndTheRuns(int n, bool beyondTheCaches)
        {
            (GoMap<long, long> batched, GoMap<long, long> looped) = TwinMaps(new GoMapOptions { Seed = 4, CapacityHint = beyondTheCaches ? 40_000 : 0 }, 1000);
            using (batched)
            using (looped)
            {
                Assert.Equal(beyondTheCaches, batched.BatchSetPrefetches); // else written in runs of 256 keys
                var keys = new long[n];
                for (int i = 0; i < n; i++)
                {
                    keys[i] = (i * 37) % 1500; // two thirds present
                }

                AssertRemoveKeysMatchesLoop(batched, looped, keys);
            }
        }

        [Fact]
        public void RemoveKeys_KeyGivenTwice_IsRemovedOnce_AndCountsOnce()
        {
            using var map = new GoMap<long, long>();
            map[1] = 10;
            map[2] = 20;
            map[3] = 30;
            Assert.Equal(2, map.RemoveKeys(new long[] { 1, 9, 1, 3 }));
            Assert.Single(map);
            Assert.Equal(20, map[2]);
            Assert.False(map.ContainsKey(1));
            Assert.False(map.ContainsKey(3));
        }

        [Fact]
        public void RemoveKeys_OfEveryKey_EmptiesTheMap_WhichThenTakesNewKeys()
        {
            (GoMap<long, long> batched, GoMap<long, long> looped) = TwinMaps(new GoMapOptions { Seed = 5, CapacityHint = 40_000 }, 30_000);
            using (batched)
            using (looped)
            {
                var keys = new long[30_000];
                for (int i = 0; i < keys.Length; i++)
                {
                    keys[i] = i;
                }

                AssertRemoveKeysMatchesLoop(batched, looped, keys);
                Assert.Empty(batched);
                batched[7] = 70;
                Assert.Equal(70, batched[7]);
                batched.Validate();
            }
        }

        [Fact]
        public void RemoveKeys_WithAComparer_RemovesKeyByKey_AndMatchesALoopOfRemoves()
        {
            var comparer = new LongModuloComparer(13);
            (GoMap<long, long> batched, GoMap<long, long> looped) = TwinMaps(new GoMapOptions { Seed = 6, CapacityHint = 40_000 }, 300, comparer);
            using (batched)
            using (looped)
            {
                Assert.False(batched.BatchSetPrefetches); // its hashing runs user code: not ahead of the writes
                AssertRemoveKeysMatchesLoop(batched, looped, MixedRemoves(700, 6), comparer);
            }
        }

        [Fact]
        public void RemoveKeys_IndirectKeysAndValues_MatchALoopOfRemoves_AndFreeTheSameBlocks()
        {
            var options = new GoMapOptions { Seed = 7 };
            using (var batched = new GoMap<Blob200, Blob200>(options))
            using (var looped = new GoMap<Blob200, Blob200>(options))
            {
                for (int i = 0; i < 600; i++)
                {
                    batched[Blob200.Of(i)] = Blob200.Of(-i);
                    looped[Blob200.Of(i)] = Blob200.Of(-i);
                }

                var keys = new Blob200[900];
                for (int i = 0; i < keys.Length; i++)
                {
                    keys[i] = Blob200.Of(i * 7 % 800); // some absent, some given twice
                }

                AssertRemoveKeysMatchesLoop(batched, looped, keys, Blob200Comparer.Instance, Blob200Comparer.Instance);
                Assert.Equal(looped.GetStats().NativeBytes, batched.GetStats().NativeBytes); // the removed entries' key and value blocks
            }
        }

        [Fact]
        public void RemoveKeys_WhenARemoveThrows_LeavesTheKeysBeforeItRemoved_AndTheRestPresent()
        {
            var comparer = new ThrowOnHashComparer(500);
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = 8 }, comparer);
            comparer.Armed = false;
            var keys = new long[1000];
            for (int i = 0; i < keys.Length; i++)
            {
                keys[i] = i;
                map[i] = i * 3;
            }

            comparer.Armed = true;
            Assert.Throws<InvalidOperationException>(() => map.RemoveKeys(keys));
            comparer.Armed = false; // so that the checks below can look key 500 up
            map.Validate();
            Assert.Equal(500, map.Count);
            for (long k = 0; k < 1000; k++)
            {
                Assert.Equal(k >= 500, map.TryGetValue(k, out long v));
                Assert.Equal(k >= 500 ? k * 3 : 0, v);
            }
        }

        [Fact]
        public void RemoveKeys_DuringAnEnumeration_OnItsThread_KeepsGoRules()
        {
            // Go: an entry removed before the walk reaches it is not yielded; every other entry
            // present throughout is yielded once.
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = 9 });
            for (long k = 0; k < 5000; k++)
            {
                map[k] = k;
            }

            var evens = new long[2500];
            for (int i = 0; i < evens.Length; i++)
            {
                evens[i] = 2 * i;
            }

            var seen = new HashSet<long>();
            bool removed = false;
            foreach (KeyValuePair<long, long> kv in map)
            {
                Assert.True(seen.Add(kv.Key), $"key {kv.Key} yielded twice");
                if (!removed)
                {
                    removed = true;
                    Assert.Equal(2500, map.RemoveKeys(evens)); // the current entry among them when it is even
                    continue;
                }

                Assert.True(kv.Key % 2 == 1, $"even key {kv.Key} yielded after its removal");
            }

            for (long k = 1; k < 5000; k += 2)
            {
                Assert.Contains(k, seen);
            }

            Assert.Equal(2500, map.Count);
            map.Validate();
        }

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public void RemoveKeys_AllocatesNothing(bool prefetching)
        {
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = 10, CapacityHint = prefetching ? 40_000 : 0 });
            for (long k = 0; k < 10_000; k++)
            {
                map[k] = k;
            }

            Assert.Equal(prefetching, map.BatchSetPrefetches);
            long[] keys = MixedRemoves(1000, 10);
            Assert.Equal(0, IterationHelpers.AllocatedByHundredCalls(() => map.RemoveKeys(keys), out _, out long removed));
            Assert.Equal(1000, removed); // the present keys, on the first call only
        }

        [Theory]
        [InlineData(0)]
        [InlineData(1)]
        public void RemoveKeys_OnADisposedMap_ThrowsObjectDisposed(int n)
        {
            var map = new GoMap<long, long>();
            map[0] = 1;
            map.Dispose();
            Assert.Throws<ObjectDisposedException>(() => map.RemoveKeys(new long[n]));
        }
    }
}
