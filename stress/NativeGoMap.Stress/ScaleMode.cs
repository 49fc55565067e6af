using System;
using System.Diagnostics;

namespace NativeGoMap.Stress
{
    /// <summary>
    /// Builds one big &lt;long, long&gt; map with no capacity hint (so every growth happens under
    /// the inserts) and times every insert: build time, bytes per entry, worst and p99.9 insert
    /// latency, GC collections and managed bytes allocated during the build (both must be 0).
    /// </summary>
    internal static class ScaleMode
    {
        internal static Summary Run(StressOptions o)
        {
            var summary = new Summary("scale");
            long count = o.Count ?? (o.Quick ? 2_000_000 : 50_000_000);
            long samples = Math.Min(count, o.Quick ? 200_000 : 2_000_000);

            // Latency histogram in Stopwatch ticks, 1 tick per bucket up to 100 µs; allocated before the build.
            var histogram = new long[Stopwatch.Frequency / 10_000];
            var worst = new Worst();
            using (var warm = new GoMap<long, long>())
            {
                Fill(warm, histogram, 100_000, worst); // JIT warm-up: the timed build runs optimized code
            }

            Array.Clear(histogram);
            worst = new Worst();
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = o.Seed });
            int[] gcBefore = { GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2) };
            long managedBefore = GC.GetAllocatedBytesForCurrentThread();
            long start = Stopwatch.GetTimestamp();
            long beyond = Fill(map, histogram, count, worst);
            TimeSpan build = Stopwatch.GetElapsedTime(start);
            long managed = GC.GetAllocatedBytesForCurrentThread() - managedBefore;
            int[] gc = { GC.CollectionCount(0) - gcBefore[0], GC.CollectionCount(1) - gcBefore[1], GC.CollectionCount(2) - gcBefore[2] };

            GoMapStats stats = map.GetStats();
            summary.Row("entries", count);
            summary.Row("build", build);
            summary.Row("inserts per second", count / build.TotalSeconds);
            summary.Row("native bytes", stats.NativeBytes);
            summary.Row("bytes per entry", (double)stats.NativeBytes / count);
            summary.Row("shape", Shape(stats));
            summary.Row("insert p50", Micro(Percentile(histogram, beyond, 0.5)));
            summary.Row("insert p99", Micro(Percentile(histogram, beyond, 0.99)));
            summary.Row("insert p99.9", Micro(Percentile(histogram, beyond, 0.999)));
            summary.Row("insert p99.99", Micro(Percentile(histogram, beyond, 0.9999)));
            summary.Row("inserts over 100 µs", beyond);
            for (int w = 0; w < Worst.Size; w++)
            {
                summary.Row($"insert worst #{w + 1}", $"{Micro(worst.Ticks[w])} at insert {worst.At[w]:N0} ({Shape(worst.Shape[w])})");
            }

            summary.Row("GC collections gen0/1/2 during build", $"{gc[0]}/{gc[1]}/{gc[2]}");
            summary.Row("managed bytes allocated during build", managed);
            summary.Row("RSS after build", Util.Mib(Util.RssBytes()));
            summary.Check(gc[0] + gc[1] + gc[2] == 0, $"{gc[0]}/{gc[1]}/{gc[2]} GC collections during the build");
            summary.Check(managed == 0, $"{managed} managed bytes allocated during the build");

            // Lookups of a sample of present keys and of absent keys.
            var rng = Util.Rng(o, 30);
            long lookupStart = Stopwatch.GetTimestamp();
            long wrong = 0;
            for (long s = 0; s < samples; s++)
            {
                long i = rng.NextInt64(count);
                wrong += map.TryGetValue(Key(i), out long v) && v == i ? 0 : 1;
                wrong += map.ContainsKey(Key(count + i)) ? 1 : 0;
            }

            TimeSpan lookups = Stopwatch.GetElapsedTime(lookupStart);
            summary.Row("lookups checked (present + absent)", 2 * samples);
            summary.Row("lookup ns (random, cold cache)", lookups.TotalNanoseconds / (2 * samples));
            summary.Check(wrong == 0, $"{wrong} of {2 * samples} sampled lookups were wrong");
            summary.Check(map.LongCount == count, $"count {map.LongCount}, expected {count}");
            summary.Note("keys are i × 0x9E3779B97F4A7C15 (a bijection): spread, distinct. No capacity hint, so every growth runs under the timed inserts.");
            summary.Note("latencies include the timer (Stopwatch.GetTimestamp twice) and whatever the OS does to the thread (page faults of fresh bucket pages, preemption on a shared machine): the worst inserts are wall-clock figures; the shape after each tells whether a growth was running.");
            return summary;
        }

        private static string Shape(GoMapStats s) =>
            $"B={s.B}, {s.OverflowBuckets:N0} overflow buckets, {(s.IsGrowing ? $"growing, {s.EvacuatedBuckets:N0} old buckets evacuated" : "not growing")}";

        private static long Key(long i) => unchecked(i * (long)0x9E3779B97F4A7C15UL);

        /// <summary>Inserts keys 0..count-1, timing each; allocates nothing managed.</summary>
        private static long Fill(GoMap<long, long> map, long[] histogram, long count, Worst worst)
        {
            long beyond = 0;
            for (long i = 0; i < count; i++)
            {
                long key = Key(i);
                long t0 = Stopwatch.GetTimestamp();
                map[key] = i;
                long dt = Stopwatch.GetTimestamp() - t0;
                if (dt < histogram.Length)
                {
                    histogram[dt]++;
                }
                else
                {
                    beyond++;
                }

                if (dt > worst.Ticks[Worst.Size - 1])
                {
                    worst.Add(dt, i, map.GetStats());
                }
            }

            return beyond;
        }

        /// <summary>The slowest inserts and the map's shape after each (no allocation while recording).</summary>
        private sealed class Worst
        {
            internal const int Size = 5;
            internal readonly long[] Ticks = new long[Size];
            internal readonly long[] At = new long[Size];
            internal readonly GoMapStats[] Shape = new GoMapStats[Size];

            internal void Add(long ticks, long at, GoMapStats shape)
            {
                int k = Size - 1;
                for (; k > 0 && Ticks[k - 1] < ticks; k--)
                {
                    Ticks[k] = Ticks[k - 1];
                    At[k] = At[k - 1];
                    Shape[k] = Shape[k - 1];
                }

                Ticks[k] = ticks;
                At[k] = at;
                Shape[k] = shape;
            }
        }

        /// <summary>The latency (in ticks) below which a fraction <paramref name="q"/> of the inserts fall.</summary>
        private static long Percentile(long[] histogram, long beyond, double q)
        {
            long total = beyond;
            foreach (long n in histogram)
            {
                total += n;
            }

            long target = (long)Math.Ceiling(q * total);
            long seen = 0;
            for (long t = 0; t < histogram.Length; t++)
            {
                seen += histogram[t];
                if (seen >= target)
                {
                    return t;
                }
            }

            return histogram.Length; // beyond the histogram: at least 100 µs
        }

        private static string Micro(long ticks) =>
            (ticks * 1_000_000.0 / Stopwatch.Frequency).ToString("0.000", System.Globalization.CultureInfo.InvariantCulture) + " µs";
    }
}
