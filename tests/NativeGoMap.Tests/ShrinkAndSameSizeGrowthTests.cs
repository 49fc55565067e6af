using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// Two resize states that earlier randomized hunts rarely reached, driven on purpose and
    /// checked against a <c>Dictionary</c> model with <c>Validate</c> after every operation:
    /// <list type="bullet">
    /// <item>A small table mid-shrink: a shrink whose old array has 2^1 to 2^6 buckets. A
    /// <c>TrimExcess</c> call evacuates up to 256 old buckets itself, so on such a table it ends
    /// the shrink it starts; the writes carry a small table's shrink when it is the second step of
    /// a chained trim (B 9-11 trimmed to a few entries goes down five levels, then the rest) or a
    /// pending trim step (<see cref="GoMap{TKey, TValue}.PendingResizeB"/>) that the next write starts.</item>
    /// <item>A same-size growth (Go's sameSizeGrow), started by the overflow buckets of
    /// insert/delete churn, over keys whose comparer gives many keys one hash code and over plain
    /// keys.</item>
    /// </list>
    /// While each state runs, every write kind (indexer, Add/TryAdd, both Removes,
    /// GetValueRefOrAddDefault and writes through it and through an enumerator's CurrentValueRef,
    /// SetValues, RemoveKeys, Clear, EnsureCapacity, both TrimExcess overloads), lookups and
    /// TryGetValues, WriteTo snapshots read back with ReadFrom, and up to four hand-driven
    /// enumerators started before and during the state are mixed, each walk checked against Go's
    /// rules: a yielded entry is present with its current value and is not yielded twice (a key
    /// removed and set again is a new entry); a walk that ends has yielded every entry present
    /// since it began. Every run ends with Dispose and the process's native bytes back at their
    /// baseline. Each test asserts that the state it is about was reached and worked in.
    /// Derived from a hunt with this driver (2026-12-06, Release): 26,000 runs over the four
    /// routes, the four key types and both concurrency modes, 82,000 small-table shrinks and
    /// 17,000 same-size growths seen in the middle, 1.3 million enumerator steps taken inside
    /// them; it found no library bug.
    /// </summary>
    [Collection(NativeMemoryCollection.Name)]
    public unsafe class ShrinkAndSameSizeGrowthTests
    {
        /// <summary>The key types the scenarios run over.</summary>
        public enum KeyKind
        {
            Long,
            Int,
            Guid,

            /// <summary>A 200-byte key compared by its bytes, stored indirectly (over 128 bytes).</summary>
            Blob,
        }

        /// <summary>How a scenario reaches its state.</summary>
        public enum Route
        {
            /// <summary>A B 9-11 table emptied to a few hundred entries or fewer and trimmed: the first shrink (five levels) and the second, from B 4-6, are carried by writes.</summary>
            ChainedTrim,

            /// <summary>A B 1-6 table with a trim step pending (as a chained trim leaves one): the next write starts the shrink, the writes after it carry it.</summary>
            PendingShrink,

            /// <summary>Keys whose comparer gives 8 or 16 consecutive ids one hash code, added and removed group by group until a same-size growth starts.</summary>
            SkewedChurn,

            /// <summary>Plain keys (no comparer: the key type's own hash): fresh keys that the map's hash puts in one bucket added past what it holds and removed again, bucket after bucket, until a same-size growth starts.</summary>
            PlainChurn,
        }

        /// <summary>The operations a scenario's phases favour.</summary>
        public enum Mix
        {
            All,
            Enumeration,
            Snapshots,
            Batches,
            Requests,
        }

        // ---- small tables mid-shrink ----

        /// <summary>A small table's shrink that writes carry (started by a write from a pending trim step) keeps every entry: the model and Validate agree after every operation.</summary>
        [Theory]
        [InlineData(KeyKind.Long, ConcurrencyChecks.Go, 101)]
        [InlineData(KeyKind.Int, ConcurrencyChecks.Strict, 102)]
        [InlineData(KeyKind.Guid, ConcurrencyChecks.Go, 103)]
        [InlineData(KeyKind.Blob, ConcurrencyChecks.Strict, 104)]
        public void SmallTableShrinkCarriedByWritesKeepsModel(KeyKind kind, ConcurrencyChecks checks, int seed)
        {
            Tally t = RunSeeded(kind, Route.PendingShrink, Mix.All, checks, seed, cycles: 6);
            AssertReached(t.SmallShrinks > 0 && t.SmallShrinkWrites >= 3, "a small table's shrink carried by writes", t, seed);
        }

        /// <summary>A trim of a B 9-11 table down to a few entries chains two shrinks (the second from B 4-6) and both are carried by writes without losing an entry; trims made before a shrink ends keep the model too.</summary>
        [Theory]
        [InlineData(KeyKind.Long, ConcurrencyChecks.Go, 201)]
        [InlineData(KeyKind.Guid, ConcurrencyChecks.Strict, 203)]
        [InlineData(KeyKind.Int, ConcurrencyChecks.Go, 202)]
        public void ChainedTrimEndsInASmallTableShrinkThatKeepsModel(KeyKind kind, ConcurrencyChecks checks, int seed)
        {
            Tally t = RunSeeded(kind, Route.ChainedTrim, Mix.All, checks, seed, cycles: 3);
            AssertReached(t.SmallShrinks > 0 && t.SmallShrinkWrites > 0, "the chained trim's second shrink, from B 4-6, under writes", t, seed);
            AssertReached(t.TrimsDuringShrink > 0, "a TrimExcess before a shrink ended", t, seed);
        }

        /// <summary>Enumerators started before and during a small table's shrink, several live at once and driven by hand, yield each entry present throughout once, never a removed one, and current values.</summary>
        [Theory]
        [InlineData(KeyKind.Long, ConcurrencyChecks.Go, 301)]
        [InlineData(KeyKind.Int, ConcurrencyChecks.Strict, 302)]
        [InlineData(KeyKind.Guid, ConcurrencyChecks.Go, 303)]
        [InlineData(KeyKind.Blob, ConcurrencyChecks.Go, 304)]
        public void EnumeratorsAcrossSmallTableShrinkYieldEachSurvivorOnce(KeyKind kind, ConcurrencyChecks checks, int seed)
        {
            Tally t = RunSeeded(kind, Route.PendingShrink, Mix.Enumeration, checks, seed, cycles: 6);
            AssertReached(t.SmallShrinkEnumSteps > 0 && t.WalksStartedBefore > 0 && t.WalksStartedDuring > 0 && t.WalksEndedAfterState > 0, "enumerators stepped through a small table's shrink, started before and during it, walked to their end", t, seed);
        }

        /// <summary>A WriteTo snapshot taken in the middle of a small table's shrink reads back with ReadFrom to the model's entries.</summary>
        [Theory]
        [InlineData(KeyKind.Long, ConcurrencyChecks.Go, 401)]
        [InlineData(KeyKind.Blob, ConcurrencyChecks.Strict, 402)]
        public void SnapshotMidSmallTableShrinkReadsBackEqual(KeyKind kind, ConcurrencyChecks checks, int seed)
        {
            Tally t = RunSeeded(kind, Route.PendingShrink, Mix.Snapshots, checks, seed, cycles: 5);
            AssertReached(t.SmallShrinkSnapshots > 0, "a snapshot in the middle of a small table's shrink", t, seed);
        }

        /// <summary>TryGetValues, SetValues and RemoveKeys batches and writes through GetValueRefOrAddDefault's ref in the middle of a small table's shrink agree with the model.</summary>
        [Theory]
        [InlineData(KeyKind.Int, ConcurrencyChecks.Go, 501)]
        [InlineData(KeyKind.Guid, ConcurrencyChecks.Strict, 502)]
        public void BatchesAndRefWritesMidSmallTableShrinkKeepModel(KeyKind kind, ConcurrencyChecks checks, int seed)
        {
            Tally t = RunSeeded(kind, Route.PendingShrink, Mix.Batches, checks, seed, cycles: 6);
            AssertReached(t.SmallShrinkBatches > 0 && t.SmallShrinkRefWrites > 0, "batches and ref writes in the middle of a small table's shrink", t, seed);
        }

        // ---- same-size growth ----

        /// <summary>Churn of keys that share hash codes starts a same-size growth, which the writes that follow carry without losing an entry.</summary>
        [Theory]
        [InlineData(KeyKind.Long, ConcurrencyChecks.Go, 601)]
        [InlineData(KeyKind.Int, ConcurrencyChecks.Strict, 602)]
        [InlineData(KeyKind.Guid, ConcurrencyChecks.Go, 603)]
        [InlineData(KeyKind.Blob, ConcurrencyChecks.Strict, 604)]
        public void SameSizeGrowthFromSkewedChurnKeepsModel(KeyKind kind, ConcurrencyChecks checks, int seed)
        {
            Tally t = RunSeeded(kind, Route.SkewedChurn, Mix.All, checks, seed, cycles: 4);
            AssertReached(t.SameSizeGrowths > 0 && t.SameSizeWrites > 0, "a same-size growth carried by writes", t, seed);
        }

        /// <summary>Insert/delete churn of plain keys (no comparer) starts a same-size growth too, which the writes carry without losing an entry.</summary>
        [Theory]
        [InlineData(KeyKind.Long, ConcurrencyChecks.Go, 701)]
        [InlineData(KeyKind.Guid, ConcurrencyChecks.Strict, 702)]
        public void SameSizeGrowthFromPlainKeyChurnKeepsModel(KeyKind kind, ConcurrencyChecks checks, int seed)
        {
            Tally t = RunSeeded(kind, Route.PlainChurn, Mix.All, checks, seed, cycles: 3);
            AssertReached(t.SameSizeGrowths > 0 && t.SameSizeWrites > 0, "a same-size growth of plain keys carried by writes", t, seed);
        }

        /// <summary>Enumerators started before and during a same-size growth, several at once, yield each entry present throughout once, never a removed one, and current values.</summary>
        [Theory]
        [InlineData(KeyKind.Long, ConcurrencyChecks.Strict, 801)]
        [InlineData(KeyKind.Int, ConcurrencyChecks.Go, 802)]
        [InlineData(KeyKind.Blob, ConcurrencyChecks.Go, 803)]
        public void EnumeratorAcrossSameSizeGrowthYieldsEachSurvivorOnce(KeyKind kind, ConcurrencyChecks checks, int seed)
        {
            Tally t = RunSeeded(kind, Route.SkewedChurn, Mix.Enumeration, checks, seed, cycles: 3);
            AssertReached(t.SameSizeEnumSteps > 0 && t.WalksStartedBefore > 0 && t.WalksStartedDuring > 0 && t.WalksEndedAfterState > 0, "enumerators stepped through a same-size growth, started before and during it, walked to their end", t, seed);
        }

        /// <summary>A WriteTo snapshot, batches and ref writes in the middle of a same-size growth agree with the model (the snapshot read back with ReadFrom).</summary>
        [Theory]
        [InlineData(KeyKind.Long, ConcurrencyChecks.Go, 901)]
        [InlineData(KeyKind.Guid, ConcurrencyChecks.Strict, 902)]
        [InlineData(KeyKind.Blob, ConcurrencyChecks.Go, 903)]
        public void SnapshotsAndBatchesMidSameSizeGrowthKeepModel(KeyKind kind, ConcurrencyChecks checks, int seed)
        {
            Tally t1 = RunSeeded(kind, Route.SkewedChurn, Mix.Snapshots, checks, seed, cycles: 2);
            AssertReached(t1.SameSizeSnapshots > 0, "a snapshot in the middle of a same-size growth", t1, seed);
            Tally t2 = RunSeeded(kind, Route.SkewedChurn, Mix.Batches, checks, seed + 1, cycles: 2);
            AssertReached(t2.SameSizeBatches > 0 && t2.SameSizeRefWrites > 0, "batches and ref writes in the middle of a same-size growth", t2, seed + 1);
        }

        /// <summary>A doubling (EnsureCapacity) or a shrink (TrimExcess) requested before a same-size growth ends takes effect after it without losing an entry.</summary>
        [Theory]
        [InlineData(KeyKind.Long, ConcurrencyChecks.Go, 1001)]
        [InlineData(KeyKind.Int, ConcurrencyChecks.Strict, 1002)]
        [InlineData(KeyKind.Blob, ConcurrencyChecks.Go, 1003)]
        public void ResizeRequestedDuringSameSizeGrowthKeepsModel(KeyKind kind, ConcurrencyChecks checks, int seed)
        {
            Tally t = RunSeeded(kind, Route.SkewedChurn, Mix.Requests, checks, seed, cycles: 5);
            AssertReached(t.GrowRequestsDuringSameSize > 0 && t.TrimRequestsDuringSameSize > 0, "an EnsureCapacity and a TrimExcess before a same-size growth ended", t, seed);
            AssertReached(t.GrowthsAfterSameSize > 0, "the doubling asked for during a same-size growth, started after it", t, seed);
        }

        /// <summary>Disposing a map in the middle of a small table's shrink or of a same-size growth, with enumerators live, returns the process's native bytes to their baseline.</summary>
        [Theory]
        [InlineData(KeyKind.Long, Route.PendingShrink, 1101)]
        [InlineData(KeyKind.Int, Route.ChainedTrim, 1102)]
        [InlineData(KeyKind.Guid, Route.SkewedChurn, 1103)]
        [InlineData(KeyKind.Blob, Route.SkewedChurn, 1104)]
        public void DisposeMidStateReturnsNativeBytesToBaseline(KeyKind kind, Route route, int seed)
        {
            Tally t = RunSeeded(kind, route, Mix.All, ConcurrencyChecks.Go, seed, cycles: 2, disposeMidState: true);
            AssertReached(t.DisposedMidState == 1, "a Dispose in the middle of the state with enumerators live", t, seed);
        }

        // ---- the driver ----

        private static void AssertReached(bool condition, string what, Tally t, int seed) =>
            Assert.True(condition, $"seed {seed}: the scenario never reached {what}: {t}");

        private static Tally RunSeeded(KeyKind kind, Route route, Mix mix, ConcurrencyChecks checks, int seed, int cycles, bool disposeMidState = false)
        {
            var tally = new Tally();
            long baseline = LiveBytes.Settled();
            Seeded.Run(s => Run(kind, route, mix, checks, s, cycles, tally, disposeMidState), seed);
            Assert.True(baseline == GoMapDiagnostics.LiveNativeBytes, $"seed {seed}: native bytes {GoMapDiagnostics.LiveNativeBytes} after the run, {baseline} before");
            return tally;
        }

        /// <summary>One run of a scenario (the hunt's entry too); failures throw with the seed in the message when run through <see cref="Seeded.Run"/>.</summary>
        internal static void Run(KeyKind kind, Route route, Mix mix, ConcurrencyChecks checks, int seed, int cycles, Tally tally, bool disposeMidState = false)
        {
            switch (kind)
            {
                case KeyKind.Long:
                    new Driver<long>(Keys.Long, route, mix, checks, seed, tally).Run(cycles, disposeMidState);
                    break;
                case KeyKind.Int:
                    new Driver<int>(Keys.Int, route, mix, checks, seed, tally).Run(cycles, disposeMidState);
                    break;
                case KeyKind.Guid:
                    new Driver<Guid>(Keys.Guid, route, mix, checks, seed, tally).Run(cycles, disposeMidState);
                    break;
                default:
                    new Driver<Blob200>(Keys.Blob, route, mix, checks, seed, tally).Run(cycles, disposeMidState);
                    break;
            }
        }

        /// <summary>What the runs reached and did in each state (the hunt sums them over runs).</summary>
        internal sealed class Tally
        {
            public long Runs;
            public long Ops;
            public long SmallShrinks;          // distinct shrinks of an old array of B ≤ 6 seen in the middle
            public long SmallShrinkOps;
            public long SmallShrinkWrites;
            public long SmallShrinkEnumSteps;
            public long SmallShrinkSnapshots;
            public long SmallShrinkBatches;
            public long SmallShrinkRefWrites;
            public long SameSizeGrowths;       // distinct same-size growths seen in the middle
            public long SameSizeMisses;        // churns that gave up before one started
            public long SameSizeOps;
            public long SameSizeWrites;
            public long SameSizeEnumSteps;
            public long SameSizeSnapshots;
            public long SameSizeBatches;
            public long SameSizeRefWrites;
            public long ResizeRequestsMidState; // EnsureCapacity or TrimExcess while a resize runs or is pending
            public long TrimsDuringShrink;
            public long GrowRequestsDuringSameSize;
            public long TrimRequestsDuringSameSize;
            public long GrowthsAfterSameSize;
            public long WalksStartedBefore;
            public long WalksStartedDuring;
            public long WalksEndedAfterState;
            public long WalksCompleted;
            public long DisposedMidState;
            public readonly SortedDictionary<string, long> Shrinks = new SortedDictionary<string, long>(StringComparer.Ordinal);

            public void Add(Tally o)
            {
                Runs += o.Runs; Ops += o.Ops; SmallShrinks += o.SmallShrinks; SmallShrinkOps += o.SmallShrinkOps; SmallShrinkWrites += o.SmallShrinkWrites;
                SmallShrinkEnumSteps += o.SmallShrinkEnumSteps; SmallShrinkSnapshots += o.SmallShrinkSnapshots; SmallShrinkBatches += o.SmallShrinkBatches;
                SmallShrinkRefWrites += o.SmallShrinkRefWrites; SameSizeGrowths += o.SameSizeGrowths; SameSizeMisses += o.SameSizeMisses; SameSizeOps += o.SameSizeOps;
                SameSizeWrites += o.SameSizeWrites; SameSizeEnumSteps += o.SameSizeEnumSteps; SameSizeSnapshots += o.SameSizeSnapshots; SameSizeBatches += o.SameSizeBatches;
                SameSizeRefWrites += o.SameSizeRefWrites; ResizeRequestsMidState += o.ResizeRequestsMidState; TrimsDuringShrink += o.TrimsDuringShrink; GrowRequestsDuringSameSize += o.GrowRequestsDuringSameSize;
                TrimRequestsDuringSameSize += o.TrimRequestsDuringSameSize; GrowthsAfterSameSize += o.GrowthsAfterSameSize; WalksStartedBefore += o.WalksStartedBefore;
                WalksStartedDuring += o.WalksStartedDuring; WalksEndedAfterState += o.WalksEndedAfterState; WalksCompleted += o.WalksCompleted; DisposedMidState += o.DisposedMidState;
                foreach (KeyValuePair<string, long> kv in o.Shrinks)
                {
                    Shrinks[kv.Key] = (Shrinks.TryGetValue(kv.Key, out long n) ? n : 0) + kv.Value;
                }
            }

            public override string ToString() =>
                $"runs={Runs} ops={Ops} | small shrinks={SmallShrinks} ops={SmallShrinkOps} writes={SmallShrinkWrites} enumSteps={SmallShrinkEnumSteps} snapshots={SmallShrinkSnapshots} batches={SmallShrinkBatches} refWrites={SmallShrinkRefWrites} " +
                $"[{string.Join(" ", Shrinks.Select(kv => kv.Key + ":" + kv.Value))}] | same-size growths={SameSizeGrowths} misses={SameSizeMisses} ops={SameSizeOps} writes={SameSizeWrites} enumSteps={SameSizeEnumSteps} snapshots={SameSizeSnapshots} " +
                $"batches={SameSizeBatches} refWrites={SameSizeRefWrites} growReq={GrowRequestsDuringSameSize} trimReq={TrimRequestsDuringSameSize} growthsAfter={GrowthsAfterSameSize} | resizeReqMidResize={ResizeRequestsMidState} trimsDuringShrink={TrimsDuringShrink} " +
                $"walks before={WalksStartedBefore} during={WalksStartedDuring} endedAfterState={WalksEndedAfterState} completed={WalksCompleted} disposedMidState={DisposedMidState}";
        }

        /// <summary>A key type's ids: every key is made from an int id and read back to it.</summary>
        internal sealed class KeySpec<TKey>
        {
            public KeySpec(Func<int, TKey> make, Func<TKey, int> id, IEqualityComparer<TKey> equality)
            {
                Make = make;
                Id = id;
                Equality = equality;
            }

            public Func<int, TKey> Make { get; }

            public Func<TKey, int> Id { get; }

            /// <summary>Equality by value (by bytes for the blob), for the skewed comparer and for checking yielded keys.</summary>
            public IEqualityComparer<TKey> Equality { get; }
        }

        internal static class Keys
        {
            public static readonly KeySpec<long> Long = new KeySpec<long>(i => i * 0x9E3779B1L, k => (int)(k / 0x9E3779B1L), EqualityComparer<long>.Default);

            public static readonly KeySpec<int> Int = new KeySpec<int>(i => i, k => k, EqualityComparer<int>.Default);

            public static readonly KeySpec<Guid> Guid = new KeySpec<Guid>(
                i => new Guid(i, (short)(i >> 7), (short)~i, 1, 2, 3, 4, 5, 6, 7, (byte)i),
                g => BitConverter.ToInt32(g.ToByteArray(), 0),
                EqualityComparer<Guid>.Default);

            public static readonly KeySpec<Blob200> Blob = new KeySpec<Blob200>(i => Blob200.Of(i), b => (int)b.Id, Blob200Comparer.Instance);
        }

        /// <summary>Many keys to few hashes: ids that differ only in their low <c>shift</c> bits share a hash code, so consecutive fresh ids pile up in one chain.</summary>
        internal sealed class SkewComparer<TKey> : IEqualityComparer<TKey>
        {
            private readonly KeySpec<TKey> _keys;
            private readonly int _shift;

            public SkewComparer(KeySpec<TKey> keys, int shift)
            {
                _keys = keys;
                _shift = shift;
            }

            public bool Equals(TKey? x, TKey? y) => _keys.Equality.Equals(x!, y!);

            public int GetHashCode(TKey obj) => _keys.Id(obj) >> _shift;
        }

        /// <summary>Ids with O(1) add, remove and random pick (the model's keys, for drawing).</summary>
        private sealed class IdBag
        {
            private readonly List<int> _items = new List<int>();
            private readonly Dictionary<int, int> _index = new Dictionary<int, int>();

            public int Count => _items.Count;

            public void Add(int id)
            {
                if (!_index.ContainsKey(id))
                {
                    _index[id] = _items.Count;
                    _items.Add(id);
                }
            }

            public void Remove(int id)
            {
                if (_index.TryGetValue(id, out int at))
                {
                    int last = _items[_items.Count - 1];
                    _items[at] = last;
                    _index[last] = at;
                    _items.RemoveAt(_items.Count - 1);
                    _index.Remove(id);
                }
            }

            public void Clear()
            {
                _items.Clear();
                _index.Clear();
            }

            public int Pick(Random rng) => _items[rng.Next(_items.Count)];
        }

        /// <summary>A live hand-driven enumeration and what Go's rules say of it.</summary>
        private sealed class Walk<TKey> : WalkLedger
            where TKey : unmanaged
        {
            public Walk(IEnumerable<int> present)
                : base(present)
            {
            }

            public GoMap<TKey, long>.Enumerator E;
            public bool SawState;
        }

        private enum State
        {
            None,
            SmallShrink,
            SameSize,
        }

        private sealed class Driver<TKey>
            where TKey : unmanaged
        {
            private const int MaxWalks = 4;

            private readonly KeySpec<TKey> _keys;
            private readonly Route _route;
            private readonly Mix _mix;
            private readonly int _seed;
            private readonly Random _rng;
            private readonly Tally _tally;
            private readonly IEqualityComparer<TKey>? _comparer;
            private readonly GoMapOptions _options;
            private readonly GoMap<TKey, long> _map;
            private readonly Dictionary<int, long> _model = new Dictionary<int, long>();
            private readonly IdBag _ids = new IdBag();
            private readonly List<int> _removed = new List<int>(); // recently removed ids, to set again
            private readonly List<Walk<TKey>> _walks = new List<Walk<TKey>>();
            private int _nextId = 1;
            private long _nextValue = 1;
            private State _state;
            private nint _stateArray; // the old array of the state last counted
            private int _sinceFullCheck;
            private int _validateEvery = 64; // 1 in the random phases, on a small table
            private bool _growAskedInSameSize;
            private bool _freshState; // no request made yet in the state last counted
            private int _requests; // an EnsureCapacity during a same-size growth left a doubling pending

            public Driver(KeySpec<TKey> keys, Route route, Mix mix, ConcurrencyChecks checks, int seed, Tally tally)
            {
                _keys = keys;
                _route = route;
                _mix = mix;
                _seed = seed;
                _rng = new Random(seed);
                _tally = tally;
                _comparer = route == Route.SkewedChurn ? new SkewComparer<TKey>(keys, 3 + _rng.Next(2)) : null;
                _options = new GoMapOptions { Seed = (ulong)seed, ConcurrencyChecks = checks, PrepareGrowthAhead = _rng.Next(4) == 0 };
                _map = new GoMap<TKey, long>(_options, _comparer);
                if (route == Route.PendingShrink || _rng.Next(2) == 0)
                {
                    _map.DoubleLikeGoForTest(); // every B from 1 up is reached, as with Go's growth
                }

                if (route is Route.SkewedChurn or Route.PlainChurn || (seed & 1) == 0)
                {
                    // Emptied overflow buckets left linked, as Go's mapdelete leaves them: the
                    // churn routes need them to pile up into same-size growths (the map's own way
                    // unlinks a chain's empty tail, which the other routes take for odd seeds; not
                    // drawn from the generator, whose draws lay out each scenario).
                    _map.KeepEmptyOverflowLikeGoForTest();
                }
            }

            public void Run(int cycles, bool disposeMidState)
            {
                long baseline = GoMapDiagnostics.LiveNativeBytes;
                _tally.Runs++;
                int disposeCycle = disposeMidState ? _rng.Next(cycles) : -1;
                try
                {
                    for (int c = 0; c < cycles; c++)
                    {
                        bool reached = _route switch
                        {
                            Route.ChainedTrim => ReachChainedTrim(),
                            Route.PendingShrink => ReachPendingShrink(),
                            Route.SkewedChurn => ReachSameSize(skewed: true),
                            _ => ReachSameSize(skewed: false),
                        };

                        if (c == disposeCycle && reached && DisposeMidState())
                        {
                            Assert.True(baseline == GoMapDiagnostics.LiveNativeBytes, $"native bytes {GoMapDiagnostics.LiveNativeBytes} after a Dispose mid-state, {baseline} before");
                            return;
                        }

                        Phase(maxOps: 2_500, afterState: 40 + _rng.Next(120));
                    }

                    EndWalks();

                    CheckAll();
                }
                finally
                {
                    foreach (Walk<TKey> w in _walks)
                    {
                        w.E.Dispose();
                    }

                    _map.Dispose();
                }

                Assert.True(baseline == GoMapDiagnostics.LiveNativeBytes, $"native bytes {GoMapDiagnostics.LiveNativeBytes} after Dispose, {baseline} before");
            }

            // ---- reaching the states ----

            /// <summary>A B 9-11 table emptied down and trimmed: the first shrink is in progress after the call (it evacuates 256 old buckets).</summary>
            private bool ReachChainedTrim()
            {
                int bigB = 9 + _rng.Next(3);
                GrowTo(bigB);
                int b = _map.GetStats().B;

                // Mostly a final B of 2 up to the first shrink's B − 1, so that the second shrink
                // has at least four groups and a write (two groups) leaves it running; else any.
                int target = _rng.Next(4) == 0 ? MapMath.BForHint(_rng.Next(417)) : 2 + _rng.Next(Math.Max(1, b - 7));
                int keep = target == 0 ? _rng.Next(9) : (int)MapMath.MaxCountBeforeGrowth(target - 1) + 1 + _rng.Next((int)(MapMath.MaxCountBeforeGrowth(target) - MapMath.MaxCountBeforeGrowth(target - 1)));
                RemoveDownTo(keep);
                MaybeStartWalksBefore();
                if (_rng.Next(2) == 0)
                {
                    _map.TrimExcess();
                }
                else
                {
                    _map.TrimExcess(_model.Count + _rng.Next((int)(MapMath.MaxCountBeforeGrowth(target) - _model.Count) + 1));
                }

                Check();
                GoMapStats s = _map.GetStats();
                if (_model.Count == 0)
                {
                    // An empty map drops its arrays at once (no shrink to carry).
                    Assert.True(s.B == 0 && !s.IsGrowing, $"a trim of an emptied B {b} table left {s}");
                    return false;
                }

                Assert.True(s.IsShrinking, $"a trim of a B {b} table to {_model.Count} entries did not leave a shrink in progress: {s}");
                return true;
            }

            /// <summary>A B 1-6 table (Go's doubling) with a trim step pending, as the end of a chained trim's first shrink leaves one: the next insert or update starts it.</summary>
            private bool ReachPendingShrink()
            {
                EndWalks();
                if (_map.GetStats().B > 6 || _map.GetStats().IsGrowing || _map.PendingResizeB >= 0)
                {
                    TrimDown(100);
                }

                int b0 = Math.Max(_rng.Next(4) == 0 ? 1 + _rng.Next(6) : 3 + _rng.Next(4), _map.GetStats().B);
                if (b0 < 1)
                {
                    return false;
                }

                GrowTo(b0);
                int b = _map.GetStats().B;
                int keep = _rng.Next((int)MapMath.MaxCountBeforeGrowth(b - 1) + 1);
                RemoveDownTo(keep);
                MaybeStartWalksBefore();
                int low = MapMath.BForHint(_model.Count);
                int target = _rng.Next(2) == 0 ? low + _rng.Next(b - low) : Math.Max(low, b - 1 - _rng.Next(2)); // mostly one or two levels: more groups, a longer shrink
                Assert.True(target < b && !_map.GetStats().IsGrowing && _map.PendingResizeB < 0, $"no shrink to plan: {_map.GetStats()}");
                _map.ResizeBRefForTest = target;
                _map.EnsureCapacity(0); // publishes the slow-write flag that a pending step needs; plans nothing
                Assert.Equal(target, _map.PendingResizeB);
                Check();
                return true;
            }

            /// <summary>Churn until a same-size growth is in progress (after the write that starts it).</summary>
            private bool ReachSameSize(bool skewed)
            {
                EndWalks(); // a walk live through the whole churn would keep every removed indirect key's block
                int b0 = 3 + _rng.Next(6);
                if (_map.GetStats().B > b0 + 1 || _map.GetStats().IsGrowing || _map.PendingResizeB >= 0)
                {
                    TrimDown((int)MapMath.MaxCountBeforeGrowth(b0) / 2);
                }

                GrowTo(b0);
                int b = _map.GetStats().B;
                long full = MapMath.MaxCountBeforeGrowth(b);
                int group = skewed ? 1 << (3 + _rng.Next(2)) : 1;
                if (skewed)
                {
                    // Groups of colliding keys up to a third to two thirds of the load factor.
                    long fill = full * (33 + _rng.Next(33)) / 100;
                    while (_model.Count < fill && _map.GetStats().B == b && !_map.GetStats().IsSameSizeGrow)
                    {
                        int first = AlignedFreshIds(group);
                        for (int k = first; k < first + group; k++)
                        {
                            Set(k, NextValue());
                        }
                    }
                }
                else
                {
                    // Plain keys: the count below the load factor by more than a churn round adds.
                    RemoveDownTo((int)(full * (40 + _rng.Next(40)) / 100));
                }

                bool walksStarted = false;
                long limit = skewed ? 200L << b : 4L << b;
                int firstBucket = _rng.Next(1 << b);
                for (long i = 0; i < limit; i++)
                {
                    if (!walksStarted && _map.GetStats().NOverflow >= (1 << b) * 3 / 4)
                    {
                        walksStarted = true; // close to the growth: the walks to carry across it
                        MaybeStartWalksBefore();
                    }

                    if (_map.GetStats().IsSameSizeGrow)
                    {
                        Check();
                        return true;
                    }

                    if (skewed)
                    {
                        // A group of fresh ids (one hash code per 8 or 16), then a group removed:
                        // chains fill, empty, and the next groups land elsewhere.
                        int first = AlignedFreshIds(group);
                        for (int k = first; k < first + group && !_map.GetStats().IsSameSizeGrow; k++)
                        {
                            Set(k, NextValue());
                        }

                        if (_ids.Count > 0 && !_map.GetStats().IsSameSizeGrow)
                        {
                            int victim = _ids.Pick(_rng) & ~(group - 1);
                            for (int k = victim; k < victim + group && !_map.GetStats().IsSameSizeGrow; k++)
                            {
                                Remove(k);
                            }
                        }

                        if (_map.GetStats().B > b + 1 || _model.Count > MapMath.MaxCountBeforeGrowth(b) * 9 / 10)
                        {
                            RemoveDownTo((int)(MapMath.MaxCountBeforeGrowth(b) / 2));
                        }
                    }
                    else
                    {
                        // Fresh keys that the map's own hash puts in one bucket, more than it
                        // holds, removed again; bucket after bucket. The overflow buckets stay
                        // linked (none is freed before a growth) until they start a same-size growth.
                        ulong bucket = (ulong)(firstBucket + i) & ((1UL << b) - 1);
                        var added = new List<int>();
                        for (int n = 9 + _rng.Next(12); n > 0 && !_map.GetStats().IsSameSizeGrow; n--)
                        {
                            int id = FreshIdInBucket(bucket, b);
                            Set(id, NextValue());
                            added.Add(id);
                        }

                        foreach (int id in added)
                        {
                            if (!_map.GetStats().IsSameSizeGrow)
                            {
                                Remove(id);
                            }
                        }
                    }

                    if ((i & 255) == 0)
                    {
                        Check();
                    }
                }

                _tally.SameSizeMisses++;
                return false;
            }

            private int FreshIdInBucket(ulong bucket, int b)
            {
                for (int guard = 0; ; guard++)
                {
                    Assert.True(guard < 1 << 20, "no fresh key for the bucket");
                    int id = _nextId++;
                    if ((_map.DefaultHashForTest(_keys.Make(id)) & ((1UL << b) - 1)) == bucket)
                    {
                        return id;
                    }
                }
            }

            private int AlignedFreshIds(int group)
            {
                int first = (_nextId + group - 1) & ~(group - 1);
                _nextId = first + group;
                return first;
            }

            /// <summary>Fresh keys until B is at least <paramref name="b"/> and no growth is running (updates finish it).</summary>
            private void GrowTo(int b)
            {
                for (int guard = 0; _map.GetStats().B < b; guard++)
                {
                    Assert.True(guard < 1_000_000, "the map never grew");
                    Set(_nextId++, NextValue());
                }

                for (int guard = 0; _map.GetStats().IsGrowing || _map.PendingResizeB >= 0; guard++)
                {
                    Assert.True(guard < 1_000_000, "the growth never finished");
                    if (_ids.Count == 0)
                    {
                        Set(_nextId++, NextValue());
                    }
                    else
                    {
                        Set(_ids.Pick(_rng), NextValue());
                    }
                }

                Check();
            }

            /// <summary>Removes down to at most <paramref name="keep"/> entries and trims until the trim reports completion.</summary>
            private void TrimDown(int keep)
            {
                RemoveDownTo(Math.Min(keep, _rng.Next(keep + 1)));
                for (int guard = 0; !_map.TrimExcess(); guard++)
                {
                    Assert.True(guard < 10_000, "TrimExcess never completed");
                }

                Check();
            }

            /// <summary>Ends every live walk: to its end, checked, or by Dispose.</summary>
            private void EndWalks()
            {
                while (_walks.Count > 0)
                {
                    if (_rng.Next(3) == 0)
                    {
                        DisposeWalk(_walks.Count - 1);
                    }
                    else
                    {
                        Step(_walks[_walks.Count - 1], 1 << 20);
                    }
                }
            }

            private void RemoveDownTo(int count)
            {
                while (_model.Count > count)
                {
                    Remove(_ids.Pick(_rng));
                }

                Check();
            }

            private void MaybeStartWalksBefore()
            {
                for (int n = _rng.Next(3); n > 0 && _walks.Count < MaxWalks; n--)
                {
                    StartWalk();
                    Walk<TKey> w = _walks[_walks.Count - 1];
                    for (int s = _rng.Next(8); s > 0 && _walks.Contains(w); s--)
                    {
                        Step(w, 1);
                    }
                }
            }

            // ---- the random phase ----

            private void Phase(int maxOps, int afterState)
            {
                _validateEvery = 1;
                try
                {
                    PhaseOps(maxOps, afterState);
                }
                finally
                {
                    _validateEvery = 64;
                }
            }

            private void PhaseOps(int maxOps, int afterState)
            {
                for (int i = 0; i < maxOps; i++)
                {
                    State st = Observe();
                    bool busy = st != State.None || _map.GetStats().IsGrowing || _map.PendingResizeB >= 0;
                    if (!busy && afterState-- <= 0)
                    {
                        break;
                    }

                    bool wrote = Op(st);
                    _tally.Ops++;
                    if (st == State.SmallShrink)
                    {
                        _tally.SmallShrinkOps++;
                        _tally.SmallShrinkWrites += wrote ? 1 : 0;
                    }
                    else if (st == State.SameSize)
                    {
                        _tally.SameSizeOps++;
                        _tally.SameSizeWrites += wrote ? 1 : 0;
                    }
                }
            }

            /// <summary>The state the map is in now; counts each shrink or same-size growth once, when first seen.</summary>
            private State Observe()
            {
                GoMapStats s = _map.GetStats();
                State st = s.IsShrinking && _map.OldBForTest <= 6 ? State.SmallShrink : s.IsSameSizeGrow ? State.SameSize : State.None;
                nint old = (nint)_map.OldBucketArray;
                if (st != State.None && (st != _state || old != _stateArray))
                {
                    _tally.WalksStartedBefore += _walks.Count; // live when this state began
                    if (st == State.SmallShrink)
                    {
                        _tally.SmallShrinks++;
                        string key = $"{_map.OldBForTest}->{s.B}";
                        _tally.Shrinks[key] = (_tally.Shrinks.TryGetValue(key, out long n) ? n : 0) + 1;
                    }
                    else
                    {
                        _tally.SameSizeGrowths++;
                    }

                    _stateArray = old;
                    _freshState = true;
                }

                if (_growAskedInSameSize && st != State.SameSize && s.IsGrowing && s.B > _map.OldBForTest)
                {
                    _tally.GrowthsAfterSameSize++;
                    _growAskedInSameSize = false;
                }

                if (st != State.None)
                {
                    foreach (Walk<TKey> w in _walks)
                    {
                        w.SawState = true;
                    }
                }

                _state = st;
                return st;
            }

            private bool Op(State st)
            {
                if (_freshState && st == State.SmallShrink && _route == Route.ChainedTrim)
                {
                    // Half the chained trims' second shrinks meet a trim before they end.
                    _freshState = false;
                    if (_rng.Next(2) == 0)
                    {
                        ResizeRequest(st, 1 + _rng.Next(3));
                        return true;
                    }
                }

                int r = _rng.Next(100);
                switch (_mix)
                {
                    case Mix.Enumeration:
                        if (r < 40)
                        {
                            StepRandomWalk(st);
                            return false;
                        }

                        break;
                    case Mix.Snapshots:
                        if (r < 6)
                        {
                            Snapshot(st);
                            return false;
                        }

                        break;
                    case Mix.Batches:
                        if (r < 20)
                        {
                            return Batch(st) | RefWrite(st);
                        }

                        break;
                    case Mix.Requests:
                        if (r < 10 || (_freshState && st == State.SameSize))
                        {
                            _freshState = false;
                            ResizeRequest(st);
                            return true;
                        }

                        break;
                }

                r = _rng.Next(1_000);
                if (r < 300)
                {
                    StepRandomWalk(st);
                    return false;
                }

                if (r < 340)
                {
                    if (_walks.Count < MaxWalks)
                    {
                        StartWalk();
                    }

                    return false;
                }

                if (r < 355)
                {
                    if (_walks.Count > 0)
                    {
                        DisposeWalk(_rng.Next(_walks.Count));
                    }

                    return false;
                }

                if (r < 430)
                {
                    Lookup();
                    return false;
                }

                if (r < 450)
                {
                    return Batch(st);
                }

                if (r < 458)
                {
                    Snapshot(st);
                    return false;
                }

                if (r < 560)
                {
                    Set(DrawId(), NextValue());
                    return true;
                }

                if (r < 640)
                {
                    Remove(DrawId());
                    return true;
                }

                if (r < 670)
                {
                    return RefWrite(st);
                }

                if (r < 690)
                {
                    int id = DrawId();
                    long v = NextValue();
                    bool absent = !_model.ContainsKey(id);
                    if (_rng.Next(2) == 0)
                    {
                        Assert.Equal(absent, _map.TryAdd(_keys.Make(id), v));
                    }
                    else if (absent)
                    {
                        _map.Add(_keys.Make(id), v);
                    }
                    else
                    {
                        Assert.Throws<ArgumentException>(() => _map.Add(_keys.Make(id), v));
                    }

                    if (absent)
                    {
                        ModelSet(id, v);
                    }

                    Check();
                    return true;
                }

                if (r < 705)
                {
                    int id = DrawId();
                    bool had = _model.TryGetValue(id, out long expected);
                    Assert.Equal(had, _map.Remove(_keys.Make(id), out long got));
                    if (had)
                    {
                        Assert.Equal(expected, got);
                        ModelRemove(id);
                    }

                    Check();
                    return true;
                }

                if (r < 715)
                {
                    ResizeRequest(st);
                    return true;
                }

                if (r < 718)
                {
                    _map.Clear();
                    foreach (int id in _model.Keys.ToList())
                    {
                        ModelRemove(id);
                    }

                    Check();
                    return true;
                }

                StepRandomWalk(st);
                return false;
            }

            private int DrawId()
            {
                int r = _rng.Next(10);
                if (r < 5 && _ids.Count > 0)
                {
                    return _ids.Pick(_rng);
                }

                if (r < 7 && _removed.Count > 0)
                {
                    return _removed[_rng.Next(_removed.Count)];
                }

                if (r < 8)
                {
                    return _rng.Next(1, _nextId + 1); // present or not
                }

                return _nextId++;
            }

            private long NextValue() => _nextValue++;

            // ---- writes, each checked against the model ----

            private void Set(int id, long v)
            {
                _map[_keys.Make(id)] = v;
                ModelSet(id, v);
                Check();
            }

            private void Remove(int id)
            {
                bool had = _model.ContainsKey(id);
                Assert.True(had == _map.Remove(_keys.Make(id)), $"Remove({id}) disagreed with the model (present: {had})");
                if (had)
                {
                    ModelRemove(id);
                }

                Check();
            }

            private bool RefWrite(State st)
            {
                int id = DrawId();
                long v = NextValue();
                ref long slot = ref _map.GetValueRefOrAddDefault(_keys.Make(id), out bool exists);
                bool had = _model.TryGetValue(id, out long before);
                Assert.True(had == exists, $"GetValueRefOrAddDefault({id}) exists={exists}, model {had}");
                Assert.Equal(had ? before : 0L, slot);
                slot = v;
                ModelSet(id, v);
                Check();
                Assert.True(_map.TryGetValue(_keys.Make(id), out long now) && now == v, $"the write through the ref of {id} is lost");
                CountIn(st, ref _tally.SmallShrinkRefWrites, ref _tally.SameSizeRefWrites);
                return true;
            }

            private bool Batch(State st)
            {
                int n = _rng.Next(1, 40);
                var keys = new TKey[n];
                var ids = new int[n];
                for (int i = 0; i < n; i++)
                {
                    ids[i] = DrawId();
                    keys[i] = _keys.Make(ids[i]);
                }

                CountIn(st, ref _tally.SmallShrinkBatches, ref _tally.SameSizeBatches);
                switch (_rng.Next(3))
                {
                    case 0:
                        {
                            var values = new long[n];
                            var found = new bool[n];
                            int hits = _map.TryGetValues(keys, values, found);
                            int expectedHits = 0;
                            for (int i = 0; i < n; i++)
                            {
                                bool had = _model.TryGetValue(ids[i], out long v);
                                expectedHits += had ? 1 : 0;
                                Assert.True(had == found[i], $"TryGetValues: key {ids[i]} found={found[i]}, model {had}");
                                Assert.Equal(had ? v : 0L, values[i]);
                            }

                            Assert.Equal(expectedHits, hits);
                            return false;
                        }

                    case 1:
                        {
                            var values = new long[n];
                            var added = new HashSet<int>();
                            for (int i = 0; i < n; i++)
                            {
                                values[i] = NextValue();
                                if (!_model.ContainsKey(ids[i]))
                                {
                                    added.Add(ids[i]);
                                }
                            }

                            Assert.Equal(added.Count, _map.SetValues(keys, values));
                            for (int i = 0; i < n; i++)
                            {
                                ModelSet(ids[i], values[i]); // a key given twice: its last value wins
                            }

                            Check();
                            return true;
                        }

                    default:
                        {
                            var present = new HashSet<int>(ids.Where(_model.ContainsKey));
                            Assert.Equal(present.Count, _map.RemoveKeys(keys));
                            foreach (int id in present)
                            {
                                ModelRemove(id);
                            }

                            Check();
                            return true;
                        }
                }
            }

            private void ResizeRequest(State st, int kind = -1)
            {
                GoMapStats before = _map.GetStats();
                if (st != State.None || before.IsGrowing || _map.PendingResizeB >= 0)
                {
                    _tally.ResizeRequestsMidState++;
                }

                if (_route == Route.ChainedTrim && before.IsShrinking && _map.OldBForTest > 6 && _rng.Next(2) == 0)
                {
                    // Half the time the first shrink is left to the writes, which then start the second.
                    Set(DrawId(), NextValue());
                    return;
                }

                int r = kind >= 0 ? kind : st == State.SameSize && _mix == Mix.Requests ? _requests++ & 1 : _rng.Next(4); // there, growth and trim in turn
                if (r == 0)
                {
                    long cap = _rng.Next(2) == 0 && st != State.SameSize
                        ? _model.Count * (1L + _rng.Next(4)) + _rng.Next(64)
                        : MapMath.MaxCountBeforeGrowth(before.B) + 1 + _rng.Next(200); // a doubling at least
                    long guaranteed = _map.EnsureCapacity(cap);
                    Assert.True(guaranteed >= cap && guaranteed >= _model.Count, $"EnsureCapacity({cap}) guaranteed {guaranteed} with {_model.Count} entries");
                    if (st == State.SameSize)
                    {
                        _tally.GrowRequestsDuringSameSize++;
                        _growAskedInSameSize |= _map.PendingResizeB > _map.GetStats().B;
                    }
                }
                else
                {
                    if (r == 1)
                    {
                        _map.TrimExcess(_model.Count + _rng.Next(200));
                    }
                    else
                    {
                        _map.TrimExcess();
                    }

                    if (st == State.SameSize)
                    {
                        _tally.TrimRequestsDuringSameSize++;
                    }

                    if (before.IsShrinking)
                    {
                        _tally.TrimsDuringShrink++;
                    }
                }

                Check();
            }

            private void Lookup()
            {
                int id = DrawId();
                bool had = _model.TryGetValue(id, out long v);
                Assert.True(had == _map.TryGetValue(_keys.Make(id), out long got), $"TryGetValue({id}) disagreed with the model (present: {had})");
                Assert.Equal(had ? v : 0L, got);
                Assert.Equal(had, _map.ContainsKey(_keys.Make(id)));
            }

            private void Snapshot(State st)
            {
                using var stream = new MemoryStream();
                _map.WriteTo(stream);
                stream.Position = 0;
                using GoMap<TKey, long> copy = GoMap<TKey, long>.ReadFrom(stream, new GoMapOptions { Seed = _options.Seed }, _comparer);
                copy.Validate();
                Assert.True(_model.Count == copy.Count, $"the snapshot holds {copy.Count} entries, the model {_model.Count}");
                foreach (KeyValuePair<int, long> kv in _model)
                {
                    Assert.True(copy.TryGetValue(_keys.Make(kv.Key), out long v) && v == kv.Value, $"the snapshot lost or changed key {kv.Key}");
                }

                CountIn(st, ref _tally.SmallShrinkSnapshots, ref _tally.SameSizeSnapshots);
                Check();
            }

            private static void CountIn(State st, ref long smallShrink, ref long sameSize)
            {
                if (st == State.SmallShrink)
                {
                    smallShrink++;
                }
                else if (st == State.SameSize)
                {
                    sameSize++;
                }
            }

            // ---- enumerations ----

            private void StartWalk()
            {
                var w = new Walk<TKey>(_model.Keys) { E = _map.GetEnumerator() };
                _walks.Add(w);
                if (_state != State.None)
                {
                    _tally.WalksStartedDuring++;
                }
            }

            private void StepRandomWalk(State st)
            {
                if (_walks.Count == 0)
                {
                    StartWalk();
                    return;
                }

                Walk<TKey> w = _walks[_rng.Next(_walks.Count)];
                int steps = _rng.Next(4) == 0 ? 1 + _rng.Next(16) : 1;
                CountIn(st, ref _tally.SmallShrinkEnumSteps, ref _tally.SameSizeEnumSteps);
                Step(w, steps);
            }

            /// <summary>Up to <paramref name="steps"/> MoveNext calls, each yield checked; a write through CurrentValueRef now and then (an update, valid until the next write).</summary>
            private void Step(Walk<TKey> w, int steps)
            {
                for (int s = 0; s < steps; s++)
                {
                    if (!w.E.MoveNext())
                    {
                        foreach (int kept in w.Present)
                        {
                            Assert.True(w.Yielded.Contains(kept), $"a walk ended without key {kept}, present since it began");
                        }

                        _tally.WalksCompleted++;
                        if (w.SawState)
                        {
                            _tally.WalksEndedAfterState++;
                        }

                        w.E.Dispose();
                        _walks.Remove(w);
                        return;
                    }

                    KeyValuePair<TKey, long> kv = w.E.Current;
                    int id = _keys.Id(kv.Key);
                    Assert.True(_keys.Equality.Equals(_keys.Make(id), kv.Key), $"a walk yielded a malformed key (id {id})");
                    Assert.True(_model.TryGetValue(id, out long v), $"a walk yielded key {id}, which is not present");
                    Assert.True(v == kv.Value, $"a walk yielded key {id} with value {kv.Value}, current {v}");
                    Assert.True(w.FirstYield(id), $"a walk yielded key {id} twice");
                    if (_rng.Next(8) == 0)
                    {
                        long nv = NextValue();
                        w.E.CurrentValueRef = nv;
                        ModelSet(id, nv);
                        Check();
                        return; // a write: the walk goes on at its next step
                    }
                }
            }

            private void DisposeWalk(int index)
            {
                _walks[index].E.Dispose();
                _walks.RemoveAt(index);
            }

            private bool DisposeMidState()
            {
                // Into the state (a pending step starts at the next write), enumerators live.
                for (int i = 0; i < 64 && Observe() == State.None && !_map.GetStats().IsShrinking; i++)
                {
                    int id = _ids.Count > 0 ? _ids.Pick(_rng) : _nextId++;
                    Set(id, NextValue());
                }

                if (Observe() == State.None && !_map.GetStats().IsShrinking)
                {
                    return false;
                }

                while (_walks.Count < 2)
                {
                    StartWalk();
                    Step(_walks[_walks.Count - 1], 1 + _rng.Next(4));
                }

                _map.Dispose();
                foreach (Walk<TKey> w in _walks)
                {
                    Assert.Throws<ObjectDisposedException>(() => w.E.MoveNext());
                    w.E.Dispose();
                }

                _walks.Clear();
                _tally.DisposedMidState++;
                return true;
            }

            // ---- the model ----

            private void ModelSet(int id, long v)
            {
                _model[id] = v;
                _ids.Add(id);
            }

            private void ModelRemove(int id)
            {
                _model.Remove(id);
                _ids.Remove(id);
                if (_removed.Count < 64)
                {
                    _removed.Add(id);
                }
                else
                {
                    _removed[_rng.Next(64)] = id;
                }

                foreach (Walk<TKey> w in _walks)
                {
                    w.Removed(id);
                }
            }

            /// <summary>Count after every operation, Validate after every one on a small table (every 64th on a big one), every key every 64th.</summary>
            private void Check()
            {
                Assert.True(_model.Count == _map.Count, $"the map holds {_map.Count} entries, the model {_model.Count}: {_map.GetStats()}");
                _sinceFullCheck++;
                if (_validateEvery == 1 && _map.GetStats().B <= 8 && (_map.OldBucketArray == null || _map.OldBForTest <= 8))
                {
                    _map.Validate();
                }
                else if ((_sinceFullCheck % _validateEvery) == 0)
                {
                    _map.Validate();
                }

                if (_sinceFullCheck >= (_validateEvery == 1 ? 64 : 2_048))
                {
                    CheckAll();
                }
            }

            private void CheckAll()
            {
                _sinceFullCheck = 0;
                _map.Validate();
                Assert.True(_model.Count == _map.Count, $"the map holds {_map.Count} entries, the model {_model.Count}");
                foreach (KeyValuePair<int, long> kv in _model)
                {
                    Assert.True(_map.TryGetValue(_keys.Make(kv.Key), out long v), $"key {kv.Key} is missing: {_map.GetStats()}");
                    Assert.True(v == kv.Value, $"key {kv.Key} holds {v}, the model {kv.Value}");
                }
            }
        }
    }
}
