using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// Randomized model tests of up to three enumerations live at once while the map grows,
    /// shrinks and is resized by every route a user has (inserts and removes in phases of a
    /// growing, shrinking or churning key space, <c>EnsureCapacity</c>, both <c>TrimExcess</c>
    /// overloads, the batch calls, <c>Clear</c>, a snapshot round trip, writes from inside a
    /// walk), against a <c>Dictionary</c> model. Every step checks Go's rules: a yielded entry is
    /// present with its current value and never yielded twice (a key removed and set again is a
    /// new entry); a walk that ends has yielded every entry present since it began. The map's
    /// options and growth pace are drawn from the seed too. Derived from a review's harness
    /// (2026-12-05), which ran 1,500 seeds of it clean; each run here draws a fresh seed.
    /// </summary>
    [Collection(NativeMemoryCollection.Name)]
    public class EnumerationAcrossResizesTests
    {
        [Fact]
        public void LiveEnumerations_AcrossGrowthsShrinksAndBatches_KeepGosRules() =>
            Seeded.Run(seed =>
            {
                var cfg = new Random(seed);
                Drive<long, long>(seed, () => Tune(new GoMap<long, long>(Options(seed, cfg)), cfg), k => k * 0x9E3779B1L, k => (int)(k / 0x9E3779B1L), v => v, v => v, 40_000, 1 + cfg.Next(30_000));
            });

        [Fact]
        public void LiveEnumerations_AcrossResizes_KeepGosRules_UnderACollidingComparer() =>
            Seeded.Run(seed =>
            {
                var cfg = new Random(seed);
                var comparer = new LongModuloComparer(1 + cfg.Next(3_000)); // long chains, same-size growths
                Drive<long, long>(seed, () => Tune(new GoMap<long, long>(Options(seed, cfg), comparer), cfg), k => k, k => (int)k, v => v, v => v, 30_000, 1 + cfg.Next(12_000));
            });

        [Fact]
        public void LiveEnumerations_AcrossResizes_KeepGosRules_ForIndirectKeysAndValues() =>
            Seeded.Run(seed =>
            {
                var cfg = new Random(seed);
                Drive<BigKey, BigValue>(seed, () => Tune(new GoMap<BigKey, BigValue>(Options(seed, cfg)), cfg), BigKey.Of, k => k.Id, BigValue.Of, v => v.V, 15_000, 1 + cfg.Next(5_000));
            });

        [Fact]
        public void DisposingAMapMidway_WithLiveEnumerationsAndResizesUnderWay_FreesEverything() =>
            Seeded.Run(seed =>
            {
                var cfg = new Random(seed);
                Drive<long, long>(seed, () => Tune(new GoMap<long, long>(Options(seed, cfg)), cfg), k => k * 0x9E3779B1L, k => (int)(k / 0x9E3779B1L), v => v, v => v, 20_000, 1 + cfg.Next(20_000), disposeMidway: true);
                Drive<BigKey, BigValue>(seed, () => Tune(new GoMap<BigKey, BigValue>(Options(seed, cfg)), cfg), BigKey.Of, k => k.Id, BigValue.Of, v => v.V, 8_000, 1 + cfg.Next(3_000), disposeMidway: true);
            });

        private static GoMapOptions Options(int seed, Random cfg) => new GoMapOptions
        {
            Seed = (ulong)seed,
            PrepareGrowthAhead = cfg.Next(4) == 0,
            SmallPagesForGrowth = cfg.Next(4) == 0,
            ConcurrencyChecks = cfg.Next(4) == 0 ? ConcurrencyChecks.Strict : ConcurrencyChecks.Go,
        };

        /// <summary>The growth paces the tests can choose: bulk evacuation of small tables (the default) or not, four-level or Go's doubling.</summary>
        private static GoMap<TKey, TValue> Tune<TKey, TValue>(GoMap<TKey, TValue> map, Random cfg)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            if (cfg.Next(2) == 0)
            {
                map.EvacuateInBulkForTest();
            }

            if (cfg.Next(3) == 0)
            {
                map.DoubleLikeGoForTest();
            }

            return map;
        }

        /// <summary>A live enumeration and what the rules say of it.</summary>
        private sealed class Walk<TKey, TValue> : WalkLedger
            where TKey : unmanaged
            where TValue : unmanaged
        {
            public Walk(IEnumerable<int> present)
                : base(present)
            {
            }

            public GoMap<TKey, TValue>.Enumerator E;
        }

        /// <summary>
        /// The random driver: keys are int ids mapped to <typeparamref name="TKey"/> by
        /// <paramref name="key"/> (and back by <paramref name="id"/>), values longs mapped by
        /// <paramref name="value"/> and <paramref name="unvalue"/>.
        /// </summary>
        private static void Drive<TKey, TValue>(int seed, Func<GoMap<TKey, TValue>> create, Func<int, TKey> key, Func<TKey, int> id, Func<long, TValue> value, Func<TValue, long> unvalue, int ops, int maxKeys, bool disposeMidway = false)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            var rng = new Random(seed);
            long baseline = GoMapDiagnostics.LiveNativeBytes;
            GoMap<TKey, TValue> map = create();
            var model = new Dictionary<int, long>();
            var walks = new List<Walk<TKey, TValue>>();
            int keySpace = 1 + rng.Next(maxKeys);
            int phaseLeft = 0;
            int mode = 0; // 0 grows, 1 shrinks, 2 churns

            void Removed(int k)
            {
                foreach (Walk<TKey, TValue> w in walks)
                {
                    w.Removed(k);
                }
            }

            void Check(bool everyKey)
            {
                map.Validate();
                Assert.Equal(model.Count, map.Count);
                if (everyKey)
                {
                    foreach (KeyValuePair<int, long> kv in model)
                    {
                        Assert.True(map.TryGetValue(key(kv.Key), out TValue v), $"missing key {kv.Key}");
                        Assert.Equal(kv.Value, unvalue(v));
                    }
                }
            }

            try
            {
                int disposeAt = disposeMidway ? rng.Next(ops) : -1;
                for (int op = 0; op < ops; op++)
                {
                    if (op == disposeAt)
                    {
                        map.Dispose();
                        foreach (Walk<TKey, TValue> w in walks)
                        {
                            Assert.Throws<ObjectDisposedException>(() => w.E.MoveNext());
                            w.E.Dispose();
                        }

                        walks.Clear();
                        Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
                        return;
                    }

                    if (phaseLeft-- <= 0)
                    {
                        phaseLeft = 200 + rng.Next(3_000);
                        mode = rng.Next(3);
                        keySpace = 1 + rng.Next(rng.Next(2) == 0 ? maxKeys : Math.Max(1, maxKeys / 50));
                    }

                    int r = rng.Next(1_000);
                    int k = rng.Next(keySpace);
                    if (r < (mode == 0 ? 500 : mode == 1 ? 150 : 350))
                    {
                        long v = rng.Next();
                        map[key(k)] = value(v);
                        model[k] = v;
                    }
                    else if (r < 700)
                    {
                        if (mode == 1 && model.Count > 0 && rng.Next(2) == 0)
                        {
                            k = model.Keys.ElementAt(rng.Next(Math.Min(model.Count, 64)));
                        }

                        bool had = model.Remove(k);
                        Assert.Equal(had, map.Remove(key(k)));
                        if (had)
                        {
                            Removed(k);
                        }
                    }
                    else if (r < 730)
                    {
                        // SetValues, a key possibly twice (its last value wins).
                        int n = rng.Next(64);
                        var keys = new TKey[n];
                        var values = new TValue[n];
                        var added = new HashSet<int>();
                        for (int i = 0; i < n; i++)
                        {
                            int b = rng.Next(keySpace);
                            long v = rng.Next();
                            keys[i] = key(b);
                            values[i] = value(v);
                            if (!model.ContainsKey(b))
                            {
                                added.Add(b);
                            }

                            model[b] = v;
                        }

                        Assert.Equal(added.Count, map.SetValues(keys, values));
                    }
                    else if (r < 760)
                    {
                        // RemoveKeys, a key possibly twice (removed once).
                        int n = rng.Next(64);
                        var keys = new TKey[n];
                        int removed = 0;
                        for (int i = 0; i < n; i++)
                        {
                            int b = rng.Next(2) == 0 && model.Count > 0 ? model.Keys.ElementAt(rng.Next(Math.Min(model.Count, 32))) : rng.Next(keySpace);
                            keys[i] = key(b);
                            if (model.Remove(b))
                            {
                                removed++;
                                Removed(b);
                            }
                        }

                        Assert.Equal(removed, map.RemoveKeys(keys));
                    }
                    else if (r < 780)
                    {
                        int n = rng.Next(48);
                        var keys = new TKey[n];
                        var values = new TValue[n];
                        var found = new bool[n];
                        int hits = 0;
                        for (int i = 0; i < n; i++)
                        {
                            int b = rng.Next(keySpace);
                            keys[i] = key(b);
                            hits += model.ContainsKey(b) ? 1 : 0;
                        }

                        Assert.Equal(hits, map.TryGetValues(keys, values, found));
                        for (int i = 0; i < n; i++)
                        {
                            int b = id(keys[i]);
                            Assert.Equal(model.ContainsKey(b), found[i]);
                            if (found[i])
                            {
                                Assert.Equal(model[b], unvalue(values[i]));
                            }
                        }
                    }
                    else if (r < 810)
                    {
                        map.TrimExcess();
                    }
                    else if (r < 820)
                    {
                        map.TrimExcess(model.Count + rng.Next(rng.Next(2) == 0 ? 100 : 20_000));
                    }
                    else if (r < 832)
                    {
                        Assert.True(map.EnsureCapacity(rng.Next(rng.Next(2) == 0 ? 300 : maxKeys * 2)) >= model.Count);
                    }
                    else if (r < 834)
                    {
                        if (rng.Next(3) == 0)
                        {
                            var stream = new MemoryStream();
                            map.WriteTo(stream);
                            stream.Position = 0;
                            using GoMap<TKey, TValue> copy = GoMap<TKey, TValue>.ReadFrom(stream, null, map.Comparer);
                            copy.Validate();
                            Assert.Equal(model.Count, copy.Count);
                            foreach (KeyValuePair<int, long> kv in model)
                            {
                                Assert.True(copy.TryGetValue(key(kv.Key), out TValue cv), $"the snapshot lost {kv.Key}");
                                Assert.Equal(kv.Value, unvalue(cv));
                            }
                        }
                        else if (rng.Next(4) == 0)
                        {
                            map.Clear();
                            model.Clear();
                            foreach (Walk<TKey, TValue> w in walks)
                            {
                                w.Cleared();
                            }
                        }
                    }
                    else if (r < 850)
                    {
                        if (walks.Count < 3)
                        {
                            walks.Add(new Walk<TKey, TValue>(model.Keys) { E = map.GetEnumerator() });
                        }
                    }
                    else if (r < 853)
                    {
                        if (walks.Count > 0)
                        {
                            int i = rng.Next(walks.Count);
                            walks[i].E.Dispose();
                            walks.RemoveAt(i);
                        }
                    }
                    else if (r < 990)
                    {
                        if (walks.Count > 0)
                        {
                            int i = rng.Next(walks.Count);
                            Walk<TKey, TValue> w = walks[i];
                            int steps = 1 + rng.Next(rng.Next(4) == 0 ? 200 : 8);
                            for (int s = 0; s < steps; s++)
                            {
                                if (!w.E.MoveNext())
                                {
                                    List<int> missed = w.Missed();
                                    Assert.True(missed.Count == 0, $"a walk missed {missed.Count} entries present throughout, e.g. {string.Join(",", missed.Take(5))}");
                                    w.E.Dispose();
                                    walks.RemoveAt(i);
                                    break;
                                }

                                int y = id(w.E.Current.Key);
                                Assert.True(model.ContainsKey(y), $"a walk yielded the absent key {y}");
                                Assert.True(w.FirstYield(y), $"a walk yielded {y} twice");
                                Assert.Equal(model[y], unvalue(w.E.Current.Value));

                                // Now and then a write from inside the walk.
                                int inside = rng.Next(100);
                                if (inside < 5)
                                {
                                    long v = rng.Next();
                                    map[key(y)] = value(v);
                                    model[y] = v;
                                }
                                else if (inside < 8)
                                {
                                    map.Remove(key(y));
                                    model.Remove(y);
                                    Removed(y);
                                }
                                else if (inside < 9)
                                {
                                    map.TrimExcess();
                                }
                            }
                        }
                    }
                    else
                    {
                        Check(rng.Next(10) == 0);
                    }

                    if (op % 501 == 0)
                    {
                        Check(false);
                    }
                }

                // The walks still live run to their end with no write.
                foreach (Walk<TKey, TValue> w in walks)
                {
                    while (w.E.MoveNext())
                    {
                        int y = id(w.E.Current.Key);
                        Assert.True(model.ContainsKey(y), $"a walk yielded the absent key {y} (drain)");
                        Assert.True(w.FirstYield(y), $"a walk yielded {y} twice (drain)");
                    }

                    List<int> missed = w.Missed();
                    Assert.True(missed.Count == 0, $"a walk missed {missed.Count} entries (drain), e.g. {string.Join(",", missed.Take(5))}");
                    w.E.Dispose();
                }

                walks.Clear();
                while (!map.TrimExcess())
                {
                }

                Check(true);
                Assert.Equal(map.GetStats().NativeBytes, GoMapDiagnostics.LiveNativeBytes - baseline);
            }
            finally
            {
                foreach (Walk<TKey, TValue> w in walks)
                {
                    w.E.Dispose();
                }

                map.Dispose();
            }

            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }
    }
}
