using System;
using System.Runtime.CompilerServices;
using System.Threading;

namespace NativeGoMap
{
    // The state word, Go's hashWriting flag made safe for native memory.
    //
    //   bit 0  hashWriting  a write is in progress
    //   bit 1  poisoned     a race was detected; _poisonMessage says which
    //   bit 2  disposed     Dispose has run
    //   bit 8+ sequence     bumped by every write, so a read can tell that a write overlapped it
    //
    // Go flips hashWriting with a plain xor and catches most overlapping writes. Two writers in
    // one native map that both get past the flag can free memory under each other, so here a
    // write takes the flag with one compare-and-swap and never runs beside another write: every
    // overlapping write is detected, before it touches anything. The holder releases with a plain
    // store; nobody else changes the word while the flag is held, so that store loses nothing.
    // Poisoning takes the flag the same way and never gives it back, so it cannot be lost.
    // _writer names the thread holding the flag, so that a detection on that same thread (a
    // comparer calling back into the map) poisons in place instead of waiting for itself.
    // Reads check the word before and after (a seqlock): a read that sees a write in progress, or
    // a changed sequence afterwards, throws. That is best effort: a read racing a write may still
    // have looked at memory the write was changing before it notices.
    public sealed unsafe partial class GoMap<TKey, TValue>
    {
        private const long StateWriting = 1;
        private const long StatePoisoned = 2;
        private const long StateDisposed = 4;
        private const long StateBusy = StateWriting | StatePoisoned | StateDisposed;
        private const long StateSeqOne = 256;

        /// <summary>Takes hashWriting, or throws for a disposed, poisoned or concurrently written map.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void BeginWrite()
        {
            long s = Volatile.Read(ref _state);
            if ((s & StateBusy) != 0 || Interlocked.CompareExchange(ref _state, s | StateWriting, s) != s)
            {
                BeginWriteSlow();
            }

            // Only keys whose comparison or hash runs user code can call back into the map
            // during this write; only they need the writer's thread recorded (see Poison).
            if (_comparer is not null || KeyOps<TKey>.Kind == KeyKind.Equatable)
            {
                _writer = Environment.CurrentManagedThreadId;
            }
        }

        /// <summary>Releases hashWriting and bumps the write sequence.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void EndWrite()
        {
            long s = _state;
            Volatile.Write(ref _state, (s & ~StateWriting) + StateSeqOne);
        }

        /// <summary>Checks that no write is in progress; returns the word to hand to <see cref="EndRead"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private long BeginRead()
        {
            long s = Volatile.Read(ref _state);
            if ((s & StateBusy) != 0)
            {
                ReadBlocked(s, GoMessages.ConcurrentReadWrite);
            }

            return s;
        }

        /// <summary>Throws when a write ran while the read did.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void EndRead(long s)
        {
            if (Volatile.Read(ref _state) != s)
            {
                ReadRaced(GoMessages.ConcurrentReadWrite);
            }
        }

        /// <summary>For members that only read a field: throws when disposed or poisoned.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void CheckUsable()
        {
            long s = Volatile.Read(ref _state);
            if ((s & (StatePoisoned | StateDisposed)) != 0)
            {
                ReadBlocked(s & ~StateWriting, GoMessages.ConcurrentReadWrite);
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private void BeginWriteSlow()
        {
            while (true)
            {
                long s = Volatile.Read(ref _state);
                ThrowIfDisposedOrPoisoned(s);
                if ((s & StateWriting) != 0)
                {
                    Detected(GoMessages.ConcurrentWrites);
                }

                if (Interlocked.CompareExchange(ref _state, s | StateWriting, s) == s)
                {
                    return;
                }

                // Lost a race to a reader's poisoning or to another writer: look again.
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private void ReadBlocked(long s, string message)
        {
            ThrowIfDisposedOrPoisoned(s);
            if ((s & StateWriting) != 0)
            {
                Detected(message);
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private void ReadRaced(string message)
        {
            ThrowIfDisposedOrPoisoned(Volatile.Read(ref _state));
            Detected(message);
        }

        private void ThrowIfDisposedOrPoisoned(long s)
        {
            if ((s & StateDisposed) != 0)
            {
                ThrowHelper.ThrowDisposed(GetType());
            }

            if ((s & StatePoisoned) != 0)
            {
                ThrowHelper.ThrowConcurrent(Volatile.Read(ref _poisonMessage) ?? GoMessages.ConcurrentWrites);
            }
        }

        /// <summary>
        /// A race was detected: with FailFast the process ends as Go's fatal error does; otherwise
        /// the map is poisoned and the caller throws.
        /// </summary>
        private void Detected(string message)
        {
            if (_failFast)
            {
                Environment.FailFast(message);
            }

            Poison(message);
            ThrowHelper.ThrowConcurrent(Volatile.Read(ref _poisonMessage) ?? message);
        }

        /// <summary>
        /// Takes hashWriting for good, with the poisoned bit. Waits for the write in progress to
        /// finish (writes never block, so it does), after which no write can start again.
        /// </summary>
        private void Poison(string message)
        {
            Interlocked.CompareExchange(ref _poisonMessage, message, null);
            SpinWait spin = default;
            while (true)
            {
                long s = Volatile.Read(ref _state);
                if ((s & (StatePoisoned | StateDisposed)) != 0)
                {
                    return;
                }

                if ((s & StateWriting) != 0 && Volatile.Read(ref _writer) == Environment.CurrentManagedThreadId)
                {
                    // The write in progress is this thread's own (a comparer called back into the
                    // map): waiting for it would never end.
                    PoisonWhileWriting(message);
                    return;
                }

                if ((s & StateWriting) == 0 && Interlocked.CompareExchange(ref _state, s | StateWriting | StatePoisoned, s) == s)
                {
                    return;
                }

                spin.SpinOnce();
            }
        }

        /// <summary>
        /// Poisons the map from inside a write (this thread holds hashWriting, so it may set the
        /// bit with a plain store). EndWrite then clears hashWriting and leaves the poison.
        /// </summary>
        private void PoisonWhileWriting(string message)
        {
            Interlocked.CompareExchange(ref _poisonMessage, message, null);
            Volatile.Write(ref _state, _state | StatePoisoned);
        }

        /// <summary>
        /// Marks the map disposed. False when it already was. A poisoned map holds hashWriting for
        /// the poison, not for a live writer, so it may be disposed.
        /// </summary>
        private bool BeginDispose()
        {
            while (true)
            {
                long s = Volatile.Read(ref _state);
                if ((s & StateDisposed) != 0)
                {
                    return false;
                }

                if ((s & (StateWriting | StatePoisoned)) == StateWriting)
                {
                    Detected(GoMessages.ConcurrentWrites);
                }

                if (Interlocked.CompareExchange(ref _state, s | StateWriting | StateDisposed, s) == s)
                {
                    return true;
                }
            }
        }

        /// <summary>Test hook: pretends the map holds <paramref name="count"/> entries (no test can insert 2^31).</summary>
        internal void SetCountForTest(long count) => _count = count;

        /// <summary>Test hook: the poisoned state, as a detection leaves it.</summary>
        internal bool IsPoisoned => (Volatile.Read(ref _state) & StatePoisoned) != 0;

        /// <summary>Test hook: simulates a write in progress on another thread (hashWriting held) until <see cref="SimulateWriteEnd"/>.</summary>
        internal void SimulateWriteBegin()
        {
            BeginWrite();
            _writer = Environment.CurrentManagedThreadId;
        }

        /// <summary>Ends <see cref="SimulateWriteBegin"/>.</summary>
        internal void SimulateWriteEnd() => EndWrite();
    }
}
