using System;
using NativeGoMap.Benchmarks.Bdn;
using NativeGoMap.Benchmarks.Quick;

namespace NativeGoMap.Benchmarks
{
    /// <summary>
    /// No arguments (or quick-comparison flags such as <c>--no-go</c>, <c>--sizes</c>): the quick
    /// comparison, GoMap vs Dictionary vs Go, in about 4 minutes (README, "The two commands"). Any other arguments: the
    /// BenchmarkDotNet suite, e.g. <c>-- --filter '*' </c> or <c>-- --filter '*Lookup*' --job short</c>.
    /// See benchmarks/RESULTS.md.
    /// </summary>
    internal static class Program
    {
        private static int Main(string[] args)
        {
            if (args.Length > 0 && args[0] == Specials.ChildFlag)
            {
                return Specials.ChildMain(args);
            }

            return QuickOptions.IsQuick(args) ? QuickComparison.Run(args) : BdnRunner.Run(args);
        }
    }
}
