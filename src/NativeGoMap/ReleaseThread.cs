using System;
using System.Diagnostics;
using System.Runtime.InteropServices;
#if NET
using System.Runtime.Loader;
#else
using System.Reflection;
#endif
using System.Threading;

namespace NativeGoMap
{
    /// <summary>
    /// Makes the system calls that return mappings to the OS (<c>munmap</c>, <c>MADV_DONTNEED</c>)
    /// and populate a growth's new array (<c>MADV_POPULATE_WRITE</c>) on a background thread of
    /// the process, so that no write waits for them. C heap blocks are freed by the caller, but
    /// for retired full-size overflow chunks (NativeHeap.FreeOnReleaseThread): a free() from this
    /// thread lands outside the writer's thread cache, and the writer's next allocations then
    /// took fresh pages (a 1,000-entry build went from 39 to 74 ns per insert, when every block
    /// went here); a big generation's chunks are not allocated again soon, and their free()
    /// calls are the ones that trim the C heap's top (a <c>brk</c>).
    /// <para>
    /// Why: on the README's 2-vCPU KVM guest each such call costs about 200 µs in a multi-threaded
    /// process and now and then 1 to 8 ms (unmapping a 78 MiB emptied array took 8.3 ms, a
    /// discard of 512 KiB up to 5 ms): a release step, however small its piece, could not stay
    /// under a millisecond on the writer's thread.
    /// </para>
    /// <para>
    /// What stays on the caller's thread: every decision and all accounting.
    /// <see cref="NativeHeap"/> marks a block freed, charges its bytes off
    /// <see cref="NativeHeap.LiveBytes"/> and links it here in O(1), allocating nothing (the
    /// links live in the mapping's own words, or in a freed C heap block's first bytes). Memory posted here is no longer reachable
    /// by the map (GoMap.Memory.cs decides when that is), so returning it a little later changes
    /// nothing a map can observe. Posts are carried out in order, so a piece of a mapping
    /// discarded before the mapping is unmapped is discarded first. One exception to the order:
    /// an unmap whose mapping another map's racing read may still hold (a retired array reused
    /// from the cache and freed again within the grace period, see NativeHeap.UnmapDueAt) waits
    /// on the thread's own list, and the thread wakes for it when it is due. It also wakes when a
    /// mapping in the reuse cache's big pool is due to go (NativeHeap.TrimBigCache), and posts
    /// that unmap to itself.
    /// </para>
    /// <para>
    /// The thread starts with the first map (<see cref="EnsureStarted"/>, so that no operation
    /// allocates it) and waits on a monitor when there is nothing to do. <c>NATIVEGOMAP_RELEASE_THREAD=0</c>
    /// makes every call inline on the caller's thread, as before (to measure the difference).
    /// <see cref="WaitIdle"/> lets tests and the stress program see the OS-level effect. When
    /// the application domain is unloaded (Mono, .NET Framework), or on .NET the collectible
    /// AssemblyLoadContext the library was loaded into, the thread finishes its work and ends,
    /// and every later call is inline (<see cref="DomainUnloading"/>).
    /// </para>
    /// </summary>
    internal static unsafe class ReleaseThread
    {
        /// <summary>False when NATIVEGOMAP_RELEASE_THREAD=0: calls are made inline.</summary>
        internal static readonly bool Enabled = Environment.GetEnvironmentVariable("NATIVEGOMAP_RELEASE_THREAD") != "0";

        private static readonly object s_lock = new object();
        private static Thread? s_thread;
        private static bool s_stopping; // the domain is being unloaded: the thread ends once its queue is empty (DomainUnloading)
        private static bool s_ended; // the thread ended on s_stopping, its queue empty: posts run inline from then on
        private static bool s_hooked; // DomainUnloading is registered
        private static Job* s_head;
        private static Job* s_tail;
        private static Job* s_delayed; // the thread's own: unmaps waiting for their grace period (Loop)
        private static int s_delayedCount; // unmaps taken and not yet made because their grace period runs (WaitIdle reads it)
        private static bool s_waiting;
        private static long s_posted;
        private static long s_taken; // jobs the thread has handled: made, or delayed with their pages past the first discarded (the waits read it)
        private static long s_failures;
        private static long s_heapFrees;

        /// <summary>Calls the OS refused on the release thread (a munmap or madvise that failed); the stress program checks it stays 0.</summary>
        internal static long Failures => Volatile.Read(ref s_failures);

        /// <summary>C heap blocks freed by <see cref="Kind.FreeHeap"/> jobs so far (on the thread, or inline when it is off); tests read it.</summary>
        internal static long HeapFreesMade => Volatile.Read(ref s_heapFrees);

        /// <summary>What a job does.</summary>
        internal enum Kind : long
        {
            /// <summary>Not queued: never posted, or taken by the thread.</summary>
            None = 0,

            /// <summary>
            /// Unmap <see cref="Job.Length"/> bytes at <see cref="Job.Start"/>, a whole mapping, not
            /// before <see cref="NativeHeap.UnmapDueAt"/> says: until then it waits on the thread's
            /// own list while later jobs run (the thread off, it is unmapped at once).
            /// </summary>
            Unmap = 2,

            /// <summary>Discard (MADV_DONTNEED) <see cref="Job.Length"/> bytes at <see cref="Job.Start"/>.</summary>
            Discard = 3,

            /// <summary>Populate (MADV_POPULATE_WRITE, contents unchanged) <see cref="Job.Length"/> bytes at <see cref="Job.Start"/>, in pieces.</summary>
            Populate = 4,

            /// <summary>
            /// free() the C heap block whose memory starts at <see cref="Job.Start"/> (the job
            /// lives in the block: NativeHeap.FreeOnReleaseThread).
            /// </summary>
            FreeHeap = 5,

            /// <summary>
            /// Fault in the pages of <see cref="Job.Length"/> bytes at <see cref="Job.Start"/>, a
            /// mapping in huge pages, by touching each (an atomic add of zero: the contents do not
            /// change, even beside a writer's stores), 2 MiB pages once and base pages one by one.
            /// Not MADV_POPULATE_WRITE: it holds the process's mmap lock for reading while it
            /// faults, and a fresh 2 MiB page took 3-5 ms on the README's VM, during which the
            /// writer's own mmap or brk (a new overflow chunk) waited: 14 ms inserts in a prototype.
            /// A page fault takes only the mapping's own lock.
            /// </summary>
            Touch = 6,
        }

        /// <summary>
        /// One posted call: 32 bytes that live in the words below the header of the mapping it
        /// is about (NativeHeap.cs draws them), or, for a <see cref="Kind.FreeHeap"/> job, in the
        /// first bytes of the C heap block it frees (NativeHeap.FreeOnReleaseThread), written
        /// before the post and read by the thread before it makes the call. <see cref="What"/> is <see cref="Kind.None"/> once the thread has
        /// taken the job (and before it was ever posted), so a slot can tell whether it waits.
        /// </summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct Job
        {
            internal Job* Next;
            internal Kind What;
            internal byte* Start;
            internal ulong Length;
        }

        /// <summary>Piece of a mapping one populate call works on (see <see cref="Run"/>); unmaps go in the same pieces (<see cref="OsMemory.UnmapInPieces"/>).</summary>
        private const ulong PopulatePiece = OsMemory.HugePage;

        /// <summary>True once the thread runs (never when <see cref="Enabled"/> is false).</summary>
        internal static bool Running => Volatile.Read(ref s_thread) != null;

        /// <summary>Starts the thread if it is not running (called when a map is created: it allocates once per process).</summary>
        internal static void EnsureStarted()
        {
            if (Volatile.Read(ref s_hooked) && (!Enabled || Volatile.Read(ref s_thread) != null))
            {
                return;
            }

            lock (s_lock)
            {
                if (!s_hooked)
                {
#if NET
                    // Loaded into a collectible AssemblyLoadContext (a plugin unloaded and loaded
                    // again), this assembly ends with that context, whose Unloading is then its
                    // domain's unload. A handler on the process-wide DomainUnload, which CoreCLR
                    // never raises, held the context alive for good, as did this thread's Loop:
                    // every reload left a thread, the assembly and the reuse cache's mappings
                    // (found by review, 2026-12-05: resident memory up about 7 MiB per reload).
                    AssemblyLoadContext? context = AssemblyLoadContext.GetLoadContext(typeof(ReleaseThread).Assembly);
                    if (context is { IsCollectible: true })
                    {
                        context.Unloading += ContextUnloading;
                    }
                    else
#else
                    // The same on .NET for the netstandard2.1 build (a net6.0 or net7.0 app gets
                    // it, or a netstandard2.1 plugin that ships its own copy), through reflection:
                    // netstandard2.1 has no AssemblyLoadContext. Found by review, 2026-12-06:
                    // CollectibleContextTests failed in the netstandard2.1 test project.
                    if (!TryHookCollectibleContext())
#endif
                    {
                        AppDomain.CurrentDomain.DomainUnload += DomainUnloading;
                    }

                    Volatile.Write(ref s_hooked, true);
                }

                if (Enabled && s_thread == null && !s_stopping)
                {
                    var thread = new Thread(Loop) { IsBackground = true, Name = "NativeGoMap release" };
                    thread.Start();
                    s_thread = thread;
                }
            }
        }

#if NET
        /// <summary>The collectible context this assembly was loaded into is unloading: as <see cref="DomainUnloading"/>.</summary>
        private static void ContextUnloading(AssemblyLoadContext context) => DomainUnloading(null, EventArgs.Empty);
#else
        /// <summary>
        /// The netstandard2.1 build on .NET: when this assembly was loaded into a collectible
        /// AssemblyLoadContext, hooks <see cref="ContextUnloading"/> to its Unloading event,
        /// found by reflection, and returns true; false where there is no such context or type
        /// (Mono, .NET Framework: their domain's unload is raised, DomainUnloadTests) or the
        /// reflection fails, and the caller hooks the domain's unload.
        /// </summary>
        private static bool TryHookCollectibleContext()
        {
            try
            {
                Type? contextType = Type.GetType("System.Runtime.Loader.AssemblyLoadContext, System.Runtime.Loader", throwOnError: false);
                MethodInfo? getLoadContext = contextType?.GetMethod("GetLoadContext", BindingFlags.Public | BindingFlags.Static, null, new[] { typeof(Assembly) }, null);
                PropertyInfo? isCollectible = contextType?.GetProperty("IsCollectible", BindingFlags.Public | BindingFlags.Instance);
                EventInfo? unloading = contextType?.GetEvent("Unloading", BindingFlags.Public | BindingFlags.Instance);
                MethodInfo? handler = typeof(ReleaseThread).GetMethod(nameof(ContextUnloading), BindingFlags.NonPublic | BindingFlags.Static);
                if (getLoadContext == null || isCollectible == null || unloading?.EventHandlerType == null || handler == null)
                {
                    return false;
                }

                object? context = getLoadContext.Invoke(null, new object[] { typeof(ReleaseThread).Assembly });
                if (context == null || isCollectible.GetValue(context) is not true)
                {
                    return false;
                }

                // Unloading is an Action<AssemblyLoadContext>; ContextUnloading takes the context as an object.
                unloading.AddEventHandler(context, Delegate.CreateDelegate(unloading.EventHandlerType, handler));
                return true;
            }
            catch (Exception e) when (e is MemberAccessException || e is ArgumentException || e is TargetInvocationException || e is InvalidOperationException || e is NotSupportedException)
            {
                return false;
            }
        }

        /// <summary>The collectible context this assembly was loaded into is unloading (hooked by <see cref="TryHookCollectibleContext"/>): as <see cref="DomainUnloading"/>.</summary>
        private static void ContextUnloading(object context) => DomainUnloading(null, EventArgs.Empty);
#endif

        /// <summary>
        /// The application domain is being unloaded (Mono and .NET Framework hosts: the Unity
        /// Editor reloads its domain at every script change and play mode; CoreCLR never raises
        /// this). What only this domain's statics know of would outlive it: the jobs queued here,
        /// the unmaps waiting out their grace period, and the reuse cache's mappings (a review
        /// found 5-77 MiB of resident memory left per reload under Mono). So the thread makes
        /// its queue and its delayed unmaps now (their grace period, kept for a Go-mode read
        /// racing a write, is cut short) and ends; every call posted after that is made inline
        /// (the frees of maps finalized with the domain), and the cache is emptied and closed.
        /// On .NET, also when the collectible AssemblyLoadContext this assembly was loaded into
        /// unloads (ContextUnloading).
        /// </summary>
        private static void DomainUnloading(object? sender, EventArgs e)
        {
            Thread? thread = BeginStopping();
            if (thread != null && thread.Join(10_000))
            {
                Volatile.Write(ref s_thread, null);
            }

            NativeHeap.CloseCache();
        }

        /// <summary>
        /// <see cref="DomainUnloading"/>'s first step (tests take it alone, then
        /// <see cref="RestartForTest"/>): the thread ends once its queue is empty, and posts are
        /// made inline after that. Returns the thread, if one runs.
        /// </summary>
        internal static Thread? BeginStopping()
        {
            lock (s_lock)
            {
                s_stopping = true;
                PulseIfWaiting();
                return s_thread;
            }
        }

        /// <summary>Wakes the thread if it waits on the monitor (the caller holds the lock).</summary>
        private static void PulseIfWaiting()
        {
            if (s_waiting)
            {
                s_waiting = false;
                Monitor.Pulse(s_lock);
            }
        }

        /// <summary>
        /// Makes the call <paramref name="job"/> describes on the release thread, or now when the
        /// thread is off, not started or ended (DomainUnloading). The job's memory must stay untouched by the caller
        /// from now on (the thread reads it, and the call may free it).
        /// </summary>
        internal static void Post(Job* job)
        {
            if (!Enabled || Volatile.Read(ref s_thread) == null)
            {
                Run(job->What, job->Start, job->Length);
                return;
            }

            lock (s_lock)
            {
                if (s_ended)
                {
                    // Inline only once the thread has ended, its queue empty: while it stops it
                    // still makes the jobs queued before in order, and this one may free the
                    // mapping an earlier job of the queue lives in or works on (found by review).
                    Run(job->What, job->Start, job->Length);
                    return;
                }

                job->Next = null;
                if (s_tail == null)
                {
                    s_head = job;
                }
                else
                {
                    s_tail->Next = job;
                }

                s_tail = job;
                s_posted++;
                PulseIfWaiting();
            }
        }

        /// <summary>
        /// Wakes the thread if it waits, so that it works out again when its next timed work is
        /// due: a mapping entered the reuse cache's empty big pool, whose trim it would otherwise
        /// not wait for (NativeHeap.TicksUntilBigCacheTrim).
        /// </summary>
        internal static void Wake()
        {
            if (!Running)
            {
                return;
            }

            lock (s_lock)
            {
                PulseIfWaiting();
            }
        }

        /// <summary>
        /// Has the thread discard <paramref name="length"/> bytes at <paramref name="start"/>
        /// through a mapping's one discard slot <paramref name="job"/>: when that slot still waits
        /// in the queue, the piece joins it (it must end where the waiting one starts), so a
        /// mapping released faster than the thread runs needs no second slot; otherwise the slot
        /// is filled and posted. Inline when the thread is off or not started.
        /// </summary>
        internal static void PostDiscard(Job* job, byte* start, ulong length)
        {
            if (!Enabled || Volatile.Read(ref s_thread) == null)
            {
                Run(Kind.Discard, start, length);
                return;
            }

            lock (s_lock)
            {
                if (s_ended)
                {
                    Run(Kind.Discard, start, length); // as Post's (the ended thread's queue is empty, so no slot waits in it)
                    return;
                }

                if (job->What == Kind.Discard)
                {
                    if (start + length != job->Start)
                    {
                        ThrowHelper.ThrowBadMapState("a discarded piece does not end where the waiting one starts");
                    }

                    job->Start = start;
                    job->Length += length;
                    return;
                }

                job->What = Kind.Discard;
                job->Start = start;
                job->Length = length;
                Post(job);
            }
        }

        /// <summary>Jobs posted so far (a merged discard counts once): tests see merging by it.</summary>
        internal static long Posted
        {
            get
            {
                lock (s_lock)
                {
                    return s_posted;
                }
            }
        }

        /// <summary>
        /// The lock every post and every take holds: a test that holds it keeps the thread from
        /// taking jobs (posting from the same thread still works, the lock is reentrant).
        /// </summary>
        internal static object QueueLockForTests => s_lock;

        /// <summary>For tests: waits for a thread that <see cref="BeginStopping"/> stopped to end, and starts a new one.</summary>
        internal static void RestartForTest()
        {
            Thread? thread;
            lock (s_lock)
            {
                thread = s_thread;
            }

            thread?.Join(10_000);
            lock (s_lock)
            {
                s_stopping = false;
                s_ended = false;
                Volatile.Write(ref s_thread, null);
            }

            EnsureStarted();
        }

        /// <summary>
        /// Waits until every call posted so far has been made, delayed unmaps included (at most <paramref name="timeoutMs"/>);
        /// true when they have. For tests and the stress program, which read the OS's view (RSS,
        /// mappings) after releasing.
        /// </summary>
        internal static bool WaitIdle(int timeoutMs = 10_000) => WaitForPosted(timeoutMs, delayedToo: true);

        /// <summary>
        /// Waits until the thread has handled every job posted so far (at most
        /// <paramref name="timeoutMs"/>): made it, or, for an unmap within its grace period, put it
        /// on the delayed list with its pages past the first discarded. Unlike
        /// <see cref="WaitIdle"/>, it does not wait the grace periods out. For tests.
        /// </summary>
        internal static bool WaitTaken(int timeoutMs = 10_000) => WaitForPosted(timeoutMs, delayedToo: false);

        /// <summary>
        /// The two waits: until the jobs posted so far are taken and, with
        /// <paramref name="delayedToo"/>, no delayed unmap is left. Read in this order: the
        /// thread counts a job delayed before it counts it taken, so once every job up to the
        /// target is taken, an empty delayed count says the delayed ones among them were made.
        /// </summary>
        private static bool WaitForPosted(int timeoutMs, bool delayedToo)
        {
            long target;
            lock (s_lock)
            {
                target = s_posted;
            }

            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (Volatile.Read(ref s_taken) < target || (delayedToo && Volatile.Read(ref s_delayedCount) != 0))
            {
                if (clock.ElapsedMilliseconds > timeoutMs)
                {
                    return false;
                }

                Thread.Sleep(1);
            }

            return true;
        }

        private static void Loop()
        {
            while (true)
            {
                Job* job = null;
                bool delay = false;
                Kind what = Kind.None;
                byte* start = null;
                ulong length = 0;
                lock (s_lock)
                {
                    long wait;
                    if (s_head == null && s_stopping)
                    {
                        // The domain is being unloaded, and everything posted before is made:
                        // the delayed unmaps too, now, and the thread ends (DomainUnloading);
                        // under the lock, so that no post queues a job after the last take.
                        RunDelayed(all: true);
                        s_ended = true;
                        return;
                    }

                    while (s_head == null && !s_stopping && (wait = Math.Min(TicksUntilDelayedDue(), NativeHeap.TicksUntilBigCacheTrim())) > 0)
                    {
                        s_waiting = true;
                        int ms = wait == long.MaxValue ? Timeout.Infinite : (int)Math.Min((wait * 1000 / Stopwatch.Frequency) + 1, NativeHeap.CacheGraceMilliseconds);
                        Monitor.Wait(s_lock, ms); // a post wakes it sooner
                    }

                    s_waiting = false;
                    if (s_head != null)
                    {
                        // Copy the job out before the call: the call may free the memory it lives in.
                        job = s_head;
                        s_head = job->Next;
                        if (s_head == null)
                        {
                            s_tail = null;
                        }

                        what = job->What;
                        start = job->Start;
                        length = job->Length;
                        job->What = Kind.None; // taken: a later discard of the mapping posts its slot again
                        delay = what == Kind.Unmap && NativeHeap.UnmapDueAt(start) > Stopwatch.GetTimestamp();
                        if (delay)
                        {
                            Interlocked.Increment(ref s_delayedCount); // before it is counted taken (WaitForPosted)
                        }
                    }
                }

                if (job != null)
                {
                    if (delay)
                    {
                        // A racing read may still be in it: it waits on the thread's own list (its
                        // job words are the thread's alone now), and other jobs go on meanwhile.
                        // Its pages past the first (which holds the job) are discarded now: they
                        // read as zeros, as a released piece does, and the process's resident
                        // memory does not wait the grace period out.
                        if (length > OsMemory.Page)
                        {
                            TryRun(Kind.Discard, start + OsMemory.Page, length - OsMemory.Page);
                        }

                        job->Next = s_delayed;
                        s_delayed = job;
                    }
                    else
                    {
                        TryRun(what, start, length);
                    }

                    Volatile.Write(ref s_taken, s_taken + 1);
                }

                RunDelayed(all: false);
                if (NativeHeap.TicksUntilBigCacheTrim() <= 0)
                {
                    NativeHeap.TrimBigCache(); // posts its unmaps to this queue
                }
            }
        }

        /// <summary>Makes a call on the thread; a refusal is counted, not thrown.</summary>
        private static void TryRun(Kind what, byte* start, ulong length)
        {
            try
            {
                Run(what, start, length);
            }
            catch (InvalidOperationException)
            {
                // A refused munmap or madvise: nothing a map can do about it here; the bytes
                // were already charged off. Count it and keep serving the other jobs.
                Interlocked.Increment(ref s_failures);
            }
        }

        /// <summary>Stopwatch ticks until the first delayed unmap is due: 0 or less when one is, long.MaxValue when none waits (the thread only).</summary>
        private static long TicksUntilDelayedDue()
        {
            long now = Stopwatch.GetTimestamp();
            long soonest = long.MaxValue;
            for (Job* j = s_delayed; j != null; j = j->Next)
            {
                soonest = Math.Min(soonest, NativeHeap.UnmapDueAt(j->Start) - now);
            }

            return soonest;
        }

        /// <summary>Unmaps the delayed mappings whose grace period is over, or with <paramref name="all"/> every one (the thread only).</summary>
        private static void RunDelayed(bool all)
        {
            long now = Stopwatch.GetTimestamp();
            Job* prev = null;
            for (Job* j = s_delayed; j != null;)
            {
                Job* next = j->Next;
                if (all || NativeHeap.UnmapDueAt(j->Start) <= now)
                {
                    if (prev == null)
                    {
                        s_delayed = next;
                    }
                    else
                    {
                        prev->Next = next;
                    }

                    TryRun(Kind.Unmap, j->Start, j->Length); // j lives in the mapping: not read after this
                    Interlocked.Decrement(ref s_delayedCount);
                }
                else
                {
                    prev = j;
                }

                j = next;
            }
        }

        private static void Run(Kind what, byte* start, ulong length)
        {
            switch (what)
            {
                case Kind.Unmap:
                    OsMemory.UnmapInPieces(start, length);
                    break;
                case Kind.Discard:
                    OsMemory.Discard(start, length);
                    break;
                case Kind.Populate:
                    // Page-aligned pieces, so that a fault of the writer waits for one piece at most.
                    byte* end = start + length;
                    for (byte* p = (byte*)((ulong)start & ~(OsMemory.Page - 1)); p < end; p += PopulatePiece)
                    {
                        if (!OsMemory.TryPopulate(p, Math.Min(PopulatePiece, (ulong)(end - p))))
                        {
                            break; // not supported here, or no memory now: the writes fault as usual
                        }
                    }

                    break;
                case Kind.Touch:
                {
                    // One touch per page: base pages up to the first 2 MiB boundary past the start (the
                    // mapping's first 2 MiB, which hold the header, are base pages: see
                    // OsMemory.SmallFirstHugePage) and in the tail, whole 2 MiB pages between.
                    byte* stop = start + length;
                    byte* huge = (byte*)(((ulong)start + OsMemory.HugePage - 1) & ~(OsMemory.HugePage - 1));
                    for (byte* q = (byte*)((ulong)start & ~(OsMemory.Page - 1)); q < stop;)
                    {
                        Interlocked.Add(ref *(long*)q, 0);
                        q += q >= huge && q + OsMemory.HugePage <= stop ? OsMemory.HugePage : OsMemory.Page;
                    }

                    break;
                }

                case Kind.FreeHeap:
                    NativeMemory.Free(start); // the job lived in this block: not read after this
                    Interlocked.Increment(ref s_heapFrees);
                    break;
            }
        }
    }
}
