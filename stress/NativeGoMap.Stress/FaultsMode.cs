using System;
using System.Collections.Generic;
using System.Linq;

namespace NativeGoMap.Stress
{
    /// <summary>
    /// Sweeps the fault seam over every native allocation of a fixed workload: run k makes the
    /// k-th allocation throw OutOfMemoryException, for every k up to the allocations a fault-free
    /// run makes (the seam reports whether it fired, so a fault the map catches itself does not
    /// end the sweep). After a fault that reaches the caller the map must validate, hold exactly
    /// the entries it held, then finish the workload (the failed operation is retried) in
    /// agreement with the model; after one the map caught, it must validate and equal the model
    /// with the operation done; and Dispose must bring LiveNativeBytes back to its baseline.
    /// </summary>
    internal static class FaultsMode
    {
        internal static Summary Run(StressOptions o)
        {
            var summary = new Summary("faults");
            int scale = o.Quick ? 1 : 3;
            var rows = new List<object[]>
            {
                // Filled to the load factor (6.5 × 2^B) of its presized table: more overflow buckets than the preallocated tail holds.
                // Scattered keys, not 0..n-1: the multiply-based hash spreads consecutive keys so evenly under some
                // seeds (714837940) that no chain outgrew the tail and the sweep had nothing to test; random-like
                // keys fill buckets as Poisson(6.5) does, about 2^B/5 overflow buckets against the tail's 2^B/16.
                Sweep<long, long, LongLong>(summary, "inserts, presized map (overflow buckets)", o.Quick ? 6_656 : 26_624, o.Seed, r =>
                {
                    for (long i = 0; i < r.Size; i++)
                    {
                        r.Insert(Scatter(i));
                    }
                }),
                Sweep<long, long, LongLong>(summary, "growth: arrays, evacuation", 0, o.Seed, r =>
                {
                    for (long i = 0; i < 10_000 * scale; i++)
                    {
                        r.Insert(i);
                        if (i % 5 == 0)
                        {
                            r.Remove(i / 2);
                        }

                        if (i % 7 == 0)
                        {
                            r.Insert(i / 3);
                        }
                    }

                    // Churn at constant size: deletes leave chains sparse and unlink their empty tails as spares, which later inserts link again.
                    for (long i = 0; i < 10_000 * scale; i++)
                    {
                        r.Remove(i);
                        r.Insert(1_000_000 + (i * 17));
                    }
                }),
                Sweep<long, long, CoarseComparer>(summary, "same-size growth (64 keys per hash, churn)", 0, o.Seed, expectsSameSizeGrowth: true, workload: r =>
                {
                    // Replacing whole collision groups leaves their overflow buckets behind in the old
                    // chains (kept linked as Go keeps them: expectsSameSizeGrowth): at constant size
                    // the overflow count reaches 2^B and a same-size growth compacts them. Group g is ids 64g .. 64g+63; 16 groups live at any time.
                    static long Group(long j) => j < 16 ? j : 1_000 + j - 16;
                    for (long i = 0; i < 16 * 64; i++)
                    {
                        r.Insert(i);
                    }

                    for (long j = 0; j < 60 * scale; j++)
                    {
                        for (long i = 0; i < 64; i++)
                        {
                            r.Remove((Group(j) * 64) + i);
                            r.Insert(((1_000 + j) * 64) + i);
                        }
                    }
                }),
                Sweep<BigKey, BigValue, BigBig>(summary, "indirect 136 B key, 200 B value", 0, o.Seed, r =>
                {
                    for (long i = 0; i < 600 * scale; i++)
                    {
                        r.Insert(i);
                        if (i % 3 == 0)
                        {
                            r.Insert(i / 2);
                        }

                        if (i % 4 == 0)
                        {
                            r.Remove(i / 4);
                        }
                    }
                }),
                Sweep<long, long, LongLong>(summary, "enumerators: registration table", 0, o.Seed, r =>
                {
                    var rng = new Random(5);
                    for (long i = 0; i < 2_000; i++)
                    {
                        r.Insert(i);
                    }

                    for (int step = 0; step < 600 * scale; step++)
                    {
                        int what = rng.Next(10);
                        if (what < 3 && r.LiveWalks < 24)
                        {
                            r.StartWalk();
                        }
                        else if (what < 7)
                        {
                            r.StepWalk(rng.Next(64), rng.Next(50));
                        }
                        else if (what < 9)
                        {
                            r.Insert(10_000 + step);
                        }
                        else
                        {
                            r.EndWalk(rng.Next(64));
                        }
                    }
                }),
                Sweep<long, long, LongLong>(summary, "resize: EnsureCapacity, TrimExcess, writes carrying a shrink", 0, o.Seed, r =>
                {
                    long n = 3_000 * scale;
                    for (long i = 0; i < n; i++)
                    {
                        r.Insert(i);
                    }

                    r.EnsureCapacity(8 * n); // a growth of several levels, carried by the inserts that follow
                    for (long i = n; i < 2 * n; i++)
                    {
                        r.Insert(i);
                    }

                    for (long i = 100; i < 2 * n; i++)
                    {
                        r.Remove(i);
                    }

                    r.TrimExcess(-1); // a shrink of several levels, carried by the writes that follow
                    r.StartWalk();
                    r.StepWalk(0, 10);
                    for (long i = 0; i < 300; i++)
                    {
                        r.Insert(10_000 + i);
                        r.Remove(10_000 + i - 50);
                    }

                    r.EndWalk(0);
                    r.EnsureCapacity(4 * n);
                    r.TrimExcess(1_000); // cuts the pending growth
                    r.Insert(20_000);
                    r.TrimUntilDone(-1);
                    for (long i = 0; i < 50; i++)
                    {
                        r.Remove(i);
                    }

                    r.TrimUntilDone(-1);
                    for (long i = 10_000; i < 10_400; i++)
                    {
                        r.Remove(i);
                    }

                    r.Remove(20_000);
                    r.TrimUntilDone(-1); // empty: the arrays are dropped
                    r.EnsureCapacity(n);
                    r.Insert(1);
                }),
            };
            summary.Row("allocation points", rows.Sum(r => (long)r[1]));
            summary.Row("faults injected", rows.Sum(r => (long)r[2]));
            summary.Row("thrown to the caller, recovered", rows.Sum(r => (long)r[4]));
            summary.Row("caught by the map, recovered internally", rows.Sum(r => (long)r[5]));
            summary.Row("failures", summary.FailureCount);
            summary.Table("faults per scenario", new[] { "scenario", "allocation points", "injected", "thrown", "recovered", "recovered internally", "thrown by operation", "caught by the map, by operation", "failed insert left key out", "same-size growths" }, rows);
            summary.Note("allocation points = native allocations a fault-free run of the workload makes; run k fails the k-th, for every k (the mode fails if the sweep ends early), and the seam reports each fault it fired.");
            summary.Note("recovered = after the OutOfMemoryException: Validate() passes, the map equals the model (the failed operation changed nothing visible), and the workload then runs to its end in agreement with the model, leaking nothing after Dispose.");
            summary.Note("recovered internally = the map caught the fault itself (a write carrying a pending EnsureCapacity or TrimExcess drops it and goes on): the operation succeeded, Validate() passes and the map equals the model with the operation applied; the rest of the run is checked as above.");
            summary.Note("the failed operation may still have finished growth work already started (Go's evacuation steps): Validate() proves that state is consistent.");
            return summary;
        }

        /// <summary>A bijection of the longs (the library's splitmix64 step from state <paramref name="i"/>): distinct keys that look random to the map's hash.</summary>
        private static long Scatter(long i)
        {
            ulong state = (ulong)i;
            return (long)Hasher.SplitMix(ref state);
        }

        /// <summary>Runs the workload; an exception that escapes it (a poisoned map's, a retry's second fault) is a failure, not the end of the mode.</summary>
        private static bool Run<TKey, TValue, TCodec>(Summary summary, string name, FaultRunner<TKey, TValue, TCodec> runner, Action<FaultRunner<TKey, TValue, TCodec>> workload)
            where TKey : unmanaged
            where TValue : unmanaged
            where TCodec : ICodec<TKey, TValue>
        {
            try
            {
                workload(runner);
                return true;
            }
            catch (Exception e)
            {
                summary.Fail($"{name}: the workload threw {e.GetType().Name}: {e.Message}");
                return false;
            }
        }

        private static object[] Sweep<TKey, TValue, TCodec>(Summary summary, string name, long size, ulong seed, Action<FaultRunner<TKey, TValue, TCodec>> workload, bool expectsSameSizeGrowth = false)
            where TKey : unmanaged
            where TValue : unmanaged
            where TCodec : ICodec<TKey, TValue>
        {
            // A fault-free run counts the allocation points: the faulty runs are that run up to
            // their fault, so run n fires at its n-th allocation for every n up to the count, and
            // the sweep must end exactly past it. A run whose fault reaches nothing the runner sees
            // is not the end: the map may catch it (a pending resize is dropped on OOM).
            long points;
            {
                long baseline = GoMapDiagnostics.LiveNativeBytes;
                var probe = new FaultRunner<TKey, TValue, TCodec>(summary, $"{name}, fault-free run", size, seed, keepEmptyOverflowLikeGo: expectsSameSizeGrowth);
                long start = NativeHeap.AllocationCount;
                bool finished = Run(summary, $"{name}, fault-free run", probe, workload);
                points = NativeHeap.AllocationCount - start;
                probe.Finish(finished);
                summary.Check(GoMapDiagnostics.LiveNativeBytes == baseline, $"{name}, fault-free run: {GoMapDiagnostics.LiveNativeBytes - baseline} native bytes leaked after Dispose");
            }

            long fired = 0;
            long thrown = 0;
            long recovered = 0;
            long swallowed = 0;
            long recoveredInternally = 0;
            long insertsLeftOut = 0;
            long insertFaults = 0;
            long sameSize = 0;
            var byOp = new SortedDictionary<string, long>();
            var swallowedByOp = new SortedDictionary<string, long>();
            long n = 1;
            for (; n <= points + 1; n++)
            {
                long baseline = GoMapDiagnostics.LiveNativeBytes;
                var runner = new FaultRunner<TKey, TValue, TCodec>(summary, $"{name}, fault {n}", size, seed, keepEmptyOverflowLikeGo: expectsSameSizeGrowth);
                long firedBefore = NativeHeap.FaultsFired;
                NativeHeap.FailAfter(n);
                bool finished;
                try
                {
                    finished = Run(summary, $"{name}, fault {n}", runner, workload);
                }
                finally
                {
                    NativeHeap.ClearFault();
                }

                long firedNow = NativeHeap.FaultsFired - firedBefore;
                runner.Finish(finished);
                summary.Check(GoMapDiagnostics.LiveNativeBytes == baseline, $"{name}, fault {n}: {GoMapDiagnostics.LiveNativeBytes - baseline} native bytes leaked after Dispose");
                summary.Check(firedNow == runner.Faults + runner.Swallowed, $"{name}, fault {n}: the seam fired {firedNow} times, {runner.Faults} reached the runner and {runner.Swallowed} were caught inside a checked operation (a fault fired where nothing checked the map after it)");
                fired += firedNow;
                thrown += runner.Faults;
                recovered += runner.Recovered;
                swallowed += runner.Swallowed;
                recoveredInternally += runner.RecoveredInternally;
                insertFaults += runner.InsertFaults;
                insertsLeftOut += runner.InsertsLeftOut;
                sameSize = Math.Max(sameSize, runner.SameSizeGrowths);
                foreach (var (op, count) in runner.FaultsByOp)
                {
                    byOp[op] = byOp.GetValueOrDefault(op) + count;
                }

                foreach (var (op, count) in runner.SwallowedByOp)
                {
                    swallowedByOp[op] = swallowedByOp.GetValueOrDefault(op) + count;
                }

                if (firedNow == 0)
                {
                    break; // the fault would fire past the last allocation: every point is covered
                }
            }

            long swept = n - 1;
            summary.Check(points > 0, $"{name}: the workload allocated nothing, so the sweep tested nothing");
            summary.Check(swept == points, $"{name}: the sweep faulted {swept} allocation points, the fault-free run made {points} allocations");
            summary.Check(fired == points, $"{name}: the seam fired {fired} times over {points} allocation points");
            summary.Check(insertsLeftOut == insertFaults, $"{name}: {insertFaults - insertsLeftOut} inserts that failed left their key in the map");
            summary.Check(!expectsSameSizeGrowth || sameSize > 0, $"{name}: no run started a same-size growth, so its allocations were never faulted");
            return new object[]
            {
                name, points, fired, thrown, recovered, recoveredInternally,
                string.Join(", ", byOp.Select(kv => $"{kv.Key} {kv.Value}")),
                swallowed == 0 ? "-" : string.Join(", ", swallowedByOp.Select(kv => $"{kv.Key} {kv.Value}")),
                $"{insertsLeftOut} of {insertFaults}", sameSize,
            };
        }
    }

    /// <summary>One run of a workload with the fault seam armed: every operation is checked and, after a fault, retried.</summary>
    internal sealed class FaultRunner<TKey, TValue, TCodec>
        where TKey : unmanaged
        where TValue : unmanaged
        where TCodec : ICodec<TKey, TValue>
    {
        private readonly Summary _summary;
        private readonly string _name;
        private readonly GoMap<TKey, TValue> _map;
        private readonly Dictionary<long, long> _model = new();
        private readonly List<GoMap<TKey, TValue>.Enumerator?> _walks = new();
        private long _version;
        private bool _wasSameSize;

        /// <param name="keepEmptyOverflowLikeGo">Deletes leave emptied overflow buckets linked, as
        /// Go's mapdelete does, so that churn piles them up into same-size growths (the map's own
        /// way unlinks a chain's empty tail and reuses it).</param>
        internal FaultRunner(Summary summary, string name, long size, ulong seed, bool keepEmptyOverflowLikeGo)
        {
            _summary = summary;
            _name = name;
            Size = size;
            _map = new GoMap<TKey, TValue>(new GoMapOptions { CapacityHint = size, Seed = seed }, TCodec.Comparer);
            if (keepEmptyOverflowLikeGo)
            {
                _map.KeepEmptyOverflowLikeGoForTest();
            }
        }

        internal long Size { get; }

        internal long Faults { get; private set; }

        internal long Recovered { get; private set; }

        internal long InsertFaults { get; private set; }

        internal long InsertsLeftOut { get; private set; }

        /// <summary>Faults the seam fired inside an operation that then returned normally (the map caught them).</summary>
        internal long Swallowed { get; private set; }

        /// <summary>Of <see cref="Swallowed"/>, those after which the map validated and equalled the model.</summary>
        internal long RecoveredInternally { get; private set; }

        internal long SameSizeGrowths { get; private set; }

        internal Dictionary<string, long> FaultsByOp { get; } = new();

        internal Dictionary<string, long> SwallowedByOp { get; } = new();

        internal int LiveWalks => _walks.Count(w => w is not null);

        internal void Insert(long id)
        {
            long v = _version + 1;
            bool isNew = !_model.ContainsKey(id);
            Do("insert", id, () => _map[TCodec.Key(id)] = TCodec.Value(id, v), isNew ? id : -1, () => _model[id] = _version = v);
            NoteGrowth();
        }

        internal void Remove(long id)
        {
            Do("remove", id, () => _map.Remove(TCodec.Key(id)), -1, () => _model.Remove(id));
            NoteGrowth();
        }

        internal void EnsureCapacity(long capacity) =>
            Do("EnsureCapacity", -1, () => _summary.Check(_map.EnsureCapacity(capacity) >= capacity, $"{_name}: EnsureCapacity({capacity}) returned less"), -1);

        /// <summary>One TrimExcess call: TrimExcess() for a negative capacity, else TrimExcess(capacity).</summary>
        internal bool TrimExcess(long capacity)
        {
            bool done = false;
            Do("TrimExcess", -1, () => done = capacity < 0 ? _map.TrimExcess() : _map.TrimExcess(capacity), -1);
            NoteGrowth();
            return done;
        }

        /// <summary>TrimExcess calls until one returns true (bounded), each a fault point.</summary>
        internal void TrimUntilDone(long capacity)
        {
            int calls = 0;
            while (!TrimExcess(capacity))
            {
                if (!_summary.Check(++calls < 100_000, $"{_name}: TrimExcess did not complete in {calls} calls: {_map.GetStats()}"))
                {
                    return;
                }
            }

            _summary.Check(!_map.GetStats().IsGrowing, $"{_name}: TrimExcess returned true while growing: {_map.GetStats()}");
        }

        internal void StartWalk()
        {
            GoMap<TKey, TValue>.Enumerator e = default;
            Do("GetEnumerator", -1, () => e = _map.GetEnumerator(), -1);
            _walks.Add(e);
        }

        internal void StepWalk(int which, int steps)
        {
            if (_walks.Count == 0 || _walks[which % _walks.Count] is not { } e)
            {
                return;
            }

            for (int s = 0; s < steps && e.MoveNext(); s++)
            {
                long id = TCodec.Id(e.Current.Key);
                _summary.Check(_model.TryGetValue(id, out long v) && TCodec.Matches(e.Current.Value, id, v), $"{_name}: a walk yielded id {id} absent from the model or stale");
            }

            _walks[which % _walks.Count] = e;
        }

        internal void EndWalk(int which)
        {
            if (_walks.Count != 0 && _walks[which % _walks.Count] is { } e)
            {
                e.Dispose();
                _walks[which % _walks.Count] = null;
            }
        }

        /// <summary>Finishes every walk, compares with the model, validates and disposes; after a workload that threw (<paramref name="finished"/> false), only ends the walks and disposes.</summary>
        internal void Finish(bool finished = true)
        {
            if (!finished)
            {
                try
                {
                    _walks.ForEach(w => w?.Dispose());
                }
                finally
                {
                    _map.Dispose(); // frees a poisoned map too
                }

                return;
            }

            for (int i = 0; i < _walks.Count; i++)
            {
                StepWalk(i, int.MaxValue);
                EndWalk(i);
            }

            string? problem = Compare();
            _summary.Check(problem is null, $"{_name}: at the end of the workload: {problem}");
            // Memory kept for the walks is released by the writes that follow (a bounded piece
            // each), not by the walks' end: drive writes that change nothing (removes of an id
            // never inserted) until it is all released, within a bound.
            int writes = 0;
            for (; writes < 100_000 && _map.GetStats().DeferredBytes != 0 && _map.LongCount != 0; writes++)
            {
                _map.Remove(TCodec.Key(-1));
            }

            _summary.Check(_map.GetStats().LiveEnumerators == 0 && (_map.GetStats().DeferredBytes == 0 || _map.LongCount == 0), $"{_name}: enumerators or deferred memory left after every walk ended and {writes} writes");
            _map.Dispose();
        }

        /// <summary>
        /// Runs one map operation, then <paramref name="commit"/> (its effect on the model). On an
        /// injected fault that reaches here, checks the map is as it was, then retries; on one the
        /// map caught itself (the seam fired, the operation returned), checks the map equals the
        /// model with the operation applied.
        /// </summary>
        private void Do(string what, long id, Action op, long insertedId, Action? commit = null)
        {
            long fired = NativeHeap.FaultsFired;
            try
            {
                op();
            }
            catch (OutOfMemoryException)
            {
                Faults++;
                FaultsByOp[what] = FaultsByOp.GetValueOrDefault(what) + 1;
                if (insertedId >= 0)
                {
                    InsertFaults++;
                    InsertsLeftOut += _map.ContainsKey(TCodec.Key(insertedId)) ? 0 : 1;
                }

                string? problem = Compare();
                if (_summary.Check(problem is null, $"{_name}: after OutOfMemoryException in {(id >= 0 ? $"{what} {id}" : what)}: {problem}"))
                {
                    Recovered++;
                }

                op(); // the seam fires once: the retry must succeed
                commit?.Invoke();
                return;
            }

            commit?.Invoke();
            if (NativeHeap.FaultsFired != fired)
            {
                Swallowed++;
                SwallowedByOp[what] = SwallowedByOp.GetValueOrDefault(what) + 1;
                string? problem = Compare();
                if (_summary.Check(problem is null, $"{_name}: after an OutOfMemoryException the map caught in {(id >= 0 ? $"{what} {id}" : what)}: {problem}"))
                {
                    RecoveredInternally++;
                }
            }
        }

        private void NoteGrowth()
        {
            bool sameSize = _map.GetStats().IsSameSizeGrow;
            SameSizeGrowths += sameSize && !_wasSameSize ? 1 : 0;
            _wasSameSize = sameSize;
        }

        /// <summary>Validate() and an exact comparison with the model; null when they agree.</summary>
        private string? Compare()
        {
            try
            {
                _map.Validate();
                if (_map.LongCount != _model.Count)
                {
                    return $"count {_map.LongCount}, model {_model.Count}";
                }

                foreach (var (id, version) in _model)
                {
                    if (!_map.TryGetValue(TCodec.Key(id), out TValue value) || !TCodec.Matches(value, id, version))
                    {
                        return $"id {id} missing or with a wrong value";
                    }
                }
            }
            catch (Exception e)
            {
                return $"{e.GetType().Name}: {e.Message}"; // Validate's InvalidOperationException, or a poisoned map's ConcurrentMapAccessException
            }

            return null;
        }
    }
}
