using System.Threading;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// What an application domain's unload does to the process-wide release machinery
    /// (ReleaseThread.DomainUnloading), step by step through test hooks: CoreCLR never unloads a
    /// domain, so the whole of it runs only in the Mono smoke run (five reloads, resident memory
    /// checked). Each test puts the machinery back as it was.
    /// </summary>
    [Collection(NativeMemoryCollection.Name)]
    public unsafe class DomainUnloadTests
    {
        [FactNeeding(Needs.Mappings | Needs.ReleaseThread)]
        public void WhileTheReleaseThreadStops_APostQueuesBehindTheJobsBeforeIt_NotInlineAheadOfThem()
        {
            // Found by review: posts ran inline as soon as the unload began, while the thread
            // still had jobs queued in the same mapping (a discard's job lives in the mapping's
            // own words): the inline unmap came first, and the thread then read unmapped memory.
            ReleaseThread.EnsureStarted();
            byte* p = NativeHeap.Alloc(8UL << 20, zero: true); // over the reuse cache's sizes: freeing it unmaps it
            try
            {
                lock (ReleaseThread.QueueLockForTests) // the thread takes no job meanwhile
                {
                    Assert.True(NativeHeap.ReleaseTail(p) > 0); // a discard of its tail, queued in its own words
                    ReleaseThread.BeginStopping();
                    long posted = ReleaseThread.Posted;
                    NativeHeap.Free(p); // its unmap
                    Assert.Equal(posted + 1, ReleaseThread.Posted); // queued behind the discard
                }

                Assert.True(ReleaseThread.WaitTaken());
            }
            finally
            {
                ReleaseThread.RestartForTest();
            }
        }

        [FactNeeding(Needs.Mappings | Needs.ReleaseThread)]
        public void AFreeWaitingForTheCacheWhileItCloses_IsNotCached()
        {
            // Found by review: the closed flag was read before the cache's lock, so a free that
            // waited for the lock while CloseCache emptied the cache put its block in after.
            ReleaseThread.EnsureStarted();
            NativeHeap.EmptyCache();
            byte* p = NativeHeap.Alloc(1UL << 20, zero: true); // a size the cache keeps
            bool cached = true;
            try
            {
                Thread free;
                lock (NativeHeap.CacheLockForTests)
                {
                    free = new Thread(() => cached = NativeHeap.FreeToCache(p));
                    free.Start();
                    while ((free.ThreadState & ThreadState.WaitSleepJoin) == 0)
                    {
                        Thread.Sleep(1);
                    }

                    NativeHeap.CloseCache(); // the lock is reentrant: this thread empties the cache now
                }

                free.Join();
                Assert.False(cached);
                Assert.Equal(0L, NativeHeap.CachedBytes);
            }
            finally
            {
                if (!cached)
                {
                    NativeHeap.Free(p);
                }

                NativeHeap.ReopenCacheForTest();
                NativeHeap.EmptyCache();
            }
        }
    }
}
