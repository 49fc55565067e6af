using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading;

namespace NativeGoMap.Benchmarks.Quick
{
    /// <summary>
    /// The trim rows of the quick comparison (child <c>--child trim gomap|dict n</c>): a table of
    /// <c>&lt;long,long&gt;</c> built by n inserts (no capacity hint), then every key but the first
    /// n/100 removed, then trimmed. GoMap: (a) <c>while (!map.TrimExcess()) {}</c>, each call timed
    /// (total and slowest call); (b) on a second table built the same way, one TrimExcess call
    /// starts the shrink and a stream of writes on the live keys (update, remove, re-insert in
    /// turn) carries it to its end, each write timed; native bytes before the trim and after it.
    /// Dictionary: its TrimExcess() (one call that copies the entries: one stall) and its GC heap
    /// before and after.
    /// </summary>
    internal static class TrimSpecial
    {
        private const int KeepDivisor = 100;
        private const int HistResolutionNs = 10;
        private const int HistBuckets = 1_000_000; // 0 .. 10 ms; slower writes counted apart
        private const int MaxCarryWrites = 5_000_000; // a bound, never reached when shrinks end
        private static readonly double NsPerTick = 1e9 / Stopwatch.Frequency;
        private static readonly ChildSink Out = new();

        internal static void Run(bool goMap, int n)
        {
            int keep = n / KeepDivisor;
            long[] keys = new long[n];
            for (int i = 0; i < n; i++)
            {
                keys[i] = (long)SplitMix64.At(KeySets.KeySeed, i);
            }

            if (goMap)
            {
                WarmUpGoMap();
                TrimLoop(keys, keep);
                CarriedByWrites(keys, keep);
            }
            else
            {
                WarmUpDictionary();
                DictionaryTrim(keys, keep);
            }
        }

        /// <summary>Builds a map of all <paramref name="keys"/> by inserts, then removes all but the first <paramref name="keep"/>.</summary>
        private static GoMap<long, long> BuildAndDelete(long[] keys, int n, int keep)
        {
            var map = new GoMap<long, long>();
            for (int i = 0; i < n; i++)
            {
                map[keys[i]] = keys[i];
            }

            for (int i = keep; i < n; i++)
            {
                map.Remove(keys[i]);
            }

            return map;
        }

        /// <summary>Runs both GoMap procedures on small tables until the trim and write paths run tier-1 code.</summary>
        private static void WarmUpGoMap()
        {
            long[] keys = new long[200_000];
            for (int i = 0; i < keys.Length; i++)
            {
                keys[i] = (long)SplitMix64.At(KeySets.KeySeed + 1, i);
            }

            var sw = Stopwatch.StartNew();
            var hist = new uint[HistBuckets];
            while (sw.ElapsedMilliseconds < 600)
            {
                using (GoMap<long, long> map = BuildAndDelete(keys, keys.Length, keys.Length / KeepDivisor))
                {
                    while (!map.TrimExcess())
                    {
                    }
                }

                using (GoMap<long, long> map = BuildAndDelete(keys, keys.Length, keys.Length / KeepDivisor))
                {
                    map.TrimExcess();
                    Carry(map, keys, keys.Length / KeepDivisor, hist, out _, out _, out _, out _);
                }
            }

            Thread.Sleep(200);
        }

        private static void WarmUpDictionary()
        {
            var sw = Stopwatch.StartNew();
            while (sw.ElapsedMilliseconds < 300)
            {
                var d = new Dictionary<long, long>();
                for (long k = 0; k < 100_000; k++)
                {
                    d[k] = k;
                }

                for (long k = 1_000; k < 100_000; k++)
                {
                    d.Remove(k);
                }

                d.TrimExcess();
            }
        }

        /// <summary>(a): the trim finished by TrimExcess calls alone, each call timed.</summary>
        private static void TrimLoop(long[] keys, int keep)
        {
            int n = keys.Length;
            GoMap<long, long> map = BuildAndDelete(keys, n, keep);
            GC.Collect();
            GoMapStats before = map.GetStats();
            long calls = 0;
            long maxTicks = 0;
            WorkCounters maxBefore = default, maxAfter = default;
            long total = Stopwatch.GetTimestamp();
            bool done;
            do
            {
                WorkCounters w0 = map.Work;
                long t = Stopwatch.GetTimestamp();
                done = map.TrimExcess();
                long ticks = Stopwatch.GetTimestamp() - t;
                if (ticks > maxTicks)
                {
                    maxTicks = ticks;
                    maxBefore = w0;
                    maxAfter = map.Work;
                }

                calls++;
            }
            while (!done);

            double totalMs = Stopwatch.GetElapsedTime(total).TotalMilliseconds;
            GoMapStats after = map.GetStats();
            if (after.Count != keep)
            {
                throw new InvalidOperationException("the trim lost entries");
            }

            Out.Add("GoMap", "long", n, "trim_total_ms", totalMs);
            Out.Add("GoMap", "long", n, "trim_call_max_us", maxTicks * NsPerTick / 1000);
            Out.Add("GoMap", "long", n, "trim_mb_before", before.NativeBytes / 1e6);
            Out.Add("GoMap", "long", n, "trim_mb_after", after.NativeBytes / 1e6);
            Out.Add("GoMap", "long", n, "bytes_per_entry_after_trim", (double)after.NativeBytes / keep);
            Out.Note(FormattableString.Invariant(
                $"GoMap: trim {n:N0} -> {keep:N0} by TrimExcess calls alone: {calls:N0} calls, {totalMs:0.0} ms, slowest call {maxTicks * NsPerTick / 1000:0.0} us ({MapWork.Describe(new MapWork(maxBefore, 0), new MapWork(maxAfter, 0))}); before: {before}; after: {after}"));
            map.Dispose();
        }

        /// <summary>(b): one TrimExcess call starts the shrink, writes carry it to its end, each write timed.</summary>
        private static void CarriedByWrites(long[] keys, int keep)
        {
            int n = keys.Length;
            var hist = new uint[HistBuckets];
            GoMap<long, long> map = BuildAndDelete(keys, n, keep);
            GC.Collect();
            long t = Stopwatch.GetTimestamp();
            bool doneByFirstCall = map.TrimExcess();
            double firstCallUs = Stopwatch.GetElapsedTime(t).TotalMicroseconds;
            GoMapStats started = map.GetStats();
            TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime;
            long carryStart = Stopwatch.GetTimestamp();
            long writes = Carry(map, keys, keep, hist, out long maxNs, out long slow, out int maxAt, out string maxWork);
            double carryMs = Stopwatch.GetElapsedTime(carryStart).TotalMilliseconds;
            double carryCpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
            GoMapStats ended = map.GetStats();
            bool trimmed = map.TrimExcess();

            Out.Add("GoMap", "long", n, "trim_first_call_us", firstCallUs);
            Out.Add("GoMap", "long", n, "trim_write_max_us", maxNs / 1000.0);
            Out.Add("GoMap", "long", n, "trim_write_p999_us", Percentile(hist, writes, 0.999, maxNs) / 1000.0);
            Out.Note(FormattableString.Invariant(
                $"GoMap: shrink started by one TrimExcess call ({firstCallUs:0} us{(doneByFirstCall ? ", already done" : "")}; {started}) carried by {writes:N0} writes (update, remove, re-insert of the {keep:N0} live keys in turn): {carryMs:0} ms wall, {carryCpuMs:0} ms process CPU (GetStats between writes included); slowest write {maxNs / 1000.0:0.0} us (write {maxAt + 1:N0}: {maxWork}), {slow} slower than 10 ms; then {ended}; a TrimExcess call after it returned {trimmed}"));
            map.Dispose();
        }

        /// <summary>Writes on the live keys until the map has no growth and no deferred memory left; returns the number of writes.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static long Carry(GoMap<long, long> map, long[] keys, int keep, uint[] hist, out long maxNs, out long slow, out int maxAt, out string maxWork)
        {
            WorkCounters maxBefore = default, maxAfter = default;
            Array.Clear(hist);
            maxNs = 0;
            maxAt = -1;
            slow = 0;
            int w = 0;
            for (; w < MaxCarryWrites; w++)
            {
                GoMapStats s = map.GetStats();
                if (!s.IsGrowing && s.DeferredBytes == 0)
                {
                    break;
                }

                long k = keys[(w / 3) % keep];
                WorkCounters w0 = map.Work;
                long t0 = Stopwatch.GetTimestamp();
                switch (w % 3)
                {
                    case 0:
                        map[k] = k + 1;
                        break;
                    case 1:
                        map.Remove(k);
                        break;
                    default:
                        map[k] = k;
                        break;
                }

                long ns = (long)((Stopwatch.GetTimestamp() - t0) * NsPerTick);
                if (ns > maxNs)
                {
                    maxNs = ns;
                    maxAt = w;
                    maxBefore = w0;
                    maxAfter = map.Work;
                }

                long b = ns / HistResolutionNs;
                if (b < HistBuckets)
                {
                    hist[b]++;
                }
                else
                {
                    slow++;
                }
            }

            maxWork = MapWork.Describe(new MapWork(maxBefore, 0), new MapWork(maxAfter, 0));
            return w;
        }

        /// <summary>The smallest histogram edge at or above which the given fraction of samples falls; <paramref name="max"/> when it is among the slow ones.</summary>
        private static long Percentile(uint[] hist, long samples, double fraction, long max)
        {
            long rank = Math.Max(0, (long)((samples * fraction) + 0.5) - 1);
            long seen = 0;
            for (int b = 0; b < HistBuckets; b++)
            {
                seen += hist[b];
                if (seen > rank)
                {
                    return (long)b * HistResolutionNs;
                }
            }

            return max;
        }

        private static void DictionaryTrim(long[] keys, int keep)
        {
            int n = keys.Length;
            long baseline = GC.GetTotalMemory(forceFullCollection: true);
            var d = new Dictionary<long, long>();
            for (int i = 0; i < n; i++)
            {
                d[keys[i]] = keys[i];
            }

            for (int i = keep; i < n; i++)
            {
                d.Remove(keys[i]);
            }

            long before = GC.GetTotalMemory(forceFullCollection: true) - baseline;
            long t = Stopwatch.GetTimestamp();
            d.TrimExcess();
            double ms = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
            long after = GC.GetTotalMemory(forceFullCollection: true) - baseline;
            if (d.Count != keep)
            {
                throw new InvalidOperationException("the trim lost entries");
            }

            Out.Add("Dictionary", "long", n, "trim_total_ms", ms);
            Out.Add("Dictionary", "long", n, "trim_call_max_us", ms * 1000);
            Out.Add("Dictionary", "long", n, "trim_mb_before", before / 1e6);
            Out.Add("Dictionary", "long", n, "trim_mb_after", after / 1e6);
            Out.Add("Dictionary", "long", n, "bytes_per_entry_after_trim", (double)after / keep);
            Out.Note(FormattableString.Invariant(
                $"Dictionary: TrimExcess() {n:N0} -> {keep:N0}: one call of {ms:0.0} ms; GC heap {before:N0} B before, {after:N0} B after (GC.GetTotalMemory(true) deltas)"));
            GC.KeepAlive(d);
            GC.KeepAlive(keys); // counted in the baseline: it must not be collected before the "after" reading
        }
    }
}
