using System;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace NativeGoMap
{
    /// <summary>
    /// The bound new maps take for evacuating a small table's growth in one write
    /// (<see cref="GoMap{TKey, TValue}.BulkEvacuationMaxBytes"/>). A test seam: the test
    /// assemblies set 0 once at load, so that their small maps grow a few units per write as
    /// Go's do and show the growing state they test; the tests of the bulk evacuation turn it
    /// back on per map. Everything else (the stress program, benchmarks, users) runs the bound.
    /// </summary>
    internal static class BulkEvacuation
    {
        /// <summary>The library's bound: old arrays of up to 64 KiB of regular buckets.</summary>
        internal const long Bound = 64 * 1024;

        /// <summary>The bound for maps created from now on (<see cref="Bound"/>, or 0 in the test assemblies).</summary>
        internal static long DefaultMaxBytes = Bound;
    }

    // Growth: Go's hashGrow, growWork, evacuate and advanceEvacuationMark, generalized to growths
    // of several levels (a small table's insert growth, EnsureCapacity) and to shrinks
    // (TrimExcess, GoMap.Resize.cs).
    public sealed unsafe partial class GoMap<TKey, TValue>
    {
        /// <summary>mapassign's test for an insert of a new key outside a growth: over the load factor with it, or too many overflow buckets.</summary>
        private bool GrowthDue() => MapMath.OverLoadFactor(_count + 1, _b) || MapMath.TooManyOverflowBuckets(_noverflow, _b);

        /// <summary>
        /// Go's hashGrow: starts the growth an insert needs. Over the load factor, a larger table
        /// (<see cref="GrownB"/>); else the same B (a same-size growth that compacts overflow chains).
        /// </summary>
        private void HashGrow() => StartGrowth(MapMath.OverLoadFactor(_count + 1, _b) ? GrownB(_b) : _b, commit: false);

        /// <summary>
        /// Largest bucket array (regular buckets, in bytes) that an insert's growth goes to four
        /// times at once; larger tables double as Go's do.
        /// </summary>
        internal const long QuadrupleMaxBytes = 64 * 1024;

        /// <summary>
        /// The B an insert's growth goes to from <paramref name="b"/>: b + 2 while the new array
        /// stays within <see cref="QuadrupleMaxBytes"/>, else b + 1 (Go's doubling).
        /// </summary>
        /// <remarks>
        /// Go doubles at every size, so a map built from empty moves its entries again at each of
        /// its growths: a 1,000-entry <c>&lt;long,long&gt;</c> map grows 8 times and moves about
        /// 1,660 entries. Growing small tables four times at once (as CPython's dict did below
        /// 50,000 entries) halves the growths and, averaged over sizes, the moves; a growth of
        /// several levels is the kind <see cref="EnsureCapacity"/> starts, incremental like any
        /// other (split by <see cref="EvacuateChain4"/>, or by <see cref="EvacuateSpread"/> where keys
        /// are not hashed slot by slot: a comparer, keys hashed through their GetHashCode, over 16
        /// bytes or stored indirectly). The cost is memory: a small map is at most twice the
        /// array it would have had (at most 32 KiB more), with 1.6 rather than 3.25 entries per
        /// bucket just after such a growth. Measured on the README's machine (probe building and
        /// disposing maps from empty, <c>&lt;long,long&gt;</c>, best of three processes, the split
        /// still by EvacuateSpread): 300 entries 27.9 → 17.8 ns per insert, 1,000 25.6 → 17.0,
        /// 3,000 20.7 → 16.7, 10,000 23.8 → 22.8.
        /// </remarks>
        internal int GrownB(int b) =>
            (long)BucketLayout<TKey, TValue>.BucketSize << (b + 2) <= _quadrupleMaxBytes ? b + 2 : b + 1;

        /// <summary>
        /// Starts a growth from the current array (2^B buckets) to a new one of 2^<paramref name="newB"/>
        /// buckets. Go only ever doubles (newB = B + 1) or compacts (newB = B); an insert's growth of a
        /// small table goes up two levels (<see cref="GrownB"/>), <see cref="EnsureCapacity"/>
        /// may grow several levels at once and <see cref="TrimExcess()"/> shrinks (newB &lt; B). Only
        /// allocates the new array here; the copying is done an evacuation unit at a time by
        /// <see cref="GrowWork"/>. The new array is allocated before any field changes, so an
        /// <see cref="OutOfMemoryException"/> leaves the map as it was. <paramref name="commit"/>:
        /// populate the new array now (EnsureCapacity; see <see cref="AllocBucketArray"/>).
        /// </summary>
        private void StartGrowth(int newB, bool commit)
        {
            // Before the allocation: a throw after it would leak the new array (found by review;
            // reachable only in a map already corrupt).
            if (_oldOverflow.Count != 0)
            {
                ThrowHelper.ThrowBadMapState("oldoverflow is not empty");
            }

            FreeParked(); // mappings emptied at least a second ago: no read can plausibly still be in them
            byte* newBuckets = AllocBucketArray(newB, commit, out byte* nextOverflow);

            // Commit the growth. The current generation's ownership list becomes the old one (with
            // what is left of its newest chunk: the new generation starts chunks of its own).
            _oldBuckets = _buckets;
            _oldB = _b;
            _buckets = newBuckets;
            _b = newB;
            _prepareRefusedB = -1;
            _nevacuate = 0;
            _oldOverflow = _overflow;
            _overflow = default;
            _nextOverflow = nextOverflow;
            StartGenerationCounters();
            _work.GrowthStarts++;
            Publish();
        }

        /// <summary>
        /// A new current generation starts (a growth, a Clear, an empty map's new array): no
        /// overflow chunk to take buckets from, no spare, no overflow bucket counted, no delete counted.
        /// Its ownership list is set by the caller (moved to the old one, or retired).
        /// </summary>
        private void StartGenerationCounters()
        {
            _chunkNext = null;
            _chunkLeft = 0;
            _noverflow = 0;
            _overflowUsed = 0;
            _spareOverflow = null; // they lie in the retired generation's memory
            _spareCount = 0;
            _deletesSinceGrowth = 0;
        }

        /// <summary>log2 of the old array's regular bucket count (meaningful while growing).</summary>
        private int OldB() => _oldB;

        /// <summary>
        /// Number of evacuation units of the growth in progress: 2^min(old B, B). A unit is what
        /// one <see cref="Evacuate"/> moves at once and what fills a new bucket: for a doubling or
        /// a same-size growth one old bucket (Go's), which fills new buckets unit + m·2^oldB; for
        /// a shrink the 2^(oldB − B) old buckets unit + m·2^B, which all fill new bucket unit.
        /// </summary>
        private ulong EvacuationUnits() => MapMath.BucketShift(Math.Min(_oldB, _b));

        /// <summary>Old buckets per evacuation unit: 1, or 2^(oldB − B) for a shrink.</summary>
        private ulong UnitMembers() => _oldB > _b ? MapMath.BucketShift(_oldB - _b) : 1;

        /// <summary>
        /// Go's growWork: evacuates the unit that <paramref name="bucket"/> (a new bucket index
        /// about to be used) draws from, and more in order from the evacuation mark to make
        /// progress: <see cref="SequentialUnitsPerWrite"/> of them (Go: one), one for a shrink;
        /// all of them for a small table's growth while no enumerator is live, keys that run no
        /// user code (<see cref="BulkEvacuationMaxBytes"/>).
        /// </summary>
        /// <remarks>
        /// Tried and not kept (2026-12-04, README's VM): the in-order sweep starting at the unit of
        /// the write that starts the growth (wrapping past the last unit) instead of unit 0, so
        /// that the growth's first write touches the fresh 2 MiB pages of its own unit's two
        /// destinations only, not those of units 0 to 3 as well. Its growth starts took 7.5-10.3
        /// ms against 13.4-14.5 in the stall child (10M <c>&lt;long,long&gt;</c>), but the slowest
        /// insert of a build moved to the writes just after (own unit's two fresh pages and the
        /// preallocated overflow tail's first page): 6.8-14.7 ms over ten runs, median 10.2,
        /// against 7.1-14.5, median 10.4, over seven runs of the code as it is, alternated.
        /// </remarks>
        private void GrowWork(ulong bucket)
        {
            _faultInChunks = FaultInChunksPerWrite;
            Evacuate(bucket & (EvacuationUnits() - 1));
            byte* old = _oldBuckets;
            if (old != null && _oldB < _b && !AnyLiveIterators() && ((long)BucketLayout<TKey, TValue>.BucketSize << _oldB) <= _bulkEvacuationMaxBytes && !KeysRunUserCode)
            {
                // The whole growth in this write. Its end starts nothing: a pending resize
                // (EnsureCapacity, TrimExcess) starts at the next AssignSlow or Trim, or at an
                // EnsureCapacity that raises it.
                while (_oldBuckets == old)
                {
                    Evacuate(_nevacuate);
                }

                return;
            }

            int more = _oldB > _b ? 1 : SequentialUnitsPerWrite;
            for (int k = 0; k < more && _oldBuckets != null; k++)
            {
                Evacuate(_nevacuate);
            }
        }

        /// <summary>
        /// Largest old array (regular buckets, in bytes) whose growth the write that first works
        /// on it (the one that starts it) evacuates whole, while no enumerator is live, for keys
        /// whose hash and equality run no user code (a comparer's or an IEquatable key's cost per
        /// key is unknown); bigger ones, same-size growths, shrinks, growths under a live
        /// enumerator and those keys go a few units per write as Go's.
        /// </summary>
        /// <remarks>
        /// Go moves a growth on by two buckets per write however small the table, so a map built
        /// from empty takes the growth's slow path on a few percent of its inserts (each a call
        /// out of the inline insert and a unit's setup) at every size class. For an old array of
        /// at most 64 KiB the whole evacuation (at most 1,664 <c>&lt;long,long&gt;</c> entries,
        /// 3,328 <c>&lt;int,int&gt;</c>: some microseconds, far below what an insert may stall)
        /// costs less in one loop,
        /// and the inserts after it take the fast path at once. It is the state a growth from one
        /// old bucket reaches in Go too (that growth ends in the write that starts it), so
        /// lookups, deletes and enumerators started later see a table that is not growing, as
        /// after any growth's end. Enumerators already live keep the incremental growth that
        /// Go's iteration rules are written for. Measured (2026-12-03, README's VM): a probe
        /// building <c>&lt;long,long&gt;</c> maps from empty and disposing them, alternating
        /// processes, 1,000 entries 11.95-12.91 → 11.14-12.17 ns per insert, 3,000 13.08-14.01 →
        /// 12.02-12.20, 300 within 2-6 % faster, 10,000 unchanged; three alternated quick
        /// comparisons, 1,000-entry builds without a hint, GoMap <c>&lt;int&gt;</c> 13.51-13.90 →
        /// 12.77-12.92 ns, <c>&lt;long&gt;</c> 14.04-14.43 → 13.28-13.48 (a third run 19.7, the
        /// machine slow for both maps), <c>&lt;Guid&gt;</c> 15.27-16.32 → 14.48-15.81.
        /// Tried and not kept (2026-12-03): the whole growth in one loop that calls
        /// EvacuateChain or EvacuateChain4 per unit, without Evacuate's dispatch and the
        /// evacuation mark's walk per unit. In a profile of 1,000-entry <c>&lt;long,long&gt;</c>
        /// builds from empty the evacuation's share went from 27.4 % (EvacuateChain4 21 %,
        /// Evacuate 6.4 %) to 25.6 %; five alternated probe runs, best build 12.35-16.5 against
        /// 12.14-16.3 ns per insert, within the machine's noise.
        /// </remarks>
        internal const long BulkEvacuationMaxBytes = BulkEvacuation.Bound;

        /// <summary>
        /// Units a write during a growth evacuates in order from the evacuation mark, besides the
        /// one its key needs (Go's growWork: one). A shrink's units are groups of up to 32 old
        /// buckets and keep Go's one.
        /// </summary>
        /// <remarks>
        /// The unit a write needs lies anywhere in the old array (in a big table, a cache miss in
        /// the old bucket and in both new ones); the units in order stream through both arrays,
        /// which the hardware prefetches. Three in order end a growth in half the writes (a quarter
        /// of the old buckets' count instead of a half), so fewer writes take the growth's slow
        /// path and fewer units are evacuated at random. Measured on the README's VM (probe
        /// building <c>&lt;long,long&gt;</c> maps from empty, medians of five alternating processes):
        /// 1,000,000 entries 142 → 124 ns per insert (two in order: 133; five: 125), 30,000
        /// 30.7 → 27.4, 1,000 within the noise. A write's share of a growth is four units
        /// instead of two (a few hundred nanoseconds at 1M; the slowest inserts are page faults).
        /// Tried and not kept (2026-12-03, README's VM): in a growth to an array of 2 MiB or
        /// more, a write whose own unit moved skipped the units in order when they would enter
        /// a 2 MiB page the mark had not reached, so that no write first-touches more than the
        /// two pages of its own unit (a growth's first write touched four). The stall child's
        /// slowest insert to 10M: 7.9-15.8 ms over nine runs (median 11.3) against 7.6-17.1 over
        /// eleven of the code before (median 14.9); the growth starts still took up to 15.8 ms
        /// with one unit, as a fresh page cost 3.5-6 ms in that phase and any write whose own
        /// unit moves pays two. Where a fresh page costs what zeroing it does (0.1-0.2 ms), four
        /// pages are under the 1 ms target already.
        /// </remarks>
        internal const int SequentialUnitsPerWrite = 3;

        /// <summary>
        /// With <see cref="GoMapOptions.SmallPagesForGrowth"/>, the whole 128 KiB chunks of a
        /// growth's new array that one write's evacuations (<see cref="FaultInDestinations"/>)
        /// fault in at once; past them, a write faults in only the pages of the new buckets it
        /// writes.
        /// </summary>
        /// <remarks>
        /// A write early in a growth evacuates its own unit, at random, into two new buckets far
        /// apart, and three units in order (the growth's first write: their two runs of new
        /// buckets too): up to four chunks the release thread's populate, in order from the
        /// array's start, has not reached. Without a bound those writes took the faults of two
        /// to four whole chunks (64 to 128 pages). Measured on an AMD EPYC Zen 4 VM (2026-12-07,
        /// alternated with the code before): building 50,000,000 <c>&lt;long,long&gt;</c> entries
        /// (the stress program's <c>scale --small-pages</c>, two runs each), the slowest writes
        /// that faulted in pages took 1.07-1.16 ms (64-96 faults) before and 0.56-0.72 ms (31-43
        /// faults) with one chunk a write, 7 and 15 inserts over 1 ms against 2 and 0 (those two a
        /// bucket allocation outside any growth, 6.8 ms with 4 faults, and the start of the growth
        /// to 2^16 buckets, 1.53 ms, where the writer also waited three times), the 99.9th
        /// percentile 2.30-2.33 µs against 2.43-2.47 (more writes take a few faults each); the
        /// quick comparison's <c>stall gomap-small</c> child (10,000,000 inserts, six runs each),
        /// slowest insert with the map's work 0.46-0.52 ms (0.86 once, a release step) against
        /// 0.36-0.39 in five runs (1.55 ms once, in a phase where inserts that did no map work
        /// took 1-4 ms), the 99.9th percentile 1.28-1.72 µs against 1.42-1.76
        /// (<c>Dictionary</c>'s about 2.6-2.9). Two chunks a write (a copy, six runs): 0.40-0.55
        /// ms and 1.38-1.77 µs at 10,000,000.
        /// </remarks>
        internal const int FaultInChunksPerWrite = 1;

        /// <summary>
        /// With <see cref="GoMapOptions.SmallPagesForGrowth"/>: before evacuation unit
        /// <paramref name="unit"/> writes its new buckets (unit + k·<paramref name="units"/>, every
        /// k below 2^(B − old B); the unit alone for a same-size growth or a shrink), the pages of
        /// the new array that hold them are faulted in (<see cref="NativeHeap.FaultIn"/>): the
        /// first chunk that needs it whole, as far as the write's allowance
        /// (<see cref="FaultInChunksPerWrite"/>, set where the write's evacuations begin) lasts, so
        /// that the writes of a growth take a chunk's faults at once instead of a fault each, and
        /// no write takes more than a chunk's and a few pages'. Nothing for an array without a
        /// touch map (huge pages, a committed array).
        /// </summary>
        private void FaultInDestinations(ulong unit, ulong units)
        {
            if (!NativeHeap.HasTouchMap(_buckets))
            {
                return;
            }

            for (ulong d = unit; d < MapMath.BucketShift(_b); d += units)
            {
                // FaultInNewBucket's call, without FaultIn's touch-map test (made once above).
                NativeHeap.FaultInWithTouchMap(_buckets, BucketLayout<TKey, TValue>.Bucket(_buckets, d), (ulong)BucketLayout<TKey, TValue>.BucketSize, ref _faultInChunks);
            }
        }

        /// <summary>Faults in the pages of bucket <paramref name="b"/> of the current array before it is written, the first chunk whole while <paramref name="chunks"/> lasts (<see cref="NativeHeap.FaultIn"/>; nothing without a touch map).</summary>
        private void FaultInNewBucket(byte* b, ref int chunks) =>
            NativeHeap.FaultIn(_buckets, b, (ulong)BucketLayout<TKey, TValue>.BucketSize, ref chunks);

        /// <summary>
        /// Go's evacuate, for any growth: moves the entries of one evacuation unit's old chains to
        /// the new array, each to new bucket hash &amp; (2^B − 1), leaving evacuatedX/Y/Empty marks
        /// behind (Y where an entry moved to another bucket index). A unit is evacuated whole, so
        /// the first tophash byte of its first old bucket says whether it is. Every overflow bucket
        /// it may need is reserved first, so it cannot fail halfway; a key hash that throws (a user
        /// comparer's, or an IEquatable key's GetHashCode) poisons the map instead. Returns the number of old buckets the unit has.
        /// </summary>
        private ulong Evacuate(ulong unit)
        {
            ulong units = EvacuationUnits();
            ulong members = UnitMembers();
            byte* first = BucketLayout<TKey, TValue>.Bucket(_oldBuckets, unit);
            if (!MapMath.Evacuated(*first))
            {
                ReserveForEvacuation(unit, units, members);
                if (_smallPagesForGrowth)
                {
                    FaultInDestinations(unit, units);
                }

                _work.Evacuations++;
                try
                {
                    if (_b == _oldB + 1)
                    {
                        // Go's doubling: each entry goes to bucket x (same index) or y (index +
                        // old size) by one more hash bit.
                        if (_comparer is null)
                        {
                            EvacuateChain(default(DefaultKeys), first, unit, MapMath.BucketShift(_oldB));
                        }
                        else
                        {
                            EvacuateChain(new ComparerKeys(_comparer), first, unit, MapMath.BucketShift(_oldB));
                        }
                    }
                    else if (_b == _oldB + 2 && HashEverySlot && _comparer is null)
                    {
                        // A small table's growth (GrownB): four destinations by two more hash bits.
                        EvacuateChain4(first, unit, MapMath.BucketShift(_oldB));
                    }
                    else if (_b > _oldB)
                    {
                        EvacuateSpread(first);
                    }
                    else
                    {
                        // A same-size growth (one member) or a shrink: every entry of the unit goes to new bucket unit.
                        byte* xb = BucketLayout<TKey, TValue>.Bucket(_buckets, unit);
                        int xi = 0;
                        for (ulong m = 0; m < members; m++)
                        {
                            EvacuateInto(BucketLayout<TKey, TValue>.Bucket(_oldBuckets, unit + (m * units)), ref xb, ref xi);
                        }
                    }
                }
                catch (Exception e)
                {
                    // Half a unit has moved: the map cannot be trusted any more. Every bucket the
                    // unit needs was reserved above, so whatever was thrown came from user code (a
                    // comparer's or a key's GetHashCode), an OutOfMemoryException too (found by
                    // review: an allocating comparer's one left a half-evacuated map in use).
                    PoisonWhileWriting("bad map state: the key comparer threw during growth: " + e.Message);
                    throw;
                }
            }

            if (unit == _nevacuate)
            {
                AdvanceEvacuationMark(units);
            }

            return members;
        }

        /// <summary>
        /// Go's evacuate for a doubling: one old chain split between new buckets x and y = x +
        /// <paramref name="newbit"/>. Per old bucket, the hash bit of every live slot is taken
        /// first (independent hashes, which the CPU overlaps; for keys whose hash runs no user
        /// code, of all eight slots in straight-line code, <see cref="SlotsGoingToY"/>). A chain of one
        /// bucket (or whose earlier buckets hold no live entry) is then copied whole to each
        /// destination that gets an entry (<see cref="SplitBucket"/>, where
        /// <see cref="SplitByCopy"/>); otherwise the x slots and the y slots are copied in two
        /// runs with a cursor each, as Go packs them. Either way no branch depends on where an
        /// entry goes, which would mispredict half the time. The bucket's evacuation marks are
        /// stored as one word.
        /// </summary>
        private void EvacuateChain<TK>(TK keys, byte* b, ulong oldbucket, ulong newbit)
            where TK : struct, IKeys
        {
            byte* xb = BucketLayout<TKey, TValue>.Bucket(_buckets, oldbucket);
            byte* yb = BucketLayout<TKey, TValue>.Bucket(_buckets, oldbucket + newbit);

            // In a table larger than the caches the old bucket and both destinations are misses
            // (a write evacuates the unit its key needs, at random): start them all at once.
            BucketLayout<TKey, TValue>.PrefetchBucket(b);
            BucketLayout<TKey, TValue>.PrefetchBucket(xb);
            BucketLayout<TKey, TValue>.PrefetchBucket(yb);
            int xi = 0;
            int yi = 0;
            int shift = BitOperations.TrailingZeroCount(newbit);
            for (; b != null; b = BucketLayout<TKey, TValue>.Overflow(b))
            {
                ulong word = EvacuationWord(b);
                ulong live = MapMath.MatchLive(word);
                ulong toY = 0;
                if (HashEverySlot && typeof(TK) == typeof(DefaultKeys))
                {
                    // Straight-line code, which the CPU predicts; the empty slots' bits are dropped.
                    toY = SlotsGoingToY(b, _k1, _k2, shift) & live;
                }
                else
                {
                    for (ulong m = live; m != 0; m &= m - 1)
                    {
                        toY |= GoesToY(keys, b, MapMath.FirstSlot(m), newbit);
                    }
                }

                if (SplitByCopy && xi == 0 && yi == 0 && BucketLayout<TKey, TValue>.Overflow(b) == null)
                {
                    // The chain's last bucket, and nothing moved before it: a chain of one bucket
                    // (most of them), or one whose earlier buckets hold no live entry. Both
                    // destinations are still empty; each entry keeps its slot index.
                    SplitBucket(b, word, live & ~toY, xb);
                    SplitBucket(b, word, toY, yb);
                }
                else
                {
                    MoveSlots(b, word, live & ~toY, ref xb, ref xi);
                    MoveSlots(b, word, toY, ref yb, ref yi);
                }

                // evacuatedEmpty (4) where empty, evacuatedX (2) where live, evacuatedY (3) where it went to y.
                BucketLayout<TKey, TValue>.TopHashWordRef(b) = (MapMath.Lsb * MapMath.EvacuatedEmpty) - ((live >> 7) * 2) + (toY >> 7);
            }
        }

        /// <summary>
        /// <see cref="EvacuateChain"/> for a growth of two levels (<see cref="GrownB"/>'s small
        /// tables), under the default hash where <see cref="HashEverySlot"/>: one old chain split
        /// between new buckets x + k·<paramref name="newbit"/>, k = 0..3, by the two hash bits
        /// above the old mask. Deliberately mirrors EvacuateChain's steps with four cursors
        /// instead of two (keep the two in step): all eight slot hashes first
        /// (<see cref="SlotsGoingUp"/>), whole-bucket copies for a chain of one bucket, else runs
        /// of slots per destination, and the evacuation marks as one word (evacuatedX where the
        /// entry kept its bucket index, evacuatedY where it went to one of the three others).
        /// <see cref="EvacuateSpread"/>, the general form, hashes and places entry by entry: it
        /// took 22 % of a 1,000-entry build's time in a profile. Four whole-bucket copies per old
        /// bucket (about 1.6 entries each) still beat moving the live slots one by one: with
        /// <see cref="MoveSlots"/> for every chain, three alternated quick comparisons at 1,000
        /// entries without a hint took 12.4 → 13.3 ns per insert for <c>&lt;int&gt;</c>,
        /// 12.7-12.9 → 13.4-13.9 for <c>&lt;long&gt;</c> and 13.9-14.0 → 14.8-15.2 for
        /// <c>&lt;Guid&gt;</c> (2026-12-02). The copies are not where the time goes: loading the
        /// source's 128 bytes once and storing them to each destination (two 64-byte or four
        /// 32-byte vectors, instead of the JIT's reload per copy) built 1,000-entry
        /// <c>&lt;long,long&gt;</c> maps without a hint in 12.8-13.0 ns per insert, as the code
        /// here did (one process switching between the three each round, 15 rounds, twice; 2026-12-03).
        /// Nor (2026-12-03, later) the chain of one bucket taken before the loop, in straight-line
        /// code with no cursor passed by reference, so that the JIT would keep the four
        /// destinations and masks in registers (its loop here stores them to the stack): a probe
        /// building 1,000-entry <c>&lt;long,long&gt;</c> maps from empty, seven alternated pairs of
        /// processes, 11.11-11.29 ns per insert before and 11.00-11.20 after in the pairs the host
        /// ran at full speed. The whole evacuation of such a build takes about 45 ns per old
        /// bucket (3.9 µs over its 85 old buckets, timed around the growth loop; about 200
        /// instructions each), and what it waits on was not found (no hardware counters here).
        /// A profile with the samples mapped onto the JIT's listing (2026-12-04, perf at 10 kHz,
        /// 1,000-entry <c>&lt;long,long&gt;</c> builds) found no hot spot either: the samples spread
        /// over the whole method, 37 % of them in the blocks that move slots one by one (chains
        /// with an overflow bucket: by a Poisson estimate about a fifth of the old chains at a
        /// growth's start, holding about 30 % of the entries): per entry, that path costs about
        /// 1.4 times the whole-bucket copies, so giving those chains copies too would save about
        /// a tenth of the evacuation.
        /// </summary>
        private void EvacuateChain4(byte* b, ulong oldbucket, ulong newbit)
        {
            byte* b0 = BucketLayout<TKey, TValue>.Bucket(_buckets, oldbucket);
            byte* b1 = BucketLayout<TKey, TValue>.Bucket(_buckets, oldbucket + newbit);
            byte* b2 = BucketLayout<TKey, TValue>.Bucket(_buckets, oldbucket + (2 * newbit));
            byte* b3 = BucketLayout<TKey, TValue>.Bucket(_buckets, oldbucket + (3 * newbit));
            int i0 = 0;
            int i1 = 0;
            int i2 = 0;
            int i3 = 0;
            int shift = BitOperations.TrailingZeroCount(newbit);
            for (; b != null; b = BucketLayout<TKey, TValue>.Overflow(b))
            {
                ulong word = EvacuationWord(b);
                ulong live = MapMath.MatchLive(word);

                // Per slot, 0x80 in its byte when the lower of the two bits is set, in the high
                // word when the upper is.
                ulong low = SlotsGoingUp(b, _k1, _k2, shift, out ulong high) & live;
                high &= live;
                ulong to0 = live & ~(low | high);
                ulong to1 = low & ~high;
                ulong to2 = high & ~low;
                ulong to3 = low & high;
                if (SplitByCopy && (i0 | i1 | i2 | i3) == 0 && BucketLayout<TKey, TValue>.Overflow(b) == null)
                {
                    SplitBucket(b, word, to0, b0);
                    SplitBucket(b, word, to1, b1);
                    SplitBucket(b, word, to2, b2);
                    SplitBucket(b, word, to3, b3);
                }
                else
                {
                    MoveSlots(b, word, to0, ref b0, ref i0);
                    MoveSlots(b, word, to1, ref b1, ref i1);
                    MoveSlots(b, word, to2, ref b2, ref i2);
                    MoveSlots(b, word, to3, ref b3, ref i3);
                }

                BucketLayout<TKey, TValue>.TopHashWordRef(b) = (MapMath.Lsb * MapMath.EvacuatedEmpty) - ((live >> 7) * 2) + ((low | high) >> 7);
            }
        }

        /// <summary>
        /// For <see cref="EvacuateChain4"/>: bits <paramref name="shift"/> and
        /// <paramref name="shift"/> + 1 of all eight slots' key hashes (<see cref="SlotHashBits"/>),
        /// as 0x80 flags per slot byte: the lower bit returned, the upper in <paramref name="high"/>.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static ulong SlotsGoingUp(byte* b, ulong k1, ulong k2, int shift, out ulong high)
        {
            ulong bits = SlotHashBits(b, k1, k2, shift, 3);
            high = (bits & (MapMath.Lsb * 2)) << 6;
            return (bits & MapMath.Lsb) << 7;
        }

        /// <summary>Slot <paramref name="i"/>'s flag (0x80 in its byte) when its key's hash has <paramref name="newbit"/>: bound for y.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private ulong GoesToY<TK>(TK keys, byte* b, int i, ulong newbit)
            where TK : struct, IKeys
        {
            ulong bit = (keys.Hash(this, BucketLayout<TKey, TValue>.Key(b, i)) & newbit) != 0 ? 1UL : 0UL;
            return bit << ((i * 8) + 7);
        }

        /// <summary>
        /// <see cref="GoesToY"/> for all eight key slots of <paramref name="b"/>, empty ones
        /// included (where <see cref="HashEverySlot"/>), under the default hash (<see cref="SlotHashBits"/>).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static ulong SlotsGoingToY(byte* b, ulong k1, ulong k2, int shift) => SlotHashBits(b, k1, k2, shift, 1) << 7;

        /// <summary>
        /// The bits <paramref name="mask"/> selects of each of the eight key slots' hashes shifted
        /// right by <paramref name="shift"/>, one byte per slot (slot i in byte i), empty slots
        /// included (where <see cref="HashEverySlot"/>), under the default hash: written out slot
        /// by slot with the seed in locals, so that the eight hashes are independent
        /// straight-line code. As a loop the JIT kept the slot index, the seed's second half and
        /// the bit on the stack (21 instructions per slot, 40 % of a doubling's time in a profile
        /// of 1,000 <c>&lt;long,long&gt;</c> inserts without a hint); written out, 12. Measured on the
        /// README's VM, three alternating quick comparisons at 1,000 entries without a hint:
        /// <c>&lt;long&gt;</c> 25.5-25.9 → 24.6-25.2 ns per insert, <c>&lt;int&gt;</c> 24.9-26.1 →
        /// 24.1-25.7, <c>&lt;Guid&gt;</c> 27.3-28.2 → 26.5-27.0 (a few percent; Dictionary's ratio moves
        /// within its noise).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static ulong SlotHashBits(byte* b, ulong k1, ulong k2, int shift, ulong mask)
        {
            ulong bits = SlotBits(b, 0, k1, k2, shift, mask);
            bits |= SlotBits(b, 1, k1, k2, shift, mask) << 8;
            bits |= SlotBits(b, 2, k1, k2, shift, mask) << 16;
            bits |= SlotBits(b, 3, k1, k2, shift, mask) << 24;
            bits |= SlotBits(b, 4, k1, k2, shift, mask) << 32;
            bits |= SlotBits(b, 5, k1, k2, shift, mask) << 40;
            bits |= SlotBits(b, 6, k1, k2, shift, mask) << 48;
            bits |= SlotBits(b, 7, k1, k2, shift, mask) << 56;
            return bits;
        }

        /// <summary>Slot <paramref name="i"/>'s key hash shifted right by <paramref name="shift"/>, masked with <paramref name="mask"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static ulong SlotBits(byte* b, int i, ulong k1, ulong k2, int shift, ulong mask) =>
            (KeyOps<TKey>.Hash(BucketLayout<TKey, TValue>.Key(b, i), k1, k2) >> shift) & mask;

        /// <summary>
        /// True where <see cref="EvacuateChain"/> hashes all eight key slots of an old bucket,
        /// empty ones included, and drops the empty slots' bits after: keys stored inline whose
        /// default hash is a pure function of at most 16 bytes (no user code, which must not see
        /// a stale or zero key), with the map's default equality (checked at the call).
        /// </summary>
        private static readonly bool HashEverySlot =
            !BucketLayout<TKey, TValue>.IndirectKey && KeyOps<TKey>.Kind is KeyKind.Bytes or KeyKind.Single or KeyKind.Double or KeyKind.Half && sizeof(TKey) <= 16;

        /// <summary>
        /// True where <see cref="EvacuateChain"/> splits a chain of one bucket by copying the whole
        /// bucket to both destinations (<see cref="SplitBucket"/>): keys and values stored inline,
        /// and buckets small enough that two whole copies cost less than moving the live slots
        /// one by one (up to 288 bytes; <c>&lt;int,Entity64&gt;</c>'s 560-byte buckets move slot by slot).
        /// Measured on the README's VM, quick comparison, 1,000 entries without a hint, two runs
        /// alternating with the code before: <c>&lt;long,long&gt;</c> 28.4-28.8 → 25.9-26.7 ns per
        /// insert, <c>&lt;Guid,long&gt;</c> 30.3-31.0 → 27.5-28.9, <c>&lt;int,int&gt;</c> 26.3-28.1 → 25.1-26.3.
        /// Tried and not kept (2026-12-02): the copies as non-temporal 16-byte stores (whole
        /// buckets, the tophash word and the zero overflow pointer folded into the first and
        /// last), without prefetching the destinations, for new arrays of 2^16 buckets and more,
        /// to save the read for ownership of each destination line: building 1,000,000 entries
        /// without a hint got slower in three alternated runs (<c>&lt;long&gt;</c> 85-102 →
        /// 103-119 ns per insert, <c>&lt;int&gt;</c> 66-74 → 83-87, <c>&lt;Guid&gt;</c> 103-109
        /// → 122-136), probably because the inserts that follow a split read its lines again.
        /// </summary>
        private static readonly bool SplitByCopy =
            !BucketLayout<TKey, TValue>.IndirectKey && !BucketLayout<TKey, TValue>.IndirectValue && BucketLayout<TKey, TValue>.BucketSize <= 288;

        /// <summary>
        /// One half of a doubling's split of a chain's only live bucket into a new, empty bucket
        /// <paramref name="db"/>: copies every key and value slot of <paramref name="b"/> across
        /// (straight-line vector moves, no branch on where each entry goes), then keeps the tophash
        /// bytes of the slots in <paramref name="keep"/> (0x80 per slot) and marks the others
        /// empty: emptyOne below the last kept slot, emptyRest from there on, as deletes would
        /// leave them. The entries keep their slot indices (Go's evacuate packs them from slot 0;
        /// both are valid layouts, and lookups, inserts and iteration read either). The bytes of
        /// the slots not kept are stale copies, as a deleted slot's are.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void SplitBucket(byte* b, ulong word, ulong keep, byte* db)
        {
            if (keep == 0)
            {
                // Nothing goes there: the new bucket stays as it came (zero: all emptyRest), and
                // its page untouched. Rare with a spread hash, so the branch predicts; with few
                // distinct hash codes (a poor comparer), copying anyway would write every new bucket.
                return;
            }

            BucketLayout<TKey, TValue>.CopySlots(db, b);
            BucketLayout<TKey, TValue>.TopHashWordRef(db) = MapMath.KeepSlots(word, keep);
        }

        /// <summary>
        /// Copies the slots of <paramref name="b"/> flagged in <paramref name="slots"/> (0x80 per
        /// slot), with their tophash bytes from <paramref name="word"/>, to the destination cursor.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void MoveSlots(byte* b, ulong word, ulong slots, ref byte* db, ref int di)
        {
            for (; slots != 0; slots &= slots - 1)
            {
                int i = MapMath.FirstSlot(slots);
                MoveEntry(b, i, (byte)(word >> (i * 8)), ref db, ref di);
            }
        }

        /// <summary>A same-size growth or a shrink: every entry of old chain <paramref name="b"/> goes to the destination cursor.</summary>
        private void EvacuateInto(byte* b, ref byte* xb, ref int xi)
        {
            for (; b != null; b = BucketLayout<TKey, TValue>.Overflow(b))
            {
                for (int i = 0; i < MapMath.BucketCnt; i++)
                {
                    byte top = EvacuationTop(b, i);
                    if (top != 0)
                    {
                        BucketLayout<TKey, TValue>.TopHash(b, i) = MapMath.EvacuatedX;
                        MoveEntry(b, i, top, ref xb, ref xi);
                    }
                }
            }
        }

        /// <summary>
        /// A growth of several levels at once (<see cref="EnsureCapacity"/>, and a small table's
        /// quadrupling where <see cref="EvacuateChain4"/> does not apply: a comparer, or keys
        /// that are not hashed slot by slot): the entries of one
        /// old chain go to up to 2^(B − oldB) new buckets, each appended after the last entry of
        /// its destination chain (those chains are filled by this evacuation alone).
        /// </summary>
        private void EvacuateSpread(byte* b)
        {
            ulong mask = MapMath.BucketMask(_b);
            ulong oldMask = MapMath.BucketMask(_oldB);
            for (; b != null; b = BucketLayout<TKey, TValue>.Overflow(b))
            {
                for (int i = 0; i < MapMath.BucketCnt; i++)
                {
                    byte top = EvacuationTop(b, i);
                    if (top == 0)
                    {
                        continue;
                    }

                    ulong dest = Hash(BucketLayout<TKey, TValue>.Key(b, i)) & mask;
                    BucketLayout<TKey, TValue>.TopHash(b, i) = (dest & oldMask) == dest ? MapMath.EvacuatedX : MapMath.EvacuatedY;
                    byte* db = BucketLayout<TKey, TValue>.Bucket(_buckets, dest);
                    int di;
                    while (true)
                    {
                        ulong empty = MapMath.MatchEmpty(BucketLayout<TKey, TValue>.TopHashWord(db));
                        if (empty != 0)
                        {
                            di = MapMath.FirstSlot(empty);
                            break;
                        }

                        byte* next = BucketLayout<TKey, TValue>.Overflow(db);
                        if (next == null)
                        {
                            di = MapMath.BucketCnt; // full: MoveEntry links an overflow bucket
                            break;
                        }

                        db = next;
                    }

                    MoveEntry(b, i, top, ref db, ref di);
                }
            }
        }

        /// <summary>
        /// The tophash of slot <paramref name="i"/> of an old bucket being evacuated, or 0 for an
        /// empty slot (which it marks evacuatedEmpty).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static byte EvacuationTop(byte* b, int i)
        {
            byte top = BucketLayout<TKey, TValue>.TopHash(b, i);
            if (MapMath.IsEmpty(top))
            {
                BucketLayout<TKey, TValue>.TopHash(b, i) = MapMath.EvacuatedEmpty;
                return 0;
            }

            if (top < MapMath.MinTopHash)
            {
                ThrowHelper.ThrowBadMapState("evacuation mark in a bucket that is not evacuated");
            }

            return top;
        }

        /// <summary>
        /// The tophash word of an old bucket about to be evacuated whole, after checking that it
        /// holds no evacuation mark (every slot empty or live).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static ulong EvacuationWord(byte* b)
        {
            ulong word = BucketLayout<TKey, TValue>.TopHashWord(b);
            if ((MapMath.MatchEmpty(word) | MapMath.MatchLive(word)) != MapMath.Msb)
            {
                ThrowHelper.ThrowBadMapState("evacuation mark in a bucket that is not evacuated");
            }

            return word;
        }

        /// <summary>
        /// Copies slot <paramref name="i"/> of <paramref name="b"/> to the destination cursor
        /// (<paramref name="db"/>, <paramref name="di"/>), linking a reserved overflow bucket when
        /// the destination is full. The slots move as they are: an indirect key or value moves by
        /// its pointer, and its block's ownership moves with it.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void MoveEntry(byte* b, int i, byte top, ref byte* db, ref int di)
        {
            if (di == MapMath.BucketCnt)
            {
                db = NewOverflow(db);
                di = 0;
            }

            BucketLayout<TKey, TValue>.TopHash(db, di) = top;
            Buffer.MemoryCopy(BucketLayout<TKey, TValue>.KeySlot(b, i), BucketLayout<TKey, TValue>.KeySlot(db, di), BucketLayout<TKey, TValue>.KeySlotSize, BucketLayout<TKey, TValue>.KeySlotSize);
            Buffer.MemoryCopy(BucketLayout<TKey, TValue>.ValueSlot(b, i), BucketLayout<TKey, TValue>.ValueSlot(db, di), BucketLayout<TKey, TValue>.ValueSlotSize, BucketLayout<TKey, TValue>.ValueSlotSize);
            di++;
        }

        /// <summary>
        /// Makes sure the overflow buckets the evacuation of <paramref name="unit"/> may link exist
        /// before it starts, so that it cannot fail halfway: with n live entries spread over empty
        /// destination buckets, at most ⌈n/8⌉ − 1 overflow buckets are needed (Σ ⌊(n_d − 1)/8⌋ ≤ ⌊(n − 1)/8⌋).
        /// </summary>
        private void ReserveForEvacuation(ulong unit, ulong units, ulong members)
        {
            if (members == 1 && BucketLayout<TKey, TValue>.Overflow(BucketLayout<TKey, TValue>.Bucket(_oldBuckets, unit)) == null)
            {
                return; // 8 entries or fewer always fit
            }

            long live = 0;
            for (ulong m = 0; m < members; m++)
            {
                for (byte* c = BucketLayout<TKey, TValue>.Bucket(_oldBuckets, unit + (m * units)); c != null; c = BucketLayout<TKey, TValue>.Overflow(c))
                {
                    live += MapMath.CountLive(BucketLayout<TKey, TValue>.TopHashWord(c));
                }
            }

            long needed = ((live + MapMath.BucketCnt - 1) / MapMath.BucketCnt) - 1;

            // Spares and preallocated buckets first, then what is left of the current chunk (the
            // order NewOverflow takes them in); else a new chunk large enough for the whole
            // evacuation (the rest of the old one stays unused).
            if (needed > _spareCount + RemainingPreallocated() + _chunkLeft)
            {
                NewOverflowChunk(needed);
            }
        }

        /// <summary>Preallocated overflow buckets left at the tail of the current array.</summary>
        private long RemainingPreallocated()
        {
            if (_nextOverflow == null)
            {
                return 0;
            }

            byte* end = BucketLayout<TKey, TValue>.Bucket(_buckets, MapMath.ArrayBucketCount(_b));
            return (long)BucketLayout<TKey, TValue>.BucketsBetween(_nextOverflow, end);
        }

        /// <summary>
        /// Go's advanceEvacuationMark: moves nevacuate past evacuated units (at most 1024 at a
        /// time, to bound the work of one write); when every unit is evacuated, the growth is over
        /// and the old generation is retired (not released: see GoMap.Memory.cs).
        /// </summary>
        private void AdvanceEvacuationMark(ulong units)
        {
            // In locals: with the field, each step was a read-modify-write of memory, and this walk
            // passes every old bucket once per growth (about 5% of a 1,000-entry build's time).
            ulong n = _nevacuate + 1;
            ulong stop = Math.Min(n + 1024, units);
            byte* b = BucketLayout<TKey, TValue>.Bucket(_oldBuckets, n);
            while (n != stop && MapMath.Evacuated(*b))
            {
                n++;
                b = BucketLayout<TKey, TValue>.NextInMemory(b);
            }

            _nevacuate = n;

            if (_nevacuate == units)
            {
                // Growth is all done. Retire the old main bucket array and its overflow chunks;
                // later writes release them a bounded piece at a time (GoMap.Memory.cs).
                RetireOldGeneration();
                _oldB = 0;
                _work.GrowthEnds++;
                Publish();
            }
        }
    }
}
