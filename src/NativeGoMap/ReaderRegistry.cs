using System;
using System.Runtime.CompilerServices;
using System.Threading;

namespace NativeGoMap
{
    /// <summary>
    /// Lets a write that retires bucket memory know whether some thread may be reading the map
    /// right now, so that a read racing a write (misuse, but possible) never dereferences freed
    /// memory and crashes the process.
    /// </summary>
    /// <remarks>
    /// Each thread owns a slot (allocated on its first read) into which a read stores the id of
    /// the map it reads, with plain stores: no atomic instruction on the read path, and no
    /// shared cache line between readers. A write that is about to free retired bucket memory
    /// first runs <see cref="Interlocked.MemoryBarrierProcessWide"/>, which makes every
    /// thread's earlier stores visible (an asymmetric Dekker fence), and then scans the slots: a
    /// slot naming the map means a read may hold a pointer into that memory, and the free is
    /// deferred. A read that announces itself after the fence sees the memory already unlinked.
    /// The fence costs microseconds, and only runs when bucket memory is retired: at the end of
    /// a growth and at Clear.
    /// </remarks>
    internal static class ReaderRegistry
    {
        private static readonly object s_lock = new object();
        private static ReaderSlot[] s_slots = Array.Empty<ReaderSlot>();
        private static long s_lastMapId;

        [ThreadStatic]
        private static ReaderSlot? t_slot;

        /// <summary>A process-unique map id (never 0).</summary>
        internal static long NewMapId() => Interlocked.Increment(ref s_lastMapId);

        /// <summary>Announces a read of map <paramref name="mapId"/> on this thread; returns the slot and the announcement it replaces.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ReaderSlot Enter(long mapId, out long previous)
        {
            ReaderSlot slot = t_slot ?? Register();
            previous = slot.MapId;
            Volatile.Write(ref slot.MapId, mapId);
            return slot;
        }

        /// <summary>Ends the read: restores the announcement of an enclosing read (a comparer reading another map), if any.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static void Exit(ReaderSlot slot, long previous) => Volatile.Write(ref slot.MapId, previous);

        /// <summary>
        /// Whether any other thread may be reading map <paramref name="mapId"/>. Runs a
        /// process-wide memory barrier first: microseconds; call only when memory is retired.
        /// </summary>
        internal static bool AnyReading(long mapId)
        {
            ReaderSlot[] slots = Volatile.Read(ref s_slots);
            if (slots.Length == 0 || (slots.Length == 1 && slots[0] == t_slot))
            {
                return false; // no other thread has ever read a map
            }

            Interlocked.MemoryBarrierProcessWide();
            ReaderSlot? mine = t_slot;
            foreach (ReaderSlot slot in slots)
            {
                if (slot != mine && Volatile.Read(ref slot.MapId) == mapId)
                {
                    return true;
                }
            }

            return false;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static ReaderSlot Register()
        {
            var slot = new ReaderSlot();
            lock (s_lock)
            {
                // Copy on write: scans read a stable array without the lock. Slots of threads
                // that ended stay (a few bytes each).
                var slots = new ReaderSlot[s_slots.Length + 1];
                s_slots.CopyTo(slots, 0);
                slots[^1] = slot;
                Volatile.Write(ref s_slots, slots);
            }

            t_slot = slot;
            return slot;
        }

        /// <summary>One thread's announcement.</summary>
        internal sealed class ReaderSlot
        {
            /// <summary>Id of the map this thread is reading, or 0.</summary>
            internal long MapId;
        }
    }
}
