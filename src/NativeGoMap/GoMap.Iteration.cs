using System;
using System.Threading;
using System.Collections;
using System.Collections.Generic;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NativeGoMap
{
    // Iteration: Go's hiter, mapiterinit and mapiternext, plus the registration that keeps
    // retired memory alive for enumerators (see GoMap.Memory.cs for the rule).
    public sealed unsafe partial class GoMap<TKey, TValue>
    {
        private const ulong NoCheck = ulong.MaxValue; // Go's noCheck: the bucket being walked needs no filtering
        private const int GroupBuckets = 8; // regular buckets per group of the inline walk: one 64-bit mask holds their slots
        private const long NotFast = -1; // Enumerator._fastEpoch while the inline walk is off: an epoch (IterSlot.Epoch) counts up from 0 and never gets there
        private const int FastIterSlots = 4; // registration slots claimed without the lock (RegisterIterator), one claim word each in IterRegistration
        private const long ClaimStateMask = 3; // a claim word's state bits; the bits above count the slot's registrations (generations)
        private const long ClaimFree = 0, ClaimClaiming = 1, ClaimRegistered = 2, ClaimReleasing = 3; // a claim word's states; Registered, with its generation, is the ticket
        private const long ClaimNextFree = 4; // from a generation's Free word to the next generation's
        private const int WalkPrefetchMinBucketBytes = 192; // Enumerator.WalkPrefetchAhead: buckets of three lines (192 bytes) or more (<int,Entity64>'s 560, <Guid,long>'s 208; not <long,long>'s 144)
        private const ulong WalkPrefetchMinArrayBytes = 32UL << 20; // Enumerator.WalkPrefetchAhead: arrays over this size (on the README's VM an 18 MB one lost to the prefetches, a 37 MB one gained)
        private const int WalkPrefetchMinDistance = 8 << 10; // Enumerator.WalkPrefetchAhead: whole groups, at least two, reaching at least this far ahead (<int,Entity64>: 2 groups, 8,960 bytes; <Guid,long>: 5, 8,320)

        /// <summary>
        /// Starts an enumeration (Go's <c>for k, v := range m</c>). Cost: O(1) for an empty map
        /// (nothing registered); else a registration: one compare-and-swap on a claim word of its
        /// own while at most four enumerators of the map are live (its end is another), so that
        /// enumerations on different threads do not contend; beyond four, under a lock with a scan
        /// of a second registration table (its end takes the lock again). The first registration
        /// of a map allocates the first table (256 bytes), the fifth live one the second, which
        /// doubles when more enumerators are live than it holds; all are kept until
        /// <see cref="Dispose"/>. While any enumerator is registered, memory that
        /// writes retire is kept (see the remarks), a small table's growth is evacuated a few
        /// buckets per write as in Go rather than in one write, the indirect key and value blocks
        /// of removed entries are freed later, and <see cref="Clear"/> marks every bucket empty.
        /// An enumerator registers when it is made and unregisters when it reaches the end or is
        /// disposed (<c>foreach</c> does both): one left unfinished and undisposed keeps that
        /// memory until the map is disposed, unlike a <c>Dictionary</c> enumerator, which needs
        /// no disposal. A whole walk reads every bucket, O(2^B plus the overflow buckets), as Go's
        /// does, not O(<see cref="Count"/>): a map presized for far more than it holds walks
        /// slowly (1,000 entries under a capacity of 1,000,000: about 3 ms a walk on the
        /// README's VM; <see cref="TrimExcess()"/> brings B down to the count).
        /// </summary>
        /// <remarks>
        /// Go's semantics: the walk starts at a random bucket and slot offset, so two enumerations
        /// of the same map usually differ in order (reproducible with <see cref="GoMapOptions.Seed"/>).
        /// Every entry present for the whole enumeration is yielded exactly once; an entry removed
        /// before it is reached is not yielded; an entry added during the enumeration may or may
        /// not be yielded, never twice (a key removed and added back is a new entry: it may be
        /// yielded again after it was yielded once, as in Go). Writes during an enumeration are
        /// allowed between its steps (updates, inserts, removes, growth, <see cref="Clear"/>: no entry that existed
        /// before a clear is yielded after it), from the same thread or from any thread whose write
        /// is ordered with the steps (a lock, or an <c>await</c> in the loop that resumes elsewhere):
        /// nothing in an enumerator is tied to a thread. Memory the map retires while an enumerator is live
        /// is kept until the last live enumerator finishes or is disposed; an abandoned enumerator
        /// holds it until <see cref="Dispose"/>. A write from another thread during a step throws
        /// <see cref="ConcurrentMapAccessException"/> ("concurrent map iteration and map write").
        /// </remarks>
        /// <returns>A struct enumerator; <c>foreach</c> over the map allocates nothing.</returns>
        /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
        /// <exception cref="ConcurrentMapAccessException">A write is running on another thread, or
        /// an earlier race was detected (the map is poisoned).</exception>
        /// <exception cref="OutOfMemoryException">The registration table could not be allocated (any
        /// first enumeration of a non-empty map) or doubled.</exception>
        public Enumerator GetEnumerator() => new Enumerator(this, ordered: false);

        /// <summary>
        /// What <see cref="StartEnumeration"/> hands the enumerator's constructor: the
        /// registration (slot and ticket), the array and B as one word, the start's random bits,
        /// and whether the inline walk is armed, with the state word and epoch it compares.
        /// </summary>
        private readonly struct EnumerationStart
        {
            internal EnumerationStart(int slot, ulong ticket, nuint table, ulong random, ulong clearSeq, bool armed, long state, long* epochWord, long epoch)
            {
                Slot = slot;
                Ticket = ticket;
                Table = table;
                Random = random;
                ClearSeq = clearSeq;
                Armed = armed;
                State = state;
                EpochWord = epochWord;
                Epoch = epoch;
            }

            internal readonly ulong Ticket;    // 0: not registered (an empty map's enumerator)
            internal readonly nuint Table;     // the array and B from one word (_table's form); 0 for an empty map
            internal readonly ulong Random;    // the start bucket's and slot offset's bits
            internal readonly ulong ClearSeq;  // the map's clear count at the start
            internal readonly long State;      // the state word the armed walk compares
            internal readonly long* EpochWord; // the epoch the armed walk compares (IterRegistration.IdleEpochWord when not registered or not armed)
            internal readonly long Epoch;      // *EpochWord as read after the registration (read only when Armed)
            internal readonly int Slot;
            internal readonly bool Armed;      // the first MoveNext may take the inline walk
        }

        /// <summary>
        /// The work of Go's mapiterinit for <see cref="Enumerator"/>'s constructor, which sets
        /// the fields from what this returns: checks the map, registers the enumerator (not for
        /// an empty map), and reads B, the array and the start between the state word's checks.
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private EnumerationStart StartEnumeration(bool ordered)
        {
            CheckUsable();
            if (_count == 0)
            {
                // Go's mapiterinit: nothing to walk, nothing to register. On a Go-mode map the
                // first MoveNext ends in line, unregistered (no ticket), while the map is not
                // written or disposed; else its slow step does (MoveNextSlow). Its epoch word is
                // the idle one, which never changes: its end checks the flags itself.
                long* idle = IterRegistration.IdleEpochWord;
                bool plain = TryBeginPlainRead(out long state);
                return new EnumerationStart(0, 0, 0, 0, 0, plain, state, idle, *idle);
            }

            int slot = RegisterIterator(out ulong ticket, out long* epochWord, out long epoch, out ulong random); // the epoch before the flags (BeginRead), as in MoveNextSlow

            // B and the array come from one word, and the start bucket from that same B: a
            // write racing this start (misuse) can then at worst be detected, never send the
            // walk past the end of the array.
            // A throw from either check ends the registration.
            long token;
            nuint table, oldTable;
            ulong r, clearSeq;
            try
            {
                token = BeginRead(GoMessages.ConcurrentIterationWrite);
                table = Volatile.Read(ref _table);
                oldTable = _oldTable;
                r = ordered ? OrderedStart(token & ~TokenAnnounced) : random;
                clearSeq = _clearSeq;
                EndRead(token, GoMessages.ConcurrentIterationWrite);
            }
            catch
            {
                UnregisterIterator(slot, ticket);
                throw;
            }

            if (BucketLayout<TKey, TValue>.TableArray(table) == null)
            {
                // A write on another thread (misuse) emptied the map and dropped its array after
                // the count's test and ended before the state check: nothing to walk. The
                // enumerator starts done, and neither its end nor its Dispose would release a
                // registration (found by review, 2026-12-07: every block the map retired afterwards was
                // kept until its Dispose).
                UnregisterIterator(slot, ticket);
                slot = 0;
                ticket = 0;
            }

            // No growth runs: the first MoveNext may take the inline walk from the start bucket,
            // while no registration ends and nothing is written, as after a slow step (see
            // MoveNextSlow's epoch). MoveNext also wraps and ends in line. Before (2026-12-04),
            // the first step, the wrap and the end each went through SlowStep, whose 432-byte
            // copies in and out were a quarter of a 16-entry enumeration's perf samples: 16-entry
            // <long,long> enumerations 150-157 → 62-67 ns, 1,000 entries 1,118-1,145 →
            // 970-1,063 ns (probe and quick comparison, alternated processes). The end's call
            // costs the hot step three register moves where the paths join (20 instructions
            // instead of 17), not seen in 1,000- or 1,000,000-entry walks.
            bool armed = BucketLayout<TKey, TValue>.TableArray(table) != null && oldTable == 0 && (_flags & FlagStrict) == 0;
            return new EnumerationStart(slot, ticket, table, r, clearSeq, armed, token & ~TokenAnnounced, armed ? epochWord : IterRegistration.IdleEpochWord, epoch);
        }

        /// <summary>
        /// Takes the registration lock: a map's first registration (which allocates the fast slots'
        /// table), registrations beyond the fast slots and their ends, the locked table's walk
        /// epochs' bumps (IterSlot.Epoch) and SetFlag's, the deferred list's promotion and
        /// Dispose's release of the registration tables. A compare-and-swap on
        /// <see cref="IterRegistration.Lock"/>, spinning (and then yielding) while another thread holds it;
        /// not reentrant. Its holders run a few dozen instructions, an allocation at most.
        /// </summary>
        /// <remarks>
        /// A <c>lock</c> statement on an object before (2026-12-04): in a perf profile of
        /// 16-entry maps enumerated in a loop, the runtime's monitor enter and exit took about
        /// 28 % of the time, against Dictionary's enumeration that registers nothing.
        /// </remarks>
        private void EnterIterLock()
        {
            if (Interlocked.CompareExchange(ref _reg.Lock, 1, 0) != 0)
            {
                EnterIterLockContended();
            }
        }

        /// <summary><see cref="EnterIterLock"/> when another thread holds the lock.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private void EnterIterLockContended()
        {
            var spin = default(SpinWait);
            while (Volatile.Read(ref _reg.Lock) != 0 || Interlocked.CompareExchange(ref _reg.Lock, 1, 0) != 0)
            {
                spin.SpinOnce();
            }
        }

        /// <summary>Releases the registration lock (<see cref="EnterIterLock"/>).</summary>
        private void ExitIterLock() => Volatile.Write(ref _reg.Lock, 0);

        /// <summary>
        /// Registers an enumerator; returns its slot and ticket, its slot's epoch word and value
        /// (read after the claim: a later end, flag or doubling bumps that word) and a random
        /// word for its start. Slots 0 to <see cref="FastIterSlots"/> - 1 are claimed without the
        /// lock, each by a compare-and-swap on its own claim word (<see cref="IterRegistration"/>),
        /// starting from one that depends on the thread, so that enumerations on different
        /// threads write different cache lines and nothing else; the rest, and the first
        /// registration of a map (which allocates the fast slots' table), go through the lock
        /// (<see cref="RegisterLocked"/>).
        /// </summary>
        /// <remarks>
        /// Measured (2026-12-04, README's VM, 16-entry <c>&lt;long,long&gt;</c> map, probe, best
        /// of three rounds, alternated processes): with every registration under the lock,
        /// enumerations on two threads at once took 226-366 ns each (the lock, the live count,
        /// the ticket counter and the random state share one line, which each thread took twice
        /// per enumeration); with the claim words, 64-74 ns, against 57-64 on one thread (57-62
        /// before: within the noise). Threads first took their slot from their managed id,
        /// Fibonacci-hashed: a call, and two threads whose ids met on one slot read each other's
        /// claim word at every start (166-189 ns in such rounds); hence IterSlotHint, whose turns
        /// meet again every fourth thread: such a round took 148-178 ns until a thread that finds
        /// its slot taken moved to the one it got (63 ns; six rounds, a new thread each). The claim
        /// words grow the map object by 192 bytes (600 to 792), which made making and disposing an
        /// empty map 82-93 → 94-110 ns (the same padding alone in the older code: 95-106).
        /// </remarks>
        private int RegisterIterator(out ulong ticket, out long* epochWord, out long epoch, out ulong random, bool drawStart = true)
        {
            IterSlot* fast = _fastIterSlots;
            if (fast != null)
            {
                int k = ClaimFastSlot(out long w);
                if (k >= 0)
                {
                    return FinishClaim(fast, k, w, out ticket, out epochWord, out epoch, out random, drawStart);
                }
            }

            return RegisterLocked(out ticket, out epochWord, out epoch, out random, drawStart);
        }

        /// <summary>
        /// Claims a free fast slot (its word goes from Free to Claiming), starting at the thread's
        /// (<see cref="FastSlotHint"/>); returns it and its word before the claim, or −1 when all
        /// four are taken. A thread whose first slot was taken starts at the one it got next time.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private int ClaimFastSlot(out long w)
        {
            int start = FastSlotHint();
            for (int j = 0; j < FastIterSlots; j++)
            {
                int k = (start + j) & (FastIterSlots - 1);
                ref long claim = ref ClaimWord(k);
                w = Volatile.Read(ref claim);
                if ((w & ClaimStateMask) == ClaimFree && Interlocked.CompareExchange(ref claim, w + ClaimClaiming, w) == w)
                {
                    if (j != 0)
                    {
                        IterSlotHint.Current = 4 + k; // its first slot was taken: start here next time
                    }

                    return k;
                }
            }

            w = 0;
            return -1;
        }

        /// <summary>
        /// The fast slot a thread tries first (<see cref="IterSlotHint"/>): the first four threads
        /// of the process that enumerate a map start at four different slots.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static int FastSlotHint()
        {
            int hint = IterSlotHint.Current;
            return hint != 0 ? hint : IterSlotHint.Assign();
        }

        /// <summary>
        /// Completes the claim of fast slot <paramref name="k"/> (its word <paramref name="w"/>
        /// before the claim, now Claiming): gives it up and throws when the map is disposed or
        /// poisoned, else sets its boundary, reads its epoch, draws its random word and marks it
        /// Registered, which is the ticket. Dispose waits while a claim word is Claiming or
        /// Releasing (<see cref="WaitForClaims"/>) before it frees the table, and the flags are read
        /// after the claim's compare-and-swap: a claim that saw no flag finishes its writes to the
        /// table before the table is freed, and one that came later sees the flag.
        /// </summary>
        private int FinishClaim(IterSlot* fast, int k, long w, out ulong ticket, out long* epochWord, out long epoch, out ulong random, bool drawStart)
        {
            ref long claim = ref ClaimWord(k);
            int flags = Volatile.Read(ref _flags);
            if ((flags & (FlagPoisoned | FlagDisposed)) != 0)
            {
                Volatile.Write(ref claim, w + ClaimNextFree);
                ThrowIfDisposedOrPoisoned(flags); // throws for either flag
            }

            IterSlot* slot = &fast[k];

            // Everything already deferred was unreachable before this enumerator started: it
            // never waits on this enumerator (see Promote in GoMap.Memory.cs).
            slot->Boundary = _deferred;
            epochWord = &slot->Epoch;
            epoch = Volatile.Read(ref slot->Epoch);
            random = drawStart ? Hasher.SplitMix(ref slot->Rng) : 0;
            ticket = (ulong)(w + ClaimRegistered);
            Volatile.Write(ref claim, w + ClaimRegistered);
            return k;
        }

        /// <summary>
        /// <see cref="RegisterIterator"/> under the lock: allocates the fast slots' table on a
        /// map's first registration and claims one of them, or, when all are taken, a slot of the
        /// locked table (numbered from <see cref="FastIterSlots"/> on), which it allocates and
        /// doubles as needed.
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private int RegisterLocked(out ulong ticket, out long* epochWord, out long epoch, out ulong random, bool drawStart)
        {
            EnterIterLock();
            try
            {
                CheckUsable();
                if (_fastIterSlots == null)
                {
                    IterSlot* fast = (IterSlot*)AllocBlock((ulong)FastIterSlots * (ulong)sizeof(IterSlot), zero: true, align: 64); // a slot per line
                    // One seed for all: which slot a thread takes depends on the process's
                    // threads, the walk's start must not (GoMapOptions.Seed); and one fixed when
                    // the map was made, so that the starts do not depend on which registration
                    // came first (a WriteTo's draws none).
                    for (int k = 0; k < FastIterSlots; k++)
                    {
                        fast[k].Rng = _reg.IterSeed;
                    }

                    // The seeds before the pointer, as the doubling's copy below.
                    Interlocked.MemoryBarrier();
                    _fastIterSlots = fast;
                }

                int fastSlot = ClaimFastSlot(out long w); // as RegisterIterator's, so that a map's first enumeration takes the thread's slot too
                if (fastSlot >= 0)
                {
                    return FinishClaim(_fastIterSlots, fastSlot, w, out ticket, out epochWord, out epoch, out random, drawStart);
                }

                int free = -1;
                for (int k = 0; k < _iterSlotCount; k++)
                {
                    if (_iterSlots[k].Ticket == 0)
                    {
                        free = k;
                        break;
                    }
                }

                if (free < 0)
                {
                    int n = Math.Max(4, _iterSlotCount * 2);
                    IterSlot* slots = (IterSlot*)AllocBlock((ulong)n * (ulong)sizeof(IterSlot), zero: true, align: 64); // a slot per line
                    if (_iterSlotCount != 0)
                    {
                        Buffer.MemoryCopy(_iterSlots, slots, (long)n * sizeof(IterSlot), (long)_iterSlotCount * sizeof(IterSlot));
                    }

                    // Another thread's enumerator may be reading the old table right now (it loads
                    // _iterSlots without this lock), so the table is kept until Dispose, on a list
                    // that only this lock and Dispose touch. Not on the deferred list: writers own
                    // that one, and a registration is not a write (one racing a writer would push
                    // to it at the same time). The tables double, so the kept ones together are
                    // smaller than the current one.
                    if (_iterSlots != null)
                    {
                        NativeHeap.Next((byte*)_iterSlots) = _oldIterSlots;
                        _oldIterSlots = (byte*)_iterSlots;
                    }
                    free = _iterSlotCount;

                    // The copied tickets before the pointer (a native pointer's store has no release
                    // order of its own): on a weakly ordered CPU (ARM64) an enumerator on another
                    // thread could otherwise see the new table with zero tickets and throw
                    // "enumerator ended" (found by review; x64 keeps stores in order).
                    Interlocked.MemoryBarrier();
                    IterSlot* outgrown = _iterSlots;
                    _iterSlots = slots;

                    // After the new table's pointer (the bumps' release stores order it first):
                    // the walks that compare an epoch in the outgrown table take a checked step,
                    // which finds their slot in the new one (MoveNextSlow).
                    BumpEpochs(outgrown, _iterSlotCount);
                    _iterSlotCount = n;
                }

                // As FinishClaim's boundary.
                ticket = ++_reg.NextTicket;
                _iterSlots[free].Ticket = ticket;
                _iterSlots[free].Boundary = _deferred;
                _reg.Live++;
                epochWord = &_iterSlots[free].Epoch;
                epoch = *epochWord;
                random = drawStart ? NextRandom() : 0;
                return FastIterSlots + free;
            }
            finally
            {
                ExitIterLock();
            }
        }

        /// <summary>
        /// Ends a registration, once (copies of an enumerator share it). Memory it kept becomes
        /// releasable: the next writes release it, a bounded piece each (GoMap.Memory.cs).
        /// </summary>
        /// <remarks>
        /// Not inlined: its lock is a try/finally, and inlined into Enumerator.Dispose it sat in
        /// the finally of every foreach, where the JIT does not clone a finally that holds
        /// another one onto the loop's normal exit. The foreach's locals (its sum, say) were then
        /// live into a handler, so stored to the stack at every step (seen in the disassembly of
        /// the quick comparison's iterate loop).
        /// </remarks>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private void UnregisterIterator(int slot, ulong ticket)
        {
            if (slot < FastIterSlots)
            {
                UnregisterFast(slot, (long)ticket);
                return;
            }

            slot -= FastIterSlots;
            EnterIterLock();
            try
            {
                if ((Volatile.Read(ref _flags) & FlagDisposed) != 0 || slot >= _iterSlotCount || _iterSlots[slot].Ticket != ticket)
                {
                    return;
                }

                _iterSlots[slot].Ticket = 0;
                _iterSlots[slot].Boundary = null;
                // After the ticket is cleared (see MoveNextSlow), and a plain store: every bump
                // of a locked slot's epoch is made under this lock (SetFlag's and the doubling's
                // too), so none is lost. (Interlocked here was one of an enumeration's three
                // locked instructions, about 6 ns each on the README's VM.) The slot's own epoch,
                // not one the map's every walk compares: before (2026-12-04), each enumeration's
                // end sent every other live enumerator of the map through a checked step, and took
                // the line they all read away from the other threads' walks.
                BumpEpochs(&_iterSlots[slot], 1);
                _reg.Live--;
                RaiseReclaimAfterEnd();
            }
            finally
            {
                ExitIterLock();
            }
        }

        /// <summary>
        /// <see cref="UnregisterIterator"/> for fast slot <paramref name="k"/>, without the lock: the
        /// claim word goes from the ticket to Releasing (a compare-and-swap: a copy that ended the
        /// registration already, or a later registration of the slot, makes it fail), the slot's
        /// boundary is cleared and its epoch bumped unless the map is disposed (whose Dispose
        /// waits for a Releasing word before it frees the table, see <see cref="FinishClaim"/>),
        /// and the word becomes Free for the next generation.
        /// </summary>
        /// <remarks>
        /// The epoch's bump is a plain store, though SetFlag bumps it too (under the lock, with an
        /// interlocked increment) and one of two racing bumps may be lost. Only the walks of this
        /// registration and its copies compare this epoch (a later registration of the slot reads
        /// it after this end, when the word is Free again), and either bump changes the value
        /// they armed with. A walk that armed with the value SetFlag stored read it after the
        /// flag, which SetFlag sets before it bumps; such a walk sees the flag and does not arm.
        /// </remarks>
        private void UnregisterFast(int k, long ticket)
        {
            ref long claim = ref ClaimWord(k);
            if (Volatile.Read(ref claim) != ticket || Interlocked.CompareExchange(ref claim, ticket + (ClaimReleasing - ClaimRegistered), ticket) != ticket)
            {
                return;
            }

            if ((Volatile.Read(ref _flags) & FlagDisposed) == 0)
            {
                IterSlot* slot = &_fastIterSlots[k];
                slot->Boundary = null;
                Volatile.Write(ref slot->Epoch, slot->Epoch + 1);
                RaiseReclaimAfterEnd();
            }

            Volatile.Write(ref claim, ticket - ClaimRegistered + ClaimNextFree);
        }

        /// <summary>
        /// After a registration ended: when memory waits on the deferred list, the next write
        /// promotes what no live enumerator can reach any more.
        /// </summary>
        private void RaiseReclaimAfterEnd()
        {
            if (_deferred != null)
            {
                // Raise the slow-write flag, never recompute it here: this thread may run while a
                // writer changes the fields the flag summarizes (misuse), and a recomputation
                // from stale reads could clear it during a growth. A flag left raised with
                // nothing pending costs the next write one slow path (see Validate).
                _reclaimPending = true;
                Volatile.Write(ref _slowWrites, 1);
                Volatile.Write(ref _plainWriteTable, (nuint)0);
            }
        }

        /// <summary>The claim word of fast registration slot <paramref name="k"/> (<see cref="IterRegistration.Claim0"/> and the three after it, a line apart).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private ref long ClaimWord(int k) => ref Unsafe.Add(ref _reg.Claim0, k * IterRegistration.ClaimStride);

        /// <summary>Whether a fast slot is claimed, being claimed or being released: any claim word not Free.</summary>
        private bool AnyFastClaim() =>
            _fastIterSlots != null
            && ((Volatile.Read(ref ClaimWord(0)) | Volatile.Read(ref ClaimWord(1)) | Volatile.Read(ref ClaimWord(2)) | Volatile.Read(ref ClaimWord(3))) & ClaimStateMask) != 0;

        /// <summary>
        /// Whether any enumerator is registered (or a fast slot is between states): while true,
        /// memory that writes retire is deferred.
        /// </summary>
        private bool AnyLiveIterators() => _reg.Live != 0 || AnyFastClaim();

        /// <summary>Registered enumerators: the locked table's count and the fast slots claimed.</summary>
        private int LiveIteratorCount()
        {
            int n = _reg.Live;
            if (_fastIterSlots != null)
            {
                for (int k = 0; k < FastIterSlots; k++)
                {
                    n += (Volatile.Read(ref ClaimWord(k)) & ClaimStateMask) != ClaimFree ? 1 : 0;
                }
            }

            return n;
        }

        /// <summary>
        /// Dispose's wait before it frees the fast slots' table: until no claim word is Claiming or
        /// Releasing (a registration or an end on another thread that read the flags before they
        /// said disposed writes into the table until it is done). The disposed flag is set.
        /// </summary>
        private void WaitForClaims()
        {
            var spin = default(SpinWait);
            for (int k = 0; k < FastIterSlots; k++)
            {
                while (true)
                {
                    long state = Volatile.Read(ref ClaimWord(k)) & ClaimStateMask;
                    if (state != ClaimClaiming && state != ClaimReleasing)
                    {
                        break;
                    }

                    spin.SpinOnce();
                }
            }
        }

        /// <summary>
        /// The table and index of registration slot <paramref name="slot"/> as enumerators number
        /// them (fast slots first, then the locked table's), or null when the map has no such
        /// table (disposed).
        /// </summary>
        private IterSlot* RegistrationTable(int slot, out int index)
        {
            if (slot < FastIterSlots)
            {
                index = slot;
                return _fastIterSlots;
            }

            index = slot - FastIterSlots;
            return index < _iterSlotCount ? _iterSlots : null;
        }

        /// <summary>Whether registration <paramref name="ticket"/> still holds slot <paramref name="slot"/> (numbered as <see cref="RegistrationTable"/> numbers them).</summary>
        private bool RegistrationHolds(int slot, ulong ticket)
        {
            if (slot < FastIterSlots)
            {
                return Volatile.Read(ref ClaimWord(slot)) == (long)ticket;
            }

            IterSlot* table = RegistrationTable(slot, out int index);
            return table != null && table[index].Ticket == ticket;
        }

        /// <summary>
        /// Bumps the walk epochs of <paramref name="count"/> registration slots from
        /// <paramref name="slots"/> on (IterSlot.Epoch), each with a release store: a walk that
        /// compares one of them takes a checked step. Under the registration lock only, so that
        /// no bump is lost (an end, SetFlag, a doubling).
        /// </summary>
        private static void BumpEpochs(IterSlot* slots, int count)
        {
            for (int k = 0; k < count; k++)
            {
                Volatile.Write(ref slots[k].Epoch, slots[k].Epoch + 1);
            }
        }

        /// <summary>
        /// Go's mapiternext: advances <paramref name="it"/> to the next entry, or returns false at
        /// the end, for a read that began with <paramref name="token"/>. A bucket's tophash word
        /// is read once and its candidate slots taken from a bit mask (in the enumeration's
        /// rotated slot order); when the rest of a bucket holds only ordinary live entries, the
        /// mask is left in the enumerator so that, while the map is not written (but in place:
        /// <see cref="EndWrite(long)"/>, updates, inserts and removals that move nothing), the next steps read only the entries and, group by group, the tophash words of the buckets after it
        /// (<see cref="Enumerator.MoveNext"/>). User code it runs (a comparer, a key's hash or
        /// equality) may throw; the caller then ends the read (MoveNextSlow's catch): nothing
        /// here withdraws it.
        /// </summary>
        private bool IterNext(ref Enumerator it, long token)
        {
            ulong bucket = it._bucket;
            byte* b = it._bptr;
            int i = it._i;
            ulong checkBucket = it._checkBucket;
            if (it._clearSeq != _clearSeq)
            {
                // The map was cleared since the last step. Nothing left in the chain being walked
                // existed before the clear, and its buckets may since have been reused in another
                // chain: leave the chain (and the old chains of its group) and go on with the next
                // bucket.
                it._clearSeq = _clearSeq;
                b = null;
                it._groupLeft = 0;
            }

            while (true)
            {
                if (b == null && it._groupLeft != 0)
                {
                    // Walking the old chains a shrink merges into one new bucket: the next of them.
                    b = BucketLayout<TKey, TValue>.Bucket(it._groupArray, it._groupNext);
                    it._groupNext += MapMath.BucketShift(it._b);
                    it._groupLeft--;
                    i = 0;
                }

                if (b == null)
                {
                    if (bucket == it._startBucket && it._wrapped)
                    {
                        return false;
                    }

                    nuint table = Volatile.Read(ref _table);
                    nuint oldTable = _oldTable;
                    checkBucket = NoCheck;
                    it._onOld = false;
                    if (oldTable != 0 && BucketLayout<TKey, TValue>.TableArray(table) == it._buckets)
                    {
                        // The enumeration started in the middle of a growth that is not done (it
                        // walks the growth's new array; retired memory outlives the enumeration,
                        // so no other array can have its address). If the old buckets feeding
                        // this one are not evacuated yet, walk them instead.
                        int oldB = BucketLayout<TKey, TValue>.TableB(oldTable);
                        byte* oldArray = BucketLayout<TKey, TValue>.TableArray(oldTable);
                        b = BucketLayout<TKey, TValue>.Bucket(oldArray, bucket & MapMath.BucketMask(Math.Min(oldB, it._b)));
                        if (!MapMath.Evacuated(*b))
                        {
                            // Decide the kind now: another growth may follow before the walk is
                            // done. A doubling (or a growth of several levels) splits an old chain
                            // between new buckets; a shrink merges a group of old chains into
                            // this one: walk them all. Either way, and for a same-size growth,
                            // yield only the keys that hash to this new bucket. For a doubling
                            // that is its split; for the others it drops only keys that left and
                            // came back under a new seed (the map emptied in between): an
                            // evacuated slot's lookup finds such a key in another new bucket,
                            // where this walk meets it again (Go skips the filter for a
                            // same-size growth and would yield it twice).
                            it._onOld = true;
                            checkBucket = bucket;
                            if (oldB > it._b)
                            {
                                it._groupArray = oldArray;
                                it._groupNext = bucket + MapMath.BucketShift(it._b);
                                it._groupLeft = MapMath.BucketShift(oldB - it._b) - 1;
                            }
                        }
                        else
                        {
                            b = BucketLayout<TKey, TValue>.Bucket(it._buckets, bucket);
                        }
                    }
                    else
                    {
                        b = BucketLayout<TKey, TValue>.Bucket(it._buckets, bucket);
                    }

                    bucket++;
                    if (bucket == MapMath.BucketShift(it._b))
                    {
                        bucket = 0;
                        it._wrapped = true;
                    }

                    i = 0;
                }

                ulong word = BucketLayout<TKey, TValue>.TopHashWord(b);
                ulong live = MapMath.RotateSlots(MapMath.MatchLive(word), it._offset);
                ulong cand = MapMath.RotateSlots(MapMath.MatchOccupied(word), it._offset) & MapMath.SlotsFrom(i);
                for (; cand != 0; cand &= cand - 1)
                {
                    int j = MapMath.FirstSlot(cand);
                    int offi = (j + it._offset) & (MapMath.BucketCnt - 1);
                    byte top = BucketLayout<TKey, TValue>.TopHash(b, offi);
                    ref TKey k = ref BucketLayout<TKey, TValue>.Key(b, offi);
                    if (checkBucket != NoCheck)
                    {
                        // Walking an unevacuated old chain: skip the keys that belong to
                        // another new bucket (see above).
                        if ((Hash(k) & MapMath.BucketMask(it._b)) != checkBucket)
                        {
                            continue;
                        }
                    }

                    TValue* v;
                    if (top == MapMath.EvacuatedX || top == MapMath.EvacuatedY)
                    {
                        // The table grew since the enumeration started: the entry lives elsewhere
                        // now (or was deleted). Its key is still readable here because retired
                        // memory outlives registered enumerators. Find is handed the token
                        // without its announced bit: when user code throws, the step's catch
                        // (MoveNextSlow) withdraws a Strict read's announcement, as it does for
                        // the Hash above, and Find withdrawing it too took a second entry off
                        // the thread's stack (an IndexOutOfRangeException in place of the
                        // comparer's exception; inside another announced read, that read's entry).
                        v = Find(k, token & ~TokenAnnounced);
                        if (v == null)
                        {
                            continue;
                        }
                    }
                    else
                    {
                        v = BucketLayout<TKey, TValue>.ValuePtr(b, offi);
                    }

                    it._curValue = v;
                    it._currentKey = k;
                    it._currentVal = *v;
                    it._bucket = bucket;
                    it._bptr = b;
                    it._i = j + 1;
                    it._checkBucket = checkBucket;

                    // While the map is not written (but in place), the next steps may go on without this method
                    // (Enumerator.MoveNext) when the enumeration walks a chain of the current
                    // array (not an old chain, whose later buckets may hold evacuated entries
                    // that need a lookup), no growth runs, and the rest of this bucket holds only
                    // ordinary live slots.
                    ulong rest = cand & (cand - 1);
                    it._mask = rest;
                    it._fast = !it._onOld && (rest & ~live) == 0 && _oldTable == 0 &&
                               Volatile.Read(ref _table) == BucketLayout<TKey, TValue>.Table(it._buckets, it._b);
                    return true;
                }

                b = BucketLayout<TKey, TValue>.Overflow(b);
                i = 0;
            }
        }

        /// <summary>
        /// Enumerates the entries of a <see cref="GoMap{TKey, TValue}"/> (Go's <c>hiter</c>). A struct:
        /// <c>foreach</c> allocates nothing; boxing it as <see cref="IEnumerator{T}"/> allocates once.
        /// </summary>
        /// <remarks>
        /// Copies of an enumerator share one registration (the record that keeps memory retired
        /// under it alive). A copy walks on its own from where it was copied, until any copy is
        /// disposed, finishes or is reset: the registration then ends, and <see cref="MoveNext"/>
        /// on the other copies throws <see cref="InvalidOperationException"/> rather than read
        /// memory nothing protects any more. <see cref="Current"/> of a copy stays readable.
        /// A <see cref="Dictionary{TKey, TValue}"/> enumerator's copies go on independently.
        /// </remarks>
        public struct Enumerator : IEnumerator<KeyValuePair<TKey, TValue>>
        {
            private readonly GoMap<TKey, TValue>? _map;

            // The same map again, for MoveNext's inline walk only. A foreach calls Dispose in a
            // finally, and the JIT (seen with .NET 10) keeps a field that the finally reads (_map)
            // in memory, reloading it at every use; this one it keeps in a register.
            private readonly GoMap<TKey, TValue>? _walkMap;
            private readonly ulong _ticket;
            private readonly int _slot;
            private readonly bool _ordered;  // start from the map's write counts (Keys, Values), not at random
            internal byte* _buckets;        // bucket array at start (it.buckets)
            internal int _b;                // B at start (it.B)
            internal ulong _startBucket;    // bucket the walk started at
            internal int _offset;           // slot offset within each bucket (it.offset)
            private ushort* _walkRow;       // inline walk: BucketLayout.WalkRow(_offset), where each group bit's key and value are (kept beside _offset: the step reads it, not the offset)
            private nint _prefetchAhead;    // inline walk: how far past a group's first bucket LoadGroup asks for a later group's lines, or 0 (WalkPrefetchAhead)
            internal bool _wrapped;         // walked past the end back to bucket 0
            internal ulong _bucket;         // next bucket to start (*)
            internal byte* _bptr;           // bucket being walked, or null between buckets; in the inline walk, the first bucket of its group
            internal int _i;                // next slot position (in rotated order) in _bptr (*)
            internal ulong _mask;           // the rest of _bptr's live slots (rotated) after IterNext's step, valid while the map is not written (but in place: EndWrite(long))
            internal bool _fast;            // IterNext's verdict on its step: MoveNext's inline walk may go on while the map is not written (but in place)
            private long _fastEpoch;        // *_epochWord when the inline walk was allowed, else NotFast
            private long* _epochWord;       // the epoch the inline walk compares: its registration slot's (IterSlot.Epoch), or IterRegistration.IdleEpochWord
            private ulong _fastMask;        // inline walk: the group's live slots from the current entry's on, 8 bits per bucket from _bptr's on (rotated)
            private byte* _tail;            // inline walk: the group's last bucket, whose overflow chain comes next (null before the first group)
            private byte* _next;            // inline walk: the regular bucket after the chain of _tail (_bucket as a pointer)
            private byte* _stop;            // inline walk: where it wraps to bucket 0 (the array's end) or, after the wrap, ends (the start bucket)
            internal ulong _checkBucket;    // new bucket whose entries are picked from an old bucket, or NoCheck
            internal bool _onOld;           // the chain being walked is an old array's (a growth's, walked for a new bucket)
            internal byte* _groupArray;     // a shrink's old array, while old chains of a group remain to walk
            internal ulong _groupNext;      // index of the next old chain of the group
            internal ulong _groupLeft;      // old chains of the group left to walk
            internal ulong _clearSeq;       // the map's clear count when the chain being walked was entered
            internal TValue* _curValue;     // where Current's value lives after a slow step, for CurrentValueRef
            // (*) stale while _fastEpoch is set and _fastMask is not 0; MoveNextSlow derives them from _bptr, _fastMask, _tail and _next (and _wrapped when that passes the array's end). With _fastMask 0 they still hold the constructor's start.
            // The current entry's key and value, as two fields rather than one KeyValuePair: the
            // inline walk's step then stores the key straight from the bucket and the JIT keeps
            // the value in a register, where for a KeyValuePair<Guid,long> it stored the key to a
            // stack temporary and loaded it back before storing it into the enumerator (a store
            // and a load more per entry: 21 instructions per step instead of 18). Three
            // alternating quick comparisons: <Guid> iterate 1.33-1.73 → 1.15-1.26 ns per entry at
            // 1,000 entries and 2.49-2.93 → 1.97-2.58 at 1,000,000; <int> and <long> unchanged.
            internal TKey _currentKey;
            internal TValue _currentVal;
            private long _stepState;        // the map's state word during the last step
            private bool _done;
            private bool _hasCurrent;

            /// <summary>
            /// Go's mapiterinit. <paramref name="ordered"/>: take the start from <see cref="OrderedStart"/>, not the RNG.
            /// The registration and the reads of the map are <see cref="StartEnumeration"/>'s, out of
            /// line; here, in line in the caller, only the fields are set from what it returns.
            /// </summary>
            /// <remarks>
            /// In line so that a foreach's enumerator is built where it lives (in registers and
            /// its stack home), each field set once. Out of line before (2026-12-05), the whole
            /// constructor wrote the struct through a reference (cleared first, then field by
            /// field), and the caller copied the 224 bytes into its own home with four 64-byte
            /// loads, which had to wait for those narrow stores to reach the cache (a store
            /// cannot be forwarded to a wider load); with the two locked instructions of the
            /// registration, that copy held most of the perf samples of a 1-entry enumeration.
            /// </remarks>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            internal Enumerator(GoMap<TKey, TValue> map, bool ordered)
            {
                EnumerationStart start = map.StartEnumeration(ordered);
                _map = map;
                _walkMap = map;
                _ordered = ordered;
                _slot = start.Slot;
                _ticket = start.Ticket;
                int b = BucketLayout<TKey, TValue>.TableB(start.Table);
                byte* buckets = BucketLayout<TKey, TValue>.TableArray(start.Table);
                ulong first = start.Random & MapMath.BucketMask(b);
                int offset = (int)((start.Random >> b) & (MapMath.BucketCnt - 1));
                _b = b;
                _buckets = buckets;
                _startBucket = first;
                _bucket = first;
                _offset = offset;
                _walkRow = BucketLayout<TKey, TValue>.WalkRow(offset);
                _prefetchAhead = WalkPrefetchAhead(b);
                _checkBucket = NoCheck;
                _clearSeq = start.ClearSeq;
                _done = buckets == null;

                // Armed (see StartEnumeration): the first MoveNext may take the inline walk from
                // the start bucket (a null tail and no group bits: nothing yielded yet;
                // MoveNextSlow then finds IterNext's fields as set above). Armed for an empty
                // map (a Go-mode one), it has no array: its walk is at its end (_next == _stop,
                // wrapped), and the first MoveNext ends it in line.
                bool walks = start.Armed && buckets != null;
                _wrapped = start.Armed && buckets == null;
                _next = walks ? BucketLayout<TKey, TValue>.Bucket(buckets, first) : null;
                _stop = walks ? BucketLayout<TKey, TValue>.Bucket(buckets, MapMath.BucketShift(b)) : null;
                _stepState = start.Armed ? start.State : 0;
                _epochWord = start.EpochWord; // never null where the walk may compare it
                _fastEpoch = start.Armed ? start.Epoch : NotFast; // compared with an epoch, NotFast never matches (epochs count up from 0)
                _bptr = null;
                _i = 0;
                _mask = 0;
                _fast = false;
                _fastMask = 0;
                _tail = null;
                _onOld = false;
                _groupArray = null;
                _groupNext = 0;
                _groupLeft = 0;
                _curValue = null;
                _currentKey = default;
                _currentVal = default;
                _hasCurrent = false;
            }

            /// <summary>
            /// The current entry: a copy taken when <see cref="MoveNext"/> found it; <c>default</c>
            /// before the first <see cref="MoveNext"/> and after the last, as for Dictionary. O(1).
            /// </summary>
            public readonly KeyValuePair<TKey, TValue> Current => new KeyValuePair<TKey, TValue>(_currentKey, _currentVal);

            /// <summary>
            /// <paramref name="current"/>, when there is a current entry; else throws, as the untyped
            /// <c>IEnumerator.Current</c> of Dictionary's enumerators does. Serves this enumerator's and the key and value enumerators'.
            /// </summary>
            /// <exception cref="InvalidOperationException">Before the first <see cref="MoveNext"/> or after the last.</exception>
            internal readonly object UntypedCurrent<T>(T current)
                where T : unmanaged
            {
                if (!_hasCurrent)
                {
                    ThrowHelper.ThrowNoCurrent();
                }

                return current;
            }

            /// <summary>
            /// A reference to the current entry's value in the map, to update it in place without
            /// a second lookup. O(1): the checks below (no current entry, enumerator or map
            /// disposed, map written since the step) and the slot's address. Valid until the next
            /// write to the map; reading it after a write throws
            /// <see cref="InvalidOperationException"/> rather than hand out a stale slot, but a ref
            /// taken before the write is not checked: writing through it after that write may
            /// change freed memory or another map's (see
            /// <see cref="GoMap{TKey, TValue}.GetValueRefOrNullRef"/>). The ref does not keep the
            /// map alive.
            /// </summary>
            /// <exception cref="InvalidOperationException">No current entry, the enumerator is disposed, or the map was written since.</exception>
            /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
            /// <exception cref="ConcurrentMapAccessException">A write is in progress right now (another thread's, or one whose user code called this): Go's
            /// "concurrent map iteration and map write", and the map is poisoned, as for a step that meets it.</exception>
            public readonly ref TValue CurrentValueRef
            {
                get
                {
                    if (!_hasCurrent || _done || _map is null)
                    {
                        ThrowHelper.ThrowNoCurrent();
                    }

                    _map.CheckUsable();
                    if (Volatile.Read(ref _map._state) != _stepState)
                    {
                        _map.ThrowStaleValueRef();
                    }

                    // After an inline step, the entry is the lowest bit of _fastMask in _bptr's group.
                    if (_fastEpoch == NotFast)
                    {
                        return ref *_curValue;
                    }

                    return ref *BucketLayout<TKey, TValue>.WalkValue(_bptr, _walkRow, _fastMask);
                }
            }

            /// <summary>The current entry, boxed: one allocation per call. Throws outside an entry, as Dictionary's does.</summary>
            /// <exception cref="InvalidOperationException">Before the first <see cref="MoveNext"/> or after the last.</exception>
            readonly object IEnumerator.Current => UntypedCurrent(Current);

            /// <summary>
            /// Advances to the next entry (Go's mapiternext). A whole enumeration is
            /// O(n + 2^B + overflow buckets): it visits every bucket of the array it started on
            /// (and, started during a growth, the old chains feeding them), empty or not, so after
            /// mass removals one step may walk many empty buckets (<see cref="TrimExcess()"/>
            /// shrinks the array); an entry moved by a growth since the enumeration started costs
            /// one lookup. On a <see cref="ConcurrencyChecks.Go"/> map, while it is not growing and
            /// not written but in place (a set or add that found its key or a free slot with no
            /// growth due, a removal that only marked its slot empty, each on the inline writes'
            /// fast path: so a loop that sets or removes entries it is given keeps this speed),
            /// the walk reads the tophash words of up to eight buckets at a time and yields their
            /// entries from one mask (about 1 ns per entry on the README's VM), from the first
            /// step through the wrap to the end. Other steps (the first after any other write,
            /// such as one that grows the table, steps during a growth, and every step on a
            /// <see cref="ConcurrencyChecks.Strict"/> map) are checked out-of-line steps: 25 to
            /// 30 ns each there (measured in the remarks of the enumerator's SlowStep).
            /// </summary>
            /// <returns>False at the end, and on every call after the end or after <see cref="Dispose"/>
            /// while the map lives; the registration is released at the end.</returns>
            /// <exception cref="ObjectDisposedException">The map is disposed (also after the end or after <see cref="Dispose"/>).</exception>
            /// <exception cref="ConcurrentMapAccessException">A write ran on another thread during the step.</exception>
            /// <exception cref="InvalidOperationException">Another copy of this enumerator was disposed, finished or reset.</exception>
            [MethodImpl(MethodImplOptions.AggressiveInlining)] // into the caller's loop: see below
            public bool MoveNext()
            {
                // The inline walk. Inlined into a foreach, it keeps the few fields it uses in
                // registers, as the JIT does for Dictionary's enumerator, provided that the
                // caller's enumerator never has its address taken: so the slow path takes and
                // returns the struct by value (SlowStep), never `ref this`. While it runs,
                // _bptr, _fastMask, _tail and _next stand for IterNext's _bptr, _i, _mask and
                // _bucket, which MoveNextSlow derives from them before it calls IterNext (and
                // _wrapped, when the next bucket is past the array's end: the walk hands over there).

                // The enumeration walks the current array and no growth ran at the last slow step:
                // walk on by groups of tophash words (LoadGroup), in IterNext's order, without its
                // per-bucket checks. Mirrors IterNext's walk for that case; keep in sync. Before
                // any bucket read, WalkAllowed: its registration did not end (a copy's end: else
                // memory retired under this walk may be released), the map was not poisoned or
                // disposed since the last slow step (its slot's epoch says both; Strict maps never
                // get here), and nothing was written since the last step but in place (Go's check
                // at the start of mapiternext, and more: any other write from this thread between
                // steps is caught too, after which the buckets may hold other entries; the slow
                // path then redoes the step from the last committed position and checks properly;
                // a write in place, EndWrite(long), moved nothing and emptied at most slots, which
                // the step in a group then drops from its rest: WalkRest). An entry's reads are checked
                // before rather than after as a seqlock would (a group's are checked after too:
                // see the group case below): the entry then goes straight into the
                // current key and value, which, with the foreach's finally cloned (see
                // UnregisterIterator), took the quick comparison's step from 30 to 24
                // instructions, its sum now in a register
                // (1,000 <long,long>: 1.66-1.83 → 1.54-1.58 ns per entry there, three alternating
                // runs; a probe 1.36-1.62 → 1.26-1.31). A write that begins on another thread
                // during an entry's reads (misuse) is seen at the next step, as in Go: that entry
                // may be stale, and the walk goes on from the position committed. The entry's key
                // and value are found through the enumeration's row of slot offsets
                // (BucketLayout.WalkRow: one load for the bucket and slot arithmetic), which took
                // the step from 20 to 16 instructions (1,000 entries, four alternating quick
                // comparisons: <long> 1.28-1.33 → 1.07-1.27 ns, <int> 1.33-1.42 → 1.14-1.32,
                // <Guid> 1.61-1.83 → 1.41-1.62). Since 2026-12-05 the map is read from _walkMap in
                // the same-group case (a local copy of it cost a move per step) and the row's
                // entry is found from the mask by WalkKey (no lea, no zero extension): 17 → 14
                // instructions for <long,long> (16 for <Guid,long>); probe, two alternated pairs,
                // <long> 0.95-0.96 → 0.89 ns per entry at 1,000 and 1.56-1.57 → 1.48-1.49 at
                // 1,000,000, <int> 0.99-1.02 → 0.90-0.92 and 1.35-1.39 → 1.27-1.29.
                ulong mask = _fastMask & (_fastMask - 1);
                if (mask != 0)
                {
                    // The next entry is in the same group (the common case). Only a constructed
                    // enumerator has group bits, and its _walkMap is never null: no null test here,
                    // the epoch load checks (a default enumerator takes the branch below).
                    // WalkAllowed's checks, written out so that the map's word moving (a write
                    // since the last step) leaves for a block of its own.
                    Fences.LoadsBeforeLaterAccesses(); // the group's loads before the check (Arm64: see Fences)
                    if (Volatile.Read(ref _walkMap!._state) == _stepState)
                    {
                        if (*_epochWord == _fastEpoch)
                        {
                            _fastMask = mask;
                            _currentKey = *BucketLayout<TKey, TValue>.WalkKey(_bptr, _walkRow, mask);
                            _currentVal = *BucketLayout<TKey, TValue>.WalkValue(_bptr, _walkRow, mask);
                            return true;
                        }
                    }
                    else
                    {
                        // Written since the last step: go on after writes in place and removals
                        // that only marked bytes, the rest narrowed to the slots still live (0
                        // when none is: then the checked step, which moves on). Mirrors the
                        // block above (keep in step): apart, that one kept its instructions, where
                        // one path through WalkRest's result cost the hot step a spill, a reload
                        // and a test (JitDisasm of a foreach, <long,long>).
                        mask = WalkRest(_walkMap, mask);
                        if (mask != 0)
                        {
                            _fastMask = mask;
                            _currentKey = *BucketLayout<TKey, TValue>.WalkKey(_bptr, _walkRow, mask);
                            _currentVal = *BucketLayout<TKey, TValue>.WalkValue(_bptr, _walkRow, mask);
                            return true;
                        }
                    }
                }
                else if (_walkMap is GoMap<TKey, TValue> map && WalkAllowed(map, StateInPlaceBits | StateRemovalBits))
                {
#if DEBUG
                    // Test seam (Debug builds only): a write made here stands for one that another
                    // thread makes between the check above and the reads below (the race the
                    // second check below is for; IterationGroupRaceTests).
                    t_beforeGroupReadForTest?.Invoke(map);
#endif

                    // The group is done: next comes the overflow chain of its last bucket, else
                    // the next group of regular buckets. A null tail has no chain to walk: the
                    // constructor's start, before the first group.
                    byte* group;
                    byte* tail = _tail;
                    byte* next = _next;
                    byte* stop = _stop;
                    bool wrapped = _wrapped;
                    do
                    {
                        group = tail != null ? BucketLayout<TKey, TValue>.Overflow(tail) : null;
                        if (group != null)
                        {
                            tail = group; // an overflow bucket is a group of its own
                            mask = MapMath.RotateSlotBits(BucketLayout<TKey, TValue>.LiveSlots(group), _offset);
                        }
                        else
                        {
                            if (next == stop)
                            {
                                if (wrapped)
                                {
                                    goto End; // back at the start bucket
                                }

                                // Past the array's end: on from bucket 0 up to the start bucket,
                                // as IterNext's wrap (a start at bucket 0 ends here).
                                wrapped = true;
                                next = _buckets;
                                stop = BucketLayout<TKey, TValue>.Bucket(_buckets, _startBucket);
                                continue; // tail's chain is done: it read null just now
                            }

                            group = next;
                            mask = LoadGroup(group, stop, _offset, _prefetchAhead, out tail);
                            next = BucketLayout<TKey, TValue>.NextInMemory(tail);
                        }
                    }
                    while (mask == 0);

                    // The group's tophash words and links were read after the check above. A write
                    // that ran since (another thread's: misuse, on a Go-mode map) may have started
                    // a growth and evacuated some of these buckets, whose moved slots then read as
                    // empty here: committing the group would skip entries that no later step
                    // yields. So check again before committing, as a seqlock's reader does: the
                    // slow step then redoes this step from the last committed position, where
                    // IterNext finds the moved entries. Once per group, not per entry. (Found by
                    // the stress program's enumeration-start trials: about 1 in 60 one-second Go
                    // trials walked a map that grew under it and missed an entry that was there
                    // throughout, without detecting anything. A probe build counting this check's
                    // failures: 26 in 40 fresh one-second trials, nearly all in a process's first
                    // second, and 1 in 20 batched trials; why then is not known: Tier-0 code
                    // throughout, a CPU hog beside each pair or forced GCs did not bring it back.
                    // IterationGroupRaceTests places such a write between the two checks through
                    // the Debug-only seam above: without this check, each of its cases loses an
                    // entry.)
                    if (!WalkAllowed(map, StateInPlaceBits))
                    {
                        goto Slow; // (a removal now, between the two checks, was another thread's: the group read may hold its slot)
                    }

                    // Mirrors the same-group case above, and commits the new group too.
                    _bptr = group;
                    _tail = tail;
                    _next = next;
                    _stop = stop;
                    _wrapped = wrapped;
                    _hasCurrent = true; // for the first step, armed by the constructor
                    _fastMask = mask;
                    _currentKey = *BucketLayout<TKey, TValue>.WalkKey(group, _walkRow, mask);
                    _currentVal = *BucketLayout<TKey, TValue>.WalkValue(group, _walkRow, mask);
                    return true;

                End:
                    // Every bucket walked: checked again as a group is (a growth racing the
                    // reads may have moved entries out of buckets read as empty), then the end
                    // of IterNext's walk without its step: the registration released, no copy
                    // of the enumerator made for the call. Mirrors MoveNextSlow's end (when
                    // IterNext finds nothing); keep in sync. It cannot call it: the caller's
                    // enumerator would then have its address taken (see above).
                    if (!WalkAllowed(map, StateInPlaceBits | StateRemovalBits) || (_ticket == 0 && Volatile.Read(ref map._flags) != 0))
                    {
                        goto Slow; // (an unregistered enumerator's epoch never changes: a poisoned map's flag stops it here)
                    }

                    _fastEpoch = NotFast;
                    _done = true;
                    _hasCurrent = false;
                    if (_ticket != 0) // 0: an empty map's enumerator, never registered
                    {
                        map.UnregisterIterator(_slot, _ticket);
                    }

                    _currentKey = default;
                    _currentVal = default;
                    return false;
                }

            Slow:
                this = SlowStep(this);
                return _hasCurrent;
            }

            /// <summary>
            /// Whether MoveNext's inline walk may read buckets now: no write came since the last
            /// step but those whose counts <paramref name="accepted"/> names (writes in place,
            /// and removals that only marked tophash bytes where the walk reads the group after
            /// this check: <see cref="EndWrite(long)"/>; any other write may have moved entries
            /// and freed the blocks of keys or values behind pointers), and the epoch of the
            /// enumerator's registration slot is the one of the last slow step that allowed it.
            /// The map's word then becomes the step's. The state word first: Dispose changes it
            /// (its sequence) before it frees the registration tables, so a walk that starts its
            /// step after a Dispose never reads its epoch. A Go-mode Dispose on another thread
            /// (misuse) may still finish between the two loads; the epoch is then read from a
            /// freed C-heap block, which stays mapped, and anything but the old value sends the
            /// walk to the slow step, which sees the disposal (found by review, 2026-12-05).
            /// </summary>
            /// <remarks>
            /// The common case is one compare, as before those writes were told apart; the word is
            /// read again only when it changed (after a write: no longer the common case), so that
            /// the hot step keeps comparing with the word in memory.
            /// </remarks>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private bool WalkAllowed(GoMap<TKey, TValue> map, long accepted)
            {
                Fences.LoadsBeforeLaterAccesses(); // the group's loads before the check (Arm64: see Fences)
                if (Volatile.Read(ref map._state) != _stepState)
                {
                    long s = Volatile.Read(ref map._state);
                    if (!OnlyAcceptedWritesSince(s, accepted))
                    {
                        return false;
                    }

                    // Taken only once the walk may go on: a step that fails here goes to the slow
                    // step, which may throw and leave this enumerator as it was, and its word must
                    // then still say "written since" to CurrentValueRef (found by review).
                    _stepState = s;
                    return true;
                }

                return *_epochWord == _fastEpoch;
            }

            /// <summary>
            /// The test <see cref="WalkAllowed"/> and <see cref="WalkRest"/> make once the map's word
            /// has moved since the last step: it moved only in the counts <paramref name="accepted"/>
            /// names (hashWriting clear, the sequence the step's), and the registration's epoch is
            /// the step's.
            /// </summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private readonly bool OnlyAcceptedWritesSince(long s, long accepted) =>
                ((s ^ _stepState) & ~accepted) == 0 && *_epochWord == _fastEpoch;

            /// <summary>
            /// <see cref="WalkAllowed"/> for the next entry of the group the walk is in, once the
            /// map's word has moved since the last step (the caller's test): the group's live
            /// slots still to yield (<paramref name="rest"/>, without the current entry's), or 0
            /// when the walk may not go on. Writes in place and removals that only marked bytes
            /// are accepted; after a removal the rest keeps only the slots still live
            /// (<see cref="LiveSlotsOfGroup"/>), read after the checks, so that an entry removed
            /// before it was reached is not yielded.
            /// </summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private ulong WalkRest(GoMap<TKey, TValue> map, ulong rest)
            {
                long s = Volatile.Read(ref map._state);
                if (!OnlyAcceptedWritesSince(s, StateInPlaceBits | StateRemovalBits))
                {
                    return 0;
                }

                if (((s ^ _stepState) & StateRemovalBits) != 0)
                {
#if DEBUG
                    // Test seam (Debug builds only), as the group step's: a write made here stands
                    // for another thread's between the checks above and the reads below.
                    t_beforeRestReadForTest?.Invoke(map);
#endif
                    if (!RemovedOnlyCurrent(s))
                    {
                        rest &= LiveSlotsOfGroup(_bptr, rest, _offset);
                    }

                    // The tophash words were read after the checks: checked again before the rest
                    // is committed, as the group step checks again (found by review: a growth that
                    // another thread started in between reads its evacuated slots as empty, and
                    // they were dropped for good; IterationGroupRaceTests places such a write here).
                    Fences.LoadsBeforeLaterAccesses();
                    if (Volatile.Read(ref map._state) != s)
                    {
                        return 0;
                    }
                }

                _stepState = s;
                return rest;
            }

            /// <summary>
            /// Whether the writes since the last step, which <see cref="WalkRest"/> accepted,
            /// removed the current entry and nothing else: a foreach that removes the entry it was
            /// given (Go's idiom for filtering a map), whose rest then needs no narrowing. True
            /// when the removals' count moved by exactly one and the current entry's slot (the
            /// lowest bit of <see cref="_fastMask"/>, live when it was yielded) reads empty now.
            /// The count moves only up, by removals and by the carry of 256 writes in place (the
            /// sequence, which moves on a carry out of it, is the step's), so one removal at most
            /// ran; only a removal empties a slot without moving the sequence, so that one emptied
            /// the current slot, and every slot of the rest is as live as the step found it. Under
            /// Go-mode misuse (another thread removing an entry ahead while this one removes the
            /// current, their plain stores of the state word overlapping) one removal may go
            /// uncounted, and the walk may then yield the other thread's removed entry: a stale
            /// entry, as Go's own walk may yield under a race, never a wrong slot (a review's
            /// reasoning, 2026-12-05; not reproduced).
            /// </summary>
            /// <remarks>
            /// Measured (2026-12-05, README's VM, a probe walking a 1,000-entry
            /// <c>&lt;long,long&gt;</c> map and removing the entries whose hash code is a multiple
            /// of 4, about a quarter): the narrowing (<see cref="LiveSlotsOfGroup"/>) took a removal
            /// during the walk from 6.6 ns (a removal from another map in the same loop) to 25.
            /// </remarks>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private readonly bool RemovedOnlyCurrent(long s) =>
                (((s >> StateRemovalShift) - (_stepState >> StateRemovalShift)) & (StateRemovalBits >> StateRemovalShift)) == 1
                && MapMath.IsEmpty(BucketLayout<TKey, TValue>.WalkTopHash(_bptr, _offset, _fastMask));

            /// <summary>
            /// The live slots of the buckets that <paramref name="rest"/> has bits in, of the
            /// group whose first bucket is <paramref name="first"/> (regular buckets in a row, or
            /// one overflow bucket), as LoadGroup gives them: 8 bits per bucket, rotated by
            /// <paramref name="offset"/>; 0 for the other buckets. Only a step after a removal in
            /// place needs it; in line all the same, since a call there (out of line) had the JIT
            /// keep the walk's fields on the stack in the hot step too (its registers across a
            /// call). From the bucket of the rest's first bit to that of its last: taking the
            /// group's every bucket made the narrowing about a third of a walk that removes a
            /// quarter of its entries (perf, 1,000 <c>&lt;long,long&gt;</c>).
            /// </summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static ulong LiveSlotsOfGroup(byte* first, ulong rest, int offset)
            {
                int from = BitOperations.TrailingZeroCount(rest) & ~(MapMath.BucketCnt - 1);
                int to = (63 - BitOperations.LeadingZeroCount(rest)) & ~(MapMath.BucketCnt - 1);
                ulong bits = 0;
                byte* b = BucketLayout<TKey, TValue>.GroupBucket(first, from);
                for (int shift = from; ; shift += MapMath.BucketCnt, b = BucketLayout<TKey, TValue>.NextInMemory(b))
                {
                    bits |= (ulong)BucketLayout<TKey, TValue>.LiveSlots(b) << shift;
                    if (shift == to)
                    {
                        return MapMath.RotateSlotBits(bits, offset);
                    }
                }
            }

#if DEBUG
            /// <summary>
            /// Test seam (Debug builds only): called with the map by this thread's inline steps
            /// that move to a new group, after the step's first check and before it reads the
            /// group, so that a test can place a write exactly where another thread's write
            /// races that step.
            /// </summary>
            [ThreadStatic]
            internal static Action<GoMap<TKey, TValue>>? t_beforeGroupReadForTest;

            /// <summary>
            /// Test seam (Debug builds only): called with the map by this thread's inline steps
            /// in a group after a removal in place, after the step's checks and before it reads
            /// the group's tophash words to drop the slots emptied (<see cref="WalkRest"/>).
            /// </summary>
            [ThreadStatic]
            internal static Action<GoMap<TKey, TValue>>? t_beforeRestReadForTest;
#endif

            /// <summary>Test hook: the registration slot this enumerator holds (the fast slots first, then the locked table's; meaningless before a registration).</summary>
            internal readonly int SlotForTest => _slot;

            /// <summary>Whether the next <see cref="MoveNext"/> may take the inline walk's unchecked step: it is armed, nothing but writes in place and removals that only marked bytes was written and its registration slot's epoch has not moved; for tests (on a copy: the enumerator itself is left as it was).</summary>
            internal readonly bool InlineWalkAllowedForTest
            {
                get
                {
                    Enumerator copy = this;
                    return copy._fastEpoch != NotFast && copy._walkMap is not null && copy.WalkAllowed(copy._walkMap, StateInPlaceBits | StateRemovalBits);
                }
            }

            /// <summary>The inline walk's live slots still to yield in its current group, from the current entry's on (8 bits per bucket, rotated), or 0 outside the inline walk; for tests.</summary>
            internal readonly ulong GroupRestForTest => _fastEpoch != NotFast ? _fastMask : 0;

            /// <summary>The inline walk's current group's last bucket (whose overflow chain comes next), the regular bucket after that chain, and where the inline walk hands over to IterNext; for tests.</summary>
            internal readonly (nint Tail, nint Next, nint Stop) NextGroupForTest => ((nint)_tail, (nint)_next, (nint)_stop);

            /// <summary>Whether the inline walk asks for the lines of later groups ahead (<see cref="WalkPrefetchAhead"/>); for tests.</summary>
            internal readonly bool PrefetchesAheadForTest => _prefetchAhead != 0;

            /// <summary>How many bytes past a group's first bucket the inline walk asks for lines (<see cref="WalkPrefetchAhead"/>), 0 for none; for tests.</summary>
            internal readonly long PrefetchDistanceForTest => _prefetchAhead;

            /// <summary>The bucket of the current entry, in either form of the position; for tests.</summary>
            internal readonly byte* CurrentBucket =>
                _fastEpoch != NotFast && _fastMask != 0 ? BucketLayout<TKey, TValue>.GroupBucket(_bptr, BitOperations.TrailingZeroCount(_fastMask)) : _bptr;

            /// <summary>The live slots of <see cref="CurrentBucket"/> still to yield, rotated (byte i for slot (i + offset) mod 8, as IterNext's mask), in either form of the position; for tests.</summary>
            internal readonly ulong RestOfBucket
            {
                get
                {
                    if (_fastEpoch == NotFast || _fastMask == 0)
                    {
                        return _mask;
                    }

                    int bit = BitOperations.TrailingZeroCount(_fastMask);
                    uint rest = (uint)((_fastMask & (_fastMask - 1)) >> (bit & ~(MapMath.BucketCnt - 1))) & 0xFF;
                    ulong spread = 0;
                    for (; rest != 0; rest &= rest - 1)
                    {
                        spread |= 0x80UL << (BitOperations.TrailingZeroCount(rest) * 8);
                    }

                    return spread;
                }
            }

            /// <summary>
            /// How far past a group's first bucket <see cref="LoadGroup"/> asks for the lines of a
            /// later group (<see cref="WalkPrefetchGroups"/> groups: 8 KiB or more, at least two),
            /// for an array of 2^<paramref name="b"/> buckets: only for
            /// buckets of <see cref="WalkPrefetchMinBucketBytes"/> or more in an array over
            /// <see cref="WalkPrefetchMinArrayBytes"/>, else 0 (none).
            /// </summary>
            /// <remarks>
            /// Big buckets at the load a table has between growths (3-6 of 8 slots live) leave
            /// most value lines unread, and a walk that reads lines with gaps between them loses the
            /// hardware prefetchers: an <c>&lt;int,Entity64&gt;</c> table (560-byte buckets) was
            /// walked at 8.1-9.5 ns per entry from 300,000 to 3,000,000 entries, against
            /// Dictionary's 1.6-2.5. Asking for every line two groups ahead (70 prefetches per
            /// group of 8 buckets; a probe over foreach of the pairs and of Keys, 2026-12-03,
            /// README's VM): 600,000 entries (a 73 MB array) 8.4 → 3.2-3.5 ns, 1,000,000 (147 MB)
            /// 9.0-9.5 → 4.0-5.4, 3,000,000 8.8-9.1 → 6.7-6.9, 300,000 (37 MB) 8.0-8.1 → 7.4; one
            /// group ahead about as fast as two, four slower. In arrays the caches hold the
            /// prefetches are only instructions: 10,000 entries (1.1 MB) 1.62 → 2.06, 30,000
            /// (4.6 MB) 2.32 → 2.60, 100,000 (18 MB) 2.22 → 2.52. For the 144-byte buckets of
            /// <c>&lt;long,long&gt;</c>, whose walk reads nearly every line, asking ahead made no
            /// difference at 1,000,000 entries (see LoadGroup's remarks). Since 2026-12-06 the lines
            /// are asked for into L2 (<c>prefetcht1</c>), not L1: a probe walking
            /// <c>&lt;int,Entity64&gt;</c> tables of sequential ids (foreach, best of 7 walks, this
            /// build's process alternated with the one before, three runs) took 300,000 entries
            /// 6.9-13.1 → 4.8-7.0 ns per entry, 1,000,000 8.6-9.5 → 7.4-7.5, 3,000,000 9.1-10.5 →
            /// 8.2-9.0 (<c>Dictionary</c> 3.2-4.9, 3.4-4.4, 2.9-3.4); <c>prefetcht2</c> read as
            /// <c>prefetcht1</c>, and <c>prefetchnta</c> no better than L1 (one process switching
            /// between them). Each group's 70
            /// prefetches into L1 come in one burst, which the batched lookups showed this CPU
            /// handles badly (FindManyPipelined); one group ahead read as two, four slower.
            /// Since 2026-12-06 (later that day) the bound is buckets of three lines or more (192 bytes;
            /// 256 before), so that <c>&lt;Guid,long&gt;</c>'s 208-byte buckets, whose walk skips
            /// the key lines of empty slots, take it too. Measured on an AMD EPYC Zen 3 (Milan) VM
            /// of 2 vCPUs, the only machine at hand that day: a probe (foreach of 1,000,000 random
            /// keys in a map built with its capacity, <c>Dictionary</c> walked in the same process,
            /// four alternated pairs of processes) read <c>&lt;Guid,long&gt;</c> at 0.41-0.50 of
            /// <c>Dictionary</c>'s speed without and 0.60-0.66 with (GoMap 4.3-7.8 → 3.5-4.5 ns per
            /// entry); at 3,000,000 entries 0.35-0.41 → 0.41-0.43; three alternated pairs of the
            /// quick comparison's 1,000,000-entry rows 0.38-0.51 → 0.45-0.60. <c>&lt;long,long&gt;</c>
            /// (144 bytes, every line read) gained at 1,000,000 entries in two of four pairs
            /// (0.52-0.54 → 0.52-0.64) and lost a little at 3,000,000 (0.40-0.42 → 0.35-0.40), and
            /// <c>&lt;int,int&gt;</c> (80 bytes) gained nothing at either size, even with the array
            /// bound at 16 MiB (0.47-0.52 → 0.49-0.54 at 1,000,000; 0.37-0.39 → 0.34 at 3,000,000),
            /// so they stay below the bound.
            /// Since 2026-12-07 the distance is whole groups reaching
            /// <see cref="WalkPrefetchMinDistance"/> (8 KiB), at least two: two groups for the
            /// entity buckets as before (8,960 bytes), five for the 208-byte ones (8,320 bytes,
            /// where two were 3,328). On an AMD EPYC Zen 4 (Genoa) VM the short distance lost: a
            /// probe as above (the distance set by an environment variable in a copy of the
            /// library, 1,000,000 <c>&lt;Guid,long&gt;</c> entries, two to four processes each,
            /// alternated) took 2.77-3.86 ns per entry two groups ahead (0.33-0.40 of
            /// <c>Dictionary</c>), 2.38-2.59 one group ahead, 2.11-2.45 asking nothing
            /// (0.47-0.55), 2.19-2.32 five groups ahead (0.48-0.49), 2.26-2.49 four, 2.36-2.58
            /// eight; at 3,000,000 entries 3.7-3.9 with none, two or five. The entity buckets gained
            /// there as on the other machines (1,000,000 entities 12.5-16.0 → 7.0-7.5 two or four
            /// groups ahead). The quick comparison's <c>&lt;Guid&gt;</c> 1M iterate row, three
            /// alternated pairs: 2.81-2.86 → 2.17-2.33 ns (0.34-0.35 → 0.42-0.44 of
            /// <c>Dictionary</c>; a fourth run alone 2.08, 0.54); its entity row runs the same
            /// code. Not measured on the Zen 3, where two groups gained: lines asked for 8 KiB
            /// ahead into its 512 KiB L2 should arrive no later than 3 KiB ahead, which a run there
            /// has to confirm. The bound stays at 192 bytes (the Zen 3 gained with it, the Zen 5
            /// was measured only without it).
            /// </remarks>
            private static nint WalkPrefetchAhead(int b) =>
                BucketLayout<TKey, TValue>.BucketSize >= WalkPrefetchMinBucketBytes && (BucketLayout<TKey, TValue>.ArrayBytes(b) ?? ulong.MaxValue) > WalkPrefetchMinArrayBytes
                    ? BucketLayout<TKey, TValue>.BytesOf(WalkPrefetchGroups * GroupBuckets)
                    : 0;

            /// <summary>
            /// How many groups ahead <see cref="WalkPrefetchAhead"/> asks: the fewest whole groups,
            /// at least two, that reach <see cref="WalkPrefetchMinDistance"/> bytes.
            /// </summary>
            private static int WalkPrefetchGroups =>
                Math.Max(2, (WalkPrefetchMinDistance + (GroupBuckets * BucketLayout<TKey, TValue>.BucketSize) - 1) / (GroupBuckets * BucketLayout<TKey, TValue>.BucketSize));

            /// <summary>
            /// The inline walk's next group from the regular bucket <paramref name="b"/> on (before
            /// <paramref name="stop"/>): up to eight consecutive buckets, ending early at the first
            /// one that has an overflow chain (walked before the next regular bucket, as Go's order
            /// wants). Returns their live slots, eight bits per bucket in the enumeration's order
            /// (<see cref="MapMath.RotateSlotBits"/>); <paramref name="last"/> is the group's last
            /// bucket. Reading the tophash words of a group together, rather than one bucket at a
            /// time behind a branch on the previous one, lets their cache misses overlap, and the
            /// walk mispredicts once per group instead of once per bucket. Measured (quick
            /// comparison, <c>&lt;long,long&gt;</c>, alternating runs against the bucket-at-a-time
            /// walk): 3.65-3.89 → 2.15-3.11 ns per entry at 1,000,000 entries. At 1,000 entries,
            /// where a repeated walk has every per-bucket branch predicted anyway, finding an
            /// entry's bucket from its bit is work the old walk did not do: 1.43 → 1.67-1.95 ns
            /// there, and in a probe whose enumerator the JIT keeps in registers 1.42-1.49 →
            /// 1.43-1.55 once <see cref="BucketLayout{TKey, TValue}.GroupBucket"/> lost its imul (the
            /// steps now look the bucket and slot up instead: <see cref="BucketLayout{TKey, TValue}.WalkRow"/>).
            /// Tried and not kept for small buckets (2026-12-02; buckets of three lines or more in
            /// big arrays do it since: <see cref="WalkPrefetchAhead"/>): asking here for every
            /// line of the group one, two or four groups ahead; iterate at 1,000,000 entries
            /// stayed within the noise for <c>&lt;int&gt;</c>, <c>&lt;long&gt;</c> and
            /// <c>&lt;Guid&gt;</c> (two runs of each distance: <c>&lt;long&gt;</c> 1.76-2.59 ns per entry without, 1.85-1.86 one group
            /// ahead, 2.01-2.63 two, 1.57-1.97 four; <c>&lt;int&gt;</c> 1.35-1.52 without, 1.42-1.67
            /// four ahead): the array is read in address order, which the hardware prefetchers
            /// follow already. Nor (same day) a whole group in straight-line code when none of
            /// its eight buckets has a chain (the eight overflow pointers or'd and tested once,
            /// then the eight tophash words): 1,000 entries unchanged, 1,000,000 slower in three
            /// alternated runs (<c>&lt;long&gt;</c> 1.41-1.45 → 1.82-1.96 ns per entry,
            /// <c>&lt;Guid&gt;</c> 1.74-1.85 → 2.28-2.67), the overflow pointers' lines now read
            /// before the tophash lines; with the tophash words first, 1,000,000 still no faster
            /// (<c>&lt;long&gt;</c> 1.39-1.63 → 1.53-1.64, <c>&lt;int&gt;</c> 1.31-1.39 →
            /// 1.29-1.69). Nor (2026-12-03, probe on a 1,000,000-entry <c>&lt;long,long&gt;</c> table
            /// built with its capacity, enumerator 1.46-1.86 ns per entry against 0.94-0.97 in a
            /// 1,000-entry one) whole groups asked for 4, 8, 16 or 32 groups ahead (1.49-1.96).
            /// Memory bandwidth is not the limit: a loop reading one word of every line of that
            /// array took 0.6-0.8 ns per entry, and a branch-free loop summing all eight slots of
            /// each bucket under its live mask took 1.6 ns per entry at both sizes. A walk that
            /// branches per bucket (no groups) took 3.2-3.6 ns there, a hand-written group walk
            /// with no enumerator 1.8-2.1. What the 1,000,000-entry walk waits on was not found:
            /// this VM exposes no hardware counters to tell mispredictions from memory stalls.
            /// Measured again on 2026-12-03 (probe, 2^18 buckets of the same layout at the same
            /// load, one process): a group walk with no enumerator (the same 8-bucket groups,
            /// the step's row of offsets) took 0.58 ns per entry in a 256-bucket array and 1.06
            /// at 2^18 buckets; asking for the next group's tophash words before yielding the
            /// current group's entries (software pipelining) made it no faster (0.54 and
            /// 1.09-1.11). The enumerator took 1.0 and 1.45-1.6 in the same session, so its steps
            /// cost about 0.45 ns per entry over the bare walk at both sizes. Taking instructions
            /// out of the step did not show at either size in three alternated rounds: the
            /// trailing-zero count of the mask as a 64-bit value (no zero extension; 15
            /// instructions per step instead of 16), the walk-epoch compare dropped (an ablation
            /// for folding it into the state word), or both: 1,000 entries 0.93-1.02 ns (and two
            /// slow rounds, 1.56 and 1.65) against 1.00-1.09 as it is; 1,000,000 1.43-1.89 (once
            /// 2.43) against 1.47-1.58. (On 2026-12-05 the 64-bit count went in with two more
            /// instructions out: 14 for <c>&lt;long,long&gt;</c>, from 17 before it (see
            /// MoveNext); 6-10 % at 1,000 and 5-7 % at 1,000,000 in two alternated pairs and two
            /// of the quick comparison.)
            /// For <c>&lt;int,Entity64&gt;</c> the step is 22 instructions:
            /// the JIT keeps the 64-byte value, the key and the step's state word on the stack
            /// (the state word loaded and stored back at every step); without the epoch compare it
            /// kept the state word in a register (19), and a walk of 1,000 entities took 1.77
            /// against 1.92 ns in one round, within the noise in the next: not enough to move the
            /// epoch into the state word, which every read's end check would then have to mask.
            /// Nor skipping the overflow pointer's line for a bucket whose last slot is emptyRest
            /// (Go's mark says its chain holds nothing live): no change at 1,000, 10,000 or
            /// 1,000,000 entities or at 1,000,000 <c>&lt;long,long&gt;</c> entries (two or three
            /// alternated runs each). Nor (2026-12-03, a probe of the bare group walk over a
            /// synthetic 144-byte bucket layout at the same load) the group's eight tophash words
            /// and eight overflow pointers taken with AVX2 gathers (four 64-bit lanes each, two
            /// per group for each) instead of one bucket at a time: 0.70 against 0.57 ns per entry
            /// at 256 buckets, and 6.9-7.1 against 1.1 at 2^18 buckets (the gathered lines miss
            /// one after another, out of the hardware prefetchers' stream). Nor (same day, a probe
            /// build) a walk API that is not an enumerator: a <c>ForEach</c> taking a struct
            /// visitor by reference, its loop in the library with the walk's position in locals
            /// (IterNext for every checked step, as the enumerator's slow step), passing each
            /// entry's key and value by reference. 1,000 <c>&lt;long,long&gt;</c> entries
            /// 1.05-1.10 ns per entry against <c>foreach</c>'s 1.10-1.13 in the same rounds
            /// (0.94-0.95 ns with the per-entry check of the epoch and the state left out, an
            /// ablation), and at 1,000,000 1.48-1.62 against 1.50-1.55; <c>&lt;Guid,long&gt;</c>
            /// 1.14-1.15 against 1.20-1.24 at 1,000, no faster at 1,000,000. Only big values gained, the 64-byte one not being copied: 1,000 <c>&lt;int,Entity64&gt;</c>
            /// 1.31-1.33 against 1.97-2.02, 1,000,000 5.1-5.4 against 5.6-5.75. So the
            /// enumerator's fields do stay in registers, and the 0.45 ns per entry over the bare
            /// walk is the step's own work (the checks, the slot-offset row, the value's load).
            /// Tried and not kept (2026-12-05): the group's extent found first (its overflow
            /// pointers), then its tophash words two buckets to a vector (vmovq, vpinsrq, one
            /// max, compare and mask per pair), since this loop took about a fifth of a 1,000-entry
            /// walk's samples (perf, <c>&lt;long,long&gt;</c>; the group step in all about two
            /// fifths): 1.14-1.17 ns per entry against 1.08-1.09 (probe, alternated processes).
            /// </summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            private static ulong LoadGroup(byte* b, byte* stop, int offset, nint prefetchAhead, out byte* last)
            {
                nint span = BucketLayout<TKey, TValue>.BytesOf(GroupBuckets);
                byte* end = stop - b > span ? b + span : stop;
                if (prefetchAhead != 0 && stop - b >= prefetchAhead + span)
                {
                    // Every line of the group that many bytes ahead (WalkPrefetchAhead), into L2.
                    for (byte* line = b + prefetchAhead, to = line + span; line < to; line += 64)
                    {
                        Prefetch.ReadToL2(line);
                    }
                }

                ulong bits = 0;
                int shift = 0;
                while (true)
                {
                    bits |= (ulong)BucketLayout<TKey, TValue>.LiveSlots(b) << shift;
                    byte* after = BucketLayout<TKey, TValue>.NextInMemory(b);
                    if (BucketLayout<TKey, TValue>.Overflow(b) != null || after == end)
                    {
                        break;
                    }

                    b = after;
                    shift += MapMath.BucketCnt;
                }

                last = b;

                // The group's last bucket has an overflow chain, walked after the group: an
                // overflow bucket lies anywhere in memory, where the array's stream of lines does
                // not bring it, so ask for it now, while the group's entries are yielded. About
                // 1.6 % of the buckets of a <long,long> table at 1,000,000 entries have one (3.8
                // entries per bucket): their misses took 8 % of the walk (probe, five alternating
                // pairs of processes: 1.71-2.16 → 1.65-1.75 ns per entry). They still wait: in a
                // perf profile of that walk (2026-12-04, cpu-clock samples mapped onto the JIT's
                // listing) 14 % of the samples fell on the overflow bucket's tophash load, one
                // group's yields being shorter than a miss on this VM. Tried and not kept (same
                // day, one process switching variants between rounds, best of 24 walks each):
                // also scanning the overflow pointers of the 8, 16 or 32 buckets past the group
                // (or of buckets 8 to 24 past it) and asking for the overflow buckets found, a
                // group or more earlier: 1.77-1.83 → 1.93-4.06 ns per entry, worse the farther:
                // the scan's loads of lines the array's stream has not brought yet miss themselves.
                byte* overflow = BucketLayout<TKey, TValue>.Overflow(b);
                if (overflow != null)
                {
                    BucketLayout<TKey, TValue>.PrefetchBucket(overflow);
                }

                return MapMath.RotateSlotBits(bits, offset);
            }

            /// <summary>
            /// <see cref="MoveNextSlow"/> on a copy, returned: the caller's enumerator goes in and out
            /// by value, so that the JIT can keep its fields in registers (see <see cref="MoveNext"/>).
            /// When the step throws, the caller's enumerator is left as it was before the step.
            /// </summary>
            /// <remarks>
            /// The copies are what a <c>Strict</c> enumeration pays for, since every step of one
            /// comes here: Go-mode walks forced through this step took 24-28 ns per entry against
            /// 28-30 for Strict ones (1,000 <c>&lt;long,long&gt;</c> entries, probe, 2026-12-03).
            /// Tried and not kept (probe, README's VM, alternated processes): a Strict step
            /// through the inline walk's group code (one announced read around it) instead of
            /// IterNext, still out of line: 28.5-31.6 ns per entry against 30.7-33.0, and in its
            /// perf profile the caller's loop took 36 % of the samples (the 432-byte enumerator
            /// copied out and back, its fields reloaded), SlowStep 12 % and the step 12 %. The
            /// same step in line for the next entry of a group (an out-of-line call that announces
            /// and checks the epoch and state, the entry read, the state checked again and the
            /// announcement withdrawn, then committed): 9.1-9.3 ns per entry, but Go-mode walks of that build took 1.47-1.68 ns against 1.08-1.16
            /// (Go-mode maps alone in the process): the JIT then spilled the inline walk's fields
            /// around the new call, in the hot step too. With that step out of line instead, on a
            /// copy of the enumerator passed in by value and the entry handed back in a small
            /// struct (no copy back), Strict walks took 17.4 ns per entry against 34.0, and
            /// Go-mode walks 1.13-1.39 against 1.06-1.10 (four alternated pairs, three rounds
            /// each): the hot step gained three register moves where the two paths join.
            /// So what would make Strict walks cheap is the inline step with no announcement,
            /// which needs a check after each step's reads (Strict's reads check before and
            /// after) and a Strict Dispose that leaves what a registered enumerator may read to
            /// the end of the last registration (an abandoned enumerator would then hold the
            /// map's memory past Dispose); holding one announcement across a whole enumeration
            /// instead would make a Dispose on another thread wait for it, forever for an
            /// abandoned enumerator.
            /// </remarks>
            [MethodImpl(MethodImplOptions.NoInlining)]
            private static Enumerator SlowStep(Enumerator e)
            {
                e.MoveNextSlow();
                return e;
            }

            /// <summary>One step through IterNext, with the full checks; sets <see cref="_hasCurrent"/> to the result.</summary>
            private void MoveNextSlow()
            {
                GoMap<TKey, TValue>? map = _map;
                if (_fastEpoch != NotFast)
                {
                    // Back from the inline walk's form to IterNext's. With no group bits the
                    // constructor armed it and nothing was committed since: IterNext's fields
                    // still hold the start. Otherwise resume after the current entry's slot of
                    // its bucket, then start the regular bucket after it (after the group's last
                    // bucket: the one _next points at).
                    _fastEpoch = NotFast;
                    if (_fastMask != 0)
                    {
                        int bit = BitOperations.TrailingZeroCount(_fastMask);
                        byte* b = BucketLayout<TKey, TValue>.GroupBucket(_bptr, bit);
                        byte* next = b == _tail ? _next : BucketLayout<TKey, TValue>.NextInMemory(b);
                        _bptr = b;
                        _i = (bit & (MapMath.BucketCnt - 1)) + 1;
                        ulong bucket = BucketLayout<TKey, TValue>.BucketsBetween(_buckets, next);
                        if (bucket == MapMath.BucketShift(_b))
                        {
                            bucket = 0;
                            _wrapped = true;
                        }

                        _bucket = bucket;
                    }
                }

                _mask = 0;
                _fast = false;
                if (map is null || _done)
                {
                    if (map is not null)
                    {
                        map.CheckUsable();
                    }

                    _hasCurrent = false;
                    _currentKey = default;
                    _currentVal = default;
                    return;
                }

                // The slot's epoch is read before the flags (BeginRead) and the ticket, and SetFlag
                // and UnregisterIterator bump it after they set a flag or clear a ticket: a flag
                // set or a registration ended after these checks changes the epoch the inline walk
                // compares. (No table: a disposed map, which BeginGuardedRead reports.) Not in a
                // Strict map, whose walk never goes inline: there this read would come before the
                // read is announced, so a Dispose on another thread could free the table under it
                // (found by review; it faults only where the table is a mapping of its own, some
                // thousand enumerators live).
                IterSlot* slots = map.RegistrationTable(_slot, out int index);
                long epoch = slots != null && (map._flags & FlagStrict) == 0 ? Volatile.Read(ref slots[index].Epoch) : NotFast;
                long token = map.BeginGuardedRead(GoMessages.ConcurrentIterationWrite, out ReaderRegistry.ReaderSlot? strictSlot);
                if (!map.RegistrationHolds(_slot, _ticket))
                {
                    AbandonRead(token);
                    ThrowHelper.ThrowEnumeratorEnded();
                }

                bool found;
                try
                {
                    found = map.IterNext(ref this, token);
                }
                catch
                {
                    AbandonRead(token);
                    throw;
                }

                map.EndGuardedRead(token, strictSlot, GoMessages.ConcurrentIterationWrite);
                _stepState = token & ~TokenAnnounced;
                _hasCurrent = found;
                if (!found)
                {
                    _done = true;
                    _currentKey = default;
                    _currentVal = default;
                    map.UnregisterIterator(_slot, _ticket);
                }
                else if (_fast && (map._flags & FlagStrict) == 0 && map.RegistrationTable(_slot, out _) == slots)
                {
                    // (A table that doubled since the epoch was read may have had its epochs
                    // bumped before that read: the walk would then compare a word nothing changes
                    // any more. The table read again after the epoch's acquiring read: if it is the
                    // same, any later doubling bumps the word.)
                    // IterNext allows the inline walk: hand it the position in its form (the
                    // rest of the bucket as a group of one).
                    _fastMask = MapMath.GatherSlotFlags(_mask | (0x80UL << ((_i - 1) * 8)));
                    _tail = _bptr;
                    _next = BucketLayout<TKey, TValue>.Bucket(_buckets, _bucket);
                    _stop = BucketLayout<TKey, TValue>.Bucket(_buckets, _wrapped ? _startBucket : MapMath.BucketShift(_b));
                    _epochWord = &slots[index].Epoch;
                    _fastEpoch = epoch;
                }
            }

            /// <summary>
            /// Releases the registration, so memory retired under this enumeration becomes
            /// releasable (later writes release it, a bounded piece each). O(1). Idempotent; a no-op after the map's disposal. Afterwards
            /// <see cref="MoveNext"/> returns false (a Dictionary enumerator would go on),
            /// <see cref="Current"/> keeps its value, and copies of this enumerator stop.
            /// </summary>
            public void Dispose()
            {
                if (_map is not null && !_done)
                {
                    _done = true;
                    _mask = 0;
                    _fast = false;
                    _fastEpoch = NotFast;
                    _map.UnregisterIterator(_slot, _ticket);
                }
            }

            /// <summary>
            /// Starts a new enumeration, as a new Go <c>range</c> would: from a new random start for
            /// the map's enumerator, from the start <see cref="Keys"/> and <see cref="Values"/>
            /// share for theirs. Works before, during and after an enumeration, and after writes
            /// (a Dictionary enumerator throws after writes). Cost: that of
            /// <see cref="Dispose"/> plus that of <see cref="GetEnumerator"/>; ends the registration
            /// that copies of this enumerator share.
            /// </summary>
            /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
            /// <exception cref="ConcurrentMapAccessException">As for <see cref="GetEnumerator"/>.</exception>
            /// <exception cref="OutOfMemoryException">The registration table could not be allocated or doubled.</exception>
            void IEnumerator.Reset() => Restart();

            /// <summary><see cref="IEnumerator.Reset"/>, callable from the key and value enumerators. A default enumerator stays empty.</summary>
            internal void Restart()
            {
                GoMap<TKey, TValue>? map = _map;
                if (map is null)
                {
                    return;
                }

                bool ordered = _ordered;
                Dispose();
                this = new Enumerator(map, ordered);
            }
        }

        /// <summary>
        /// One enumerator registration, on a cache line of its own (the table is 64-byte aligned):
        /// a registration that starts or ends in another slot, on another thread, does not take
        /// away the line whose epoch this slot's enumerator compares at every step.
        /// </summary>
        private struct IterSlot
        {
            /// <summary>
            /// In the locked table, the enumerator's ticket (0: the slot is free; tickets grow with
            /// registration order). Unused in the fast slots' table, whose tickets are their claim
            /// words (IterRegistration).
            /// </summary>
            internal ulong Ticket;

            /// <summary>Head of the deferred list when the enumerator started: it and every older block were already unreachable.</summary>
            internal byte* Boundary;

            /// <summary>
            /// The slot's walk epoch: bumped when its registration ends (UnregisterIterator; in the
            /// locked table under the registration lock, in the fast slots' without it: see
            /// UnregisterFast), when a flag is set (SetFlag: poisoned, disposed), and in an
            /// outgrown table when the table doubles (its copies then live in the new one).
            /// Never reset, so that a registration that takes the slot again never meets an
            /// earlier one's epoch. The enumerator's inline walk compares it, one load per entry,
            /// instead of reading its ticket and the flags: when they may have changed, the walk
            /// takes a checked step (MoveNextSlow), which checks them and reads it again.
            /// </summary>
            internal long Epoch;

            /// <summary>
            /// A fast slot's random state (splitmix64): the starts of the enumerations registered
            /// in it. All four start from the map's <see cref="IterRegistration.IterSeed"/>, so
            /// that with a fixed <see cref="GoMapOptions.Seed"/> a thread's enumerations start
            /// where they would in any other slot: which slot a thread takes depends on the
            /// threads the process ran before (IterSlotHint), and the orders must not. (Two
            /// enumerators live at once in two slots may start alike: Go promises a random start,
            /// not a different one.)
            /// </summary>
            internal ulong Rng;

            private long _pad0, _pad1, _pad2, _pad3; // to 64 bytes: one slot per line
        }
    }

    /// <summary>
    /// Each thread's first fast registration slot (GoMap.RegisterIterator): handed out in turn as
    /// threads first enumerate, so that up to four threads enumerating one map claim four
    /// different slots and never read each other's claim words; a thread that finds its slot
    /// taken starts at the one it got the next time, so that threads whose turns met (the fifth
    /// thread and the first, say) move apart. A thread-static read, where the thread's managed
    /// id was a call.
    /// </summary>
    internal static class IterSlotHint
    {
        [ThreadStatic]
        internal static int Current; // 0 until the thread's first registration; then 4 + its slot (the slot is the low two bits)

        private static int s_next;

        /// <summary>Gives this thread the next slot in turn, and returns it as <see cref="Current"/> holds it.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        internal static int Assign() => Current = 4 + (Interlocked.Increment(ref s_next) & 3);
    }

    /// <summary>
    /// The map's words that an enumeration writes, from whichever thread enumerates: the fast
    /// registration slots' claim words, a line apart so that no two share one
    /// (GoMap.RegisterIterator; slot 0's shares its line with the words below), and,
    /// for registrations beyond them, the registration lock, the live count and the last ticket
    /// issued; beside them the map's random state (hash seeds, incrnoverflow's sampling, the
    /// starts of the locked table's enumerations). They lie on cache lines that no other field of
    /// the map shares, whatever the map object's address (the GC aligns objects to 8 bytes only,
    /// so they have 64 bytes of padding on either side), so that enumerations on one thread do
    /// not take away the lines that lookups on another read (the state word, the published
    /// tables, the seed's secrets). The walk epochs that enumeration steps compare are in the
    /// registration slots (IterSlot), one line each. Not generic: the runtime refuses an
    /// explicit layout on a generic type, which a struct nested in GoMap would be. The map
    /// object is about 800 bytes with it, 480 without.
    /// </summary>
    /// <remarks>
    /// Measured (2026-12-04, README's VM, 16-entry <c>&lt;long,long&gt;</c> map): lookups on one
    /// thread while another thread enumerates the same map in a loop took 4.0-4.4 ns against
    /// 2.4-2.5 with that thread idle (a probe, four processes); with these words apart, 2.41-2.51
    /// either way. The quick comparison's <c>small</c> row <c>lookup_while_enumerated</c>,
    /// alternated against the commit before: 4.05-4.20 → 2.45-2.62 ns (Dictionary 2.58-2.67).
    /// Moving only the registration words (lock, count, ticket, and the map's walk epoch of then)
    /// changed nothing in the probe: the word the lookups lost their line to was the random
    /// state, written by every enumeration's start. Enumerations on two threads at once still
    /// share these words (two locked instructions per enumeration on this line, and its ticket
    /// and count); they also shared one walk epoch, which each enumeration's end bumped, sending
    /// every other walk of the map through a checked step, until the epochs moved into the
    /// registration slots (IterSlot.Epoch): 16-entry enumerations on two threads at once took
    /// 534-664 → 275-318 ns each (probe, best of five, three alternated pairs; the quick
    /// comparison's <c>enumerate_2threads</c> row 248-594 → 124-375 in five, too noisy to
    /// read), one thread alone 63-69 → 63-64, and the hot step's instructions did not change.
    /// The fast slots' claim words (2026-12-04, later) took the rest of that sharing away: see
    /// GoMap.RegisterIterator.
    /// </remarks>
    [StructLayout(LayoutKind.Explicit, Size = 344)]
    internal unsafe struct IterRegistration
    {
        /// <summary>
        /// The epoch word of every enumerator that holds no registration (an empty map's, armed
        /// at its end by its constructor): 0, never written. A native word, so that such an
        /// enumerator's step compares it as a registered one compares its slot's; allocated once
        /// per load of the library (each AppDomain or collectible context that loads it) and never
        /// freed: a domain or context still running the library's code may read it after the
        /// unload event, so a reload leaves these 8 bytes behind (README, domain reloads).
        /// </summary>
        internal static readonly long* IdleEpochWord = NewIdleEpochWord();

        private static long* NewIdleEpochWord()
        {
            long* p = (long*)Marshal.AllocHGlobal(sizeof(long));
            *p = 0;
            return p;
        }

        /// <summary>1 while a thread holds the registration lock (GoMap's EnterIterLock).</summary>
        [FieldOffset(64)] internal int Lock;

        /// <summary>Registered enumerators; while above 0, memory that writes retire is deferred.</summary>
        [FieldOffset(68)] internal int Live;

        /// <summary>The last ticket issued (0: none yet; tickets start at 1).</summary>
        [FieldOffset(72)] internal ulong NextTicket;

        /// <summary>
        /// The map's splitmix64 state (Go's fastrand): hash seeds, incrnoverflow's sampling and
        /// the random starts of the locked table's enumerations, drawn under the lock. Go promises
        /// a random start, not a different one from another enumeration's.
        /// </summary>
        [FieldOffset(80)] internal ulong Rng;

        /// <summary>
        /// The one seed of the fast slots' own states (IterSlot.Rng, which their enumerations'
        /// starts draw from), derived from <see cref="Rng"/> when the map is made without drawing
        /// from it: the first registration (an enumeration's or a WriteTo's, which draws no start)
        /// then changes neither the hash seeds to come nor the walks' starts. Read once, under the
        /// lock; written before the map is published.
        /// </summary>
        [FieldOffset(96)] internal ulong IterSeed;

        /// <summary>Longs from one claim word to the next: 64 bytes, so that no two share a line (slot 0's shares one with the lock, the live count, the ticket and the random state, words that enumerations write too).</summary>
        internal const int ClaimStride = 8;

        /// <summary>
        /// The claim word of fast registration slot 0; those of slots 1 to 3 follow, a line apart
        /// (GoMap.ClaimWord). Its low two bits are the slot's state (Free, Claiming, Registered,
        /// Releasing), the bits above count its registrations; Registered with its count is the
        /// registration's ticket. Claimed and released with a compare-and-swap by the enumerating
        /// thread alone, in the map object rather than the native table, so that a registration
        /// racing Dispose never writes into freed memory (GoMap.FinishClaim).
        /// </summary>
        [FieldOffset(88)] internal long Claim0;
        [FieldOffset(152)] private long _claim1;
        [FieldOffset(216)] private long _claim2;
        [FieldOffset(280)] private long _claim3;
    }
}
