using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using SharpFuzz;

namespace NativeGoMap.Fuzz
{
    /// <summary>
    /// The coverage-guided fuzz target of <see cref="GoMap{TKey, TValue}.ReadFrom(Stream, GoMapOptions?)"/>.
    /// Without arguments it serves afl-fuzz (SharpFuzz's out-of-process loop: a crashed child is
    /// restarted); <c>seeds DIR</c> writes the seed corpus; <c>replay PATH...</c> runs the oracle on
    /// files or directories and names every input that fails it; <c>random N [SEED]</c> runs it on
    /// N random mutations of freshly written valid snapshots. stress/fuzz/run.sh drives the first three.
    /// </summary>
    internal static class Program
    {
        private static int Main(string[] args)
        {
            if (args.Length == 0)
            {
                Fuzzer.OutOfProcess.Run(stream =>
                {
                    using var buffer = new MemoryStream();
                    stream.CopyTo(buffer);
                    SnapshotOracle.Check(buffer.ToArray());
                });
                return 0;
            }

            if (args[0] == "seeds" && args.Length == 2)
            {
                Directory.CreateDirectory(args[1]);
                foreach ((string name, byte[] bytes) in SnapshotOracle.Seeds())
                {
                    File.WriteAllBytes(Path.Combine(args[1], name + ".snap"), bytes);
                }

                return 0;
            }

            if (args[0] == "replay" && args.Length >= 2)
            {
                string[] files = args[1..].SelectMany(p => Directory.Exists(p) ? Directory.GetFiles(p) : new[] { p }).Order(StringComparer.Ordinal).ToArray();
                int failed = 0;
                foreach (string file in files)
                {
                    try
                    {
                        SnapshotOracle.Check(File.ReadAllBytes(file));
                    }
                    catch (Exception e)
                    {
                        failed++;
                        Console.WriteLine($"FAIL {file}: {e}");
                    }
                }

                foreach (KeyValuePair<string, long> outcome in SnapshotOracle.Outcomes.OrderBy(o => o.Key, StringComparer.Ordinal))
                {
                    Console.WriteLine($"  {outcome.Value,8}  reference {outcome.Key}");
                }

                Console.WriteLine($"{files.Length - failed} passed, {failed} failed");
                return failed == 0 ? 0 : 1;
            }

            if (args[0] == "random" && args.Length is 2 or 3 && int.TryParse(args[1], out int inputs))
            {
                int seed = args.Length == 3 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : Environment.TickCount;
                Console.WriteLine($"random: {inputs} mutations of fresh valid snapshots, seed {seed}");
                var rng = new Random(seed);
                for (int i = 0; i < inputs; i++)
                {
                    byte[] input = SnapshotOracle.RandomInput(rng);
                    try
                    {
                        SnapshotOracle.Check(input);
                    }
                    catch (Exception e)
                    {
                        Console.WriteLine($"FAIL input {i} of seed {seed} ({Convert.ToHexString(input)}): {e}");
                        return 1;
                    }
                }

                foreach (KeyValuePair<string, long> outcome in SnapshotOracle.Outcomes.OrderBy(o => o.Key, StringComparer.Ordinal))
                {
                    Console.WriteLine($"  {outcome.Value,8}  reference {outcome.Key}");
                }

                Console.WriteLine($"{inputs} passed");
                return 0;
            }

            Console.Error.WriteLine("usage: NativeGoMap.Fuzz                 (under afl-fuzz)\n       NativeGoMap.Fuzz seeds DIR\n       NativeGoMap.Fuzz replay PATH...\n       NativeGoMap.Fuzz random N [SEED]");
            return 2;
        }
    }
}
