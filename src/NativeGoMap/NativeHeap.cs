using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace NativeGoMap
{
    /// <summary>
    /// The one place native memory is allocated and freed: the C heap for ordinary blocks, and
    /// for blocks of <see cref="MappedThreshold"/> bytes or more on Linux, a 2 MiB-aligned
    /// anonymous mapping of their own (<see cref="OsMemory"/>) that can be released piece by
    /// piece (<see cref="ReleaseTail"/>). Every block carries a 16-byte header just below the
    /// address handed out:
    /// <code>
    ///   base ... [ size:48 | offset:8 | magic:8 ][ next ] user bytes ...
    ///            ^ user - 16                      ^ user - 8   ^ user
    /// </code>
    /// <c>size</c> is the number of bytes charged to <see cref="GoMapDiagnostics.LiveNativeBytes"/>
    /// for the block (header and alignment slack included), <c>offset</c> is <c>user - base</c>,
    /// and <c>next</c> links the block into a map's deferred-free list without allocating
    /// (see <c>GoMap.Memory.cs</c>: retired memory waits there for enumerators and release steps).
    /// A mapping starts with <see cref="MappedOffset"/> bytes of its own below that header:
    /// <code>
    ///   word 0: length | flags      word 1: stamp (MappedStamp)   words 2-5: free/unmap job
    ///   words 6-9: discard job      words 10-13: populate job
    ///   words 14-15: the header above, then the user bytes
    /// </code>
    /// (the jobs are <see cref="ReleaseThread.Job"/>s; none lives in bytes a map may still read).
    /// A growth's array in base pages of 2 MiB or more (asked for with <c>touchMap</c>) also ends
    /// in a touch map, a bit per base page of the mapping (a 32-bit word per
    /// <see cref="TouchChunkBytes"/> chunk), in its last bytes (<see cref="FaultIn"/>).
    /// A C heap block freed on the release thread (<see cref="FreeOnReleaseThread"/>: a retired
    /// full-size overflow chunk) carries its job in its first 32 bytes, a chunk's count line.
    /// Whole mappings freed through <see cref="FreeToCache"/> wait in a process-wide reuse cache
    /// (not counted in <see cref="LiveBytes"/>) for the next block of their exact size, which
    /// clears the one it takes: those of up to <see cref="CacheMaxMapping"/> in the small pool
    /// (at most <see cref="CacheMaxBytes"/>, for any block), bigger ones in the big pool (at most
    /// <see cref="BigCacheMaxBytes"/>, unmapped by the release thread when not taken within
    /// <see cref="BigCacheKeepMilliseconds"/>): committed ones of any size, for committed blocks,
    /// and any of up to <see cref="GrowthCacheMaxMapping"/>, for any block (<see cref="TakesBig"/>).
    /// </summary>
    internal static unsafe class NativeHeap
    {
        internal const int HeaderSize = 16;
        private const ulong Magic = 0xA7UL << 56;
        private const ulong MappedMagic = 0xA9UL << 56;
        private const ulong FreedMagic = 0x5DUL << 56;
        private const ulong MagicMask = 0xFFUL << 56;

        /// <summary>
        /// Blocks this large come from their own mapping where <see cref="OsMemory.Supported"/>:
        /// below glibc's mmap threshold (128 KiB), so that a big bucket array goes to the C heap's
        /// free(), which would unmap a large block at once under a racing Go-mode read (the stress
        /// program caught one such crash), only when <see cref="OsMemory.Map"/> failed and
        /// <see cref="Alloc"/> fell back to calloc for it; ours are discarded and parked instead.
        /// </summary>
        internal const ulong MappedThreshold = 64 * 1024;

        /// <summary>Low bit of a mapping's length word: the mapping asked for huge pages (its pieces are released a huge page at a time).</summary>
        private const ulong HugeFlag = 1;

        /// <summary>Bit 1 of a mapping's length word: a populate job was posted for it (<see cref="PopulateInBackground"/>), so it is never reused from the cache (the job's slot may still be queued).</summary>
        private const ulong PopulateFlag = 2;

        /// <summary>Bit 2 of a mapping's length word: it was populated when allocated (a committed block: see <see cref="Alloc"/>); only such mappings go to the reuse cache's big pool past <see cref="GrowthCacheMaxMapping"/>.</summary>
        private const ulong CommittedFlag = 4;

        /// <summary>Bit 3 of a mapping's length word: the mapping ends in a touch map (<see cref="FaultIn"/>): a growth's array in base pages, of 2 MiB or more.</summary>
        private const ulong TouchMapFlag = 8;

        /// <summary>The length bits of a mapping's first word.</summary>
        private const ulong LengthMask = ~(HugeFlag | PopulateFlag | CommittedFlag | TouchMapFlag);

        /// <summary>log2 of <see cref="TouchChunkBytes"/>.</summary>
        private const int TouchChunkShift = 17;

        /// <summary>log2 of <see cref="OsMemory.Page"/>: a touch map has a bit per page.</summary>
        private const int TouchPageShift = 12;

        /// <summary>
        /// What <see cref="FaultIn"/> faults in at once where the write's allowance lets it:
        /// 128 KiB, 32 base pages, one 32-bit word of a touch map.
        /// </summary>
        /// <remarks>
        /// Measured on an AMD EPYC Zen 4 VM (2026-12-07; the quick comparison's
        /// <c>stall gomap-small</c> child, 10,000,000 <c>&lt;long,long&gt;</c> inserts without a
        /// hint, alternated with the build before): 64 KiB chunks left the 99.9th percentile
        /// insert at 1.47-1.77 µs, 128 KiB at 1.26-1.43, 256 KiB at 1.24-1.51 with slowest
        /// inserts of 0.63-0.84 ms (128 KiB: 0.43-0.55). With 32 KiB chunks, faulted in by
        /// MADV_POPULATE_WRITE, it read 7.3-8.5 µs: each piece is a slow insert of its own, and a
        /// 10,000,000-entry build faults in about 640 MB.
        /// </remarks>
        internal const ulong TouchChunkBytes = 1UL << TouchChunkShift;

        /// <summary>Largest mapping the reuse cache's small pool keeps, for any block (see <see cref="FreeToCache"/>): zeroing it again costs a writer a few hundred microseconds at most. Bigger ones go to the big pool (<see cref="TakesBig"/>).</summary>
        internal const ulong CacheMaxMapping = 4UL << 20;

        /// <summary>
        /// Largest mapping of a block that was not committed (a growth's array) that goes to the
        /// big pool when freed, and that such a block takes from it; committed ones go and take
        /// at any size (<see cref="TakesBig"/>). The taker clears it on its own thread, in the
        /// write that starts its growth: about 65 µs per MiB on the README's VM (a 18 MiB array
        /// of a 1,000,000-entry <c>&lt;long,long&gt;</c> build 1.2-1.6 ms), where the growth would
        /// otherwise fault in fresh 2 MiB pages (0.35 ms each when the kernel had just freed
        /// them, 3-6 ms when the host must back them afresh, up to four in that same write).
        /// </summary>
        /// <remarks>
        /// Measured (2026-12-03, README's VM, quick comparison rows at 1,000,000 entries, builds
        /// without a hint, a loop that disposes each map before the next): with growth arrays of
        /// up to 4 MiB cached as before (the small pool), <c>&lt;long&gt;</c> 90-107 ns per
        /// insert and <c>&lt;Guid&gt;</c> 108-119; up to 32 MiB, 69-77 and 80-90 (four alternated
        /// pairs); up to 16 MiB, 84-87 and 104-109, up to 64 MiB 66-74 and 85-89 (two runs each,
        /// one process each). In a probe of that loop, the write that starts the growth to
        /// B = 15 took 4.3-5.1 ms before (fresh pages the host had taken back) and 0.3-0.4 ms
        /// with a cached array, the one to B = 16 0.3-0.6 ms and 0.6-0.7, the one to B = 17
        /// 0.6-0.8 ms and 1.2-1.6 (its clear, where the faults of later writes went away); the
        /// B = 18 array (38 MiB) is not cached, and its first writes' faults stay the slowest
        /// (0.6-16 ms either way). 32 MiB keeps a clear under about 2 ms. Builds with a
        /// hint did not move (their committed arrays come from this pool as before). A single
        /// map growing from empty takes nothing from it (each growth needs an array twice the
        /// size of the one the last growth retired), and what it puts there (its old arrays of up
        /// to 32 MiB) the release thread unmaps after <see cref="BigCacheKeepMilliseconds"/>.
        /// Measured again on 2026-12-03 with 512 MiB as the bound (every growth array of a 1M
        /// build cached, each cleared by the write that starts its growth; two alternated
        /// quick comparisons of the 1M builds): <c>&lt;long&gt;</c> without a hint 82.7-88.3 →
        /// 73.7-76.8 ns per insert, <c>&lt;int,Entity64&gt;</c> 234-238 → 223-229 (its arrays
        /// of 37-147 MB; a probe building it 8 times in a row, best build 214 → 182 ns). Kept
        /// at 32 MiB: those clears would stall the writes that start the growths by up to
        /// 10 ms. Taking a cached array without clearing it, each evacuation zeroing the new
        /// buckets it fills (no reader looks at a new bucket before its old one is evacuated),
        /// would remove the stall but not the clear's work, for at most the gains above and for
        /// builds that repeat within two seconds only; and a racing Go-mode reader (misuse) that
        /// saw a new bucket before its zeroing could follow a stale overflow pointer, which a
        /// zeroed array never holds.
        /// </remarks>
        internal const ulong GrowthCacheMaxMapping = 32UL << 20;

        /// <summary>Whether a big mapping of <paramref name="length"/> bytes goes to the big pool, and a block of that size may take one from it: a committed block's at any size, another block's up to <see cref="GrowthCacheMaxMapping"/> (none on a thread that set <see cref="GrowthArraysUncachedForTests"/>).</summary>
        private static bool TakesBig(ulong length, bool committed) => committed || (length <= GrowthCacheMaxMapping && !t_growthArraysUncached);

        [ThreadStatic] private static bool t_growthArraysUncached;

        /// <summary>
        /// Test seam: on this thread, big mappings of blocks that were not committed neither go to
        /// the big pool nor are taken from it, so that a test can watch a growth's array of a few
        /// MiB released in pieces, as one over <see cref="GrowthCacheMaxMapping"/> is.
        /// </summary>
        internal static bool GrowthArraysUncachedForTests
        {
            get => t_growthArraysUncached;
            set => t_growthArraysUncached = value;
        }

        /// <summary>Most bytes the reuse cache's small pool holds, process-wide.</summary>
        internal const long CacheMaxBytes = 16L << 20;

        /// <summary>
        /// Most bytes the reuse cache's big pool (mappings over <see cref="CacheMaxMapping"/>:
        /// the arrays of maps made with a capacity hint, or sized by EnsureCapacity, and growths'
        /// arrays of up to <see cref="GrowthCacheMaxMapping"/>) holds, process-wide: the array of a
        /// 10,000,000-entry <c>&lt;long,long&gt;</c> map made with its capacity is 302 MiB.
        /// </summary>
        /// <remarks>
        /// Tried and not kept (2026-12-03, README's VM): every whole big mapping in the pool,
        /// cleared by the release thread before a map could take it (pages not resident skipped
        /// by mincore), and growths taking from it too. The quick comparison builds a map again
        /// right after disposing the last, before the clear was done, so little was taken, and
        /// the memory the pool held sent the builds to pages the host had to back afresh: 1M
        /// <c>&lt;long&gt;</c> insert_hint 34 → 36-87 ns, without a hint 88 → 66-175, the
        /// 1,000,000-entity build 222 → 702 (two runs). Clearing on the taker's thread for a
        /// growth too (prototype) was faster in those loops (three alternated runs: 1M
        /// <c>&lt;long&gt;</c> builds without a hint 87-94 → 49-52 ns, <c>&lt;Guid&gt;</c>
        /// 92-107 → 70-73, the entity build 209-246 → 163-199) but moves a whole array's clear
        /// into the write that starts a growth; growths now do that for arrays of up to
        /// <see cref="GrowthCacheMaxMapping"/>, whose clear is bounded. Caching only the arrays that Dispose frees, for
        /// growths to take and clear: no faster in two alternated runs. A growth taking an array
        /// unzeroed and zeroing each bucket as it first uses it (branch
        /// wip/growth-arrays-from-big-pool): builds without a hint moved inconsistently and 1M
        /// insert_hint got slower in eight alternated runs (<c>&lt;long&gt;</c> 28-51 → 42-83 ns).
        /// </remarks>
        internal const long BigCacheMaxBytes = 512L << 20;

        /// <summary>
        /// How long a mapping waits in the big pool for a map to take it before the release
        /// thread unmaps it: the big pool holds memory for a map rebuilt soon after (a loop of
        /// builds, a table replaced every tick), not for good. At least
        /// <see cref="CacheGraceMilliseconds"/>, so a trim never cuts a grace period short.
        /// </summary>
        internal const long BigCacheKeepMilliseconds = 2000;

        private static readonly object s_cacheLock = new object();
        private static bool s_cacheClosed; // set by CloseCache: FreeToCache refuses every block
        private static readonly Pool s_small = new Pool(CacheMaxBytes);
        private static readonly Pool s_big = new Pool(BigCacheMaxBytes); // mappings over CacheMaxMapping that TakesBig admits

        /// <summary>
        /// How long a cached mapping stays mapped before an eviction may unmap it: the grace period
        /// of a Go-mode map's parked arrays (GoMap.Memory.cs), for the same reason. A retired array
        /// goes to the cache at a release step, and a read racing the writes (misuse) may still be
        /// in it: an eviction by another map's free right after unmapped it under that read (found
        /// by a review of the protocol). A block that finds no room but young entries is not
        /// cached; its caller releases it the ordinary way (discarded, then parked or freed).
        /// </summary>
        internal const long CacheGraceMilliseconds = 1000;
        private static long s_bigTrimAt = long.MaxValue; // Stopwatch timestamp of the next trim due (TrimBigCache); the release thread reads it without the lock

        /// <summary>What one <see cref="ReleaseTail"/> discards of a mapping in base pages: 128 pages, about 30 µs of MADV_DONTNEED on the README's VM (2 MiB took 121 µs on average and up to 2 ms).</summary>
        internal const ulong BasePageReleaseBytes = 512 * 1024;

        /// <summary>Offset of the user bytes in a mapping: two cache lines (room for the words above), so bucket arrays stay 64-byte aligned.</summary>
        internal const ulong MappedOffset = 128;

        /// <summary>Where a mapping's stamp (<see cref="MappedStamp"/>) lives, from its start.</summary>
        private const ulong StampOffset = 8;

        /// <summary>Where a mapping's free (unmap) job lives, from its start.</summary>
        private const ulong UnmapJobOffset = 16;

        /// <summary>Where a mapping's discard job lives, from its start (<see cref="ReleaseTail"/>).</summary>
        private const ulong DiscardJobOffset = 48;

        /// <summary>Where a mapping's populate job lives, from its start.</summary>
        private const ulong PopulateJobOffset = 80;
        private const ulong SizeMask = (1UL << 48) - 1;

        /// <summary>Byte written over freed memory in poison mode; as a tophash it reads as a live slot, so a stale read shows.</summary>
        internal const byte PoisonByte = 0xDB;

        /// <summary>
        /// <see cref="LiveBytes"/>, striped: a thread charges its own stripe (<see cref="ChargeLive"/>),
        /// each stripe on a line of its own, so that threads allocating at once do not all
        /// update one cache line; the stripes' sum is the count.
        /// </summary>
        /// <remarks>
        /// One counter for the process was the busiest line of maps made and disposed on two
        /// threads at once: in a perf profile (2026-12-04, README's VM, one entry per map), a
        /// quarter of the first insert's samples fell on its atomic add, and three quarters of the
        /// constructor's on the map id's (ReaderRegistry.NewMapId, since taken in blocks per thread).
        /// </remarks>
        private static readonly long[] s_liveStripes = new long[LiveStripes * LiveStripeSpacing];

        /// <summary>Stripes of <see cref="s_liveStripes"/> (a power of two).</summary>
        private const int LiveStripes = 16;

        /// <summary>Longs from one stripe to the next: 128 bytes, so that no two stripes share a line or an adjacent-line prefetch pair.</summary>
        private const int LiveStripeSpacing = 16;

        /// <summary>This thread's stripe index + 1 (0: not chosen yet).</summary>
        [ThreadStatic] private static int t_liveStripe;

        // Fault seam (tests and stress only): per thread, so parallel tests do not disturb each other.
        [ThreadStatic] private static long t_failAt;          // 0 = off; else the allocation number that fails
        [ThreadStatic] private static long t_allocations;     // allocations made on this thread
        [ThreadStatic] private static long t_faultsFired;     // injected failures thrown on this thread, caught by the map or not
        [ThreadStatic] private static bool t_poison;
        [ThreadStatic] private static bool t_unmapAtOnce;
        [ThreadStatic] private static List<(IntPtr Base, ulong Length, bool Mapped)>? t_quarantine;

        /// <summary>All bytes currently held by every map in the process: exact once no thread is allocating or freeing (the stripes are read one after another).</summary>
        internal static long LiveBytes
        {
            get
            {
                long sum = 0;
                for (int i = 0; i < LiveStripes; i++)
                {
                    sum += Volatile.Read(ref s_liveStripes[i * LiveStripeSpacing]);
                }

                return sum;
            }
        }

        /// <summary>Adds <paramref name="delta"/> bytes to <see cref="LiveBytes"/>, on this thread's stripe.</summary>
        private static void ChargeLive(long delta)
        {
            int stripe = t_liveStripe - 1;
            if (stripe < 0)
            {
                stripe = Environment.CurrentManagedThreadId & (LiveStripes - 1);
                t_liveStripe = stripe + 1;
            }

            Interlocked.Add(ref s_liveStripes[stripe * LiveStripeSpacing], delta);
        }

        /// <summary>Number of native allocations attempted on this thread (the fault seam's clock).</summary>
        internal static long AllocationCount => t_allocations;

        /// <summary>
        /// Makes the <paramref name="n"/>th allocation from now on this thread throw
        /// <see cref="OutOfMemoryException"/> (1 = the next one). 0 disarms.
        /// </summary>
        internal static void FailAfter(long n) => t_failAt = n <= 0 ? 0 : t_allocations + n;

        /// <summary>
        /// Number of failures the fault seam has thrown on this thread: a caller that armed it can
        /// tell a fault the map caught itself (a pending resize dropped) from an allocation that
        /// never came.
        /// </summary>
        internal static long FaultsFired => t_faultsFired;

        /// <summary>Disarms the fault seam on this thread.</summary>
        internal static void ClearFault() => t_failAt = 0;

        /// <summary>
        /// Poison mode for this thread: freed blocks are overwritten with <see cref="PoisonByte"/>
        /// and kept in quarantine instead of being returned to the C heap, so a use-after-free
        /// reads poison deterministically. <see cref="ReleaseQuarantine"/> ends it.
        /// </summary>
        internal static bool PoisonFreedMemory
        {
            get => t_poison;
            set => t_poison = value;
        }

        /// <summary>
        /// Per thread: while true, <see cref="Free"/> unmaps a mapping at once, on this thread (in
        /// 2 MiB pieces, as the release thread does: <see cref="OsMemory.UnmapInPieces"/>), instead
        /// of posting its unmap to the release thread, unless a job was posted for it (a populate,
        /// which the thread may be running in it; a discard of a released tail, whose job lives in
        /// the mapping's words: the mapping must be whole) or it came from the reuse cache within
        /// its grace period (<see cref="UnmapDueAt"/>). For memory that nobody else
        /// ever saw, so that no read can be racing in it: a failed load's map and every load's
        /// own buffers (GoMap.ReadFrom). Such a load reserves the bucket array for the count the snapshot's
        /// header claims, mostly untouched; posted, a 4.5 GiB reservation took the thread about
        /// 5 ms (2 MiB a call), and a loop of failed loads from streams that cannot seek, each
        /// claiming 134 million entries, outran it: 2,000 of them left 8.4 TB of address space
        /// and 3.5 GB resident behind (half of it still there 5 s later), which the fuzzer's
        /// persistent process ran into (found 2026-12-06). Unmapped here instead, the same loop
        /// took 5.9 ms per load and left nothing behind (in one munmap call, 0.17 ms; but a call
        /// that long holds the mmap lock that every thread's page fault waits for, for as long
        /// as the range's populated pages take, so the pieces stay).
        /// </summary>
        internal static bool UnmapAtOnce
        {
            get => t_unmapAtOnce;
            set => t_unmapAtOnce = value;
        }

        /// <summary>Returns every quarantined block to the C heap.</summary>
        internal static void ReleaseQuarantine()
        {
            if (t_quarantine is null)
            {
                return;
            }

            foreach ((IntPtr b, ulong _, bool mapped) in t_quarantine)
            {
                if (mapped)
                {
                    // The whole mapping, its released tail included (the recorded length is only
                    // what was still charged), after any job still queued for it in its header words.
                    PostUnmap((byte*)b);
                }
                else
                {
                    NativeMemory.Free((void*)b);
                }
            }

            t_quarantine.Clear();
        }

        /// <summary>
        /// Allocates <paramref name="size"/> bytes whose address is a multiple of
        /// <paramref name="align"/> (a power of two from 16 to 128: a C heap block's header keeps
        /// its offset from the block's start in 8 bits, which a larger alignment's slack could
        /// pass, and free() would then be handed a wrong address). With <paramref name="zero"/>
        /// the memory is zeroed: below a mapping's size it comes from <c>calloc</c>, which for
        /// large sizes maps fresh zero pages from the OS without touching them, or for a small
        /// block from <c>malloc</c> and is cleared here (<see cref="HeapAllocZeroed"/>). With <paramref name="commit"/> (zeroed blocks only)
        /// the block's pages are populated now, in 2 MiB pages where it has a mapping of its own,
        /// so that no later write faults in it: for memory the caller asked for up front (see
        /// <see cref="OsMemory.Populate"/> for the cost). Without it, a mapping is untouched, in
        /// huge pages unless <paramref name="smallPages"/> (see <see cref="PopulateInBackground"/>),
        /// and then, with <paramref name="touchMap"/>, from 2 MiB up, ending in a touch map (<see cref="FaultIn"/>).
        /// With <paramref name="ahead"/> (an array allocated ahead of its growth), a mapping is
        /// always a new one, not one of the reuse cache (whose clear would fall on this write),
        /// and its first 2 MiB are in base pages (<see cref="OsMemory.SmallFirstHugePage"/>), so
        /// that the header's write faults in 4 KiB.
        /// </summary>
        /// <exception cref="OutOfMemoryException">The C heap is exhausted, or the fault seam fired.</exception>
        /// <remarks>
        /// Inlined with PGO into the insert's slow path (AssignSlow), HashGrow and StartGrowth, its
        /// calloc call makes those methods set up a platform call's frame on every entry
        /// (CORINFO_HELP_INIT_PINVOKE_FRAME in their prologs), allocation or not. Tried and not
        /// kept (2026-12-03, README's VM): calloc and free in two small methods never inlined, so
        /// that only they set the frame up (the disassembly then showed it nowhere else). A probe
        /// building <c>&lt;long,long&gt;</c> maps from empty, best of 15 rounds, six alternated
        /// pairs of processes: 1,000 entries 11.18-11.37 µs per build before and 11.21-11.47
        /// after, 27 entries 1.07-1.11 and 1.07-1.13: the frame's setup does not show.
        /// </remarks>
        internal static byte* Alloc(ulong size, bool zero, int align = HeaderSize, bool commit = false, bool smallPages = false, bool ahead = false, bool touchMap = false)
        {
            Debug.Assert(align >= HeaderSize && align <= (int)MappedOffset && (align & (align - 1)) == 0, "alignment out of the header's range");
            long n = ++t_allocations;
            if (t_failAt != 0 && n == t_failAt)
            {
                t_failAt = 0;
                t_faultsFired++;
                ThrowHelper.ThrowOutOfMemory_Injected();
            }

            if (GetsMapping(size, align))
            {
                byte* mapped = AllocMapped(size, commit, huge: commit || !smallPages, ahead, touchMap);
                if (mapped != null)
                {
                    return mapped;
                }
            }

            ulong slack = (ulong)(align > HeaderSize ? align : 0);
            ulong total = size + HeaderSize + slack;
            if (size > SizeMask || total > SizeMask)
            {
                ThrowHelper.ThrowNativeAllocationFailed(size);
            }

            byte* baseP = HeapAlloc(total, zero, size);

            byte* user = baseP + HeaderSize;
            if (slack != 0)
            {
                user = (byte*)(((ulong)user + (ulong)(align - 1)) & ~(ulong)(align - 1));
            }

            ulong offset = (ulong)(user - baseP);
            *(ulong*)(user - HeaderSize) = total | (offset << 48) | Magic;
            *(byte**)(user - 8) = null;
            ChargeLive((long)total);
            if (commit && zero && size >= MappedThreshold)
            {
                OsMemory.Touch(user, size); // calloc may have mapped fresh pages without touching them
            }

            return user;
        }

        /// <summary>
        /// Largest C heap block (header included) that <see cref="HeapAllocZeroed"/> takes from
        /// malloc and clears itself: glibc's per-thread cache holds freed blocks up to 1,032
        /// bytes, which malloc reuses without a lock and calloc does not take from.
        /// </summary>
        internal const ulong SmallZeroedMax = 1024;

        /// <summary>
        /// A block of <paramref name="total"/> bytes from the C heap, zeroed when
        /// <paramref name="zero"/>. When the heap refuses it, the
        /// <see cref="OutOfMemoryException"/> names the size asked for
        /// (<paramref name="size"/>): NativeMemory's own says only "Insufficient memory to
        /// continue the execution of the program.", which a new user's review met from an
        /// <c>EnsureCapacity</c> of 2^40 entries (2026-12-05). Out of line: a try block in
        /// <see cref="Alloc"/> would go into every method it is inlined into.
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static byte* HeapAlloc(ulong total, bool zero, ulong size)
        {
            byte* p = null;
            try
            {
                p = zero ? HeapAllocZeroed(total) : (byte*)NativeMemory.Alloc((nuint)total);
            }
            catch (OutOfMemoryException)
            {
            }

            if (p == null)
            {
                ThrowHelper.ThrowNativeAllocationFailed(size);
            }

            return p;
        }

        /// <summary>
        /// <paramref name="total"/> zeroed bytes of the C heap: up to <see cref="SmallZeroedMax"/>,
        /// malloc and a clear here; larger, calloc (which maps fresh zero pages for big sizes
        /// without touching them).
        /// </summary>
        /// <remarks>
        /// glibc 2.36's calloc takes the arena's lock every time, where malloc first takes a
        /// freed block of the size from the thread's cache (as the small blocks of a map that is
        /// built, disposed and built again are: first arrays, small overflow chunks, ownership
        /// list stores). Measured on the README's VM (probe, 1,000,000 pairs each, .NET 10):
        /// calloc(200) and free 45.7-50.7 ns, malloc(200), a clear and free 8.3; at 1,200 bytes
        /// (past the cache) calloc 52.0 against 59.8.
        /// </remarks>
        private static byte* HeapAllocZeroed(ulong total)
        {
            if (total > SmallZeroedMax)
            {
                return (byte*)NativeMemory.AllocZeroed((nuint)total);
            }

            byte* p = (byte*)NativeMemory.Alloc((nuint)total);
            if (p != null)
            {
                NativeMemory.Clear(p, (nuint)total);
            }

            return p;
        }

        /// <summary>Does a block of <paramref name="size"/> bytes aligned to <paramref name="align"/> get a mapping of its own?</summary>
        private static bool GetsMapping(ulong size, int align) => size >= MappedThreshold && align <= (int)MappedOffset && OsMemory.Supported;

        /// <summary>
        /// A block in a mapping of its own: always zeroed (fresh pages, or a cached mapping of its
        /// size cleared), in huge pages when <paramref name="huge"/>. Committed: populated now
        /// (a cached mapping, small or big, is: clearing it touched every page; on the README's
        /// VM a 1,000,000-entry <c>&lt;long,long&gt;</c> map's constructor took 0.6-0.7 ms so,
        /// 2.1-2.6 ms populating fresh pages the host still backed and 117 ms pages it did not);
        /// else untouched when fresh (a growth's new array in base pages is then populated off the
        /// writer's thread by <see cref="PopulateInBackground"/>), and the big pool is asked only
        /// up to <see cref="GrowthCacheMaxMapping"/> (<see cref="TakesBig"/>): clearing a bigger
        /// array would be the stall of the write that starts a growth. The mapping's first word
        /// holds its length, with <see cref="HugeFlag"/> in its low bit,
        /// <see cref="CommittedFlag"/> and <see cref="TouchMapFlag"/> (the header is 16 bytes below the user bytes,
        /// <see cref="MappedOffset"/> above the mapping's start), since the header's size shrinks
        /// as pieces are released. With <paramref name="touchMap"/>, a mapping in base pages of
        /// 2 MiB or more that is not committed (a growth's array with
        /// <see cref="GoMapOptions.SmallPagesForGrowth"/>) ends in a touch map
        /// (<see cref="FaultIn"/>): up to a page longer, a few pages for many GiB.
        /// </summary>
        private static byte* AllocMapped(ulong size, bool commit, bool huge, bool ahead, bool touchMap)
        {
            ulong total = OsMemory.RoundUpToPage(size + MappedOffset);
            touchMap &= !huge && !commit && total >= OsMemory.HugePage;
            while (touchMap && total <= SizeMask)
            {
                // Room for the touch map of the whole mapping after the user bytes: a page more at
                // most, or a few for a mapping of many GiB (the map grows with the length it covers).
                ulong withMap = OsMemory.RoundUpToPage(size + MappedOffset + TouchMapBytes(total));
                if (withMap == total)
                {
                    break;
                }

                total = withMap;
            }

            if (total > SizeMask)
            {
                ThrowHelper.ThrowNativeAllocationFailed(size);
            }

            byte* baseP = ahead ? null : TakeFromCache(total, huge && OsMemory.HugePages && total >= OsMemory.HugePage, commit);
            if (baseP != null)
            {
                // A block from here is zeroed, as a fresh one; a committed one is populated already.
                // Its stamp stays: when it went to the cache, which its next free honours (UnmapDueAt).
                NativeMemory.Clear(baseP + MappedOffset, (nuint)(total - MappedOffset));
            }
            else
            {
                baseP = OsMemory.Map(total, huge);
                if (baseP == null)
                {
                    return null; // the C heap may still manage
                }

                if (ahead && huge && OsMemory.HugePages && total > OsMemory.HugePage)
                {
                    OsMemory.SmallFirstHugePage(baseP);
                }

                if (commit)
                {
                    OsMemory.Populate(baseP, total);
                }
            }

            *(ulong*)baseP = total | (huge && OsMemory.HugePages && total >= OsMemory.HugePage ? HugeFlag : 0) | (commit ? CommittedFlag : 0) | (touchMap ? TouchMapFlag : 0);
            byte* user = baseP + MappedOffset;
            *(ulong*)(user - HeaderSize) = total | (MappedOffset << 48) | MappedMagic;
            *(byte**)(user - 8) = null;
            ChargeLive((long)total);
            return user;
        }

        /// <summary>
        /// Has the release thread populate a mapped block (a growth's new array in base pages, or
        /// one prepared ahead of its growth, GoMapOptions.PrepareGrowthAhead) ahead of the writes: MADV_POPULATE_WRITE costs about 1.2 µs per page on the README's
        /// VM where a write's first touch of a page faults for about 20 µs, and the whole of a
        /// 302 MiB array is populated in about 0.1 s while its growth takes several times that.
        /// A write that gets to a page first just takes the fault; the contents never change
        /// (the call only maps zero pages), so it is safe beside the writes. A block in huge pages
        /// (only a prepared one comes here) the thread faults in by touching its pages instead
        /// (<see cref="ReleaseThread.Kind.Touch"/>). No-op for other
        /// blocks, and when the release thread is off (populating inline would be the stall
        /// this avoids).
        /// </summary>
        internal static void PopulateInBackground(byte* p)
        {
            if (!IsMapped(p) || !ReleaseThread.Running || ChargedSize(p) < (long)OsMemory.HugePage)
            {
                return; // below 2 MiB the faults cost less than waking the thread is worth
            }

            byte* baseP = p - MappedOffset;
            ReleaseThread.Job* job = (ReleaseThread.Job*)(baseP + PopulateJobOffset);
            job->What = IsHugeMapped(p) ? ReleaseThread.Kind.Touch : ReleaseThread.Kind.Populate;
            job->Start = p;
            job->Length = (*(ulong*)baseP & LengthMask) - MappedOffset;
            *(ulong*)baseP |= PopulateFlag;
            ReleaseThread.Post(job);
        }

        /// <summary>
        /// Before a write to <paramref name="length"/> bytes at <paramref name="at"/> in block
        /// <paramref name="p"/>: faults in the pages of the range that the block's touch map does
        /// not mark yet, one touch per page (an atomic add of zero, as the release thread's
        /// <see cref="ReleaseThread.Kind.Touch"/>: the contents do not change), and marks them:
        /// each <see cref="TouchChunkBytes"/> chunk the range reaches whole while
        /// <paramref name="chunks"/> (the write's allowance, counted down) lasts, then only the
        /// range's own pages, which the write would fault in anyway. No-op for a block without a
        /// touch map (<see cref="HasTouchMap"/>). For the one writer of the block (the map's,
        /// which holds hashWriting), and never for a block it has begun to release.
        /// </summary>
        /// <remarks>
        /// A growth's new array in base pages (<see cref="GoMapOptions.SmallPagesForGrowth"/>):
        /// each insert early in a growth evacuates an old bucket of its own, at random, into two
        /// new buckets anywhere in the array, long before the release thread's populate job
        /// (<see cref="PopulateInBackground"/>), which goes in order, gets there. Faulted in a page at
        /// a time by those writes, a 10,000,000-entry build took about 66,000 faults on the
        /// writer's thread, and 0.3-0.5 % of its inserts took one (the 99.9th percentile insert
        /// 4.1-5.6 µs on an AMD EPYC Zen 4 VM, against <c>Dictionary</c>'s 2.4-2.9); a chunk at a
        /// time, a few thousand inserts take the faults of 32 pages each (about 0.05-0.5 ms) and
        /// the others none: 1.26-1.43 µs, slowest insert 0.43-0.55 ms in ten runs (2026-12-07).
        /// The allowance (GoMap gives each write one chunk: GoMap.FaultInChunksPerWrite) bounds a
        /// write's faults: a write early in a growth evacuates into up to four chunks of the new
        /// array, and the writes that faulted four or two whole chunks were the slowest of a
        /// 50,000,000-entry build (64-128 faults, 0.86-1.34 ms on that VM; see the remarks there).
        /// Not MADV_POPULATE_WRITE: that takes the process's mmap lock for reading, and behind a
        /// writer waiting for it (a munmap or mmap) the call waits for the release thread's
        /// populate of a fresh 2 MiB piece (4-5 ms on that VM): with it the slowest insert read
        /// 4.2-6.1 ms in four runs of ten, all at the start of the growth to 2^21 buckets. A page
        /// fault takes only the mapping's own lock.
        /// </remarks>
        internal static void FaultIn(byte* p, byte* at, ulong length, ref int chunks)
        {
            if (HasTouchMap(p))
            {
                FaultInWithTouchMap(p, at, length, ref chunks);
            }
        }

        /// <summary>
        /// <see cref="FaultIn"/> for a caller that has seen <see cref="HasTouchMap"/> true for
        /// <paramref name="p"/> already (a growth's evacuation, once for all its destinations).
        /// </summary>
        internal static void FaultInWithTouchMap(byte* p, byte* at, ulong length, ref int chunks)
        {
            Debug.Assert(HasTouchMap(p), "FaultInWithTouchMap of a block without a touch map");
            uint* map = TouchMapOf(p, out byte* baseP, out ulong total);
            ulong first = PageOf(baseP, at);
            ulong last = PageOf(baseP, at + length - 1);
            for (ulong c = first >> ChunkPageShift; c <= last >> ChunkPageShift; c++)
            {
                uint marked = map[c];
                if (marked == uint.MaxValue)
                {
                    continue;
                }

                uint touch;
                if (chunks > 0)
                {
                    chunks--;
                    touch = ~marked; // the whole chunk
                }
                else
                {
                    touch = PagesOfRange(c, first, last) & ~marked;
                }

                TouchPages(baseP, total, c, touch);
                map[c] = marked | touch;
            }
        }

        /// <summary>True for a mapped block that ends in a touch map (<see cref="FaultIn"/>).</summary>
        internal static bool HasTouchMap(byte* p) => IsMapped(p) && (*(ulong*)(p - MappedOffset) & TouchMapFlag) != 0;

        /// <summary>Whether every page that <paramref name="length"/> bytes at <paramref name="at"/> reach is marked in block <paramref name="p"/>'s touch map; true for a block without one (GoMap.Validate, tests).</summary>
        internal static bool IsFaultedIn(byte* p, byte* at, ulong length)
        {
            if (!HasTouchMap(p))
            {
                return true;
            }

            uint* map = TouchMapOf(p, out byte* baseP, out _);
            ulong first = PageOf(baseP, at);
            ulong last = PageOf(baseP, at + length - 1);
            for (ulong c = first >> ChunkPageShift; c <= last >> ChunkPageShift; c++)
            {
                uint range = PagesOfRange(c, first, last);
                if ((map[c] & range) != range)
                {
                    return false;
                }
            }

            return true;
        }

        /// <summary>Test seam: unmarks every page of the chunk of block <paramref name="p"/>'s touch map that <paramref name="at"/> lies in (the pages stay as they are), so that a test sees Validate catch it.</summary>
        internal static void UnmarkChunkForTest(byte* p, byte* at)
        {
            TouchMapOf(p, out byte* baseP, out _)[PageOf(baseP, at) >> ChunkPageShift] = 0;
        }

        /// <summary>The touch map of mapped block <paramref name="p"/>, with its mapping's start and length.</summary>
        private static uint* TouchMapOf(byte* p, out byte* baseP, out ulong total)
        {
            baseP = p - MappedOffset;
            total = *(ulong*)baseP & LengthMask;
            return TouchMap(baseP, total);
        }

        /// <summary>log2 of the pages of a chunk (32: a 32-bit word of the touch map).</summary>
        private const int ChunkPageShift = TouchChunkShift - TouchPageShift;

        /// <summary>The page of the mapping at <paramref name="baseP"/> that <paramref name="at"/> lies in (bit <c>page &amp; 31</c> of the touch map's word <c>page &gt;&gt; 5</c>).</summary>
        private static ulong PageOf(byte* baseP, byte* at) => (ulong)(at - baseP) >> TouchPageShift;

        /// <summary>The bits, in chunk <paramref name="chunk"/>'s word, of pages <paramref name="first"/> to <paramref name="last"/> (those of them in the chunk).</summary>
        private static uint PagesOfRange(ulong chunk, ulong first, ulong last)
        {
            ulong from = chunk << ChunkPageShift;
            int lo = first > from ? (int)(first - from) : 0;
            int hi = last < from + 31 ? (int)(last - from) : 31;
            return (uint.MaxValue >> (31 - hi)) & (uint.MaxValue << lo);
        }

        /// <summary>Bytes of the touch map that ends a mapping of <paramref name="total"/> bytes: a bit per page of it, in whole 64-bit words.</summary>
        private static ulong TouchMapBytes(ulong total) => ((((total + OsMemory.Page - 1) >> TouchPageShift) + 63) >> 6) << 3;

        /// <summary>The touch map of the mapping at <paramref name="baseP"/>, <paramref name="total"/> bytes long: its last <see cref="TouchMapBytes"/>, a 32-bit word per chunk.</summary>
        private static uint* TouchMap(byte* baseP, ulong total) => (uint*)(baseP + total - TouchMapBytes(total));

        /// <summary>
        /// Faults in the pages of chunk <paramref name="chunk"/> of a mapping whose bits are set in
        /// <paramref name="pages"/>, one atomic add of zero per page; the mapping's first page (its
        /// header, written when it was mapped) and pages past its end are skipped.
        /// </summary>
        private static void TouchPages(byte* baseP, ulong total, ulong chunk, uint pages)
        {
            ulong from = chunk << ChunkPageShift;
            for (; pages != 0; pages &= pages - 1)
            {
                ulong page = from + (ulong)BitOperations.TrailingZeroCount(pages);
                ulong offset = page << TouchPageShift;
                if (page != 0 && offset < total)
                {
                    Interlocked.Add(ref *(long*)(baseP + offset), 0);
                }
            }
        }

        /// <summary>
        /// Frees a mapped block into the process's reuse cache instead of returning it to the OS,
        /// when it is whole (no piece released) and never had a populate job: up to
        /// <see cref="CacheMaxMapping"/> into the small pool; bigger ones into the big pool while
        /// the release thread runs (it unmaps those not taken within
        /// <see cref="BigCacheKeepMilliseconds"/>): a committed one of any size, for the next map
        /// made with that capacity, and another (a growth's array) of up to
        /// <see cref="GrowthCacheMaxMapping"/>, for the next growth to its size (see
        /// <see cref="TakesBig"/> and <see cref="AllocMapped"/>). The oldest entries of the pool are
        /// unmapped to make room (16 slots and <see cref="CacheMaxBytes"/> or
        /// <see cref="BigCacheMaxBytes"/>), so the cache
        /// follows the sizes in use, but only those cached <see cref="CacheGraceMilliseconds"/>
        /// or more ago: when younger ones would have to go, the block is not cached (false; older
        /// ones evicted on the way stay evicted). Charged off <see cref="LiveBytes"/> at once as
        /// <see cref="Free"/> does; false (and nothing done) otherwise. A map of the same layout
        /// and size made next takes it back with its pages still mapped: on the README's VM a
        /// fresh 1 MiB mapping costs about 5 ms of page faults, clearing a reused one a few tens
        /// of microseconds, and a fresh 2 MiB huge page up to 6 ms. The pages stay mapped, so a
        /// Go-mode read racing the writes (misuse) still reads mapped memory, as after a discard.
        /// </summary>
        internal static bool FreeToCache(byte* p)
        {
            if (p == null || !IsMapped(p) || Volatile.Read(ref s_cacheClosed))
            {
                return false;
            }

            ulong header = *(ulong*)(p - HeaderSize);
            byte* baseP = p - MappedOffset;
            ulong word = *(ulong*)baseP;
            ulong length = word & LengthMask;
            bool big = length > CacheMaxMapping;
            if ((header & SizeMask) != length || (word & PopulateFlag) != 0 || (big && (!TakesBig(length, (word & CommittedFlag) != 0) || length > (ulong)BigCacheMaxBytes || !ReleaseThread.Running)))
            {
                return false;
            }

            Span<IntPtr> evicted = stackalloc IntPtr[16];
            int evictions = 0;
            int slot;
            bool firstBig = false;
            lock (s_cacheLock)
            {
                if (s_cacheClosed)
                {
                    return false; // closed while this free waited for the lock (found by review: CloseCache had emptied the cache, and the block stayed in it)
                }

                long now = Stopwatch.GetTimestamp();
                Pool pool = big ? s_big : s_small;
                slot = pool.FindRoom((long)length, now, evicted, ref evictions);
                if (slot >= 0)
                {
                    *(ulong*)(p - HeaderSize) = (header & ~MagicMask) | FreedMagic;
                    ChargeLive(-(long)length);
                    StampOf(baseP) = now; // the last moment another map's read may have held it
                    pool.Put(slot, baseP, (long)length, now);
                    if (big)
                    {
                        firstBig = s_bigTrimAt == long.MaxValue;
                        Volatile.Write(ref s_bigTrimAt, Math.Min(s_bigTrimAt, now + (Stopwatch.Frequency / 1000 * BigCacheKeepMilliseconds)));
                    }
                }
            }

            for (int k = 0; k < evictions; k++)
            {
                PostUnmap((byte*)evicted[k]);
            }

            if (firstBig)
            {
                ReleaseThread.Wake(); // it waits without a timeout while nothing is due
            }

            return slot >= 0;
        }

        /// <summary>
        /// One pool of the reuse cache: 16 slots of mapping starts (zero = empty), when each was
        /// filled (Stopwatch timestamp: eviction order and grace period), and the bytes they hold,
        /// at most <see cref="Max"/>. Used under the cache lock only (<see cref="Bytes"/> is also
        /// read without it, as a hint that the pool is empty).
        /// </summary>
        private sealed class Pool
        {
            internal readonly IntPtr[] Slots = new IntPtr[16];
            internal readonly long[] Times = new long[16];
            internal readonly long Max;
            internal long Bytes;

            internal Pool(long max) => Max = max;

            /// <summary>
            /// A slot for <paramref name="length"/> more bytes, made from the oldest entries, but
            /// only from those cached a grace period ago: the first younger one ends the search
            /// (all the others are younger still) with -1. The entries evicted on the way (safe to
            /// unmap) are added to <paramref name="evicted"/>.
            /// </summary>
            internal int FindRoom(long length, long now, Span<IntPtr> evicted, ref int evictions)
            {
                long grace = Stopwatch.Frequency / 1000 * CacheGraceMilliseconds;
                int slot = Array.IndexOf(Slots, IntPtr.Zero);
                while (slot < 0 || Bytes + length > Max)
                {
                    int oldest = -1;
                    for (int k = 0; k < Slots.Length; k++)
                    {
                        if (Slots[k] != IntPtr.Zero && (oldest < 0 || Times[k] < Times[oldest]))
                        {
                            oldest = k;
                        }
                    }

                    if (oldest < 0 || now - Times[oldest] < grace)
                    {
                        return -1;
                    }

                    evicted[evictions++] = Slots[oldest];
                    Remove(oldest);
                    slot = oldest;
                }

                return slot;
            }

            /// <summary>Puts the mapping at <paramref name="baseP"/> (its start, <paramref name="length"/> bytes) in slot <paramref name="slot"/>, filled at <paramref name="now"/>.</summary>
            internal void Put(int slot, byte* baseP, long length, long now)
            {
                Slots[slot] = (IntPtr)baseP;
                Times[slot] = now;
                Bytes += length;
            }

            /// <summary>Empties slot <paramref name="k"/>; returns the mapping's start that was there.</summary>
            internal byte* Remove(int k)
            {
                byte* baseP = (byte*)Slots[k];
                Bytes -= (long)(*(ulong*)baseP & LengthMask);
                Slots[k] = IntPtr.Zero;
                return baseP;
            }
        }

        /// <summary>Stopwatch ticks until the next <see cref="TrimBigCache"/> is due: 0 or less when it is, long.MaxValue when the big pool is empty. Read by the release thread without the lock.</summary>
        internal static long TicksUntilBigCacheTrim()
        {
            long at = Volatile.Read(ref s_bigTrimAt);
            return at == long.MaxValue ? long.MaxValue : at - Stopwatch.GetTimestamp();
        }

        /// <summary>
        /// Unmaps (through the release thread's queue) the big-pool mappings no map took within
        /// <see cref="BigCacheKeepMilliseconds"/>, and sets when the next trim is due. Called by
        /// the release thread when <see cref="TicksUntilBigCacheTrim"/> says one may be.
        /// </summary>
        internal static void TrimBigCache()
        {
            Span<IntPtr> due = stackalloc IntPtr[16];
            int count = 0;
            lock (s_cacheLock)
            {
                long now = Stopwatch.GetTimestamp();
                long keep = Stopwatch.Frequency / 1000 * BigCacheKeepMilliseconds;
                long next = long.MaxValue;
                for (int k = 0; k < s_big.Slots.Length; k++)
                {
                    if (s_big.Slots[k] == IntPtr.Zero)
                    {
                        continue;
                    }

                    if (now - s_big.Times[k] >= keep)
                    {
                        due[count++] = (IntPtr)s_big.Remove(k);
                    }
                    else
                    {
                        next = Math.Min(next, s_big.Times[k] + keep);
                    }
                }

                Volatile.Write(ref s_bigTrimAt, next);
            }

            for (int k = 0; k < count; k++)
            {
                PostUnmap((byte*)due[k]);
            }
        }

        /// <summary>Bytes of freed mappings the reuse cache holds now, both pools (not counted in <see cref="LiveBytes"/>).</summary>
        internal static long CachedBytes
        {
            get
            {
                lock (s_cacheLock)
                {
                    return s_small.Bytes + s_big.Bytes;
                }
            }
        }

        /// <summary>Bytes the big pool holds now.</summary>
        internal static long BigCachedBytes
        {
            get
            {
                lock (s_cacheLock)
                {
                    return s_big.Bytes;
                }
            }
        }

        /// <summary>
        /// For an application domain being unloaded (ReleaseThread.DomainUnloading): the cache
        /// takes no block from now on, and every mapping it holds is returned to the OS, so that
        /// none outlives the domain whose statics alone knew of it.
        /// </summary>
        internal static void CloseCache()
        {
            lock (s_cacheLock)
            {
                s_cacheClosed = true; // under the lock: a free that took it before put its block in, which EmptyCache takes out
            }

            EmptyCache();
        }

        /// <summary>For tests: the lock of the reuse cache, which a test holds to make a free wait for it.</summary>
        internal static object CacheLockForTests => s_cacheLock;

        /// <summary>For tests: undoes <see cref="CloseCache"/>.</summary>
        internal static void ReopenCacheForTest()
        {
            lock (s_cacheLock)
            {
                s_cacheClosed = false;
            }
        }

        /// <summary>Returns every cached mapping to the OS (through the release thread); for tests that need a known cache, and <see cref="CloseCache"/>.</summary>
        internal static void EmptyCache()
        {
            while (true)
            {
                byte* baseP = null;
                lock (s_cacheLock)
                {
                    Pool pool = s_small;
                    int slot = Array.FindIndex(pool.Slots, x => x != IntPtr.Zero);
                    if (slot < 0)
                    {
                        pool = s_big;
                        slot = Array.FindIndex(pool.Slots, x => x != IntPtr.Zero);
                    }

                    if (slot < 0)
                    {
                        Volatile.Write(ref s_bigTrimAt, long.MaxValue);
                        return;
                    }

                    baseP = pool.Remove(slot);
                }

                PostUnmap(baseP);
            }
        }

        /// <summary>Takes a cached mapping of exactly <paramref name="total"/> bytes and the page kind asked for, or null; from the big pool for a <paramref name="committed"/> block, or one of up to <see cref="GrowthCacheMaxMapping"/>.</summary>
        private static byte* TakeFromCache(ulong total, bool huge, bool committed)
        {
            bool big = total > CacheMaxMapping;
            Pool pool = big ? s_big : s_small;
            if ((big && !TakesBig(total, committed)) || Volatile.Read(ref pool.Bytes) == 0)
            {
                return null;
            }

            lock (s_cacheLock)
            {
                for (int k = 0; k < pool.Slots.Length; k++)
                {
                    byte* baseP = (byte*)pool.Slots[k];
                    if (baseP != null && (*(ulong*)baseP & ~(CommittedFlag | TouchMapFlag)) == (total | (huge ? HugeFlag : 0)))
                    {
                        return pool.Remove(k);
                    }
                }
            }

            return null;
        }

        /// <summary>
        /// A word of a mapped block's own, below its header (the mapping's bytes 8..15; bytes 0..7
        /// hold its length): a Stopwatch timestamp of the last moment a read racing another
        /// owner's writes may have held the mapping, 0 for a fresh one. GoMap.Memory.cs records
        /// there when it parked the block, <see cref="FreeToCache"/> when it cached it; a block
        /// taken from the cache keeps it. Only for blocks <see cref="IsMapped"/> says are mapped.
        /// </summary>
        internal static ref long MappedStamp(byte* p) => ref StampOf(p - MappedOffset);

        /// <summary><see cref="MappedStamp"/> by the mapping's start (word 1).</summary>
        private static ref long StampOf(byte* baseP) => ref *(long*)(baseP + StampOffset);

        /// <summary>
        /// When the mapping at <paramref name="baseP"/> (its start) may be unmapped: its stamp
        /// (<see cref="MappedStamp"/>) plus <see cref="CacheGraceMilliseconds"/>, as a Stopwatch
        /// timestamp; 0 for a fresh one. The release thread holds a freed mapping until then: a
        /// retired array that another map took from the cache and freed at once may still be
        /// under a read racing its first owner's writes (misuse, Go mode), which must find
        /// mapped memory (found by a review of the protocol).
        /// </summary>
        internal static long UnmapDueAt(byte* baseP)
        {
            long stamp = StampOf(baseP);
            return stamp == 0 ? 0 : stamp + (Stopwatch.Frequency / 1000 * CacheGraceMilliseconds);
        }

        /// <summary>True for a block in a mapping of its own (outside poison mode), which <see cref="ReleaseTail"/> can release in pieces.</summary>
        internal static bool IsMapped(byte* p) => (*(ulong*)(p - HeaderSize) & MagicMask) == MappedMagic && !t_poison;

        /// <summary>
        /// Returns one piece from the end of a mapped block's still-populated part to the OS
        /// (<c>MADV_DONTNEED</c>, down to the first page that holds the header): a huge page for a
        /// mapping in huge pages, <see cref="BasePageReleaseBytes"/> for one in base pages, cut at
        /// that granularity so that no huge page is split but the first, whose first base page
        /// (the header's) the last cut keeps. The pages stay mapped and read as
        /// zeros, so a racing read (misuse) that still holds a pointer into them finds empty
        /// buckets instead of faulting; the block stays owned and must still be freed with
        /// <see cref="Free"/>, which unmaps it. Returns the bytes released, 0 when nothing is left
        /// to release or the block is not mapped.
        /// </summary>
        internal static long ReleaseTail(byte* p)
        {
            if (!IsMapped(p))
            {
                return 0;
            }

            ulong header = *(ulong*)(p - HeaderSize);
            ulong total = header & SizeMask;
            byte* baseP = p - MappedOffset;
            if (total <= OsMemory.Page)
            {
                return 0;
            }

            ulong piece = (*(ulong*)baseP & HugeFlag) != 0 ? OsMemory.HugePage : BasePageReleaseBytes;
            ulong keep = Math.Max((total - 1) & ~(piece - 1), OsMemory.Page);

            // The discard is made on the release thread. Its job lives in the mapping's words
            // 6..9, not in the piece: a Go-mode read racing the writes (misuse) may still be in
            // the retired buckets, and job words there would read as overflow pointers (a kind
            // or a length) until the discard ran. A piece cut while the previous one still waits
            // joins that job (pieces are cut downward, each ending where the last began).
            ReleaseThread.PostDiscard((ReleaseThread.Job*)(baseP + DiscardJobOffset), baseP + keep, total - keep);
            *(ulong*)(p - HeaderSize) = (header & ~SizeMask) | keep;
            ChargeLive(-(long)(total - keep));
            return (long)(total - keep);
        }

        /// <summary>True for a block of ours that is not freed: its header carries a live magic word (a C heap block's or a mapping's), not <see cref="FreedMagic"/> (GoMap.Validate).</summary>
        internal static bool IsLive(byte* p)
        {
            ulong magic = *(ulong*)(p - HeaderSize) & MagicMask;
            return magic == Magic || magic == MappedMagic;
        }

        /// <summary>True for a block in a mapping of its own that asked for huge pages (a committed one).</summary>
        internal static bool IsHugeMapped(byte* p) => IsMapped(p) && (*(ulong*)(p - MappedOffset) & HugeFlag) != 0;

        /// <summary>
        /// True for a block whose free may hand its pages back to the OS at once: a mapping of its
        /// own (<see cref="IsMapped"/>), or a C heap block of <see cref="MappedThreshold"/> bytes
        /// or more, which the C runtime may serve from a mapping of its own where the library
        /// maps none (off Linux, NATIVEGOMAP_MMAP=0, or after <see cref="OsMemory.Map"/> failed:
        /// glibc from 128 KiB by default, the Windows heap from about 1 MiB in a 64-bit process).
        /// An indirect key or value block for which this holds is not freed by the write that
        /// drops it (GoMap.Retire): a Go-mode read racing that write may still follow its pointer.
        /// </summary>
        internal static bool FreeMayUnmap(byte* p) => IsMapped(p) || (ulong)ChargedSize(p) >= MappedThreshold;

        /// <summary>Bytes charged for the block at <paramref name="p"/> (header and slack included).</summary>
        internal static long ChargedSize(byte* p) => (long)(*(ulong*)(p - HeaderSize) & SizeMask);

        /// <summary>The deferred-free link of a block (null when not linked).</summary>
        internal static ref byte* Next(byte* p) => ref *(byte**)(p - 8);

        /// <summary>
        /// Frees a block from <see cref="Alloc"/>; null is ignored. A block freed twice is caught.
        /// A mapping is unmapped on the release thread (munmap is slow: see
        /// <see cref="ReleaseThread"/>), or here while <see cref="UnmapAtOnce"/> says so; a C heap
        /// block is freed here.
        /// </summary>
        internal static void Free(byte* p)
        {
            if (p == null)
            {
                return;
            }

            byte* baseP = MarkFreed(p, out ulong total, out bool mapped);
            if (t_poison)
            {
                Quarantine(p, baseP, total, mapped);
                return;
            }

            if (!mapped)
            {
                NativeMemory.Free(baseP);
                return;
            }

            ulong word = *(ulong*)baseP;
            if (t_unmapAtOnce && total == (word & LengthMask) && (word & PopulateFlag) == 0 && UnmapDueAt(baseP) <= Stopwatch.GetTimestamp())
            {
                OsMemory.UnmapInPieces(baseP, word & LengthMask);
                return;
            }

            PostUnmap(baseP);
        }

        /// <summary>
        /// <see cref="Free"/> for a C heap block that its map will not allocate again soon (a
        /// retired full-size overflow chunk: see GoMap.ReleaseSome): the free() call is made on
        /// the release thread, where the C heap's trim of its top (a <c>brk</c> system call, which
        /// took up to a millisecond on the README's VM) does not hold up a write. Charged off
        /// <see cref="LiveBytes"/> at once, as <see cref="Free"/> does; the job lives in the
        /// block's own first 32 bytes. As <see cref="Free"/> when the thread is off or not
        /// started, in poison mode, for a mapping, or for a block too small to hold the job.
        /// </summary>
        internal static void FreeOnReleaseThread(byte* p)
        {
            if (p == null || IsMapped(p) || t_poison || !ReleaseThread.Running || UsableSize(p) < (ulong)sizeof(ReleaseThread.Job))
            {
                Free(p);
                return;
            }

            byte* baseP = MarkFreed(p, out _, out _);
            ReleaseThread.Job* job = (ReleaseThread.Job*)p;
            job->What = ReleaseThread.Kind.FreeHeap;
            job->Start = baseP;
            job->Length = 0;
            ReleaseThread.Post(job);
        }

        /// <summary>
        /// The part of a free that every path shares: checks that <paramref name="p"/> is a live
        /// block of ours (a block freed twice is caught), marks it freed and charges it off
        /// <see cref="LiveBytes"/>. Returns where the block's memory starts (what free() or
        /// munmap takes).
        /// </summary>
        private static byte* MarkFreed(byte* p, out ulong total, out bool mapped)
        {
            ulong header = *(ulong*)(p - HeaderSize);
            ulong magic = header & MagicMask;
            if (magic != Magic && magic != MappedMagic)
            {
                ThrowHelper.ThrowBadMapState("native block freed twice or not ours");
            }

            total = header & SizeMask;
            mapped = magic == MappedMagic;
            ulong offset = (header >> 48) & 0xFF;
            *(ulong*)(p - HeaderSize) = (header & ~MagicMask) | FreedMagic;
            ChargeLive(-(long)total);
            return p - offset;
        }

        /// <summary>Poison mode: fills a freed block with <see cref="PoisonByte"/> and keeps it from reuse until <see cref="ReleaseQuarantine"/>.</summary>
        private static void Quarantine(byte* p, byte* baseP, ulong total, bool mapped)
        {
            ulong usable = total - (ulong)(p - baseP);
            for (ulong done = 0; done < usable; done += int.MaxValue)
            {
                new Span<byte>(p + done, (int)Math.Min(usable - done, int.MaxValue)).Fill(PoisonByte);
            }

            (t_quarantine ??= new List<(IntPtr, ulong, bool)>()).Add(((IntPtr)baseP, total, mapped));
        }

        /// <summary>Bytes of a live block from <paramref name="p"/> to its end (a mapping's released pieces excluded).</summary>
        internal static ulong UsableSize(byte* p)
        {
            ulong header = *(ulong*)(p - HeaderSize);
            return (header & SizeMask) - ((header >> 48) & 0xFF);
        }

        /// <summary>
        /// The bytes a C heap block of <paramref name="size"/> bytes aligned to
        /// <paramref name="align"/> is charged (<see cref="ChargedSize"/>), or -1 when such a
        /// block gets a mapping of its own.
        /// </summary>
        internal static long ChargeOfHeapBlock(ulong size, int align) =>
            GetsMapping(size, align) ? -1 : (long)(size + HeaderSize + (ulong)(align > HeaderSize ? align : 0));

        /// <summary>
        /// Has the release thread unmap the whole mapping at <paramref name="baseP"/> (released
        /// pieces included); the job lives in the mapping's words 2..5, below the header. A
        /// populate job posted earlier for the mapping runs first (jobs run in order).
        /// </summary>
        private static void PostUnmap(byte* baseP)
        {
            ReleaseThread.Job* job = (ReleaseThread.Job*)(baseP + UnmapJobOffset);
            job->What = ReleaseThread.Kind.Unmap;
            job->Start = baseP;
            job->Length = *(ulong*)baseP & LengthMask;
            ReleaseThread.Post(job);
        }
    }
}
