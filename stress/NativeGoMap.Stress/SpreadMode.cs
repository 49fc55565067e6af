using System;
using System.Collections.Generic;
using System.Linq;

namespace NativeGoMap.Stress
{
    /// <summary>
    /// How the default hash spreads structured keys, over many random seeds: for each seed and
    /// each of 89 key patterns (sequential, 2^t apart for every t that keeps the keys distinct,
    /// multiples, 2-D and 3-D grids packed in one word, descending, offset, bytes), four keys a
    /// bucket on average are put into 2^B buckets for every B from 3 to 12, and a table is bad
    /// when its fullest bucket holds more than 20 (a uniform hash: about once in 10^5 tables
    /// of 4,096 buckets). A seed fails when any of its 824 tables is bad. Three hashes are run
    /// on the same seeds: the map's (<see cref="Hasher.Hash64"/>), the one-round fold it replaced
    /// (<c>Mix(v ^ k1, k2)</c>, no <see cref="Hasher.Finish"/>) and random numbers, which calibrate
    /// what chance alone gives. The check: the map's hash fails no more seeds than chance plus a
    /// margin, and the old fold fails many (else the patterns would test nothing). Then real maps
    /// (<see cref="RealMaps"/>): no seed may leave many more overflow buckets than the median.
    /// </summary>
    internal static class SpreadMode
    {
        private const int MinBits = 3;
        private const int MaxBits = 12;
        private const int KeysPerBucket = 4;
        private const int MaxFullest = 20;

        internal static Summary Run(StressOptions o)
        {
            var summary = new Summary("spread");
            int seeds = o.Quick ? 100 : 1_500;
            var patterns = Patterns();
            var rng = Util.Rng(o, 50);
            ulong chance = (ulong)rng.NextInt64();
            var perBucket = new int[1 << MaxBits];
            var hashes = new (string Name, Func<ulong, ulong, ulong, ulong> Hash)[]
            {
                ("map's hash (fold, then Finish)", Hasher.Hash64),
                ("fold alone, Mix(v ^ k1, k2)", (v, k1, k2) => Hasher.Mix(v ^ k1, k2)),
                ("random numbers (chance)", (_, _, _) => Hasher.SplitMix(ref chance)),
            };

            var failedSeeds = new int[hashes.Length];
            var badTables = new int[hashes.Length];
            var worstPattern = new Dictionary<string, int>[hashes.Length];
            for (int h = 0; h < hashes.Length; h++)
            {
                worstPattern[h] = new Dictionary<string, int>();
            }

            for (int s = 0; s < seeds; s++)
            {
                ulong k1 = (ulong)rng.NextInt64() ^ ((ulong)rng.NextInt64() << 1);
                ulong k2 = ((ulong)rng.NextInt64() ^ ((ulong)rng.NextInt64() << 1)) | 1;
                for (int h = 0; h < hashes.Length; h++)
                {
                    bool failed = false;
                    var hash = hashes[h].Hash;
                    foreach (var (name, limitBits, key) in patterns)
                    {
                        for (int bits = MinBits; bits <= Math.Min(MaxBits, limitBits); bits++)
                        {
                            ulong mask = (1UL << bits) - 1;
                            Array.Clear(perBucket, 0, 1 << bits);
                            int fullest = 0;
                            long keys = (long)KeysPerBucket << bits;
                            for (long i = 0; i < keys; i++)
                            {
                                fullest = Math.Max(fullest, ++perBucket[hash(key(i), k1, k2) & mask]);
                            }

                            if (fullest > MaxFullest)
                            {
                                failed = true;
                                badTables[h]++;
                                worstPattern[h][name] = worstPattern[h].GetValueOrDefault(name) + 1;
                            }
                        }
                    }

                    if (failed)
                    {
                        failedSeeds[h]++;
                    }
                }
            }

            int tables = patterns.Sum(p => Math.Min(MaxBits, p.LimitBits) - MinBits + 1);
            summary.Row("seeds", seeds);
            summary.Row("patterns", patterns.Count);
            summary.Row("tables per seed", tables);
            summary.Table(
                $"seeds with a table whose fullest bucket holds more than {MaxFullest} keys ({KeysPerBucket} a bucket on average, 2^{MinBits} to 2^{MaxBits} buckets)",
                new[] { "hash", "seeds failed", "share", "bad tables", "patterns most often bad" },
                hashes.Select((x, h) => new object[]
                {
                    x.Name,
                    failedSeeds[h],
                    $"{100.0 * failedSeeds[h] / seeds:0.0} %",
                    badTables[h],
                    string.Join(", ", worstPattern[h].OrderByDescending(p => p.Value).Take(4).Select(p => $"{p.Key} ({p.Value})")),
                }));

            RealMaps(summary, o.Quick ? 200 : 2_000);

            // Chance gave about 0.2 % of seeds in 1,500 (3 of them); a margin of 1 % + 3 seeds
            // keeps the check from flaking on a seed while a weakness of the old fold's kind
            // (90 % of seeds) cannot hide under it.
            int allowed = (failedSeeds[2] * 2) + (seeds / 100) + 3;
            summary.Check(failedSeeds[0] <= allowed, $"the map's hash failed {failedSeeds[0]} of {seeds} seeds, chance {failedSeeds[2]} (allowed {allowed})");
            summary.Check(failedSeeds[1] >= seeds / 4, $"the old fold failed only {failedSeeds[1]} of {seeds} seeds: the patterns no longer test what they should");
            summary.Note("Replay with --seed; the three hashes see the same seed pairs. The map hashes int keys and comparer hash codes the same way (zero-extended), 16-byte keys with a word in each factor.");
            return summary;
        }

        /// <summary>
        /// The same question end to end: 1,000 keys of a pattern inserted into real maps, one per
        /// fixed seed (<see cref="GoMapOptions.Seed"/>, growth included), and the overflow buckets
        /// each ends with (<see cref="GoMapStats.OverflowBuckets"/>). A uniform hash leaves about
        /// 5 in the 256 buckets of a 1,000-entry map; the one-round fold left 0-2 for most seeds
        /// and over 100 for the worst (seed 113 with sequential keys: 104, lookups 2.6× slower).
        /// </summary>
        private static void RealMaps(Summary summary, int seeds)
        {
            const int entries = 1_000;
            var rows = new List<object[]>();
            foreach (int shift in new[] { 0, 10, 32 })
            {
                var overflow = new long[seeds];
                for (int s = 0; s < seeds; s++)
                {
                    using var map = new GoMap<long, long>(new GoMapOptions { Seed = (ulong)s + 1 });
                    for (long i = 0; i < entries; i++)
                    {
                        map[i << shift] = i;
                    }

                    overflow[s] = map.GetStats().OverflowBuckets;
                }

                long[] sorted = overflow.OrderBy(x => x).ToArray();
                long median = sorted[seeds / 2];
                long worst = sorted[^1];
                int far = overflow.Count(x => x > 10 * (median + 1));
                rows.Add(new object[] { shift == 0 ? "sequential" : $"2^{shift} apart", seeds, median, sorted[seeds * 99 / 100], worst, Array.IndexOf(overflow, worst) + 1, far });
                summary.Check(worst <= (3 * (median + 1)) + 10, $"{entries:N0} keys 2^{shift} apart: a seed left {worst} overflow buckets (median {median})");
            }

            summary.Table(
                $"real maps: {entries:N0} <long,long> keys inserted under seeds 1 to {seeds}, overflow buckets at the end",
                new[] { "keys", "seeds", "median", "p99", "worst", "worst's seed", "seeds over 10x median + 1" },
                rows);
        }

        /// <summary>The key patterns: name, the largest B whose 4·2^B keys stay distinct, the i-th key.</summary>
        private static List<(string Name, int LimitBits, Func<long, ulong> Key)> Patterns()
        {
            var list = new List<(string, int, Func<long, ulong>)>
            {
                ("sequential", MaxBits, i => (ulong)i),
                ("descending from 0", MaxBits, i => (ulong)(-i)),
                ("from 10^9", MaxBits, i => (ulong)(1_000_000_000 + i)),
                ("i << 32 | 7i", MaxBits, i => ((ulong)i << 32) | (ulong)(i * 7)),
                ("low byte, then bits 16+", MaxBits, i => (ulong)((i & 255) | ((i >> 8) << 16))),
                ("3-D grid (21 bits a side)", MaxBits, i => ((ulong)(i >> 8) << 42) | ((ulong)((i >> 4) & 15) << 21) | (ulong)(i & 15)),
            };

            for (int t = 1; t < 62; t++)
            {
                int shift = t;
                list.Add(($"2^{t} apart", 62 - t, i => (ulong)i << shift));
            }

            foreach (long step in new long[] { 3, 5, 7, 10, 11, 13, 24, 48, 100, 1_000, 1_025, 4_097, 65_537, 1_000_003 })
            {
                list.Add(($"multiples of {step}", MaxBits, i => (ulong)(i * step)));
            }

            foreach (int shift in new[] { 8, 12, 16, 20, 24, 32, 40, 48 })
            {
                int sh = shift;
                list.Add(($"grid (x << {shift}) | y", Math.Min(MaxBits, 62 - shift), i => ((ulong)(i >> 5) << sh) | (ulong)(i & 31)));
            }

            return list;
        }
    }
}
