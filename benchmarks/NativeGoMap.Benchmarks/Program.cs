using System;
using NativeGoMap;

namespace NativeGoMap.Benchmarks
{
    internal static class Program
    {
        private static int Main()
        {
            using var map = new GoMap<long, long>();
            for (long i = 0; i < 1_000_000; i++)
            {
                map[i] = i * 2;
            }

            Console.WriteLine($"{map.Count} entries, {map.GetStats()}");
            return 0;
        }
    }
}
