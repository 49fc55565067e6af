using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;

namespace NativeGoMap.Benchmarks.Quick
{
    /// <summary>Where measurements and notes go: the table in the parent, stdout/stderr lines in a child process.</summary>
    internal interface IResultSink
    {
        /// <summary>Adds a measurement of one implementation ("GoMap" or "Dictionary").</summary>
        void Add(string impl, string type, long size, string op, double value);

        /// <summary>Adds a line printed under the table.</summary>
        void Note(string line);

        /// <summary>Whether a pair of rows measures Dictionary before GoMap (<see cref="BestOfRounds"/>'s odd rounds); GoMap first otherwise.</summary>
        bool DictionaryFirst => false;
    }

    /// <summary>Measuring a pair of rows in the order a sink asks for.</summary>
    internal static class ResultSinkExtensions
    {
        /// <summary>
        /// Measures one op on GoMap and on Dictionary, in <see cref="IResultSink.DictionaryFirst"/>'s
        /// order, and adds the two rows, GoMap's first either way.
        /// </summary>
        internal static void AddPair(this IResultSink sink, string goName, string dictName, string type, long n, string op, Func<double> measureGo, Func<double> measureDict)
        {
            double dict = sink.DictionaryFirst ? measureDict() : 0;
            sink.Add(goName, type, n, op, measureGo());
            sink.Add(dictName, type, n, op, sink.DictionaryFirst ? dict : measureDict());
        }
    }

    /// <summary>
    /// The pair rows measured in several rounds, each row's best (lowest) value per
    /// implementation going to the table: a stretch in which one side ran slow (this VM's slow
    /// phases last seconds and show no steal time) then cannot make a row. The first round runs
    /// in the parent, each later one in a fresh child process (<see cref="QuickComparison.RowsChildMain"/>),
    /// which measures Dictionary first in each pair in odd rounds. Rows whose rounds differ by
    /// more than <see cref="DisagreementFactor"/> on either side are named in a note, so that a
    /// disturbed run shows. Why: in three full runs on 2026-12-05 with both rounds in one
    /// process (478cc40), 64, 28 and 28 of the 184 measurements differed so, each of which one
    /// round would have put in the table; and in two of them a side ran slow in both rounds,
    /// which only another process undoes (<c>Dictionary&lt;Guid,long&gt;</c>'s 1M walk at 6.48 ns
    /// per entry against 0.93-0.95 in the other runs, its 1M <c>TryGetValue</c> loop at 197 ns
    /// against 36-51; in two of five runs on 2026-12-04, with one round, <c>Dictionary&lt;int,int&gt;</c>
    /// took 2.7-4.7 times its usual time in most 1,000-entry rows over all three reps).
    /// </summary>
    internal sealed class BestOfRounds : IResultSink
    {
        /// <summary>A row is named in the note when one side's worst round took more than this times its best.</summary>
        internal const double DisagreementFactor = 1.5;

        private readonly IResultSink _target;
        private readonly List<(string Impl, string Type, long Size, string Op)> _order = new();
        private readonly Dictionary<(string Impl, string Type, long Size, string Op), List<double>> _values = new();

        internal BestOfRounds(IResultSink target) => _target = target;

        public void Add(string impl, string type, long size, string op, double value)
        {
            var key = (impl, type, size, op);
            if (!_values.TryGetValue(key, out List<double>? list))
            {
                _values[key] = list = new List<double>();
                _order.Add(key);
            }

            list.Add(value);
        }

        /// <summary>Passes the note on: only the first round, run in this process, writes notes (a later round's child process writes none, <see cref="ChildSink"/>).</summary>
        public void Note(string line) => _target.Note(line);

        /// <summary>Adds each row's best value to the target, in the order first measured, and notes naming the rows whose rounds disagree (a line per type and size).</summary>
        internal void Flush()
        {
            var disagree = new List<(string Group, string Row)>();
            foreach ((string impl, string type, long size, string op) key in _order)
            {
                List<double> values = _values[key];
                double best = values.Min();
                _target.Add(key.impl, key.type, key.size, key.op, best);
                if (values.Max() > DisagreementFactor * best)
                {
                    disagree.Add((
                        FormattableString.Invariant($"{key.type} {key.size:N0}"),
                        FormattableString.Invariant($"{key.op} {key.impl} {string.Join(" / ", values.Select(v => v.ToString("0.00", CultureInfo.InvariantCulture)))}")));
                }
            }

            if (disagree.Count > 0)
            {
                _target.Note(FormattableString.Invariant(
                    $"rounds that differ by more than {DisagreementFactor}x on one side: {disagree.Count} of {_order.Count} measurements (ns/op per round; the table has each row's best):"));
                foreach (IGrouping<string, (string Group, string Row)> group in disagree.GroupBy(d => d.Group))
                {
                    _target.Note($"  {group.Key}: {string.Join(", ", group.Select(d => d.Row))}");
                }
            }

            _order.Clear();
            _values.Clear();
        }
    }

    /// <summary>A child process's sink: result lines on stdout in the Go program's format, notes on stderr (<see cref="Specials"/>).</summary>
    internal sealed class ChildSink : IResultSink
    {
        private readonly bool _notes;

        /// <param name="dictionaryFirst">Whether pairs measure Dictionary first (a later round of the rows, <see cref="QuickComparison.RowsChildMain"/>).</param>
        /// <param name="notes">False for a later round of the rows: the first round's notes say the same.</param>
        internal ChildSink(bool dictionaryFirst = false, bool notes = true)
        {
            DictionaryFirst = dictionaryFirst;
            _notes = notes;
        }

        public bool DictionaryFirst { get; }

        public void Add(string impl, string type, long size, string op, double value) =>
            Console.WriteLine(FormattableString.Invariant($"{impl}\t{type}\t{size}\t{op}\t{value:0.00}"));

        public void Note(string line)
        {
            if (_notes)
            {
                Console.Error.WriteLine(line);
            }
        }
    }

    /// <summary>
    /// The rows of the quick comparison, joined on (type, size, op) with the Go program's lines,
    /// and the notes printed under them. Ratios are other / GoMap: above 1, GoMap is faster (or
    /// smaller), the form of issue 8's targets.
    /// </summary>
    internal sealed class ResultTable : IResultSink
    {
        private readonly List<Row> _rows = new();
        private readonly Dictionary<(string Type, long Size, string Op), double> _go = new();
        private readonly List<string> _notes = new();

        internal int GoValueCount => _go.Count;

        internal IReadOnlyList<string> Notes => _notes;

        public void Note(string line) => _notes.Add(line);

        public void Add(string impl, string type, long size, string op, double value)
        {
            Row row = Find(type, size, op) ?? AddRow(type, size, op);
            if ((impl == "GoMap" ? row.GoMap : impl == "Dictionary" ? row.Dictionary : null) is double earlier)
            {
                // Two measurements under one name: a special row and a standard one of the same
                // size (--sizes with 10,000,000 meets the specials' 10M lookup rows). Said, not
                // silently replaced (found by review, 2026-12-05).
                Note($"{type} {size.ToString("N0", CultureInfo.InvariantCulture)} {op}: {impl} measured twice under this name ({Fmt(earlier)}, then {Fmt(value)}); the table keeps the later");
            }

            if (impl == "GoMap")
            {
                row.GoMap = value;
            }
            else if (impl == "Dictionary")
            {
                row.Dictionary = value;
            }
            else
            {
                throw new ArgumentException($"unknown implementation {impl}", nameof(impl));
            }
        }

        internal void AddGo(string type, long size, string op, double value) => _go[(type, size, op)] = value;

        /// <summary>
        /// Notes, for each type and size that has both rows, GoMap's lookup_batch time against the
        /// two loops of one TryGetValue per key that store nothing (lookup_hit: each value summed
        /// as it comes, the same keys in the same order): Dictionary's and GoMap's own. The
        /// lookup_batch row's Dictionary side stores each value and found flag in the caller's
        /// spans, as TryGetValues does, which beyond the caches cost Dictionary's loop 25-90 % more
        /// than its lookup_hit loop on the README's machine (probe, 2026-12-06, a review's
        /// finding): the row's ratio alone overstates what a batch gains over the loop a user
        /// would write to consume the values at once.
        /// </summary>
        internal void NoteBatchAgainstPlainLoops()
        {
            foreach (Row batch in _rows.Where(r => r.Op == "lookup_batch" && r.GoMap is > 0))
            {
                if (Find(batch.Type, batch.Size, "lookup_hit") is { GoMap: double goHit, Dictionary: double dictHit })
                {
                    Note(FormattableString.Invariant(
                        $"lookup_batch {batch.Type} {batch.Size:N0}: GoMap {Fmt(batch.GoMap)} ns per key against the lookup_hit loops, which store nothing: Dictionary's {Fmt(dictHit)} ({Ratio(dictHit, batch.GoMap)}x), GoMap's own {Fmt(goHit)} ({Ratio(goHit, batch.GoMap)}x)"));
                }
            }
        }

        internal void Print(TextWriter w, bool goAvailable)
        {
            var header = new List<string> { "type", "n", "op", "unit", "GoMap", "Dictionary", "Dict/GoMap" };
            if (goAvailable)
            {
                header.Add("Go");
                header.Add("Go/GoMap");
            }

            var lines = new List<string[]> { header.ToArray() };
            foreach (Row r in _rows)
            {
                var cells = new List<string> { r.Type, r.Size.ToString("N0", CultureInfo.InvariantCulture), r.Op, Unit(r.Op), Fmt(r.GoMap), Fmt(r.Dictionary), Ratio(r.Dictionary, r.GoMap) };
                if (goAvailable)
                {
                    double? go = _go.TryGetValue((r.Type, r.Size, r.Op), out double g) ? g : null;
                    cells.Add(Fmt(go));
                    cells.Add(Ratio(go, r.GoMap));
                }

                lines.Add(cells.ToArray());
            }

            int[] widths = Enumerable.Range(0, header.Count).Select(c => lines.Max(l => l[c].Length)).ToArray();
            for (int i = 0; i < lines.Count; i++)
            {
                string[] l = lines[i];
                // Text columns left-aligned, numbers right-aligned, Markdown-compatible.
                w.WriteLine("| " + string.Join(" | ", l.Select((cell, c) => c is 0 or 2 or 3 ? cell.PadRight(widths[c]) : cell.PadLeft(widths[c]))) + " |");
                if (i == 0)
                {
                    w.WriteLine("|" + string.Join("|", widths.Select((wd, c) => c is 0 or 2 or 3 ? new string('-', wd + 2) : new string('-', wd + 1) + ":")) + "|");
                }
            }
        }

        private static string Unit(string op) =>
            op.EndsWith("_us", StringComparison.Ordinal) ? "us" :
            op.EndsWith("_ms", StringComparison.Ordinal) ? "ms" :
            op.Contains("_mb", StringComparison.Ordinal) ? "MB" :
            op.StartsWith("bytes_per_entry", StringComparison.Ordinal) ? "B/entry" :
            op.StartsWith("gc_", StringComparison.Ordinal) ? "count" : "ns/op";

        private static string Fmt(double? v) => v is { } x ? x.ToString("0.00", CultureInfo.InvariantCulture) : "-";

        private static string Ratio(double? a, double? b) =>
            a is { } x && b is { } y && y > 0 ? (x / y).ToString("0.00", CultureInfo.InvariantCulture) : "-";

        private Row? Find(string type, long size, string op) => _rows.Find(r => r.Type == type && r.Size == size && r.Op == op);

        private Row AddRow(string type, long size, string op)
        {
            var row = new Row(type, size, op);
            _rows.Add(row);
            return row;
        }

        private sealed class Row
        {
            internal Row(string type, long size, string op)
            {
                Type = type;
                Size = size;
                Op = op;
            }

            internal string Type { get; }

            internal long Size { get; }

            internal string Op { get; }

            internal double? GoMap { get; set; }

            internal double? Dictionary { get; set; }
        }
    }
}
