using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Text;

namespace NativeGoMap.Stress
{
    /// <summary>
    /// What a mode reports: named figures, extra tables, notes and failures, timed from creation.
    /// The one place that times a mode and prints tables.
    /// </summary>
    internal sealed class Summary
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly List<string[]> _rows = new();
        private readonly List<(string Title, string[] Header, List<string[]> Rows)> _tables = new();
        private readonly List<string> _notes = new();
        private readonly List<string> _failures = new();
        private TimeSpan? _elapsed;

        internal Summary(string mode)
        {
            Mode = mode;
            Console.WriteLine($"--- {mode} ---");
        }

        internal string Mode { get; }

        internal bool Failed => _failures.Count > 0;

        internal int FailureCount => _failures.Count;

        internal TimeSpan Elapsed => _elapsed ?? _clock.Elapsed;

        /// <summary>Adds a figure to the mode's main table.</summary>
        internal void Row(string name, object value) => _rows.Add(new[] { name, Format(value) });

        /// <summary>Adds a table of its own (per type, per kind, per phase).</summary>
        internal void Table(string title, string[] header, IEnumerable<object[]> rows) =>
            _tables.Add((title, header, rows.Select(r => r.Select(Format).ToArray()).ToList()));

        /// <summary>A line printed under the tables: a rule, a tolerance, an explanation.</summary>
        internal void Note(string text) => _notes.Add(text);

        /// <summary>Records a failure (printed at once, and again in the summary; the first 20 only).</summary>
        internal void Fail(string failure)
        {
            if (_failures.Count < 20)
            {
                Console.WriteLine($"  FAIL: {failure}");
            }

            _failures.Add(failure);
        }

        /// <summary>Records a failure unless <paramref name="ok"/>; returns <paramref name="ok"/>.</summary>
        internal bool Check(bool ok, string failure)
        {
            if (!ok)
            {
                Fail(failure);
            }

            return ok;
        }

        internal void Print()
        {
            _elapsed ??= _clock.Elapsed;
            var rows = new List<string[]>(_rows) { new[] { "seconds", Seconds(Elapsed) }, new[] { "result", Failed ? $"FAIL ({_failures.Count} failures)" : "ok" } };
            PrintTable($"{Mode} summary", new[] { "item", "value" }, rows);
            foreach (var (title, header, tableRows) in _tables)
            {
                PrintTable(title, header, tableRows);
            }

            foreach (string note in _notes)
            {
                Console.WriteLine($"  note: {note}");
            }

            foreach (string failure in _failures.Take(20))
            {
                Console.WriteLine($"  failure: {failure}");
            }

            Console.WriteLine();
        }

        internal static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture);

        internal static void PrintTable(string title, string[] header, IEnumerable<string[]> rows)
        {
            var all = rows.Prepend(header).ToList();
            int[] widths = Enumerable.Range(0, header.Length).Select(c => all.Max(r => c < r.Length ? r[c].Length : 0)).ToArray();
            var text = new StringBuilder();
            text.Append(CultureInfo.InvariantCulture, $"== {title} ==\n");
            for (int r = 0; r < all.Count; r++)
            {
                text.Append("  ");
                for (int c = 0; c < widths.Length; c++)
                {
                    string cell = c < all[r].Length ? all[r][c] : "";
                    bool right = c > 0 && cell.Length <= 16 && cell.Length > 0 && (char.IsAsciiDigit(cell[0]) || (cell[0] == '-' && cell.Length > 1));
                    text.Append(right ? cell.PadLeft(widths[c]) : cell.PadRight(widths[c])).Append(c + 1 < widths.Length ? "  " : "");
                }

                text.Append('\n');
                if (r == 0)
                {
                    text.Append("  ").Append(new string('-', widths.Sum() + (2 * (widths.Length - 1)))).Append('\n');
                }
            }

            Console.Write(text.ToString());
        }

        private static string Format(object value) => value switch
        {
            double d => d.ToString(Math.Abs(d) >= 100 ? "N0" : "0.###", CultureInfo.InvariantCulture),
            long or int or ulong => string.Format(CultureInfo.InvariantCulture, "{0:N0}", value),
            TimeSpan t => Seconds(t) + " s",
            _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
        };
    }

    /// <summary>Small shared helpers: a deadline, process memory, a deterministic random source.</summary>
    internal static class Util
    {
        /// <summary>Resident set size of this process in bytes, from /proc/self/status (VmRSS), else the working set.</summary>
        internal static long RssBytes()
        {
            try
            {
                foreach (string line in System.IO.File.ReadLines("/proc/self/status"))
                {
                    if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    {
                        return long.Parse(line.AsSpan(6).Trim().ToString().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
                    }
                }
            }
            catch (System.IO.IOException)
            {
            }

            return Environment.WorkingSet;
        }

        internal static string Mib(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB";

        /// <summary>A Random seeded from the run's seed and a stream number, so each part of a run replays alone.</summary>
        internal static Random Rng(StressOptions o, int stream) => new Random(unchecked((int)(o.Seed * 0x9E3779B97F4A7C15UL >> 33) ^ (stream * 7919)));

        /// <summary>Full GC with finalizers run, twice, so finalized maps have freed their memory.</summary>
        internal static void FullCollect()
        {
            for (int i = 0; i < 2; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }

            GC.Collect();
            ReleaseThread.WaitIdle(); // the OS calls of what finalizers and disposals released, so RSS shows them
        }
    }
}
