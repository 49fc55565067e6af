using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;

namespace NativeGoMap.Benchmarks.Quick
{
    /// <summary>
    /// Runs benchmarks/go/run.sh (Go's own classic map on the same workload: the int, long and
    /// guid rows, the 10M stall rows and the entity rows) after the C# measurements and joins
    /// its tab-separated lines into the table.
    /// </summary>
    internal static class GoBaseline
    {
        private const int NotInstalledExitCode = 3;

        /// <summary>Runs the Go program; returns the header line for the report.</summary>
        internal static string Run(QuickOptions o, ResultTable table)
        {
            string? root = FindRepoRoot();
            if (root is null)
            {
                return "Go: not run (repository root with NativeGoMap.sln not found above the program or the current directory)";
            }

            string script = Path.Combine(root, "benchmarks", "go", "run.sh");
            if (!File.Exists(script))
            {
                return $"Go: not run ({script} not found)";
            }

            var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add(script);
            psi.ArgumentList.Add("-sizes");
            psi.ArgumentList.Add(string.Join(",", o.Sizes));
            psi.ArgumentList.Add("-types");
            psi.ArgumentList.Add(string.Join(",", o.Types.Contains("entity") ? o.StreamTypes.Append("entity") : o.StreamTypes));
            psi.ArgumentList.Add("-entity-sizes");
            psi.ArgumentList.Add(string.Join(",", o.EntitySizes));
            psi.ArgumentList.Add("-reps");
            // As many reps as the C# rows get over all their rounds (best of reps × rounds): the
            // minimum of fewer samples would favour GoMap on this noisy machine (a review's
            // finding, 2026-12-06; Go had the reps of one round until then).
            psi.ArgumentList.Add((o.Reps * o.Rounds).ToString(CultureInfo.InvariantCulture));
            psi.ArgumentList.Add("-stall=" + (o.Special ? "true" : "false"));

            string stdout, stderr;
            int exitCode;
            try
            {
                using Process p = Process.Start(psi)!;
                var err = p.StandardError.ReadToEndAsync();
                stdout = p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                stderr = err.Result;
                exitCode = p.ExitCode;
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                return $"Go: not run (could not start bash: {e.Message})";
            }

            if (exitCode == NotInstalledExitCode)
            {
                return "Go: not installed (apt-get install golang-1.19-go)";
            }

            string[] errLines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (exitCode != 0)
            {
                return $"Go: run.sh failed with exit code {exitCode}: {string.Join(" / ", errLines.TakeLast(3))}";
            }

            string header = "Go: ";
            foreach (string line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (line.StartsWith('#'))
                {
                    header += line.TrimStart('#', ' ');
                    continue;
                }

                string[] f = line.Split('\t');
                if (f.Length == 5 && f[0] == "go" &&
                    long.TryParse(f[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out long size) &&
                    double.TryParse(f[4], NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
                {
                    table.AddGo(f[1], size, f[3], value);
                }
            }

            foreach (string line in errLines)
            {
                table.Note("Go: " + line.TrimStart('#', ' '));
            }

            return header + " (benchmarks/go/run.sh, run after the C# measurements)";
        }

        /// <summary>The directory holding NativeGoMap.sln, searched upward from the program, then from the current directory.</summary>
        internal static string? FindRepoRoot()
        {
            foreach (string start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            {
                for (DirectoryInfo? d = new(start); d is not null; d = d.Parent)
                {
                    if (File.Exists(Path.Combine(d.FullName, "NativeGoMap.sln")))
                    {
                        return d.FullName;
                    }
                }
            }

            return null;
        }
    }
}
