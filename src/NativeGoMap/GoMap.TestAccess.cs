using System.Runtime.CompilerServices;
using System.Threading;

namespace NativeGoMap
{
    // Test hooks: read-only views of the internals that no public member shows, a few switches
    // (DoubleLikeGoForTest, EvacuateInBulkForTest), one step of a write (PublishForTest) and
    // writable references to a few fields (…RefForTest), through which Validate's tests break one
    // invariant at a time, for the test and stress projects (InternalsVisibleTo) instead of
    // reflection. The map never calls them.
    public sealed unsafe partial class GoMap<TKey, TValue>
    {
        /// <summary>Test hook: whether this map's bucket array is past the bound under which TryGetValues probes key by key (BatchFitsInCache), whatever else decides its pipeline.</summary>
        internal bool BatchLookupPastCacheBound => _buckets != null && !BatchFitsInCache(_b);

        /// <summary>
        /// Test hook: whether TryGetValues on this map now runs its prefetching pipeline, by
        /// FindMany's own tests on the same published words (false: key by key, as for a growing
        /// map, keys whose hash or equality runs user code, or an array within the bound; or no
        /// array), for spans that do not overlap. Until 2026-12-06 it tested the array's size
        /// alone, so the stress soak counted batches of user-code keys as the pipeline's (a
        /// review found); since then it calls FindMany's own predicate rather than copy it.
        /// </summary>
        internal bool BatchLookupPrefetches
        {
            get
            {
                nuint t = Volatile.Read(ref _table);
                return !BatchGoesKeyByKey(t, _oldTable, KeysRunUserCode) && !BatchFitsInCache(BucketLayout<TKey, TValue>.TableB(t));
            }
        }

        /// <summary>Test hook: whether keys of this map run user code to hash or compare (a comparer, or IEquatable keys): then every batch goes key by key.</summary>
        internal bool KeysRunUserCodeForTest => KeysRunUserCode;

        /// <summary>Test hook: whether that pipeline now prefetches each key's tophash line and then its candidate slot's lines (false: whole buckets, or not the pipeline).</summary>
        internal bool BatchLookupTargetsSlots => BatchLookupPrefetches && TargetsSlots(BucketLayout<TKey, TValue>.TableB(Volatile.Read(ref _table)));

        /// <summary>Test hook: whether the current array is big enough for that pipeline to prefetch candidate slots (the size bound alone, where the CPU prefetches; false without an array).</summary>
        internal bool ArrayBigEnoughToTargetSlots
        {
            get
            {
                nuint t = Volatile.Read(ref _table);
                return t != 0 && TargetsSlots(BucketLayout<TKey, TValue>.TableB(t));
            }
        }

        /// <summary>Test hook: whether the batched writes (SetValues, RemoveKeys) on this map now prefetch the next block's buckets (false: runs of writes without prefetching, or no array).</summary>
        internal bool BatchSetPrefetches => WritesPrefetch();

        /// <summary>Test hook: whether the pair constructor, for a map of this one's size, key type and comparer, adds its pairs through its stack buffers (AddAllBuffered).</summary>
        internal bool PairConstructorBuffersForTest => AddAllBuffers();

        /// <summary>Test hook: publishes the lookups' words as a write in progress does at its end (Publish), so that a test can run that step after another thread's detection poisoned the map.</summary>
        internal void PublishForTest() => Publish();

        /// <summary>Test hook: whether this thread announces a read of this map now (Strict reads; see ReaderRegistry).</summary>
        internal bool ThisThreadAnnouncesReadForTest => ReaderRegistry.ThisThreadReading(_id);

        /// <summary>
        /// Test hook: the byte offsets, from the start of the map's enumeration words
        /// (<see cref="IterRegistration"/>), of the 8-byte words a lookup reads (the state word,
        /// the published tables, the seed's secrets) and of the flags (4 bytes), for the layout test.
        /// </summary>
        internal long[] LookupWordOffsetsForTest()
        {
            ref byte origin = ref Unsafe.As<IterRegistration, byte>(ref _reg);
            return new[]
            {
                (long)Unsafe.ByteOffset(ref origin, ref Unsafe.As<long, byte>(ref _state)),
                (long)Unsafe.ByteOffset(ref origin, ref Unsafe.As<int, byte>(ref _flags)),
                (long)Unsafe.ByteOffset(ref origin, ref Unsafe.As<nuint, byte>(ref _table)),
                (long)Unsafe.ByteOffset(ref origin, ref Unsafe.As<nuint, byte>(ref _quietTable)),
                (long)Unsafe.ByteOffset(ref origin, ref Unsafe.As<nuint, byte>(ref _plainReadTable)),
                (long)Unsafe.ByteOffset(ref origin, ref Unsafe.As<ulong, byte>(ref _k1)),
                (long)Unsafe.ByteOffset(ref origin, ref Unsafe.As<ulong, byte>(ref _k2)),
            };
        }

        /// <summary>Test hook: poisons the map as a detection does (the flag, with its message), without a write or a throw.</summary>
        internal void PoisonForTest(string message) => PoisonWhileWriting(message);

        /// <summary>Test hook: the size of a registration slot (IterSlot), for the layout test.</summary>
        internal static int IterSlotBytesForTest => sizeof(IterSlot);

        /// <summary>Test hook: the current bucket array (Go's buckets), or null before the first array.</summary>
        internal byte* BucketArray => _buckets;

        /// <summary>Test hook: the bucket array field itself (Validate's tests).</summary>
        internal ref byte* BucketsRefForTest => ref _buckets;

        /// <summary>Test hook: the writer's recorded thread (0 outside a write).</summary>
        internal ref int WriterRefForTest => ref _writer;

        /// <summary>Test hook: the next growth's array prepared ahead (<see cref="GoMapOptions.PrepareGrowthAhead"/>), or null.</summary>
        internal byte* PreparedArrayForTest => _preparedArray;

        /// <summary>Test hook: the count past which an insert prepares the next growth's array (three quarters of the growth's).</summary>
        internal long PreparePointForTest => PreparePoint();

        /// <summary>Test hook: the array being evacuated (Go's oldbuckets), or null when not growing.</summary>
        internal byte* OldBucketArray => _oldBuckets;

        /// <summary>Test hook: log2 of the old array's regular bucket count while growing (B − 1 for a doubling, B for a same-size growth, more for a shrink).</summary>
        internal int OldBForTest => _oldB;

        /// <summary>Test hook: makes every later growth of an insert double as Go's does, small tables too (<see cref="GrownB"/>), so that a test sees Go's growth schedule and the doubling's split on small maps.</summary>
        internal void DoubleLikeGoForTest() => _quadrupleMaxBytes = 0;

        /// <summary>Test hook: deletes leave emptied overflow buckets linked, as Go's mapdelete does (no TrimEmptyTail), for tests of Go's marking and of same-size growths.</summary>
        internal void KeepEmptyOverflowLikeGoForTest() => _keepEmptyOverflow = true;

        /// <summary>Test hook: gives this map the library's bound for evacuating a small table's growth in one write (<see cref="BulkEvacuationMaxBytes"/>), which the test assemblies set to 0 for the maps they create (<see cref="BulkEvacuation"/>).</summary>
        internal void EvacuateInBulkForTest() => _bulkEvacuationMaxBytes = BulkEvacuationMaxBytes;

        /// <summary>Test hook: the field B itself, writable (Validate's tests corrupt it and restore it).</summary>
        internal ref int BRefForTest => ref _b;

        /// <summary>Test hook: the evacuation mark (Go's nevacuate) itself, writable (Validate's tests).</summary>
        internal ref ulong NEvacuateRefForTest => ref _nevacuate;

        /// <summary>Test hook: the locked registration table's live count itself, writable (Validate's tests); the fast slots' registrations are not in it.</summary>
        internal ref int LiveIteratorsRefForTest => ref _reg.Live;

        /// <summary>Test hook: the claim word of fast registration slot <paramref name="k"/> itself, writable (Validate's tests).</summary>
        internal ref long FastClaimWordRefForTest(int k) => ref ClaimWord(k);

        /// <summary>Test hook: the number of registration slots claimed without the lock (slots 0 to this − 1).</summary>
        internal static int FastIterSlotsForTest => FastIterSlots;

        /// <summary>
        /// Test hook: a registration as an enumerator's start makes it, without the start's earlier
        /// check of the flags (so that a test can reach the claim's own check, which a start
        /// racing a Dispose or a poisoning meets); returns the slot.
        /// </summary>
        internal int RegisterForTest() => RegisterIterator(out _, out _, out _, out _);

        /// <summary>Test hook: registered enumerators, fast and locked (GetStats' count).</summary>
        internal int LiveIteratorCountForTest => LiveIteratorCount();

        /// <summary>Test hook: the pending-reclaim flag itself, writable (Validate's tests).</summary>
        internal ref bool ReclaimPendingRefForTest => ref _reclaimPending;

        /// <summary>Test hook: the deferred list's head itself, writable (Validate's tests).</summary>
        internal ref byte* DeferredHeadRefForTest => ref _deferred;

        /// <summary>Test hook: the state word (hashWriting and the write counts) itself, writable (Validate's tests).</summary>
        internal ref long StateRefForTest => ref _state;

        /// <summary>Test hook: takes the enumerators' registration lock (which SetFlag takes), so that a test can hold a Dispose inside it.</summary>
        internal void EnterIterLockForTest() => EnterIterLock();

        /// <summary>Test hook: a detection of another thread's write, as a write or read that met one makes it (poisons, waits for the write, throws).</summary>
        internal void DetectForTest() => Detected(GoMessages.ConcurrentWrites, insideWrite: false);

        /// <summary>Test hook: releases <see cref="EnterIterLockForTest"/>'s lock.</summary>
        internal void ExitIterLockForTest() => ExitIterLock();

        /// <summary>Test hook: the count of writes in place in the state word (0 to 255; the next write in place after 255 carries into the removals' count).</summary>
        internal int InPlaceCountForTest => (int)((Volatile.Read(ref _state) & StateInPlaceBits) / StateInPlaceOne);

        /// <summary>Test hook: the count of removals that only marked bytes in the state word (0 to 255; the next after 255 carries into the sequence).</summary>
        internal int RemovalCountForTest => (int)((Volatile.Read(ref _state) & StateRemovalBits) / StateRemovalOne);

        /// <summary>Test hook: the structural right itself, writable (Validate's tests).</summary>
        internal ref int StructuralRefForTest => ref _structural;

        /// <summary>Test hook: the published table word itself, writable (Validate's tests).</summary>
        internal ref nuint TableRefForTest => ref _table;

        /// <summary>Test hook: the published old table word itself, writable (Validate's tests).</summary>
        internal ref nuint OldTableRefForTest => ref _oldTable;

        /// <summary>Test hook: the published quiet table word itself, writable (Validate's tests).</summary>
        internal ref nuint QuietTableRefForTest => ref _quietTable;

        /// <summary>Test hook: the published plain-read table word itself, writable (Validate's tests).</summary>
        internal ref nuint PlainReadTableRefForTest => ref _plainReadTable;

        /// <summary>Test hook: the published plain-write table word itself, writable (Validate's tests).</summary>
        internal ref nuint PlainWriteTableRefForTest => ref _plainWriteTable;

        /// <summary>Test hook: the insert threshold itself, writable (Validate's tests).</summary>
        internal ref long InsertSlowAtRefForTest => ref _insertSlowAt;

        /// <summary>Test hook: the slow-write flag itself, writable (Validate's tests).</summary>
        internal ref int SlowWritesRefForTest => ref _slowWrites;

        /// <summary>Test hook: the pending resize target itself, writable (Validate's tests; ShrinkAndSameSizeGrowthTests plants with it the pending trim step a chained trim leaves, on a small table).</summary>
        internal ref int ResizeBRefForTest => ref _resizeB;

        /// <summary>Test hook: the entry count itself, writable (Validate's tests).</summary>
        internal ref long CountRefForTest => ref _count;

        /// <summary>Test hook: the approximate overflow count (Go's noverflow) itself, writable (Validate's tests).</summary>
        internal ref int NOverflowRefForTest => ref _noverflow;

        /// <summary>Test hook: the exact overflow bucket count itself, writable (Validate's tests).</summary>
        internal ref long OverflowUsedRefForTest => ref _overflowUsed;

        /// <summary>Test hook: the map's native byte count itself, writable (Validate's tests).</summary>
        internal ref long NativeBytesRefForTest => ref _nativeBytes;

        /// <summary>Test hook: the deferred and queued byte count itself, writable (Validate's tests).</summary>
        internal ref long DeferredBytesRefForTest => ref _deferredBytes;

        /// <summary>Test hook: the next free preallocated overflow bucket itself, writable (Validate's tests).</summary>
        internal ref byte* NextOverflowRefForTest => ref _nextOverflow;

        /// <summary>Test hook: the free bucket count of the newest chunk itself, writable (Validate's tests).</summary>
        internal ref long ChunkLeftRefForTest => ref _chunkLeft;

        /// <summary>Test hook: the old array's B itself, writable (Validate's tests).</summary>
        internal ref int OldBRefForTest => ref _oldB;

        /// <summary>Test hook: the prepared growth array pointer itself, writable (Validate's tests).</summary>
        internal ref byte* PreparedArrayRefForTest => ref _preparedArray;

        /// <summary>Test hook: the prepared growth array's B itself, writable (Validate's tests).</summary>
        internal ref int PreparedBRefForTest => ref _preparedB;

        /// <summary>Test hook: the B at which a preparation ran out of memory, or -1.</summary>
        internal ref int PrepareRefusedBRefForTest => ref _prepareRefusedB;

        /// <summary>Test hook: the current generation's chunk list count itself, writable (Validate's tests).</summary>
        internal ref long OverflowListCountRefForTest => ref _overflow.Count;

        /// <summary>Test hook: the old generation's ownership list's count itself, writable (a corrupt map's growth start).</summary>
        internal ref long OldOverflowListCountRefForTest => ref _oldOverflow.Count;

        /// <summary>Test hook: the current generation's chunk list storage (its items are writable; Validate's tests).</summary>
        internal byte** OverflowListItemsForTest => _overflow.Items;

        /// <summary>Test hook: the deferred-list boundary of enumerator registration slot <paramref name="slot"/> (numbered as enumerators number them: the fast slots, then the locked table's) itself, writable (Validate's tests).</summary>
        internal ref byte* IterBoundaryRefForTest(int slot)
        {
            IterSlot* table = RegistrationTable(slot, out int index);
            return ref table[index].Boundary;
        }

        /// <summary>Test hook: the head of the parked mappings' list, or null.</summary>
        internal byte* ParkedHeadForTest => _parked;

        /// <summary>Test hook: unmaps every parked mapping now, grace period or not, as Dispose does (a test that counts the pages a growth parks starts from none).</summary>
        internal void FreeParkedForTest() => FreeParked(all: true);

        /// <summary>Test hook: the ticket of enumerator registration slot <paramref name="slot"/> (numbered as <see cref="IterBoundaryRefForTest"/> numbers them; 0: free).</summary>
        internal ulong IterTicketForTest(int slot)
        {
            if (slot < FastIterSlots)
            {
                long w = Volatile.Read(ref ClaimWord(slot));
                return (w & ClaimStateMask) == ClaimRegistered ? (ulong)w : 0;
            }

            IterSlot* table = RegistrationTable(slot, out int index);
            return table == null ? 0 : table[index].Ticket;
        }

        /// <summary>Test hook: deletes since the current array was made (TrimExcess's compaction rule).</summary>
        internal long DeletesSinceGrowth => _deletesSinceGrowth;

        /// <summary>Test hook: the B a pending EnsureCapacity or TrimExcess still has to reach, or −1.</summary>
        internal int PendingResizeB => _resizeB;

        /// <summary>Test hook: the entry count, readable on a poisoned map (where <see cref="LongCount"/> throws).</summary>
        internal long CountForTest => _count;

        /// <summary>Test hook: the current hash seed (Go's hash0).</summary>
        internal ulong HashSeed => _hash0;

        /// <summary>The map's finalizer guard (FinalizerGuard.cs), or null once disposed; by reference, for Validate's tests.</summary>
        internal ref FinalizerGuard? GuardForTest => ref _guard;

        /// <summary>Test hook: the 64-bit hash of a key under the key type's default equality and the current seed.</summary>
        internal ulong DefaultHashForTest(TKey key) => KeyOps<TKey>.Hash(key, _k1, _k2);

        /// <summary>Test hook: the 64-bit hash a comparer hash code becomes under the current seed.</summary>
        internal ulong HashOfHashCode(int hashCode) => Hasher.FromHashCode(hashCode, _k1, _k2);

        /// <summary>Test hook: overflow chunks owned by the current generation (entries of Go's mapextra.overflow).</summary>
        internal long OverflowChunkCount => _overflow.Count;

        /// <summary>Test hook: overflow chunks owned by the old generation while growing (Go's mapextra.oldoverflow).</summary>
        internal long OldOverflowChunkCount => _oldOverflow.Count;

        /// <summary>Test hook: the number of buckets of chunk <paramref name="index"/> of the current generation, oldest first.</summary>
        internal long OverflowChunkBuckets(long index) => BucketLayout<TKey, TValue>.ChunkCount(_overflow.Items[index]);

        /// <summary>Test hook: chunk <paramref name="index"/> of the current generation's ownership list, oldest first.</summary>
        internal nint OverflowChunkAt(long index) => (nint)_overflow.Items[index];

        /// <summary>Test hook: the retired blocks an enumerator may still read, in the deferred list's order (newest first: the order in which release steps take them once promoted).</summary>
        internal nint[] DeferredBlocks()
        {
            var blocks = new nint[CountLinked(_deferred)];
            int i = 0;
            for (byte* p = _deferred; p != null; p = NativeHeap.Next(p))
            {
                blocks[i++] = (nint)p;
            }

            return blocks;
        }

        /// <summary>Test hook: free buckets left in the newest overflow chunk.</summary>
        internal long ChunkBucketsLeft => _chunkLeft;

        /// <summary>Test hook: overflow buckets that deletes unlinked empty and NewOverflow has not linked again (TrimEmptyTail).</summary>
        internal long SpareOverflowCountForTest => _spareCount;

        /// <summary>Test hook: the spare count itself, for Validate's tests.</summary>
        internal ref long SpareOverflowCountRefForTest => ref _spareCount;

        /// <summary>Test hook: the first spare overflow bucket, or null.</summary>
        internal byte* SpareOverflowForTest => _spareOverflow;

        /// <summary>Test hook: retired blocks an enumerator may still read (the deferred list).</summary>
        internal int DeferredBlockCount => CountLinked(_deferred);

        /// <summary>Test hook: retired blocks waiting for release steps (the release queue).</summary>
        internal int QueuedBlockCount => CountLinked(_releaseQueue);

        /// <summary>Enumerator registration tables outgrown and kept until Dispose.</summary>
        internal int OutgrownEnumeratorTableCount => CountLinked(_oldIterSlots);

        private static int CountLinked(byte* p)
        {
            int n = 0;
            for (; p != null; p = NativeHeap.Next(p))
            {
                n++;
            }

            return n;
        }

        /// <summary>Test hook: bytes still charged for Go-mode mappings released but for their first page, unmapped by a growth start at least a second later (or Dispose).</summary>
        internal long ParkedBytes
        {
            get
            {
                long n = 0;
                for (byte* p = _parked; p != null; p = NativeHeap.Next(p))
                {
                    n += NativeHeap.ChargedSize(p);
                }

                return n;
            }
        }
    }
}
