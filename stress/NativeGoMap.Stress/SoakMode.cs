using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NativeGoMap.Stress
{
    /// <summary>
    /// Random weighted operations against a Dictionary model, for several key/value types, with
    /// Validate() at intervals. Model: entry id → version; the codec turns (id, version) into the
    /// map's key and value and back, so every type is checked against the same model.
    /// </summary>
    internal static class SoakMode
    {
        internal static Summary Run(StressOptions o)
        {
            var summary = new Summary("soak");
            int seconds = o.Seconds ?? (o.Quick ? 10 : 60);
            var each = TimeSpan.FromSeconds(seconds / 14.0);

            // Every type soaks once per concurrency-check mode, with the same stream: the same
            // seeds, and the same operations until a walk across writes yields another number of
            // entries in one mode than in the other (seen 2026-12-06 at op 10,053 of a run, a
            // partial walk with writes between its steps: Go's rules leave open whether an entry
            // added during a walk is yielded, and a Go map's inline walk over groups of buckets
            // and a Strict map's checked steps need not agree), after which the two draw
            // different operations. The
            // first run ends the steps of its key-space schedule by ops or by time and records the
            // op of each; the second takes its steps at those ops. A failure prints a replay line
            // with its run's steps (--soak-steps).
            object[][] Both<TKey, TValue, TCodec>(int stream)
                where TKey : unmanaged
                where TValue : unmanaged
                where TCodec : ICodec<TKey, TValue>
            {
                // A replay's steps (--soak-steps) are taken as the Go run takes the Strict run's.
                var schedule = o.SoakSteps is not null && o.SoakSteps.TryGetValue(stream, out long[]? given) ? new List<long>(given) : new List<long>();
                return new[] { ConcurrencyChecks.Strict, ConcurrencyChecks.Go }.Select(c => new Soak<TKey, TValue, TCodec>(o, stream, c, summary, schedule).Run(each)).ToArray();
            }

            var rows = new List<object[]>();
            rows.AddRange(Both<long, long, LongLong>(1));
            rows.AddRange(Both<int, sbyte, IntSByte>(2));
            rows.AddRange(Both<Guid, int, GuidInt>(3));
            rows.AddRange(Both<double, long, DoubleLong>(4));
            rows.AddRange(Both<PaddedKey, long, PaddedLong>(5));
            rows.AddRange(Both<BigKey, BigValue, BigBig>(6));
            rows.AddRange(Both<long, long, CoarseComparer>(7));
            summary.Row("seconds per type and mode", each.TotalSeconds);
            summary.Row("ops", rows.Sum(r => (long)r[2]));
            summary.Row("divergences", rows.Sum(r => (long)r[^1]));
            summary.Row("runs through every phase", $"{rows.Count(r => (bool)r[^2])} of {rows.Count}");
            summary.Table("soak per type and concurrency-check mode", new[] { "key → value", "checks", "ops", "ops/s", "seconds", "key spaces (↓ a shrink)", "max entries", "bulk-loaded", "prefetching TryGetValues", "full walks", "partial walks", "clears", "resizes", "trim loops", "validates", "all phases", "divergences" }, rows.Select(r => r.Select(c => c is bool b ? (b ? "yes" : "NO") : c).ToArray()).ToList());
            summary.Note("ops weights per 1000: insert 300 (TryAdd/Add/indexer/GetValueRefOrAddDefault), update 140 (indexer) and 10 (SetValues of 1-40 keys, a key possibly twice), remove 195 and 5 (RemoveKeys of 1-40 keys, a key possibly twice), lookup 315 (5 read APIs) and 5 (TryGetValues of 1-40 keys), resize 10 (EnsureCapacity, TrimExcess(), TrimExcess(capacity), a TrimExcess loop to completion), full walk 10 × 100/size, walk with writes (and 1 in 24 steps a resize) between steps 5 × 500/size; clear 1 in 20,000 ops, and 1 in 40,000 walk steps.");
            summary.Note("key space cycles 16 → 500 → 20,000 → 200,000, each for 50,000, 50,000, 50,000 and 400,000 ops or 5 %, 5 %, 5 % and 40 % of the run's time, whichever ends first (the Go run takes its steps at the ops where the Strict run took them), so every run passes through each at least once and shrinks within 55 % of its time; shrinking removes the entries outside it during a foreach, then half the time one TrimExcess call starts a shrink (up to 14 levels, chained) that the next writes carry. Halfway through the 200,000 phase, a map whose bucket array still fits TryGetValues' in-cache bound (1 MiB, where it probes key by key) is bulk-loaded (SetValues of 256 keys) until its array passes it, then by a quarter more entries, and one TryGetValues runs. A run that did not shrink or, with keys that run no user code (those go key by key), made no TryGetValues through the prefetching pipeline (a table past that bound and not growing) fails (it goes on past its time, up to 3×, to get there).");
            summary.Note("Partial walks check Go's rules: a yielded entry is live with its current value, never yielded twice unless removed and re-added, and a completed walk yields every entry that stayed.");
            return summary;
        }
    }

    /// <summary>Maps a model entry (id, version) to a key and value of the map and back.</summary>
    internal interface ICodec<TKey, TValue>
        where TKey : unmanaged
        where TValue : unmanaged
    {
        static abstract string Name { get; }

        static virtual IEqualityComparer<TKey>? Comparer => null;

        static abstract TKey Key(long id);

        /// <summary>The id of a key made by <see cref="Key"/>, or −1 for a key no id makes.</summary>
        static abstract long Id(TKey key);

        static abstract TValue Value(long id, long version);

        static abstract bool Matches(TValue value, long id, long version);

        static long Mix(long id, long version) => unchecked((id * -7046029254386353131L) ^ (version * 31));
    }

    internal sealed class Soak<TKey, TValue, TCodec>
        where TKey : unmanaged
        where TValue : unmanaged
        where TCodec : ICodec<TKey, TValue>
    {
        private static readonly int[] KeySpaces = { 16, 500, 20_000, 200_000 };

        /// <summary>
        /// Steps of one cycle of the key-space schedule: the key spaces 16, 500 and 20,000, the
        /// first half of 200,000 (then <see cref="BulkLoad"/>), its second half (then the shrink
        /// back to 16). A step ends after its ops (<see cref="StepOps"/>) or its share of the run's
        /// time (<see cref="StepFractions"/>), whichever comes first: a run fast enough keeps the
        /// 550,000-op cycle of the full soak, a slower or shorter one (every quick one) still goes
        /// through each phase and one shrink within 55 % of its time.
        /// </summary>
        private static readonly long[] StepOps = { 50_000, 50_000, 50_000, 200_000, 200_000 };

        /// <summary>Longest time of each step of <see cref="StepOps"/>, as a fraction of the run's duration.</summary>
        private static readonly double[] StepFractions = { 0.05, 0.05, 0.05, 0.20, 0.20 };

        /// <summary>How far past its duration a run may go to finish its first cycle.</summary>
        private const int MaxOverrun = 3;

        private readonly Random _rng;
        private readonly Summary _summary;
        private readonly Dictionary<long, long> _model = new();
        private readonly ConcurrencyChecks _checks;
        private readonly GoMap<TKey, TValue> _map;
        private long _version;
        private long _keySpace = KeySpaces[0];
        private readonly List<long> _schedule;
        private readonly StressOptions _options;
        private readonly int _stream;
        private readonly List<long> _phases = new() { KeySpaces[0] };
        private int _step;
        private long _stepEndOp;
        private TimeSpan _stepStart;
        private long _ops;
        private long _bulkLoaded;
        private long _prefetchingLookups;
        private long _maxCount;
        private long _fullWalks;
        private long _partialWalks;
        private long _clears;
        private long _resizes;
        private long _trimLoops;
        private long _validates;
        private long _divergences;

        internal Soak(StressOptions o, int stream, ConcurrencyChecks checks, Summary summary, List<long> schedule)
        {
            _options = o;
            _stream = stream;
            _rng = Util.Rng(o, stream);
            _summary = summary;
            _checks = checks;
            _schedule = schedule;
            _map = new GoMap<TKey, TValue>(new GoMapOptions { Seed = (ulong)_rng.NextInt64(), ConcurrencyChecks = checks }, TCodec.Comparer);
        }

        internal object[] Run(TimeSpan duration)
        {
            var clock = Stopwatch.StartNew();
            TimeSpan nextValidate = TimeSpan.FromMilliseconds(250);
            _stepEndOp = _schedule.Count > 0 ? _schedule[0] : StepOps[0];
            while (_divergences < 20)
            {
                TimeSpan now = clock.Elapsed;
                if (now >= duration && (AllPhases || now >= MaxOverrun * duration))
                {
                    break;
                }

                for (int i = 0; i < 1000; i++)
                {
                    Step();
                    if (++_ops == _stepEndOp)
                    {
                        TakeStep(clock.Elapsed);
                    }
                }

                // Out of time for this step (a run that is not replaying the other mode's steps).
                if (_step >= _schedule.Count && clock.Elapsed - _stepStart >= duration * StepFractions[_step % StepFractions.Length])
                {
                    TakeStep(clock.Elapsed);
                }

                if (clock.Elapsed > nextValidate)
                {
                    Validate();
                    nextValidate = clock.Elapsed + TimeSpan.FromMilliseconds(250);
                }
            }

            Validate();
            FullWalk();
            _map.Dispose();
            double seconds = clock.Elapsed.TotalSeconds;
            string phases = string.Concat(_phases.Select((p, i) => (i == 0 ? "" : p < _phases[i - 1] ? " ↓" : " ") + Label(p)));
            if (!AllPhases)
            {
                _summary.Fail($"{TCodec.Name} ({_checks}): in {seconds:0.00} s and {_ops:N0} ops the run went through key spaces {phases} with {_prefetchingLookups} TryGetValues through the prefetching pipeline: a run must drop back from the 200k key space at least once and, unless its keys run user code (then every batch goes key by key), make at least one such TryGetValues");
            }

            return new object[] { TCodec.Name, _checks, _ops, _ops / Math.Max(seconds, 1e-3), seconds, phases, _maxCount, _bulkLoaded, _prefetchingLookups, _fullWalks, _partialWalks, _clears, _resizes, _trimLoops, _validates, AllPhases, _divergences };
        }

        /// <summary>
        /// Whether the run has gone through its first cycle (the shrink from 200,000 included) and,
        /// for keys that run no user code, made a TryGetValues through the prefetching pipeline
        /// (a table past its in-cache bound, not growing: <see cref="GoMap{TKey, TValue}.BatchLookupPrefetches"/>).
        /// Keys that run user code (a comparer, IEquatable keys) always go key by key.
        /// </summary>
        private bool AllPhases => _step >= StepFractions.Length && (_prefetchingLookups > 0 || _map.KeysRunUserCodeForTest);

        private static string Label(long keySpace) => keySpace >= 1000 ? $"{keySpace / 1000}k" : $"{keySpace}";

        /// <summary>
        /// Ends the current step: a bulk load halfway through the largest key space, else the next
        /// key space. The first run of a pair records the op of each step; the second takes its
        /// steps at those ops, then goes on by its own ops and time.
        /// </summary>
        private void TakeStep(TimeSpan now)
        {
            if (_step == _schedule.Count)
            {
                _schedule.Add(_ops);
            }

            if (_step++ % StepFractions.Length == 3)
            {
                BulkLoad();
            }
            else
            {
                ChangeKeySpace();
            }

            _stepStart = now;
            _stepEndOp = _step < _schedule.Count ? _schedule[_step] : _ops + StepOps[_step % StepOps.Length];
        }

        /// <summary>
        /// Halfway through the largest key space: random inserts alone, with clears every 20,000
        /// ops or so, leave most maps under 40,000 entries, and TryGetValues probes a bucket array
        /// of up to 1 MiB key by key (2^13 buckets of 144 bytes, 2^15 of <c>&lt;int,sbyte&gt;</c>'s
        /// 56). A map still that small is loaded by SetValues of 256 random keys of the space
        /// until its array passes the bound (the batch lookups' prefetching path) and its count by
        /// a quarter more, so that removes and TrimExcess do not bring it back at once; then one
        /// TryGetValues runs on it.
        /// </summary>
        private void BulkLoad()
        {
            if (_map.BatchLookupPastCacheBound)
            {
                return;
            }

            long before = _model.Count;
            long target = -1;
            while (_model.Count < _keySpace * 3 / 4 && (target < 0 || _model.Count < target))
            {
                SetBatch(256);
                if (target < 0 && _map.BatchLookupPastCacheBound)
                {
                    target = _model.Count + (_model.Count / 4);
                }
            }

            _bulkLoaded += _model.Count - before;
            _maxCount = Math.Max(_maxCount, _model.Count);
            LookupBatch();
        }

        private void Diverge(string what)
        {
            if (++_divergences <= 5)
            {
                _summary.Fail($"{TCodec.Name} ({_checks}), op {_ops}: {what}");
            }

            if (_divergences == 1)
            {
                // The steps taken so far end by time in a quick run: the seed alone would take
                // them at other ops, and draw other operations after the first (a review found,
                // 2026-12-06). A generous --seconds lets the replay reach this op.
                _summary.Note($"replay {TCodec.Name} ({_checks}): NativeGoMap.Stress soak --seed {_options.Seed}{(_options.Quick ? " --quick" : string.Empty)} --seconds 600 --soak-steps {_stream}:{string.Join(",", _schedule)}");
            }
        }

        private long NextId() => _rng.NextInt64(_keySpace);

        private void Step()
        {
            int op = _rng.Next(1000);
            if (op < 300)
            {
                Insert(NextId());
            }
            else if (op < 440)
            {
                long id = NextId();
                long v = ++_version;
                _map[TCodec.Key(id)] = TCodec.Value(id, v);
                _model[id] = v;
            }
            else if (op < 450)
            {
                SetBatch();
            }
            else if (op < 645)
            {
                Remove(NextId());
            }
            else if (op < 650)
            {
                RemoveBatch();
            }
            else if (op < 965)
            {
                Lookup(NextId());
            }
            else if (op < 970)
            {
                LookupBatch();
            }
            else if (op < 980)
            {
                Resize();
            }
            else if (op < 990)
            {
                // Bounded so that walks cost about one step per op at any size.
                if (_rng.Next(_model.Count + 1) < 100)
                {
                    FullWalk();
                }
            }
            else if (op < 995)
            {
                if (_rng.Next(_model.Count + 1) < 500)
                {
                    PartialWalk();
                }
            }
            else if (_rng.Next(100) == 0)
            {
                _map.Clear();
                _model.Clear();
                _clears++;
            }

            _maxCount = Math.Max(_maxCount, _model.Count);
            if (_map.LongCount != _model.Count)
            {
                Diverge($"count {_map.LongCount}, model {_model.Count}");
            }
        }

        private void Insert(long id)
        {
            bool present = _model.ContainsKey(id);
            long v = ++_version;
            switch (_rng.Next(4))
            {
                case 0:
                    if (_map.TryAdd(TCodec.Key(id), TCodec.Value(id, v)) == present)
                    {
                        Diverge($"TryAdd({id}) returned {!present} with the key {(present ? "present" : "absent")}");
                    }

                    break;
                case 1 when present:
                    // Add of a duplicate: ArgumentException, value unchanged (exceptions are slow: rarely).
                    if (_rng.Next(50) == 0)
                    {
                        try
                        {
                            _map.Add(TCodec.Key(id), TCodec.Value(id, v));
                            Diverge($"Add({id}) of a duplicate did not throw");
                        }
                        catch (ArgumentException)
                        {
                        }
                    }

                    break;
                case 1:
                    _map.Add(TCodec.Key(id), TCodec.Value(id, v));
                    break;
                case 2:
                    _map[TCodec.Key(id)] = TCodec.Value(id, v);
                    present = false; // the indexer overwrites
                    break;
                default:
                    ref TValue slot = ref _map.GetValueRefOrAddDefault(TCodec.Key(id), out bool exists);
                    if (exists != present)
                    {
                        Diverge($"GetValueRefOrAddDefault({id}) exists={exists}, model {present}");
                    }

                    slot = TCodec.Value(id, v);
                    present = false;
                    break;
            }

            if (!present)
            {
                _model[id] = v;
            }
        }

        /// <summary>SetValues of 1 to 40 keys (a key may come twice: its last value wins), against the model and the count of keys added.</summary>
        private void SetBatch() => SetBatch(_rng.Next(1, 41));

        /// <summary>SetValues of <paramref name="n"/> keys.</summary>
        private void SetBatch(int n)
        {
            var ids = new long[n];
            var keys = new TKey[n];
            var values = new TValue[n];
            var versions = new long[n];
            var added = new HashSet<long>();
            for (int i = 0; i < n; i++)
            {
                ids[i] = NextId();
                versions[i] = ++_version;
                keys[i] = TCodec.Key(ids[i]);
                values[i] = TCodec.Value(ids[i], versions[i]);
                if (!_model.ContainsKey(ids[i]))
                {
                    added.Add(ids[i]);
                }
            }

            int reported = _map.SetValues(keys, values);
            for (int i = 0; i < n; i++)
            {
                _model[ids[i]] = versions[i];
            }

            if (reported != added.Count)
            {
                Diverge($"SetValues of {n} keys reported {reported} added, model {added.Count}");
            }
        }

        /// <summary>RemoveKeys of 1 to 40 keys (a key may come twice: it is removed once), against the model and the count of keys removed.</summary>
        private void RemoveBatch()
        {
            int n = _rng.Next(1, 41);
            var ids = new long[n];
            var keys = new TKey[n];
            int expected = 0;
            for (int i = 0; i < n; i++)
            {
                ids[i] = NextId();
                keys[i] = TCodec.Key(ids[i]);
            }

            int reported = _map.RemoveKeys(keys);
            foreach (long id in ids)
            {
                expected += _model.Remove(id) ? 1 : 0;
            }

            if (reported != expected)
            {
                Diverge($"RemoveKeys of {n} keys reported {reported} removed, model {expected}");
            }
        }

        /// <summary>TryGetValues of 1 to 40 keys, each against the model.</summary>
        private void LookupBatch()
        {
            int n = _rng.Next(1, 41);
            var ids = new long[n];
            var keys = new TKey[n];
            for (int i = 0; i < n; i++)
            {
                ids[i] = NextId();
                keys[i] = TCodec.Key(ids[i]);
            }

            var values = new TValue[n];
            var found = new bool[n];
            _prefetchingLookups += _map.BatchLookupPrefetches ? 1 : 0;
            int hits = _map.TryGetValues(keys, values, found);
            int expectedHits = 0;
            for (int i = 0; i < n; i++)
            {
                bool inModel = _model.TryGetValue(ids[i], out long version);
                expectedHits += inModel ? 1 : 0;
                if (found[i] != inModel || (inModel && !TCodec.Matches(values[i], ids[i], version)))
                {
                    Diverge($"TryGetValues: key {ids[i]} found={found[i]}, model has it: {inModel}");
                }
            }

            if (hits != expectedHits)
            {
                Diverge($"TryGetValues found {hits} of {n} keys, model {expectedHits}");
            }
        }

        private void Remove(long id)
        {
            bool inModel = _model.Remove(id, out long version);
            if (_rng.Next(2) == 0)
            {
                if (_map.Remove(TCodec.Key(id)) != inModel)
                {
                    Diverge($"Remove({id}) returned {!inModel}");
                }
            }
            else if (_map.Remove(TCodec.Key(id), out TValue value) != inModel || (inModel && !TCodec.Matches(value, id, version)))
            {
                Diverge($"Remove({id}, out value) disagrees with the model (present: {inModel})");
            }
        }

        private void Lookup(long id)
        {
            bool inModel = _model.TryGetValue(id, out long version);
            TKey key = TCodec.Key(id);
            bool found;
            TValue value = default;
            switch (_rng.Next(5))
            {
                case 0:
                    found = _map.TryGetValue(key, out value);
                    break;
                case 1:
                    found = _map.ContainsKey(key);
                    value = inModel ? TCodec.Value(id, version) : default;
                    break;
                case 2:
                    ref TValue r = ref _map.GetValueRefOrNullRef(key);
                    found = !Unsafe.IsNullRef(ref r);
                    value = found ? r : default;
                    break;
                case 3 when inModel:
                    value = _map[key];
                    found = true;
                    break;
                default:
                    value = _map.GetValueOrDefault(key);
                    found = inModel;
                    if (!inModel && !EqualityComparer<TValue>.Default.Equals(value, default))
                    {
                        Diverge($"GetValueOrDefault({id}) of an absent key is not default");
                    }

                    break;
            }

            if (found != inModel || (found && !TCodec.Matches(value, id, version)))
            {
                Diverge($"lookup of {id}: found={found}, model has it: {inModel}{(found && inModel ? ", value differs" : "")}");
            }
        }

        /// <summary>
        /// A whole walk compared with the model: of the entries (each key once, with its current
        /// value), of <see cref="GoMap{TKey, TValue}.Keys"/> (each key of the model once), or of
        /// <see cref="GoMap{TKey, TValue}.Values"/> (the multiset of the model's values, compared
        /// by their bytes: <c>ValueType.Equals</c> reads only the first element of a fixed buffer).
        /// </summary>
        private void FullWalk()
        {
            _fullWalks++;
            var seen = new HashSet<long>();
            int kind = _rng.Next(3);
            switch (kind)
            {
                case 0:
                    foreach (var kv in _map)
                    {
                        long id = TCodec.Id(kv.Key);
                        if (!seen.Add(id) || !_model.TryGetValue(id, out long version) || !TCodec.Matches(kv.Value, id, version))
                        {
                            Diverge($"walk yielded id {id} twice, absent from the model, or with a wrong value");
                        }
                    }

                    break;
                case 1:
                    foreach (TKey key in _map.Keys)
                    {
                        long id = TCodec.Id(key);
                        if (!seen.Add(id) || !_model.ContainsKey(id))
                        {
                            Diverge($"Keys yielded id {id} twice or absent from the model");
                        }
                    }

                    break;
                default:
                    var expected = new Dictionary<TValue, int>(BytewiseComparer<TValue>.Instance);
                    foreach (var (id, version) in _model)
                    {
                        TValue v = TCodec.Value(id, version);
                        expected[v] = expected.GetValueOrDefault(v) + 1;
                    }

                    long n = 0;
                    long unmatched = 0;
                    foreach (TValue value in _map.Values)
                    {
                        n++;
                        if (expected.TryGetValue(value, out int left) && left > 0)
                        {
                            expected[value] = left - 1;
                        }
                        else
                        {
                            unmatched++;
                        }
                    }

                    if (n != _model.Count || unmatched != 0)
                    {
                        Diverge($"Values yielded {n} values, {unmatched} of them not among the model's (or more often), model {_model.Count}");
                    }

                    return;
            }

            if (seen.Count != _model.Count)
            {
                Diverge($"{(kind == 0 ? "walk" : "Keys")} yielded {seen.Count} distinct keys, model {_model.Count}");
            }
        }

        /// <summary>Steps an enumerator with writes between steps (Go's iteration-with-mutation rules).</summary>
        private void PartialWalk()
        {
            _partialWalks++;
            bool toEnd = _rng.Next(2) == 0;
            HashSet<long>? initial = toEnd ? _model.Keys.ToHashSet() : null;
            var yielded = new HashSet<long>();
            var churned = new HashSet<long>();
            int steps = toEnd ? int.MaxValue : _rng.Next(1, _model.Count + 2);
            var e = _map.GetEnumerator();
            bool finished = false;
            for (int s = 0; s < steps; s++)
            {
                if (!e.MoveNext())
                {
                    finished = true;
                    break;
                }

                long id = TCodec.Id(e.Current.Key);
                if (!_model.TryGetValue(id, out long version) || !TCodec.Matches(e.Current.Value, id, version))
                {
                    Diverge($"partial walk yielded id {id}: absent from the model or a stale value");
                }

                if (!yielded.Add(id) && !churned.Contains(id))
                {
                    Diverge($"partial walk yielded id {id} twice");
                }

                switch (_rng.Next(8))
                {
                    case 0:
                        long v = ++_version;
                        e.CurrentValueRef = TCodec.Value(id, v);
                        _model[id] = v;
                        break;
                    case 1:
                        long gone = NextId();
                        churned.Add(gone);
                        Remove(gone);
                        break;
                    case 2:
                        Insert(NextId());
                        break;
                    case 4 when _rng.Next(3) == 0:
                        Resize();
                        break;
                    case 3 when _rng.Next(5000) == 0:
                        churned.UnionWith(_model.Keys);
                        _map.Clear();
                        _model.Clear();
                        _clears++;
                        break;
                    default:
                        break;
                }
            }

            e.Dispose();
            if (finished && initial is not null)
            {
                long missed = initial.Count(id => !churned.Contains(id) && !yielded.Contains(id));
                if (missed != 0)
                {
                    Diverge($"a completed walk missed {missed} entries present throughout");
                }
            }
        }

        /// <summary>Moves to the next key space; a smaller one removes the entries outside it during a foreach.</summary>
        private void ChangeKeySpace()
        {
            long previous = _keySpace;
            _keySpace = KeySpaces[(Array.IndexOf(KeySpaces, (int)_keySpace) + 1) % KeySpaces.Length];
            _phases.Add(_keySpace);
            if (_keySpace > previous)
            {
                return;
            }

            foreach (var kv in _map)
            {
                long id = TCodec.Id(kv.Key);
                if (id >= _keySpace)
                {
                    _map.Remove(kv.Key);
                    _model.Remove(id);
                }
            }

            if (_model.Keys.Any(id => id >= _keySpace))
            {
                Diverge("removing during a foreach left entries behind");
            }

            if (_rng.Next(2) == 0)
            {
                _map.TrimExcess();
                _resizes++;
            }
        }

        /// <summary>
        /// One of EnsureCapacity (capacity below or above the count), TrimExcess(), TrimExcess(capacity)
        /// (rarely below the count: it must throw and change nothing), or TrimExcess calls until one
        /// returns true, after which no growth is left and B is the smallest that holds the count.
        /// The map's entries are checked by the model on the next operations and by Validate.
        /// </summary>
        private void Resize()
        {
            _resizes++;
            long count = _model.Count;
            long capacity = (long)(count * _rng.NextDouble() * 3) + _rng.Next(16);
            switch (_rng.Next(4))
            {
                case 0:
                    long fits = _map.EnsureCapacity(capacity);
                    if (fits < capacity || fits < MapMath.MaxCountBeforeGrowth(MapMath.BForHint(capacity)))
                    {
                        Diverge($"EnsureCapacity({capacity}) returned {fits}");
                    }

                    break;
                case 1:
                    _map.TrimExcess();
                    break;
                case 2 when capacity < count:
                    if (_rng.Next(20) == 0)
                    {
                        try
                        {
                            _map.TrimExcess(capacity);
                            Diverge($"TrimExcess({capacity}) below the count {count} did not throw");
                        }
                        catch (ArgumentOutOfRangeException)
                        {
                        }
                    }

                    break;
                case 2:
                    _map.TrimExcess(capacity);
                    break;
                default:
                    _trimLoops++;
                    bool exact = _rng.Next(2) == 0;
                    long target = exact ? count : Math.Max(count, capacity);
                    int calls = 0;
                    while (!(exact ? _map.TrimExcess() : _map.TrimExcess(target)))
                    {
                        if (++calls > 1_000_000)
                        {
                            Diverge($"TrimExcess({(exact ? "" : target)}) did not complete in {calls} calls: {_map.GetStats()}");
                            return;
                        }
                    }

                    GoMapStats s = _map.GetStats();
                    int most = MapMath.BForHint(target);
                    if (s.IsGrowing || s.B > most || (exact && s.B != most))
                    {
                        Diverge($"TrimExcess({(exact ? "" : target)}) completed with {s}; the target B is {most}");
                    }

                    break;
            }
        }

        private void Validate()
        {
            _validates++;
            try
            {
                _map.Validate();
            }
            catch (InvalidOperationException e)
            {
                Diverge(e.Message);
            }
        }
    }

    /// <summary>Equality of unmanaged values by all their bytes (for a multiset of map values: the types soaked have no padding).</summary>
    internal sealed class BytewiseComparer<T> : IEqualityComparer<T>
        where T : unmanaged
    {
        internal static readonly BytewiseComparer<T> Instance = new();

        public bool Equals(T x, T y) => MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in x)).SequenceEqual(MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in y)));

        public int GetHashCode(T obj)
        {
            var hash = new HashCode();
            hash.AddBytes(MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in obj)));
            return hash.ToHashCode();
        }
    }

    // ---- the key and value types soaked ----

    internal struct LongLong : ICodec<long, long>
    {
        public static string Name => "long → long";

        public static long Key(long id) => id;

        public static long Id(long key) => key;

        public static long Value(long id, long version) => ICodec<long, long>.Mix(id, version);

        public static bool Matches(long value, long id, long version) => value == Value(id, version);
    }

    /// <summary>long keys under a user comparer whose hash puts 64 neighbours together.</summary>
    internal struct CoarseComparer : ICodec<long, long>, IEqualityComparer<long>
    {
        public static string Name => "long → long, coarse comparer";

        public static IEqualityComparer<long>? Comparer => default(CoarseComparer);

        public static long Key(long id) => id;

        public static long Id(long key) => key;

        public static long Value(long id, long version) => ICodec<long, long>.Mix(id, version);

        public static bool Matches(long value, long id, long version) => value == Value(id, version);

        public readonly bool Equals(long x, long y) => x == y;

        public readonly int GetHashCode(long obj) => (int)(obj >> 6);
    }

    internal struct IntSByte : ICodec<int, sbyte>
    {
        public static string Name => "int → sbyte";

        public static int Key(long id) => (int)id;

        public static long Id(int key) => key;

        public static sbyte Value(long id, long version) => (sbyte)ICodec<int, sbyte>.Mix(id, version);

        public static bool Matches(sbyte value, long id, long version) => value == Value(id, version);
    }

    internal struct GuidInt : ICodec<Guid, int>
    {
        public static string Name => "Guid → int";

        public static Guid Key(long id)
        {
            Span<byte> bytes = stackalloc byte[16];
            BitConverter.TryWriteBytes(bytes, id);
            BitConverter.TryWriteBytes(bytes[8..], ~id);
            return new Guid(bytes);
        }

        public static long Id(Guid key)
        {
            Span<byte> bytes = stackalloc byte[16];
            key.TryWriteBytes(bytes);
            long id = BitConverter.ToInt64(bytes);
            return BitConverter.ToInt64(bytes[8..]) == ~id ? id : -1;
        }

        public static int Value(long id, long version) => (int)ICodec<Guid, int>.Mix(id, version);

        public static bool Matches(int value, long id, long version) => value == Value(id, version);
    }

    /// <summary>double keys: id 0 is NaN (findable, as in Dictionary), id 1 is −0.0.</summary>
    internal struct DoubleLong : ICodec<double, long>
    {
        public static string Name => "double → long (NaN, -0)";

        public static double Key(long id) => id switch { 0 => double.NaN, 1 => -0.0, _ => id };

        public static long Id(double key) => double.IsNaN(key) ? 0 : key == 0 ? 1 : (long)key;

        public static long Value(long id, long version) => ICodec<double, long>.Mix(id, version);

        public static bool Matches(long value, long id, long version) => value == Value(id, version);
    }

    /// <summary>A key with padding: compared through IEquatable.</summary>
    internal readonly struct PaddedKey : IEquatable<PaddedKey>
    {
        internal PaddedKey(byte tag, long id)
        {
            Tag = tag;
            IdValue = id;
        }

        internal byte Tag { get; }

        internal long IdValue { get; }

        public bool Equals(PaddedKey other) => Tag == other.Tag && IdValue == other.IdValue;

        public override bool Equals(object? obj) => obj is PaddedKey other && Equals(other);

        public override int GetHashCode() => HashCode.Combine(Tag, IdValue);
    }

    internal struct PaddedLong : ICodec<PaddedKey, long>
    {
        public static string Name => "padded IEquatable → long";

        public static PaddedKey Key(long id) => new((byte)(id * 13), id);

        public static long Id(PaddedKey key) => key.Tag == (byte)(key.IdValue * 13) ? key.IdValue : -1;

        public static long Value(long id, long version) => ICodec<PaddedKey, long>.Mix(id, version);

        public static bool Matches(long value, long id, long version) => value == Value(id, version);
    }

    /// <summary>A 136-byte key: stored indirectly (over 128 bytes), compared by its bytes.</summary>
    internal unsafe struct BigKey
    {
        internal const int Words = 17;
        internal fixed long W[Words];
    }

    /// <summary>A 200-byte value: stored indirectly.</summary>
    internal unsafe struct BigValue
    {
        internal const int Words = 25;
        internal fixed long W[Words];
    }

    internal unsafe struct BigBig : ICodec<BigKey, BigValue>
    {
        public static string Name => "136 B key → 200 B value (indirect)";

        public static BigKey Key(long id)
        {
            BigKey k = default;
            for (int i = 0; i < BigKey.Words; i++)
            {
                k.W[i] = (id * ((2 * i) + 1)) + i;
            }

            return k;
        }

        public static long Id(BigKey key)
        {
            long id = key.W[0];
            for (int i = 1; i < BigKey.Words; i++)
            {
                if (key.W[i] != (id * ((2 * i) + 1)) + i)
                {
                    return -1;
                }
            }

            return id;
        }

        public static BigValue Value(long id, long version)
        {
            BigValue v = default;
            for (int i = 0; i < BigValue.Words; i++)
            {
                v.W[i] = ICodec<BigKey, BigValue>.Mix(id + i, version);
            }

            return v;
        }

        public static bool Matches(BigValue value, long id, long version)
        {
            for (int i = 0; i < BigValue.Words; i++)
            {
                if (value.W[i] != ICodec<BigKey, BigValue>.Mix(id + i, version))
                {
                    return false;
                }
            }

            return true;
        }
    }
}
