using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;

namespace NativeGoMap.Stress
{
    /// <summary>
    /// Hash flooding. An attacker who knows a map's seed (here: read from a map built with
    /// Seed = s1) picks keys that all fall in one bucket; they must cost nothing special in a map
    /// with another seed, and a map that empties must renew its seed (Go issue 25237).
    /// </summary>
    internal static class HostileMode
    {
        private const int TargetBits = 12; // keys collide in every table with B <= 12

        internal static Summary Run(StressOptions o)
        {
            var summary = new Summary("hostile");
            int m = o.Quick ? 10_000 : 20_000;
            ulong s1 = o.Seed ^ 0x5151;
            ulong s2 = o.Seed ^ 0xA2A2;
            var clock = Stopwatch.StartNew();
            long[] adversarial = FindColliding(s1, m);
            TimeSpan search = clock.Elapsed;
            var rng = Util.Rng(o, 40);
            long[] random = Enumerable.Range(0, m).Select(_ => rng.NextInt64()).Distinct().ToArray();

            Measure(summary, "warm-up", adversarial, s1, "s1"); // JIT: the timed runs below use optimized code
            var attack = Measure(summary, "adversarial", adversarial, s1, "s1");
            var otherSeed = Measure(summary, "adversarial", adversarial, s2, "s2");
            var randomS1 = Measure(summary, "random", random, s1, "s1");
            var randomS2 = Measure(summary, "random", random, s2, "s2");
            var rows = new List<object[]> { attack.Row, otherSeed.Row, randomS1.Row, randomS2.Row };

            // A map that empties takes a new seed: the attacker's knowledge goes with the old one.
            using (var map = new GoMap<long, long>(new GoMapOptions { Seed = s1 }))
            {
                Fill(map, adversarial);
                ulong before = map.HashSeed;
                foreach (long k in adversarial)
                {
                    map.Remove(k);
                }

                var refilled = Measure(summary, "adversarial", adversarial, s1, "s1, emptied by Remove, refilled", map);
                rows.Add(refilled.Row);
                summary.Check(map.HashSeed != before, "the seed did not change when Remove emptied the map");
                summary.Check(refilled.MaxChain <= (2 * randomS1.MaxChain) + 2, $"after Remove emptied the map, the old adversarial keys still chain {refilled.MaxChain} buckets deep");
                map.Clear();
                rows.Add(Measure(summary, "adversarial", adversarial, s1, "s1, after Clear, refilled", map).Row);
            }

            summary.Row("adversarial keys", m);
            summary.Row("key search", $"{search.TotalSeconds:0.00} s for keys with hash & 0x{(1 << TargetBits) - 1:X} == 0 under s1");
            summary.Table("chains: adversarial keys (all in bucket 0 under s1) vs random keys", new[] { "keys", "map seed", "B", "overflow buckets", "avg buckets/chain", "max chain", "insert ns", "lookup ns" }, rows);
            summary.Check(attack.MaxChain >= m / 8, $"the attack did not work: max chain {attack.MaxChain} < {m / 8} (the check would prove nothing)");
            summary.Check(attack.OverflowBuckets >= (m / 8) - 1, $"the map holds {attack.OverflowBuckets} overflow buckets where the adversarial keys' hashes make one chain of {m / 8} buckets");
            summary.Check(otherSeed.MaxChain <= (2 * randomS2.MaxChain) + 2, $"keys adversarial to s1 chain {otherSeed.MaxChain} buckets deep under s2 (random keys: {randomS2.MaxChain})");

            IterationOrder(summary, o.Seed);
            summary.Note("after Remove empties the map, bucket 0 keeps its long chain of empty overflow buckets (Go does not unlink them) but every slot is emptyRest, so lookups and inserts stop at its first bucket: only Clear frees them.");
            summary.Note("avg buckets/chain = (2^B + overflow buckets) / 2^B from GetStats(); max chain = occupied buckets of the longest chain, from the keys' hashes under the map's current seed (the library's InternalsVisibleTo accessor DefaultHashForTest).");
            summary.Note("the attacker is given seed s1 (as with a fixed Seed option, which the docs say never to use for adversarial keys); a random per-map seed is what protects real maps.");
            return summary;
        }

        /// <summary>Keys whose hash under the seed of a fresh map with Seed = <paramref name="seed"/> has its low TargetBits bits zero.</summary>
        private static long[] FindColliding(ulong seed, int count)
        {
            using var probe = new GoMap<long, long>(new GoMapOptions { Seed = seed });
            var keys = new long[count];
            int n = 0;
            for (long k = 1; n < count; k++)
            {
                if ((probe.DefaultHashForTest(k) & ((1UL << TargetBits) - 1)) == 0)
                {
                    keys[n++] = k;
                }
            }

            return keys;
        }

        /// <summary>
        /// Fills a map (a new one under <paramref name="seed"/>, or <paramref name="reuse"/>) with
        /// <paramref name="keys"/>, times the inserts and the lookups, and fails the mode when a
        /// key is not found again or the count is wrong (until 2026-12-06 a lost key only added
        /// a column the table did not print, a review found).
        /// </summary>
        private static (object[] Row, long MaxChain, long OverflowBuckets) Measure(Summary summary, string name, long[] keys, ulong seed, string label, GoMap<long, long>? reuse = null)
        {
            GoMap<long, long> map = reuse ?? new GoMap<long, long>(new GoMapOptions { Seed = seed });
            long start = Stopwatch.GetTimestamp();
            Fill(map, keys);
            double insertNs = Stopwatch.GetElapsedTime(start).TotalNanoseconds / keys.Length;
            start = Stopwatch.GetTimestamp();
            long found = 0;
            foreach (long k in keys)
            {
                found += map.ContainsKey(k) ? 1 : 0;
            }

            double lookupNs = Stopwatch.GetElapsedTime(start).TotalNanoseconds / keys.Length;
            GoMapStats s = map.GetStats();
            long maxChain = keys.GroupBy(k => map.DefaultHashForTest(k) & ((1UL << s.B) - 1)).Max(g => (g.LongCount() + 7) / 8);
            if (reuse is null)
            {
                map.Dispose();
            }

            summary.Check(found == keys.Length && s.Count == keys.Length, $"{name} keys under {label}: {found} of {keys.Length} found again, count {s.Count}");
            object[] row = { name, label, s.B, s.OverflowBuckets, (double)(s.BucketCount + s.OverflowBuckets) / s.BucketCount, maxChain, insertNs, lookupNs };
            return (row, maxChain, s.OverflowBuckets);
        }

        /// <summary>Same seed and operations: same order. Emptied and refilled: a new seed, another order.</summary>
        private static void IterationOrder(Summary summary, ulong seed)
        {
            long[] keys = Enumerable.Range(0, 1000).Select(i => (long)i).ToArray();
            using var a = new GoMap<long, long>(new GoMapOptions { Seed = seed });
            using var b = new GoMap<long, long>(new GoMapOptions { Seed = seed });
            Fill(a, keys);
            Fill(b, keys);
            List<long> first = a.Keys.ToList();
            bool reproducible = first.SequenceEqual(b.Keys.ToList());
            double again = AdjacentPairsKept(first, a.Keys.ToList());
            foreach (long k in keys)
            {
                a.Remove(k);
            }

            Fill(a, keys);
            double refilled = AdjacentPairsKept(first, a.Keys.ToList());
            summary.Row("iteration order, same seed and ops", reproducible ? "identical" : "DIFFERENT");
            summary.Row("adjacent pairs kept: same map walked again", $"{again:P1} (new random start bucket and offset, same layout)");
            summary.Row("adjacent pairs kept: after emptying + refilling", $"{refilled:P1} (new seed, new layout)");
            summary.Check(reproducible, "two maps with the same Seed and the same operations iterate in different orders");
            summary.Check(refilled < 0.2 && refilled < again / 2, $"after emptying and refilling, {refilled:P1} of adjacent pairs kept: the seed did not change the layout");
        }

        /// <summary>Fraction of the consecutive pairs of <paramref name="a"/> that are also consecutive in <paramref name="b"/>.</summary>
        private static double AdjacentPairsKept(List<long> a, List<long> b)
        {
            var pairs = new HashSet<(long, long)>(b.Zip(b.Skip(1)));
            return (double)a.Zip(a.Skip(1)).Count(pairs.Contains) / (a.Count - 1);
        }

        private static void Fill(GoMap<long, long> map, long[] keys)
        {
            foreach (long k in keys)
            {
                map[k] = k;
            }
        }
    }
}
