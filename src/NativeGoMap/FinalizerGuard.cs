using System;
using System.Runtime.InteropServices;

namespace NativeGoMap
{
    /// <summary>What a <see cref="FinalizerGuard"/> frees when its owner was dropped without Dispose.</summary>
    internal interface IGuardedByFinalizer
    {
        /// <summary>Frees everything the owner holds; called from the guard's finalizer, when nothing else can reach the owner.</summary>
        void FreeFromFinalizer();
    }

    /// <summary>
    /// A map's finalizer, as an object of its own that a disposed map hands on to the next map
    /// made on the same thread, so that making a map does not register a new object for
    /// finalization each time.
    /// </summary>
    /// <remarks>
    /// <para>
    /// The runtime registers every finalizable object when it is allocated, under a lock of the
    /// garbage collector that all threads share. Measured on the README's VM (probe, .NET 10,
    /// 2,000,000 objects per thread): a finalizable object made and suppressed took 56-62 ns
    /// against 11-13 for a plain one, and from two threads at once 490-514 ns per object on
    /// each; making and disposing an empty <c>GoMap</c> (itself finalizable then) took
    /// 125-145 ns alone and 639-1,044 ns per map on each of two threads (four runs), and
    /// 97-100 and 257-278 ns with this guard.
    /// </para>
    /// <para>
    /// How it holds: a map takes a guard in its constructor (<see cref="Take"/>) and is its
    /// only referrer, and the guard refers to the map. A map dropped without Dispose becomes
    /// unreachable together with its guard; the guard is finalized, which keeps the map alive
    /// until <see cref="IGuardedByFinalizer.FreeFromFinalizer"/> has freed its memory. A
    /// disposed map gives its guard back (<see cref="Return"/>): the guard forgets the map and
    /// waits, still registered, in its thread's pool of at most <see cref="PoolMax"/>, where it
    /// is reachable and so never finalized; the next map made on that thread takes it without a
    /// registration. A guard the pool has no room for has its finalization suppressed (a bit
    /// in its header, no lock). When a thread ends, its pooled guards are finalized and find
    /// no map. Maps made on one thread and disposed on another fill the second thread's pool
    /// and allocate new guards on the first: the cost of before, no more.
    /// </para>
    /// <para>
    /// A map disposed from a finalizer (a wrapper's, that found the map dropped with it) may be
    /// disposed when its guard's finalizer has run or is due: the collection that found the
    /// wrapper unreachable found the map and its guard too. Such a guard must not be pooled: it
    /// would guard the next map made on the finalizer thread with a finalizer already spent (a
    /// map dropped later would never be freed: a review's program left 8 of 20 maps, the pool's
    /// size, 11.1 MB), or with one still due that would free that map while it is used. Each
    /// guard has a short weak handle to itself, which that collection clears before any
    /// finalizer runs; <see cref="Return"/> pools only a guard whose handle still holds it.
    /// The handle is made once per guard: free where the pool serves (making and disposing an
    /// empty map 72-77 ns either way), 50-65 ns more per map where the pool is empty (making
    /// 1,000 maps, then disposing them: 140-160 → 205-207 ns per map; probe, 2026-12-05, three
    /// alternated pairs).
    /// </para>
    /// </remarks>
    internal sealed class FinalizerGuard
    {
        /// <summary>Guards a thread's pool keeps at most.</summary>
        internal const int PoolMax = 8;

        [ThreadStatic]
        private static FinalizerGuard? t_free;

        [ThreadStatic]
        private static int t_freeCount;

        private IGuardedByFinalizer? _owner;
        private FinalizerGuard? _nextFree;
        private GCHandle _self; // short weak: cleared by the collection that finds this guard unreachable, before its finalizer runs

        private FinalizerGuard()
        {
            _self = GCHandle.Alloc(this, GCHandleType.Weak);
        }

        ~FinalizerGuard()
        {
            // Runs on the finalizer thread, as does any Dispose that met this guard already
            // found unreachable (Return), so the two never race on the handle.
            if (_self.IsAllocated)
            {
                _self.Free();
            }

            _owner?.FreeFromFinalizer();
        }

        /// <summary>The guards waiting in this thread's pool; for tests.</summary>
        internal static int PooledOnThisThread => t_freeCount;

        /// <summary>Whether this guard frees an owner when finalized; for tests.</summary>
        internal bool Guards => _owner != null;

        /// <summary>Whether this guard frees <paramref name="owner"/> when finalized (Validate).</summary>
        internal bool IsGuarding(IGuardedByFinalizer owner) => ReferenceEquals(_owner, owner);

        /// <summary>A guard for <paramref name="owner"/>: this thread's pooled one, else a new one (a finalizable object).</summary>
        internal static FinalizerGuard Take(IGuardedByFinalizer owner)
        {
            FinalizerGuard? g = t_free;
            if (g != null)
            {
                t_free = g._nextFree;
                g._nextFree = null;
                t_freeCount--;
            }
            else
            {
                g = new FinalizerGuard();
            }

            g._owner = owner;
            return g;
        }

        /// <summary>
        /// The owner freed everything (Dispose): the guard forgets it and goes to this thread's
        /// pool, or, the pool full, is never finalized. The caller drops its reference.
        /// </summary>
        internal void Return()
        {
            _owner = null;
            if (!_self.IsAllocated || _self.Target is null)
            {
                // Found unreachable by a collection (the map disposed from a finalizer): its own
                // finalizer has run or is due, and finds no owner. Never pooled (see the remarks).
                return;
            }

            if (t_freeCount < PoolMax)
            {
                _nextFree = t_free;
                t_free = this;
                t_freeCount++;
            }
            else
            {
                _self.Free();
                GC.SuppressFinalize(this);
            }
        }
    }
}
