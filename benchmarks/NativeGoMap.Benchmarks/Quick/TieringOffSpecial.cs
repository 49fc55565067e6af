using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace NativeGoMap.Benchmarks.Quick
{
    /// <summary>
    /// The <c>cold_build_lookup</c> row: a method that makes its map, fills it and looks its keys
    /// up, compiled before the program's first map of the type, as a service with tiered
    /// compilation off compiles every method on its first call. Runs in a child process started
    /// with <c>DOTNET_TieredCompilation=0</c> (<see cref="Specials"/>), before anything else there
    /// touches the map types.
    /// </summary>
    /// <remarks>
    /// The other rows cannot show this case: their harness makes the map before the timed loop
    /// is first called, so the library's classes are initialized by the time the JIT compiles
    /// the loop, and with tiering on the loop is compiled again later anyway. The library's
    /// bucket sizes and offsets are <c>static readonly</c> fields, which the JIT folds only where
    /// their class is already initialized: compiled first, such a method keeps a load behind a
    /// class-constructor check for each (BucketLayout's remarks). Until 2026-12-07 the key kind
    /// and the indirections were such fields too, with every branch on them kept.
    /// </remarks>
    internal static class TieringOffSpecial
    {
        private const int LookupPasses = 5;
        private const int Calls = 2_000;

        /// <summary>
        /// Child entry: <paramref name="n"/> <c>&lt;long,long&gt;</c> entries; the best of
        /// <see cref="Calls"/> calls per map, alternating, in ns per operation (n inserts and
        /// <see cref="LookupPasses"/>·n lookups).
        /// </summary>
        internal static void Run(int n, IResultSink sink)
        {
            if (Environment.GetEnvironmentVariable("DOTNET_TieredCompilation") != "0")
            {
                sink.Note("cold_build_lookup: DOTNET_TieredCompilation is not 0 in this child: the row measures tiered code");
            }

            var keys = new long[n];
            for (int i = 0; i < n; i++)
            {
                keys[i] = (long)SplitMix64.At(KeySets.KeySeed, i);
            }

            // GoMap first: its measured method is then compiled before any GoMap<long,long> exists.
            double best = double.MaxValue, bestDict = double.MaxValue;
            for (int c = 0; c < Calls; c++)
            {
                best = Math.Min(best, BuildAndLookUp<GoMapAdapter<long, long>>(keys));
                bestDict = Math.Min(bestDict, BuildAndLookUp<DictionaryAdapter<long, long>>(keys));
            }

            double ops = n * (1.0 + LookupPasses);
            sink.Add(GoMapAdapter<long, long>.Name, "long", n, "cold_build_lookup", best / ops);
            sink.Add(DictionaryAdapter<long, long>.Name, "long", n, "cold_build_lookup", bestDict / ops);
        }

        /// <summary>
        /// What a user writes: make the map with its capacity, fill it, look every key up a few
        /// times; the fill and the lookups timed, in ns. Generic over the map's adapter (a struct,
        /// so each map gets code of its own, compiled on its first call).
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static double BuildAndLookUp<TMap>(long[] keys)
            where TMap : struct, IMap<long, long, TMap>
        {
            TMap map = TMap.Create(keys.Length);
            long start = Stopwatch.GetTimestamp();
            foreach (long k in keys)
            {
                map.Set(k, k);
            }

            long sum = 0;
            for (int pass = 0; pass < LookupPasses; pass++)
            {
                foreach (long k in keys)
                {
                    map.TryGetValue(k, out long v);
                    sum += v;
                }
            }

            double ns = (Stopwatch.GetTimestamp() - start) * 1e9 / Stopwatch.Frequency;
            map.Free();
            GC.KeepAlive(sum);
            return ns;
        }
    }
}
