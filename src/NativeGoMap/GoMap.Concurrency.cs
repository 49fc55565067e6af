using System;
using System.Runtime.CompilerServices;
using System.Threading;

namespace NativeGoMap
{
    // The concurrency protocol: the one home of every check that catches concurrent misuse.
    // Every read goes through BeginRead/EndRead, every write through BeginWrite/EndWrite, every
    // write that restructures native memory through EnterStructural/ExitStructural, and the two
    // ConcurrencyChecks modes are the two behaviours of these methods. (The inline paths of the
    // lookups and of the set, TryAdd, GetValueRefOrAddDefault and Remove begin with the common
    // case of BeginRead or BeginWrite: TryBeginInlineRead or TryBeginInlineWrite (BeginRead's
    // own common case is TryBeginPlainRead); they hand every
    // other case to an out-of-line method that begins with BeginRead or BeginWrite. That method
    // of the lookups, GuardedRead, and the enumerator's slow step begin and end their read with
    // BeginGuardedRead and EndGuardedRead, which take a Strict map's read in line:
    // TryBeginStrictRead, BeginRead's Strict case, and EndStrictRead.)
    //
    //   _state  bit 0       hashWriting   a write is in progress
    //           bits 8-15   in place      bumped by a write that stored into one slot of a table not
    //                                     growing and moved, emptied and freed nothing: the fast
    //                                     paths' updates and inserts (EndWrite(StateInPlaceOne))
    //           bits 16-23  removals      bumped by a removal that only marked tophash bytes: the fast
    //                                     path's (EndWrite(StateRemovalOne))
    //           bit 24+     sequence      bumped by every other write (EndWrite()), and by a Go-mode
    //                                     Dispose (a Strict read sees the disposed flag: AnnounceRead)
    //           Each count's carry goes into the next (at worst a cheaper write looks like a dearer
    //           one). Every write changes the word, so a read can tell a write overlapped it; an
    //           enumerator's inline walk goes on across writes in place and removals (after one,
    //           dropping the slots it emptied from the group it is in) and stops at any other
    //           (Enumerator.WalkAllowed, Enumerator.WalkRest).
    //   _flags  bit 0   strict        ConcurrencyChecks.Strict (fixed at construction)
    //           bit 1   poisoned      a race was detected; _poisonMessage says which
    //           bit 2   disposed      Dispose has run
    //   _structural                   1 while a write grows, evacuates, allocates or frees
    //
    // _flags is changed only by interlocked operations, never by a plain read-modify-write, so
    // poisoning and disposal cannot be lost to a racing writer's plain store of _state. BeginWrite's
    // common case tests (_state & hashWriting) | _flags once: Strict maps, poisoned and disposed
    // maps and detections all leave the fast path through that one test. TryRead and
    // GetValueRefOrNullRef test hashWriting and the published plain-read table (GoMap.Access.cs),
    // the inline writes (set, TryAdd, GetValueRefOrAddDefault, Remove) hashWriting and the
    // published plain-write table; both are 0 whenever a flag is set (PublishPlainReadTable,
    // UpdateSlowWrites, SetFlag), so those maps leave their fast paths the same way.
    //
    // Go mode (the default) is Go's check at Go's cost. A write tests hashWriting and sets it with
    // a plain store (Go: h.flags ^= hashWriting), and at its end tests that it is still set (a
    // second writer that overlapped has cleared it) before clearing it and bumping the sequence.
    // Plain stores let two writers slip past each other now and then; so that they can never
    // both restructure native memory (two growths at once corrupt the ownership lists), the
    // restructuring part of a write takes _structural with one compare-and-swap, which only slow
    // paths pay. Memory a write retires is released by later writes only (GoMap.Memory.cs), so
    // an operation racing that write still points at mapped memory.
    //
    // Strict mode takes hashWriting with a compare-and-swap: every overlapping write is caught
    // before it touches memory. Reads announce themselves (ReaderRegistry) and a release of
    // retired bucket memory waits while any other thread announces a read of the map. The read
    // token then carries TokenAnnounced, so EndRead leaves its fast test and withdraws the
    // announcement on its slow path.
    //
    // Reads check the state word before and after (a seqlock): a read that sees a write in
    // progress, or a changed sequence afterwards, throws. On Arm64 a Go-mode lookup's second
    // check is not fenced after its loads, and a Go-mode write's plain stores may pass its
    // hashWriting store (ConcurrencyChecks.Go's summary): there the checks catch fewer races,
    // by choice, as Go's own map does. Strict reads fence before their second check
    // (EndStrictRead), and Strict writes take hashWriting with a compare-and-swap, a full fence.
    // Either way it is best effort in both modes: a
    // read racing a write may still have looked at memory the write was changing before it
    // notices; it never looks at released memory in Strict mode (a Dispose from user code that a
    // Strict read runs on the same thread is refused: BeginDispose). The enumerator's inline steps
    // (Go mode only) check before an entry's reads alone, as Go's mapiternext does, and a write
    // that begins during one is caught at the next; a step that moves to the next group of
    // buckets checks again after reading their tophash words, before it commits the group
    // (Enumerator.MoveNext).
    public sealed unsafe partial class GoMap<TKey, TValue>
    {
        private const long StateWriting = 1;
        private const long TokenAnnounced = 2;   // in a read token only, never in _state
        private const long StateInPlaceOne = 1L << 8;      // a write in place's bump (bits 8-15)
        private const long StateInPlaceBits = 0xFFL << 8;  // the count of writes in place in _state
        private const int StateRemovalShift = 16;          // where the removals' count begins in _state
        private const long StateRemovalOne = 1L << StateRemovalShift; // a removal's bump, one that only marked tophash bytes (bits 16-23)
        private const long StateRemovalBits = 0xFFL << 16; // the count of such removals in _state
        private const long StateSeqOne = 1L << 24;         // every other write's bump (bits 24 and up), and a Go-mode Dispose's
        private const int FlagStrict = 1;
        private const int FlagPoisoned = 2;
        private const int FlagDisposed = 4;

        private bool _simulatedWrite; // test hook: this thread holds hashWriting through SimulateWriteBegin

        /// <summary>
        /// Starts a read: throws when the map is disposed, poisoned or being written; in Strict
        /// mode announces the read. Returns the token to hand to <see cref="EndRead"/>, or to
        /// <see cref="AbandonRead"/> when user code throws in between.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private long BeginRead(string message)
        {
            if (!TryBeginPlainRead(out long s))
            {
                s = BeginReadSlow(s, message);
            }

            return s;
        }

        /// <summary>
        /// <see cref="BeginRead"/>'s common case, in line in it: true with the token in <paramref name="token"/>
        /// when the map is in Go mode, not disposed, not poisoned and not being written (a plain
        /// read: nothing to announce), else false. The state word first, as in BeginRead.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private bool TryBeginPlainRead(out long token)
        {
            token = Volatile.Read(ref _state);
            return (token & StateWriting) == 0 && _flags == 0;
        }

        /// <summary>
        /// The common case of <see cref="BeginRead"/> for the inline lookups (TryRead,
        /// GetValueRefOrNullRef), with the table they search: true when no write is in progress
        /// and <see cref="_plainReadTable"/> is set, which it is only in a Go-mode map that is
        /// neither poisoned nor disposed (so that one test covers the flags' test of
        /// <see cref="TryBeginPlainRead"/>), has a bucket array, does not grow and has no
        /// comparer. The state word first, as in BeginRead; a false return hands the whole read
        /// to an out-of-line BeginRead.
        /// </summary>
        /// <remarks>
        /// Measured (2026-12-03, README's VM, a probe of 1,000-entry <c>&lt;int,int&gt;</c> lookup
        /// hits, alternated pairs of processes): 2.24-2.38 → 2.19-2.21 ns per lookup with the
        /// flags' test gone from the loop. Find keeps its own word (<see cref="_quietTable"/>),
        /// set in Strict maps too: with this one there, Strict lookups searched out of line,
        /// about 10 % slower.
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private bool TryBeginInlineRead(out long token, out nuint table)
        {
            token = Volatile.Read(ref _state);
            table = Volatile.Read(ref _plainReadTable);
            return (token & StateWriting) == 0 && table != 0;
        }

        /// <summary>
        /// Publishes <see cref="_plainReadTable"/>: <paramref name="quiet"/> (the quiet table just
        /// published, or 0), or 0 when any flag is set. A detection on another thread may set a
        /// flag during this write (misuse): <see cref="SetFlag"/> clears the word after its
        /// interlocked update, and this looks at the flags again after a full fence, so that
        /// whichever runs last, a poisoned or disposed map never keeps the word (its reads must go
        /// on throwing).
        /// </summary>
        private void PublishPlainReadTable(nuint quiet)
        {
            if (quiet == 0 || Volatile.Read(ref _flags) != 0)
            {
                Volatile.Write(ref _plainReadTable, (nuint)0);
                return;
            }

            if (Volatile.Read(ref _plainReadTable) == quiet)
            {
                // Published already (a write that changed no table: see Publish): no store, so no
                // fence. Storing nothing cannot undo a SetFlag that clears the word after this
                // read; one that cleared it before left 0 here, which takes the path below.
                return;
            }

            Volatile.Write(ref _plainReadTable, quiet);
            Thread.MemoryBarrier();
            if (Volatile.Read(ref _flags) != 0)
            {
                Volatile.Write(ref _plainReadTable, (nuint)0);
            }
        }

        /// <summary>
        /// Ends a read: throws when a write ran during it; in Strict mode withdraws the
        /// announcement first. Go mode's check is not fenced after the read's loads, which Arm64
        /// may complete after it (see <see cref="ConcurrencyChecks.Go"/>).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void EndRead(long token, string message)
        {
            if (Volatile.Read(ref _state) != token)
            {
                EndReadSlow(token, message);
            }
        }

        /// <summary>Withdraws a Strict read's announcement when user code threw inside the read.</summary>
        private static void AbandonRead(long token)
        {
            if ((token & TokenAnnounced) != 0)
            {
                ReaderRegistry.Exit();
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private long BeginReadSlow(long s, string message)
        {
            ThrowIfDisposedOrPoisoned(Volatile.Read(ref _flags));
            if ((s & StateWriting) != 0)
            {
                Detected(message, insideWrite: false);
            }

            AnnounceRead(s, message);
            return s | TokenAnnounced;
        }

        /// <summary>
        /// Strict: announces a read of this map on this thread before it loads any pointer, then
        /// looks at the state word again (still <paramref name="s"/>) and at the flags: Dispose
        /// does not change the state word, and once it has seen no read announced it frees
        /// everything (found by a review of the protocol). Withdraws the announcement and throws
        /// (disposed, poisoned, or <paramref name="message"/>) when either changed. For reads and
        /// for each stretch of WriteTo's walk.
        /// </summary>
        /// <remarks>Returns this thread's announcement slot, whose <see cref="ReaderRegistry.ReaderSlot.Exit"/> withdraws the announcement without a second thread-static lookup.</remarks>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private ReaderRegistry.ReaderSlot AnnounceRead(long s, string message)
        {
            if (!TryAnnounceRead(s, out ReaderRegistry.ReaderSlot slot))
            {
                ThrowReadRaced(message);
            }

            return slot;
        }

        /// <summary>
        /// <see cref="AnnounceRead"/> that declines instead of throwing: false, the announcement
        /// withdrawn, when the state word is no longer <paramref name="s"/> or the map is
        /// poisoned or disposed. For the debugger view, which must not poison the map it looks at.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private bool TryAnnounceRead(long s, out ReaderRegistry.ReaderSlot slot)
        {
            slot = ReaderRegistry.Enter(_id);
            if (Volatile.Read(ref _state) != s || (Volatile.Read(ref _flags) & (FlagPoisoned | FlagDisposed)) != 0)
            {
                slot.Exit();
                return false;
            }

            return true;
        }

        /// <summary>
        /// BeginRead's Strict case, in line in <see cref="BeginGuardedRead"/>'s callers (the
        /// lookups' GuardedRead, the enumerator's slow step), in a Strict map that no write holds:
        /// announces the read (<see cref="AnnounceRead"/>) and returns true with the token and this
        /// thread's slot, for <see cref="EndStrictRead"/>. False, having announced nothing, for
        /// every other map, whose read then begins with BeginRead.
        /// </summary>
        /// <remarks>
        /// Through BeginRead and EndRead a Strict lookup made two more out-of-line calls
        /// (BeginReadSlow, EndReadSlow) and found its thread's slot twice. Measured (2026-12-03,
        /// README's VM, a probe of 1,000-entry <c>&lt;long,long&gt;</c> hits, two alternated
        /// pairs): 10.9-11.2 → 6.9-7.0 ns per lookup; Go-mode lookups in the same processes
        /// 2.9-3.1 ns both ways.
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private bool TryBeginStrictRead(string message, out long token, out ReaderRegistry.ReaderSlot? slot)
        {
            long s = Volatile.Read(ref _state);
            if (((s & StateWriting) | (uint)(Volatile.Read(ref _flags) ^ FlagStrict)) != 0)
            {
                token = s;
                slot = null;
                return false;
            }

            slot = AnnounceRead(s, message);
            token = s | TokenAnnounced;
            return true;
        }

        /// <summary>
        /// <see cref="BeginRead"/> for a caller that ends the read with
        /// <see cref="EndGuardedRead"/>: a Strict map's read
        /// begins in line (<see cref="TryBeginStrictRead"/>) and hands back this thread's
        /// announcement slot in <paramref name="slot"/>; any other read begins with BeginRead
        /// (<paramref name="slot"/> null). For the reads made once per operation out of line: the
        /// lookups' GuardedRead and the enumerator's slow step.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private long BeginGuardedRead(string message, out ReaderRegistry.ReaderSlot? slot)
        {
            if (!TryBeginStrictRead(message, out long token, out slot))
            {
                token = BeginRead(message);
            }

            return token;
        }

        /// <summary>Ends a read that <see cref="BeginGuardedRead"/> began.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void EndGuardedRead(long token, ReaderRegistry.ReaderSlot? slot, string message)
        {
            if (slot is not null)
            {
                EndStrictRead(token, slot, message);
            }
            else
            {
                EndRead(token, message);
            }
        }

        /// <summary><see cref="EndRead"/> for a read that <see cref="TryBeginStrictRead"/> began: withdraws the announcement, then throws when a write ran during the read.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void EndStrictRead(long token, ReaderRegistry.ReaderSlot slot, string message)
        {
            slot.Exit();
            Fences.LoadsBeforeLaterAccesses(); // the read's loads before the check (Arm64: see Fences)
            if (Volatile.Read(ref _state) != (token & ~TokenAnnounced))
            {
                ThrowReadRaced(message);
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private void EndReadSlow(long token, string message)
        {
            if ((token & TokenAnnounced) != 0)
            {
                EndStrictRead(token, ReaderRegistry.ThisThreadSlot, message);
                return;
            }

            ThrowReadRaced(message);
        }

        /// <summary>The throw of a read that met a write, a disposal or a poisoning: the flags' exception first, else <paramref name="message"/>.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private void ThrowReadRaced(string message)
        {
            ThrowIfDisposedOrPoisoned(Volatile.Read(ref _flags));
            Detected(message, insideWrite: false);
        }

        /// <summary>Takes hashWriting, or throws for a disposed, poisoned or concurrently written map.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void BeginWrite() => BeginWrite(KeysRunUserCode);

        /// <summary>
        /// <see cref="BeginWrite()"/> for a write that has already decided
        /// <see cref="KeysRunUserCode"/> (passed as <paramref name="keysRunUserCode"/>): the fast
        /// writes decide it once, before hashing, and the test is not repeated after the store to
        /// the state word (which the JIT does not move loads across).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void BeginWrite(bool keysRunUserCode)
        {
            if (!TryBeginPlainWrite())
            {
                BeginWriteSlow();
            }

            // Only keys whose comparison or hash runs user code can call back into the map
            // during this write; only they need the writer's thread recorded (see WaitForWriter and BeginDispose).
            if (keysRunUserCode)
            {
                _writer = Environment.CurrentManagedThreadId;
            }
        }

        /// <summary>
        /// <see cref="BeginWrite(bool)"/>'s common case: in Go mode, on a map that is not disposed,
        /// poisoned or being written, takes hashWriting with a plain store (as Go's
        /// <c>h.flags ^= hashWriting</c>) and returns true; else changes nothing and returns false.
        /// The inline writes begin with <see cref="TryBeginInlineWrite"/> instead, which takes
        /// hashWriting the same way (keep the two in step).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private bool TryBeginPlainWrite()
        {
            long s = Volatile.Read(ref _state);
            if (((s & StateWriting) | (uint)_flags) != 0)
            {
                return false;
            }

            Volatile.Write(ref _state, s | StateWriting);
            return true;
        }

        /// <summary>
        /// <see cref="TryBeginPlainWrite"/> for the inline writes (the indexer's set, TryAdd,
        /// GetValueRefOrAddDefault, Remove), with the table they write: true, hashWriting taken, when no write is in
        /// progress and <see cref="_plainWriteTable"/> is set, which it is only in a Go-mode map
        /// that is neither poisoned nor disposed, has a bucket array and no comparer, and whose
        /// writes need no slow path (no growth, no resize step, no memory waiting for release).
        /// One word stands for the flags' test here and for the comparer's, the slow-write flag's
        /// and the table's loads after it, as <see cref="TryBeginInlineRead"/>'s does for reads.
        /// </summary>
        /// <remarks>
        /// Measured (2026-12-03, README's VM, three alternated quick comparisons at 1,000 entries
        /// against the same library with <see cref="TryBeginPlainWrite"/> there, both with the
        /// constructor kept out of line): GoMap's updates 2.79-3.07 → 2.58-2.76 ns for
        /// <c>&lt;int&gt;</c>, 2.87-3.03 → 2.80-2.83 for <c>&lt;long&gt;</c>; inserts with a hint
        /// 4.60-4.69 → 4.27-4.49 and 4.83-4.87 → 4.55-4.65; clear_refill 3-5 % faster; removes
        /// and <c>&lt;Guid&gt;</c> within the noise. Four instructions and three loads fewer per
        /// write (the comparer's test, the flags' load, the slow-write flag's test and the
        /// table's load, against this word's load and test).
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private bool TryBeginInlineWrite(out nuint table)
        {
            long s = Volatile.Read(ref _state);
            table = Volatile.Read(ref _plainWriteTable);
            if ((s & StateWriting) != 0 || table == 0)
            {
                return false;
            }

            Volatile.Write(ref _state, s | StateWriting);
            return true;
        }

        /// <summary>The table a write that holds hashWriting may search on the fast path (<see cref="TryAssignFast"/>, <see cref="DeleteNoThrow"/>, <see cref="Delete"/>), or 0 when it must take the slow path.</summary>
        private nuint FastWriteTable() => _slowWrites == 0 ? _table : 0;

        /// <summary>
        /// Releases hashWriting and bumps the write sequence. In Go mode, first checks that the
        /// flag is still set: a writer that overlapped this one has cleared it (Go's check at the
        /// end of mapassign and mapdelete). Any write may end here, which stops enumerators' inline
        /// walks at their next step; a write in place or a removal that only marked bytes may end in <see cref="EndWrite(long)"/> instead.
        /// </summary>
        /// <remarks>
        /// Tried and not kept (2026-12-02): storing the value the write began with plus the bump
        /// (kept in a register from <see cref="TryBeginPlainWrite"/>) instead of the reloaded
        /// word plus the bump, so that consecutive writes' state words would not chain through two
        /// store-to-load forwards. Three alternated quick comparisons at 1,000 entries: no write
        /// got faster (<c>&lt;int&gt;</c> update 2.82-2.90 → 3.03-3.07 ns, <c>&lt;long&gt;</c>
        /// 2.97-3.04 → 3.07-3.17, removes and inserts unchanged).
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void EndWrite()
        {
            // The writer's record ends with its write (every write that records it ends here):
            // a record left over from this thread's earlier write would pass another thread's
            // write, begun but not yet recorded, for this thread's own, and BeginDispose would
            // then free the memory under it (found by review, 2026-12-05). A plain store, ordered
            // before the state word's release store.
            _writer = 0;
            EndWrite(StateSeqOne);
        }

        /// <summary>
        /// <see cref="EndWrite()"/> with the count <paramref name="bump"/> names: <see cref="StateSeqOne"/>
        /// for any write; <see cref="StateInPlaceOne"/> for a write in place, one that stored a key
        /// and value into one slot (an update, or an insert into a free slot) of a table that is
        /// not growing, or stored nothing, and moved, emptied, linked and freed nothing;
        /// <see cref="StateRemovalOne"/> for a removal that only marked tophash bytes (emptyOne,
        /// emptyRest) in such a table. After those two an enumerator's inline walk goes on at its
        /// next step: the entries it has yet to yield are where they were, a new one may be
        /// yielded or not, as Go's iteration allows, and a removal's emptied slots are dropped from
        /// the group the walk is in (Go's <c>for k, v := range m { m[k] = f(v) }</c> and
        /// <c>if drop(v) { delete(m, k) }</c>, which <c>Dictionary</c> allows during enumeration
        /// too since .NET Core 3.0). A read still sees the word change. Only the inline writes'
        /// fast paths end so: a growth due, a full chain, a growing map, memory to reclaim,
        /// indirect blocks all take the slow paths, which end with <see cref="EndWrite()"/>.
        /// </summary>
        /// <remarks>
        /// Measured on the README's VM (2026-12-05, probe, 1,000 <c>&lt;long,long&gt;</c>
        /// entries): a foreach that sets each entry through the indexer took 40.9-41.4 ns per
        /// entry with every write bumping the sequence (each step after a write a checked slow
        /// step), against 4.1 for <c>Dictionary</c> and 3.6 through
        /// <see cref="Enumerator.CurrentValueRef"/>. Telling the fast path's updates from its
        /// inserts at the end cost updates 13 % (the JIT materialized the flag and selected the
        /// bump); both are in place, so neither needs to.
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void EndWrite(long bump)
        {
            long s = _state;
            if ((s & StateWriting) == 0)
            {
                // Detected does not return. Saying so here keeps s out of the call's way: the JIT
                // kept it on the stack across the call, a store and a load in every write.
                Detected(GoMessages.ConcurrentWrites, insideWrite: true);
                return;
            }

            Volatile.Write(ref _state, s + (bump - StateWriting)); // hashWriting is set: clear it, bump a count
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private void BeginWriteSlow()
        {
            while (true)
            {
                ThrowIfDisposedOrPoisoned(Volatile.Read(ref _flags));
                long s = Volatile.Read(ref _state);
                if ((s & StateWriting) != 0)
                {
                    Detected(GoMessages.ConcurrentWrites, insideWrite: false);
                }

                if ((_flags & FlagStrict) == 0)
                {
                    Volatile.Write(ref _state, s | StateWriting);
                    return;
                }

                if (KeysRunUserCode && ReaderRegistry.ThisThreadReading(_id))
                {
                    // A write from user code that a read of this map runs on this thread (only a
                    // comparer or a key's own equality runs inside a read): caught before it
                    // touches memory, as a write on another thread is (found by review). Keys
                    // that run no user code skip the thread-static lookup: update_strict at 1,000
                    // <long,long> went from 10.0-10.3 to 10.8-12.2 ns with it.
                    Detected(GoMessages.ConcurrentReadWrite, insideWrite: false);
                }

                if (Interlocked.CompareExchange(ref _state, s | StateWriting, s) == s)
                {
                    // A poisoning or Dispose that raced the compare-and-swap: both set their flag
                    // with a full fence and then look at hashWriting, so one side sees the other.
                    int f = Volatile.Read(ref _flags);
                    if ((f & (FlagPoisoned | FlagDisposed)) != 0)
                    {
                        Volatile.Write(ref _state, s);
                        ThrowIfDisposedOrPoisoned(f);
                    }

                    return;
                }

                // Lost a race to another writer: look again (the next round detects it).
            }
        }

        /// <summary>
        /// Takes the right to restructure native memory (grow, evacuate, allocate, free) for the
        /// rest of a slow write step. In Go mode this compare-and-swap is what keeps two writers
        /// that both got past the plain hashWriting test from corrupting the ownership lists; in
        /// Strict mode the write already excludes every other write and it never fails.
        /// </summary>
        private void EnterStructural()
        {
            if (Interlocked.CompareExchange(ref _structural, 1, 0) != 0)
            {
                Detected(GoMessages.ConcurrentWrites, insideWrite: true);
            }
        }

        /// <summary>
        /// <see cref="EnterStructural"/> for work that a write may leave undone
        /// (<see cref="TrimEmptyTail"/>): false, with nothing detected, when another writer holds
        /// the right (misuse, which that write's or this one's state check reports).
        /// </summary>
        private bool TryEnterStructural() => Interlocked.CompareExchange(ref _structural, 1, 0) == 0;

        /// <summary>Ends <see cref="EnterStructural"/> and <see cref="TryEnterStructural"/>.</summary>
        private void ExitStructural() => Volatile.Write(ref _structural, 0);

        /// <summary>For members that only read a field: throws when disposed or poisoned.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void CheckUsable()
        {
            int f = Volatile.Read(ref _flags);
            if ((f & (FlagPoisoned | FlagDisposed)) != 0)
            {
                ThrowIfDisposedOrPoisoned(f);
            }
        }

        private void ThrowIfDisposedOrPoisoned(int flags)
        {
            if ((flags & FlagDisposed) != 0)
            {
                ThrowHelper.ThrowDisposed(GetType());
            }

            if ((flags & FlagPoisoned) != 0)
            {
                ThrowHelper.ThrowConcurrent(Volatile.Read(ref _poisonMessage) ?? GoMessages.ConcurrentWrites);
            }
        }

        /// <summary>
        /// <see cref="Enumerator.CurrentValueRef"/> after the map's word moved since the step: a
        /// write in progress now is a race (Go's detection, as a step's), one that ended makes the
        /// reference stale (<see cref="InvalidOperationException"/>), which cannot tell this
        /// thread's earlier write from another thread's. Found by a review's chaos harness
        /// (2026-12-05): a write in progress got the stale-reference exception, unpoisoned.
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        [System.Diagnostics.CodeAnalysis.DoesNotReturn]
        internal void ThrowStaleValueRef()
        {
            if ((Volatile.Read(ref _state) & StateWriting) != 0)
            {
                Detected(GoMessages.ConcurrentIterationWrite, insideWrite: false);
            }

            ThrowHelper.ThrowStaleValueRef();
        }

        /// <summary>
        /// A race was detected: with FailFast the process ends as Go's fatal error does; otherwise
        /// the map is poisoned and the caller throws. <paramref name="insideWrite"/>: this thread
        /// holds hashWriting, so the poisoning must not wait for the write in progress.
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private void Detected(string message, bool insideWrite)
        {
            if (_failFast)
            {
                Environment.FailFast(message);
            }

            PoisonWhileWriting(message);
            if (!insideWrite)
            {
                _ = WaitForWriter(stopAtDispose: true); // a courtesy: this thread only throws after it
            }

            ThrowHelper.ThrowConcurrent(Volatile.Read(ref _poisonMessage) ?? message);
        }

        /// <summary>
        /// Poisons the map without throwing (the first message recorded wins): for a write whose
        /// work broke halfway, whose caller rethrows what broke it, and for <see cref="Detected"/>,
        /// which throws after it. The state can no longer be trusted.
        /// </summary>
        private void PoisonWhileWriting(string message)
        {
            Interlocked.CompareExchange(ref _poisonMessage, message, null);
            _ = SetFlag(FlagPoisoned);
        }

        /// <summary>
        /// Waits until no write is in progress, unless the write in progress is this thread's own
        /// (a comparer that called back into the map), and returns true; once poisoned, no write
        /// starts again, and a write in correct code never blocks. Returns false, giving up, when
        /// <paramref name="stopAtDispose"/> and the map is disposed (Dispose holds the right to
        /// restructure for good), or after <see cref="WriterWaitLimitMilliseconds"/>: a write
        /// that another thread's misuse made throw halfway (Go mode, following a pointer into a
        /// block the C heap reused) never ends, and its hashWriting flag stays set. Found by a
        /// review's chaos harness (2026-12-05): both hung the detecting writer, and the second
        /// every later Dispose, for ever.
        /// </summary>
        private bool WaitForWriter(bool stopAtDispose)
        {
            SpinWait spin = default;
            long deadline = 0;
            while ((Volatile.Read(ref _state) & StateWriting) != 0 || Volatile.Read(ref _structural) != 0)
            {
                // _writer is recorded only where a write can call back (user-code keys, and the test hook).
                if (Volatile.Read(ref _writer) == Environment.CurrentManagedThreadId && (KeysRunUserCode || _simulatedWrite))
                {
                    return true;
                }

                if ((stopAtDispose && (Volatile.Read(ref _flags) & FlagDisposed) != 0) || WaitedTooLong(ref deadline))
                {
                    return false;
                }

                spin.SpinOnce();
            }

            return true;
        }

        /// <summary>How long <see cref="WaitForWriter"/> and Dispose's wait for the right to restructure wait for a write to end before they give up (misuse only).</summary>
        internal static int WriterWaitLimitMilliseconds = 2000;

        /// <summary>Whether a wait that began at its first call (<paramref name="deadline"/> 0, set then) has passed <see cref="WriterWaitLimitMilliseconds"/>.</summary>
        private static bool WaitedTooLong(ref long deadline)
        {
            long now = System.Diagnostics.Stopwatch.GetTimestamp(); // netstandard2.1 has no Environment.TickCount64
            if (deadline == 0)
            {
                deadline = now + (WriterWaitLimitMilliseconds * System.Diagnostics.Stopwatch.Frequency / 1000);
                return false;
            }

            return now > deadline;
        }

        /// <summary>
        /// Sets a bit of <see cref="_flags"/> with a full fence (never a plain store, see above), then
        /// clears the plain-read table and bumps the enumerators' walk epochs. True when this call
        /// set it, false when it was set already.
        /// </summary>
        private bool SetFlag(int flag)
        {
            int f = Volatile.Read(ref _flags);
            while ((f & flag) == 0)
            {
                int seen = Interlocked.CompareExchange(ref _flags, f | flag, f);
                if (seen == f)
                {
                    Volatile.Write(ref _plainReadTable, (nuint)0); // TryRead and GetValueRefOrNullRef take BeginRead's slow path (see PublishPlainReadTable)
                    Volatile.Write(ref _plainWriteTable, (nuint)0); // the inline writes take BeginWrite's (see UpdateSlowWrites)
                    // Enumerators' inline walks stop at their next step: every registration slot's
                    // epoch bumped (outgrown tables' were when they were outgrown; an unregistered
                    // enumerator's end checks the flags itself). Under the registration lock, as
                    // every bump of a locked slot (UnregisterIterator): one writer of such an epoch
                    // at a time, so a plain increment never loses another's. A fast slot's end
                    // bumps its epoch without the lock: those increments are interlocked, and a
                    // racing end's plain store does no harm (UnregisterFast's remarks).
                    EnterIterLock();
                    BumpEpochs(_iterSlots, _iterSlotCount);
                    if (_fastIterSlots != null)
                    {
                        for (int k = 0; k < FastIterSlots; k++)
                        {
                            Interlocked.Increment(ref _fastIterSlots[k].Epoch);
                        }
                    }

                    ExitIterLock();
                    return true;
                }

                f = seen;
            }

            return false;
        }

        /// <summary>
        /// Marks the map disposed and waits until nothing touches its memory. False when it
        /// already was disposed, or when a write that another thread's misuse left unfinished
        /// (see <see cref="WaitForWriter"/>) did not end within <see cref="WriterWaitLimitMilliseconds"/>:
        /// the memory is then the finalizer's to free. Dispose during another thread's write is a concurrent write
        /// (detected, the map poisoned and left for a later Dispose or the finalizer); a poisoned
        /// map may be disposed once the write that raced has finished. A Dispose from user code
        /// that an operation of this map runs on this thread (a comparer, a key's equality or
        /// hash) would free memory that operation still walks: inside a write (both modes) or a
        /// Strict read it is detected and the map is not disposed, poisoned or not; inside a
        /// Go-mode read, which leaves no trace to find, the read fails at its end check instead
        /// with <see cref="ObjectDisposedException"/> (the state word's sequence moves on here),
        /// having read memory that may be freed.
        /// </summary>
        private bool BeginDispose()
        {
            if ((Volatile.Read(ref _flags) & FlagDisposed) != 0)
            {
                return false;
            }

            if (KeysRunUserCode)
            {
                // Only such keys run user code inside an operation. This thread's own write (its
                // _writer record) or Strict read (its announcement) cannot finish before this
                // call returns, so neither waiting for it nor freeing under it is possible (found
                // by review: the first spun forever on the structural right, the second freed
                // the array the write then stored into).
                if ((Volatile.Read(ref _state) & StateWriting) != 0 && Volatile.Read(ref _writer) == Environment.CurrentManagedThreadId)
                {
                    Detected(GoMessages.ConcurrentWrites, insideWrite: true);
                }

                if ((_flags & FlagStrict) != 0 && ReaderRegistry.ThisThreadReading(_id))
                {
                    Detected(GoMessages.ConcurrentReadWrite, insideWrite: true);
                }
            }

            if ((Volatile.Read(ref _flags) & FlagPoisoned) == 0 && (Volatile.Read(ref _state) & StateWriting) != 0)
            {
                Detected(GoMessages.ConcurrentWrites, insideWrite: false);
            }

            if (!SetFlag(FlagDisposed))
            {
                return false; // another thread's Dispose got there first
            }

            // New operations now see the disposed flag. A write already inside (misuse after a
            // detection) finishes first; then nothing can take the structural right again. A
            // write that does not end (it threw halfway under misuse) makes this Dispose give up:
            // the map stays disposed with its memory, which the finalizer frees once nothing
            // refers to the map, so no write can still be in it then.
            long deadline = 0;
            if (!WaitForWriter(stopAtDispose: false))
            {
                return false;
            }

            while (Interlocked.CompareExchange(ref _structural, 1, 0) != 0)
            {
                if (WaitedTooLong(ref deadline))
                {
                    return false;
                }

                Thread.Yield();
            }

            // Go mode: a read in progress (misuse) fails at its end check (ObjectDisposedException),
            // as it would for a write, since Go-mode reads announce nothing to wait for. A Strict
            // read in progress is waited for below and ends normally.
            if ((_flags & FlagStrict) == 0)
            {
                Interlocked.Add(ref _state, StateSeqOne);
            }

            // Strict: a read already inside (misuse) finishes first.
            SpinWait spin = default;
            while ((_flags & FlagStrict) != 0 && ReaderRegistry.AnyReading(_id))
            {
                spin.SpinOnce();
            }

            return true;
        }

        /// <summary>Test hook: pretends the map holds <paramref name="count"/> entries (no test can insert 2^31).</summary>
        internal void SetCountForTest(long count) => _count = count;

        /// <summary>Test hook: the poisoned state, as a detection leaves it.</summary>
        internal bool IsPoisoned => (Volatile.Read(ref _flags) & FlagPoisoned) != 0;

        /// <summary>Test hook: the message a detection recorded, or null.</summary>
        internal string? PoisonMessage => Volatile.Read(ref _poisonMessage);

        /// <summary>Test hook: true when the map runs the Strict checks.</summary>
        internal bool IsStrict => (_flags & FlagStrict) != 0;

        /// <summary>Test hook: simulates a write in progress on another thread (hashWriting held) until <see cref="SimulateWriteEnd"/>.</summary>
        internal void SimulateWriteBegin()
        {
            BeginWrite();
            _writer = Environment.CurrentManagedThreadId;
            _simulatedWrite = true;
        }

        /// <summary>Ends <see cref="SimulateWriteBegin"/>.</summary>
        internal void SimulateWriteEnd()
        {
            _simulatedWrite = false;
            EndWrite();
        }
    }
}
