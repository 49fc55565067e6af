using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace NativeGoMap.Stress
{
    /// <summary>Command line of the stress program, parsed once and handed to every mode.</summary>
    /// <param name="Quick">Short form of every mode, for CI.</param>
    /// <param name="Seconds">--seconds: duration of the soak.</param>
    /// <param name="Count">--count: entries of the scale build.</param>
    /// <param name="Seed">--seed: base seed of every random choice (printed so a run can be replayed).</param>
    /// <param name="SoakSteps">--soak-steps: per soak stream (a key type), the ops at which its key-space steps were taken, from a failed run's replay line (a quick soak's steps end by time, so the seed alone does not replay it).</param>
    internal sealed record StressOptions(bool Quick, int? Seconds, long? Count, ulong Seed, bool SmallPages = false, bool PrepareAhead = false, IReadOnlyDictionary<int, long[]>? SoakSteps = null);

    internal static class Program
    {
        private static readonly (string Name, Func<StressOptions, Summary> Run)[] Modes =
        {
            ("soak", SoakMode.Run),
            ("concurrency", ConcurrencyMode.Run),
            ("leak", LeakMode.Run),
            ("faults", FaultsMode.Run),
            ("scale", ScaleMode.Run),
            ("hostile", HostileMode.Run),
            ("spread", SpreadMode.Run),
        };

        private const string Usage =
            "usage: NativeGoMap.Stress <soak|concurrency|leak|faults|scale|hostile|spread|all> [--quick] [--seconds N] [--count N] [--seed N] [--small-pages] [--prepare-ahead] [--soak-steps S:OPS,...]\n" +
            "  --seconds N  soak duration (default 60, quick 10)\n" +
            "  --soak-steps S:OPS,... soak: take stream S's key-space steps at these ops (from a failure's replay line; repeatable)\n" +
            "  --count N    scale: entries to build (default 50,000,000, quick 2,000,000)\n" +
            "  --small-pages scale: build with GoMapOptions.SmallPagesForGrowth\n" +
            "  --prepare-ahead scale: build with GoMapOptions.PrepareGrowthAhead\n" +
            "  spread       the default hash over 89 structured key patterns and many seeds (default 1,500, quick 100)\n" +
            "  --seed N     base seed of all random choices (default: random, printed)\n" +
            "Each mode stops by itself, prints a summary and exits non-zero on any failure.";

        private static int Main(string[] args)
        {
            if (args.Length > 0 && args[0] == ConcurrencyMode.TrialMode)
            {
                return ConcurrencyMode.RunTrial(args[1..]);
            }

            if (!TryParse(args, out string mode, out StressOptions? options))
            {
                Console.Error.WriteLine(Usage);
                return 2;
            }

            var selected = mode == "all" ? Modes : Modes.Where(m => m.Name == mode).ToArray();
            if (selected.Length == 0)
            {
                Console.Error.WriteLine($"unknown mode '{mode}'\n{Usage}");
                return 2;
            }

            Console.WriteLine($"NativeGoMap.Stress {mode}{(options.Quick ? " --quick" : "")} --seed {options.Seed} ({Environment.ProcessorCount} cores, {Environment.Version})");
            var results = new List<Summary>();
            foreach (var (_, run) in selected)
            {
                Summary summary = run(options);
                summary.Print();
                results.Add(summary);
            }

            if (results.Count > 1)
            {
                Summary.PrintTable(
                    $"all{(options.Quick ? " --quick" : "")} (seed {options.Seed})",
                    new[] { "mode", "seconds", "result" },
                    results.Select(r => new[] { r.Mode, Summary.Seconds(r.Elapsed), r.Failed ? "FAIL" : "ok" })
                        .Append(new[] { "total", Summary.Seconds(TimeSpan.FromTicks(results.Sum(r => r.Elapsed.Ticks))), results.Any(r => r.Failed) ? "FAIL" : "ok" }));
            }

            return results.Any(r => r.Failed) ? 1 : 0;
        }

        private static bool TryParse(string[] args, out string mode, out StressOptions options)
        {
            mode = args.Length > 0 ? args[0] : "";
            bool quick = false;
            int? seconds = null;
            long? count = null;
            bool smallPages = false;
            bool prepareAhead = false;
            ulong seed = (ulong)Random.Shared.NextInt64(1, int.MaxValue);
            var soakSteps = new Dictionary<int, long[]>();
            options = new StressOptions(false, null, null, seed);
            for (int i = 1; i < args.Length; i++)
            {
                string? next = i + 1 < args.Length ? args[i + 1] : null;
                switch (args[i])
                {
                    case "--quick":
                        quick = true;
                        break;
                    case "--seconds" when int.TryParse(next, CultureInfo.InvariantCulture, out int s) && s > 0:
                        seconds = s;
                        i++;
                        break;
                    case "--count" when long.TryParse(next, CultureInfo.InvariantCulture, out long c) && c > 0:
                        count = c;
                        i++;
                        break;
                    case "--small-pages":
                        smallPages = true;
                        break;
                    case "--prepare-ahead":
                        prepareAhead = true;
                        break;
                    case "--seed" when ulong.TryParse(next, CultureInfo.InvariantCulture, out ulong sd):
                        seed = sd;
                        i++;
                        break;
                    case "--soak-steps" when TryParseSteps(next, out int stream, out long[] ops):
                        soakSteps[stream] = ops;
                        i++;
                        break;
                    default:
                        return false;
                }
            }

            options = new StressOptions(quick, seconds, count, seed, smallPages, prepareAhead, soakSteps.Count > 0 ? soakSteps : null);
            return mode.Length > 0;
        }

        /// <summary>Parses <c>S:OPS,OPS,...</c> (a soak stream and the ops of its steps, ascending).</summary>
        private static bool TryParseSteps(string? text, out int stream, out long[] ops)
        {
            stream = 0;
            ops = Array.Empty<long>();
            int colon = text?.IndexOf(':', StringComparison.Ordinal) ?? -1;
            if (text is null || colon <= 0 || !int.TryParse(text.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out stream))
            {
                return false;
            }

            var list = new List<long>();
            foreach (string part in text[(colon + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                if (!long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out long op) || (list.Count > 0 && op <= list[^1]))
                {
                    return false;
                }

                list.Add(op);
            }

            ops = list.ToArray();
            return true;
        }
    }
}
