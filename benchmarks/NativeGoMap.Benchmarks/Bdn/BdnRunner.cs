using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Reflection;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.ConsoleArguments;
using BenchmarkDotNet.ConsoleArguments.ListBenchmarks;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace NativeGoMap.Benchmarks.Bdn
{
    /// <summary>
    /// Runs the BenchmarkDotNet suite with the usual command line (<c>--filter</c>, <c>--job</c>,
    /// <c>--exporters</c>, ...), parsed by BenchmarkDotNet itself, plus <c>--sizes</c> to pick
    /// values of N. It differs from <c>BenchmarkSwitcher</c> in one step: [Benchmark]'s
    /// OperationsPerInvoke is a compile-time constant, but our operations per invocation depend on
    /// the N parameter, so each benchmark case is rebuilt with OperationsPerInvoke = N: Mean is
    /// then ns per operation and Allocated bytes per operation. The rebuilt case also gets the key
    /// type (int, long, guid) as a second category, so that baselines pair by type even in a
    /// joined summary (<c>--join</c>).
    /// <c>--list</c>, <c>--info</c> and <c>--help</c> go to <c>BenchmarkSwitcher</c> unchanged.
    /// </summary>
    internal static class BdnRunner
    {
        private static readonly Type[] BenchmarkTypes = { typeof(MapBenchmarks<,>), typeof(RemoveBenchmarks<,>) };

        internal static int Run(string[] args)
        {
            int[]? sizes = TakeSizes(ref args);
            IConfig defaults = DefaultConfig.Instance;
            (bool ok, IConfig parsed, CommandLineOptions options) = ConfigParser.Parse(args, ConsoleLogger.Default, defaults);
            if (!ok)
            {
                return args.Any(a => a is "--help" or "-h" or "--version") ? 0 : 2;
            }

            if (options.ListBenchmarkCaseMode != ListBenchmarkCaseMode.Disabled || options.PrintInformation)
            {
                BenchmarkSwitcher.FromAssembly(typeof(BdnRunner).Assembly).Run(args);
                return 0;
            }

            // As BenchmarkSwitcher does: the command line on top of the default config (loggers, exporters, ...).
            ManualConfig config = ManualConfig.Union(defaults, parsed);
            BenchmarkRunInfo[] runs = ClosedTypes()
                .Select(t => WithOperationsPerInvoke(BenchmarkConverter.TypeToBenchmarks(t, config), sizes))
                .Where(r => r.BenchmarksCases.Length > 0)
                .ToArray();
            if (runs.Length == 0)
            {
                Console.Error.WriteLine("No benchmark matches the filter. Names look like NativeGoMap.Benchmarks.Bdn.MapBenchmarks<Int64, Int64>.LookupHit_GoMap;");
                Console.Error.WriteLine("try --filter '*LookupHit*' or --list flat.");
                return 1;
            }

            Summary[] summaries = BenchmarkRunner.Run(runs);
            return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
        }

        /// <summary>The generic benchmark classes closed over each [GenericTypeArguments].</summary>
        private static IEnumerable<Type> ClosedTypes() =>
            BenchmarkTypes.SelectMany(t => t.GetCustomAttributes<GenericTypeArgumentsAttribute>().Select(a => t.MakeGenericType(a.GenericTypeArguments)));

        private static BenchmarkRunInfo WithOperationsPerInvoke(BenchmarkRunInfo run, int[]? sizes)
        {
            string keyType = KeySets.TypeName(run.Type.GetGenericArguments()[0]);
            var cases = new List<BenchmarkCase>();
            foreach (BenchmarkCase c in run.BenchmarksCases)
            {
                int n = (int)c.Parameters["N"];
                if (sizes is not null && !sizes.Contains(n))
                {
                    continue;
                }

                Descriptor d = c.Descriptor;
                var descriptor = new Descriptor(
                    d.Type, d.WorkloadMethod, d.GlobalSetupMethod, d.GlobalCleanupMethod, d.IterationSetupMethod, d.IterationCleanupMethod,
                    d.WorkloadMethodDisplayInfo, d.AdditionalLogic, d.Baseline, d.Categories.Append(keyType).ToArray(), n, d.MethodIndex);
                cases.Add(BenchmarkCase.Create(descriptor, c.Job, c.Parameters, c.Config));
            }

            return new BenchmarkRunInfo(cases.ToArray(), run.Type, run.Config);
        }

        /// <summary>Removes <c>--sizes 1000,1000000</c> from the arguments (BenchmarkDotNet has no parameter filter).</summary>
        private static int[]? TakeSizes(ref string[] args)
        {
            int i = Array.IndexOf(args, "--sizes");
            if (i < 0)
            {
                return null;
            }

            if (i + 1 >= args.Length)
            {
                throw new ArgumentException("--sizes needs a value, e.g. --sizes 1000,1000000");
            }

            int[] sizes = args[i + 1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.Parse(s, NumberStyles.AllowThousands, CultureInfo.InvariantCulture)).ToArray();
            args = args.Take(i).Concat(args.Skip(i + 2)).ToArray();
            return sizes;
        }
    }
}
