using System;
using System.Collections.Generic;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// Tests that read the process-wide <see cref="GoMapDiagnostics.LiveNativeBytes"/> must not
    /// run beside tests that allocate maps: they go in this collection, which xunit runs alone.
    /// </summary>
    [CollectionDefinition(Name, DisableParallelization = true)]
    public sealed class NativeMemoryCollection
    {
        public const string Name = "NativeMemory";
    }

    /// <summary>Tests that need threads of their own.</summary>
    public static class TestThreads
    {
        /// <summary>
        /// Runs <paramref name="body"/>(index) on <paramref name="threads"/> new threads released
        /// together (a barrier), waits for all of them, and fails with the exceptions any of them
        /// threw. With one thread: the body on a fresh thread (its thread statics unused so far).
        /// </summary>
        public static void RunAtOnce(int threads, Action<int> body)
        {
            var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
            using var start = new System.Threading.Barrier(threads);
            var started = new System.Threading.Thread[threads];
            for (int t = 0; t < threads; t++)
            {
                int index = t;
                started[t] = new System.Threading.Thread(() =>
                {
                    try
                    {
                        start.SignalAndWait();
                        body(index);
                    }
                    catch (Exception e)
                    {
                        failures.Enqueue(e);
                    }
                });
                started[t].Start();
            }

            foreach (System.Threading.Thread t in started)
            {
                t.Join();
            }

            Assert.Empty(failures);
        }
    }

    /// <summary>Randomized tests: one seed per run, printed when the test fails.</summary>
    public static class Seeded
    {
        /// <summary>
        /// Runs <paramref name="body"/> with a seed (from NATIVEGOMAP_SEED when set, else fresh)
        /// and rethrows any failure with the seed in the message so the run can be replayed.
        /// </summary>
        public static void Run(Action<int> body, int? fixedSeed = null)
        {
            int seed = fixedSeed
                ?? (int.TryParse(Environment.GetEnvironmentVariable("NATIVEGOMAP_SEED"), out int s) ? s : Random.Shared.Next());
            try
            {
                body(seed);
            }
            catch (Exception e)
            {
                throw new Xunit.Sdk.XunitException($"Failed with seed {seed} (replay: NATIVEGOMAP_SEED={seed}): {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            }
        }
    }

    /// <summary>Tests whose check holds only while a scenario runs within a time window (a grace period of the library's), or whose check is the window itself (a liveness bound).</summary>
    public static class Timed
    {
        /// <summary>
        /// Runs <paramref name="scenario"/> (which returns the milliseconds its clock read when its
        /// check's condition was taken, and that condition) until one run reads under
        /// <paramref name="windowMs"/>, at most <paramref name="tries"/> times, and returns that
        /// run's condition. On a machine that stalls every run past the window the test fails,
        /// naming the times, rather than pass without its check (the runs take a few to a few
        /// hundred milliseconds against windows of a second). Where the window is the check (a
        /// liveness bound), <paramref name="failure"/> says what no run within it means.
        /// </summary>
        public static T WithinWindow<T>(long windowMs, Func<(long ElapsedMs, T Condition)> scenario, int tries = 3, string failure = "the check was not made")
        {
            var times = new List<long>();
            for (int i = 0; i < tries; i++)
            {
                (long elapsed, T condition) = scenario();
                if (elapsed < windowMs)
                {
                    return condition;
                }

                times.Add(elapsed);
            }

            throw new Xunit.Sdk.XunitException($"no run of the scenario finished within its {windowMs} ms window ({string.Join(", ", times)} ms): {failure}");
        }
    }

    /// <summary>The process's resident memory as the OS counts it (VmRSS), for tests that check what a map keeps resident.</summary>
    public static class ProcessMemory
    {
        /// <summary>The process's mapped address space (VmSize), for tests that check what a map keeps mapped.</summary>
        public static long VirtualBytes() => StatusBytes("VmSize:");

        public static long ResidentBytes() => StatusBytes("VmRSS:");

        /// <summary>Resets the kernel's peak of resident memory (VmHWM) to the current resident size; false where the kernel refuses.</summary>
        public static bool ResetPeak()
        {
            try
            {
                System.IO.File.WriteAllText("/proc/self/clear_refs", "5");
                return true;
            }
            catch (Exception e) when (e is System.IO.IOException or UnauthorizedAccessException)
            {
                return false;
            }
        }

        /// <summary>The peak of resident memory since the last <see cref="ResetPeak"/> (VmHWM).</summary>
        public static long PeakBytes() => StatusBytes("VmHWM:");

        /// <summary>A kB figure of /proc/self/status, in bytes (its value follows a tab or spaces).</summary>
        private static long StatusBytes(string field)
        {
            foreach (string line in System.IO.File.ReadAllLines("/proc/self/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    return long.Parse(line.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
                }
            }

            throw new InvalidOperationException($"no {field} line in /proc/self/status");
        }
    }
}
