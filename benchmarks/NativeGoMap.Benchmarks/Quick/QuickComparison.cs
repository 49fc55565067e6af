using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Numerics;
using System.Runtime;
using System.Runtime.InteropServices;

namespace NativeGoMap.Benchmarks.Quick
{
    /// <summary>Flags of the quick comparison.</summary>
    internal sealed class QuickOptions
    {
        internal const string Usage =
            "quick comparison flags: [--sizes 1000,1000000] [--types int,long,guid] [--reps 3] [--no-special] [--no-go]";

        private static readonly string[] Switches = { "--quick", "--no-special", "--no-go" };
        private static readonly string[] ValueFlags = { "--sizes", "--types", "--reps" };

        internal int[] Sizes { get; private set; } = { 1_000, 1_000_000 };

        internal string[] Types { get; private set; } = { "int", "long", "guid" };

        internal int Reps { get; private set; } = 3;

        /// <summary>Run the stall, GC-cost and memory measurements (10M entries, child processes).</summary>
        internal bool Special { get; private set; } = true;

        internal bool Go { get; private set; } = true;

        /// <summary>
        /// True when the arguments are for the quick comparison: none, or only its own flags.
        /// Anything else (<c>--filter</c>, <c>--job</c>, ...) is for BenchmarkDotNet, which also
        /// understands <c>--sizes</c>.
        /// </summary>
        internal static bool IsQuick(string[] args)
        {
            for (int i = 0; i < args.Length; i++)
            {
                if (ValueFlags.Contains(args[i]))
                {
                    i++;
                }
                else if (!Switches.Contains(args[i]))
                {
                    return false;
                }
            }

            return true;
        }

        internal static QuickOptions Parse(string[] args)
        {
            var o = new QuickOptions();
            for (int i = 0; i < args.Length; i++)
            {
                string a = args[i];
                switch (a)
                {
                    case "--quick":
                        break;
                    case "--no-go":
                        o.Go = false;
                        break;
                    case "--no-special":
                        o.Special = false;
                        break;
                    case "--sizes":
                        o.Sizes = Value(args, ref i).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                            .Select(s => int.Parse(s, NumberStyles.AllowThousands, CultureInfo.InvariantCulture)).ToArray();
                        if (o.Sizes.Length == 0 || o.Sizes.Any(s => s <= 0))
                        {
                            throw new ArgumentException("--sizes needs positive sizes");
                        }

                        break;
                    case "--types":
                        o.Types = Value(args, ref i).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                        if (o.Types.Length == 0 || o.Types.Any(t => t is not ("int" or "long" or "guid")))
                        {
                            throw new ArgumentException("--types takes int, long, guid");
                        }

                        break;
                    case "--reps":
                        o.Reps = Math.Max(1, int.Parse(Value(args, ref i), CultureInfo.InvariantCulture));
                        break;
                    default:
                        throw new ArgumentException($"unknown flag {a}; {Usage}");
                }
            }

            return o;
        }

        private static string Value(string[] args, ref int i) =>
            ++i < args.Length ? args[i] : throw new ArgumentException($"{args[i - 1]} needs a value");
    }

    /// <summary>
    /// The quick comparison: what the benchmark project does without BenchmarkDotNet arguments.
    /// GoMap vs Dictionary on the Go program's workload, the special measurements in child
    /// processes, then the Go program itself; one table at the end. Reports, never asserts.
    /// </summary>
    internal static class QuickComparison
    {
        internal static int Run(string[] args)
        {
            QuickOptions o;
            try
            {
                o = QuickOptions.Parse(args);
            }
            catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
            {
                Console.Error.WriteLine(e.Message);
                Console.Error.WriteLine(QuickOptions.Usage);
                return 2;
            }

            var wall = Stopwatch.StartNew();
            var table = new ResultTable();
            var notes = new List<string>();

            Progress($"warm-up (JIT tiering) for {string.Join(",", o.Types)}");
            WarmUp(o.Types);

            if (o.Special)
            {
                Specials.RunInChildProcesses(table, notes);
            }

            foreach (int n in o.Sizes.Order())
            {
                foreach (string type in o.Types)
                {
                    Progress($"quick workload: {type} n={n:N0}");
                    switch (type)
                    {
                        case "int":
                            RunType<int, int>(n, o.Reps, table);
                            break;
                        case "long":
                            RunType<long, long>(n, o.Reps, table);
                            break;
                        case "guid":
                            RunType<Guid, long>(n, o.Reps, table);
                            break;
                    }

                    GC.Collect();
                }
            }

            string goLine;
            if (o.Go)
            {
                Progress("Go baseline: benchmarks/go/run.sh");
                goLine = GoBaseline.Run(o, table, notes);
            }
            else
            {
                goLine = "Go: skipped (--no-go)";
            }

            PrintHeader(o, goLine);
            table.Print(Console.Out, table.GoValueCount > 0);
            Console.WriteLine();
            foreach (string line in Legend(o))
            {
                Console.WriteLine(line);
            }

            foreach (string note in notes)
            {
                Console.WriteLine("  note: " + note);
            }

            Console.WriteLine(FormattableString.Invariant($"Wall time: {wall.Elapsed.TotalSeconds:0.0} s (sink {Sink.Value & 1})"));
            return 0;
        }

        internal static void Progress(string message) =>
            Console.Error.WriteLine(FormattableString.Invariant($"[{DateTime.Now:HH:mm:ss}] {message}"));

        private static void RunType<TKey, TValue>(int n, int reps, ResultTable table)
            where TKey : unmanaged
            where TValue : unmanaged, INumber<TValue>
        {
            string type = KeySets.TypeName<TKey>();
            KeySet<TKey, TValue> keys = KeySets.Create<TKey, TValue>(n);
            using var goMap = new QuickRunner<TKey, TValue, GoMapAdapter<TKey, TValue>>(keys, reps);
            using var dict = new QuickRunner<TKey, TValue, DictionaryAdapter<TKey, TValue>>(keys, reps);
            foreach (QuickOp op in QuickOps.All)
            {
                // GoMap first, then Dictionary, op by op, so that both see the same machine state.
                table.Add(GoMapAdapter<TKey, TValue>.Name, type, n, QuickOps.Name(op), goMap.Measure(op));
                table.Add(DictionaryAdapter<TKey, TValue>.Name, type, n, QuickOps.Name(op), dict.Measure(op));
            }
        }

        /// <summary>Brings every workload of the selected types to tier-1 code (<see cref="JitWarmUp"/>).</summary>
        private static void WarmUp(string[] types)
        {
            foreach (string type in types)
            {
                switch (type)
                {
                    case "int":
                        JitWarmUp.Run<int, int>();
                        break;
                    case "long":
                        JitWarmUp.Run<long, long>();
                        break;
                    case "guid":
                        JitWarmUp.Run<Guid, long>();
                        break;
                }
            }
        }

        private static void PrintHeader(QuickOptions o, string goLine)
        {
            Console.WriteLine("NativeGoMap quick comparison (Stopwatch harness; not BenchmarkDotNet)");
            Console.WriteLine(FormattableString.Invariant(
                $"Machine: {CpuModel()}, {Environment.ProcessorCount} logical CPUs; {RuntimeInformation.OSDescription} {RuntimeInformation.OSArchitecture}"));
            Console.WriteLine(FormattableString.Invariant(
                $".NET: {RuntimeInformation.FrameworkDescription}; GC: {(GCSettings.IsServerGC ? "server" : "workstation")}, {GCSettings.LatencyMode}; TieredPGO default"));
            Console.WriteLine(goLine);
            Console.WriteLine(FormattableString.Invariant(
                $"Settings: sizes {string.Join(",", o.Sizes)}; types {string.Join(",", o.Types)}; best of {o.Reps} reps of >= 20 ms after a calibrating warm-up; special measurements {(o.Special ? "on" : "off")}"));
            Console.WriteLine();
        }

        private static IEnumerable<string> Legend(QuickOptions o)
        {
            yield return "Legend: ns/op = nanoseconds per operation, best rep (lower is better). GoMap/Dict < 1: GoMap faster / smaller.";
            yield return "  Ops as in benchmarks/go/README.md. The map for lookups/update/iterate/mix/clear_refill is built with the";
            yield return "  capacity given. insert_* include GoMap's Dispose and Dictionary's garbage; remove builds its map untimed.";
            yield return "  update         = m[k] = v+1 on present keys: GoMap's write path (hash, compare-and-swap of hashWriting, mapassign).";
            yield return "  update_via_ref = GetValueRefOrNullRef(k) then a write through the ref (CollectionsMarshal for Dictionary):";
            yield return "                   GoMap's read path (seqlock check, no compare-and-swap). update minus update_via_ref bounds";
            yield return "                   the cost of the concurrent-write check plus mapassign's extra work; it is not the CAS alone.";
            if (o.Special)
            {
                yield return "  Special rows (type long, each implementation in its own fresh child process, GoMap first):";
                yield return "    stall_max_us / stall_p999_us: slowest and 99.9th-percentile single insert while growing an empty map (no hint)";
                yield return "      to 10,000,000 entries; Stopwatch.GetTimestamp around each insert (~20-30 ns timer cost included), preallocated";
                yield return "      10 ns histogram. gc_count: GCs during that build (GC.CollectionCount(0) delta; Go: NumGC delta).";
                yield return "    gc_churn_*: build 10M (no hint), then 5M churn ops (7/8 updates, 1/8 remove + re-add) while allocating a";
                yield return "      64-byte array per op into a 4096-slot ring. gen0/gen1/gen2 = GCs whose highest generation was 0/1/2;";
                yield return "      pause_ms = GC.GetTotalPauseDuration() delta; wall_ms = build + churn.";
                yield return "    bytes_per_entry: after the last insert. GoMap: GetStats().NativeBytes (native memory; the GC heap does not";
                yield return "      grow). Dictionary: GC.GetTotalMemory(true) delta. Go: HeapAlloc delta after a GC.";
                yield return "    bytes_per_entry_peak: GoMap: max NativeBytes sampled after every insert (old and new bucket arrays coexist";
                yield return "      during growth). Dictionary: max over its resizes of (live heap before the resizing insert, after a full GC)";
                yield return "      + (bytes allocated by that insert) = old and new arrays together.";
                yield return "    snapshot_*: 10,000,000 entries (SnapshotSpecial.cs). build_by_inserts_ms: an empty map (no hint) filled one insert";
                yield return "      at a time. snapshot_write_ms: the snapshot format (header, entries, CRC-32C) into a pre-touched MemoryStream;";
                yield return "      Dictionary writes the same bytes from its enumeration. snapshot_load_ms: GoMap.ReadFrom; Dictionary rebuilt";
                yield return "      from the same format (sized by the header's count, checksum verified, each entry added). Best of 3.";
            }
        }

        private static string CpuModel()
        {
            try
            {
                foreach (string line in System.IO.File.ReadLines("/proc/cpuinfo"))
                {
                    if (line.StartsWith("model name", StringComparison.Ordinal))
                    {
                        return line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
                    }
                }
            }
            catch (System.IO.IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }

            return RuntimeInformation.ProcessArchitecture.ToString();
        }
    }
}
