using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;

namespace NativeGoMap.Stress
{
    /// <summary>
    /// Native memory must come back: maps disposed, maps abandoned to the finalizer, enumerators
    /// abandoned mid-walk with retired memory waiting on them. LiveNativeBytes must return to its
    /// baseline exactly after every round, and to its value before the warm-up round after that
    /// round; process RSS must stay within a tolerance.
    /// </summary>
    internal static class LeakMode
    {
        private const long RssToleranceBytes = 64L << 20;

        internal static Summary Run(StressOptions o)
        {
            var summary = new Summary("leak");
            int rounds = o.Quick ? 3 : 20;
            var rng = Util.Rng(o, 20);
            var phases = new (string Name, Action<Random, Summary> Round)[]
            {
                ("create/fill/clear/dispose", CreateFillClearDispose),
                ("abandoned maps (finalizer)", (r, s) => Abandon(r)),
                ("enumerators abandoned, map disposed", (r, s) => AbandonEnumerators(r, s, disposeMap: true)),
                ("enumerators and map abandoned", (r, s) => AbandonEnumerators(r, s, disposeMap: false)),
                ("enumerators finished, deferred freed", EnumeratorsReleaseDeferred),
                ("disposed halfway through a shrink", DisposeMidShrink),
                ("EnsureCapacity growth abandoned by Dispose", DisposeMidEnsureCapacity),
            };

            // Warm up once (JIT, C heap arenas, GC heap), then take the baselines. The warm-up
            // round must itself bring LiveNativeBytes back to its value before it: a leak of a
            // first use only would otherwise hide in the baseline.
            Util.FullCollect();
            long nativeBefore = GoMapDiagnostics.LiveNativeBytes;
            foreach (var (name, round) in phases)
            {
                long before = GoMapDiagnostics.LiveNativeBytes;
                round(rng, summary);
                Util.FullCollect();
                long native = GoMapDiagnostics.LiveNativeBytes;
                summary.Check(native == before, $"{name}, warm-up round: {native - before} native bytes leaked");
            }

            summary.Check(ReleaseThread.WaitIdle(), "the release thread did not drain within 10 s after the warm-up round");
            long nativeBase = GoMapDiagnostics.LiveNativeBytes;
            summary.Check(nativeBase == nativeBefore, $"warm-up round: {nativeBase - nativeBefore} native bytes leaked once the release thread drained");
            long rssBase = Util.RssBytes();
            var rows = new List<object[]>
            {
                new object[] { "before the warm-up round", "", nativeBefore, "", "" },
                new object[] { "warm-up round, baseline", 1, nativeBase - nativeBefore, Util.Mib(rssBase), "" },
            };
            long peak = 0;
            foreach (var (name, round) in phases)
            {
                for (int i = 0; i < rounds; i++)
                {
                    round(rng, summary);
                    Util.FullCollect();
                    peak = Math.Max(peak, Util.RssBytes());
                    long native = GoMapDiagnostics.LiveNativeBytes;
                    summary.Check(native == nativeBase, $"{name}, round {i}: {native - nativeBase} native bytes leaked");
                }

                long rss = Util.RssBytes();
                rows.Add(new object[] { name, rounds, GoMapDiagnostics.LiveNativeBytes - nativeBase, Util.Mib(rss), Util.Mib(rss - rssBase) });
            }

            long rssFinal = Util.RssBytes();
            summary.Check(rssFinal - rssBase <= RssToleranceBytes, $"RSS grew by {Util.Mib(rssFinal - rssBase)} (tolerance {Util.Mib(RssToleranceBytes)})");
            summary.Check(ReleaseThread.Failures == 0, $"{ReleaseThread.Failures} munmap/madvise calls refused on the release thread");
            summary.Row("rounds per phase", rounds);
            summary.Row("native bytes before the warm-up", nativeBefore);
            summary.Row("native bytes baseline (after it)", nativeBase);
            summary.Row("native bytes final", GoMapDiagnostics.LiveNativeBytes);
            summary.Row("RSS baseline", Util.Mib(rssBase));
            summary.Row("RSS max between rounds", Util.Mib(peak));
            summary.Row("RSS final", Util.Mib(rssFinal));
            summary.Table("leak per phase", new[] { "phase", "rounds", "native Δ bytes", "RSS after", "RSS Δ" }, rows);
            summary.Note("a native leak is any byte of LiveNativeBytes above the baseline after a round (exact, no tolerance); the warm-up round (one of each phase, before the baseline) must bring it back to its value before that round, once finalizers ran and the release thread drained.");
            summary.Note($"RSS tolerance: final ≤ baseline + {Util.Mib(RssToleranceBytes)}. The C heap keeps some freed small blocks (overflow buckets, indirect blocks) in its arenas instead of returning pages to the OS, and the GC heap moves; a leak of the maps built here (tens of MiB per round) would exceed it after a few rounds.");
            return summary;
        }

        private static void CreateFillClearDispose(Random rng, Summary summary)
        {
            long[] hints = { 0, -5, 1_000_000, long.MaxValue };
            using (var map = new GoMap<long, long>(hints[rng.Next(hints.Length)]))
            {
                Fill(map, 1_000_000, rng);
                map.Clear();
                long offset = Fill(map, 300_000, rng);
                for (long k = 0; k < 300_000; k += 2)
                {
                    map.Remove(offset + k);
                }
            }

            using (var big = new GoMap<BigKey, BigValue>())
            {
                for (long id = 0; id < 50_000; id++)
                {
                    big[BigBig.Key(id)] = BigBig.Value(id, 1);
                }

                for (long id = 0; id < 50_000; id += 3)
                {
                    big.Remove(BigBig.Key(id));
                }

                big.Clear();
                big[BigBig.Key(1)] = BigBig.Value(1, 1);
            }

            var small = new GoMap<int, sbyte>();
            for (int k = 0; k < 100_000; k++)
            {
                small[k] = 1;
            }

            small.Dispose();
            small.Dispose();
            summary.Check(small.IsDisposed, "IsDisposed is false after Dispose");
        }

        /// <summary>Maps never disposed: the finalizer must free them.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void Abandon(Random rng)
        {
            for (int i = 0; i < 4; i++)
            {
                Fill(new GoMap<long, long>(), 200_000, rng);
                var big = new GoMap<BigKey, BigValue>();
                for (long id = 0; id < 5_000; id++)
                {
                    big[BigBig.Key(id)] = BigBig.Value(id, 1);
                }
            }
        }

        /// <summary>Enumerators stopped mid-walk, never disposed, while writes retire memory they hold.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void AbandonEnumerators(Random rng, Summary summary, bool disposeMap)
        {
            var map = new GoMap<long, long>();
            Fill(map, 100_000, rng);
            var walks = new List<GoMap<long, long>.Enumerator>();
            for (int i = 0; i < 6; i++)
            {
                var e = map.GetEnumerator();
                for (int s = rng.Next(1000); s > 0 && e.MoveNext(); s--)
                {
                }

                walks.Add(e);
            }

            Fill(map, 400_000, rng); // grows twice: the old arrays wait for the enumerators
            summary.Check(map.GetStats().DeferredBytes > 0, "growth under live enumerators deferred nothing");
            var big = new GoMap<BigKey, BigValue>();
            for (long id = 0; id < 2_000; id++)
            {
                big[BigBig.Key(id)] = BigBig.Value(id, 1);
            }

            var bigWalk = big.GetEnumerator();
            bigWalk.MoveNext();
            for (long id = 0; id < 2_000; id += 2)
            {
                big.Remove(BigBig.Key(id)); // indirect blocks retired while the enumerator lives
            }

            if (disposeMap)
            {
                map.Dispose();
                big.Dispose();
                summary.Check(ThrowsDisposed(walks[0]), "MoveNext after the map's Dispose did not throw ObjectDisposedException");
            }
        }

        private static bool ThrowsDisposed(GoMap<long, long>.Enumerator e)
        {
            try
            {
                e.MoveNext();
                return false;
            }
            catch (ObjectDisposedException)
            {
                return true;
            }
        }

        /// <summary>Deferred memory must be released by the writes after the last enumerator ends, not only at Dispose.</summary>
        private static void EnumeratorsReleaseDeferred(Random rng, Summary summary)
        {
            using var map = new GoMap<long, long>();
            Fill(map, 50_000, rng);
            var first = map.GetEnumerator();
            first.MoveNext();
            var second = map.GetEnumerator();
            Fill(map, 300_000, rng);
            long deferred = map.GetStats().DeferredBytes;
            first.Dispose();
            while (second.MoveNext())
            {
            }

            // Released by the writes that follow the last enumerator's end, a bounded piece each.
            long atEnd = map.GetStats().DeferredBytes;
            int writes = 0;
            for (; writes < 10_000 && map.GetStats().DeferredBytes != 0; writes++)
            {
                map.Remove(-1); // an absent key: a write that changes nothing
            }

            GoMapStats after = map.GetStats();
            summary.Check(deferred > 0 && after.DeferredBytes == 0 && after.LiveEnumerators == 0, $"deferred {deferred} bytes while enumerating, {atEnd} after both ended, {after.DeferredBytes} after {writes} writes ({after.LiveEnumerators} still live)");
            map.Validate();
        }

        /// <summary>A shrink started by TrimExcess and carried halfway by writes, an enumerator holding the old array, then Dispose.</summary>
        private static void DisposeMidShrink(Random rng, Summary summary)
        {
            var map = new GoMap<long, long>();
            long offset = Fill(map, 400_000, rng);
            for (long k = 1_000; k < 400_000; k++)
            {
                map.Remove(offset + k);
            }

            var walk = map.GetEnumerator();
            walk.MoveNext();
            map.TrimExcess();
            for (long w = 0; w < 64; w++)
            {
                map[offset + (w % 1_000)] = w; // each write carries the shrink a step
            }

            summary.Check(map.GetStats().IsShrinking, $"the shrink ended before Dispose: {map.GetStats()}");
            map.Dispose();
            map.Dispose();
            summary.Check(ThrowsDisposed(walk), "MoveNext after Dispose mid-shrink did not throw ObjectDisposedException");
        }

        /// <summary>EnsureCapacity starts a growth of several levels, a few inserts carry it, then Dispose.</summary>
        private static void DisposeMidEnsureCapacity(Random rng, Summary summary)
        {
            var map = new GoMap<long, long>();
            long offset = Fill(map, 50_000, rng);
            map.EnsureCapacity(2_000_000);
            for (long k = 0; k < 100; k++)
            {
                map[offset - 1 - k] = k;
            }

            summary.Check(map.GetStats().IsGrowing, $"the EnsureCapacity growth ended before Dispose: {map.GetStats()}");
            map.Dispose();
        }

        private static long Fill(GoMap<long, long> map, long n, Random rng)
        {
            long offset = rng.NextInt64(1L << 40);
            for (long k = 0; k < n; k++)
            {
                map[offset + k] = k;
            }

            return offset;
        }
    }
}
