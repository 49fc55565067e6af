using System;
using System.Diagnostics;
using System.Threading;

namespace NativeGoMap
{
    // Ownership of native memory. Every block has exactly one owner at a time; this table lists
    // every path that frees it or hands it on:
    //
    //   block                              owner                          released by
    //   current bucket array               _buckets                       growth end (as old), ReplaceEmpty (an empty map
    //                                                                     resized by EnsureCapacity or TrimExcess: retired),
    //                                                                     Dispose; a snapshot load's new, unpublished map
    //                                                                     frees its first one at once (SizeForLoad; to the
    //                                                                     reuse cache where its size qualifies)
    //   old bucket array                   _oldBuckets                    growth end, Clear, Dispose
    //   overflow chunk (1..128 buckets,    _overflow / _oldOverflow list  generation retired (growth end, Clear,
    //     more when an evacuation's                                       ReplaceEmpty), Dispose
    //     reserve needs more; its buckets                                 (a spare is never freed alone: the
    //     linked in chains or spares,                                     generation's start forgets the spare list)
    //     _spareOverflow)
    //   ownership list storage             the list                       its resize (EnsureRoom), RetireOverflowList at every
    //                                                                     generation retirement (growth end, Clear,
    //                                                                     ReplaceEmpty) and Dispose: freed at once (no read
    //                                                                     reaches it); a growth start hands _overflow's to
    //                                                                     _oldOverflow
    //   indirect key / value block         the live slot holding it       Remove, Clear, Dispose (moves on evacuation)
    //   fast enumerator slot table         _fastIterSlots                 Dispose (after claims in progress settle: WaitForClaims)
    //   enumerator slot table              _iterSlots (the registry)      Dispose; outgrown, it moves to _oldIterSlots
    //   outgrown enumerator slot tables    _oldIterSlots                  Dispose (kept: see RegisterIterator)
    //   next growth's array, prepared      _preparedArray                 taken by the growth to its B, or by ReplaceEmpty to
    //     (GoMapOptions.PrepareGrowthAhead)                               that B, when neither commits; else freed at once (no
    //                                                                     reader ever had it) by AllocBucketArray, once the
    //                                                                     new array is allocated (TakePrepared), when an array
    //                                                                     of another B, or a committed one (a committed growth
    //                                                                     to the prepared B too), replaces the current one;
    //                                                                     by ReplaceEmpty to B = 0; by Dispose. Kept by a new
    //                                                                     array of the current B (a same-size growth)
    //
    // "Retire" is how a block leaves the map while something may still read it, and "release"
    // is returning it to the system. Go's garbage collector frees an old generation whenever
    // nothing points at it; here a retired block travels:
    //
    //   retire ──► _deferred ──(promote)──► _releaseQueue ──(release steps)──► system
    //                                                              ├─(Go mode, big arrays)─► _parked ──(a growth start ≥ 1 s later)──► unmapped
    //                                                              └─(whole mappings ≤ 4 MiB, a growth's ≤ 32 MiB, or committed, that FreeToCache accepts)─► NativeHeap's reuse cache ──► the next array of that size
    //
    //   - _deferred holds blocks that a registered enumerator may still read (its bucket array,
    //     a chain it walks, an indirect key it looks up again). It runs newest first; each
    //     enumerator records the head when it starts, and can only reach blocks retired after
    //     that. Promotion moves everything an enumerator can no longer reach (all of it when no
    //     enumerator is registered) to the release queue; in Strict mode only when no other
    //     thread announces a read of the map (ReaderRegistry), since a read racing a write may
    //     hold a pointer into retired bucket memory.
    //   - Promotion and release steps run at the start of a write's slow path, before the write
    //     retires anything: memory a write retires is never released by that same write, so an
    //     operation racing it (misuse) still points at mapped memory.
    //   - A release step returns a bounded piece: one piece of a big array's pages (discarded
    //     from the tail, a huge page or 512 KiB of base pages at a time; they stay mapped and read
    //     as zeros) or a few small blocks (ReleaseBudgetBlocks, ReleaseBudgetSmallBytes: a free()
    //     may trim the C heap). The step decides and accounts; the system calls on mappings
    //     (madvise, munmap) are made on ReleaseThread, since each one took about 200 µs and up
    //     to several ms on the README's VM, and so are the free() calls of full-size overflow
    //     chunks, which a big generation retires by the hundred and whose frees trim the C
    //     heap's top (brk); a generation's chunks are released oldest first, so that the C heap
    //     takes most of them into its free lists without trimming. No write pays for a whole generation (the stall
    //     that the end of a growth used to be). In Go mode an emptied big array stays mapped
    //     (_parked, one page charged to NativeBytes, no longer to DeferredBytes) until a growth
    //     starts at least a second after it was parked, so a read racing the writes (misuse,
    //     unannounced in Go mode, perhaps preempted for milliseconds) finds zeros, not an
    //     unmapped page. A whole array of 64 KiB to 32 MiB, or a bigger one that was committed
    //     (a capacity hint's, EnsureCapacity's), goes to the process-wide reuse cache
    //     instead, where it stays mapped (another map may take it and clear it) and is unmapped
    //     only a second or more after it came (NativeHeap.CacheGraceMilliseconds): by an
    //     eviction, or by the release thread, which holds a freed mapping until its stamp's
    //     grace period is over (NativeHeap.UnmapDueAt) when another map took it and freed it sooner.
    //   - Indirect key/value blocks are read through the pointers in the buckets, by lookups as
    //     by enumerators: deferred while an enumerator is registered, while a Strict read is
    //     announced on another thread, or when the block is of 64 KiB or more (a mapping of its
    //     own, or a C heap block the C runtime may serve from one: a free may unmap it under a
    //     racing read); else freed at once by the Remove or Clear that drops them (a racing
    //     Go-mode read then reads at worst a stale small heap block, still mapped).
    //   - Dispose releases everything at once, deferred and queued included; Clear and a new
    //     growth started before a release finished just add to the queue. The unmaps of a map
    //     that nobody ever saw (a failed load's, disposed inside ReadFrom) are made by that call
    //     itself (NativeHeap.UnmapAtOnce): a loop of failed loads outran the release thread.
    //   - A whole mapping of at most 4 MiB (a mid-size bucket array) is not discarded: it goes
    //     to NativeHeap's process-wide reuse cache (16 MiB at most), still mapped, and the next
    //     array of its exact size, in any map, takes it back zeroed instead of faulting in fresh
    //     pages (a 10,000-entry map of 64-byte values built and disposed in a loop: 994 → 49 ns
    //     per insert on the README's VM). A bigger whole mapping goes to the cache's big pool
    //     (512 MiB at most) when it was committed, and only a committed block (the array of a map
    //     made with a capacity hint, or of EnsureCapacity) takes it back, clearing it on its own
    //     thread where it would have populated a fresh one (a 1,000,000-entry <long,long> map made
    //     with its capacity, filled and disposed in a loop: 31-53 → 25-27 ns per insert); the
    //     release thread unmaps what no map took within two seconds. A growth's array goes there
    //     too, and a growth takes one, up to 32 MiB (NativeHeap.GrowthCacheMaxMapping): the write
    //     that starts the growth clears it (under 2 ms), where the growth's writes would fault in
    //     fresh 2 MiB pages (0.35 to 6 ms each, up to four in that first write); a map built
    //     without a hint and disposed in a loop: 1,000,000 <long,long> 90-107 → 69-77 ns per
    //     insert. Bigger growth arrays are neither cached nor taken: their clear would be the
    //     stall of the write that starts a growth, and the ways of serving them without that
    //     clear that were measured made the build loops slower or no faster
    //     (NativeHeap.BigCacheMaxBytes).
    //   - NativeHeap.FreeToCache refuses a mapping, which is then released the ordinary way
    //     (by release steps: discarded, then parked or freed; by Dispose: freed), when a piece of it was released already, when it had
    //     a populate job posted (PopulateFlag: the job's slot may still be queued; a growth's
    //     array in base pages, or one prepared ahead), when it is for the big pool and the release
    //     thread is not running (nothing would unmap it if no map took it), and when making room
    //     would evict an entry cached less than a second ago (CacheGraceMilliseconds: a read
    //     racing its first owner's writes may still be in it); older entries evicted on the way
    //     stay evicted.
    public sealed unsafe partial class GoMap<TKey, TValue>
    {
        /// <summary>How long a Go-mode emptied mapping stays parked (mapped, one page populated) before a growth start may unmap it.</summary>
        internal const long ParkedGraceMilliseconds = 1000;

        /// <summary>Small blocks (overflow chunks, list storage) that one release step frees at most.</summary>
        private const int ReleaseBudgetBlocks = 32;

        /// <summary>
        /// Bytes of small blocks after which a release step stops (it frees at least one block):
        /// two 18 KiB overflow chunks. A free() at the top of the C heap gives pages back to the
        /// OS (brk), 27 µs on average on the README's VM and now and then a millisecond or more;
        /// a step of 32 chunks took 2 to 7 ms there. Full-size chunks are freed on the release
        /// thread now (<see cref="FullChunkCharge"/>), but the budget still bounds the smaller
        /// blocks' frees.
        /// </summary>
        private const long ReleaseBudgetSmallBytes = 32 * 1024;

        /// <summary>Largest overflow chunk, in buckets (18 KiB for &lt;long,long&gt;).</summary>
        private const long MaxChunkBuckets = 128;

        /// <summary>
        /// What a full-size overflow chunk of this layout is charged in the C heap (-1 when it is
        /// a mapping of its own): a release step has such a block freed on the release thread. A
        /// big generation retires hundreds of them at its end, and the next generation allocates
        /// chunks only once its array's preallocated tail is used up, so no write of this map
        /// waits for them meanwhile; each free() may trim the C heap's top, a <c>brk</c> that
        /// took up to a millisecond on the writer's thread. Any other retired block of exactly
        /// this charge is treated alike (it is memory nothing reaches either).
        /// </summary>
        private static readonly long FullChunkCharge = NativeHeap.ChargeOfHeapBlock(BucketLayout<TKey, TValue>.ChunkBytes(MaxChunkBuckets), 64);

        /// <summary>Allocates a block charged to this map.</summary>
        internal byte* AllocBlock(ulong size, bool zero, int align = 16, bool commit = false, bool smallPages = false, bool ahead = false, bool touchMap = false)
        {
            byte* p = NativeHeap.Alloc(size, zero, align, commit, smallPages, ahead, touchMap);
            _nativeBytes += NativeHeap.ChargedSize(p);
            return p;
        }

        /// <summary>
        /// Frees a block of this map now; null is ignored. <paramref name="onReleaseThread"/>:
        /// a C heap block's free() call is made on the release thread
        /// (<see cref="NativeHeap.FreeOnReleaseThread"/>); the map lets go of it now either way.
        /// </summary>
        internal void FreeBlock(byte* p, bool onReleaseThread = false)
        {
            if (p == null)
            {
                return;
            }

            _nativeBytes -= NativeHeap.ChargedSize(p);
            if (onReleaseThread)
            {
                NativeHeap.FreeOnReleaseThread(p);
                return;
            }

            NativeHeap.Free(p);
        }

        /// <summary>
        /// Frees a block of this map now, into the process's mapping reuse cache when it qualifies
        /// (<see cref="NativeHeap.FreeToCache"/>: a whole mapping of at most 4 MiB, one of a growth of at most 32 MiB, or a committed one)
        /// and <paramref name="toCache"/>, else as <see cref="FreeBlock"/>. For bucket arrays,
        /// which the next map of the same size can take back.
        /// </summary>
        private void FreeBlockOrCache(byte* p, bool toCache = true)
        {
            long size = p == null ? 0 : NativeHeap.ChargedSize(p);
            if (toCache && NativeHeap.FreeToCache(p))
            {
                _nativeBytes -= size;
                return;
            }

            FreeBlock(p);
        }

        /// <summary>
        /// Frees an indirect key or value block the map no longer reaches, or defers it while a
        /// read may still follow its pointer: an enumerator that started before (THE RULE below),
        /// a Strict read announced on another thread (it may have loaded the pointer just before
        /// this write began; Promote releases the block once no read is announced), or, in either
        /// mode, a read racing this write when the block is of 64 KiB or more
        /// (<see cref="NativeHeap.FreeMayUnmap"/>: a mapping of its own, which a free unmaps, or,
        /// where the library maps none, a C heap block that the C runtime may unmap at its free);
        /// a smaller block goes back to the C heap and stays mapped.
        /// </summary>
        private void Retire(byte* p)
        {
            if (p == null)
            {
                return;
            }

            if (!AnyLiveIterators() && !NativeHeap.FreeMayUnmap(p) && ((_flags & FlagStrict) == 0 || !ReaderRegistry.AnyReading(_id)))
            {
                FreeBlock(p);
                return;
            }

            // THE RULE: an enumerator may hold a pointer into any block the map has retired since
            // it started. Such blocks wait on the deferred list.
            Defer(p);
        }

        /// <summary>
        /// Takes bucket memory (an array or an overflow chunk) out of the map. Bucket memory may
        /// be in use by a read on another thread as well as by enumerators, so it always goes to
        /// the deferred list and is released by later writes.
        /// </summary>
        private void RetireBucketMemory(byte* p)
        {
            if (p != null)
            {
                Defer(p);
            }
        }

        /// <summary>
        /// Pushes a block on the deferred list (newest first), linked through its header: never
        /// allocates. Only writes defer (their slow path's Publish raises the slow-write flag for
        /// the pending reclaim); an enumerator's registration keeps its outgrown table apart
        /// (_oldIterSlots), since it is not a write and had left the flag behind the reclaim.
        /// </summary>
        private void Defer(byte* p)
        {
            NativeHeap.Next(p) = _deferred;
            _deferred = p;
            _deferredBytes += NativeHeap.ChargedSize(p);
            _reclaimPending = true;
        }

        /// <summary>
        /// For <see cref="Promote"/>, under the registration lock: the boundary of the oldest live
        /// enumerator, the one deepest in the deferred list (newest first), or null when one
        /// protects the whole list (its boundary null: nothing was deferred before it started, or
        /// a promotion since took everything that was), when a fast slot is between states (a
        /// registration or an end on another thread, misuse while this write runs;
        /// <paramref name="settled"/> false), or when a
        /// boundary is not in the list (Validate's invariant; kept safe rather than trusted).
        /// Tickets no longer order the registrations (the fast slots' count their own), so the
        /// list's order does: every boundary was the list's head when its enumerator started.
        /// </summary>
        private byte* OldestBoundary(out bool settled)
        {
            settled = true;
            byte* oldest = null;
            long deepest = -1;
            for (int slot = 0; slot < FastIterSlots + _iterSlotCount; slot++)
            {
                if (!LiveBoundary(slot, out byte* boundary, out settled))
                {
                    continue;
                }

                long depth = boundary == null ? -1 : DeferredDepth(boundary);
                if (!settled || depth < 0)
                {
                    return null;
                }

                if (depth > deepest)
                {
                    deepest = depth;
                    oldest = boundary;
                }
            }

            return oldest;
        }

        /// <summary>The position of <paramref name="block"/> in the deferred list (0: its head, the newest), or −1 when it is not there.</summary>
        private long DeferredDepth(byte* block)
        {
            long depth = 0;
            for (byte* p = _deferred; p != null; p = NativeHeap.Next(p), depth++)
            {
                if (p == block)
                {
                    return depth;
                }
            }

            return -1;
        }

        /// <summary>
        /// Whether registration slot <paramref name="slot"/> (numbered as enumerators number them)
        /// holds a live registration, and its boundary; <paramref name="settled"/> is false for a
        /// fast slot being claimed or released.
        /// </summary>
        private bool LiveBoundary(int slot, out byte* boundary, out bool settled)
        {
            boundary = null;
            settled = true;
            if (slot < FastIterSlots)
            {
                if (_fastIterSlots == null)
                {
                    return false;
                }

                long state = Volatile.Read(ref ClaimWord(slot)) & ClaimStateMask;
                if (state == ClaimFree)
                {
                    return false;
                }

                settled = state == ClaimRegistered;
                boundary = _fastIterSlots[slot].Boundary;
                return true;
            }

            IterSlot* s = &_iterSlots[slot - FastIterSlots];
            if (s->Ticket == 0)
            {
                return false;
            }

            boundary = s->Boundary;
            return true;
        }

        /// <summary>Sets to null every live registration's boundary equal to <paramref name="cut"/> (Promote moved it and what follows to the release queue).</summary>
        private void ClearBoundaries(byte* cut)
        {
            for (int slot = 0; slot < FastIterSlots + _iterSlotCount; slot++)
            {
                if (LiveBoundary(slot, out byte* boundary, out _) && boundary == cut)
                {
                    IterSlot* table = RegistrationTable(slot, out int index);
                    table[index].Boundary = null;
                }
            }
        }

        /// <summary>
        /// The start of a write's slow path (holding the structural right): promotes what nothing
        /// can read any more and releases one bounded piece of it.
        /// </summary>
        private void ReclaimStep()
        {
            if (_reclaimPending)
            {
                Promote();
            }

            if (_releaseQueue != null)
            {
                ReleaseSome();
            }
        }

        /// <summary>
        /// Moves to the release queue every deferred block that no enumerator can reach: the
        /// boundary of the oldest live enumerator and everything after it, or the whole list when
        /// none is live; in Strict mode only while no other thread announces a read of this map.
        /// </summary>
        private void Promote()
        {
            if (_deferred == null)
            {
                _reclaimPending = false;
                return;
            }

            if ((_flags & FlagStrict) != 0 && ReaderRegistry.AnyReading(_id))
            {
                return; // stays pending: a later write looks again
            }

            EnterIterLock();
            try
            {
                _reclaimPending = false;
                byte* cut = _deferred;
                if (AnyLiveIterators())
                {
                    cut = OldestBoundary(out bool settled);
                    if (cut == null)
                    {
                        // Nothing was deferred before the oldest started (its end raises the flag
                        // again), or a registration on another thread is halfway: a later write
                        // looks again (an end halfway may have raised the flag already).
                        _reclaimPending = !settled;
                        return;
                    }

                    // Later enumerators' boundaries are newer, except those equal to the cut.
                    ClearBoundaries(cut);
                }

                // Unlink the tail from the cut on and append it to the release queue.
                if (_deferred == cut)
                {
                    _deferred = null;
                }
                else
                {
                    byte* p = _deferred;
                    while (NativeHeap.Next(p) != cut)
                    {
                        p = NativeHeap.Next(p);
                    }

                    NativeHeap.Next(p) = null;
                }

                byte* last = cut;
                while (NativeHeap.Next(last) != null)
                {
                    last = NativeHeap.Next(last);
                }

                NativeHeap.Next(last) = _releaseQueue;
                _releaseQueue = cut;
            }
            finally
            {
                ExitIterLock();
            }
        }

        /// <summary>
        /// One release step from the release queue: one piece of a big block's pages (a huge page,
        /// or <see cref="NativeHeap.BasePageReleaseBytes"/> of base pages: see
        /// <see cref="NativeHeap.ReleaseTail"/>), or whole small blocks, up to
        /// <see cref="ReleaseBudgetBlocks"/> of them and <see cref="ReleaseBudgetSmallBytes"/>. A
        /// big block's system calls are made on <see cref="ReleaseThread"/>; small blocks are
        /// freed here, but for full-size overflow chunks, whose free() calls are made there too
        /// (<see cref="FullChunkCharge"/>), and for C heap blocks whose free may unmap them
        /// (<see cref="NativeHeap.FreeMayUnmap"/>: 64 KiB or more): where the library maps no memory of
        /// its own (off Linux, NATIVEGOMAP_MMAP=0, a failed map) a retired bucket array is one,
        /// freed whole (the C runtime unmaps it then: with NATIVEGOMAP_MMAP=0, the release step
        /// that freed a 153 MiB array held a write for 13-15 ms, stress scale to 10,000,000 entries,
        /// 2026-12-06). A big
        /// block's pages are discarded but stay mapped (they read as zeros); in Go mode the
        /// emptied mapping is then parked, and unmapped only by a growth start a second later, so that
        /// a read racing the writes (misuse, unannounced in Go mode) never touches unmapped
        /// memory; in Strict mode no read can be racing (Promote checked), and it is freed at once:
        /// the release thread unmaps it, not before <see cref="NativeHeap.UnmapDueAt"/> when the
        /// mapping came from the reuse cache (a read racing its previous owner's writes may still be in it).
        /// </summary>
        private void ReleaseSome()
        {
            _work.ReleaseSteps++;
            int blocks = 0;
            long freed = 0;
            while (_releaseQueue != null && blocks < ReleaseBudgetBlocks && freed < ReleaseBudgetSmallBytes)
            {
                byte* p = _releaseQueue;
                long whole = NativeHeap.ChargedSize(p);
                byte* next = NativeHeap.Next(p); // read first: a cached block may be taken by another thread at once
                if (NativeHeap.FreeToCache(p))
                {
                    // A whole mapping of at most 4 MiB (32 MiB for a growth's), or a committed one: kept mapped for the next block of its size.
                    _releaseQueue = next;
                    _nativeBytes -= whole;
                    _deferredBytes -= whole;
                    _work.ReleasedBytes += whole;
                    return;
                }

                long cut = NativeHeap.ReleaseTail(p);
                if (cut != 0)
                {
                    _nativeBytes -= cut;
                    _deferredBytes -= cut;
                    _work.ReleasedBytes += cut;
                    return; // a big piece is the whole step
                }

                _releaseQueue = NativeHeap.Next(p);
                if (NativeHeap.IsMapped(p) && (_flags & FlagStrict) == 0)
                {
                    // Released but for its first page; no longer counted as retired.
                    _deferredBytes -= NativeHeap.ChargedSize(p);
                    NativeHeap.Next(p) = _parked;
                    NativeHeap.MappedStamp(p) = Stopwatch.GetTimestamp();
                    _parked = p;
                    return;
                }

                long size = NativeHeap.ChargedSize(p);
                NativeHeap.Next(p) = null;
                _deferredBytes -= size;
                _work.ReleasedBytes += size;
                FreeBlock(p, onReleaseThread: size == FullChunkCharge || NativeHeap.FreeMayUnmap(p));
                blocks++;
                freed += size;
            }
        }

        /// <summary>
        /// Unmaps the parked, emptied mappings (see <see cref="ReleaseSome"/>) that have been
        /// parked for <see cref="ParkedGraceMilliseconds"/> or more (all of them when
        /// <paramref name="all"/>): a few, with one populated page each. The grace period is what
        /// keeps a Go-mode read racing the writes (misuse: a reader preempted while it holds an
        /// array pointer, on a busy machine for milliseconds) off unmapped memory: the stress
        /// program's reader-vs-writer trials crashed in about 1 of 100 when they were unmapped
        /// at the next growth start however soon it came (small maps grow within microseconds).
        /// </summary>
        private void FreeParked(bool all = false)
        {
            if (_parked == null)
            {
                return; // the common case, without a clock read (every growth start and Dispose come here)
            }

            long now = Stopwatch.GetTimestamp();
            long grace = Stopwatch.Frequency / 1000 * ParkedGraceMilliseconds;
            ref byte* link = ref _parked;
            while (link != null)
            {
                byte* p = link;
                if (all || now - NativeHeap.MappedStamp(p) >= grace)
                {
                    link = NativeHeap.Next(p);
                    NativeHeap.Next(p) = null;
                    FreeBlock(p);
                }
                else
                {
                    link = ref NativeHeap.Next(p);
                }
            }
        }

        /// <summary>Frees a chain of blocks already unlinked from the deferred list or the release queue (<paramref name="toCache"/>: as <see cref="FreeBlockOrCache"/>).</summary>
        private void FreeChain(byte* p, bool toCache)
        {
            while (p != null)
            {
                byte* next = NativeHeap.Next(p);
                NativeHeap.Next(p) = null;
                _deferredBytes -= NativeHeap.ChargedSize(p);
                FreeBlockOrCache(p, toCache);
                p = next;
            }
        }

        /// <summary>
        /// Retires the indirect key and value blocks of slot <paramref name="i"/> (no-op for
        /// inline slots) and clears the slot's pointers. A block retired while no enumerator is
        /// registered may go back to the C heap at once; a read racing a later insert into the
        /// slot may see the insert's tophash before its new pointer (Arm64 may reorder both the
        /// insert's stores and the read's loads), and then finds null (read as a zero key or
        /// value), not the freed block. The reader's half holds because the pointer's address
        /// depends on the tophash word it loaded; the writer's because maps with indirect blocks
        /// always write on the slow paths, whose compare-and-swap of the right to restructure
        /// (EnterStructural, a full fence) orders this null store before a later insert's tophash
        /// store. An inline write path for such maps would have to keep that order itself.
        /// </summary>
        private void RetireIndirect(byte* b, int i)
        {
            if (BucketLayout<TKey, TValue>.IndirectKey)
            {
                ref byte* slot = ref BucketLayout<TKey, TValue>.SlotPointer(BucketLayout<TKey, TValue>.KeySlot(b, i));
                Retire(slot);
                slot = null;
            }

            if (BucketLayout<TKey, TValue>.IndirectValue)
            {
                ref byte* slot = ref BucketLayout<TKey, TValue>.SlotPointer(BucketLayout<TKey, TValue>.ValueSlot(b, i));
                Retire(slot);
                slot = null;
            }
        }

        /// <summary>
        /// Retires the indirect blocks of every live entry: current chains, and old chains not yet
        /// evacuated. Every such block belongs to a live slot, and the live slots are exactly
        /// <see cref="_count"/>, so the walk stops at the last one (at once for an empty map) and
        /// reads no bucket beyond it. Found by fuzzing: a load from a stream that cannot seek
        /// reserves an array for the header's count, and when it failed, Dispose walked all of it,
        /// faulting in untouched pages (19 GB in 33 s for a 96-byte input). A poisoned map's count
        /// may be wrong (Go mode: a write that raced), so there the whole arrays are walked.
        /// </summary>
        private void RetireAllIndirect()
        {
            if (!BucketLayout<TKey, TValue>.IndirectKey && !BucketLayout<TKey, TValue>.IndirectValue)
            {
                return;
            }

            long live = (System.Threading.Volatile.Read(ref _flags) & FlagPoisoned) != 0 ? long.MaxValue : _count;
            RetireIndirectOfArray(_buckets, _b, ref live);
            if (_oldBuckets != null)
            {
                RetireIndirectOfArray(_oldBuckets, OldB(), ref live);
            }
        }

        /// <summary>For <see cref="RetireAllIndirect"/>: one array's chains, until <paramref name="live"/> entries (counted down) are found.</summary>
        private void RetireIndirectOfArray(byte* array, int b, ref long live)
        {
            if (array == null)
            {
                return;
            }

            ulong n = MapMath.BucketShift(b);
            for (ulong j = 0; j < n && live > 0; j++)
            {
                for (byte* c = BucketLayout<TKey, TValue>.Bucket(array, j); c != null; c = BucketLayout<TKey, TValue>.Overflow(c))
                {
                    for (int i = 0; i < MapMath.BucketCnt; i++)
                    {
                        if (BucketLayout<TKey, TValue>.TopHash(c, i) >= MapMath.MinTopHash)
                        {
                            RetireIndirect(c, i);
                            live--;
                        }
                    }
                }
            }
        }

        /// <summary>Retires the old bucket array and every overflow chunk of the old generation.</summary>
        private void RetireOldGeneration()
        {
            RetireBucketMemory(_oldBuckets);
            _oldBuckets = null;
            RetireOverflowList(ref _oldOverflow);
        }

        /// <summary>
        /// Retires every chunk of an ownership list and frees the list's storage (never read by
        /// enumerators or lookups). Newest first: the deferred list runs newest first, so the
        /// release steps free the chunks oldest first, and the C heap takes them into its free
        /// lists rather than trimming its top after every one (the newest chunks lie at the
        /// top). Measured (README's VM, stress scale, 10,000,000 entries): 2,433 → 53 trims
        /// (<c>brk</c> calls that shrink the heap) per build.
        /// </summary>
        private void RetireOverflowList(ref PtrList list)
        {
            for (long k = list.Count - 1; k >= 0; k--)
            {
                RetireBucketMemory(list.Items[k]);
            }

            FreeBlock((byte*)list.Items);
            list = default;
        }

        /// <summary>
        /// Allocates an overflow chunk of at least <paramref name="atLeast"/> buckets for the current
        /// generation and makes it the one <see cref="NewOverflow"/> takes from. Chunks grow with
        /// the generation's overflow count, from 2^B/16 buckets (as many as the array's own
        /// preallocated tail; at least 1) up to <see cref="MaxChunkBuckets"/>: a table filled to
        /// its load factor needs about 2^B/5 overflow buckets, so a growing map makes a few chunks
        /// per generation instead of one per bucket for the first dozen, and a big map a few hundred
        /// chunks instead of a hundred thousand buckets. What is left of the previous chunk stays
        /// owned, unused. Allocates before changing anything.
        /// </summary>
        private void NewOverflowChunk(long atLeast)
        {
            long floor = Math.Max(1, (long)(MapMath.BucketShift(_b) >> 4));
            long n = Math.Max(atLeast, Math.Min(MaxChunkBuckets, Math.Max(floor, _overflowUsed / 4)));
            _overflow.EnsureRoom(this, 1);
            byte* chunk = AllocBlock(BucketLayout<TKey, TValue>.ChunkBytes(n), zero: true, align: 64);
            _work.BucketAllocations++;
            BucketLayout<TKey, TValue>.ChunkCount(chunk) = n;
            _overflow.Add(chunk);
            _chunkNext = BucketLayout<TKey, TValue>.ChunkBucket(chunk, 0);
            _chunkLeft = n;
        }

        /// <summary>
        /// The count at which an insert of a new key must take the slow path (<see cref="_insertSlowAt"/>,
        /// which <see cref="Publish"/> sets): 0 when too many overflow buckets are due a same-size
        /// growth, the prepare point while a next array is due (<see cref="PrepareDue"/>), else
        /// the count that starts the next growth (Go's overLoadFactor(count+1, B)).
        /// </summary>
        private long InsertSlowAt() =>
            MapMath.TooManyOverflowBuckets(_noverflow, _b) ? 0 : PrepareDue() ? PreparePoint() : MapMath.MaxCountBeforeGrowth(_b);

        /// <summary>
        /// With <see cref="GoMapOptions.PrepareGrowthAhead"/>, the count past which an insert
        /// prepares the next growth's array: three quarters of the count that starts the growth.
        /// The growth before ended and its old array was released long before (the growth from
        /// B − 1 starts at half that count and is done within a few percent more inserts), so the
        /// map then holds what the growth will hold at its start (its array and the next), not
        /// more; the lead is a quarter of the count, in which the release thread must fault the
        /// array in: on the README's VM, at 3.4-4 ms per fresh 2 MiB page (see OsMemory), 300-360
        /// ns per insert of that lead for <c>&lt;long,long&gt;</c> (an array of 306 bytes per 2^B
        /// against 1.625 inserts), so a loop of faster inserts overtakes the thread and faults the
        /// rest in itself, as without the option.
        /// </summary>
        /// <remarks>
        /// Tried and not kept (2026-12-03, README's VM): five eighths of the count (a lead of three
        /// eighths). Eight pairs of the quick comparison's <c>gomap-ahead</c> child alone,
        /// alternated: the three-quarter point's slowest insert 0.55-1.95 ms and once 4.07 ms (the
        /// thread overtaken at the growth to 2^16 buckets), five eighths' 0.46-0.72 ms in four
        /// runs but 1.10, 1.54, 2.06 and 4.21 ms in the others, each an insert with no map work
        /// while the thread faulted in an array for longer (the machine floor of those runs was
        /// 0.08-0.11 ms). It also holds the next array over more of each size class.
        /// </remarks>
        private long PreparePoint() => MapMath.MaxCountBeforeGrowth(_b) / 4 * 3;

        /// <summary>
        /// Whether the map is to prepare the next growth's array now or when its count reaches
        /// <see cref="PreparePoint"/>: the option is on, no array is prepared, the map has an
        /// array and does not grow, the release thread runs (it faults the array in), and the
        /// array of <see cref="GrownB"/> is a mapping worth faulting in ahead (2 MiB or more).
        /// </summary>
        private bool PrepareDue()
        {
            if (!_prepareGrowthAhead || _preparedArray != null || _buckets == null || _oldBuckets != null || _b == _prepareRefusedB || !ReleaseThread.Running || !OsMemory.Supported)
            {
                return false;
            }

            ulong? bytes = BucketLayout<TKey, TValue>.ArrayBytes(GrownB(_b));
            return bytes is not null && bytes.Value >= OsMemory.HugePage && bytes.Value <= MapMath.MaxAlloc;
        }

        /// <summary>
        /// Allocates the next growth's array (a new mapping: see <see cref="NativeHeap.Alloc"/>'s
        /// <c>ahead</c>) and has the release thread fault its pages in
        /// (<see cref="NativeHeap.PopulateInBackground"/>). When memory runs out, nothing is
        /// prepared and the insert goes on: it needs no memory of its own, and the growth will
        /// allocate its array as without the option (and throw then, as Go's would). No insert
        /// tries again until B changes (<see cref="_prepareRefusedB"/>): each try would be a
        /// failing system call. Until 2026-12-05 the insert threw, so that under memory pressure
        /// a map with the option refused every new key from three quarters of the count where
        /// the same map without it grows (found by a review of the growth options).
        /// </summary>
        private void PrepareGrowthArray()
        {
            int nb = GrownB(_b);
            byte* array;
            try
            {
                array = NewArrayBlock(BucketLayout<TKey, TValue>.ArrayBytes(nb)!.Value, commit: false, ahead: true);
            }
            catch (OutOfMemoryException)
            {
                _prepareRefusedB = _b;
                return;
            }

            _preparedArray = array;
            _preparedB = nb;
            NativeHeap.PopulateInBackground(array);
        }

        /// <summary>
        /// For <see cref="AllocBucketArray"/>: the prepared array when a growth under the writes
        /// goes to its B (no allocation: the one counted when it was prepared), else null. In
        /// <paramref name="drop"/>, whether the caller must free it once its new array is
        /// allocated: when that array replaces the current one at another size (the prepared B
        /// would no longer be the next growth's); a same-size growth keeps it, after which it
        /// still is. Freed after the allocation, not before, so that an allocation that fails
        /// leaves the map as it was, prepared array included (found by review, 2026-12-05: a
        /// failed EnsureCapacity had dropped it).
        /// </summary>
        private byte* TakePrepared(int b, bool commit, out bool drop)
        {
            byte* p = _preparedArray;
            drop = false;
            if (p == null)
            {
                return null;
            }

            if (b == _preparedB && !commit)
            {
                _preparedArray = null;
                return p;
            }

            drop = b != _b || commit;
            return null;
        }

        /// <summary>Frees the prepared array, if any, at once (no read ever reached it).</summary>
        private void DropPrepared()
        {
            FreeBlock(_preparedArray);
            _preparedArray = null;
        }

        /// <summary>
        /// Go's makeBucketArray: 2^B buckets plus, for B ≥ 4, 2^(B−4) preallocated overflow
        /// buckets, zeroed and cache-line aligned. <paramref name="commit"/>: the caller sized the
        /// map (a capacity hint, EnsureCapacity, a load from a stream that can seek), so a big
        /// array is populated now, in huge pages, and no write after faults in it. Otherwise (a
        /// growth under the writes, or a load from a stream that cannot seek) fresh pages are not
        /// touched here (when the reuse cache holds a whole array of its size, of at most 32 MiB,
        /// that one is taken and cleared instead: see NativeHeap.GrowthCacheMaxMapping): a big
        /// array is a mapping of its own, in huge pages that the writes fault
        /// in as they first touch them, or with <see cref="GoMapOptions.SmallPagesForGrowth"/> in
        /// base pages that the release thread populates ahead of the writes when
        /// <paramref name="populateAhead"/> (the load from an unmeasured stream passes false), for
        /// arrays of 2 MiB and more, with the thread running, and that a growth's evacuations
        /// fault in a chunk at a time where they get there first (<see cref="FaultInDestinations"/>;
        /// another write that does takes one small fault). An array under NativeHeap.MappedThreshold is a zeroed block of
        /// the C heap (calloc, or for a small one malloc and a clear: NativeHeap.HeapAllocZeroed).
        /// </summary>
        private byte* AllocBucketArray(int b, bool commit, out byte* nextOverflow, bool populateAhead = true)
        {
            ulong? bytes = BucketLayout<TKey, TValue>.ArrayBytes(b);
            if (bytes is null || bytes.Value > MapMath.MaxAlloc)
            {
                ThrowHelper.ThrowOutOfMemory($"A bucket array for B = {b} cannot be addressed.");
            }

            byte* array = TakePrepared(b, commit, out bool dropPrepared); // allocated and faulted in already
            if (array == null)
            {
                array = NewArrayBlock(bytes.Value, commit);
                if (dropPrepared)
                {
                    DropPrepared();
                }

                if (!commit && populateAhead && _smallPagesForGrowth)
                {
                    NativeHeap.PopulateInBackground(array); // ahead of the writes that fill it
                }
            }

            nextOverflow = InitBucketArray(array, b);
            return array;
        }

        /// <summary>
        /// The block of a bucket array of <paramref name="bytes"/> (zeroed, cache-line aligned,
        /// in base pages for a growth with <see cref="GoMapOptions.SmallPagesForGrowth"/>, then with
        /// a touch map for the growth's evacuations: <see cref="FaultInDestinations"/>), counted
        /// as a bucket allocation: for <see cref="AllocBucketArray"/> and, with
        /// <paramref name="ahead"/>, <see cref="PrepareGrowthArray"/>.
        /// </summary>
        private byte* NewArrayBlock(ulong bytes, bool commit, bool ahead = false)
        {
            byte* array = AllocBlock(bytes, zero: true, align: 64, commit, smallPages: _smallPagesForGrowth, ahead, touchMap: _smallPagesForGrowth);
            _work.BucketAllocations++;
            return array;
        }

        /// <summary>
        /// The first preallocated overflow bucket of a zeroed array, or null when B &lt; 4. Go
        /// marks the tail's last bucket with a sentinel overflow pointer (the array start); this
        /// writes nothing: <see cref="NewOverflow"/> knows the last one by its address. The
        /// sentinel's store touched the array's last page at every growth start, for a bucket
        /// that is used last if at all: one more page fault in the write that starts the growth
        /// (a base page, since a mapping's partial last 2 MiB is not a huge page: about 15 µs on
        /// the VM of the README's figures) and a page resident for nothing.
        /// </summary>
        private static byte* InitBucketArray(byte* array, int b)
        {
            ulong regular = MapMath.BucketShift(b);
            return MapMath.ArrayBucketCount(b) == regular ? null : BucketLayout<TKey, TValue>.Bucket(array, regular);
        }

        /// <summary>
        /// Frees everything the map owns, at once. Runs from Dispose (holding the structural right,
        /// nothing else running) or from its guard's finalizer (nobody else can reach the map:
        /// FinalizerGuard.cs).
        /// Idempotent: every pointer is nulled. <paramref name="toCache"/> false (the finalizer)
        /// keeps the bucket arrays out of the process's reuse cache, which would hand them to the
        /// next map of their size: a map becomes unreachable while a ref into it may still be in
        /// use (a ref into native memory does not keep the map alive). A review found it: with the
        /// array cached, writes through such refs corrupted the next maps of the same capacity,
        /// which took it. Freed past the cache, the array is unmapped (or its pages discarded), as
        /// the map's other blocks are freed; the system may still map those addresses again
        /// later, and blocks of the C heap go back to it either way, so only keeping the map
        /// reachable makes such a ref safe (the README, "Different from <c>Dictionary&lt;TKey,TValue&gt;</c>", on refs).
        /// </summary>
        private void FreeAll(bool toCache)
        {
            // No enumerator can step again (they check the disposed flag), so nothing is deferred
            // now. Fast slots' claim words stay as they are: an enumerator's end after this sees
            // the flag and leaves the (freed) table alone.
            _reg.Live = 0;
            RetireAllIndirect();
            RetireOldGeneration();
            RetireOverflowList(ref _overflow);
            _chunkNext = null;
            _chunkLeft = 0;
            _spareOverflow = null;
            _spareCount = 0;
            FreeBlockOrCache(_buckets, toCache);
            _buckets = null;
            _nextOverflow = null;
            DropPrepared();
            byte* deferred = _deferred;
            _deferred = null;
            FreeChain(deferred, toCache);
            byte* queued = _releaseQueue;
            _releaseQueue = null;
            FreeChain(queued, toCache);
            FreeParked(all: true);

            // Under the registration lock: an enumerator's Dispose or start on another thread
            // (misuse) that took it before the disposed flag was set writes into the locked table
            // until it lets go; after that it sees the flag. A fast slot's claim or end on another
            // thread that read the flags before they said disposed writes into the fast table
            // until its claim word settles (WaitForClaims); later ones see the flag. (The first
            // found by a review of the protocol.)
            EnterIterLock();
            try
            {
                if (_fastIterSlots != null)
                {
                    WaitForClaims();
                    FreeBlock((byte*)_fastIterSlots);
                    _fastIterSlots = null;
                }

                FreeBlock((byte*)_iterSlots);
                _iterSlots = null;
                _iterSlotCount = 0;
                for (byte* p = _oldIterSlots; p != null;)
                {
                    byte* next = NativeHeap.Next(p);
                    FreeBlock(p);
                    p = next;
                }

                _oldIterSlots = null;
            }
            finally
            {
                ExitIterLock();
            }

            _count = 0;
            _b = 0;
            _prepareRefusedB = -1;
            _table = 0;
            _oldTable = 0;
            _quietTable = 0;
            _plainReadTable = 0;
            _plainWriteTable = 0;
        }

        /// <summary>
        /// A growable native array of pointers: an ownership list (Go's mapextra.overflow). Room
        /// is made before an item is needed, so adding never fails.
        /// </summary>
        private struct PtrList
        {
            internal byte** Items;
            internal long Count;
            internal long Capacity;

            /// <summary>Makes room for <paramref name="extra"/> more items; may throw <see cref="OutOfMemoryException"/>, changing nothing.</summary>
            internal void EnsureRoom(GoMap<TKey, TValue> owner, long extra)
            {
                if (Count + extra <= Capacity)
                {
                    return;
                }

                long capacity = Math.Max(Math.Max(Capacity * 2, 16), Count + extra);
                byte** items = (byte**)owner.AllocBlock((ulong)capacity * (ulong)sizeof(byte*), zero: false);
                if (Count != 0)
                {
                    Buffer.MemoryCopy(Items, items, capacity * sizeof(byte*), Count * sizeof(byte*));
                }

                owner.FreeBlock((byte*)Items);
                Items = items;
                Capacity = capacity;
            }

            /// <summary>Appends; room must have been made.</summary>
            internal void Add(byte* p)
            {
                if (Count == Capacity)
                {
                    ThrowHelper.ThrowBadMapState("ownership list has no room");
                }

                Items[Count++] = p;
            }
        }
    }
}
