using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Threading;

namespace NativeGoMap.Benchmarks.Quick
{
    /// <summary>
    /// The measurements a BenchmarkDotNet table does not give: insert stalls while growing,
    /// GC cost under churn, and bytes per entry (after and at peak). Each runs for one map in a
    /// fresh child process (this program with <c>--child kind impl n</c>), so that heap state left
    /// by another measurement cannot leak into it; GoMap runs first, then Dictionary. The child
    /// prints result lines in the Go program's format (impl, type, size, op, value).
    /// </summary>
    internal static class Specials
    {
        internal const string ChildFlag = "--child";
        private const int Big = 10_000_000;
        private const int HistResolutionNs = 10;
        private const int HistBuckets = 1_000_000; // 0 .. 10 ms; slower inserts go to the overflow list
        private static readonly double NsPerTick = 1e9 / Stopwatch.Frequency;

        internal static void RunInChildProcesses(ResultTable table, List<string> notes)
        {
            var runs = new (string Kind, int N)[] { ("stall", Big), ("gc", Big), ("mem", 1_000_000), ("mem", Big), ("snap", Big) };
            foreach ((string kind, int n) in runs)
            {
                foreach (string impl in new[] { "gomap", "dict" })
                {
                    QuickComparison.Progress($"special: {kind} {impl} n={n:N0} (child process)");
                    RunChild(kind, impl, n, table, notes);
                }
            }
        }

        /// <summary>Entry point of a child: <c>--child stall|gc|mem|snap gomap|dict n</c>.</summary>
        internal static int ChildMain(string[] args)
        {
            if (args.Length != 4)
            {
                Console.Error.WriteLine("usage: --child stall|gc|mem|snap gomap|dict n");
                return 2;
            }

            int n = int.Parse(args[3], CultureInfo.InvariantCulture);
            bool goMap = args[2] switch
            {
                "gomap" => true,
                "dict" => false,
                _ => throw new ArgumentException($"unknown implementation {args[2]}"),
            };
            switch (args[1])
            {
                case "stall":
                    if (goMap)
                    {
                        Stall<GoMapAdapter<long, long>>(n);
                    }
                    else
                    {
                        Stall<DictionaryAdapter<long, long>>(n);
                    }

                    break;
                case "gc":
                    if (goMap)
                    {
                        GcChurn<GoMapAdapter<long, long>>(n);
                    }
                    else
                    {
                        GcChurn<DictionaryAdapter<long, long>>(n);
                    }

                    break;
                case "mem":
                    if (goMap)
                    {
                        MemoryGoMap(n);
                    }
                    else
                    {
                        MemoryDictionary(n);
                    }

                    break;
                case "snap":
                    SnapshotSpecial.Run(goMap, n);
                    break;
                default:
                    throw new ArgumentException($"unknown measurement {args[1]}");
            }

            return 0;
        }

        private static void RunChild(string kind, string impl, int n, ResultTable table, List<string> notes)
        {
            var psi = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            string self = Environment.ProcessPath ?? "dotnet";
            psi.FileName = self;
            if (Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            {
                // Started as "dotnet NativeGoMap.Benchmarks.dll": the child needs the dll too.
                psi.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
            }

            foreach (string a in new[] { ChildFlag, kind, impl, n.ToString(CultureInfo.InvariantCulture) })
            {
                psi.ArgumentList.Add(a);
            }

            try
            {
                using Process p = Process.Start(psi)!;
                var stderr = p.StandardError.ReadToEndAsync();
                string stdout = p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                foreach (string line in stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    notes.Add(line);
                }

                if (p.ExitCode != 0)
                {
                    notes.Add($"special {kind} {impl} n={n}: child exited with {p.ExitCode}");
                }

                foreach (string line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    string[] f = line.Split('\t');
                    if (f.Length == 5 && double.TryParse(f[4], NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                    {
                        table.Add(f[0], f[1], long.Parse(f[2], CultureInfo.InvariantCulture), f[3], v);
                    }
                }
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                notes.Add($"special {kind} {impl}: could not start a child process ({e.Message})");
            }
        }

        private static void Emit<TMap>(long n, string op, double value)
            where TMap : struct, IMap<long, long, TMap> =>
            Console.WriteLine(FormattableString.Invariant($"{TMap.Name}\tlong\t{n}\t{op}\t{value:0.00}"));

        private static void Note<TMap>(string message)
            where TMap : struct, IMap<long, long, TMap> => Console.Error.WriteLine($"{TMap.Name}: {message}");

        /// <summary>
        /// Warms the insert path: builds small maps for a while and lets the background JIT finish,
        /// so that the measured build runs tier-1 code and no JIT pause lands in an insert.
        /// </summary>
        private static void WarmUpInserts<TMap>(uint[] hist, long[] overflow)
            where TMap : struct, IMap<long, long, TMap>
        {
            var sw = Stopwatch.StartNew();
            while (sw.ElapsedMilliseconds < 500)
            {
                InsertTimed<TMap>(100_000, hist, overflow, new long[5], new int[5], out _).Free();
            }

            Thread.Sleep(200);
            Array.Clear(hist);
        }

        /// <summary>
        /// Inserts the first <paramref name="n"/> keys of the seed-12345 stream into an empty map,
        /// timing each insert; the histogram and overflow list are preallocated, so nothing is
        /// allocated here besides what the map itself allocates.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static TMap InsertTimed<TMap>(int n, uint[] hist, long[] overflow, long[] topNs, int[] topAt, out int overflowed)
            where TMap : struct, IMap<long, long, TMap>
        {
            TMap m = TMap.Create(0);
            var r = new SplitMix64(KeySets.KeySeed);
            Array.Clear(topNs);
            overflowed = 0;
            for (int i = 0; i < n; i++)
            {
                long k = (long)r.Next();
                long t0 = Stopwatch.GetTimestamp();
                m.Set(k, k);
                long ns = (long)((Stopwatch.GetTimestamp() - t0) * NsPerTick);
                if (ns > topNs[^1])
                {
                    // Keep the slowest few inserts, sorted, slowest first.
                    int j = topNs.Length - 1;
                    for (; j > 0 && topNs[j - 1] < ns; j--)
                    {
                        topNs[j] = topNs[j - 1];
                        topAt[j] = topAt[j - 1];
                    }

                    topNs[j] = ns;
                    topAt[j] = i;
                }

                long b = ns / HistResolutionNs;
                if (b < HistBuckets)
                {
                    hist[b]++;
                }
                else
                {
                    if (overflowed < overflow.Length)
                    {
                        overflow[overflowed] = ns;
                    }

                    overflowed++;
                }
            }

            return m;
        }

        private static void Stall<TMap>(int n)
            where TMap : struct, IMap<long, long, TMap>
        {
            var hist = new uint[HistBuckets];
            var overflow = new long[1 << 16];
            WarmUpInserts<TMap>(hist, overflow);

            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var topNs = new long[5];
            var topAt = new int[5];
            int gcs = GC.CollectionCount(0);
            TMap m = InsertTimed<TMap>(n, hist, overflow, topNs, topAt, out int overflowed);
            gcs = GC.CollectionCount(0) - gcs;

            // 99.9th percentile: the smallest d such that at least 99.9% of the samples are <= d.
            long rank = Math.Max(0, (long)((n * 0.999) + 0.5) - 1);
            long p999 = -1;
            long seen = 0;
            for (int b = 0; b < HistBuckets; b++)
            {
                seen += hist[b];
                if (seen > rank)
                {
                    p999 = (long)b * HistResolutionNs; // lower edge of the bucket, as the Go program
                    break;
                }
            }

            if (p999 < 0)
            {
                int count = Math.Min(overflowed, overflow.Length);
                Array.Sort(overflow, 0, count);
                p999 = overflow[Math.Min(count - 1, (int)(rank - seen))];
            }

            Emit<TMap>(n, "stall_max_us", topNs[0] / 1000.0);
            Emit<TMap>(n, "stall_p999_us", p999 / 1000.0);
            Emit<TMap>(n, "gc_count", gcs);
            string slowest = string.Join(", ", topNs.Select((ns, j) => FormattableString.Invariant($"{ns / 1e6:0.000} ms @#{topAt[j]:N0}")));
            Note<TMap>(FormattableString.Invariant(
                $"stall: {m.Count:N0} entries, {overflowed} inserts slower than 10 ms; slowest: {slowest}"));
            m.Free();
        }

        private static void GcChurn<TMap>(int n)
            where TMap : struct, IMap<long, long, TMap>
        {
            WarmUpInserts<TMap>(new uint[HistBuckets], new long[1 << 16]);
            var ring = new byte[4096][];
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();

            int g0 = GC.CollectionCount(0), g1 = GC.CollectionCount(1), g2 = GC.CollectionCount(2);
            TimeSpan pause = GC.GetTotalPauseDuration();
            var sw = Stopwatch.StartNew();

            TMap m = TMap.Create(0);
            for (int i = 0; i < n; i++)
            {
                long k = (long)SplitMix64.At(KeySets.KeySeed, i);
                m.Set(k, k);
            }

            var r = new SplitMix64(777);
            int churnOps = n / 2;
            for (int i = 0; i < churnOps; i++)
            {
                long k = (long)SplitMix64.At(KeySets.KeySeed, (long)(r.Next() % (ulong)n));
                if ((i & 7) == 0)
                {
                    m.Remove(k);
                    m.Set(k, k);
                }
                else
                {
                    m.Set(k, k + 1);
                }

                ring[i & 4095] = new byte[64]; // the application's own allocations
            }

            sw.Stop();
            pause = GC.GetTotalPauseDuration() - pause;
            int d0 = GC.CollectionCount(0) - g0, d1 = GC.CollectionCount(1) - g1, d2 = GC.CollectionCount(2) - g2;
            Emit<TMap>(n, "gc_churn_gen0", d0 - d1);
            Emit<TMap>(n, "gc_churn_gen1", d1 - d2);
            Emit<TMap>(n, "gc_churn_gen2", d2);
            Emit<TMap>(n, "gc_churn_pause_ms", pause.TotalMilliseconds);
            Emit<TMap>(n, "gc_churn_wall_ms", sw.Elapsed.TotalMilliseconds);
            GC.KeepAlive(ring);
            m.Free();
        }

        private static void MemoryGoMap(int n)
        {
            using var m = new GoMap<long, long>();
            long peak = 0;
            for (int i = 0; i < n; i++)
            {
                long k = (long)SplitMix64.At(KeySets.KeySeed, i);
                m[k] = k;
                peak = Math.Max(peak, m.GetStats().NativeBytes);
            }

            GoMapStats s = m.GetStats();
            Emit<GoMapAdapter<long, long>>(n, "bytes_per_entry", (double)s.NativeBytes / n);
            Emit<GoMapAdapter<long, long>>(n, "bytes_per_entry_peak", (double)peak / n);
            Note<GoMapAdapter<long, long>>(FormattableString.Invariant(
                $"memory n={n:N0}: {s}; peak {peak:N0} B"));
        }

        private static void MemoryDictionary(int n)
        {
            long baseline = GC.GetTotalMemory(forceFullCollection: true);
            var d = new Dictionary<long, long>();
            long peak = 0;
            for (int i = 0; i < n; i++)
            {
                long k = (long)SplitMix64.At(KeySets.KeySeed, i);
                if (d.Count == d.EnsureCapacity(0))
                {
                    // This insert resizes: old and new arrays are both alive while it copies.
                    long live = GC.GetTotalMemory(forceFullCollection: true) - baseline;
                    long allocated = GC.GetAllocatedBytesForCurrentThread();
                    d[k] = k;
                    allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
                    peak = Math.Max(peak, live + allocated);
                }
                else
                {
                    d[k] = k;
                }
            }

            long after = GC.GetTotalMemory(forceFullCollection: true) - baseline;
            peak = Math.Max(peak, after);
            Emit<DictionaryAdapter<long, long>>(n, "bytes_per_entry", (double)after / n);
            Emit<DictionaryAdapter<long, long>>(n, "bytes_per_entry_peak", (double)peak / n);
            Note<DictionaryAdapter<long, long>>(FormattableString.Invariant(
                $"memory n={n:N0}: capacity {d.EnsureCapacity(0):N0}, heap delta {after:N0} B, peak {peak:N0} B"));
            GC.KeepAlive(d);
        }
    }
}
