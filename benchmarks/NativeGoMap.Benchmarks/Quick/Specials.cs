using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

namespace NativeGoMap.Benchmarks.Quick
{
    /// <summary>
    /// The measurements that need a process of their own. Insert stalls while growing, GC cost
    /// under churn, and bytes per entry (after and at peak) run for one map in a fresh child
    /// process (this program with <c>--child kind impl n</c>), so that heap state left by another
    /// measurement cannot leak into it; GoMap runs first, then Dictionary. Lookups at 10,000,000
    /// (plain and batched) run for both maps in one child, as they need the memory of two 10M
    /// maps only once; the huge-pages-off lookups run in a child whose environment turns the
    /// library's huge pages off. A child prints result lines in the Go program's format (impl,
    /// type, size, op, value) on stdout and notes on stderr.
    /// </summary>
    internal static class Specials
    {
        internal const string ChildFlag = "--child";
        private const int Big = 10_000_000;
        private const int BigProbes = 1_000_000; // lookups per pass in the 10M table: a random sample of its keys
        private const ulong ProbeSeed = 777;
        private const int RandomOrderSize = 1_000_000; // the random-order lookup, update and remove rows beside the standard 1M rows
        private const string RandomOrderSuffix = "_random";
        private const string ColdChild = "cold"; // TieringOffSpecial
        private const int ColdSize = 1_000;
        private const int HistResolutionNs = 10;
        private const int HistBuckets = 1_000_000; // 0 .. 10 ms; slower inserts go to the overflow list
        private static readonly double NsPerTick = 1e9 / Stopwatch.Frequency;
        private static readonly ChildSink Out = new();

        internal static void RunInChildProcesses(int reps, ResultTable table)
        {
            var runs = new (string Kind, int N)[] { ("stall", Big), ("gc", Big), ("mem", 1_000_000), ("mem", Big), ("snap", Big), ("trim", Big) };
            foreach ((string kind, int n) in runs)
            {
                foreach (string impl in new[] { "gomap", "dict" })
                {
                    QuickComparison.Progress($"special: {kind} {impl} n={n:N0} (child process)");
                    RunChild(new[] { kind, impl, Inv(n) }, null, table);
                }
            }

            QuickComparison.Progress($"special: stall gomap with SmallPagesForGrowth n={Big:N0} (child process)");
            RunChild(new[] { "stall", "gomap-small", Inv(Big) }, null, table);

            QuickComparison.Progress($"special: stall gomap with PrepareGrowthAhead n={Big:N0} (child process)");
            RunChild(new[] { "stall", "gomap-ahead", Inv(Big) }, null, table);

            QuickComparison.Progress($"special: batch (TryGetValues) both n={Big:N0} (child process)");
            RunChild(new[] { "batch", "both", Inv(Big), Inv(reps) }, null, table);

            // The same at 1M, beside the standard 1M rows, which look keys up and remove them in
            // the order they were inserted (the Go program's workload): in that order Dictionary
            // reads its entries array sequentially, which keys in random order (most uses) do not
            // give it. With updates and removes in random order too.
            QuickComparison.Progress($"special: random-order lookups, updates and removes both n={RandomOrderSize:N0} (child process)");
            RunChild(new[] { "batch", "both", Inv(RandomOrderSize), Inv(reps), RandomOrderSuffix }, null, table);

            QuickComparison.Progress($"special: build and lookups in a method compiled before the first map, both n={ColdSize:N0} (child process, DOTNET_TieredCompilation=0)");
            RunChild(new[] { ColdChild, "both", Inv(ColdSize) }, new Dictionary<string, string> { ["DOTNET_TieredCompilation"] = "0" }, table);
        }

        /// <summary>
        /// The lookup rows (<see cref="QuickRows.LookupOps"/>) of the stream key types at size
        /// <paramref name="n"/> again, in a child process with the library's huge pages off.
        /// </summary>
        internal static void RunHugePagesOff(int n, IEnumerable<string> types, int reps, ResultTable table)
        {
            string typeList = string.Join(",", types);
            QuickComparison.Progress($"huge pages off: {typeList} n={n:N0} (child process, {QuickRows.HugePagesVariable}=0)");
            RunChild(
                new[] { "lookups", "both", Inv(n), typeList, Inv(reps) },
                new Dictionary<string, string> { [QuickRows.HugePagesVariable] = "0" },
                table);
        }

        /// <summary>
        /// Entry point of a child: <c>--child stall|gc|mem|snap|trim gomap|dict n</c>, <c>--child batch both n reps [suffix]</c>, <c>--child cold both n</c>,
        /// <c>--child lookups both n types reps</c> or <c>--child rows round [quick comparison flags]</c> (<see cref="QuickComparison.RowsChildMain"/>).
        /// </summary>
        internal static int ChildMain(string[] args)
        {
            if (args.Length >= 3 && args[1] == QuickComparison.RowsChild)
            {
                return QuickComparison.RowsChildMain(args);
            }

            if (args.Length < 4)
            {
                Console.Error.WriteLine("usage: --child stall|gc|mem|snap|trim gomap|dict n | --child batch both n reps [suffix] | --child cold both n | --child lookups both n types reps");
                return 2;
            }

            int n = int.Parse(args[3], CultureInfo.InvariantCulture);
            if (args[1] == ColdChild)
            {
                TieringOffSpecial.Run(n, Out); // first: nothing else may touch the map types before it
                return 0;
            }

            if (args[1] == "batch" && (args.Length == 5 || args.Length == 6))
            {
                Batch(n, int.Parse(args[4], CultureInfo.InvariantCulture), args.Length == 6 ? args[5] : "");
                return 0;
            }

            if (args[1] == "lookups" && args.Length == 6)
            {
                int reps = int.Parse(args[5], CultureInfo.InvariantCulture);
                foreach (string type in args[4].Split(','))
                {
                    QuickRows.WarmUp(type);
                    QuickRows.Standard(type, n, reps, QuickRows.LookupOps, QuickRows.HugePagesOffSuffix, strict: false, Out);
                }

                return 0;
            }

            bool goMap = args[2] switch
            {
                "gomap" => true,
                "gomap-small" => true,
                "gomap-ahead" => true,
                "dict" => false,
                _ => throw new ArgumentException($"unknown implementation {args[2]}"),
            };
            string suffix = "";
            if (args[2] == "gomap-small")
            {
                GoMapAdapter<long, long>.SmallPagesForGrowth = true;
                suffix = SmallPagesSuffix;
            }
            else if (args[2] == "gomap-ahead")
            {
                GoMapAdapter<long, long>.PrepareGrowthAhead = true;
                suffix = PrepareAheadSuffix;
            }

            switch (args[1])
            {
                case "stall":
                    if (goMap)
                    {
                        Stall<GoMapAdapter<long, long>>(n, suffix);
                    }
                    else
                    {
                        Stall<DictionaryAdapter<long, long>>(n, "");
                        Stall<DictionaryAdapter<long, long>>(n, SmallPagesSuffix); // measured again, beside the small-pages row
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
                case "trim":
                    TrimSpecial.Run(goMap, n);
                    break;
                default:
                    throw new ArgumentException($"unknown measurement {args[1]}");
            }

            return 0;
        }

        private static string Inv(int n) => n.ToString(CultureInfo.InvariantCulture);

        /// <summary>
        /// Runs this program as a child (<see cref="ChildFlag"/> and <paramref name="childArgs"/>)
        /// and adds its result lines to <paramref name="sink"/>; its stderr lines become notes, or
        /// with <paramref name="progressToConsole"/> go straight to this process's stderr (a
        /// round of the rows: its progress lines, shown as they come).
        /// </summary>
        internal static void RunChild(string[] childArgs, Dictionary<string, string>? environment, IResultSink table, bool progressToConsole = false)
        {
            var psi = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = !progressToConsole, UseShellExecute = false };
            string self = Environment.ProcessPath ?? "dotnet";
            psi.FileName = self;
            if (Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            {
                // Started as "dotnet NativeGoMap.Benchmarks.dll": the child needs the dll too.
                psi.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
            }

            psi.ArgumentList.Add(ChildFlag);
            foreach (string a in childArgs)
            {
                psi.ArgumentList.Add(a);
            }

            foreach (KeyValuePair<string, string> e in environment ?? new Dictionary<string, string>())
            {
                psi.Environment[e.Key] = e.Value;
            }

            try
            {
                using Process p = Process.Start(psi)!;
                Task<string> stderr = progressToConsole ? Task.FromResult("") : p.StandardError.ReadToEndAsync();
                string stdout = p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                foreach (string line in stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    table.Note(line);
                }

                if (p.ExitCode != 0)
                {
                    table.Note($"child {string.Join(" ", childArgs)}: exited with {p.ExitCode}");
                }

                foreach (string line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    string[] f = line.Split('\t');
                    if (f.Length == 5 && long.TryParse(f[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out long size) && double.TryParse(f[4], NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                    {
                        table.Add(f[0], f[1], size, f[3], v);
                    }
                    else
                    {
                        // A child writes result lines alone to its output: anything else is said,
                        // not dropped (found by review, 2026-12-06).
                        table.Note($"child {string.Join(" ", childArgs)}: unreadable output line: {line.Trim()}");
                    }
                }
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                table.Note($"child {string.Join(" ", childArgs)}: could not start a child process ({e.Message})");
            }
        }

        private static void Emit<TMap>(long n, string op, double value)
            where TMap : struct, IMap<long, long, TMap> => Out.Add(TMap.Name, "long", n, op, value);

        private static void Note<TMap>(string message)
            where TMap : struct, IMap<long, long, TMap> => Out.Note($"{TMap.Name}: {message}");

        /// <summary>
        /// Lookups in a table of <paramref name="n"/> <c>&lt;long,long&gt;</c> entries built with
        /// the capacity given: <see cref="BigProbes"/> keys drawn at random from the whole table per
        /// pass, one TryGetValue each (lookup_hit) and through TryGetValues (lookup_batch); the
        /// rows' op names end with <paramref name="suffix"/>. For the random-order rows
        /// (<see cref="RandomOrderSuffix"/>) also update (the same keys) and remove: every key of
        /// a table built as for the standard remove row, in a random permutation (seed
        /// <see cref="ProbeSeed"/>), one Remove each (remove) and through RemoveKeys (remove_batch).
        /// </summary>
        private static void Batch(int n, int reps, string suffix)
        {
            JitWarmUp.Run<long, long>();
            var keys = new long[n];
            for (int i = 0; i < n; i++)
            {
                keys[i] = (long)SplitMix64.At(KeySets.KeySeed, i);
            }

            var probes = new long[Math.Min(n, BigProbes)];
            var r = new SplitMix64(ProbeSeed);
            for (int i = 0; i < probes.Length; i++)
            {
                probes[i] = keys[(int)(r.Next() % (ulong)n)];
            }

            var set = new KeySet<long, long>(keys, keys, probes, probes, Array.Empty<long>(), Array.Empty<uint>());
            using (var go = new QuickRunner<long, long, GoMapAdapter<long, long>>(set, reps))
            using (var dict = new QuickRunner<long, long, DictionaryAdapter<long, long>>(set, reps))
            {
                QuickOp[] ops = suffix == RandomOrderSuffix
                    ? new[] { QuickOp.LookupHit, QuickOp.LookupBatch, QuickOp.Update }
                    : new[] { QuickOp.LookupHit, QuickOp.LookupBatch };
                QuickRows.Pair("long", n, go, dict, ops, suffix, Out);
            }

            if (suffix != RandomOrderSuffix)
            {
                return;
            }

            // A copy of the build order shuffled by the probes' stream: each key removed once, in random order.
            long[] order = (long[])keys.Clone();
            r.Shuffle(order);

            var removeSet = new KeySet<long, long>(keys, keys, order, order, Array.Empty<long>(), Array.Empty<uint>());
            using var goRemove = new QuickRunner<long, long, GoMapAdapter<long, long>>(removeSet, reps);
            using var dictRemove = new QuickRunner<long, long, DictionaryAdapter<long, long>>(removeSet, reps);
            QuickRows.Pair("long", n, goRemove, dictRemove, new[] { QuickOp.Remove, QuickOp.RemoveBatch }, suffix, Out);
        }

        /// <summary>
        /// Warms the insert path (<see cref="Instruments.JitWarmUp"/>), so that the measured build
        /// runs tier-1 code and no JIT pause lands in an insert.
        /// </summary>
        private static void WarmUpInserts<TMap>(uint[] hist, long[] overflow)
            where TMap : struct, IMap<long, long, TMap>
        {
            Instruments.JitWarmUp.Run(() => InsertTimed<TMap>(Instruments.JitWarmUp.BuildEntries, hist, overflow, new SlowInserts(5), out _).Free());
            Array.Clear(hist);
        }

        /// <summary>
        /// Inserts the first <paramref name="n"/> keys of the seed-12345 stream into an empty map,
        /// timing each insert; the histogram, overflow list and slowest-insert record are
        /// preallocated, so nothing is allocated here besides what the map itself allocates. The
        /// map's work counters are read outside the timed window: before every insert, and after
        /// one that enters the slowest few, so that each of those is recorded with its cause.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static TMap InsertTimed<TMap>(int n, uint[] hist, long[] overflow, SlowInserts slowest, out int overflowed)
            where TMap : struct, IMap<long, long, TMap>
        {
            TMap m = TMap.Create(0);
            var r = new SplitMix64(KeySets.KeySeed);
            slowest.Clear();
            overflowed = 0;
            for (int i = 0; i < n; i++)
            {
                long k = (long)r.Next();
                MapWork before = m.Work;
                long t0 = Stopwatch.GetTimestamp();
                m.Set(k, k);
                long ns = (long)((Stopwatch.GetTimestamp() - t0) * NsPerTick);
                if (ns > slowest.Threshold)
                {
                    slowest.Add(ns, i, before, m.Work);
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

        /// <summary>New 2 MiB pages whose first touch the default GoMap stall child times before its build (<c>stall_fresh_page_us</c>, the slowest).</summary>
        private const int FreshPages = 4;

        /// <summary>Suffix of the stall rows of a GoMap built with <see cref="GoMapOptions.SmallPagesForGrowth"/>.</summary>
        internal const string SmallPagesSuffix = "_small_pages";

        /// <summary>Suffix of the stall rows of a GoMap built with <see cref="GoMapOptions.PrepareGrowthAhead"/>.</summary>
        internal const string PrepareAheadSuffix = "_ahead";

        private static void Stall<TMap>(int n, string suffix)
            where TMap : struct, IMap<long, long, TMap>
        {
            var hist = new uint[HistBuckets];
            var overflow = new long[1 << 16];
            WarmUpInserts<TMap>(hist, overflow);

            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();

            // What a first touch of a new 2 MiB page costs on this machine just now, the unit of
            // the default build's slowest inserts (MachineFloor.FreshHugePages): before the build,
            // so that the build's own retired arrays are not what the kernel hands out.
            (long Worst, long Mean)? freshPage = typeof(TMap) == typeof(GoMapAdapter<long, long>) && suffix.Length == 0
                ? Instruments.MachineFloor.FreshHugePages(FreshPages)
                : null;
            var slowest = new SlowInserts(5);
            int gcs = GC.CollectionCount(0);
            long start = Stopwatch.GetTimestamp();
            TMap m = InsertTimed<TMap>(n, hist, overflow, slowest, out int overflowed);
            TimeSpan build = Stopwatch.GetElapsedTime(start);
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

            Emit<TMap>(n, "stall" + suffix + "_max_us", slowest.MaxNs / 1000.0);
            Emit<TMap>(n, "stall" + suffix + "_p999_us", p999 / 1000.0);

            // The machine's own stalls over as long as the build took, with nothing of ours
            // running (Measure waits for the release thread): no insert's max can be read below it.
            // GoMap's children only: issue 9's bound is on GoMap's max, and the main command
            // has to stay under three minutes (Dictionary's two builds would add about 9 s).
            if (typeof(TMap) == typeof(GoMapAdapter<long, long>))
            {
                (long floorWorst, _) = Instruments.MachineFloor.Measure(build);
                Emit<TMap>(n, "stall" + suffix + "_floor_us", floorWorst * 1e6 / Stopwatch.Frequency);
            }

            if (freshPage is { } fresh)
            {
                Emit<TMap>(n, "stall_fresh_page_us", fresh.Worst * 1e6 / Stopwatch.Frequency);
            }

            if (suffix.Length == 0)
            {
                Emit<TMap>(n, "gc_count", gcs);
            }

            Note<TMap>(FormattableString.Invariant(
                $"stall{suffix}: {m.Count:N0} entries, {overflowed} inserts slower than 10 ms; the slowest, with the map's work in them:"));
            foreach (string line in slowest.Describe())
            {
                Note<TMap>("  " + line);
            }

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

        /// <summary>The slowest few inserts, slowest first, each with the map's work counters around it.</summary>
        private sealed class SlowInserts
        {
            private readonly Slow[] _top;

            internal SlowInserts(int count) => _top = new Slow[count];

            /// <summary>An insert slower than this enters the record.</summary>
            internal long Threshold => _top[^1].Ns;

            internal long MaxNs => _top[0].Ns;

            internal void Clear() => Array.Clear(_top);

            /// <summary>Records insert number <paramref name="at"/> (0-based) of <paramref name="ns"/>, keeping the record sorted.</summary>
            internal void Add(long ns, int at, in MapWork before, in MapWork after)
            {
                int j = _top.Length - 1;
                for (; j > 0 && _top[j - 1].Ns < ns; j--)
                {
                    _top[j] = _top[j - 1];
                }

                _top[j] = new Slow(ns, at, before, after);
            }

            /// <summary>One line per recorded insert: "#1 16.700 ms, insert 6,291,457: growth end, 2 evacuations".</summary>
            internal IEnumerable<string> Describe()
            {
                for (int j = 0; j < _top.Length && _top[j].Ns > 0; j++)
                {
                    Slow s = _top[j];
                    yield return FormattableString.Invariant($"#{j + 1} {s.Ns / 1e6:0.000} ms, insert {s.At + 1:N0}: {MapWork.Describe(s.Before, s.After)}");
                }
            }

            private readonly record struct Slow(long Ns, int At, MapWork Before, MapWork After);
        }
    }
}
