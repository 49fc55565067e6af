using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Runtime;

namespace NativeGoMap.Stress
{
    /// <summary>
    /// Builds one big &lt;long, long&gt; map with no capacity hint (so every growth happens under
    /// the inserts) and times every insert: build time, bytes per entry, worst and p99.9 insert
    /// latency, GC collections and managed bytes allocated during the build (both must be 0), and
    /// for the slowest inserts what they did (issue 9): started or ended a growth, evacuated, ran
    /// a release step, took page faults, was off the CPU, overlapped a JIT compilation, or none of these.
    /// </summary>
    internal static class ScaleMode
    {
        // Issue 9's target for the slowest insert of the full run (reported, not failed: a
        // wall-clock figure on a shared machine).
        private static readonly TimeSpan WorstTarget = TimeSpan.FromMilliseconds(1);

        // Inserts at least this slow are probed for page faults and context switches (see Fill):
        // 1 µs, below what serving a fault takes (9.8 µs at least on this VM; about 1 µs on bare
        // metal) and far below a trip off the CPU.
        private static readonly long ProbeTicks = Stopwatch.Frequency / 1_000_000;

        internal static Summary Run(StressOptions o)
        {
            var summary = new Summary("scale");
            long count = o.Count ?? (o.Quick ? 2_000_000 : 50_000_000);
            long samples = Math.Min(count, o.Quick ? 200_000 : 2_000_000);

            // Latency histogram in Stopwatch ticks, 1 tick per bucket up to 100 µs; allocated before the build.
            var histogram = new long[Stopwatch.Frequency / 10_000];
            var beyondByCause = new long[1 << Cause.KindNames.Length];
            var worst = new Worst(10);
            var quiet = new Worst(1);
            // JIT warm-up, as the quick comparison's stall rows do (until 2026-12-07 one build of
            // 100,000 entries, which left the first calls of later paths to the timed build).
            Instruments.JitWarmUp.Run(() =>
            {
                using var warm = new GoMap<long, long>(new GoMapOptions { SmallPagesForGrowth = o.SmallPages, PrepareGrowthAhead = o.PrepareAhead });
                Fill(warm, histogram, Instruments.JitWarmUp.BuildEntries, worst, quiet, beyondByCause, out _, out _);
            });

            Array.Clear(histogram);
            Array.Clear(beyondByCause);
            worst = new Worst(worst.Size);
            quiet = new Worst(quiet.Size);
            // The unit of a default build's slowest inserts on this machine, before the build (see MachineFloor.FreshHugePages).
            (long Worst, long Mean)? freshPage = Instruments.MachineFloor.FreshHugePages(8);
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = o.Seed, SmallPagesForGrowth = o.SmallPages, PrepareGrowthAhead = o.PrepareAhead });
            int[] gcBefore = { GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2) };
            long managedBefore = GC.GetAllocatedBytesForCurrentThread();
            long compiledBefore = JitInfo.GetCompiledMethodCount();
            long start = Stopwatch.GetTimestamp();
            long beyond = Fill(map, histogram, count, worst, quiet, beyondByCause, out long peakBytes, out long overMs);
            TimeSpan build = Stopwatch.GetElapsedTime(start);
            long compiledDuring = JitInfo.GetCompiledMethodCount() - compiledBefore;
            long managed = GC.GetAllocatedBytesForCurrentThread() - managedBefore;
            int[] gc = { GC.CollectionCount(0) - gcBefore[0], GC.CollectionCount(1) - gcBefore[1], GC.CollectionCount(2) - gcBefore[2] };

            GoMapStats stats = map.GetStats();
            summary.Row("entries", count);
            summary.Row("pages of growth arrays", o.SmallPages ? "4 KiB, populated by the release thread (SmallPagesForGrowth)" : "2 MiB huge pages where the OS gives them (default)");
            summary.Row("growth arrays", o.PrepareAhead ? "allocated at 3/4 of the growth's count and faulted in by the release thread (PrepareGrowthAhead)" : "allocated by the write that starts the growth (default)");
            summary.Row("build", build);
            summary.Row("inserts per second", count / build.TotalSeconds);
            summary.Row("native bytes", stats.NativeBytes);
            summary.Row("bytes per entry", (double)stats.NativeBytes / count);
            summary.Row("bytes per entry at peak", (double)peakBytes / count);
            summary.Row("shape", Shape(stats));
            summary.Row("insert p50", Micro(Percentile(histogram, beyond, 0.5)));
            summary.Row("insert p99", Micro(Percentile(histogram, beyond, 0.99)));
            summary.Row("insert p99.9", Micro(Percentile(histogram, beyond, 0.999)));
            summary.Row("insert p99.99", Micro(Percentile(histogram, beyond, 0.9999)));
            summary.Row("inserts over 100 µs", beyond);
            summary.Row("insert worst", worst.Describe(0));
            summary.Row($"insert worst vs issue 9's target (<= {WorstTarget.TotalMilliseconds:0} ms)", VersusTarget(worst.Ticks[0]));
            summary.Row("insert worst while on the CPU", quiet.Describe(0));
            summary.Row("  vs the target", VersusTarget(quiet.Ticks[0]));
            summary.Row("inserts over 1 ms", overMs);
            (long floorWorst, long floorOverMs) = Instruments.MachineFloor.Measure(build);
            summary.Row("machine floor: worst timed store (no map, as long as the build)", Micro(floorWorst));
            summary.Row("machine floor: stores over 1 ms", floorOverMs);
            summary.Row("machine: first touch of a new 2 MiB page (8, before the build)", freshPage is { } fresh ? $"worst {Micro(fresh.Worst)}, mean {Micro(fresh.Mean)}" : "not measured (no huge-page mappings here)");
            int? reporting = Instruments.MachineFloor.PageReporting();
            summary.Row("machine: free page reporting order", reporting is { } order ? $"{order} (free blocks of {(order >= 8 ? $"{1 << (order - 8)} MiB" : $"{4 << order} KiB")} and up may go back to the host)" : "none");
            summary.Table($"slowest {worst.Size} inserts", new[] { "#", "latency", "at insert", "map after it", "what it did" },
                Enumerable.Range(0, worst.Size).Where(w => worst.Ticks[w] > 0).Select(w => new object[] { w + 1, Micro(worst.Ticks[w]), worst.At[w], Shape(worst.Shape[w]), worst.Causes[w].ToString() }));
            summary.Table("inserts over 100 µs by what they did", new[] { "what they did", "inserts" },
                Enumerable.Range(0, beyondByCause.Length).Where(k => beyondByCause[k] > 0).OrderByDescending(k => beyondByCause[k]).Select(k => new object[] { Cause.Describe(k), beyondByCause[k] }));
            summary.Row("methods JIT-compiled during build (any thread)", compiledDuring);
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

            // The same through TryGetValues, in calls of 1,024 keys, half present and half absent:
            // in a table this big, its pipeline that prefetches candidate slots (x64).
            const int Batch = 1024;
            var batchKeys = new long[Batch];
            var batchIds = new long[Batch];
            var batchValues = new long[Batch];
            var batchFound = new bool[Batch];
            string pipeline = map.BatchLookupTargetsSlots ? "candidate slots prefetched" : map.BatchLookupPrefetches ? "whole buckets prefetched" : "key by key";
            long batchWrong = 0;
            long batchStart = Stopwatch.GetTimestamp();
            for (long s = 0; s < samples; s += Batch / 2)
            {
                for (int j = 0; j < Batch; j++)
                {
                    long i = rng.NextInt64(count);
                    batchIds[j] = (j & 1) == 0 ? i : -1;
                    batchKeys[j] = Key((j & 1) == 0 ? i : count + i);
                }

                int hits = map.TryGetValues(batchKeys, batchValues, batchFound);
                batchWrong += hits == Batch / 2 ? 0 : 1;
                for (int j = 0; j < Batch; j++)
                {
                    batchWrong += batchFound[j] == (batchIds[j] >= 0) && batchValues[j] == Math.Max(batchIds[j], 0) ? 0 : 1;
                }
            }

            TimeSpan batchTime = Stopwatch.GetElapsedTime(batchStart);
            long batched = (samples + (Batch / 2) - 1) / (Batch / 2) * Batch;
            summary.Row($"batched lookups checked (TryGetValues, {pipeline})", batched);
            summary.Row("batched lookup ns per key (random, present + absent)", batchTime.TotalNanoseconds / batched);
            summary.Check(batchWrong == 0, $"{batchWrong} wrong results in {batched} batched lookups");
            summary.Check(map.LongCount == count, $"count {map.LongCount}, expected {count}");

            // The pipeline the batches claim to check, where the CPU prefetches and no growth runs
            // (a growing map's batches go key by key): until 2026-12-06 only labelled, a review found.
            // Only where the array is big enough for it: a --count under about 426,000 <long,long>
            // entries leaves an array under 16 MiB, whose batches prefetch whole buckets by design
            // (until 2026-12-07 such a run failed here).
            summary.Check(!map.ArrayBigEnoughToTargetSlots || map.GetStats().IsGrowing || map.BatchLookupTargetsSlots, $"the batched lookups went {pipeline}, not through the pipeline that prefetches candidate slots");

            // Every invariant of the whole table, every entry's chain among them (Validate counts
            // the live slots against the count): the sampled lookups above reach a fraction of it.
            long validateStart = Stopwatch.GetTimestamp();
            map.Validate();
            summary.Row("Validate() of the whole table", $"{Stopwatch.GetElapsedTime(validateStart).TotalMilliseconds:0} ms, passed");
            summary.Note("keys are i × 0x9E3779B97F4A7C15 (a bijection): spread, distinct. No capacity hint, so every growth runs under the timed inserts.");
            summary.Note("latencies include the timer (Stopwatch.GetTimestamp twice) and whatever the OS does to the thread (page faults of fresh bucket pages, preemption on a shared machine): the worst inserts are wall-clock figures.");
            summary.Note($"what it did: the map's work counters (growth starts and ends, evacuations, release steps, bucket allocations) read after every insert, and this thread's page faults and context switches (getrusage: preempted = involuntary, blocked = voluntary) read after every insert of {Micro(ProbeTicks)} or more, faster than a fault is served; JIT: methods the runtime compiled on any thread during the insert (JitInfo): the first call of a path the warm-up builds ({Instruments.JitWarmUp.BuildEntries:N0} entries) did not reach, or a tier-up on the background thread. \"while on the CPU\": the slowest insert that was neither preempted nor blocked, the figure to hold against the target on a shared machine. An evacuation is one old bucket's work, a write's share during a growth four of them (microseconds): a slow insert that did only that was slowed by something the thread cannot see. Bytes per entry at peak: the highest live native bytes after any insert, over the final entry count.");
            summary.Note("machine floor: timed stores into a 64 MiB array touched beforehand, with no map, no page fault and no system call, for as long as the build took, right after it: what the machine (interrupts, the hypervisor, other tenants) does to any loop. An insert's worst figure cannot be read below it.");
            return summary;
        }

        private static string VersusTarget(long ticks)
        {
            double ratio = ticks / (WorstTarget.TotalSeconds * Stopwatch.Frequency);
            return ratio <= 1 ? "met" : $"NOT met ({ratio:0.#}x)";
        }

        private static string Shape(GoMapStats s) =>
            $"B={s.B}, {s.OverflowBuckets:N0} overflow buckets, {(s.IsGrowing ? $"growing, {s.EvacuatedBuckets:N0} old buckets evacuated" : "not growing")}";

        private static long Key(long i) => unchecked(i * (long)0x9E3779B97F4A7C15UL);

        /// <summary>
        /// Inserts keys 0..count-1, timing each, and notes what the slow ones did; allocates
        /// nothing managed. The map's work counters are read after every insert, outside the timed
        /// interval (a 48-byte copy; nothing else changes them). The thread's page faults and
        /// context switches (getrusage) are read only after an insert that took at least
        /// <see cref="ProbeTicks"/>: getrusage is a system call (about 4 µs on this VM under load),
        /// so reading it around every insert would double the build and disturb the caches the next
        /// insert uses. Neither a fault nor a trip off the CPU fits in that threshold (the fastest
        /// insert with a fault measured 9.8 µs here), so a faster insert had none, and the counts
        /// after a probed insert minus those at the previous probe are that insert's: the loop's
        /// own memory is touched before the build, so only a preemption between two inserts (in
        /// the loop's few instructions) can be counted with the next probed insert instead. The
        /// runtime's count of compiled methods is read after every insert too (a few ns, outside
        /// the timed interval), so that an insert slowed by the JIT says so.
        /// </summary>
        private static long Fill(GoMap<long, long> map, long[] histogram, long count, Worst worst, Worst quiet, long[] beyondByCause, out long peakBytes, out long overMs)
        {
            long beyond = 0;
            long msTicks = Stopwatch.Frequency / 1000;
            overMs = 0;
            peakBytes = 0;
            WorkCounters before = map.Work;
            long compiledBefore = JitInfo.GetCompiledMethodCount();
            var usage = Native.ThreadUsage();
            for (long i = 0; i < count; i++)
            {
                long key = Key(i);
                long t0 = Stopwatch.GetTimestamp();
                map[key] = i;
                long dt = Stopwatch.GetTimestamp() - t0;
                overMs += dt > msTicks ? 1 : 0;
                WorkCounters after = map.Work;
                long compiledAfter = JitInfo.GetCompiledMethodCount();
                peakBytes = Math.Max(peakBytes, GoMapDiagnostics.LiveNativeBytes);
                (long Faults, long Preempted, long Blocked) os = default;
                if (dt >= ProbeTicks)
                {
                    var now = Native.ThreadUsage();
                    os = (now.Faults - usage.Faults, now.Preempted - usage.Preempted, now.Blocked - usage.Blocked);
                    usage = now;
                }

                var cause = new Cause(before, after, os, compiledAfter - compiledBefore);
                if (dt < histogram.Length)
                {
                    histogram[dt]++;
                }
                else
                {
                    beyond++;
                    beyondByCause[cause.Kinds]++;
                }

                if (worst.Admits(dt))
                {
                    worst.Add(dt, i, map.GetStats(), cause);
                }

                if (!cause.OffCpu && quiet.Admits(dt))
                {
                    quiet.Add(dt, i, map.GetStats(), cause);
                }

                before = after;
                compiledBefore = compiledAfter;
            }

            return beyond;
        }

        /// <summary>The slowest inserts, the map's shape after each and what each did (no allocation while recording).</summary>
        private sealed class Worst
        {
            internal readonly long[] Ticks;
            internal readonly long[] At;
            internal readonly GoMapStats[] Shape;
            internal readonly Cause[] Causes;

            internal Worst(int size)
            {
                Ticks = new long[size];
                At = new long[size];
                Shape = new GoMapStats[size];
                Causes = new Cause[size];
            }

            internal int Size => Ticks.Length;

            /// <summary>Is an insert of <paramref name="ticks"/> among the slowest so far?</summary>
            internal bool Admits(long ticks) => ticks > Ticks[^1];

            internal void Add(long ticks, long at, GoMapStats shape, Cause cause)
            {
                int k = Size - 1;
                for (; k > 0 && Ticks[k - 1] < ticks; k--)
                {
                    Ticks[k] = Ticks[k - 1];
                    At[k] = At[k - 1];
                    Shape[k] = Shape[k - 1];
                    Causes[k] = Causes[k - 1];
                }

                Ticks[k] = ticks;
                At[k] = at;
                Shape[k] = shape;
                Causes[k] = cause;
            }

            internal string Describe(int k) => $"{Micro(Ticks[k])} at insert {At[k]:N0}: {Causes[k]}";
        }

        /// <summary>What one insert did, from the map's work counters before and after it and what the OS did to the thread.</summary>
        private readonly struct Cause
        {
            // Names of the bits of Kinds, for counting slow inserts by what they did; 0: none of these.
            internal static readonly string[] KindNames = { "growth start", "growth end", "release step", "page fault", "preempted", "blocked", "evacuation", "bucket allocation", "JIT" };

            private readonly long _growthStarts;
            private readonly long _growthEnds;
            private readonly long _releaseSteps;
            private readonly long _releasedBytes;
            private readonly long _faults;
            private readonly long _preempted;
            private readonly long _blocked;
            private readonly long _evacuations;
            private readonly long _allocations;
            private readonly long _compiled;

            internal Cause(WorkCounters before, WorkCounters after, (long Faults, long Preempted, long Blocked) os, long compiled)
            {
                _compiled = compiled;
                _growthStarts = after.GrowthStarts - before.GrowthStarts;
                _growthEnds = after.GrowthEnds - before.GrowthEnds;
                _releaseSteps = after.ReleaseSteps - before.ReleaseSteps;
                _releasedBytes = after.ReleasedBytes - before.ReleasedBytes;
                (_faults, _preempted, _blocked) = os;
                _evacuations = after.Evacuations - before.Evacuations;
                _allocations = after.BucketAllocations - before.BucketAllocations;
            }

            /// <summary>The kinds of work the insert did, as bits of <see cref="KindNames"/>.</summary>
            internal int Kinds =>
                (_growthStarts != 0 ? 1 : 0) | (_growthEnds != 0 ? 2 : 0) | (_releaseSteps != 0 ? 4 : 0) | (_faults != 0 ? 8 : 0) |
                (_preempted != 0 ? 16 : 0) | (_blocked != 0 ? 32 : 0) | (_evacuations != 0 ? 64 : 0) | (_allocations != 0 ? 128 : 0) | (_compiled != 0 ? 256 : 0);

            /// <summary>Was the thread off the CPU (preempted or blocked) during the insert?</summary>
            internal bool OffCpu => _preempted != 0 || _blocked != 0;

            /// <summary>A set of kinds, joined; "none of these" for none.</summary>
            internal static string Describe(int kinds) =>
                kinds == 0 ? None : string.Join(" + ", KindNames.Where((_, k) => (kinds & (1 << k)) != 0));

            public override string ToString()
            {
                string?[] parts =
                {
                    _growthStarts != 0 ? "growth start" : null,
                    _growthEnds != 0 ? "growth end" : null,
                    _releaseSteps != 0 ? $"{Times(_releaseSteps, "release step")} ({Util.Mib(_releasedBytes)})" : null,
                    _faults != 0 ? Times(_faults, "page fault") : null,
                    _preempted != 0 ? $"preempted {_preempted}x" : null,
                    _blocked != 0 ? $"blocked {_blocked}x" : null,
                    _evacuations != 0 ? Times(_evacuations, "evacuation") : null,
                    _allocations != 0 ? Times(_allocations, "bucket allocation") : null,
                    _compiled != 0 ? $"JIT ({Times(_compiled, "method")} compiled)" : null,
                };
                string text = string.Join(", ", parts.Where(p => p is not null));
                return text.Length > 0 ? text : None;
            }

            private const string None = "none of these (an interrupt, or the hypervisor)";

            private static string Times(long n, string what) => n == 1 ? $"1 {what}" : $"{n} {what}s";
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
            (ticks * 1_000_000.0 / Stopwatch.Frequency).ToString("0.000", CultureInfo.InvariantCulture) + " µs";
    }
}
