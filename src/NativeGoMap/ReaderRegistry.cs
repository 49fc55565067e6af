using System;
using System.Runtime.CompilerServices;
using System.Threading;

namespace NativeGoMap
{
    /// <summary>
    /// The reader announcements of <see cref="ConcurrencyChecks.Strict"/> maps: lets a write that
    /// is about to release retired bucket memory know whether some thread may be reading the map
    /// right now, so that a read racing a write (misuse, but possible) never dereferences freed
    /// memory and crashes the process. <see cref="ConcurrencyChecks.Go"/> maps do not announce.
    /// </summary>
    /// <remarks>
    /// Each thread owns a slot (taken on its first announced read) holding a small stack of
    /// the ids of the maps it is reading (a comparer may read another map inside a read), written
    /// with plain stores: no atomic instruction on the read path on x86 and x64, and no shared
    /// cache line between readers. Before bucket memory is released, the releasing write runs
    /// <see cref="Interlocked.MemoryBarrierProcessWide"/>, which on x86 and x64 makes every
    /// thread's earlier stores visible (an asymmetric Dekker fence), and then scans the slots: a
    /// slot naming the map means a read may hold a pointer into that memory, and the release
    /// waits. A read that announces itself after the fence sees the memory already unlinked. The
    /// fence costs microseconds and runs only when retired memory is promoted for release. On
    /// other CPUs the process-wide barrier is not relied on (Mono makes it by a page-protection
    /// change, which fences no other core on Arm64): each announcement is followed by a full
    /// fence of its own (<see cref="Fences.StoreBeforeLaterLoadsOffX86"/>), one per Strict read.
    /// <para>
    /// A slot outlives its thread only until the garbage collector finds the thread's statics
    /// gone: each thread also holds a <see cref="SlotOwner"/>, referred to by nothing but its
    /// thread-static field, whose finalizer clears the slot (a thread that ended reads nothing)
    /// and marks it free; the next thread to announce its first read takes a free slot before it
    /// appends one. So the list, which every release scans, grows no longer than the most
    /// threads that announced reads and were alive, or ended and not yet collected, at once
    /// (the owner of a thread that lived through collections is in an older generation: a
    /// probe's, taken through two, was finalized by the first full collection after the thread
    /// ended, not by a gen0 or gen1 one). The list does not shrink: free slots wait for threads.
    /// Measured (2026-12-05, README's VM, a probe making 14,001 threads one after another, each
    /// reading a Strict map once, then timing 64 removes of indirect values from it): when the
    /// slots of ended threads stayed, the removes took 3.1-3.2 ms (0.06 with one such thread),
    /// and 105 of the probe's 136 collections were full ones (each thread's first read copied
    /// the list, past about 10,600 slots an array on the large-object heap); with slots taken
    /// again, 0.64-0.67 ms, the list at 1,993 slots (about the threads between two of its 9
    /// collections), and 2 full collections.
    /// </para>
    /// </remarks>
    internal static class ReaderRegistry
    {
        private static readonly object s_lock = new object();
        private static ReaderSlot[] s_slots = Array.Empty<ReaderSlot>();
        private static long s_lastMapId; // the last id handed out in a block (MapIdBlock)

        /// <summary>Ids a thread takes from <see cref="s_lastMapId"/> at once (see <see cref="NewMapId"/>).</summary>
        private const long MapIdBlock = 1024;

        [ThreadStatic]
        private static long t_nextMapId; // this thread's next id, or its block's end (t_mapIdEnd) when the block is used up

        [ThreadStatic]
        private static long t_mapIdEnd;

        [ThreadStatic]
        private static ReaderSlot? t_slot;

        [ThreadStatic]
        private static SlotOwner? t_owner; // the only reference to this thread's owner: unreachable once the thread has ended, when its finalizer frees t_slot

        /// <summary>
        /// A process-unique map id (never 0), from this thread's block of <see cref="MapIdBlock"/>
        /// ids: one shared counter updated by every map's constructor was the constructor's
        /// busiest instruction when two threads made maps at once (NativeHeap.s_liveStripes'
        /// remark). Ids are compared, never ordered.
        /// </summary>
        internal static long NewMapId()
        {
            long id = t_nextMapId;
            if (id == t_mapIdEnd)
            {
                long end = Interlocked.Add(ref s_lastMapId, MapIdBlock);
                id = end - MapIdBlock + 1;
                t_mapIdEnd = end + 1;
            }

            t_nextMapId = id + 1;
            return id;
        }

        /// <summary>Announces a read of map <paramref name="mapId"/> on this thread (nested reads stack); returns this thread's slot, whose <see cref="ReaderSlot.Exit"/> ends it.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)] // into the Strict lookups' and steps' read, which the JIT may lay out as cold in a process that mostly reads Go-mode maps
        internal static ReaderSlot Enter(long mapId)
        {
            ReaderSlot slot = t_slot ?? Register();
            long[] ids = slot.Ids;
            if (slot.Depth == ids.Length)
            {
                ids = slot.Grow();
            }

            Volatile.Write(ref ids[slot.Depth], mapId);

            // The announcement before the read's loads of the map. On x86 and x64 the releasing
            // write's process-wide barrier orders them; elsewhere it may not (Mono on Arm64 makes
            // it by a page-protection change, which fences no other core there), so the reader
            // fences itself: Dekker's handshake with a full fence on both sides (AnyReading's is
            // the writer's). Found by review (2026-12-05): the listing showed the announcement's
            // store-release followed by acquire loads (ldapr) of the state word and the flags,
            // which Arm64 may complete before the store is visible to another core.
            Fences.StoreBeforeLaterLoadsOffX86();
            slot.Depth++;
            return slot;
        }

        /// <summary>
        /// Whether this thread is inside an announced read of map <paramref name="mapId"/>: a write
        /// or a Dispose it starts now comes from user code that read runs (a comparer, a key's
        /// equality), which <see cref="AnyReading"/> (other threads only) does not see.
        /// </summary>
        internal static bool ThisThreadReading(long mapId)
        {
            ReaderSlot? slot = t_slot;
            if (slot is null)
            {
                return false;
            }

            for (int k = 0; k < slot.Depth; k++)
            {
                if (slot.Ids[k] == mapId)
                {
                    return true;
                }
            }

            return false;
        }

        /// <summary>Ends this thread's innermost announced read.</summary>
        internal static void Exit() => ThisThreadSlot.Exit();

        /// <summary>This thread's slot, once it has announced a read (for the end of a read that did not keep the slot).</summary>
        internal static ReaderSlot ThisThreadSlot => t_slot!;

        /// <summary>Slots in the list, taken and free; for tests.</summary>
        internal static int SlotCountForTest => Volatile.Read(ref s_slots).Length;

        /// <summary>Slots in the list that a thread's first read may take (their threads have ended); for tests.</summary>
        internal static int FreeSlotCountForTest
        {
            get
            {
                int n = 0;
                foreach (ReaderSlot slot in Volatile.Read(ref s_slots))
                {
                    n += Volatile.Read(ref slot.Free) ? 1 : 0;
                }

                return n;
            }
        }

        /// <summary>
        /// Whether any other thread may be reading map <paramref name="mapId"/>. Runs a
        /// process-wide memory barrier first: microseconds; call only when memory is released.
        /// </summary>
        internal static bool AnyReading(long mapId)
        {
            // The list is read after a full fence, so that the caller's unlinking stores cannot
            // pass this load (x86 lets a load overtake earlier stores): a thread missing from the
            // list read here published its slot after the caller's stores were visible, and
            // (Register's fence) reads the map only after that, so it finds the memory unlinked.
            // Found by review: the early exit below read the list before any fence.
            Thread.MemoryBarrier();
            ReaderSlot[] slots = Volatile.Read(ref s_slots);
            if (slots.Length == 0 || (slots.Length == 1 && slots[0] == t_slot))
            {
                return false; // no other thread has ever announced a read
            }

            Interlocked.MemoryBarrierProcessWide();
            ReaderSlot? mine = t_slot;
            foreach (ReaderSlot slot in slots)
            {
                if (slot == mine)
                {
                    continue;
                }

                long[] ids = Volatile.Read(ref slot.Ids);
                for (int k = 0; k < ids.Length; k++)
                {
                    if (Volatile.Read(ref ids[k]) == mapId)
                    {
                        return true;
                    }
                }
            }

            return false;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static ReaderSlot Register()
        {
            // The owner before the slot: if allocating it throws, no slot is left taken that no
            // owner would free.
            var owner = new SlotOwner();
            ReaderSlot slot;
            lock (s_lock)
            {
                slot = TakeFreeSlot() ?? AppendSlot();
                owner.Slot = slot;
            }

            t_owner = owner;

            // A full fence between publishing the slot and this thread's first read of a map
            // (see AnyReading): the lock's release alone is not documented to be one. A slot
            // taken free was in the list already, where every scan reads its ids.
            Interlocked.MemoryBarrier();
            t_slot = slot;
            return slot;
        }

        /// <summary>Takes a slot whose thread has ended (<see cref="SlotOwner"/>), or null; under <see cref="s_lock"/>, which every taking holds.</summary>
        private static ReaderSlot? TakeFreeSlot()
        {
            foreach (ReaderSlot slot in s_slots)
            {
                // The acquire pairs with the finalizer's release: its ids read 0 and its Depth 0 here.
                if (Volatile.Read(ref slot.Free))
                {
                    slot.Free = false;
                    return slot;
                }
            }

            return null;
        }

        /// <summary>Appends a new slot to the list (copy on write: scans read a stable array without the lock); under <see cref="s_lock"/>.</summary>
        private static ReaderSlot AppendSlot()
        {
            var slot = new ReaderSlot();
            var slots = new ReaderSlot[s_slots.Length + 1];
            s_slots.CopyTo(slots, 0);
            slots[slots.Length - 1] = slot;
            Volatile.Write(ref s_slots, slots);
            return slot;
        }

        /// <summary>One thread's announcements.</summary>
        internal sealed class ReaderSlot
        {
            /// <summary>Ids of the maps this thread is reading, innermost last; 0 above <see cref="Depth"/>.</summary>
            internal long[] Ids = new long[4];

            /// <summary>Number of announced reads in progress on this thread.</summary>
            internal int Depth;

            /// <summary>True once the thread that owned this slot has ended and its <see cref="SlotOwner"/> cleared it: the next <see cref="Register"/> may take it.</summary>
            internal bool Free;

            /// <summary>Ends this thread's innermost announced read (the thread that owns this slot only).</summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            internal void Exit()
            {
                Depth--;
                Volatile.Write(ref Ids[Depth], 0);
            }

            /// <summary>Doubles the stack (a deeply nested read; allocates once per thread and depth).</summary>
            internal long[] Grow()
            {
                var ids = new long[Ids.Length * 2];
                Ids.CopyTo(ids, 0);
                Volatile.Write(ref Ids, ids);
                return ids;
            }
        }

        /// <summary>
        /// Frees its thread's slot once the thread has ended: its one reference is the thread's
        /// <see cref="t_owner"/>, which the runtime drops with the thread's statics when the thread
        /// ends (measured: CoreCLR and native AOT on .NET 10 and Mono 6.8 finalized the owners of
        /// 1,000 ended threads at the first full collection after they were joined).
        /// </summary>
        private sealed class SlotOwner
        {
            /// <summary>The slot this owner's thread took, or null while <see cref="Register"/> has not yet taken it (nothing to free).</summary>
            internal ReaderSlot? Slot;

            ~SlotOwner()
            {
                ReaderSlot? slot = Slot;

                // At process exit (Mono) or in a domain being unloaded, finalizers run for objects
                // still reachable too: the owner of a thread that has not ended, whose slot must
                // not be handed to another thread. The registry ends with the domain anyway.
                if (slot is null || Environment.HasShutdownStarted || AppDomain.CurrentDomain.IsFinalizingForUnload())
                {
                    return;
                }

                // The thread cannot be reading: an id still announced would otherwise hold every
                // release and the Dispose of that map forever. Mono's Thread.Abort leaves one when
                // it lands in a read's own code (only user code's throws are caught and withdraw
                // the announcement): 26 of 40 aborted loops of lookups in a probe (2026-12-05),
                // each Dispose then waiting until a collection ran this. A scan meanwhile may see
                // an id or 0; either is true of a thread that has ended.
                long[] ids = slot.Ids;
                for (int k = 0; k < ids.Length; k++)
                {
                    Volatile.Write(ref ids[k], 0);
                }

                slot.Depth = 0;
                Volatile.Write(ref slot.Free, true); // release: a thread that takes the slot (TakeFreeSlot) sees the zeros above
            }
        }
    }
}
