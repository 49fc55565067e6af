using System;

namespace NativeGoMap
{
    // Capacity control: EnsureCapacity (grow ahead of inserts) and TrimExcess (shrink after
    // deletes). Go's map has neither (it never shrinks: golang/go#20135). Both resize through the
    // same incremental growth as an insert's (GoMap.Grow.cs), generalized: a growth may go up
    // several levels at once, and a shrink merges old buckets i, i + 2^B, i + 2·2^B, … into new
    // bucket i (the reverse of a doubling's split), one such group per evacuation unit. So no
    // call and no write pays for a whole table: writes carry a resize a few units at a time as
    // they carry a growth (four units up, two groups down; a growth from an old array of at most
    // 64 KiB whole, in the next write, as an insert's: BulkEvacuationMaxBytes), and each
    // TrimExcess call carries it a bounded step further.
    //
    // Iteration rules hold across a shrink as across a doubling: an enumerator that started
    // before it walks its own (old) array and looks up entries marked evacuated; one that starts
    // during it walks the new array and, for a new bucket whose group is not evacuated yet, the
    // group's old chains in turn (GoMap.Iteration.cs). A group is evacuated whole, so a new bucket
    // is either still empty with all its entries in old chains, or final.
    public sealed unsafe partial class GoMap<TKey, TValue>
    {
        /// <summary>
        /// Most levels one shrink goes down: a unit is then at most 32 old buckets (each on a page
        /// of its own in a big table), so a write's share of a shrink, two units, stays within
        /// tens of microseconds; a deeper trim chains shrinks (10M → 100K entries: 5 levels, then 2).
        /// </summary>
        internal const int MaxShrinkLevels = 5;

        /// <summary>Old buckets one <see cref="TrimExcess()"/> call evacuates (besides one release step): its last evacuation unit may take it up to 31 past this, when a call ends a doubling and starts a shrink; a quarter of a millisecond or so in a big table.</summary>
        internal const int TrimStepBuckets = 256;

        /// <summary>
        /// Makes sure <paramref name="capacity"/> entries fit without another growth, as
        /// <see cref="System.Collections.Generic.Dictionary{TKey, TValue}.EnsureCapacity"/> does. On an
        /// empty map it sizes the bucket array as the constructor's hint would (the old array is
        /// retired); on a populated one it starts a growth to that size, which the following writes
        /// carry on incrementally as any growth (several levels at once when needed; from an old
        /// array of at most 64 KiB, the next write evacuates it whole), so this call
        /// moves no entry; it allocates the new array and commits its memory (on Linux, populated
        /// in 2 MiB pages from 2 MiB up), so that the writes that fill it take no page fault. If a
        /// growth is already running, the growth to this capacity starts when it ends (at the
        /// next insert, update or trim after it; a remove does not start it), and its array is
        /// then faulted in by the writes as a growth's is; if that array cannot be allocated then,
        /// the request is dropped and that write goes on (the map grows as it fills, as without
        /// the call).
        /// Either way no insert of a new key, up to <paramref name="capacity"/> entries, starts a
        /// growth of its own (deletes mixed in may still start a same-size growth that compacts
        /// overflow chains, as in Go). O(1) plus the array's allocation and its page faults (O(capacity));
        /// invalidates refs into the map.
        /// </summary>
        /// <param name="capacity">The number of entries that must fit.</param>
        /// <returns>The number of entries the map now holds without another growth: 6.5 × 2^B for the
        /// B it is or will be at (8 at B = 0, which holds a full bucket), at least
        /// <paramref name="capacity"/> and the entries already present.</returns>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is negative.</exception>
        /// <exception cref="OutOfMemoryException">The bucket array could not be allocated; the map is unchanged.</exception>
        /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
        /// <exception cref="ConcurrentMapAccessException">A concurrent write was detected.</exception>
        public long EnsureCapacity(long capacity)
        {
            if (capacity < 0)
            {
                ThrowHelper.ThrowCapacityNegative(nameof(capacity), capacity);
            }

            // Before TargetB, which throws OutOfMemoryException for a capacity no array can hold:
            // a disposed map says so whatever the capacity (found by review, 2026-12-05).
            CheckUsable();
            int target = TargetB(capacity);
            BeginWrite();
            try
            {
                EnterStructural();
                try
                {
                    ReclaimStep();

                    // The entries already present count too (Dictionary's capacity is never below
                    // its count): inserts during a shrink may have passed the load factor of the
                    // B it goes to, or of a smaller B still pending.
                    target = Math.Max(target, MapMath.BForHint(_count));
                    int plan = _resizeB >= 0 ? _resizeB : _b;
                    int before = _resizeB;
                    bool raise = target > plan || (_resizeB >= 0 && _resizeB < _b && target > _resizeB);
                    if (raise)
                    {
                        // Raise the plan: a pending shrink stops at the capacity asked for, a
                        // smaller plan grows to it.
                        plan = Math.Max(target, plan);
                        _resizeB = plan == _b && _oldBuckets == null ? -1 : plan;
                    }

                    // A growth planned earlier and left pending by the write that ended the growth
                    // it waited for starts now too, committed, as this call promises (found by review, 2026-12-07).
                    if (raise || _resizeB > _b)
                    {
                        if (_oldBuckets == null && _resizeB >= 0)
                        {
                            try
                            {
                                ContinueResize(commit: true);
                            }
                            catch (OutOfMemoryException)
                            {
                                // The map is unchanged, its plan included: left pending, the request
                                // would make every later write try (and fail) to allocate it.
                                _resizeB = before;
                                throw;
                            }
                        }
                    }

                    return MapMath.MaxCountBeforeGrowth(Math.Max(plan, target));
                }
                finally
                {
                    Publish();
                    ExitStructural();
                }
            }
            finally
            {
                EndWrite();
            }
        }

        /// <summary>
        /// Gives back the memory the entries do not need: moves the map to the smallest B that holds
        /// its <see cref="LongCount"/> under the load factor (6.5 per bucket), and frees the overflow
        /// buckets that deletes left behind (a shrink builds new chains; at the same size, a
        /// same-size growth compacts them when overflow buckets exceed a quarter of the regular
        /// ones, more than a table filled to the load factor has, and at least as many entries
        /// were deleted since the array was made). The move
        /// is incremental, so this call never stalls on a big table: it starts the shrink and
        /// carries it a bounded step (about 256 old buckets evacuated, at most 287, and one release step of
        /// retired memory), and every later write carries it on as it carries a growth. Call it
        /// again until it returns true to finish without writes. An empty map drops its arrays.
        /// With <see cref="GoMapOptions.PrepareGrowthAhead"/>, the next growth's prepared array is
        /// freed once the count is below the three quarters of that growth's count that prepared it.
        /// Enumerators in progress keep Go's rules across the shrink. Invalidates refs into the map.
        /// </summary>
        /// <returns>True when the trim is complete: no entry is left to move and no retired memory
        /// waits for release (memory kept for live enumerators is released after they end).</returns>
        /// <exception cref="OutOfMemoryException">The smaller bucket array or an overflow bucket of the
        /// move could not be allocated; the map is valid and holds the same entries.</exception>
        /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
        /// <exception cref="ConcurrentMapAccessException">A concurrent write was detected.</exception>
        public bool TrimExcess() => Trim(-1);

        /// <summary>
        /// <see cref="TrimExcess()"/> to a size that holds <paramref name="capacity"/> entries without
        /// another growth, as <see cref="System.Collections.Generic.Dictionary{TKey, TValue}.TrimExcess(int)"/>:
        /// nothing shrinks when the map is already that small. It does not make room either: a
        /// shrink an earlier call started still ends at its size, as a <c>Dictionary</c> trimmed
        /// earlier stays trimmed (a deeper level it left pending is dropped), and a growth that
        /// <see cref="EnsureCapacity"/> left pending is cut to this capacity, not dropped. To make
        /// room, use <see cref="EnsureCapacity"/>. Same costs and rules as <see cref="TrimExcess()"/>.
        /// </summary>
        /// <param name="capacity">The number of entries the map must still hold without a growth; at least <see cref="LongCount"/>.</param>
        /// <returns>True when the trim is complete (see <see cref="TrimExcess()"/>).</returns>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is less than <see cref="LongCount"/>.</exception>
        /// <exception cref="OutOfMemoryException">As for <see cref="TrimExcess()"/>.</exception>
        /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
        /// <exception cref="ConcurrentMapAccessException">A concurrent write was detected.</exception>
        public bool TrimExcess(long capacity)
        {
            CheckUsable();
            if (capacity < _count)
            {
                ThrowHelper.ThrowCapacityBelowCount(nameof(capacity), capacity, _count);
            }

            return Trim(capacity);
        }

        /// <summary>The trim behind both overloads; <paramref name="capacity"/> −1 means the count.</summary>
        private bool Trim(long capacity)
        {
            BeginWrite();
            try
            {
                EnterStructural();
                try
                {
                    ReclaimStep();

                    // The next growth's array, prepared at three quarters of its threshold, is not
                    // memory the entries need once deletes took the count back below that point
                    // (found by review, 2026-12-07: a completed trim kept it, twice the map's own array).
                    if (_preparedArray != null && _count < PreparePoint())
                    {
                        DropPrepared();
                    }

                    // A capacity no array could hold asks for no shrink (Dictionary's TrimExcess(int.MaxValue) does nothing).
                    long need = Math.Max(capacity, _count);
                    int target = Addressable(need) ? TargetB(need) : int.MaxValue;
                    if (target < _b || (target == _b && _oldBuckets == null && HasExcessOverflow()))
                    {
                        _resizeB = target; // overrides a pending EnsureCapacity: the latest call wins, as for Dictionary
                    }
                    else if (_resizeB > _b)
                    {
                        // A pending EnsureCapacity growth is cut to the capacity asked for now.
                        _resizeB = target > _b ? Math.Min(target, _resizeB) : -1;
                    }
                    else if (_resizeB >= 0)
                    {
                        // A deeper shrink pending from an earlier trim (this B is already at or
                        // below the target): the latest call wins, so it goes no further.
                        _resizeB = -1;
                    }
                    else if (target == 0 && _count == 0 && _buckets != null && _oldBuckets == null)
                    {
                        // An empty map drops its arrays at B = 0 too (a new map has none).
                        ReplaceEmpty(0, commit: false);
                    }

                    long budget = TrimStepBuckets;
                    _faultInChunks = FaultInChunksPerWrite;
                    while (budget > 0)
                    {
                        if (_oldBuckets == null)
                        {
                            if (_resizeB < 0 && MapMath.OverLoadFactor(_count, _b))
                            {
                                // Inserts during the shrink (they start no growth while one runs, as
                                // in Go) passed the smaller array's load factor: the smallest B that
                                // holds the count is larger again.
                                _resizeB = MapMath.BForHint(_count);
                            }

                            if (_resizeB < 0 || !ContinueResize(commit: false) || _oldBuckets == null)
                            {
                                break;
                            }
                        }

                        budget -= (long)Evacuate(_nevacuate);
                    }

                    return _oldBuckets == null && _resizeB < 0 && _releaseQueue == null && !_reclaimPending;
                }
                finally
                {
                    Publish();
                    ExitStructural();
                }
            }
            finally
            {
                EndWrite();
            }
        }

        /// <summary>Whether a bucket array could hold <paramref name="capacity"/> entries (see <see cref="TargetB"/>).</summary>
        private static bool Addressable(long capacity) =>
            (ulong)capacity / MapMath.BucketCnt <= MapMath.MaxAlloc / (ulong)BucketLayout<TKey, TValue>.BucketSize;

        /// <summary>The smallest B that holds <paramref name="capacity"/> entries under the load factor (Go's makemap rule); throws for a capacity no array could hold.</summary>
        private static int TargetB(long capacity)
        {
            if (!Addressable(capacity))
            {
                ThrowHelper.ThrowOutOfMemory($"A bucket array for {capacity} entries cannot be addressed.");
            }

            return MapMath.BForHint(capacity);
        }

        /// <summary>
        /// Whether a same-size growth would free overflow buckets: more of them than a quarter of
        /// the regular buckets (a table filled to the load factor links about a fifth), and at
        /// least as many deletes since the array was made, so that chains may have gone sparse (a
        /// compaction of chains that are full would free nothing, and repeating it would loop).
        /// </summary>
        private bool HasExcessOverflow() =>
            _overflowUsed > 0 && (ulong)_overflowUsed > MapMath.BucketShift(_b) / 4 && _deletesSinceGrowth >= _overflowUsed;

        /// <summary>
        /// Starts the next step toward <see cref="_resizeB"/> (no growth may be running): a
        /// growth of any number of levels, a shrink of at most <see cref="MaxShrinkLevels"/>
        /// levels (the rest stays pending), a same-size compaction, or, for an empty map, a new
        /// array in place of the old one. Never goes below what the entries need now: inserts
        /// since the request may have raised that. Returns false when nothing was left to do.
        /// <paramref name="commit"/>: called by EnsureCapacity itself, which populates a larger
        /// array now (the capacity the caller asked for); a write or a trim never does.
        /// </summary>
        private bool ContinueResize(bool commit)
        {
            int target = Math.Max(_resizeB, MapMath.BForHint(_count));
            bool compact = target == _b && HasExcessOverflow();

            // The request is taken now: when the allocation below throws (changing nothing else),
            // it stays dropped rather than pending, since a pending request makes every later write
            // try (and fail) to allocate it (found by review: after a failed TrimExcess every
            // update threw OutOfMemoryException). EnsureCapacity restores its earlier plan instead.
            _resizeB = -1;
            if (target == _b && !compact)
            {
                return false;
            }

            if (_count == 0)
            {
                ReplaceEmpty(target, commit && target > _b);
                return true;
            }

            int newB = Math.Max(target, _b - MaxShrinkLevels);
            StartGrowth(newB, commit && newB > _b);
            _resizeB = newB == target ? -1 : target;
            return true;
        }

        /// <summary>
        /// For a write (<see cref="AssignSlow"/>), outside a growth: the next step of a pending
        /// EnsureCapacity or TrimExcess, a request about memory rather than this write's own need
        /// (an update needs none; an insert that must grow and finds nothing pending starts its
        /// own growth, which throws as Go's would). When its array cannot be allocated, the
        /// request is dropped and the write goes on.
        /// </summary>
        private void ContinueResizeForWrite()
        {
            try
            {
                ContinueResize(commit: false);
            }
            catch (OutOfMemoryException)
            {
            }
        }

        /// <summary>
        /// An empty map changes size without a growth: the new array (none for B = 0, as a new map)
        /// replaces the old, which is retired with its overflow chunks. Allocates first (and
        /// populates, with <paramref name="commit"/>: see <see cref="AllocBucketArray"/>).
        /// </summary>
        private void ReplaceEmpty(int b, bool commit)
        {
            byte* nextOverflow = null;
            byte* array = b == 0 ? null : AllocBucketArray(b, commit, out nextOverflow);
            if (b == 0)
            {
                DropPrepared(); // the next growth starts from a new first array
            }

            if (_buckets != null)
            {
                RetireBucketMemory(_buckets);
            }

            RetireOverflowList(ref _overflow);
            StartGenerationCounters();
            _buckets = array;
            _b = b;
            _prepareRefusedB = -1;
            _nextOverflow = nextOverflow;
            Publish();
        }
    }
}
