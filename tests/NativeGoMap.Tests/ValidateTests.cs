using System;
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
        private static void AssertBadState(GoMap<long, long> map, string what)
        {
            InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => map.Validate());
            Assert.Equal("bad map state: " + what, e.Message);
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
        public void ABucketArrayBlockSmallerThanBsArray_FailsValidation()
        {
            using GoMap<long, long> map = Filled(100);
            map.Validate();
            ref int b = ref map.BRefForTest;
            b++;
            try
            {
                AssertBadState(map, "the bucket array's block is smaller than B's array");
            }
            finally
            {
                b--;
            }

            map.Validate();
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
            long before = count;
            count = 1_000_000;
            try
            {
                AssertBadState(map, "overflow chunk's bucket count does not fit its block");
            }
            finally
            {
                count = before;
            }

            map.Validate();
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
            pending = false;
            try
            {
                AssertBadState(map, "blocks are deferred with no enumerator live and no reclaim pending");
            }
            finally
            {
                pending = true;
            }

            map.Validate();
        }

        [Fact]
        public void LiveEnumeratorsWithoutARegistrationTable_FailValidation()
        {
            using GoMap<long, long> map = Filled(10); // never enumerated: no registration table
            map.Validate();
            ref int live = ref map.LiveIteratorsRefForTest;
            live = 1;
            try
            {
                AssertBadState(map, "live enumerators without a registration table");
            }
            finally
            {
                live = 0;
            }

            map.Validate();
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
            bucket[slot] = before == 255 ? (byte)254 : (byte)(before + 1); // still a live tophash, not the key's
            try
            {
                AssertBadState(map, "tophash does not match the key's hash in chain 0");
            }
            finally
            {
                bucket[slot] = before;
            }

            map.Validate();
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
            ulong before = nevacuate;
            nevacuate = 1UL << map.OldBForTest; // a doubling's units: its old buckets
            try
            {
                AssertBadState(map, "nevacuate at or past the last evacuation unit while growing");
            }
            finally
            {
                nevacuate = before;
            }

            map.Validate();
        }
    }
}
