using System;
using System.Collections.Generic;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// Validate (GoMap.Validate.cs) catches each invariant broken alone: a test corrupts one
    /// field or header word through a test hook, expects Validate's "bad map state" with that
    /// invariant's message, and restores it (the map then validates and disposes as before).
    /// </summary>
    public unsafe class ValidateTests
    {
        /// <summary>Expects Validate's "bad map state: <paramref name="what"/>" (only its start when <paramref name="prefix"/>: messages that quote figures).</summary>
        private static void AssertBadState(GoMap<long, long> map, string what, bool prefix = false)
        {
            InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => map.Validate());
            if (prefix)
            {
                Assert.StartsWith("bad map state: " + what, e.Message, StringComparison.Ordinal);
            }
            else
            {
                Assert.Equal("bad map state: " + what, e.Message);
            }
        }

        /// <summary>Sets <paramref name="field"/> to <paramref name="bad"/>, expects Validate's "bad map state: <paramref name="what"/>" (<see cref="AssertBadState"/>), restores the field, and expects the map to validate again.</summary>
        private static void AssertBreaks<T>(GoMap<long, long> map, ref T field, T bad, string what, bool prefix = false)
            where T : unmanaged
        {
            T before = field;
            field = bad;
            try
            {
                AssertBadState(map, what, prefix);
            }
            finally
            {
                field = before;
            }

            map.Validate();
        }

        /// <summary><see cref="AssertBreaks{T}"/> for a pointer field, written as the address-sized integer it holds.</summary>
        private static void AssertBreaks(GoMap<long, long> map, ref byte* field, byte* bad, string what)
        {
            fixed (byte** p = &field)
            {
                AssertBreaks(map, ref *(nint*)p, (nint)bad, what);
            }
        }

        /// <summary>A map in the middle of a doubling from old B = 3 or more (Go's pace: a few units per write).</summary>
        private static GoMap<long, long> Growing()
        {
            var map = new GoMap<long, long>();
            map.DoubleLikeGoForTest();
            long k = 0;
            while (map.OldBucketArray == null || map.OldBForTest < 3)
            {
                map[k] = k;
                k++;
            }

            Assert.True(map.GetStats().B > map.OldBForTest, "not a doubling");
            map.Validate();
            return map;
        }

        /// <summary>A map with one chain (constant hash) whose overflow buckets come from chunks, with free buckets left in the newest chunk.</summary>
        private static GoMap<long, long> WithFreeChunkBuckets()
        {
            var map = new GoMap<long, long>(new GoMapOptions { CapacityHint = 1000, Seed = 2 }, ConstantHashComparer<long>.Instance);
            long k = 0;
            while (map.ChunkBucketsLeft == 0 || map.OverflowChunkCount < 2)
            {
                map[k] = k;
                k++;
                Assert.True(k < 4000, "no chunk with free buckets");
            }

            Assert.False(map.GetStats().IsGrowing);
            map.Validate();
            return map;
        }

        /// <summary>A map of B = 6 (four preallocated overflow buckets) with 10 entries: its tail is free.</summary>
        private static GoMap<long, long> WithFreeTail()
        {
            var map = new GoMap<long, long>(new GoMapOptions { CapacityHint = 400 });
            for (long k = 0; k < 10; k++)
            {
                map[k] = k;
            }

            Assert.True(map.GetStats().B >= 4, "no preallocated tail");
            Assert.True(map.NextOverflowRefForTest != null, "no free preallocated bucket");
            map.Validate();
            return map;
        }

        /// <summary>The first live slot of a bucket.</summary>
        private static int FirstLiveSlot(byte* bucket)
        {
            int slot = 0;
            while (bucket[slot] < MapMath.MinTopHash)
            {
                slot++;
            }

            return slot;
        }

        private static GoMap<long, long> Filled(long count)
        {
            var map = new GoMap<long, long>();
            for (long k = 0; k < count; k++)
            {
                map[k] = k;
            }

            return map;
        }

        [Fact]
        public void AFinalizerGuardThatGuardsAnotherMap_FailsValidation()
        {
            using GoMap<long, long> map = Filled(10);
            using GoMap<long, long> other = Filled(10);
            map.Validate();
            ref FinalizerGuard? guard = ref map.GuardForTest;
            FinalizerGuard? own = guard;
            guard = other.GuardForTest;
            try
            {
                AssertBadState(map, "the map's finalizer guard does not guard it");
            }
            finally
            {
                guard = own;
            }

            map.Validate();
        }

        [Fact]
        public void ABucketArrayBlockSmallerThanBsArray_FailsValidation()
        {
            using GoMap<long, long> map = Filled(100);
            map.Validate();
            ref int b = ref map.BRefForTest;
            AssertBreaks(map, ref b, b + 1, "the bucket array's block is smaller than B's array");
        }

        [Fact]
        public void AnOverflowChunkCountBeyondItsBlock_FailsValidation()
        {
            using var map = new GoMap<long, long>(new GoMapOptions { CapacityHint = 13, Seed = 2 }, ConstantHashComparer<long>.Instance);
            for (long k = 0; k < 9; k++)
            {
                map[k] = k; // B = 1, one chain: the 9th entry takes a chunk of one overflow bucket
            }

            Assert.Equal(1, map.OverflowChunkCount);
            map.Validate();
            ref long count = ref BucketLayout<long, long>.ChunkCount((byte*)map.OverflowChunkAt(0));
            AssertBreaks(map, ref count, 1_000_000, "overflow chunk's bucket count does not fit its block");
        }

        [Fact]
        public void AFreedBlockOnTheDeferredList_FailsValidation()
        {
            using GoMap<long, long> map = Filled(10);
            map.Validate();
            NativeHeap.PoisonFreedMemory = true; // the freed block stays readable, in quarantine
            try
            {
                byte* freed = NativeHeap.Alloc(64, zero: true);
                NativeHeap.Free(freed);
                ref byte* head = ref map.DeferredHeadRefForTest;
                byte* before = head;
                NativeHeap.Next(freed) = before;
                head = freed;
                try
                {
                    AssertBadState(map, "deferred block is freed");
                }
                finally
                {
                    head = before;
                }
            }
            finally
            {
                NativeHeap.PoisonFreedMemory = false;
                NativeHeap.ReleaseQuarantine();
            }

            map.Validate();
        }

        [Fact]
        public void DeferredBlocksWithNoEnumeratorAndNoReclaimPending_FailValidation()
        {
            using GoMap<long, long> map = Filled(1);
            map.Remove(0);
            map.TrimExcess(); // the empty map drops its array: retired to the deferred list
            Assert.NotEqual(0, map.DeferredBlockCount);
            map.Validate();
            ref bool pending = ref map.ReclaimPendingRefForTest;
            Assert.True(pending);
            AssertBreaks(map, ref pending, false, "blocks are deferred with no enumerator live and no reclaim pending");
        }

        [Fact]
        public void LiveEnumeratorsWithoutARegistrationTable_FailValidation()
        {
            using GoMap<long, long> map = Filled(10); // never enumerated: no registration table
            map.Validate();
            ref int live = ref map.LiveIteratorsRefForTest;
            AssertBreaks(map, ref live, 1, "live enumerators without a registration table");
        }

        [Fact]
        public void ALiveSlotsTophashThatIsNotItsKeys_FailsValidation()
        {
            using GoMap<long, long> map = Filled(1); // B = 0: one bucket, one live slot
            map.Validate();
            byte* bucket = map.BucketArray;
            int slot = 0;
            while (bucket[slot] < 5)
            {
                slot++;
            }

            byte before = bucket[slot];
            // still a live tophash, not the key's
            AssertBreaks(map, ref bucket[slot], before == 255 ? (byte)254 : (byte)(before + 1), "tophash does not match the key's hash in chain 0");
        }

        [Fact]
        public void AnEvacuationMarkAtTheEndWhileGrowing_FailsValidation()
        {
            using var map = new GoMap<long, long>();
            map.DoubleLikeGoForTest();
            long k = 0;
            while (map.OldBucketArray == null || map.OldBForTest < 3)
            {
                map[k] = k; // the test assembly's maps grow a few units per write (TestAssemblySetup)
                k++;
            }

            Assert.True(map.GetStats().B > map.OldBForTest, "not a doubling");
            map.Validate();
            ref ulong nevacuate = ref map.NEvacuateRefForTest;
            // a doubling's units: its old buckets
            AssertBreaks(map, ref nevacuate, 1UL << map.OldBForTest, "nevacuate at or past the last evacuation unit while growing");
        }

        [Fact]
        public void HashWritingSetOutsideAWrite_FailsValidation()
        {
            using GoMap<long, long> map = Filled(5);
            map.Validate();
            ref long state = ref map.StateRefForTest;
            // hashWriting (GoMap.Concurrency.cs's StateWriting)
            AssertBreaks(map, ref state, state | 1, "hashWriting is set outside a write");
        }

        [Fact]
        public void TheStructuralRightHeldOutsideAWrite_FailsValidation()
        {
            using GoMap<long, long> map = Filled(5);
            map.Validate();
            ref int structural = ref map.StructuralRefForTest;
            AssertBreaks(map, ref structural, 1, "the structural right is held outside a write");
        }

        [Fact]
        public void ARefusedPreparationRecordedForAnotherB_FailsValidation()
        {
            using GoMap<long, long> map = Filled(5);
            map.Validate();
            ref int refused = ref map.PrepareRefusedBRefForTest;
            AssertBreaks(map, ref refused, map.GetStats().B + 1, "a refused preparation is recorded for another B than the current one, or beside a prepared array");
        }

        [Fact]
        public void AWritersThreadRecordedOutsideAWrite_FailsValidation()
        {
            using GoMap<long, long> map = Filled(5);
            map.Validate();
            ref int writer = ref map.WriterRefForTest;
            AssertBreaks(map, ref writer, Environment.CurrentManagedThreadId, "a writer's thread is recorded outside a write");
        }

        [Fact]
        public void AMisalignedBucketArray_FailsValidation()
        {
            using GoMap<long, long> map = Filled(5);
            map.Validate();
            ref byte* buckets = ref map.BucketsRefForTest;
            byte* before = buckets;
            buckets = before + 8;
            try
            {
                AssertBadState(map, "the bucket array is not 64-byte aligned");
            }
            finally
            {
                buckets = before;
            }

            map.Validate();
        }

        [Fact]
        public void APublishedTableOfTheWrongB_FailsValidation()
        {
            using GoMap<long, long> map = Filled(5);
            map.Validate();
            ref nuint table = ref map.TableRefForTest;
            // the same array with another B
            AssertBreaks(map, ref table, table ^ 1, "the published table differs from the bucket array and B");
        }

        [Fact]
        public void APublishedOldTableOfTheWrongB_FailsValidation()
        {
            using GoMap<long, long> map = Growing();
            ref nuint oldTable = ref map.OldTableRefForTest;
            Assert.NotEqual((nuint)0, oldTable);
            AssertBreaks(map, ref oldTable, oldTable ^ 1, "the published old table differs from the old array and its B");
        }

        [Fact]
        public void AQuietTableClearedOnAQuietMap_FailsValidation()
        {
            using GoMap<long, long> map = Filled(5); // no growth, no comparer
            map.Validate();
            ref nuint quiet = ref map.QuietTableRefForTest;
            nuint before = quiet;
            Assert.Equal(map.TableRefForTest, before);
            AssertBreaks(map, ref quiet, (nuint)0, "the published quiet table is not the table of a map that neither grows nor has a comparer");
        }

        [Fact]
        public void APlainReadTableClearedOnAGoModeMap_FailsValidation()
        {
            using GoMap<long, long> map = Filled(5);
            map.Validate();
            ref nuint plainRead = ref map.PlainReadTableRefForTest;
            nuint before = plainRead;
            Assert.NotEqual((nuint)0, before);
            AssertBreaks(map, ref plainRead, (nuint)0, "the published plain-read table is not the quiet table of a Go-mode map that is not poisoned");
        }

        [Fact]
        public void APlainWriteTableDifferentFromThePlainReadTable_FailsValidation()
        {
            using GoMap<long, long> map = Filled(5);
            map.Validate();
            ref nuint plainWrite = ref map.PlainWriteTableRefForTest;
            nuint before = plainWrite;
            AssertBreaks(map, ref plainWrite, before == 0 ? map.TableRefForTest : 0, "the published plain-write table is not the plain-read table of a map whose writes may take the fast path");
        }

        [Fact]
        public void AStaleInsertThreshold_FailsValidation()
        {
            using GoMap<long, long> map = Filled(5);
            map.Validate();
            ref long slowAt = ref map.InsertSlowAtRefForTest;
            AssertBreaks(map, ref slowAt, slowAt + 1, "the insert threshold is stale");
        }

        [Fact]
        public void TheSlowWriteFlagClearWhileGrowing_FailsValidation()
        {
            using GoMap<long, long> map = Growing();
            ref int slowWrites = ref map.SlowWritesRefForTest;
            int before = slowWrites;
            Assert.NotEqual(0, before);
            // the plain-write table is 0 either way while growing: only this check sees it
            AssertBreaks(map, ref slowWrites, 0, "the slow-write flag is clear while writes must take the slow path");
        }

        [Fact]
        public void APendingResizeTargetOutOfRange_FailsValidation()
        {
            using GoMap<long, long> map = Filled(5);
            map.Validate();
            ref int resizeB = ref map.ResizeBRefForTest;
            Assert.Equal(-1, resizeB);
            // below −1: the slow-write check (resizeB ≥ 0) stays quiet
            AssertBreaks(map, ref resizeB, -2, "the pending resize target is out of range");
        }

        [Fact]
        public void EntriesWithoutABucketArray_FailValidation()
        {
            using var map = new GoMap<long, long>();
            Assert.True(map.BucketArray == null);
            map.Validate();
            AssertBreaks(map, ref map.CountRefForTest, 1, "no bucket array but entries, B, growth or spare overflow buckets");
        }

        [Fact]
        public void ABlockOwnedTwice_FailsValidation()
        {
            using GoMap<long, long> map = Filled(5); // no PrepareGrowthAhead, no prepared array
            map.Validate();
            ref byte* prepared = ref map.PreparedArrayRefForTest;
            Assert.True(prepared == null);
            // the bucket array, owned a second time
            AssertBreaks(map, ref prepared, map.BucketArray, "prepared growth array is owned twice");
        }

        [FactNeeding(Needs.Mappings)]
        public void AnEvacuatedNewBucketOnPagesNotFaultedIn_FailsValidation()
        {
            // SmallPagesForGrowth: a growth's evacuations fault in the pages of the new array they
            // write before they write them (FaultInDestinations), and mark them in its touch map. The
            // write that starts the growth to B = 15 (a 5 MB array) evacuates old bucket 0 first.
            using var map = new GoMap<long, long>(new GoMapOptions { SmallPagesForGrowth = true });
            long k = 0;
            while (map.GetStats().B < 15 || !map.GetStats().IsGrowing)
            {
                map[k] = k;
                k++;
            }

            map.Validate();
            byte* array = map.BucketArray;
            Assert.True(NativeHeap.HasTouchMap(array));
            byte* first = BucketLayout<long, long>.Bucket(array, 0);
            NativeHeap.UnmarkChunkForTest(array, first);
            AssertBadState(map, "new bucket 0 was filled before its pages of the array were faulted in");
            int chunks = 1;
            NativeHeap.FaultIn(array, first, (ulong)BucketLayout<long, long>.BucketSize, ref chunks); // marks it again
            map.Validate();
        }

        [Fact]
        public void APreparedArrayWithoutPrepareGrowthAhead_FailsValidation()
        {
            using GoMap<long, long> map = Filled(5);
            map.Validate();
            byte* block = NativeHeap.Alloc(64, zero: true);
            ref byte* prepared = ref map.PreparedArrayRefForTest;
            prepared = block;
            try
            {
                AssertBadState(map, "a prepared growth array without PrepareGrowthAhead");
            }
            finally
            {
                prepared = null;
                NativeHeap.Free(block);
            }

            map.Validate();
        }

        [FactNeeding(Needs.Mappings | Needs.ReleaseThread)]
        public void APreparedArrayOfAnotherBThanTheNextGrowths_FailsValidation()
        {
            using GoMap<long, long> map = PageBackingTests.FilledToFirstPrepare(out _);
            map.Validate();
            ref int preparedB = ref map.PreparedBRefForTest;
            AssertBreaks(map, ref preparedB, preparedB + 1, "the prepared array is not of the next growth's size");
        }

        [Fact]
        public void AChunkListCountPastItsCapacity_FailsValidation()
        {
            using GoMap<long, long> map = WithFreeChunkBuckets();
            AssertBreaks(map, ref map.OverflowListCountRefForTest, long.MaxValue, "overflow chunk list is malformed");
        }

        [Fact]
        public void ANullEntryInTheChunkList_FailsValidation()
        {
            using GoMap<long, long> map = WithFreeChunkBuckets();
            byte** items = map.OverflowListItemsForTest;
            AssertBreaks(map, ref items[0], null, "overflow chunk is null");
        }

        [Fact]
        public void AChunkCursorOutsideTheNewestChunk_FailsValidation()
        {
            using GoMap<long, long> map = WithFreeChunkBuckets();
            ref long left = ref map.ChunkLeftRefForTest;
            // the cursor no longer sits that many buckets before the chunk's end
            AssertBreaks(map, ref left, left + 1, "the chunk cursor is outside the newest chunk");
        }

        [Fact]
        public void AFreeChunkBucketThatIsNotEmpty_FailsValidation()
        {
            using GoMap<long, long> map = WithFreeChunkBuckets();
            byte* newest = (byte*)map.OverflowChunkAt(map.OverflowChunkCount - 1);
            long n = BucketLayout<long, long>.ChunkCount(newest);
            byte* lastFree = BucketLayout<long, long>.ChunkBucket(newest, n - 1);
            ref byte top = ref BucketLayout<long, long>.TopHash(lastFree, 0);
            Assert.Equal(0, top);
            AssertBreaks(map, ref top, MapMath.EmptyOne, "a free chunk bucket is not empty");
        }

        [Fact]
        public void AWrongOverflowBucketCount_FailsValidation()
        {
            using GoMap<long, long> map = WithFreeChunkBuckets();
            ref long used = ref map.OverflowUsedRefForTest;
            AssertBreaks(map, ref used, used - 1, "overflow bucket count is wrong");
        }

        [Fact]
        public void AnInexactNOverflowBelowB16_FailsValidation()
        {
            using GoMap<long, long> map = WithFreeChunkBuckets();
            Assert.True(map.GetStats().B < 16);
            ref int noverflow = ref map.NOverflowRefForTest;
            // down: up could cross the too-many-overflow threshold and stale the insert threshold first
            AssertBreaks(map, ref noverflow, noverflow - 1, "noverflow is not exact below B = 16 (linked and spare overflow buckets)");
        }

        /// <summary>A map whose one overflow bucket a delete unlinked as a spare: OverflowSpareTests' map with one overflow bucket (10 keys in chain 0 of B = 4), the 2 keys in that bucket removed.</summary>
        private static GoMap<long, long> WithOneSpare()
        {
            GoMap<long, long> map = OverflowSpareTests.MapWithOneOverflowBucket(ConcurrencyChecks.Go, out List<long> chain, out _);
            map.Remove(chain[9]);
            map.Remove(chain[8]);
            Assert.Equal(1, map.SpareOverflowCountForTest);
            map.Validate();
            return map;
        }

        [Fact]
        public void ASpareOverflowBucketWithALiveSlot_FailsValidation()
        {
            using GoMap<long, long> map = WithOneSpare();
            ref byte top = ref BucketLayout<long, long>.TopHash(map.SpareOverflowForTest, 3);
            AssertBreaks(map, ref top, (byte)(MapMath.MinTopHash + 1), "a spare overflow bucket is not all emptyRest");
        }

        [Fact]
        public void ASpareOverflowCountOffByOne_FailsValidation()
        {
            using GoMap<long, long> map = WithOneSpare();
            AssertBreaks(map, ref map.SpareOverflowCountRefForTest, 2L, "the spare overflow count differs from the spare list");
        }

        [Fact]
        public void ASpareOverflowBucketStillLinkedInAChain_FailsValidation()
        {
            using GoMap<long, long> map = WithOneSpare();
            ref byte* overflow = ref BucketLayout<long, long>.Overflow(map.BucketArray); // chain 0's first bucket, now the chain's only one
            Assert.True(overflow == null);
            AssertBreaks(map, ref overflow, map.SpareOverflowForTest, "a spare overflow bucket is linked in a chain or listed twice");
        }

        [Fact]
        public void AMisalignedNextOverflow_FailsValidation()
        {
            using GoMap<long, long> map = WithFreeTail();
            int b = map.GetStats().B;
            ref byte* next = ref map.NextOverflowRefForTest;
            AssertBreaks(map, ref next, BucketLayout<long, long>.Bucket(map.BucketArray, MapMath.BucketShift(b)) + 1, "nextOverflow outside the preallocated tail");
        }

        [Fact]
        public void AFreePreallocatedBucketNotMarkedFree_FailsValidation()
        {
            using GoMap<long, long> map = WithFreeTail();
            // the free tail buckets are now neither used nor free
            AssertBreaks(map, ref map.NextOverflowRefForTest, null, "preallocated overflow bucket both used and free, or neither");
        }

        [Fact]
        public void AFreePreallocatedBucketThatIsNotEmpty_FailsValidation()
        {
            using GoMap<long, long> map = WithFreeTail();
            int b = map.GetStats().B;
            byte* last = BucketLayout<long, long>.Bucket(map.BucketArray, MapMath.ArrayBucketCount(b) - 1);
            ref byte top = ref BucketLayout<long, long>.TopHash(last, 0);
            Assert.Equal(0, top);
            AssertBreaks(map, ref top, MapMath.EmptyOne, "free preallocated overflow bucket is not empty");
        }

        [Fact]
        public void ALiveEnumeratorCountDifferentFromTheTable_FailsValidation()
        {
            // The fast slots first, so that the last enumerator registers in the locked table.
            using GoMap<long, long> map = Filled(5);
            var live = new List<GoMap<long, long>.Enumerator>();
            try
            {
                for (int k = 0; k <= GoMap<long, long>.FastIterSlotsForTest; k++)
                {
                    GoMap<long, long>.Enumerator e = map.GetEnumerator();
                    Assert.True(e.MoveNext());
                    live.Add(e);
                }

                ref int locked = ref map.LiveIteratorsRefForTest;
                Assert.Equal(1, locked);
                Assert.Equal(GoMap<long, long>.FastIterSlotsForTest + 1, map.GetStats().LiveEnumerators);
                map.Validate();
                AssertBreaks(map, ref locked, 2, "live enumerator count differs from the registration table");
            }
            finally
            {
                foreach (GoMap<long, long>.Enumerator e in live)
                {
                    e.Dispose();
                }
            }

            map.Validate();
        }

        [Fact]
        public void AnEnumeratorBoundaryOutsideTheDeferredList_FailsValidation()
        {
            using GoMap<long, long> map = Filled(5);
            GoMap<long, long>.Enumerator e = map.GetEnumerator();
            try
            {
                Assert.True(e.MoveNext());
                int slot = e.SlotForTest;
                Assert.True(slot < GoMap<long, long>.FastIterSlotsForTest);
                Assert.NotEqual(0UL, map.IterTicketForTest(slot));
                map.Validate();
                ref byte* boundary = ref map.IterBoundaryRefForTest(slot);
                // a live block, never on the deferred list
                AssertBreaks(map, ref boundary, map.BucketArray, "an enumerator's deferred-list boundary is not in the list");
            }
            finally
            {
                e.Dispose();
            }

            map.Validate();
        }

        [Fact]
        public void AFastSlotBetweenStates_FailsValidation()
        {
            // Validate runs with nothing else touching the map: a claim word left Claiming or
            // Releasing means a registration or an end stopped halfway.
            using GoMap<long, long> map = Filled(5);
            foreach (KeyValuePair<long, long> kv in map)
            {
            }

            int k = FreeFastSlot(map);
            ref long claim = ref map.FastClaimWordRefForTest(k);
            map.Validate();
            AssertBreaks(map, ref claim, claim + 1, "a fast registration slot is being claimed or released while the map is validated");
        }

        [Fact]
        public void AFreeFastSlotWithABoundary_FailsValidation()
        {
            using GoMap<long, long> map = Filled(5);
            foreach (KeyValuePair<long, long> kv in map)
            {
            }

            int k = FreeFastSlot(map);
            ref byte* boundary = ref map.IterBoundaryRefForTest(k);
            Assert.True(boundary == null);
            map.Validate();
            // null is always in the list; any block stands for a boundary a free slot kept
            AssertBreaks(map, ref boundary, map.BucketArray, "a free registration slot keeps a deferred-list boundary");
        }

        [Fact]
        public void AFastClaimWithoutAFastTable_FailsValidation()
        {
            using GoMap<long, long> map = Filled(10); // never enumerated: no fast registration table
            map.Validate();
            ref long claim = ref map.FastClaimWordRefForTest(0);
            AssertBreaks(map, ref claim, 2L, "fast registrations without a fast registration table");
        }

        /// <summary>A fast registration slot whose claim word is Free (every one is, after the enumerations above end).</summary>
        private static int FreeFastSlot(GoMap<long, long> map)
        {
            for (int k = 0; k < GoMap<long, long>.FastIterSlotsForTest; k++)
            {
                if ((map.FastClaimWordRefForTest(k) & 3) == 0)
                {
                    return k;
                }
            }

            throw new InvalidOperationException("no free fast slot");
        }

        [Fact]
        public void AWrongDeferredByteCount_FailsValidation()
        {
            using GoMap<long, long> map = Filled(5);
            map.Validate();
            ref long deferred = ref map.DeferredBytesRefForTest;
            AssertBreaks(map, ref deferred, deferred + 1, "deferred byte count is wrong");
        }

        [Fact]
        public void AWrongNativeByteCount_FailsValidation()
        {
            using GoMap<long, long> map = Filled(5);
            map.Validate();
            ref long bytes = ref map.NativeBytesRefForTest;
            AssertBreaks(map, ref bytes, bytes + 1, "owned blocks total ", prefix: true);
        }

        [Fact]
        public void ADisposedMapThatStillCountsMemory_FailsValidation()
        {
            GoMap<long, long> map = Filled(5);
            map.Dispose();
            map.Validate();
            AssertBreaks(map, ref map.NativeBytesRefForTest, 1, "disposed map still holds memory");
        }

        [Fact]
        public void ACountDifferentFromTheLiveCells_FailsValidation()
        {
            using GoMap<long, long> map = Filled(5);
            map.Validate();
            ref long count = ref map.CountRefForTest;
            AssertBreaks(map, ref count, count + 1, "5 live cells but count 6");
        }

        [Fact]
        public void OldGenerationStateWithoutAGrowth_FailsValidation()
        {
            using GoMap<long, long> map = Filled(5);
            map.Validate();
            AssertBreaks(map, ref map.OldBRefForTest, 1, "old generation state without a growth");
        }

        [Fact]
        public void AnOldBucketArrayBlockSmallerThanItsBsArray_FailsValidation()
        {
            using GoMap<long, long> map = Growing();
            ref int oldB = ref map.OldBRefForTest;
            AssertBreaks(map, ref oldB, oldB + 1, "the old bucket array's block is smaller than its B's array");
        }

        [Fact]
        public void ANewBucketFilledBeforeItsOldBucketWasEvacuated_FailsValidation()
        {
            using GoMap<long, long> map = Growing();
            ulong unit = map.NEvacuateRefForTest;
            while (MapMath.Evacuated(*BucketLayout<long, long>.Bucket(map.OldBucketArray, unit)))
            {
                unit++;
            }

            byte* target = BucketLayout<long, long>.Bucket(map.BucketArray, unit); // a doubling: unit u fills new buckets u and u + 2^oldB
            ref byte top = ref BucketLayout<long, long>.TopHash(target, MapMath.BucketCnt - 1);
            Assert.Equal(0, top);
            AssertBreaks(map, ref top, MapMath.EmptyOne, $"new bucket {unit} filled before old bucket {unit} was evacuated");
        }

        [Fact]
        public void AnUnevacuatedOldBucketBelowNEvacuate_FailsValidation()
        {
            using GoMap<long, long> map = Growing();
            ref ulong nevacuate = ref map.NEvacuateRefForTest;
            ulong before = nevacuate;
            ulong unit = before;
            while (MapMath.Evacuated(*BucketLayout<long, long>.Bucket(map.OldBucketArray, unit)))
            {
                unit++;
            }

            Assert.True(unit + 1 < (1UL << map.OldBForTest), "no unevacuated unit before the last");
            AssertBreaks(map, ref nevacuate, unit + 1, $"old bucket {unit} below nevacuate is not evacuated");
        }

        [Fact]
        public void APartlyEvacuatedOldChain_FailsValidation()
        {
            using GoMap<long, long> map = Growing();
            ulong j = 0;
            while (!MapMath.Evacuated(*BucketLayout<long, long>.Bucket(map.OldBucketArray, j)))
            {
                j++;
            }

            // the first slot keeps its mark: the chain stays evacuated, one slot is not
            AssertBreaks(map, ref BucketLayout<long, long>.TopHash(BucketLayout<long, long>.Bucket(map.OldBucketArray, j), 1), MapMath.EmptyRest, $"old chain {j} is partly evacuated");
        }

        [Fact]
        public void AnEvacuationMarkInALiveChain_FailsValidation()
        {
            using GoMap<long, long> map = Filled(1); // B = 0, not growing
            map.Validate();
            byte* bucket = map.BucketArray;
            ref byte top = ref BucketLayout<long, long>.TopHash(bucket, MapMath.BucketCnt - 1);
            Assert.Equal(MapMath.EmptyRest, top);
            AssertBreaks(map, ref top, MapMath.EvacuatedX, "evacuation mark in live chain 0");
        }

        [Fact]
        public void ALiveSlotAfterAnEmptyRestSlot_FailsValidation()
        {
            using GoMap<long, long> map = Filled(1);
            map.Validate();
            byte* bucket = map.BucketArray;
            int live = FirstLiveSlot(bucket);
            Assert.True(live < MapMath.BucketCnt - 2);
            ref byte top = ref BucketLayout<long, long>.TopHash(bucket, MapMath.BucketCnt - 1);
            Assert.Equal(MapMath.EmptyRest, top);
            // after the emptyRest slots that follow the live one
            AssertBreaks(map, ref top, MapMath.EmptyOne, "slot after emptyRest is not emptyRest in chain 0");
        }

        [Fact]
        public void AChainEndingInEmptyOne_FailsValidation()
        {
            using GoMap<long, long> map = Filled(1);
            map.Validate();
            byte* bucket = map.BucketArray;
            int live = FirstLiveSlot(bucket);
            Assert.True(live < MapMath.BucketCnt - 1);
            ref ulong word = ref BucketLayout<long, long>.TopHashWordRef(bucket);
            ulong bad = word;
            for (int i = live + 1; i < MapMath.BucketCnt; i++)
            {
                bad = (bad & ~(0xFFUL << (i * 8))) | ((ulong)MapMath.EmptyOne << (i * 8)); // emptyRest → emptyOne after the live slot
            }

            AssertBreaks(map, ref word, bad, "chain 0 ends in emptyOne instead of emptyRest");
        }

        [Fact]
        public void AKeyInTheWrongChain_FailsValidation()
        {
            using GoMap<long, long> map = WithFreeTail(); // B = 6, 10 entries: no overflow
            int b = map.GetStats().B;
            ulong chain = 0;
            while (BucketLayout<long, long>.TopHash(BucketLayout<long, long>.Bucket(map.BucketArray, chain), 0) < MapMath.MinTopHash)
            {
                chain++; // a bucket whose first slot is live
            }

            ref long key = ref BucketLayout<long, long>.Key(BucketLayout<long, long>.Bucket(map.BucketArray, chain), 0);
            long before = key;
            byte top = MapMath.TopHash(map.DefaultHashForTest(before));
            long other = 1_000_000; // a key with the same tophash whose hash picks another bucket
            while (MapMath.TopHash(map.DefaultHashForTest(other)) != top || (map.DefaultHashForTest(other) & MapMath.BucketMask(b)) == chain)
            {
                other++;
            }

            AssertBreaks(map, ref key, other, $"key in chain {chain} hashes to bucket {map.DefaultHashForTest(other) & MapMath.BucketMask(b)}");
        }

        [Fact]
        public void ABucketReachableTwice_FailsValidation()
        {
            using GoMap<long, long> map = Filled(1);
            map.Validate();
            byte* bucket = map.BucketArray;
            ref byte* overflow = ref BucketLayout<long, long>.Overflow(bucket);
            Assert.True(overflow == null);
            // a chain that loops back to its first bucket
            AssertBreaks(map, ref overflow, bucket, "bucket reachable twice (chain 0)");
        }

        [Fact]
        public void AnOverflowBucketNeitherPreallocatedNorInAChunk_FailsValidation()
        {
            using GoMap<long, long> map = WithFreeTail(); // B = 6, 10 entries: no overflow
            Assert.True(map.GetStats().B >= 1);
            byte* bucket = map.BucketArray;
            ref byte* overflow = ref BucketLayout<long, long>.Overflow(bucket);
            Assert.True(overflow == null);
            // a regular bucket of the array
            AssertBreaks(map, ref overflow, BucketLayout<long, long>.Bucket(bucket, 1), "overflow bucket of chain 0 neither preallocated nor in an owned chunk");
        }

        [Fact]
        public void AnOldBucketEvacuatedApartFromItsUnit_FailsValidation()
        {
            using var map = new GoMap<long, long>();
            for (long k = 0; k < 20_000; k++)
            {
                map[k] = k;
            }

            for (long k = 100; k < 20_000; k++)
            {
                map.Remove(k);
            }

            Assert.False(map.TrimExcess(), "the shrink ended in one call");
            int b = map.GetStats().B;
            int oldB = map.OldBForTest;
            Assert.True(oldB > b, "not a shrink");
            map.Validate();

            // A shrink's unit u is old buckets u + m·2^B: mark one of them evacuated while its unit is not.
            ulong units = 1UL << b;
            ulong j = units;
            while (MapMath.Evacuated(*BucketLayout<long, long>.Bucket(map.OldBucketArray, j & (units - 1))))
            {
                j++;
            }

            Assert.True(j < (1UL << oldB), "every unit is evacuated");
            AssertBreaks(map, ref BucketLayout<long, long>.TopHash(BucketLayout<long, long>.Bucket(map.OldBucketArray, j), 0), MapMath.EvacuatedEmpty, $"old bucket {j} is evacuated apart from its unit {j & (units - 1)}");
        }

        /// <summary><see cref="PageBackingTests.FilledToFirstPrepare"/>'s map (its first growth array prepared ahead), checked valid before a test breaks it.</summary>
        private static GoMap<long, long> FilledToFirstPrepare(out long next)
        {
            GoMap<long, long> map = PageBackingTests.FilledToFirstPrepare(out next);
            map.Validate();
            return map;
        }

        [FactNeeding(Needs.Mappings | Needs.ReleaseThread)]
        public void APreparedArrayBlockSmallerThanItsBsArray_FailsValidation()
        {
            using GoMap<long, long> map = FilledToFirstPrepare(out _);
            ref byte* prepared = ref map.PreparedArrayRefForTest;
            byte* before = prepared;
            byte* small = NativeHeap.Alloc(64, zero: true);
            prepared = small;
            try
            {
                AssertBadState(map, "the prepared array's block is smaller than its B's array");
            }
            finally
            {
                prepared = before;
                NativeHeap.Free(small);
            }

            map.Validate();
        }

        [FactNeeding(Needs.Mappings | Needs.ReleaseThread)]
        public void APreparedArrayThatIsTheOldArray_FailsValidation()
        {
            using GoMap<long, long> map = FilledToFirstPrepare(out long k);
            while (map.OldBucketArray == null)
            {
                map[k] = k; // the growth starts with the prepared array, which leaves the field
                k++;
            }

            map.Validate();
            ref byte* prepared = ref map.PreparedArrayRefForTest;
            ref int preparedB = ref map.PreparedBRefForTest;
            Assert.True(prepared == null);
            int bBefore = preparedB;

            // Two fields: a prepared array (any) must also be of the next growth's B, checked first.
            prepared = map.OldBucketArray;
            preparedB = map.GrownB(map.GetStats().B);
            try
            {
                AssertBadState(map, "the prepared array is in use");
            }
            finally
            {
                prepared = null;
                preparedB = bBefore;
            }

            map.Validate();
        }

        [Fact]
        public void AnOverflowLinkToAMisalignedTailAddress_FailsValidation()
        {
            // The chain walk accepts any address inside the tail (only chunk buckets are checked
            // for alignment); the ownership count catches it: the link reaches no tail bucket.
            using GoMap<long, long> map = WithFreeTail(); // the whole tail is free, zeroed
            byte* bucket = map.BucketArray;
            ref byte* overflow = ref BucketLayout<long, long>.Overflow(bucket);
            Assert.True(overflow == null);
            // reads as an empty bucket
            AssertBreaks(map, ref overflow, BucketLayout<long, long>.Bucket(bucket, MapMath.BucketShift(map.GetStats().B)) + 1, "an overflow bucket is linked or spare but not owned");
        }

        /// <summary>A Go-mode map that grew from B = 15 and released its old array but its first page, parked (the head of the parked list); for tests that need the library's mappings (<see cref="Needs.Mappings"/>: nothing parks without them).</summary>
        private static GoMap<long, long> WithAParkedMapping()
        {
            using IDisposable piecewise = Release.PiecewiseGrowthArrays();
            GoMap<long, long> map = Release.GrownToB15(new GoMapOptions { Seed = 5 }, out long k);
            while (!map.GetStats().IsGrowing)
            {
                map[k] = k;
                k++;
            }

            while (map.GetStats().IsGrowing || map.GetStats().DeferredBytes != 0)
            {
                map[0] = 0;
            }

            Assert.Equal((long)OsMemory.Page, map.ParkedBytes); // the B = 15 array's first page (GrownToB15 parks nothing)
            map.Validate();
            return map;
        }

        [FactNeeding(Needs.Mappings)]
        public void AParkedBlockThatIsNotAMapping_FailsValidation()
        {
            using GoMap<long, long> map = WithAParkedMapping();

            ulong* header = (ulong*)(map.ParkedHeadForTest - NativeHeap.HeaderSize); // NativeHeap's header word: magic and size
            ulong before = *header;
            // a C heap block's magic: live, not mapped
            AssertBreaks(map, ref *header, (before & ~(0xFFUL << 56)) | (0xA7UL << 56), "a parked block is not a Go-mode mapping");
        }

        [FactNeeding(Needs.Mappings)]
        public void AParkedMappingNotReleasedToItsFirstPage_FailsValidation()
        {
            using GoMap<long, long> map = WithAParkedMapping();

            ulong* header = (ulong*)(map.ParkedHeadForTest - NativeHeap.HeaderSize); // NativeHeap's header word: magic and size
            ulong before = *header;
            // charged one page more
            AssertBreaks(map, ref *header, before + OsMemory.Page, "a parked mapping is not released down to its first page");
        }
    }
}
