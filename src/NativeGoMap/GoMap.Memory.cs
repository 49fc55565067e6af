using System;

namespace NativeGoMap
{
    // Ownership of native memory. Every block has exactly one owner and one path that frees it:
    //
    //   block                              owner                          freed by
    //   current bucket array               _buckets                       growth end (as old), Dispose
    //   old bucket array                   _oldBuckets                    growth end, Clear, Dispose
    //   allocated overflow bucket          _overflow / _oldOverflow list  generation retired, Clear, Dispose
    //   reserved overflow bucket           _spare list                    Dispose (or linked: moves to _overflow)
    //   indirect key / value block         the live slot holding it       Remove, Clear, Dispose (moves on evacuation)
    //   list storage, enumerator slots     the list / the registry        resize, Dispose
    //
    // "Retire" is how a block leaves the map while something may still read it. Go's garbage
    // collector keeps an old bucket array alive for as long as an iterator holds it; here, a
    // retired block goes on the deferred list (linked through its NativeHeap header, so retiring
    // never allocates) and is freed at a reclaim point once nothing can read it:
    //   - indirect key/value blocks are read by enumerators only (a lookup racing a write reads
    //     at worst a stale small heap block, which stays mapped): deferred while an enumerator
    //     is registered, else freed at once;
    //   - bucket memory (arrays, overflow buckets) may also be read by a lookup racing a write on
    //     another thread, which would fault on an unmapped array: always deferred, then freed by
    //     ReclaimDeferred when no enumerator is registered and no thread announces a read
    //     (ReaderRegistry). Reclaim points: growth start and end, Clear, the last enumerator
    //     finishing; Dispose waits for announced reads and frees everything.
    public sealed unsafe partial class GoMap<TKey, TValue>
    {
        /// <summary>Allocates a block charged to this map.</summary>
        internal byte* AllocBlock(ulong size, bool zero, int align = 16)
        {
            byte* p = NativeHeap.Alloc(size, zero, align);
            _nativeBytes += NativeHeap.ChargedSize(p);
            return p;
        }

        /// <summary>Frees a block of this map now; null is ignored.</summary>
        internal void FreeBlock(byte* p)
        {
            if (p == null)
            {
                return;
            }

            _nativeBytes -= NativeHeap.ChargedSize(p);
            NativeHeap.Free(p);
        }

        /// <summary>Frees a block the map no longer reaches, or defers it while enumerators may read it.</summary>
        private void Retire(byte* p)
        {
            if (p == null)
            {
                return;
            }

            if (_liveIterators == 0)
            {
                FreeBlock(p);
                return;
            }

            // THE RULE: an enumerator may hold a pointer into any block the map has retired since
            // it started (its bucket array, an overflow bucket of its chain, an indirect key it
            // looks up again). Such blocks wait on the deferred list (see ReclaimDeferred).
            Defer(p);
        }

        /// <summary>
        /// Takes bucket memory (an array or an overflow bucket) out of the map. Bucket memory may
        /// be in use by a read on another thread as well as by enumerators, so it always goes to
        /// the deferred list; the operation that retired it then calls <see cref="ReclaimDeferred"/>.
        /// </summary>
        private void RetireBucketMemory(byte* p)
        {
            if (p != null)
            {
                Defer(p);
            }
        }

        /// <summary>Pushes a block on the deferred list (newest first), linked through its header: never allocates.</summary>
        private void Defer(byte* p)
        {
            NativeHeap.Next(p) = _deferred;
            _deferred = p;
            _deferredBytes += NativeHeap.ChargedSize(p);
        }

        /// <summary>
        /// Frees what nothing can read any more. The deferred list runs from the newest retired
        /// block to the oldest; an enumerator can only reach blocks retired after it started,
        /// which lie before the boundary it recorded (the list head at its start). So the
        /// boundary of the oldest live enumerator and everything after it is freed, and with no
        /// enumerator live, everything: provided no other thread announces a read of this map
        /// (bucket memory). Otherwise the rest waits for the next reclaim point (growth start or
        /// end, Clear, an enumerator ending) or Dispose.
        /// </summary>
        private void ReclaimDeferred()
        {
            if (_deferred == null || ReaderRegistry.AnyReading(_id))
            {
                return;
            }

            if (_liveIterators == 0)
            {
                FreeDeferred();
                return;
            }

            // The oldest live enumerator has the smallest ticket.
            IterSlot* oldest = null;
            for (int k = 0; k < _iterSlotCount; k++)
            {
                if (_iterSlots[k].Ticket != 0 && (oldest == null || _iterSlots[k].Ticket < oldest->Ticket))
                {
                    oldest = &_iterSlots[k];
                }
            }

            byte* cut = oldest->Boundary;
            if (cut == null)
            {
                return; // nothing was deferred before it started
            }

            // Unlink the tail from the boundary on, then free it.
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

            // Later enumerators' boundaries are newer, except those equal to the cut.
            for (int k = 0; k < _iterSlotCount; k++)
            {
                if (_iterSlots[k].Boundary == cut)
                {
                    _iterSlots[k].Boundary = null;
                }
            }

            FreeChain(cut);
        }

        /// <summary>Frees every deferred block. Called by <see cref="ReclaimDeferred"/> and by Dispose.</summary>
        private void FreeDeferred()
        {
            byte* p = _deferred;
            _deferred = null;
            FreeChain(p);
        }

        /// <summary>Frees a chain of deferred blocks already unlinked from the list.</summary>
        private void FreeChain(byte* p)
        {
            while (p != null)
            {
                byte* next = NativeHeap.Next(p);
                NativeHeap.Next(p) = null;
                _deferredBytes -= NativeHeap.ChargedSize(p);
                FreeBlock(p);
                p = next;
            }
        }

        /// <summary>Retires the indirect key and value blocks of slot <paramref name="i"/> (no-op for inline slots).</summary>
        private void RetireIndirect(byte* b, int i)
        {
            if (BucketLayout<TKey, TValue>.IndirectKey)
            {
                Retire(*(byte**)BucketLayout<TKey, TValue>.KeySlot(b, i));
            }

            if (BucketLayout<TKey, TValue>.IndirectValue)
            {
                Retire(*(byte**)BucketLayout<TKey, TValue>.ValueSlot(b, i));
            }
        }

        /// <summary>Retires the indirect blocks of every live entry: current chains, and old chains not yet evacuated.</summary>
        private void RetireAllIndirect()
        {
            if (!BucketLayout<TKey, TValue>.IndirectKey && !BucketLayout<TKey, TValue>.IndirectValue)
            {
                return;
            }

            RetireIndirectOfArray(_buckets, _b);
            if (_oldBuckets != null)
            {
                RetireIndirectOfArray(_oldBuckets, OldB());
            }
        }

        private void RetireIndirectOfArray(byte* array, int b)
        {
            if (array == null)
            {
                return;
            }

            ulong n = MapMath.BucketShift(b);
            for (ulong j = 0; j < n; j++)
            {
                for (byte* c = BucketLayout<TKey, TValue>.Bucket(array, j); c != null; c = BucketLayout<TKey, TValue>.Overflow(c))
                {
                    for (int i = 0; i < MapMath.BucketCnt; i++)
                    {
                        if (c[i] >= MapMath.MinTopHash)
                        {
                            RetireIndirect(c, i);
                        }
                    }
                }
            }
        }

        /// <summary>Retires the old bucket array and every overflow bucket of the old generation.</summary>
        private void RetireOldGeneration()
        {
            RetireBucketMemory(_oldBuckets);
            _oldBuckets = null;
            RetireOverflowList(ref _oldOverflow);
        }

        /// <summary>Retires every bucket of an ownership list and frees the list's storage (never read by enumerators or lookups).</summary>
        private void RetireOverflowList(ref PtrList list)
        {
            for (long k = 0; k < list.Count; k++)
            {
                RetireBucketMemory(list.Items[k]);
            }

            FreeBlock((byte*)list.Items);
            list = default;
        }

        /// <summary>Frees the reserved spare overflow buckets and their list (never linked, so never read by enumerators).</summary>
        private void FreeSpares()
        {
            for (long k = 0; k < _spare.Count; k++)
            {
                FreeBlock(_spare.Items[k]);
            }

            FreeBlock((byte*)_spare.Items);
            _spare = default;
        }

        /// <summary>
        /// Go's makeBucketArray: 2^B buckets plus, for B ≥ 4, 2^(B−4) preallocated overflow
        /// buckets, zeroed (calloc: fresh pages are not touched) and cache-line aligned.
        /// </summary>
        private byte* AllocBucketArray(int b, out byte* nextOverflow)
        {
            ulong? bytes = BucketLayout<TKey, TValue>.ArrayBytes(b);
            if (bytes is null || bytes.Value > MapMath.MaxAlloc)
            {
                throw new OutOfMemoryException($"A bucket array for B = {b} cannot be addressed.");
            }

            byte* array = AllocBlock(bytes.Value, zero: true, align: 64);
            nextOverflow = InitBucketArray(array, b);
            return array;
        }

        /// <summary>
        /// Sets up the preallocated overflow tail of a zeroed array: the last bucket's overflow
        /// pointer is a sentinel (the array start, never a real successor) marking the end.
        /// Returns the first preallocated bucket, or null when B &lt; 4.
        /// </summary>
        private static byte* InitBucketArray(byte* array, int b)
        {
            ulong nbuckets = MapMath.ArrayBucketCount(b);
            ulong regular = MapMath.BucketShift(b);
            if (nbuckets == regular)
            {
                return null;
            }

            BucketLayout<TKey, TValue>.Overflow(BucketLayout<TKey, TValue>.Bucket(array, nbuckets - 1)) = array;
            return BucketLayout<TKey, TValue>.Bucket(array, regular);
        }

        /// <summary>
        /// Frees everything the map owns. Runs from Dispose (holding the state word) or from the
        /// finalizer (nobody else can reach the map). Idempotent: every pointer is nulled.
        /// </summary>
        private void FreeAll()
        {
            // No enumerator can step again (they check the disposed bit), so nothing is deferred now.
            _liveIterators = 0;
            RetireAllIndirect();
            RetireOldGeneration();
            RetireOverflowList(ref _overflow);
            FreeSpares();
            FreeBlock(_buckets);
            _buckets = null;
            _nextOverflow = null;
            FreeDeferred();
            FreeBlock((byte*)_iterSlots);
            _iterSlots = null;
            _iterSlotCount = 0;
            _count = 0;
            _b = 0;
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

            /// <summary>Removes and returns the last item.</summary>
            internal byte* Pop() => Items[--Count];
        }
    }
}
