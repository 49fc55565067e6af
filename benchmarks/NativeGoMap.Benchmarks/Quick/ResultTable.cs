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
    }

    /// <summary>A child process's sink: result lines on stdout in the Go program's format, notes on stderr (<see cref="Specials"/>).</summary>
    internal sealed class ChildSink : IResultSink
    {
        public void Add(string impl, string type, long size, string op, double value) =>
            Console.WriteLine(FormattableString.Invariant($"{impl}\t{type}\t{size}\t{op}\t{value:0.00}"));

        public void Note(string line) => Console.Error.WriteLine(line);
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
