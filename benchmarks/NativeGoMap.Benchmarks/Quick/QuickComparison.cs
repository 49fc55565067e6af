using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Runtime;
using System.Runtime.InteropServices;

namespace NativeGoMap.Benchmarks.Quick
{
    /// <summary>Flags of the quick comparison.</summary>
    internal sealed class QuickOptions
    {
        internal const string Usage =
            "quick comparison flags: [--sizes 1000,1000000] [--types int,long,guid,entity,name,small] [--reps 3] [--rounds 2] [--no-special] [--no-go] [--hugepages-off-too]\n" +
            "  entity rows run at 10,000 and 1,000,000 unless --sizes is given; name rows at the word list's size";

        private static readonly string[] Switches = { "--quick", "--no-special", "--no-go", "--hugepages-off-too" };
        private static readonly string[] ValueFlags = { "--sizes", "--types", "--reps", "--rounds" };
        private static readonly string[] AllTypes = { "int", "long", "guid", "entity", "name", "small" };
        private static readonly string[] StreamKeyTypes = { "int", "long", "guid" };

        internal int[] Sizes { get; private set; } = { 1_000, 1_000_000 };

        /// <summary>Sizes of the entity rows: issue 8's 10,000 (in cache) and 1,000,000, or <see cref="Sizes"/> when given.</summary>
        internal int[] EntitySizes { get; private set; } = { 10_000, 1_000_000 };

        /// <summary>int, long, guid (the Go program's workload), entity, name (the rows a user checks first), small (a small map's life and enumeration, one thread and two).</summary>
        internal string[] Types { get; private set; } = AllTypes;

        /// <summary>The selected types of the Go program's workload (splitmix64 keys): int, long, guid.</summary>
        internal string[] StreamTypes => Types.Where(StreamKeyTypes.Contains).ToArray();

        internal int Reps { get; private set; } = 3;

        /// <summary>Rounds of the in-process rows (<see cref="BestOfRounds"/>): each row's best over them goes to the table.</summary>
        internal int Rounds { get; private set; } = 2;

        /// <summary>Run the stall, GC-cost and memory measurements (10M entries, child processes).</summary>
        internal bool Special { get; private set; } = true;

        internal bool Go { get; private set; } = true;

        /// <summary>Also run the lookup rows at 1M (or the largest size) with the library's huge pages off, in a child process.</summary>
        internal bool HugePagesOffToo { get; private set; }

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
                    case "--hugepages-off-too":
                        o.HugePagesOffToo = true;
                        break;
                    case "--sizes":
                        o.Sizes = Value(args, ref i).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                            .Select(s => int.Parse(s, NumberStyles.AllowThousands, CultureInfo.InvariantCulture)).ToArray();
                        if (o.Sizes.Length == 0 || o.Sizes.Any(s => s <= 0))
                        {
                            throw new ArgumentException("--sizes needs positive sizes");
                        }

                        o.EntitySizes = o.Sizes;

                        break;
                    case "--types":
                        o.Types = Value(args, ref i).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                        if (o.Types.Length == 0 || o.Types.Any(t => !AllTypes.Contains(t)))
                        {
                            throw new ArgumentException("--types takes int, long, guid, entity, name, small");
                        }

                        break;
                    case "--reps":
                        o.Reps = Math.Max(1, int.Parse(Value(args, ref i), CultureInfo.InvariantCulture));
                        break;
                    case "--rounds":
                        o.Rounds = Math.Max(1, int.Parse(Value(args, ref i), CultureInfo.InvariantCulture));
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

            Progress($"warm-up (JIT tiering) for {string.Join(",", o.StreamTypes)}");
            foreach (string type in o.StreamTypes)
            {
                QuickRows.WarmUp(type);
            }

            if (o.Special)
            {
                Specials.RunInChildProcesses(o.Reps, table);
            }

            // Round 1 here; each later round in a fresh child process, so that code that a
            // process happens to run slowly throughout (see BestOfRounds) cannot make a row.
            var rounds = new BestOfRounds(table);
            RunRows(o, 0, rounds);
            for (int round = 1; round < o.Rounds; round++)
            {
                var childArgs = new List<string> { RowsChild, round.ToString(CultureInfo.InvariantCulture) };
                childArgs.AddRange(args);
                Specials.RunChild(childArgs.ToArray(), null, rounds, progressToConsole: true);
            }

            rounds.Flush();

            if (o.HugePagesOffToo && o.StreamTypes.Length > 0)
            {
                foreach (int n in HugePagesOffSizes(o))
                {
                    Specials.RunHugePagesOff(n, o.StreamTypes, o.Reps, table);
                }
            }

            string goLine;
            if (!o.Go)
            {
                goLine = "Go: skipped (--no-go)";
            }
            else if (o.StreamTypes.Length == 0 && !o.Types.Contains("entity"))
            {
                goLine = "Go: skipped (no int, long, guid or entity in --types)";
            }
            else
            {
                Progress("Go baseline: benchmarks/go/run.sh");
                goLine = GoBaseline.Run(o, table);
            }

            table.NoteBatchAgainstPlainLoops();
            PrintHeader(o, goLine);
            table.Print(Console.Out, table.GoValueCount > 0);
            Console.WriteLine();
            foreach (string line in Legend(o))
            {
                Console.WriteLine(line);
            }

            foreach (string note in table.Notes)
            {
                Console.WriteLine("  note: " + note);
            }

            Console.WriteLine(FormattableString.Invariant($"Wall time: {wall.Elapsed.TotalSeconds:0.0} s (sink {Sink.Value & 1})"));
            return 0;
        }

        /// <summary>The child kind that runs one round of the in-process rows: <c>--child rows round [quick comparison flags]</c>.</summary>
        internal const string RowsChild = "rows";

        /// <summary>
        /// A child process's round of the in-process rows (<see cref="RowsChild"/>): the JIT
        /// warm-ups of a fresh process, then <see cref="RunRows"/> with the flags the parent was
        /// given, result lines on stdout (the parent keeps each row's best), progress on stderr.
        /// </summary>
        internal static int RowsChildMain(string[] args)
        {
            int round = int.Parse(args[2], CultureInfo.InvariantCulture);
            QuickOptions o = QuickOptions.Parse(args[3..]);
            var sink = new ChildSink(dictionaryFirst: round % 2 == 1, notes: false);
            Progress($"round {round + 1} of {o.Rounds} (child process{(sink.DictionaryFirst ? ", Dictionary first" : "")}): warm-up (JIT tiering) for {string.Join(",", o.StreamTypes)}");
            foreach (string type in o.StreamTypes)
            {
                QuickRows.WarmUp(type);
            }

            RunRows(o, round, sink);
            return 0;
        }

        /// <summary>One round of the in-process rows: the stream types at each size, then the entity, name and small rows (each kind's JIT warm-up first).</summary>
        private static void RunRows(QuickOptions o, int round, IResultSink sink)
        {
            string of = FormattableString.Invariant($"round {round + 1} of {o.Rounds}{(sink.DictionaryFirst ? ", Dictionary first" : "")}");
            foreach (int n in o.Sizes.Order())
            {
                foreach (string type in o.StreamTypes)
                {
                    Progress($"quick workload: {type} n={n:N0} ({of})");
                    QuickRows.Standard(type, n, o.Reps, QuickOps.All, "", strict: type == "long", sink);
                    GC.Collect();
                }
            }

            if (o.Types.Contains("entity"))
            {
                Progress($"entity rows: warm-up ({of})");
                QuickRows.WarmUpEntities();
                foreach (int n in o.EntitySizes.Order())
                {
                    Progress($"entity rows: n={n:N0} ({of})");
                    QuickRows.Entities(n, o.Reps, sink);
                    GC.Collect();
                }
            }

            if (o.Types.Contains("name"))
            {
                Progress($"name rows: warm-up, then the word list ({of})");
                QuickRows.WarmUpNames();
                QuickRows.Names(o.Reps, sink);
                GC.Collect();
            }

            if (o.Types.Contains("small"))
            {
                Progress($"small rows: {SmallMapRows.Entries} entries, one thread and two ({of})");
                SmallMapRows.Run(o.Reps, sink);
                GC.Collect();
            }
        }

        internal static void Progress(string message) =>
            Console.Error.WriteLine(FormattableString.Invariant($"[{DateTime.Now:HH:mm:ss}] {message}"));

        /// <summary>The sizes of <c>--hugepages-off-too</c>: those of 1,000,000 and more, else the largest.</summary>
        private static int[] HugePagesOffSizes(QuickOptions o)
        {
            int[] big = o.Sizes.Where(n => n >= 1_000_000).Order().ToArray();
            return big.Length > 0 ? big : new[] { o.Sizes.Max() };
        }

        private static void PrintHeader(QuickOptions o, string goLine)
        {
            Console.WriteLine("NativeGoMap quick comparison (Stopwatch harness; not BenchmarkDotNet)");
            Console.WriteLine(FormattableString.Invariant(
                $"Machine: {CpuModel()}, {Environment.ProcessorCount} logical CPUs; {RuntimeInformation.OSDescription} {RuntimeInformation.OSArchitecture}"));
            Console.WriteLine(FormattableString.Invariant(
                $".NET: {RuntimeInformation.FrameworkDescription}; GC: {(GCSettings.IsServerGC ? "server" : "workstation")}, {GCSettings.LatencyMode}; TieredPGO default"));
            Console.WriteLine(goLine);
            Console.WriteLine("Huge pages: " + QuickRows.HugePagesSetting() + (o.HugePagesOffToo ? "; *_hp_off rows with " + QuickRows.HugePagesVariable + "=0" : ""));
            Console.WriteLine(FormattableString.Invariant(
                $"Settings: sizes {string.Join(",", o.Sizes)}; types {string.Join(",", o.Types)}; best of {o.Reps} reps of >= 20 ms after a calibrating warm-up, in each of {o.Rounds} rounds of the in-process rows (the first in this process, each later one in a fresh child process; the table has each row's best; the rounds alternate which map is measured first, GoMap in the first); special measurements {(o.Special ? "on" : "off")}"));
            Console.WriteLine();
        }

        private static IEnumerable<string> Legend(QuickOptions o)
        {
            yield return "Legend: ns/op = nanoseconds per operation, best rep of all rounds (lower is better). Dict/GoMap = Dictionary / GoMap and";
            yield return "  Go/GoMap = Go / GoMap, from the same run: above 1, GoMap is faster / smaller (higher is better; the form of";
            yield return "  issue 8's targets). '-' where a value is missing or GoMap's is 0.";
            yield return "  Ops as in benchmarks/go/README.md. The map for lookups/update/iterate/mix/clear_refill is built with the";
            yield return "  capacity given. insert_* include GoMap's Dispose, and Dictionary's garbage where a rep builds several maps (at";
            yield return "  1,000; a rep at 1,000,000 is one build, whose garbage the untimed collection before the next rep takes); remove";
            yield return "  builds its map untimed.";
            yield return "  lookup_batch   = the lookup_hit keys, 1,024 per call: GoMap.TryGetValues(keys, values, found) vs one";
            yield return "                   Dictionary.TryGetValue per key into the same buffers; values summed after each call. Storing";
            yield return "                   the results slows Dictionary's loop beyond the caches: the notes hold GoMap's batch against";
            yield return "                   the lookup_hit loops (one TryGetValue per key, each value summed at once) of both maps.";
            yield return "  insert_batch   = insert_hint's keys, 1,024 per call: GoMap.SetValues(keys, values) vs one Dictionary";
            yield return "                   indexer set per key, into a new map made with the capacity given.";
            yield return "  remove_refill  = every key removed, then inserted back, on the map of lookups (pass after pass on one map),";
            yield return "                   per key (one remove and one insert): a cache emptied entry by entry and filled again.";
            yield return "  remove_batch   = remove's keys from a map built as for remove, 1,024 per call: GoMap.RemoveKeys(keys) vs";
            yield return "                   one Dictionary.Remove per key.";
            yield return "  update         = m[k] = v+1 on present keys: GoMap's write path (hash, hashWriting check, mapassign).";
            yield return "  update_via_ref = GetValueRefOrNullRef(k) then a write through the ref (CollectionsMarshal for Dictionary):";
            yield return "                   GoMap's read path. update minus update_via_ref bounds the write path's extra cost.";
            yield return "  iterate_set    = a foreach that sets each entry it is given (m[k] = v, its own value), per entry: the";
            yield return "                   walk goes on across a write in place (Dictionary allows the set since .NET Core 3.0).";
            yield return "  iterate_remove = a foreach that removes every fourth entry it is given (a quarter), then adds them";
            yield return "                   back after it, per entry walked.";
            yield return "  *_strict       = the same op on a GoMap with ConcurrencyChecks.Strict (long only; the plain rows use the";
            yield return "                   default, Go); Dictionary measured again next to it. Strict's cost = *_strict minus the plain row.";
            if (o.Types.Contains("entity"))
            {
                yield return "  entity rows    = GoMap<int,Entity64> vs Dictionary<int,Entity64>: ids 1..n, a 64-byte struct value.";
                yield return "                   insert_nohint inserts ids in order (no capacity); lookup_hit and update_via_ref use the ids in";
                yield return "                   a fixed random order; update_via_ref writes Health through the ref; iterate sums Health over a";
                yield return "                   foreach of the map built with its capacity (a game tick's walk). Go: map[int32]Entity64, the";
                yield return "                   same ids, order and value (inline in its 560-byte buckets, as in GoMap's); its update_via_ref";
                yield return "                   is what Go allows, the value read, its Health set and stored back (two map operations), and";
                yield return "                   its lookup_hit reads Health from the map's slot where the C# rows' TryGetValue returns the 64-byte value.";
            }

            if (o.Types.Contains("name"))
            {
                yield return "  name rows      = GoMap<Name32,int> (an [InlineArray(32)] byte key, UTF-8, zero padded) vs Dictionary<string,int>";
                yield return "                   on the same English words (Data/words.txt, Debian wamerican): every other word inserted in";
                yield return "                   file order (insert_nohint), looked up in a random order (copies of the inserted strings, as";
                yield return "                   parsed input would be, so string.Equals reads them); lookup_miss = the words in between.";
            }

            if (o.Types.Contains("small"))
            {
                yield return "  small rows     = GoMap<long,long> vs Dictionary<long,long> with 16 entries, ns per map or per enumeration:";
                yield return "                   make_fill_dispose = new map, 16 inserts, Dispose (Dictionary's garbage left to the GC);";
                yield return "                   enumerate = a whole foreach summing the values; *_2threads = the same on two threads at";
                yield return "                   once (both enumerating one map), wall time per operation on each thread;";
                yield return "                   lookup_while_enumerated = every key looked up on one thread while a second thread";
                yield return "                   enumerates the same map in a loop, ns per lookup.";
            }

            if (o.HugePagesOffToo)
            {
                yield return "  *_hp_off       = lookup rows measured again in a child process with " + QuickRows.HugePagesVariable + "=0 (bucket";
                yield return "                   arrays in ordinary pages); the plain rows are the same ops with the setting in the header.";
            }

            if (o.Special)
            {
                yield return "  Special rows (type long, child processes):";
                yield return "    stall_max_us / stall_p999_us: slowest and 99.9th-percentile single insert while growing an empty map (no hint)";
                yield return "      to 10,000,000 entries; Stopwatch.GetTimestamp around each insert (~20-30 ns timer cost included), preallocated";
                yield return "      10 ns histogram. gc_count: GCs during that build (GC.CollectionCount(0) delta; Go: NumGC delta).";
                yield return "      The notes list the 5 slowest inserts with the map's work inside each (GoMap's work counters: growth";
                yield return "      start/end, evacuations, release steps, bucket allocations; Dictionary: a capacity change = resize).";
                yield return "      stall_small_pages_*: the same with GoMapOptions.SmallPagesForGrowth (growth arrays in 4 KiB pages populated by";
                yield return "      a background thread instead of 2 MiB pages touched by the inserts); Dictionary built again beside it.";
                yield return "      stall_ahead_*: the same with GoMapOptions.PrepareGrowthAhead (each growth's array allocated at 3/4 of the count";
                yield return "      that starts it and faulted in by a background thread, so the growth's writes fault nothing in); GoMap only.";
                yield return "      stall*_floor_us (GoMap only): the machine floor measured in the same process right after that build, for as long as it";
                yield return "      took: the slowest of stores into a warm 64 MiB array timed the same way, with no map, page fault or system";
                yield return "      call (stress/NativeGoMap.Stress/MachineFloor.cs). No insert's max can be read below it.";
                yield return "      stall_fresh_page_us (GoMap default only): the slowest first touch of 4 new 2 MiB pages (one store each into";
                yield return "      a fresh huge-page mapping, as a growth's writes touch its new array), timed in that process before its build.";
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
                yield return "    trim_*: 10,000,000 entries built by inserts (no hint), all but the first 100,000 removed, then trimmed (TrimSpecial.cs).";
                yield return "      trim_total_ms / trim_call_max_us: GoMap: while (!map.TrimExcess()) {} (all calls / the slowest call);";
                yield return "      Dictionary: its one TrimExcess() call (both rows the same stall). trim_first_call_us, trim_write_max_us,";
                yield return "      trim_write_p999_us (GoMap only): a second table; one TrimExcess call starts the shrink, then writes on the";
                yield return "      100,000 live keys (update, remove, re-insert in turn) carry it until no growth or deferred memory is left:";
                yield return "      the slowest and 99.9th-percentile write. trim_mb_before/after: GoMap NativeBytes (MB = 10^6 B);";
                yield return "      Dictionary GC.GetTotalMemory(true) delta. bytes_per_entry_after_trim: after / 100,000.";
                yield return "    lookup_hit / lookup_batch at 10,000,000: both maps (capacity given) in one child; 1,000,000 keys drawn at";
                yield return "      random from the whole table per pass. lookup_hit_random / lookup_batch_random at 1,000,000: the same";
                yield return "      at 1M; update_random: m[k] = v+1 on those keys; remove_random: every key of a 1M table (built as for";
                yield return "      remove) removed in a random permutation; remove_batch_random: the same through RemoveKeys, 1,024 per";
                yield return "      call. The standard rows look keys up, update and remove them in the order they were inserted (the Go";
                yield return "      program's workload), in which Dictionary reads its entries array sequentially; random order does not";
                yield return "      give it that.";
                yield return "    cold_build_lookup at 1,000: in a child with DOTNET_TieredCompilation=0, one method makes a map with the";
                yield return "      capacity, inserts the keys and looks each up 5 times (ns per op, best of 2,000 calls per map, alternating),";
                yield return "      compiled on its first call, before the child's first map of the type: what a service that turns";
                yield return "      tiering off runs (TieringOffSpecial.cs). The other rows time loops compiled after their maps exist.";
                yield return "  Stall, GC and memory rows: each implementation in its own fresh child process, GoMap first.";
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
