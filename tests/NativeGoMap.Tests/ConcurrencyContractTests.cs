using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// The concurrency promises of the README's "Concurrent use: what you can rely on" at their
    /// edges: many readers and no writer never throw, Strict's state after a write that runs
    /// out of memory halfway, every member of a poisoned map, and an enumerator whose start a
    /// racing write emptied. Written by a review of the protocol (2026-12-07), which found the
    /// last (its registration was kept until the map's Dispose).
    /// </summary>
    public class ConcurrencyContractTests
    {
        private static GoMapOptions Opts(ConcurrencyChecks mode) => new() { ConcurrencyChecks = mode, Seed = 11 };

        /// <summary>Runs <paramref name="readers"/> read loops at once for <paramref name="ms"/> and returns every exception they threw.</summary>
        private static List<Exception> RunReaders(int readers, int ms, Action<int, int> body)
        {
            var errors = new List<Exception>();
            var stop = Stopwatch.StartNew();
            var threads = new Thread[readers];
            for (int t = 0; t < readers; t++)
            {
                int id = t;
                threads[t] = new Thread(() =>
                {
                    int round = 0;
                    try
                    {
                        while (stop.ElapsedMilliseconds < ms)
                        {
                            body(id, round++);
                        }
                    }
                    catch (Exception e)
                    {
                        lock (errors)
                        {
                            errors.Add(e);
                        }
                    }
                })
                { IsBackground = true };
                threads[t].Start();
            }

            foreach (Thread th in threads)
            {
                Assert.True(th.Join(TimeSpan.FromSeconds(60)), "a reader hung");
            }

            return errors;
        }

        private static void ReadEverything<TValue>(GoMap<long, TValue> map, int id, int round, long n)
            where TValue : unmanaged
        {
            long k = (round * 7919L + id) % (n + 10);
            switch (round % 16)
            {
                case 0: map.TryGetValue(k, out _); break;
                case 1: _ = map.ContainsKey(k); break;
                case 2: if (k < n) { _ = map[k]; } break;
                case 3: _ = map.GetValueOrDefault(k); break;
                case 4:
                {
                    var keys = new long[] { k, k + 1, k + 2, -5 };
                    map.TryGetValues(keys, new TValue[4], new bool[4]);
                    break;
                }

                case 5:
                {
                    long c = 0;
                    foreach (KeyValuePair<long, TValue> kv in map)
                    {
                        c++;
                    }

                    Assert.Equal(map.LongCount, c);
                    break;
                }

                case 6:
                {
                    long c = 0;
                    foreach (long kk in map.Keys)
                    {
                        c++;
                    }

                    Assert.Equal(map.Count, c);
                    break;
                }

                case 7:
                {
                    foreach (TValue v in map.Values)
                    {
                        _ = v;
                    }

                    break;
                }

                case 8: map.CopyTo(new KeyValuePair<long, TValue>[map.Count], 0); break;
                case 9: map.Keys.CopyTo(new long[map.Count], 0); break;
                case 10: map.WriteTo(Stream.Null); break;
                case 11: _ = map.GetStats(); _ = map.Count; _ = map.LongCount; _ = map.Keys.Count; break;
                case 12:
                {
                    // A partial walk, abandoned (Dispose), and one left to the GC.
                    using var e = map.GetEnumerator();
                    e.MoveNext();
                    e.MoveNext();
                    var e2 = map.GetEnumerator();
                    e2.MoveNext();
                    break;
                }

                case 13: _ = map.ContainsValue(default); break;
                case 14:
                {
                    // This thread's own lookups in the middle of its walk.
                    foreach (KeyValuePair<long, TValue> kv in map)
                    {
                        Assert.True(map.ContainsKey(kv.Key));
                    }

                    break;
                }

                case 15:
                {
                    ref TValue r = ref map.GetValueRefOrNullRef(k);
                    _ = System.Runtime.CompilerServices.Unsafe.IsNullRef(ref r);
                    IReadOnlyDictionary<long, TValue> ro = map;
                    foreach (KeyValuePair<long, TValue> kv in ro)
                    {
                        _ = kv;
                    }

                    break;
                }
            }
        }

        public static TheoryData<ConcurrencyChecks, string> ReaderCases()
        {
            var d = new TheoryData<ConcurrencyChecks, string>();
            foreach (ConcurrencyChecks m in new[] { ConcurrencyChecks.Go, ConcurrencyChecks.Strict })
            {
                foreach (string shape in new[] { "plain", "comparer", "indirect", "growing", "shrinking", "deferred" })
                {
                    d.Add(m, shape);
                }
            }

            return d;
        }

        /// <summary>
        /// README: any number of threads may read and enumerate a map at once. Nobody writes here:
        /// no read may throw. Maps of several shapes, growth left unfinished by the last write,
        /// retired memory pending release.
        /// </summary>
        [Theory]
        [MemberData(nameof(ReaderCases))]
        public void ManyReadersAndNoWriter_NeverThrow(ConcurrencyChecks mode, string shape)
        {
            if (shape == "indirect")
            {
                using var big = new GoMap<long, Blob200>(Opts(mode));
                for (long k = 0; k < 3600; k++)
                {
                    big[k] = Blob200.Of(k);
                }

                for (long k = 3000; k < 3600; k++)
                {
                    big.Remove(k);
                }

                long n = 3000;
                List<Exception> errs = RunReaders(4, 1500, (id, round) => ReadEverything(big, id, round, n));
                Assert.True(errs.Count == 0, string.Join("\n---\n", errs.Select(e => e.ToString())));
                Assert.False(big.IsPoisoned);
                return;
            }

            IEqualityComparer<long>? comparer = shape == "comparer" ? new LongModuloComparer(1 << 30) : null;
            using var map = new GoMap<long, long>(Opts(mode), comparer);
            long count = 0;
            switch (shape)
            {
                case "growing":
                    while (!map.GetStats().IsGrowing || map.GetStats().B < 8)
                    {
                        map[count] = count;
                        count++;
                    }

                    break;
                case "shrinking":
                    for (; count < 20_000; count++)
                    {
                        map[count] = count;
                    }

                    for (long k = 2000; k < 20_000; k++)
                    {
                        map.Remove(k);
                    }

                    count = 2000;
                    map.TrimExcess();
                    Assert.True(map.GetStats().IsGrowing);
                    break;
                case "deferred":
                    while (count < 5000 || map.GetStats().IsGrowing || map.GetStats().DeferredBytes == 0)
                    {
                        map[count] = count;
                        count++;
                    }

                    Assert.True(map.GetStats().DeferredBytes > 0, "expected retired memory pending");
                    break;
                default:
                    for (; count < 5000; count++)
                    {
                        map[count] = count;
                    }

                    break;
            }

            long total = count;
            List<Exception> errors = RunReaders(4, 1500, (id, round) => ReadEverything(map, id, round, total));
            Assert.True(errors.Count == 0, string.Join("\n---\n", errors.Select(e => e.ToString())));
            Assert.False(map.IsPoisoned);
            Assert.Equal(total, map.LongCount);
        }

        /// <summary>
        /// Strict: every write, enumeration start and WriteTo whose n-th native allocation fails
        /// (the fault seam, this thread only) must leave the protocol's state as it found it: no
        /// hashWriting or structural right left held (another thread's read and write go on), no
        /// read announcement left on this thread, no poisoning, and Dispose does not hang.
        /// </summary>
        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public void Strict_OperationsThatRunOutOfMemoryHalfway_LeaveTheProtocolStateClean(bool indirect)
        {
            var opts = new GoMapOptions { ConcurrencyChecks = ConcurrencyChecks.Strict, Seed = 5 };
            var comparer = new LongModuloComparer(1 << 20);
            using var map = new GoMap<long, long>(opts, comparer);
            using var big = new GoMap<long, Blob200>(opts);
            var enumerators = new List<GoMap<long, long>.Enumerator>();
            int faults = 0;
            for (long k = 0; k < 3000; k++)
            {
                for (int n = 1; n < 12; n++)
                {
                    NativeHeap.FailAfter(n);
                    try
                    {
                        switch (k % 7)
                        {
                            case 0: map.Remove(k - 5); map[k] = k; break;
                            case 1: map.TryAdd(k, k); break;
                            case 2: map.GetValueRefOrAddDefault(k, out _) = k; break;
                            case 3: map.SetValues(new[] { k, k + 100_000 }, new[] { k, k }); map.RemoveKeys(new[] { k + 100_000 }); break;
                            case 4:
                            {
                                // Enumerations kept alive: the registration table doubles (an allocation).
                                var e = map.GetEnumerator();
                                e.MoveNext();
                                enumerators.Add(e);
                                map[k] = k;
                                break;
                            }

                            case 5: map.WriteTo(Stream.Null); map[k] = k; break;
                            default: map[k] = k; if (k % 500 == 6) { map.EnsureCapacity(map.Count * 2); map.TrimExcess(); } break;
                        }

                        if (indirect)
                        {
                            big[k] = Blob200.Of(k);
                            if (k % 3 == 0)
                            {
                                big.Remove(k / 2);
                            }
                        }
                    }
                    catch (OutOfMemoryException)
                    {
                        faults++;
                    }
                    finally
                    {
                        NativeHeap.ClearFault();
                    }

                    Assert.False(map.ThisThreadAnnouncesReadForTest, $"k {k} n {n}: a read announcement was left behind");
                    Assert.False(big.ThisThreadAnnouncesReadForTest, $"k {k} n {n}: a read announcement was left behind");
                    Assert.False(map.IsPoisoned, $"k {k} n {n}: poisoned by an OOM");
                    Assert.False(big.IsPoisoned, $"k {k} n {n}: poisoned by an OOM");
                }

                if (enumerators.Count > 40)
                {
                    foreach (var e in enumerators)
                    {
                        e.Dispose();
                    }

                    enumerators.Clear();
                }

                if (k % 250 == 0)
                {
                    // Another thread reads and writes: nothing was left held.
                    long kk = k;
                    Exception? err = OffThread.Start(() =>
                    {
                        map.TryGetValue(kk, out _);
                        map[-kk - 1] = 1;
                        map.Remove(-kk - 1);
                        big.TryGetValue(kk, out _);
                        big[-kk - 1] = default;
                        big.Remove(-kk - 1);
                    }).Join();
                    Assert.Null(err);
                }
            }

            Assert.True(faults > 100, $"only {faults} faults fired");
            map.Validate();
            big.Validate();
            foreach (var e in enumerators)
            {
                e.Dispose();
            }

            var sw = Stopwatch.StartNew();
            Exception? disposeErr = OffThread.Start(() => { map.Dispose(); big.Dispose(); }).Join();
            Assert.Null(disposeErr);
            Assert.True(sw.ElapsedMilliseconds < 1500, $"Dispose took {sw.ElapsedMilliseconds} ms");
        }

        /// <summary>
        /// An enumerator whose start a write overlapped (misuse: the enumerator's constructor
        /// snapshot): StartEnumeration reads the count (not 0), registers, and only then checks
        /// the state word and reads the table. A write that emptied the map and dropped its array
        /// (Remove of the last key, TrimExcess) in between, and ended before the check, is not
        /// detected (fine: as if it came before the start), but the enumerator is then made with
        /// no array, so _done is true from the start, and neither its end nor its Dispose
        /// releases the registration: the map keeps every block it retires from then on until it
        /// is disposed. The window is held open here by the registration lock, which a map's
        /// first enumeration takes.
        /// </summary>
        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void AnEnumeratorWhoseStartAWriteEmptiedTheMap_DoesNotKeepItsRegistrationForever(ConcurrencyChecks mode)
        {
            using var map = new GoMap<long, Blob200>(Opts(mode));
            map[1] = default;
            map.EnterIterLockForTest();
            using var started = new ManualResetEventSlim();
            bool moved = true;
            OffThread reader = OffThread.Start(() =>
            {
                started.Set();
                var e = map.GetEnumerator(); // reads the count (1), then waits for the lock in its registration
                moved = e.MoveNext();
                e.Dispose();
            });
            started.Wait();
            Thread.Sleep(300);
            map.Remove(1);
            map.TrimExcess(); // an empty map drops its array
            map.ExitIterLockForTest();
            Assert.Null(reader.Join());
            Assert.False(moved);

            // The enumeration has ended and been disposed: nothing is registered any more, and
            // what later writes retire is released.
            int live = map.GetStats().LiveEnumerators;
            for (long k = 0; k < 2000; k++)
            {
                map[k] = default;
            }

            for (long k = 0; k < 2000; k++)
            {
                map.Remove(k); // each drops an indirect value block
            }

            bool trimmed = map.TrimExcess() || map.TrimExcess() || map.TrimExcess();
            long kept = map.GetStats().DeferredBytes;
            Assert.True(live == 0 && trimmed && kept == 0, $"registrations left: {live}; trim complete: {trimmed}; retired bytes kept: {kept}");
        }

        public static TheoryData<ConcurrencyChecks, string, string> PoisonedCases()
        {
            var d = new TheoryData<ConcurrencyChecks, string, string>();
            foreach (ConcurrencyChecks m in new[] { ConcurrencyChecks.Go, ConcurrencyChecks.Strict })
            {
                foreach (string state in new[] { "never used", "emptied", "growing", "filled" })
                {
                    foreach (string member in MisuseTests.Members)
                    {
                        d.Add(m, state, member);
                    }
                }
            }

            return d;
        }

        /// <summary>README: after a detection every later call throws the same exception, in both modes and whatever the map holds.</summary>
        [Theory]
        [MemberData(nameof(PoisonedCases))]
        public void PoisonedMap_EveryMemberThrows_InBothModes_EmptyOrNot(ConcurrencyChecks mode, string state, string member)
        {
            using GoMap<int, int> map = new(new GoMapOptions { ConcurrencyChecks = mode, Seed = 3 });
            switch (state)
            {
                case "emptied":
                    for (int k = 0; k < 100; k++) { map[k] = k; }
                    for (int k = 0; k < 100; k++) { map.Remove(k); }
                    break;
                case "growing":
                    for (int k = 0; !map.GetStats().IsGrowing || map.GetStats().B < 6; k++) { map[k] = k; }
                    break;
                case "filled":
                    for (int k = 0; k < 1000; k++) { map[k] = k; }
                    break;
            }

            // A detection on another thread, as a racing reader makes one.
            Exception? e = ConcurrencyDetectionTests.AgainstSimulatedWriter(map, () => map.ContainsKey(1));
            Assert.IsType<ConcurrentMapAccessException>(e);
            var ex = Assert.Throws<ConcurrentMapAccessException>(() => MisuseTests.Call(map, member));
            Assert.Equal("concurrent map read and map write", ex.Message);
        }
    }
}
