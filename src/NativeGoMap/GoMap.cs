// GoMap: Go's classic runtime hash map (runtime/map.go, Go 1.19), bucket for bucket, in
// native memory.
//
// A map is an array of 2^B buckets. A bucket holds up to 8 entries: 8 tophash bytes, then 8
// keys, then 8 values, then a pointer to an overflow bucket (GoMapLayout.cs draws it). The low
// B bits of a key's 64-bit hash choose the bucket; the top 8 bits are kept in the tophash byte
// of the entry's slot, so a lookup compares whole keys only where that byte matches. We read
// the 8 tophash bytes of a bucket as one word and match them all at once, the chain's end with
// them (MapMath.MatchTopHashAndEnd).
//
// A bucket that fills up chains an overflow bucket. For B >= 4 the bucket array carries
// 2^(B-4) spare buckets at its tail (nextOverflow) so that the first overflows cost no
// allocation; past those, overflow buckets come from chunks (1 to 128 buckets, growing with the
// generation) recorded in the ownership list of its generation (Go's mapextra.overflow). Go
// keeps that list so the garbage collector keeps pointer-free buckets alive; here it is what
// releases them, a few hundred chunks instead of a hundred thousand buckets at 10M entries.
// Go's mapdelete leaves an emptied overflow bucket linked until a growth; ours unlinks the empty
// buckets that end a chain and keeps them as spares that the next overflow takes first
// (TrimEmptyTail, not while an enumerator is registered), so a map emptied by deletes and filled
// again does not collect an empty overflow bucket behind most of its chains.
//
// Growth is incremental. When an insert would take the average load past 6.5 entries per
// bucket, a new array twice as large is allocated and the old one kept ("growing"); four times
// as large while that stays within 64 KiB (GrownB: Go doubles at every size, which makes a map
// built from empty move its entries again at each of many small growths). Every
// later write first evacuates the old bucket it needs and three more in order (growWork; Go:
// one more), splitting each
// old chain between new buckets i (evacuatedX) and i + 2^(B-1) (evacuatedY) by one more hash
// bit (a chain of one bucket is copied whole to both, each entry keeping its slot index; Go
// packs them from slot 0), or for a quadrupling between i + k·2^(B-2) by two. When the overflow buckets of a table become as many as its
// regular buckets (deletes leave chains sparse; a spare counts once, when first linked), a same-size growth compacts them. Go's map
// never shrinks; ours does when asked (TrimExcess): the same incremental evacuation run in
// reverse merges old buckets i, i + 2^B, … into new bucket i (GoMap.Resize.cs). A write pays for four evacuation units (four
// old chains; for a shrink, two groups of at most 32), twice that in the rare insert that ends
// one growth and must start the next (Go's mapassign does the same), so no insert stalls on a
// whole-table rehash. Except for small tables: a growth (not a same-size one) from an old array
// of at most 64 KiB is evacuated whole by the write that starts it, some microseconds, unless an
// enumerator is live or the keys run user code (GoMap.Grow.cs, BulkEvacuationMaxBytes), so that
// the inserts after it take the fast path at once. The new array of a growth comes as untouched zero pages (a
// 2 MiB-aligned mapping of its own from 64 KiB up, in huge pages from 2 MiB up, OsMemory.cs),
// so allocating it does not stall; the writes fault its pages in as they reach them (with
// GoMapOptions.SmallPagesForGrowth: base pages that the release thread populates ahead of the
// writes, and that the growth's evacuations fault in before they write there, 128 KiB at once
// for one chunk a write and page by page past it, NativeHeap.FaultIn). An array the caller sized (a capacity hint, EnsureCapacity outside a running
// growth, a load from a stream that can seek) is populated up front in huge pages; a load from
// a stream that cannot seek only reserves its array. The old generation is not freed by the write that ends the
// growth but released by the writes that follow, a bounded piece or a few small blocks (at most 32 and 32 KiB) at a time
// (GoMap.Memory.cs), with the system calls made on a background thread (ReleaseThread.cs), and
// the free() calls of full-size overflow chunks too (they trim the C heap), so ending a growth
// does not stall.
//
// Iteration walks buckets in order from a random start bucket and slot offset, then each
// chain, then each slot. Entries never move within their chain, so an iteration yields each
// entry at most once; when the table grows under it, the iterator keeps walking the array it
// started on and looks up in the new table any entry marked as evacuated (GoMap.Iteration.cs).
// While the map is not written and not growing, an enumerator walks on without those checks,
// reading the tophash words of up to eight buckets at a time into one mask and finding each
// entry's key and value from its bit through a table of slot offsets (GoMapLayout.cs).
// Because no garbage collector keeps that old array alive for it, memory retired while an
// enumerator is live waits on a deferred-free list (GoMap.Memory.cs).
//
// Picking the load factor: too large and chains grow overflow buckets, too small and memory is
// wasted. Measured with our hash and layout (<long,long>, 144-byte buckets, 2^16 buckets filled
// to the load shown, i.e. maximally loaded just before a growth; LoadFactorTableTests prints it):
//
//   loadFactor  %overflow  bytes/entry  hitprobe  missprobe  hitcompare  misscompare
//         4.00       2.15        36.77      3.00       4.00       1.008        0.016
//         5.00       6.73        30.74      3.50       5.00       1.010        0.020
//         6.00      15.23        27.66      4.00       6.00       1.012        0.025
//         6.50      20.76        26.76      4.25       6.50       1.013        0.027
//         7.00      27.04        26.16      4.50       7.00       1.014        0.029
//         8.00      40.73        25.41      5.00       8.00       1.016        0.033
//
//   %overflow    share of buckets that have an overflow bucket
//   bytes/entry  native bytes per entry, its own 16 key/value bytes included
//   hitprobe     slots scanned to find a present key (Go's measure)
//   missprobe    slots scanned for an absent key
//   hitcompare   key comparisons to find a present key once the tophash byte filters slots
//   misscompare  key comparisons for an absent key
//
// We keep Go's 6.5 (13/2). The tophash byte is why the probe counts barely matter: past it, a
// lookup compares about one key for a hit and almost none for a miss.
//
// File map: GoMap.cs (header, constructors, public API), GoMapLayout.cs (bucket layout and all
// pointer arithmetic), MapMath.cs (constants and helpers), KeyOps.cs (equality and hashing;
// KeyClassifier, which decides a key's equality from metadata only, so native AOT runs it),
// GoMap.Access.cs (lookups, and TryGetValues' batch), GoMap.Assign.cs (insert/update, and
// the block loop of the batched writes, SetValues and RemoveKeys), GoMap.Delete.cs (delete and the
// empty chain ends it unlinks as spares, its batch's per-key loop, and clear), GoMap.Grow.cs (growth and evacuation, of any kind), GoMap.Resize.cs (EnsureCapacity and
// TrimExcess: growths of several levels and shrinks), GoMap.Iteration.cs (enumerators: the
// constructor in line, their start out of line in StartEnumeration; their registration: four
// fast slots claimed without a lock, then a locked table; IterRegistration: the words an enumeration writes, on cache lines
// of their own; IterSlotHint: each thread's first fast slot),
// GoMap.Collections.cs (Keys and Values), GoMap.Dictionary.cs (IDictionary and the other .NET
// collection contracts: pair constructor, Comparer, ContainsValue, CopyTo),
// GoMap.Concurrency.cs (the concurrency protocol: hashWriting, the Go and Strict checks),
// ConcurrencyChecks.cs (the two modes), GoMap.Memory.cs (ownership, retirement and release of
// native memory), NativeHeap.cs (the allocator), OsMemory.cs (2 MiB-aligned mappings, huge
// pages, populating), ReleaseThread.cs (the system calls that return memory and the frees of
// full-size overflow chunks, off the writer's thread), Prefetch.cs (software prefetch),
// Fences.cs (the load fence of the checks' second look, for CPUs that reorder loads: Arm64),
// ReaderRegistry.cs (Strict reader announcements, map ids), FinalizerGuard.cs (the finalizer,
// pooled per thread), GoMap.Validate.cs (the invariant walker), WorkCounters.cs (slow-path work,
// for the stress program and benchmarks), GoMapOptions.cs, GoMapStats.cs, Diagnostics.cs
// (process-wide counters), ThrowHelper.cs (the map's throws, out of line), GoMap.Snapshot.cs (WriteTo and
// ReadFrom), SnapshotFormat.cs (the snapshot format and its throws), GoMap.Debugger.cs (what a
// debugger shows), GoMap.TestAccess.cs (internal hooks for the tests and the stress program),
// Compat/ (what the netstandard2.1 build lacks: 128-bit multiply, bit operations, native
// memory, the process-wide fence, type helpers, the core types it must find by name (Half,
// Int128), StackTraceHidden, the trimming attributes; README, "On netstandard2.1").
using System;
using System.Threading;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NativeGoMap
{
    /// <summary>
    /// A hash map whose entries live in native memory, laid out and grown exactly as Go's
    /// classic runtime map: buckets of 8 slots with overflow chains, load factor 6.5, and
    /// incremental growth so that no single insert pays for a whole rehash. The garbage collector
    /// never sees the entries; operations allocate nothing on the GC heap.
    /// </summary>
    /// <remarks>
    /// <para>Not thread-safe for writes, like Go's map and <see cref="Dictionary{TKey, TValue}"/>:
    /// any number of threads may read at once, but a write must have the map to itself. A write
    /// that overlaps another write throws <see cref="ConcurrentMapAccessException"/> ("concurrent
    /// map writes"): most of the time with the default <see cref="ConcurrencyChecks.Go"/> checks
    /// (Go's own), every time with <see cref="ConcurrencyChecks.Strict"/>; a read or an
    /// iteration step that overlaps a write is detected on a best-effort basis. After a
    /// detection the map is poisoned: every later call throws the same exception, and
    /// <see cref="Dispose"/> still frees its memory.</para>
    /// <para>Always <see cref="Dispose"/> a map: a finalizer frees the memory of a forgotten map,
    /// but only when the garbage collector gets to it.</para>
    /// </remarks>
    /// <typeparam name="TKey">The key type. Compared by its bytes when that equals <c>Equals</c>,
    /// else through <see cref="IEquatable{T}"/>; types with neither need a comparer. Which one is
    /// decided from its fields, by reflection: the annotation keeps them under trimming and native
    /// AOT (where a struct nested in a key loses its fields: README, "Native AOT and trimming").</typeparam>
    /// <typeparam name="TValue">The value type (its fields are read for the snapshot fingerprint and ContainsValue's equality).</typeparam>
    public sealed unsafe partial class GoMap<[DynamicallyAccessedMembers(KeyClassifier.KeyTypeMembers)] TKey, [DynamicallyAccessedMembers(KeyClassifier.KeyTypeMembers)] TValue> : IDisposable, IDictionary<TKey, TValue>, IReadOnlyDictionary<TKey, TValue>, IGuardedByFinalizer
        where TKey : unmanaged
        where TValue : unmanaged
    {
        // ---- hmap ----
        private long _count;            // live entries, exact (Go's count)
        private int _b;                 // log_2 of # of regular buckets (Go's B)
        private int _noverflow;         // approximate # of overflow buckets taken, linked or spare (a reuse is not counted again); exact for B < 16 (Go's noverflow)
        private ulong _hash0;           // hash seed (Go's hash0); _k1/_k2 are derived from it
        private ulong _k1;              // first hash secret of the current seed
        private ulong _k2;              // second hash secret of the current seed
        private byte* _buckets;         // 2^B buckets + the preallocated overflow tail; null until the first insert when B = 0
        private byte* _oldBuckets;      // previous array (half the size for Go's doubling, a quarter for a small table's, smaller still for EnsureCapacity's growths, equal for a same-size growth, larger for a shrink); non-null only while growing
        private ulong _nevacuate;       // progress counter: evacuation units below it are evacuated (GoMap.Grow.cs)
        private int _oldB;              // log2 of the old array's regular bucket count while growing: B - 1 (Go's doubling), B - 2 (GrownB's small tables), less (EnsureCapacity), B (same size), more (a shrink)
        private long _quadrupleMaxBytes = QuadrupleMaxBytes; // GrownB's limit; tests set 0 for Go's doubling at every size
        private long _bulkEvacuationMaxBytes = BulkEvacuation.DefaultMaxBytes; // GrowWork's limit for a whole growth in one write (0: Go's pace)
        private bool _keepEmptyOverflow; // tests set it for Go's way, emptied overflow buckets left linked (TrimEmptyTail never runs)
        private int _resizeB = -1;      // B an EnsureCapacity or TrimExcess still has to reach once the growth in progress ends, or -1
        private long _overflowUsed;     // overflow buckets linked in the current generation's chains (prealloc + chunks; spares not), exact
        private long _deletesSinceGrowth; // deletes since the current array was made: what may have left its overflow chains sparse (TrimExcess)

        // ---- what lookups read: published by writes (GoMap.Access.cs) ----
        private nuint _table;           // _buckets | _b in one word (arrays are 64-byte aligned, B < 64): one load, one consistent pair
        private nuint _oldTable;        // _oldBuckets | old B, or 0 when not growing
        private nuint _quietTable;      // _table while no growth runs and no comparer is set, else 0: the one word Find's inline search tests
        private nuint _plainReadTable;  // _quietTable while no flag is set (Go mode, not poisoned or disposed), else 0: the one word TryRead and GetValueRefOrNullRef test after the state word
        private long _insertSlowAt;     // count at which an insert must take the slow path (a growth is due); 0 forces it
        private int _slowWrites;        // non-zero while every write must take the slow path: growing, no array, memory to reclaim
        private nuint _plainWriteTable; // _plainReadTable while _slowWrites is 0, else 0: the one word the inline writes (set, TryAdd, GetValueRefOrAddDefault, Remove) test after the state word

        // ---- mapextra: ownership ----
        private PtrList _overflow;      // overflow chunks of the current array (Go's mapextra.overflow, one entry per chunk)
        private PtrList _oldOverflow;   // the same for the old array; retired when its evacuation completes
        private byte* _nextOverflow;    // next free preallocated overflow bucket at the tail of _buckets, or null
        private byte* _chunkNext;       // next free bucket of the newest overflow chunk
        private long _chunkLeft;        // free buckets left in it
        private byte* _spareOverflow;   // overflow buckets of the current generation that a delete left empty at a chain's end, unlinked (TrimEmptyTail) and chained through their overflow pointers; NewOverflow takes them first
        private long _spareCount;       // how many
        private ulong _clearSeq;        // number of Clear calls; an enumerator leaves its chain when it changes

        // ---- everything native memory needs beyond Go (GoMap.Memory.cs) ----
        private long _nativeBytes;      // bytes this map holds (NativeHeap charges, headers included)
        private long _deferredBytes;    // of which retired and not yet released (deferred or queued)
        private byte* _deferred;        // retired blocks that enumerators may still read, newest first, linked through their headers
        private byte* _releaseQueue;    // retired blocks nothing can read, released a bounded piece per write
        private byte* _parked;          // Go mode: emptied big arrays kept mapped until a growth starts a second later
        private bool _reclaimPending;   // something may have become releasable since the last reclaim
        private IterSlot* _fastIterSlots; // the fast registration slots (FastIterSlots, claimed through IterRegistration's claim words): boundary, epoch and random state; made by the first registration, freed by Dispose
        private IterSlot* _iterSlots;   // the locked registrations beyond the fast slots: ticket (0 = free) and deferred-list boundary
        private int _iterSlotCount;     // capacity of _iterSlots
        private byte* _oldIterSlots;    // outgrown _iterSlots tables, linked through their block headers; freed by Dispose
        private IterRegistration _reg;  // what registrations write from any enumerating thread: the fast slots' claim words (a line each), and for the locked table the lock, its live count and last ticket; and the map's random state; on cache lines of their own (IterRegistration)

        // ---- configuration and misuse (GoMap.Concurrency.cs) ----
        private long _state;            // hashWriting and the write counts (GoMap.Concurrency.cs)
        private int _flags;             // strict, poisoned, disposed; changed by interlocked operations only
        private readonly bool _smallPagesForGrowth; // GoMapOptions.SmallPagesForGrowth
        private int _faultInChunks;                 // with it: whole chunks the current write's evacuations may still fault in (FaultInChunksPerWrite, GoMap.Grow.cs)
        private readonly bool _prepareGrowthAhead;  // GoMapOptions.PrepareGrowthAhead
        private byte* _preparedArray;               // the next growth's array, allocated ahead and populated by the release thread (PrepareGrowthAhead), or null
        private int _preparedB;                     // the B of _preparedArray
        private int _prepareRefusedB = -1;          // the B at which the next growth's array could not be prepared (out of memory): none is tried again until B changes, or -1
        private int _structural;        // 1 while a write restructures native memory
        private string? _poisonMessage; // Go's message of the detected race, once poisoned
        private int _writer;            // managed thread id of the thread holding hashWriting (user-code keys only), 0 once its write ended
        private readonly bool _failFast;
        private readonly IEqualityComparer<TKey>? _comparer;
        private readonly long _id = ReaderRegistry.NewMapId(); // names this map in Strict reader announcements
        private WorkCounters _work;     // slow-path work done so far (WorkCounters.cs)
        private FinalizerGuard? _guard; // frees the map's memory if it is dropped without Dispose (FinalizerGuard.cs); null once disposed

        /// <summary>Creates an empty map. O(1) (about 100 ns: the object, its seed, a finalizer guard that a disposed map on this thread hands on, else a new one); allocates no native memory until the first insert.</summary>
        /// <exception cref="NotSupportedException">The key type cannot be compared without a comparer (see <see cref="GoMap(GoMapOptions, IEqualityComparer{TKey})"/>).</exception>
        /// <exception cref="PlatformNotSupportedException">The process is not 64-bit.</exception>
        public GoMap()
            : this(null, null)
        {
        }

        /// <summary>
        /// Creates a map sized for <paramref name="capacityHint"/> entries (Go's <c>make(map[K]V, hint)</c>):
        /// B is the smallest whose buckets hold the hint under Go's load factor (hint ≤ 6.5 × 2^B,
        /// and up to 8 entries in B = 0: a hint of 8 or less allocates nothing). The bucket array is allocated and its memory
        /// committed now (on Linux, populated in 2 MiB pages from 2 MiB up), so that no insert up
        /// to the hint takes a page fault: this call costs O(hint) in page faults once, about
        /// 144 bytes per 6.5 entries for &lt;long,long&gt;. Negative or absurd hints count as 0.
        /// </summary>
        /// <param name="capacityHint">Expected number of entries.</param>
        /// <exception cref="NotSupportedException">The key type cannot be compared without a comparer (see <see cref="GoMap(GoMapOptions, IEqualityComparer{TKey})"/>).</exception>
        /// <exception cref="PlatformNotSupportedException">The process is not 64-bit.</exception>
        /// <exception cref="OutOfMemoryException">The bucket array could not be allocated.</exception>
        public GoMap(long capacityHint)
            : this(new GoMapOptions { CapacityHint = capacityHint }, null)
        {
        }

        /// <summary>
        /// Creates a map with the given options. O(1) without a capacity hint (no bucket array
        /// until the first insert); with one, as <see cref="GoMap(long)"/>: the array is allocated
        /// and committed now, O(hint) in page faults once.
        /// </summary>
        /// <param name="options">Capacity hint, seed and fail-fast behaviour; null for the defaults.</param>
        /// <exception cref="NotSupportedException">The key type cannot be compared without a comparer (see <see cref="GoMap(GoMapOptions, IEqualityComparer{TKey})"/>).</exception>
        /// <exception cref="PlatformNotSupportedException">As for <see cref="GoMap(GoMapOptions, IEqualityComparer{TKey})"/>.</exception>
        /// <exception cref="OutOfMemoryException">The hinted bucket array could not be allocated.</exception>
        public GoMap(GoMapOptions? options)
            : this(options, null)
        {
        }

        /// <summary>
        /// Creates an empty map that compares keys with <paramref name="comparer"/>, as
        /// <c>Dictionary</c>'s constructor of one comparer: the same as
        /// <c>GoMap(null, comparer)</c> (see <see cref="GoMap(GoMapOptions, IEqualityComparer{TKey})"/>
        /// for what a comparer costs and must do). O(1). <c>Dictionary</c>'s constructor of a
        /// capacity and a comparer has no twin here: beside the options-and-comparer one, it made
        /// <c>new(new() { Seed = 1 }, comparer)</c> ambiguous; a capacity with a comparer is
        /// <c>new(new GoMapOptions { CapacityHint = n }, comparer)</c>.
        /// </summary>
        /// <param name="comparer">Key equality; null for the default.</param>
        /// <exception cref="NotSupportedException">As for <see cref="GoMap(GoMapOptions, IEqualityComparer{TKey})"/>.</exception>
        /// <exception cref="PlatformNotSupportedException">The process is not 64-bit.</exception>
        public GoMap(IEqualityComparer<TKey>? comparer)
            : this(null, comparer)
        {
        }

        /// <summary>
        /// Creates a map that compares keys with <paramref name="comparer"/> instead of the key
        /// type's default equality. Its 32-bit hash codes are mixed with the map's seed to 64 bits.
        /// The comparer must not throw and must be consistent: equal keys, equal hash codes. The
        /// default path pays one well-predicted null test per call for this option: each
        /// operation decides the equality once, as Dictionary does. Costs as
        /// <see cref="GoMap(GoMapOptions)"/>'s.
        /// </summary>
        /// <param name="options">Capacity hint, seed and fail-fast behaviour; null for the defaults.</param>
        /// <param name="comparer">Key equality; null for the default.</param>
        /// <exception cref="NotSupportedException">No comparer is given and <typeparamref name="TKey"/>
        /// cannot be compared by its bytes (padding, floating-point fields, own equality) nor through
        /// <see cref="IEquatable{T}"/>.</exception>
        /// <exception cref="PlatformNotSupportedException">The process is not 64-bit; or
        /// <see cref="ConcurrencyChecks.Strict"/> was asked for and the runtime does not implement
        /// <c>Interlocked.MemoryBarrierProcessWide</c> (a netstandard2.1 host may not;
        /// <see cref="ConcurrencyChecks.Go"/> works there).</exception>
        [MethodImpl(MethodImplOptions.NoInlining)]
        public GoMap(GoMapOptions? options, IEqualityComparer<TKey>? comparer)
        {
            // Never inlined: this body (options, the seed, the first array, Publish) is big, and
            // inlined with PGO into a method that builds maps and fills them in a loop it took
            // that method's inlining budget, so that the loop's own helpers (the key compare, the
            // value slot) stayed calls. In the quick comparison's insert_hint rows (the JIT's OSR
            // code of a loop that builds and disposes maps), three alternated runs at 1,000
            // entries, 2026-12-03: GoMap <int> 5.35-6.17 → 4.60-4.69 ns per insert, <long>
            // 5.53-6.03 → 4.83-4.87, <Guid> 6.74-7.01 → 5.66-5.74. A map cost about 120 ns to
            // make then (a finalizable object: FinalizerGuard.cs since); the call is nothing beside it.
            if (IntPtr.Size != 8)
            {
                // Found by review: a 32-bit process gets buckets whose size is not a multiple of
                // 8 (<int,int>: 76 bytes), which the enumerator's group walk assumes, and plain
                // loads of the 64-bit state word that may tear. Refused rather than untested.
                ThrowHelper.ThrowNeeds64BitProcess();
            }

            if (options?.ConcurrencyChecks == ConcurrencyChecks.Strict)
            {
                // Strict reader announcements need the process-wide fence; fail here, not mid-write.
                ProcessWideBarrier.EnsureAvailable();
            }

            if (comparer is null && KeyOps<TKey>.Kind == KeyKind.Unsupported)
            {
                ThrowHelper.ThrowUnsupportedKey(KeyOps<TKey>.UnsupportedReason!);
            }

            // The finalizer, before the first native allocation and after the last refusal: a
            // map whose constructor throws from here on (an OutOfMemoryException for a hint's
            // array) is freed by it; one refused above owns nothing.
            _guard = FinalizerGuard.Take(this);
            ReleaseThread.EnsureStarted(); // once per process: no operation allocates it
            _comparer = comparer;
            _failFast = options?.FailFast ?? false;
            _smallPagesForGrowth = options?.SmallPagesForGrowth ?? false;
            _prepareGrowthAhead = options?.PrepareGrowthAhead ?? false;
            if (options?.ConcurrencyChecks == ConcurrencyChecks.Strict)
            {
                _flags = FlagStrict;
            }
            if (options?.Seed is ulong seed)
            {
                _reg.Rng = seed;
            }
            else
            {
                _reg.Rng = Hasher.NewMapSeed();
            }

            _reg.IterSeed = Hasher.SideSeed(_reg.Rng);
            Reseed();

            // makemap: a hint whose memory could not be addressed is no hint at all.
            long hint = options?.CapacityHint ?? 0;
            if (hint < 0 || (ulong)hint > MapMath.MaxAlloc / (ulong)BucketLayout<TKey, TValue>.BucketSize)
            {
                hint = 0;
            }

            int b = MapMath.BForHint(hint);
            if (b != 0)
            {
                _buckets = AllocBucketArray(b, commit: true, out _nextOverflow);
            }

            _b = b;
            Publish();
        }

        /// <summary>
        /// Frees the native memory of a map that was never disposed: its <see cref="FinalizerGuard"/>'s
        /// finalizer calls this, when nothing but other finalizable objects can reach the map. One
        /// of those (a wrapper, a cursor holding an enumerator) may still run its finalizer after
        /// this one and use the map: so the map is marked disposed first, as Dispose marks it
        /// (its members then throw <see cref="ObjectDisposedException"/>, an enumerator's
        /// Dispose leaves the freed registration table alone, and in Go mode the state word
        /// moves on, so an enumerator's inline walk stops before it reads freed memory). Found by
        /// review (2026-12-07): without the flag, such a finalizer found the map live and empty,
        /// leaked what it wrote, walked freed buckets, and an enumerator's Dispose wrote through
        /// the null fast-slot table (a NullReferenceException on the finalizer thread).
        /// </summary>
        void IGuardedByFinalizer.FreeFromFinalizer()
        {
            if (SetFlag(FlagDisposed) && (_flags & FlagStrict) == 0)
            {
                Interlocked.Add(ref _state, StateSeqOne); // as BeginDispose's
            }

            FreeAll(toCache: false);
        }

        /// <summary>The bucket layout of this key/value pair, identical to Go's <c>bmap</c>. O(1).</summary>
        public static GoMapLayout Layout => BucketLayout<TKey, TValue>.Layout;

        /// <summary>The number of entries. O(1).</summary>
        /// <exception cref="OverflowException">More than <see cref="int.MaxValue"/> entries; read <see cref="LongCount"/>.</exception>
        /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
        /// <exception cref="ConcurrentMapAccessException">A concurrent write was detected earlier (the map is poisoned).</exception>
        public int Count
        {
            get
            {
                long n = LongCount;
                if (n > int.MaxValue)
                {
                    ThrowHelper.ThrowCountOverflow(n);
                }

                return (int)n;
            }
        }

        /// <summary>The number of entries, as a 64-bit count. O(1).</summary>
        /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
        /// <exception cref="ConcurrentMapAccessException">A concurrent write was detected earlier (the map is poisoned).</exception>
        public long LongCount
        {
            get
            {
                CheckUsable();
                return _count;
            }
        }

        /// <summary>True once <see cref="Dispose"/> has run. Never throws.</summary>
        public bool IsDisposed => (Volatile.Read(ref _flags) & FlagDisposed) != 0;

        /// <summary>How this map checks for concurrent misuse (fixed at construction). Never throws.</summary>
        public ConcurrencyChecks ConcurrencyChecks => (_flags & FlagStrict) != 0 ? ConcurrencyChecks.Strict : ConcurrencyChecks.Go;

        /// <summary>
        /// Gets or sets the value of a key. Get is Go's <c>v := m[k]</c> but throws for a missing
        /// key, as <see cref="Dictionary{TKey, TValue}"/> does; set inserts or updates. Amortized O(1);
        /// set may advance a growth by four old buckets (or two shrink groups; a small table's whole
        /// growth, from an old array of at most 64 KiB, some microseconds) or release a bounded
        /// piece of retired memory, and invalidates refs into the map.
        /// </summary>
        /// <param name="key">The key.</param>
        /// <exception cref="KeyNotFoundException">Get of a key that is not present.</exception>
        /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
        /// <exception cref="ConcurrentMapAccessException">A concurrent write was detected.</exception>
        /// <exception cref="OutOfMemoryException">Native memory ran out; the map is unchanged.</exception>
        public TValue this[TKey key]
        {
            get
            {
                if (!TryRead(key, wantValue: true, out TValue value))
                {
                    ThrowHelper.ThrowKeyNotFound(key);
                }

                return value;
            }

            set
            {
                // A plain Go-mode write of keys that run no user code (decided once per write, as
                // Dictionary's FindValue decides its comparer: the key type here, the comparer
                // through the plain-write table, which is 0 in a map with one) inline; everything
                // else (Strict, disposed, poisoned, written, growing, user code) in SetGuarded.
                // Nothing of the caller's or of the write's is live across a call then: with
                // BeginWrite's slow call returning into this code, the JIT kept the map, the key
                // and the value in stack slots, stored and reloaded on every update of a
                // benchmark loop.
                if (KeyOps<TKey>.Kind != KeyKind.Equatable && TryBeginInlineWrite(out nuint t))
                {
                    SetTaken(key, value, t);
                    return;
                }

                SetGuarded(key, value);
            }
        }

        /// <summary>
        /// The indexer's set once hashWriting is held, for keys that run no user code: the fast
        /// path cannot throw, so it needs no try/finally (which would keep the map and the key in
        /// memory instead of registers); the rest runs in SetSlow. Hashing cannot throw either,
        /// so it comes after hashWriting is taken.
        /// </summary>
        /// <remarks>
        /// Tried and not kept (2026-12-03): hashing in the indexer before hashWriting is taken
        /// (Go's order). In the JIT's update loop the seed's second half then stayed in a
        /// register (here it goes through a stack slot: stored, loaded back), but four alternated
        /// quick comparisons at 1,000 entries measured the same updates and inserts (in the one
        /// pair the host ran at full speed: <c>&lt;int&gt;</c> update 2.87 against 2.80 ns,
        /// <c>&lt;long&gt;</c> 2.96 against 2.97).
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void SetTaken(TKey key, TValue value, nuint table)
        {
            ulong hash = KeyOps<TKey>.Hash(key, _k1, _k2);
            if (!TryAssignFast(default(DefaultKeys), key, hash, table, zeroValue: false, out TValue* v, out _))
            {
                SetSlow(key, hash, value);
                return;
            }

            *v = value;
            EndWrite(StateInPlaceOne); // the fast path's update or insert: enumerators' inline walks go on
        }

        /// <summary>The indexer's set for what its inline part leaves: keys that run user code take the general path, all of it under try/finally; the others BeginWrite (which throws or takes hashWriting Strict's way) and <see cref="SetTaken"/>.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private void SetGuarded(TKey key, TValue value)
        {
            if (KeysRunUserCode)
            {
                SetSlow(key, BeginUserCodeWrite(key), value);
                return;
            }

            BeginWrite(keysRunUserCode: false);
            SetTaken(key, value, FastWriteTable());
        }

        /// <summary>Looks a key up (Go's <c>v, ok := m[k]</c>). O(1), no allocation, no write.</summary>
        /// <param name="key">The key.</param>
        /// <param name="value">The value when found, else <c>default</c>.</param>
        /// <returns>True when the key is present.</returns>
        /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
        /// <exception cref="ConcurrentMapAccessException">A concurrent write was detected.</exception>
        public bool TryGetValue(TKey key, out TValue value) => TryRead(key, wantValue: true, out value);

        /// <summary>Go's <c>m[k]</c>: the value of a key, or <c>default</c> when it is absent. O(1).</summary>
        /// <param name="key">The key.</param>
        /// <returns>The value, or <c>default(TValue)</c>.</returns>
        /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
        /// <exception cref="ConcurrentMapAccessException">A concurrent write was detected.</exception>
        public TValue GetValueOrDefault(TKey key)
        {
            TryRead(key, wantValue: true, out TValue value);
            return value;
        }

        /// <summary>Whether a key is present. O(1); reads the key's bucket, not its value.</summary>
        /// <param name="key">The key.</param>
        /// <returns>True when present.</returns>
        /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
        /// <exception cref="ConcurrentMapAccessException">A concurrent write was detected.</exception>
        public bool ContainsKey(TKey key) => TryRead(key, wantValue: false, out _);

        /// <summary>
        /// Adds a key and value if the key is absent. Amortized O(1); may start a growth or advance
        /// one by four old buckets (a small table's by all of them: see the indexer); invalidates
        /// refs into the map.
        /// </summary>
        /// <param name="key">The key.</param>
        /// <param name="value">The value.</param>
        /// <returns>True when added, false when the key was present (its value is unchanged).</returns>
        /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
        /// <exception cref="ConcurrentMapAccessException">A concurrent write was detected.</exception>
        /// <exception cref="OutOfMemoryException">Native memory ran out; the map is unchanged.</exception>
        public bool TryAdd(TKey key, TValue value)
        {
            // As in the indexer's set: a plain write inline, everything else out of line.
            return KeyOps<TKey>.Kind != KeyKind.Equatable && TryBeginInlineWrite(out nuint t) ? TryAddTaken(key, value, t) : TryAddGuarded(key, value);
        }

        /// <summary><see cref="TryAdd"/> for what its inline part leaves, as <see cref="SetGuarded"/>.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private bool TryAddGuarded(TKey key, TValue value)
        {
            if (KeysRunUserCode)
            {
                return TryAddSlow(key, BeginUserCodeWrite(key), value);
            }

            BeginWrite(keysRunUserCode: false);
            return TryAddTaken(key, value, FastWriteTable());
        }

        /// <summary><see cref="TryAdd"/> once hashWriting is held, for keys that run no user code (as <see cref="SetTaken"/>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private bool TryAddTaken(TKey key, TValue value, nuint table)
        {
            ulong hash = KeyOps<TKey>.Hash(key, _k1, _k2);
            if (!TryAssignFast(default(DefaultKeys), key, hash, table, zeroValue: false, out TValue* v, out bool found))
            {
                return TryAddSlow(key, hash, value);
            }

            if (!found)
            {
                *v = value;
            }

            EndWrite(StateInPlaceOne); // as in the indexer's set
            return !found;
        }

        /// <summary>
        /// The start of the indexer's set, <see cref="TryAdd"/>, <see cref="GetValueRefOrAddDefault"/>
        /// and <see cref="Remove(TKey)"/> for keys that run user code: the key's hash (before hashWriting, since hashing may throw),
        /// then hashWriting with the writer's thread recorded, then <see cref="RehashIfReseeded"/>.
        /// Out of line: the fast writes inline only their own path.
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private ulong BeginUserCodeWrite(TKey key)
        {
            CheckUsable(); // a disposed or poisoned map throws that, not what the key's hash might throw
            ulong seed = _k1;
            ulong hash = Hash(key);
            BeginWrite(keysRunUserCode: true);
            try
            {
                return RehashIfReseeded(key, hash, seed);
            }
            catch
            {
                EndWrite();
                throw;
            }
        }

        /// <summary>
        /// For a hash computed before hashWriting was taken, under seed <paramref name="seed"/>
        /// (<c>_k1</c> then): the hash again if the map took a new seed since (it emptied or was
        /// cleared), by the user code of that very hash or on another thread, which hashWriting
        /// did not exclude yet. A stale hash would file the key under the old seed's bucket and
        /// tophash, where no lookup finds it and a second insert adds it again. Found by a review
        /// of the protocol. The caller holds hashWriting now, so the seed cannot change again.
        /// </summary>
        private ulong RehashIfReseeded(TKey key, ulong hash, ulong seed) => _k1 == seed ? hash : Hash(key);

        /// <summary>The indexer's set after its fast path declined, or for keys that run user code: hashWriting is held; releases it.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private void SetSlow(TKey key, ulong hash, TValue value)
        {
            try
            {
                Assign(key, hash, out _) = value;
            }
            finally
            {
                EndWrite();
            }
        }

        /// <summary><see cref="TryAdd"/> after its fast path declined, or for keys that run user code: hashWriting is held; releases it.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private bool TryAddSlow(TKey key, ulong hash, TValue value)
        {
            try
            {
                ref TValue slot = ref Assign(key, hash, out bool exists);
                if (exists)
                {
                    return false;
                }

                slot = value;
                return true;
            }
            finally
            {
                EndWrite();
            }
        }

        /// <summary>Adds a key and value. Amortized O(1); invalidates refs into the map.</summary>
        /// <param name="key">The key.</param>
        /// <param name="value">The value.</param>
        /// <exception cref="ArgumentException">The key is already present; the map is unchanged.</exception>
        /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
        /// <exception cref="ConcurrentMapAccessException">A concurrent write was detected.</exception>
        /// <exception cref="OutOfMemoryException">Native memory ran out; the map is unchanged.</exception>
        public void Add(TKey key, TValue value)
        {
            if (!TryAdd(key, value))
            {
                ThrowHelper.ThrowDuplicateKey(key);
            }
        }

        /// <summary>
        /// Removes a key (Go's <c>delete(m, k)</c>). O(1); may advance a growth by four old
        /// buckets (a small table's by all of them: see the indexer); invalidates refs into the
        /// map. A map that becomes empty gets a new hash seed.
        /// </summary>
        /// <param name="key">The key.</param>
        /// <returns>True when the key was present.</returns>
        /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
        /// <exception cref="ConcurrentMapAccessException">A concurrent write was detected.</exception>
        /// <exception cref="OutOfMemoryException">During a growth, the evacuation this remove
        /// advances could not reserve an overflow bucket; the map is unchanged.</exception>
        public bool Remove(TKey key) => RemoveCore(key, wantValue: false, out _);

        /// <summary>Removes a key and returns its value. Same costs as <see cref="Remove(TKey)"/>.</summary>
        /// <param name="key">The key.</param>
        /// <param name="value">The removed value, or <c>default</c>.</param>
        /// <returns>True when the key was present.</returns>
        /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
        /// <exception cref="ConcurrentMapAccessException">A concurrent write was detected.</exception>
        /// <exception cref="OutOfMemoryException">As for <see cref="Remove(TKey)"/>; the map is unchanged.</exception>
        public bool Remove(TKey key, out TValue value) => RemoveCore(key, wantValue: true, out value);

        /// <summary>
        /// Both <see cref="Remove(TKey)"/> overloads. <paramref name="wantValue"/> is a constant
        /// once inlined, so that <see cref="Remove(TKey)"/>'s fast path does not load the value,
        /// which often lies in another cache line than the key (always for 8-byte keys and
        /// values: 64 bytes apart). Go's mapdelete never reads it.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private bool RemoveCore(TKey key, bool wantValue, out TValue value)
        {
            // As in the indexer's set: a plain write inline, everything else (and an empty map)
            // out of line; the value's address goes to the out-of-line call only when the caller
            // wants the value (see RemoveSlow's overloads).
            if (_count != 0 && KeyOps<TKey>.Kind != KeyKind.Equatable && TryBeginInlineWrite(out nuint t))
            {
                return RemoveTaken(key, t, wantValue, out value);
            }

            if (wantValue)
            {
                return RemoveGuarded(key, out value);
            }

            value = default;
            return RemoveGuardedDiscarding(key);
        }

        /// <summary><see cref="RemoveGuarded"/> with the value dropped here.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private bool RemoveGuardedDiscarding(TKey key) => RemoveGuarded(key, out _);

        /// <summary><see cref="RemoveCore"/> for what its inline part leaves, as <see cref="SetGuarded"/>, and an empty map.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private bool RemoveGuarded(TKey key, out TValue value)
        {
            // Go's mapdelete returns before hashWriting for an empty map; we still check for misuse.
            if (_count == 0)
            {
                EndRead(BeginRead(GoMessages.ConcurrentReadWrite), GoMessages.ConcurrentReadWrite);
                value = default;
                return false;
            }

            if (KeysRunUserCode)
            {
                return RemoveSlow(key, BeginUserCodeWrite(key), out value);
            }

            BeginWrite(keysRunUserCode: false);
            return RemoveTaken(key, FastWriteTable(), wantValue: true, out value);
        }

        /// <summary><see cref="RemoveCore"/> once hashWriting is held, for keys that run no user code (as <see cref="SetTaken"/>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private bool RemoveTaken(TKey key, nuint table, bool wantValue, out TValue value)
        {
            ulong hash = KeyOps<TKey>.Hash(key, _k1, _k2);
            if (DeleteNoThrow(key, hash, table, wantValue, out value, out bool removed))
            {
                EndWrite(StateRemovalOne); // only tophash bytes marked: enumerators' inline walks go on (no try/finally around a path that cannot throw, as in the indexer's set)
                return removed;
            }

            return RemoveSlow(key, hash, wantValue, out value);
        }

        /// <summary>
        /// <see cref="RemoveSlow(TKey, ulong, out TValue)"/> for <see cref="RemoveCore"/>: when the
        /// caller discards the value, the slow call gets none of its locals' addresses, so that
        /// <see cref="Remove(TKey)"/>'s fast path keeps them in registers (with the discard's
        /// address passed out, the JIT kept it on the stack and stored <c>default</c> there on
        /// every remove).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private bool RemoveSlow(TKey key, ulong hash, bool wantValue, out TValue value)
        {
            if (wantValue)
            {
                return RemoveSlow(key, hash, out value);
            }

            value = default;
            return RemoveSlowDiscarding(key, hash);
        }

        /// <summary><see cref="RemoveSlow(TKey, ulong, out TValue)"/> with the value dropped here.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private bool RemoveSlowDiscarding(TKey key, ulong hash) => RemoveSlow(key, hash, out _);

        /// <summary><see cref="RemoveCore"/> after <see cref="DeleteNoThrow"/> declined, or for keys that run user code: hashWriting is held; releases it.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private bool RemoveSlow(TKey key, ulong hash, out TValue value)
        {
            try
            {
                return Delete(key, hash, out value);
            }
            finally
            {
                EndWrite();
            }
        }

        /// <summary>
        /// Removes every entry (Go's <c>mapclear</c>): O(bucket array); keeps the bucket array,
        /// retires overflow buckets and indirect blocks (released by later writes, or at once for
        /// blocks of keys and values stored indirectly when no enumerator is live), ends any
        /// growth, renews the seed, and invalidates refs into the map. Enumerators in progress
        /// yield nothing that existed before the clear.
        /// On a map with no entries it changes nothing, as Go's <c>mapclear</c> and
        /// <c>Dictionary</c>'s Clear do (an emptied map keeps its chains, any growth it is in and
        /// the seed it took when it emptied; <see cref="TrimExcess()"/> gives memory back): O(1),
        /// and in <c>Go</c> mode no write at all, as in Go; a <c>Strict</c> map still takes and
        /// releases hashWriting, so that an overlapping write is caught as for any other write.
        /// </summary>
        /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
        /// <exception cref="ConcurrentMapAccessException">A concurrent write was detected.</exception>
        public void Clear()
        {
            if (_count == 0)
            {
                // Go's mapclear: if h.count == 0 { return }, before its write check. A Strict map
                // still makes the write check (nothing between can throw); a poisoned or disposed
                // one throws from BeginWrite.
                if (Volatile.Read(ref _flags) != 0)
                {
                    BeginWrite();
                    EndWrite();
                }

                return;
            }

            BeginWrite();
            try
            {
                EnterStructural();
                try
                {
                    ClearCore();
                }
                finally
                {
                    ExitStructural();
                }
            }
            finally
            {
                EndWrite();
            }
        }

        /// <summary>
        /// A reference to the value of a key, or a null reference when absent (test with
        /// <see cref="Unsafe.IsNullRef{T}"/>). O(1). The reference points into
        /// native memory and is valid only until the next write to the map (a write may move
        /// entries during growth) or its disposal, as with
        /// <c>CollectionsMarshal.GetValueRefOrNullRef</c>. Writing through it updates the value.
        /// Unlike a <c>Dictionary</c> ref, one kept past the next write is not harmless: that write
        /// may free the memory or hand it to another map, and a write through the ref then
        /// changes that map. Neither concurrency mode detects it.
        /// Unlike a ref into an array, it does not keep the map alive: keep the map reachable
        /// while the ref is in use (a field, a <c>using</c>, or <see cref="GC.KeepAlive"/> after
        /// its last use), or a map never disposed may be finalized under it.
        /// </summary>
        /// <param name="key">The key.</param>
        /// <returns>The value's reference, or a null reference.</returns>
        /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
        /// <exception cref="ConcurrentMapAccessException">A concurrent write was detected.</exception>
        public ref TValue GetValueRefOrNullRef(TKey key)
        {
            // TryRead's shape, its first lines and its mirror of MatchKey's loop (see its
            // remarks; keep the three in sync), with a null reference for an absent key. An
            // inline helper for those lines that returned the bucket or null cost a test of that
            // pointer per lookup and, in the <int,Entity64> lookup loop, a spill of the key.
            // MatchKey's pointer, tested again after its loop, cost 5-6 % at 1,000 entries
            // (2026-12-03, probe incrementing every value through the reference, three
            // alternated pairs: <long,long> 2.51-2.69 -> 2.36-2.42 ns, <int,int> 2.45-2.65 ->
            // 2.30-2.36). A hit takes its value's address before the state check: computed after
            // it, the JIT kept the slot's address (the key's and the value's common part) across
            // the check in a stack slot, stored and reloaded on every hit (quick comparison's
            // update_via_ref at 1,000 entries, two alternated pairs, 2026-12-03: <int> 2.51-2.55
            // -> 2.38-2.39 ns, <long> 2.60-2.61 -> 2.46-2.49, the 10,000-entity row 3.31-3.49 ->
            // 3.05-3.22, <Guid> within the noise).
            if (TryBeginInlineRead(out long token, out nuint t))
            {
                ulong hash = KeyOps<TKey>.Hash(key, _k1, _k2);
                byte* p = BucketLayout<TKey, TValue>.TableBucketPrefetched(t, hash);
                byte top = MapMath.TopHash(hash);
                uint bits = BucketLayout<TKey, TValue>.MatchTopHashAndEnd(p, top);
                for (uint match = bits; MapMath.HasCandidate(match); match &= match - 1)
                {
                    int i = MapMath.FirstSlotOfBits(match);
                    if (default(DefaultKeys).Equal(key, BucketLayout<TKey, TValue>.Key(p, i)))
                    {
                        TValue* v = BucketLayout<TKey, TValue>.ValuePtr(p, i);
                        EndRead(token, GoMessages.ConcurrentReadWrite);
                        return ref *v;
                    }
                }

                if (MapMath.ChainEnds(bits))
                {
                    EndRead(token, GoMessages.ConcurrentReadWrite);
                    return ref Unsafe.NullRef<TValue>();
                }

                return ref *(TValue*)PlainReadOverflow<ValueAddress, nint>(token, top, key, p);
            }

            return ref *(TValue*)GuardedRead<ValueAddress, nint>(key);
        }

        /// <summary>
        /// A reference to the value of a key, adding the key with <c>default</c> value when absent
        /// (Go's <c>mapassign</c>). Amortized O(1); a write, with the indexer's set's costs (it may
        /// advance a growth or release a bounded piece of retired memory), and like any write it
        /// invalidates refs obtained before. The reference returned is valid only until the next
        /// write to the map or its disposal, as with <c>CollectionsMarshal.GetValueRefOrAddDefault</c>
        /// (a write through it after that may change another map: see
        /// <see cref="GetValueRefOrNullRef"/>), and does not keep the map alive.
        /// </summary>
        /// <param name="key">The key.</param>
        /// <param name="exists">True when the key was already present.</param>
        /// <returns>The value's reference.</returns>
        /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
        /// <exception cref="ConcurrentMapAccessException">A concurrent write was detected.</exception>
        /// <exception cref="OutOfMemoryException">Native memory ran out; the map is unchanged.</exception>
        public ref TValue GetValueRefOrAddDefault(TKey key, out bool exists)
        {
            // As in the indexer's set: a plain write inline, everything else out of line.
            if (KeyOps<TKey>.Kind != KeyKind.Equatable && TryBeginInlineWrite(out nuint t))
            {
                return ref AddDefaultTaken(key, t, out exists);
            }

            return ref AddDefaultGuarded(key, out exists);
        }

        /// <summary><see cref="GetValueRefOrAddDefault"/> for what its inline part leaves, as <see cref="SetGuarded"/>.</summary>
        /// <remarks>
        /// Every call came here before (the key hashed, hashWriting taken, then Assign under
        /// try/finally): a hit on 1,000 <c>&lt;long,long&gt;</c> entries in random order took
        /// 3.04-3.21 ns, and 2.54-2.64 with the inline path, against 2.22-2.46 for
        /// <c>CollectionsMarshal.GetValueRefOrAddDefault</c> on a <c>Dictionary</c> in the same
        /// processes (probe, three alternated pairs, 2026-12-03).
        /// </remarks>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private ref TValue AddDefaultGuarded(TKey key, out bool exists)
        {
            if (KeysRunUserCode)
            {
                return ref AddDefaultSlow(key, BeginUserCodeWrite(key), out exists);
            }

            BeginWrite(keysRunUserCode: false);
            return ref AddDefaultTaken(key, FastWriteTable(), out exists);
        }

        /// <summary><see cref="GetValueRefOrAddDefault"/> once hashWriting is held, for keys that run no user code (as <see cref="SetTaken"/>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private ref TValue AddDefaultTaken(TKey key, nuint table, out bool exists)
        {
            ulong hash = KeyOps<TKey>.Hash(key, _k1, _k2);
            if (!TryAssignFast(default(DefaultKeys), key, hash, table, zeroValue: true, out TValue* v, out exists))
            {
                return ref AddDefaultSlow(key, hash, out exists);
            }

            EndWrite(StateInPlaceOne); // as in the indexer's set
            return ref *v;
        }

        /// <summary><see cref="GetValueRefOrAddDefault"/> after its fast path declined, or for keys that run user code: hashWriting is held; releases it.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private ref TValue AddDefaultSlow(TKey key, ulong hash, out bool exists)
        {
            try
            {
                return ref Assign(key, hash, out exists);
            }
            finally
            {
                EndWrite();
            }
        }

        /// <summary>
        /// Looks up many keys at once: for each i, <paramref name="found"/>[i] and
        /// <paramref name="values"/>[i] are what <see cref="TryGetValue"/> of <paramref name="keys"/>[i]
        /// would give (<c>default</c> when absent). It hashes each key and prefetches its bucket
        /// 16 keys before probing it, so the memory latencies of a big table overlap: the way to
        /// do many lookups in a table larger than the CPU caches. In a bucket array of 16 MiB or
        /// more (on x64) it asks for each key's tophash line 32 keys ahead and then, 16 keys
        /// ahead, only for its candidate slot's key and value lines, fewer lines than its whole
        /// bucket. Where the CPU has no prefetch instruction it loads a block of 16 buckets'
        /// first bytes together instead. A bucket array of at most 1 MiB, which the caches hold, is probed
        /// key by key instead, and so are calls whose <paramref name="values"/> or
        /// <paramref name="found"/> share memory with <paramref name="keys"/> (one array for keys
        /// and values): the results are then those of the loop of <see cref="TryGetValue"/>
        /// calls in order, each key read after the stores before it. O(keys.Length), no
        /// allocation, no write.
        /// </summary>
        /// <param name="keys">The keys to look up.</param>
        /// <param name="values">Receives the values; at least as long as <paramref name="keys"/>.</param>
        /// <param name="found">Receives whether each key is present; at least as long as <paramref name="keys"/>.</param>
        /// <returns>The number of keys found.</returns>
        /// <exception cref="ArgumentException"><paramref name="values"/> or <paramref name="found"/> is shorter than <paramref name="keys"/>.</exception>
        /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
        /// <exception cref="ConcurrentMapAccessException">A concurrent write was detected.</exception>
        public int TryGetValues(ReadOnlySpan<TKey> keys, Span<TValue> values, Span<bool> found)
        {
            if (values.Length < keys.Length)
            {
                ThrowHelper.ThrowSpanTooShort(nameof(values));
            }

            if (found.Length < keys.Length)
            {
                ThrowHelper.ThrowSpanTooShort(nameof(found));
            }

            long token = BeginRead(GoMessages.ConcurrentReadWrite);
            int hits = FindMany(keys, values, found, ref token);
            EndRead(token, GoMessages.ConcurrentReadWrite);
            return hits;
        }

        /// <summary>
        /// Sets many keys at once: for each i in order, what <c>this[keys[i]] = values[i]</c>
        /// does (an absent key is added, a present one gets the new value; a key given twice ends
        /// with its last value). In a table larger than the CPU caches it hashes the next block
        /// of keys and prefetches their buckets while it sets the current block, so the memory
        /// latencies of the writes overlap: the way to load many entries into a big table. A
        /// bucket array of at most 1 MiB, which the caches hold, and keys whose hashing or
        /// equality runs user code (a comparer, <see cref="IEquatable{T}"/>) are set key by key
        /// without prefetching. Each key is one write, with the checks, growth work and
        /// invalidation of the indexer's set: a failure (an <see cref="OutOfMemoryException"/>, a
        /// detected concurrent write) leaves the keys before the failing one set and the rest not.
        /// O(keys.Length) amortized; no GC allocation.
        /// </summary>
        /// <param name="keys">The keys to set.</param>
        /// <param name="values">Their values; at least as long as <paramref name="keys"/>.</param>
        /// <returns>The number of keys that were added (absent before their write).</returns>
        /// <exception cref="ArgumentException"><paramref name="values"/> is shorter than <paramref name="keys"/>; nothing is set.</exception>
        /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
        /// <exception cref="ConcurrentMapAccessException">A concurrent write was detected.</exception>
        /// <exception cref="OutOfMemoryException">Native memory ran out; the keys before the failing one are set.</exception>
        public int SetValues(ReadOnlySpan<TKey> keys, ReadOnlySpan<TValue> values)
        {
            if (values.Length < keys.Length)
            {
                ThrowHelper.ThrowSpanTooShort(nameof(values));
            }

            return WriteMany(keys, ref MemoryMarshal.GetReference(values), remove: false);
        }

        /// <summary>
        /// Removes many keys at once: for each i in order, what <see cref="Remove(TKey)"/> of
        /// <paramref name="keys"/>[i] does (a key given twice is removed once; an absent one is
        /// skipped). In a table larger than the CPU caches it hashes the next block of keys and
        /// prefetches their buckets while it removes the current block, so the memory latencies
        /// of the removes overlap: the way to remove many keys from a big table. A bucket array
        /// of at most 1 MiB, which the caches hold, and keys whose hashing or equality runs user
        /// code (a comparer, <see cref="IEquatable{T}"/>) are removed key by key without
        /// prefetching. Each key is one write, with the checks, growth work and invalidation of
        /// <see cref="Remove(TKey)"/>: a failure (an <see cref="OutOfMemoryException"/> from the
        /// evacuation a remove advances during a growth, a detected concurrent write) leaves the
        /// keys before the failing one removed and the rest present. Invalidates refs into the
        /// map; enumerators keep Go's rules (an entry removed before the walk reaches it is not
        /// yielded). Like <see cref="Remove(TKey)"/>, it never shrinks the table: emptied buckets
        /// stay until <see cref="TrimExcess()"/>. O(keys.Length) amortized; no GC allocation.
        /// </summary>
        /// <param name="keys">The keys to remove.</param>
        /// <returns>The number of keys that were removed (present before their remove).</returns>
        /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
        /// <exception cref="ConcurrentMapAccessException">A concurrent write was detected.</exception>
        /// <exception cref="OutOfMemoryException">During a growth, the evacuation a remove advances
        /// could not reserve an overflow bucket; the keys before that remove are removed.</exception>
        public int RemoveKeys(ReadOnlySpan<TKey> keys) => WriteMany(keys, ref Unsafe.NullRef<TValue>(), remove: true);

        /// <summary>Test and stress hook: the slow-path work this map's writes have done so far.</summary>
        internal WorkCounters Work => _work;

        /// <summary>The map's internal shape. O(1), no allocation.</summary>
        /// <returns>A snapshot.</returns>
        /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
        /// <exception cref="ConcurrentMapAccessException">A concurrent write was detected earlier (the map is poisoned).</exception>
        public GoMapStats GetStats()
        {
            CheckUsable();
            return new GoMapStats(_b, _count, _noverflow, _overflowUsed, _oldBuckets != null, _oldBuckets != null && _oldB == _b, _oldBuckets != null && _oldB > _b, (long)_nevacuate, _nativeBytes, _deferredBytes, LiveIteratorCount());
        }

        /// <summary>
        /// Frees all native memory of the map at once, including retired memory not yet released
        /// and memory kept for enumerators. Idempotent; works on a poisoned map. Every member that
        /// reads or writes the entries then throws <see cref="ObjectDisposedException"/> (the
        /// configuration getters, such as <see cref="Comparer"/>, <see cref="ConcurrencyChecks"/>
        /// and <see cref="IsDisposed"/>, and the <see cref="Keys"/> and <see cref="Values"/>
        /// views, still answer; the views throw when used). O(blocks owned). On a poisoned map
        /// whose racing write never ended (misuse made it throw halfway), it waits about two
        /// seconds, then marks the map disposed and leaves its memory to the finalizer, which
        /// runs once nothing refers to the map.
        /// </summary>
        /// <exception cref="ConcurrentMapAccessException">Another thread is writing to the map
        /// right now; the map is poisoned and left for a later Dispose or the finalizer.</exception>
        public void Dispose()
        {
            if (!BeginDispose())
            {
                return;
            }

            FreeAll(toCache: true);
            FinalizerGuard? guard = _guard;
            _guard = null;
            guard?.Return(); // after FreeAll: the map is used until here, so its guard cannot be finalized before
        }

        /// <summary>
        /// The one guarded lookup behind every reading member that copies a value out, and
        /// ContainsKey: checks the state word (and in Strict mode announces the read), searches,
        /// copies the value (when <paramref name="wantValue"/>), and checks the state word again.
        /// </summary>
        /// <remarks>
        /// Inline: a plain read (<see cref="TryBeginInlineRead"/>) of a quiet table's first bucket
        /// (<see cref="Find"/>'s inline search). Every other case (a Strict, disposed, poisoned or
        /// written map, a growing table, a comparer, an overflow bucket) is finished, state checks
        /// included, by one call that nothing follows but the use of its result
        /// (<see cref="PlainReadOverflow"/>, <see cref="GuardedRead"/>), so that no value of the
        /// caller's loop and none of the read's is live across a call: with BeginRead's slow
        /// call and Find's pointer returning into the inline code, the JIT kept the map, the key
        /// and the read token in stack slots, and a caller's loop (map, keys, index, sum in the
        /// callee-saved registers) stored and reloaded them on every lookup. The hit copies the
        /// value straight into <paramref name="value"/>: through a result struct that the calls
        /// return too, a 64-byte value was copied whole to the stack twice per lookup.
        /// <para>
        /// <paramref name="wantValue"/> is a constant at each call: ContainsKey passes false, so
        /// that its inline hit reads no value, which lies in lines the key's do not share for
        /// 8-byte keys and values and for big values. A probe of ContainsKey in random order,
        /// two alternated pairs (2026-12-03, README's VM): <c>&lt;int,Entity64&gt;</c> at
        /// 1,000,000 entries 38.7-42.1 → 21.3-23.1 ns per key, at 1,000 2.33-2.44 → 2.00-2.03;
        /// <c>&lt;long,long&gt;</c> 23.5-25.1 → 20.5-22.0 and 2.21-2.24 → 2.14-2.27. Through
        /// GetValueRefOrNullRef instead, 1,000-entry <c>&lt;long,long&gt;</c> ContainsKey took
        /// 2.42 ns (the reference tested again after the call).
        /// </para>
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private bool TryRead(TKey key, bool wantValue, out TValue value)
        {
            if (TryBeginInlineRead(out long token, out nuint t))
            {
                ulong hash = KeyOps<TKey>.Hash(key, _k1, _k2);
                byte* p = BucketLayout<TKey, TValue>.TableBucketPrefetched(t, hash);
                byte top = MapMath.TopHash(hash);
                uint bits = BucketLayout<TKey, TValue>.MatchTopHashAndEnd(p, top);

                // MatchKey's loop, mirrored so that a hit returns from inside it (keep in sync):
                // with MatchKey's pointer, the JIT set it to null on a miss and tested it again
                // (three more instructions per miss, one per hit). Two returns, each with its own
                // state check, rather than a flag: the JIT branched on the pointer, materialized
                // the flag and branched on it again.
                for (uint match = bits; MapMath.HasCandidate(match); match &= match - 1)
                {
                    int i = MapMath.FirstSlotOfBits(match);
                    if (default(DefaultKeys).Equal(key, BucketLayout<TKey, TValue>.Key(p, i)))
                    {
                        value = wantValue ? *BucketLayout<TKey, TValue>.ValuePtr(p, i) : default;
                        EndRead(token, GoMessages.ConcurrentReadWrite);
                        return true;
                    }
                }

                if (MapMath.ChainEnds(bits))
                {
                    value = default;
                    EndRead(token, GoMessages.ConcurrentReadWrite);
                    return false;
                }

                ReadResult o = PlainReadOverflow<ValueCopy, ReadResult>(token, top, key, p);
                value = o.Value;
                return o.Found;
            }

            ReadResult r = GuardedRead<ValueCopy, ReadResult>(key);
            value = r.Value;
            return r.Found;
        }

        /// <summary>
        /// The lookups' search past a full first bucket of a quiet table in a plain read, what a
        /// hit hands back chosen by <typeparamref name="TTake"/>: its overflow buckets
        /// (<see cref="ProbeOverflow"/>; mostly none: a full bucket without one ends the chain),
        /// the hit's result and the second state check.
        /// </summary>
        /// <remarks>
        /// The order of the parameters is for the inline part's registers: a parameter second
        /// after <c>this</c> goes in rdx on Linux x64 (System V), and the JIT's allocator keeps a
        /// value meant for a call's argument register in that register where it can. The hash's
        /// <c>mulx</c> takes rdx as its implicit operand, so with the key there (then with the
        /// bucket pointer, tried next) the JIT stored it to the stack before the hash and loaded
        /// it back after (JitDisasm of a <c>TryGetValue</c> loop, <c>&lt;int,int&gt;</c> and
        /// <c>&lt;long,long&gt;</c>: one store and two loads). With the tophash byte there, which
        /// is only made after the hash, none: 1,000-entry <c>&lt;int&gt;</c> hits 2.56-2.61 →
        /// 2.45-2.47 ns and <c>&lt;long&gt;</c> 2.46-2.52 → 2.38-2.47 (probe, two alternated pairs
        /// of processes with <see cref="MapMath.TopHash"/>'s widening, 2026-12-05, README's VM).
        /// </remarks>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private TResult PlainReadOverflow<TTake, TResult>(long token, byte top, TKey key, byte* p)
            where TTake : struct, ITake<TResult>
            where TResult : struct =>
            EndReadWith<TTake, TResult>(token, null, ProbeOverflow(default(DefaultKeys), key, top, p));

        /// <summary>
        /// The lookups' search for everything their inline part leaves, what a hit hands back
        /// chosen by <typeparamref name="TTake"/>: the whole guarded read,
        /// from <see cref="BeginRead"/> (which throws or announces) through <see cref="Find"/> to
        /// <see cref="EndRead"/>; for a Strict map that no write holds, from
        /// <see cref="TryBeginStrictRead"/> to <see cref="EndStrictRead"/>, in line here
        /// (<see cref="BeginGuardedRead"/>).
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private TResult GuardedRead<TTake, TResult>(TKey key)
            where TTake : struct, ITake<TResult>
            where TResult : struct
        {
            long token = BeginGuardedRead(GoMessages.ConcurrentReadWrite, out ReaderRegistry.ReaderSlot? slot);
            return EndReadWith<TTake, TResult>(token, slot, Find(key, token));
        }

        /// <summary>
        /// The end of an out-of-line lookup: what a hit hands back (<c>default</c> for an absent
        /// key), taken before the second state check (<see cref="EndGuardedRead"/>;
        /// <paramref name="slot"/> null for a read that BeginRead began).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private TResult EndReadWith<TTake, TResult>(long token, ReaderRegistry.ReaderSlot? slot, TValue* v)
            where TTake : struct, ITake<TResult>
            where TResult : struct
        {
            TResult r = v != null ? default(TTake).Found(v) : default;
            EndGuardedRead(token, slot, GoMessages.ConcurrentReadWrite);
            return r;
        }

        /// <summary>What a lookup hands back for a value it found, before the second state check (an absent key gets <c>default</c>).</summary>
        private interface ITake<TResult>
        {
            TResult Found(TValue* v);
        }

        /// <summary>A copy of the value, taken before the second state check (<see cref="TryRead"/>).</summary>
        private readonly struct ValueCopy : ITake<ReadResult>
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public ReadResult Found(TValue* v) => new ReadResult(*v, true);
        }

        /// <summary>The value's address (<see cref="GetValueRefOrNullRef"/>; 0 when absent).</summary>
        private readonly struct ValueAddress : ITake<nint>
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public nint Found(TValue* v) => (nint)v;
        }

        /// <summary>A value and whether it was found, returned in registers where they fit: an out parameter of an out-of-line read would keep the caller's value in memory.</summary>
        private readonly struct ReadResult
        {
            internal readonly TValue Value;
            internal readonly bool Found;

            internal ReadResult(TValue value, bool found)
            {
                Value = value;
                Found = found;
            }
        }

        /// <summary>Hash of a key under the current seed, with the comparer when one was given.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private ulong Hash(TKey key) =>
            _comparer is null ? KeyOps<TKey>.Hash(key, _k1, _k2) : Hasher.FromHashCode(_comparer.GetHashCode(key), _k1, _k2);

        /// <summary>
        /// True when hashing or comparing keys runs user code (a comparer, or the key type's own
        /// <see cref="IEquatable{T}"/>), which may throw or call back into the map. The second
        /// test folds to a constant per key type.
        /// </summary>
        private bool KeysRunUserCode => _comparer is not null || KeyOps<TKey>.Kind == KeyKind.Equatable;

        /// <summary>Key equality, with the comparer when one was given (slow paths; probe loops decide once per call).</summary>
        private bool KeyEquals(in TKey a, in TKey b) =>
            _comparer is null ? KeyOps<TKey>.Equal(a, b) : _comparer.Equals(a, b);

        /// <summary>A new seed: random, or the next of the fixed sequence (Go's fastrand for hash0).</summary>
        private void Reseed()
        {
            _hash0 = Hasher.SplitMix(ref _reg.Rng);
            ulong s = _hash0;
            _k1 = Hasher.SplitMix(ref s);
            _k2 = Hasher.SplitMix(ref s) | 1;
        }

        /// <summary>Next value of the map's own random sequence (Go's fastrand).</summary>
        private ulong NextRandom() => Hasher.SplitMix(ref _reg.Rng);
    }
}
