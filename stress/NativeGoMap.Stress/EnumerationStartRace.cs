using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Threading;

namespace NativeGoMap.Stress
{
    /// <summary>
    /// Enumerations starting while another thread's inserts grow the map, in a child process.
    /// Guards a bug issue 8 found: the enumerator's constructor took a consistent snapshot of B and
    /// the bucket array, then computed its start bucket from the live B; a growth landing between
    /// the two sent the walk past the end of the old array.
    /// </summary>
    /// <remarks>
    /// The window is a few instructions long, far shorter than a write takes from setting
    /// hashWriting to B++, so it is only hit when the enumerating thread is preempted inside it,
    /// and a growth runs before it resumes. Left to the scheduler that happens a few times a
    /// minute. So each pair (one writer, one enumerator, a fresh map per round) shares one CPU
    /// (pinned, on Linux): the writer inserts in bursts that each end with the insert that starts
    /// a growth, and sleeps ~20 µs after each; the enumerator starts enumerations back to back.
    /// Every wake-up of the writer preempts the enumerator wherever it is and runs a growth before
    /// it resumes, thousands of times a second. A start during which a growth began (seen in the
    /// map's work counters) or after the writer finished the round is walked to its end, where a
    /// bad start bucket cannot hide; other starts take one step. Every entry is checked: one of
    /// this round's, with its value, never twice in a walk, and a walk that reaches the end yields
    /// every entry inserted before it started. Expected: clean walks, or
    /// ConcurrentMapAccessException("concurrent map iteration and map write"), which poisons the
    /// map (the round's writer then gets the same) and ends the round. Measured on the core before
    /// the fix: caught in every one of 6 one-second trials on a loaded 2-core VM, as a foreign
    /// entry or a NullReferenceException (an access violation).
    /// </remarks>
    internal sealed class EnumerationStartRace
    {
        // A fresh map grows at 9, 27, 105 and 417 entries (B 0 → 2 → 4 → 6 → 8: small tables
        // grow four times at once); every other round it doubles as Go's, at 9, 14, 27, 53, 105,
        // 209, 417 and 833 entries (B 0 → 8).
        private const int RoundInserts = 1_000;
        private const uint SleepMicros = 20;    // the writer's sleep after each burst (plus timer slack)
        private const int ShortWalk = 1;        // steps of an enumeration that no growth ran into
        private const int MaxPending = 3;       // rounds a writer may be ahead of its enumerator
        private const int SeenWords = (RoundInserts + 63) / 64;

        private readonly ConcurrencyChecks _checks;
        private readonly ulong _seed;
        private readonly long _deadline;
        private readonly string _expected;
        private readonly Pair[] _pairs;
        private string? _failure;
        private string? _wrongMessage;

        internal EnumerationStartRace(ConcurrencyChecks checks, int pairs, ulong seed, int milliseconds, string expected)
        {
            _checks = checks;
            _seed = seed;
            _deadline = Stopwatch.GetTimestamp() + (milliseconds * Stopwatch.Frequency / 1000);
            _expected = expected;
            _pairs = new Pair[pairs];
            for (int p = 0; p < pairs; p++)
            {
                _pairs[p] = new Pair(p);
            }
        }

        /// <summary>Runs every pair until the deadline; returns the trial's outcome and its counts.</summary>
        internal (bool Ok, bool WrongMessage, bool Detected, string Detail) Run()
        {
            var threads = new Thread[2 * _pairs.Length];
            for (int p = 0; p < _pairs.Length; p++)
            {
                Pair pair = _pairs[p];
                threads[2 * p] = new Thread(() => Writer(pair)) { IsBackground = true };
                threads[(2 * p) + 1] = new Thread(() => Enumerator(pair)) { IsBackground = true };
            }

            foreach (Thread t in threads)
            {
                t.Start();
            }

            foreach (Thread t in threads)
            {
                t.Join();
            }

            long rounds = 0, starts = 0, straddled = 0, fullWalks = 0, detected = 0, pinned = 0;
            foreach (Pair pair in _pairs)
            {
                pinned += pair.Pinned ? 1 : 0;
                rounds += pair.Rounds;
                starts += pair.Starts;
                straddled += pair.Straddled;
                fullWalks += pair.FullWalks;
                detected += pair.Detected;
            }

            if (_failure is null && GoMapDiagnostics.LiveNativeBytes != 0)
            {
                _failure = $"{GoMapDiagnostics.LiveNativeBytes} native bytes left after every map was disposed";
            }

            string counts = string.Create(CultureInfo.InvariantCulture, $"rounds={rounds} starts={starts} straddled={straddled} fullwalks={fullWalks} detected={detected} pinned={pinned}/{_pairs.Length}");
            string? problem = _failure ?? _wrongMessage;
            return (_failure is null, _failure is null && _wrongMessage is not null, detected > 0, problem is null ? counts : $"{problem}; {counts}");
        }

        private static long Key(int pair, int round, int i) => ((long)(pair + 1) << 56) | ((long)(uint)round << 16) | (long)i;

        private static long Val(long key) => (key * 31) + 7;

        private bool TimeLeft => _failure is null && Stopwatch.GetTimestamp() < _deadline;

        private void Fail(string what) => Interlocked.CompareExchange(ref _failure, what, null);

        private void Detection(Pair pair, ConcurrentMapAccessException e, string who)
        {
            Interlocked.Increment(ref pair.Detected);
            if (e.Message != _expected)
            {
                Interlocked.CompareExchange(ref _wrongMessage, $"the {who} got \"{e.Message}\"", null);
            }
        }

        /// <summary>
        /// Fills a fresh map per round and goes on to the next round without waiting: a map is
        /// checked and disposed once the enumerator is past it.
        /// </summary>
        private void Writer(Pair pair)
        {
            pair.Pinned = Native.PinCurrentThread(pair.Id);
            var pending = new Queue<Round>();
            int round = 0;
            while (TimeLeft)
            {
                round++;
                var r = new Round(round, new GoMap<long, long>(new GoMapOptions { Seed = _seed + (ulong)round, ConcurrencyChecks = _checks }));
                if (round % 2 == 0)
                {
                    r.Map.DoubleLikeGoForTest(); // every other round Go's schedule: twice the growth starts
                }

                pending.Enqueue(r);
                Volatile.Write(ref pair.Current, r);
                try
                {
                    Fill(pair, r);
                }
                catch (ConcurrentMapAccessException e)
                {
                    Detection(pair, e, "writer");
                }
                catch (Exception e)
                {
                    Fail($"pair {pair.Id} round {round}: the writer got {ConcurrencyMode.Describe(e)}");
                }

                Volatile.Write(ref r.WriterDone, true);
                pair.Rounds++;
                Retire(pair, pending, MaxPending);
            }

            Volatile.Write(ref pair.Stop, true);
            Retire(pair, pending, 0);
        }

        /// <summary>
        /// Inserts the round's keys in bursts that each end with the insert that starts a growth,
        /// sleeping after each burst: the enumerator pinned to the same CPU runs meanwhile, and the
        /// writer's next wake-up preempts it wherever it is, with a growth to come before it resumes.
        /// </summary>
        private void Fill(Pair pair, Round r)
        {
            GoMap<long, long> map = r.Map;
            for (int i = 0; i < RoundInserts;)
            {
                long growths = map.Work.GrowthStarts;
                do
                {
                    long k = Key(pair.Id, r.Number, i);
                    map[k] = Val(k);
                    Volatile.Write(ref r.Completed, ++i);
                }
                while (i < RoundInserts && map.Work.GrowthStarts == growths);

                Native.SleepMicroseconds(SleepMicros);
            }
        }

        /// <summary>Checks and disposes the rounds the enumerator is done with, waiting until at most <paramref name="keep"/> remain.</summary>
        private void Retire(Pair pair, Queue<Round> pending, int keep)
        {
            var wait = new SpinWait();
            while (pending.Count > 0)
            {
                Round r = pending.Peek();
                if (r.Number <= Volatile.Read(ref pair.Ack))
                {
                    CheckRoundEnd(pair, pending.Dequeue());
                }
                else if (pending.Count > keep)
                {
                    wait.SpinOnce(sleep1Threshold: -1);
                }
                else
                {
                    return;
                }
            }
        }

        /// <summary>An unpoisoned map at the end of a round holds exactly the writer's inserts; then it is disposed.</summary>
        private void CheckRoundEnd(Pair pair, Round r)
        {
            try
            {
                long count = r.Map.LongCount;
                r.Map.Validate();
                if (count != r.Completed)
                {
                    Fail($"pair {pair.Id} round {r.Number}: count {count} after {r.Completed} inserts");
                }
            }
            catch (ConcurrentMapAccessException)
            {
                // Poisoned by a detection: every call throws, nothing more to check.
            }
            catch (InvalidOperationException e)
            {
                Fail($"pair {pair.Id} round {r.Number}: Validate: {e.Message}");
            }

            r.Map.Dispose();
        }

        /// <summary>Starts enumerations on the latest round's map until its writer is done, then walks it whole once.</summary>
        private void Enumerator(Pair pair)
        {
            Native.PinCurrentThread(pair.Id);
            var seen = new ulong[SeenWords];
            int last = 0;
            var wait = new SpinWait();
            while (true)
            {
                Round? r = Volatile.Read(ref pair.Current);
                if (r is null || r.Number == last)
                {
                    if (Volatile.Read(ref pair.Stop) && (r is null || r.Number == last))
                    {
                        return;
                    }

                    wait.SpinOnce(sleep1Threshold: -1);
                    continue;
                }

                last = r.Number;
                try
                {
                    StartUntilWriterDone(pair, r, seen);
                }
                catch (ConcurrentMapAccessException e)
                {
                    Detection(pair, e, "enumerator");
                }
                catch (Exception e)
                {
                    Fail($"pair {pair.Id} round {r.Number}: an enumeration got {ConcurrencyMode.Describe(e)}");
                }

                Volatile.Write(ref pair.Ack, r.Number);
            }
        }

        private void StartUntilWriterDone(Pair pair, Round r, ulong[] seen)
        {
            GoMap<long, long> map = r.Map;
            while (true)
            {
                // Every entry inserted before the start must be yielded by a walk that reaches the end.
                int before = Volatile.Read(ref r.Completed);
                long growths = map.Work.GrowthStarts;
                var e = map.GetEnumerator();

                // A start during which a growth began, or one that ended after the writer was
                // done, is walked to the end, where a bad start bucket cannot hide; the others take
                // one step, so that starts follow each other quickly.
                bool straddled = map.Work.GrowthStarts != growths;
                bool full = straddled || Volatile.Read(ref r.WriterDone);
                pair.Starts++;
                pair.Straddled += straddled ? 1 : 0;
                int yielded = Walk(pair, ref e, r.Number, seen, full);
                e.Dispose();
                if (full)
                {
                    pair.FullWalks++;
                    // The writer counts an insert after it returns: one may be done and not yet counted.
                    int after = Volatile.Read(ref r.Completed);
                    int missing = MissingBelow(seen, before);
                    if (missing >= 0 || yielded > after + 1)
                    {
                        Fail($"pair {pair.Id} round {r.Number}: a full enumeration of a map holding {before} entries at its start and {after} at its end yielded {yielded}{(missing >= 0 ? $", not entry {missing}" : "")}");
                    }

                    if (r.WriterDone)
                    {
                        return;
                    }
                }
            }
        }

        /// <summary>The first entry index below <paramref name="n"/> not marked in <paramref name="seen"/>, or −1.</summary>
        private static int MissingBelow(ulong[] seen, int n)
        {
            for (int i = 0; i < n; i++)
            {
                if ((seen[i >> 6] & (1UL << (i & 63))) == 0)
                {
                    return i;
                }
            }

            return -1;
        }

        /// <summary>
        /// One step, or with <paramref name="full"/> every step to the end: each entry must be one
        /// of this round's, and in a full walk none may come twice (marked in <paramref name="seen"/>).
        /// </summary>
        private int Walk(Pair pair, ref GoMap<long, long>.Enumerator e, int round, ulong[] seen, bool full)
        {
            if (full)
            {
                Array.Clear(seen);
            }

            int n = 0;
            while ((full ? n <= RoundInserts : n < ShortWalk) && e.MoveNext())
            {
                var (k, v) = e.Current;
                long i = k & 0xFFFF;
                if (k != Key(pair.Id, round, (int)i) || i >= RoundInserts || v != Val(k))
                {
                    Fail($"pair {pair.Id} round {round}: an enumeration yielded [{k}, {v}], no entry of this map (step {n + 1})");
                    return n;
                }

                ulong bit = 1UL << (int)(i & 63);
                if (full && (seen[i >> 6] & bit) != 0)
                {
                    Fail($"pair {pair.Id} round {round}: an enumeration yielded key {k} twice");
                    return n;
                }

                seen[i >> 6] |= bit;
                n++;
            }

            return n;
        }

        /// <summary>One writer and one enumerator, each with its counters; the rounds they share.</summary>
        private sealed class Pair
        {
            internal readonly int Id;
            internal Round? Current;       // the latest round, published by the writer
            internal int Ack;              // the last round the enumerator is done with: the writer may dispose it and all before
            internal bool Stop;            // no more rounds
            internal bool Pinned;          // both threads share one CPU
            internal long Rounds;
            internal long Starts;
            internal long Straddled;       // starts during which a growth began (read from the map's work counters)
            internal long FullWalks;
            internal long Detected;        // detections, by either thread (a poisoned map throws at both)

            internal Pair(int id) => Id = id;
        }

        /// <summary>One fresh map and its writer's progress.</summary>
        private sealed class Round
        {
            internal readonly int Number;
            internal readonly GoMap<long, long> Map;
            internal int Completed;        // inserts done
            internal bool WriterDone;      // no more writes to Map

            internal Round(int number, GoMap<long, long> map)
            {
                Number = number;
                Map = map;
            }
        }
    }
}
