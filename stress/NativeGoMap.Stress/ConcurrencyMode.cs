using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Threading;
using System.Threading.Tasks;

namespace NativeGoMap.Stress
{
    /// <summary>
    /// Threads racing on one map, each trial in a child process so that a crash is counted, not fatal.
    /// The child prints one line "RESULT outcome detail" and exits with the outcome's code; any
    /// other exit (a signal, an unhandled exception, a hang) is a crash.
    /// </summary>
    internal static class ConcurrencyMode
    {
        internal const string TrialMode = "concurrency-trial";

        private const string WritesMessage = "concurrent map writes";
        private const string ReadMessage = "concurrent map read and map write";
        private const string IterationMessage = "concurrent map iteration and map write";
        private const int OpsPerThread = 200_000;

        // Entries put in before the race: exactly 6.5 × 2^13, so the first racing insert starts a
        // growth of a 1.3 MB bucket array, whose pages go back to the OS when the growth ends.
        private const int Prefill = 53_248;
        private const int PrefillThread = 15;
        private const int SigAbrtExit = 134;
        private static readonly TimeSpan ChildTimeout = TimeSpan.FromSeconds(30);

        private static readonly (string Kind, int Threads, string Message)[] Kinds =
        {
            ("writers", 2, WritesMessage),
            ("writers", 4, WritesMessage),
            ("reader-vs-writer", 3, ReadMessage),
            ("iterator-vs-writer", 3, IterationMessage),
            ("readers-only", 4, "(none: no writer)"),
        };

        private static readonly Outcome[] Columns = { Outcome.Detected, Outcome.Undetected, Outcome.Crashed, Outcome.Corrupt, Outcome.WrongMessage };
        private static readonly string[] ColumnNames = { "detected", "undetected", "crashed", "corrupt", "wrong message" };

        /// <summary>A trial's outcome; the child's exit code (a crash is any other exit).</summary>
        private enum Outcome
        {
            Detected = 10,
            Undetected = 11,
            Corrupt = 12,
            WrongMessage = 13,
            Crashed = -1,
        }

        internal static Summary Run(StressOptions o)
        {
            var summary = new Summary("concurrency");
            int trials = o.Quick ? 30 : 200;
            var rows = new List<object[]>();
            var totals = new int[Columns.Length];
            foreach (var (kind, threads, message) in Kinds)
            {
                string label = kind == "writers" ? $"writers-{threads}" : kind;
                var counts = new Dictionary<Outcome, int>();
                for (int i = 0; i < trials; i++)
                {
                    ulong seed = o.Seed + (ulong)((threads * 100_000) + i);
                    var (outcome, detail) = RunTrialInChild(kind, threads, seed);
                    counts[outcome] = counts.GetValueOrDefault(outcome) + 1;
                    if (outcome is not (Outcome.Detected or Outcome.Undetected))
                    {
                        summary.Note($"{label} seed {seed}: {outcome}: {Shorten(detail)}");
                    }
                }

                int[] row = Columns.Select(c => counts.GetValueOrDefault(c)).ToArray();
                int detected = row[0];
                rows.Add(new object[] { label, threads, trials }.Concat(row.Cast<object>()).Append($"{100.0 * detected / trials:0.0} %").Append(message).ToArray());
                for (int k = 0; k < row.Length; k++)
                {
                    totals[k] += row[k];
                }

                if (kind == "writers")
                {
                    summary.Check(detected * 100 >= trials * 99, $"{label}: racing writers detected in {detected} of {trials} trials (< 99 %)");
                }

                // No kind may crash: writes exclude each other by CAS, and reads announce
                // themselves so that memory a racing write retires is not freed under them.
                summary.Check(row[2] == 0, $"{label}: {row[2]} trials crashed");

                summary.Check(row[3] == 0, $"{label}: {row[3]} trials ended with a corrupt map, a wrong result or an unexpected exception");
                summary.Check(row[4] == 0, $"{label}: {row[4]} trials detected the race with a message other than Go's \"{message}\"");
            }

            summary.Row("trials", trials * Kinds.Length);
            for (int k = 0; k < Columns.Length; k++)
            {
                summary.Row(ColumnNames[k], totals[k]);
            }

            summary.Table("concurrency per kind", new[] { "kind", "threads", "trials" }.Concat(ColumnNames).Append("detect rate").Append("expected message").ToArray(), rows);
            summary.Row("FailFast trial", RunFailFastTrial(summary, o.Seed));
            summary.Note($"each trial: a child process; the map is prefilled with {Prefill:N0} entries (the next insert grows it), then threads released by one Barrier race: {OpsPerThread:N0} writes per writer thread; readers/iterators run until the writer ends.");
            summary.Note("undetected = every thread finished without an exception; the child then checks Validate() and the exact contents. detected = the child checks the exact message on every thread, Validate(), the entry count, that the map stays poisoned and that Dispose frees every byte.");
            summary.Note("rule: writer races must be detected in >= 99 % of trials with 0 crashes (writes take hashWriting by CAS, so an undetected trial means the threads never overlapped). A corrupt map, a wrong value returned without an exception, or a wrong message fails the mode for EVERY kind. Reader and iterator races are detected on a best-effort basis: their undetected trials are reported, not failed, but a crash fails the mode for every kind. readers-only (2 readers + 2 threads each walking 3 enumerators at once, no writer) must never throw: a detection there is a false positive and counts as corrupt.");
            return summary;
        }

        /// <summary>Child entry: <c>concurrency-trial kind threads seed [ops]</c>.</summary>
        internal static int RunTrial(string[] args)
        {
            string kind = args[0];
            int threads = int.Parse(args[1], CultureInfo.InvariantCulture);
            ulong seed = ulong.Parse(args[2], CultureInfo.InvariantCulture);
            int ops = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : OpsPerThread;
            if (kind == "failfast")
            {
                // Only Environment.FailFast ends this loop early; returning means no race was ever caught.
                for (int attempt = 0; attempt < 20; attempt++)
                {
                    new Trial("writers", threads, seed + (ulong)attempt, ops, failFast: true).Race();
                }

                Console.WriteLine("RESULT undetected: 20 FailFast trials survived");
                return (int)Outcome.Undetected;
            }

            var (outcome, detail) = new Trial(kind, threads, seed, ops, failFast: false).RunAndCheck();
            Console.WriteLine($"RESULT {outcome} {detail}");
            return (int)outcome;
        }

        private static (Outcome Outcome, string Detail) RunTrialInChild(string kind, int threads, ulong seed)
        {
            var (exit, stdout, stderr, timedOut) = RunSelf(TrialMode, kind, threads.ToString(CultureInfo.InvariantCulture), seed.ToString(CultureInfo.InvariantCulture));
            string? result = stdout.Split('\n').FirstOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
            if (!timedOut && result is not null && Enum.IsDefined((Outcome)exit) && exit != (int)Outcome.Crashed)
            {
                return ((Outcome)exit, result["RESULT ".Length..]);
            }

            string why = timedOut ? $"hung (killed after {ChildTimeout.TotalSeconds} s)" : exit > 128 ? $"exit {exit} (signal {exit - 128})" : $"exit {exit}";
            return (Outcome.Crashed, $"{why}; stderr: {Tail(stderr)}");
        }

        /// <summary>One trial with FailFast = true: the child must die through Environment.FailFast with Go's message.</summary>
        private static string RunFailFastTrial(Summary summary, ulong seed)
        {
            var (exit, _, stderr, timedOut) = RunSelf(TrialMode, "failfast", "2", seed.ToString(CultureInfo.InvariantCulture));
            bool ok = !timedOut && exit == SigAbrtExit && stderr.Contains(WritesMessage, StringComparison.Ordinal)
                && !stderr.Contains("Unhandled exception", StringComparison.Ordinal);
            summary.Check(ok, $"FailFast trial: expected SIGABRT (exit {SigAbrtExit}) with \"{WritesMessage}\" on stderr; got exit {exit}, stderr: {Tail(stderr)}");
            string line = stderr.Split('\n').FirstOrDefault(l => l.Contains(WritesMessage, StringComparison.Ordinal))?.Trim() ?? Tail(stderr);
            return ok ? $"ok: exit {exit}, \"{line}\"" : $"FAIL: exit {exit}";
        }

        /// <summary>Strips the generic-argument noise of runtime stack frames.</summary>
        private static string Shorten(string text) =>
            System.Text.RegularExpressions.Regex.Replace(text, @"`2\[\[[^\]]*\],\[[^\]]*\]\]", "<,>");

        private static string Tail(string text)
        {
            var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return string.Join(" | ", lines.Take(4));
        }

        /// <summary>Runs this program again with <paramref name="args"/> (through dotnet when that is how we run).</summary>
        private static (int Exit, string Stdout, string Stderr, bool TimedOut) RunSelf(params string[] args)
        {
            var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            if (Path.GetFileNameWithoutExtension(start.FileName).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            {
                start.ArgumentList.Add(typeof(ConcurrencyMode).Assembly.Location);
            }

            foreach (string a in args)
            {
                start.ArgumentList.Add(a);
            }

            start.Environment["DOTNET_DbgEnableMiniDump"] = "0";
            using var child = Process.Start(start)!;
            Task<string> stdout = child.StandardOutput.ReadToEndAsync();
            Task<string> stderr = child.StandardError.ReadToEndAsync();
            bool timedOut = !child.WaitForExit(ChildTimeout);
            if (timedOut)
            {
                child.Kill(entireProcessTree: true);
            }

            child.WaitForExit();
            return (child.ExitCode, stdout.Result, stderr.Result, timedOut);
        }

        /// <summary>One race, in the child: 1 map, N threads started together by a barrier.</summary>
        private sealed class Trial
        {
            private static readonly FieldInfo? CountField = typeof(GoMap<long, long>).GetField("_count", BindingFlags.Instance | BindingFlags.NonPublic);

            private readonly string _kind;
            private readonly int _threads;
            private readonly ulong _seed;
            private readonly int _ops;
            private readonly GoMap<long, long> _map;
            private readonly long[] _completed;
            private readonly string?[] _messages;
            private readonly Exception?[] _unexpected;
            private string? _wrongResult;
            private volatile bool _writerDone;

            internal Trial(string kind, int threads, ulong seed, int ops, bool failFast)
            {
                _kind = kind;
                _threads = threads;
                _seed = seed;
                _ops = ops;
                _map = new GoMap<long, long>(new GoMapOptions { Seed = seed, FailFast = failFast });
                for (long i = 0; i < Prefill; i++)
                {
                    _map[Key(PrefillThread, i)] = Val(Key(PrefillThread, i));
                }

                _completed = new long[threads];
                _messages = new string?[threads];
                _unexpected = new Exception?[threads];
            }

            private string Expected => _kind switch { "writers" => WritesMessage, "reader-vs-writer" => ReadMessage, _ => IterationMessage };

            private bool ReadersOnly => _kind == "readers-only";

            private bool IsWriter(int t) => _kind == "writers" || (t == 0 && !ReadersOnly);

            internal void Race()
            {
                using var barrier = new Barrier(_threads);
                var threads = new Thread[_threads];
                for (int t = 0; t < _threads; t++)
                {
                    int id = t;
                    threads[t] = new Thread(() => Body(id, barrier)) { IsBackground = true };
                    threads[t].Start();
                }

                foreach (Thread thread in threads)
                {
                    thread.Join();
                }
            }

            internal (Outcome, string) RunAndCheck()
            {
                Race();
                int bad = Array.FindIndex(_unexpected, e => e is not null);
                if (bad >= 0)
                {
                    return (Outcome.Corrupt, $"thread {bad}: unexpected {_unexpected[bad]!.GetType().Name}: {_unexpected[bad]!.Message}");
                }

                if (_wrongResult is not null)
                {
                    return (Outcome.Corrupt, _wrongResult);
                }

                var messages = _messages.Where(m => m is not null).Distinct().ToList();
                bool detected = messages.Count > 0;
                if (detected && ReadersOnly)
                {
                    return (Outcome.Corrupt, "false positive with readers only: " + messages[0]);
                }

                if (detected && (messages.Count > 1 || messages[0] != Expected))
                {
                    return (Outcome.WrongMessage, string.Join(" / ", messages));
                }

                try
                {
                    _map.Validate();
                }
                catch (InvalidOperationException e)
                {
                    return (Outcome.Corrupt, "Validate: " + e.Message);
                }

                string? problem = detected ? CheckPoisoned() : CheckContents();
                if (problem is not null)
                {
                    return (Outcome.Corrupt, problem);
                }

                _map.Dispose();
                if (GoMapDiagnostics.LiveNativeBytes != 0)
                {
                    return (Outcome.Corrupt, $"{GoMapDiagnostics.LiveNativeBytes} native bytes left after Dispose");
                }

                return detected ? (Outcome.Detected, messages[0]!) : (Outcome.Undetected, "contents verified");
            }

            private static long Key(int thread, long i) => ((long)thread << 40) | i;

            private static long Val(long key) => (key * 31) + 7;

            /// <summary>After <paramref name="done"/> ops of the writer pattern, is the key of op <paramref name="i"/> present?</summary>
            private static bool Present(long i, long done) => (i & 3) != 3 && !((i & 3) == 1 && i + 2 < done);

            private void Body(int t, Barrier barrier)
            {
                barrier.SignalAndWait();
                try
                {
                    if (IsWriter(t))
                    {
                        Write(t);
                    }
                    else if (_kind == "reader-vs-writer" || (ReadersOnly && t % 2 == 0))
                    {
                        Read(t);
                    }
                    else
                    {
                        Iterate();
                    }
                }
                catch (ConcurrentMapAccessException e)
                {
                    _messages[t] = e.Message;
                }
                catch (Exception e)
                {
                    _unexpected[t] = e;
                }
                finally
                {
                    if (t == 0)
                    {
                        _writerDone = true;
                    }
                }
            }

            /// <summary>Inserts its own keys, removing every fourth op the key written two ops before.</summary>
            private void Write(int t)
            {
                for (long i = 0; i < _ops; i++)
                {
                    if ((i & 3) == 3)
                    {
                        _map.Remove(Key(t, i - 2));
                    }
                    else
                    {
                        _map[Key(t, i)] = Val(Key(t, i));
                    }

                    _completed[t] = i + 1;
                }
            }

            private void Read(int t)
            {
                var rng = new Random(unchecked((int)_seed + t));
                for (long n = 0; ReadersOnly ? n < _ops : !_writerDone; n++)
                {
                    long k = ReadersOnly ? Key(PrefillThread, rng.Next(Prefill)) : Key(0, rng.Next(_ops));
                    if (_map.TryGetValue(k, out long v) && v != Val(k))
                    {
                        _wrongResult ??= $"a reader got {v} for key {k} without an exception";
                        return;
                    }
                }
            }

            /// <summary>Walks the map with three enumerators live at once (the registration table grows past 4 across threads).</summary>
            private void Iterate()
            {
                for (long pass = 0; ReadersOnly ? pass < 5 : !_writerDone; pass++)
                {
                    var walks = new[] { _map.GetEnumerator(), _map.GetEnumerator(), _map.GetEnumerator() };
                    var seen = new long[walks.Length];
                    for (bool any = true; any;)
                    {
                        any = false;
                        for (int w = 0; w < walks.Length; w++)
                        {
                            if (!walks[w].MoveNext())
                            {
                                continue;
                            }

                            any = true;
                            seen[w]++;
                            var kv = walks[w].Current;
                            if (kv.Value != Val(kv.Key) || ((ulong)kv.Key >= (ulong)_ops && kv.Key >> 40 != PrefillThread))
                            {
                                _wrongResult ??= $"an iterator got [{kv.Key}, {kv.Value}] without an exception";
                                return;
                            }
                        }
                    }

                    if (ReadersOnly && seen.Any(n => n != Prefill))
                    {
                        _wrongResult ??= $"readers only: enumerations yielded {string.Join(", ", seen)} entries of {Prefill}";
                        return;
                    }
                }
            }

            private long ExpectedCount()
            {
                long n = Prefill;
                for (int t = 0; t < _threads; t++)
                {
                    if (IsWriter(t))
                    {
                        for (long i = 0; i < _completed[t]; i++)
                        {
                            n += Present(i, _completed[t]) ? 1 : 0;
                        }
                    }
                }

                return n;
            }

            /// <summary>A detected race: the map must stay poisoned with the same message and hold every completed write.</summary>
            private string? CheckPoisoned()
            {
                try
                {
                    _map.ContainsKey(0);
                    return "a call after the detection did not throw (map not poisoned)";
                }
                catch (ConcurrentMapAccessException e) when (e.Message == Expected)
                {
                }

                // Every public member throws now; the count is read from the field Validate() checked against the buckets.
                long? count = (long?)CountField?.GetValue(_map);
                return count == ExpectedCount() ? null : $"poisoned map holds {count?.ToString(CultureInfo.InvariantCulture) ?? "(no _count field)"} entries, completed writes leave {ExpectedCount()}";
            }

            /// <summary>No race detected: every thread ran to the end, so the contents are exactly known.</summary>
            private string? CheckContents()
            {
                if (_map.LongCount != ExpectedCount())
                {
                    return $"count {_map.LongCount}, expected {ExpectedCount()}";
                }

                for (int t = 0; t < _threads; t++)
                {
                    for (long i = 0; IsWriter(t) && i < _completed[t]; i++)
                    {
                        long k = Key(t, i);
                        bool found = _map.TryGetValue(k, out long v);
                        if (found != Present(i, _completed[t]) || (found && v != Val(k)))
                        {
                            return $"key {k}: found={found} value={v}, expected found={Present(i, _completed[t])}";
                        }
                    }
                }

                for (long i = 0; i < Prefill; i++)
                {
                    if (_map.GetValueOrDefault(Key(PrefillThread, i)) != Val(Key(PrefillThread, i)))
                    {
                        return $"prefilled key {Key(PrefillThread, i)} lost or changed";
                    }
                }

                return null;
            }
        }
    }
}
