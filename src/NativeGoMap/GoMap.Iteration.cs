using System;
using System.Threading;
using System.Collections;
using System.Collections.Generic;

namespace NativeGoMap
{
    // Iteration: Go's hiter, mapiterinit and mapiternext, plus the registration that keeps
    // retired memory alive for enumerators (see GoMap.Memory.cs for the rule).
    public sealed unsafe partial class GoMap<TKey, TValue>
    {
        private const ulong NoCheck = ulong.MaxValue; // Go's noCheck: the bucket being walked needs no filtering

        /// <summary>
        /// Starts an enumeration (Go's <c>for k, v := range m</c>). Cost: O(1) plus, the first time
        /// several enumerators are live at once, a small native registration table.
        /// </summary>
        /// <remarks>
        /// Go's semantics: the walk starts at a random bucket and slot offset, so two enumerations
        /// of the same map usually differ in order (reproducible with <see cref="GoMapOptions.Seed"/>).
        /// Every entry present for the whole enumeration is yielded exactly once; an entry removed
        /// before it is reached is not yielded; an entry added during the enumeration may or may
        /// not be yielded, never twice. Writes during an enumeration are allowed from the same
        /// thread (updates, inserts, removes, growth, <see cref="Clear"/>: no entry that existed
        /// before a clear is yielded after it). Memory the map retires while an enumerator is live
        /// is kept until the last live enumerator finishes or is disposed; an abandoned enumerator
        /// holds it until <see cref="Dispose"/>. A write from another thread during a step throws
        /// <see cref="ConcurrentMapAccessException"/> ("concurrent map iteration and map write").
        /// </remarks>
        /// <returns>A struct enumerator; <c>foreach</c> over the map allocates nothing.</returns>
        /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
        /// <exception cref="OutOfMemoryException">The registration table could not grow.</exception>
        public Enumerator GetEnumerator() => new Enumerator(this, ordered: false);

        /// <summary>Registers an enumerator; returns its slot and ticket.</summary>
        private int RegisterIterator(out ulong ticket)
        {
            lock (_iterLock)
            {
                CheckUsable();
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
                    IterSlot* slots = (IterSlot*)AllocBlock((ulong)n * (ulong)sizeof(IterSlot), zero: true);
                    if (_iterSlotCount != 0)
                    {
                        Buffer.MemoryCopy(_iterSlots, slots, (long)n * sizeof(IterSlot), (long)_iterSlotCount * sizeof(IterSlot));
                    }

                    // Another thread's enumerator may be reading the old table right now: retire it.
                    Retire((byte*)_iterSlots);
                    free = _iterSlotCount;
                    _iterSlots = slots;
                    _iterSlotCount = n;
                }

                // Everything already deferred was unreachable before this enumerator started:
                // it never waits on this enumerator (see ReclaimDeferred).
                ticket = ++_nextTicket;
                _iterSlots[free].Ticket = ticket;
                _iterSlots[free].Boundary = _deferred;
                _liveIterators++;
                return free;
            }
        }

        /// <summary>Ends a registration, once (copies of an enumerator share it); the last one frees deferred memory.</summary>
        private void UnregisterIterator(int slot, ulong ticket)
        {
            lock (_iterLock)
            {
                if ((Volatile.Read(ref _state) & StateDisposed) != 0 || slot >= _iterSlotCount || _iterSlots[slot].Ticket != ticket)
                {
                    return;
                }

                _iterSlots[slot] = default;
                _liveIterators--;
                ReclaimDeferred();
            }
        }

        /// <summary>Go's mapiternext: advances <paramref name="it"/> to the next entry, or returns false at the end.</summary>
        private bool IterNext(ref Enumerator it, long state)
        {
            ulong bucket = it._bucket;
            byte* b = it._bptr;
            int i = it._i;
            ulong checkBucket = it._checkBucket;
            if (it._clearSeq != _clearSeq)
            {
                // The map was cleared since the last step. Nothing left in the chain being walked
                // existed before the clear, and its buckets may since have been reused in another
                // chain (or, for the last preallocated one, point back at bucket 0 as the
                // sentinel): leave the chain and go on with the next bucket.
                it._clearSeq = _clearSeq;
                b = null;
            }

            while (true)
            {
                if (b == null)
                {
                    if (bucket == it._startBucket && it._wrapped)
                    {
                        return false;
                    }

                    if (!TrySnapshot(state, out GrowthSnapshot g))
                    {
                        ReadRaced(GoMessages.ConcurrentIterationWrite);
                    }

                    if (g.Old != null && it._b == g.B)
                    {
                        // The enumeration started in the middle of a growth that is not done. If
                        // the old bucket feeding this one is not evacuated yet, walk it instead,
                        // yielding only the entries bound for this bucket.
                        b = BucketLayout<TKey, TValue>.Bucket(g.Old, bucket & g.OldMask);
                        if (!MapMath.Evacuated(*b))
                        {
                            // Only a doubling splits an old chain between two new buckets. Decide
                            // it now: a same-size growth may follow before the walk is done.
                            checkBucket = g.SameSize ? NoCheck : bucket;
                        }
                        else
                        {
                            b = BucketLayout<TKey, TValue>.Bucket(it._buckets, bucket);
                            checkBucket = NoCheck;
                        }
                    }
                    else
                    {
                        b = BucketLayout<TKey, TValue>.Bucket(it._buckets, bucket);
                        checkBucket = NoCheck;
                    }

                    bucket++;
                    if (bucket == MapMath.BucketShift(it._b))
                    {
                        bucket = 0;
                        it._wrapped = true;
                    }

                    i = 0;
                }

                for (; i < MapMath.BucketCnt; i++)
                {
                    int offi = (i + it._offset) & (MapMath.BucketCnt - 1);
                    byte top = b[offi];
                    if (MapMath.IsEmpty(top) || top == MapMath.EvacuatedEmpty)
                    {
                        continue;
                    }

                    ref TKey k = ref BucketLayout<TKey, TValue>.Key(b, offi);
                    if (checkBucket != NoCheck)
                    {
                        // Walking an unevacuated old bucket for a doubling growth: skip the keys
                        // that will go to the other of its two new buckets.
                        if ((Hash(k) & MapMath.BucketMask(it._b)) != checkBucket)
                        {
                            continue;
                        }
                    }

                    byte* eb = b;
                    int ei = offi;
                    if (top == MapMath.EvacuatedX || top == MapMath.EvacuatedY)
                    {
                        // The table grew since the enumeration started: the entry lives elsewhere
                        // now (or was deleted). Its key is still readable here because retired
                        // memory outlives registered enumerators.
                        if (!FindEntry(k, state, out eb, out ei, out bool raced))
                        {
                            if (raced)
                            {
                                ReadRaced(GoMessages.ConcurrentIterationWrite);
                            }

                            continue;
                        }
                    }

                    it._curBucket = eb;
                    it._curSlot = ei;
                    it._current = new KeyValuePair<TKey, TValue>(BucketLayout<TKey, TValue>.Key(eb, ei), BucketLayout<TKey, TValue>.Value(eb, ei));
                    it._bucket = bucket;
                    it._bptr = b;
                    it._i = i + 1;
                    it._checkBucket = checkBucket;
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
            private readonly ulong _ticket;
            private readonly int _slot;
            private readonly bool _ordered;  // start from the map's write sequence (Keys, Values), not at random
            internal byte* _buckets;        // bucket array at start (it.buckets)
            internal int _b;                // B at start (it.B)
            internal ulong _startBucket;    // bucket the walk started at
            internal int _offset;           // slot offset within each bucket (it.offset)
            internal bool _wrapped;         // walked past the end back to bucket 0
            internal ulong _bucket;         // next bucket to start
            internal byte* _bptr;           // bucket being walked, or null between buckets
            internal int _i;                // next slot (before offset) in _bptr
            internal ulong _checkBucket;    // new bucket whose entries are picked from an old bucket, or NoCheck
            internal ulong _clearSeq;       // the map's clear count when the chain being walked was entered
            internal byte* _curBucket;      // where Current lives, for CurrentValueRef
            internal int _curSlot;
            internal KeyValuePair<TKey, TValue> _current;
            private long _stepState;        // the map's state word after the last step (for CurrentValueRef)
            private bool _done;
            private bool _hasCurrent;

            /// <summary>Go's mapiterinit. <paramref name="ordered"/>: take the start from <see cref="OrderedStart"/>, not the RNG.</summary>
            internal Enumerator(GoMap<TKey, TValue> map, bool ordered)
            {
                this = default;
                _map = map;
                _ordered = ordered;
                map.CheckUsable();
                if (map._count == 0)
                {
                    _done = true; // Go's mapiterinit: nothing to walk, nothing to register
                    return;
                }

                _slot = map.RegisterIterator(out _ticket);

                // B and the array must come from one state: a write racing this start (misuse)
                // could otherwise pair a larger B with a smaller array.
                long s = Volatile.Read(ref map._state);
                bool consistent = map.TrySnapshot(s, out GrowthSnapshot g);
                if ((s & StateBusy) != 0 || !consistent)
                {
                    map.UnregisterIterator(_slot, _ticket);
                    map.ReadRaced(GoMessages.ConcurrentIterationWrite);
                }

                _b = g.B;
                _buckets = g.Buckets;
                ulong r = ordered ? map.OrderedStart(s) : map.NextRandom();
                _startBucket = r & MapMath.BucketMask(map._b);
                _offset = (int)((r >> map._b) & (MapMath.BucketCnt - 1));
                _bucket = _startBucket;
                _checkBucket = NoCheck;
                _clearSeq = map._clearSeq;
            }

            /// <summary>
            /// The current entry: a copy taken when <see cref="MoveNext"/> found it; <c>default</c>
            /// before the first <see cref="MoveNext"/> and after the last, as for Dictionary. O(1).
            /// </summary>
            public readonly KeyValuePair<TKey, TValue> Current => _current;

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
            /// a second lookup. Valid until the next write to the map; reading it after a write
            /// throws <see cref="InvalidOperationException"/> rather than hand out a stale slot.
            /// </summary>
            /// <exception cref="InvalidOperationException">No current entry, the enumerator is disposed, or the map was written since.</exception>
            /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
            public readonly ref TValue CurrentValueRef
            {
                get
                {
                    if (!_hasCurrent || _done || _map is null)
                    {
                        ThrowHelper.ThrowNoCurrent();
                    }

                    long s = Volatile.Read(ref _map._state);
                    if (s != _stepState)
                    {
                        _map.ThrowIfDisposedOrPoisoned(s);
                        throw new InvalidOperationException("The map was written since the current entry was found; its value reference is stale.");
                    }

                    return ref BucketLayout<TKey, TValue>.Value(_curBucket, _curSlot);
                }
            }

            /// <summary>The current entry, boxed. Throws outside an entry, as Dictionary's does.</summary>
            /// <exception cref="InvalidOperationException">Before the first <see cref="MoveNext"/> or after the last.</exception>
            readonly object IEnumerator.Current => UntypedCurrent(_current);

            /// <summary>
            /// Advances to the next entry (Go's mapiternext). Amortized O(1) per entry; an entry
            /// moved by a growth since the enumeration started costs one lookup.
            /// </summary>
            /// <returns>False at the end, and on every call after the end or after <see cref="Dispose"/>;
            /// the registration is released at the end.</returns>
            /// <exception cref="ObjectDisposedException">The map is disposed.</exception>
            /// <exception cref="ConcurrentMapAccessException">A write ran on another thread during the step.</exception>
            /// <exception cref="InvalidOperationException">Another copy of this enumerator was disposed, finished or reset.</exception>
            public bool MoveNext()
            {
                GoMap<TKey, TValue>? map = _map;
                if (map is null || _done)
                {
                    if (map is not null)
                    {
                        map.CheckUsable();
                    }

                    _hasCurrent = false;
                    _current = default;
                    return false;
                }

                long s = Volatile.Read(ref map._state);
                if ((s & StateBusy) != 0)
                {
                    map.ReadBlocked(s, GoMessages.ConcurrentIterationWrite);
                }

                if (map._iterSlots[_slot].Ticket != _ticket)
                {
                    ThrowHelper.ThrowEnumeratorEnded();
                }

                // Announced as a read, so that Dispose on another thread (misuse) waits for the step.
                ReaderRegistry.ReaderSlot reader = ReaderRegistry.Enter(map._id, out long previous);
                bool found;
                try
                {
                    found = map.IterNext(ref this, s);
                    if (Volatile.Read(ref map._state) != s)
                    {
                        map.ReadRaced(GoMessages.ConcurrentIterationWrite);
                    }
                }
                finally
                {
                    ReaderRegistry.Exit(reader, previous);
                }

                _stepState = s;
                _hasCurrent = found;
                if (!found)
                {
                    _done = true;
                    _current = default;
                    map.UnregisterIterator(_slot, _ticket);
                }

                return found;
            }

            /// <summary>
            /// Releases the registration, so memory retired under this enumeration can be freed.
            /// O(1) plus that freeing. Idempotent; a no-op after the map's disposal. Afterwards
            /// <see cref="MoveNext"/> returns false (a Dictionary enumerator would go on),
            /// <see cref="Current"/> keeps its value, and copies of this enumerator stop.
            /// </summary>
            public void Dispose()
            {
                if (_map is not null && !_done)
                {
                    _done = true;
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
            /// <exception cref="OutOfMemoryException">The registration table could not grow.</exception>
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

        /// <summary>One enumerator registration.</summary>
        private struct IterSlot
        {
            /// <summary>The enumerator's ticket (0: the slot is free). Tickets grow with registration order.</summary>
            internal ulong Ticket;

            /// <summary>Head of the deferred list when the enumerator started: it and every older block were already unreachable.</summary>
            internal byte* Boundary;
        }
    }
}
