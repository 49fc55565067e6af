using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using NativeGoMap.Tests.CoreSupport;
using NativeGoMap.Tests.SnapshotSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// ReadFrom on bad input: every corruption, truncation and crafted lie gets
    /// <see cref="InvalidDataException"/> (a newer version <see cref="NotSupportedException"/>)
    /// with a message that names the problem, returns no map, and gives back every native byte.
    /// </summary>
    [Collection(NativeMemoryCollection.Name)]
    public class SnapshotBadInputTests
    {
        /// <summary>
        /// Maps earlier tests left undisposed are finalized before each test, not in the middle of
        /// one: <see cref="ExpectInvalid"/> compares the raw LiveNativeBytes around each load.
        /// </summary>
        public SnapshotBadInputTests() => LiveBytes.Settled();

        [Fact]
        public void BadSnapshot_EveryCorruptedByte_IsInvalidData_AndLeaksNothing()
        {
            // Two types: long names and 3-byte keys, so header and entries both have odd offsets.
            byte[] longs = Snap.LongLong(20);
            byte[] key3s;
            using (GoMap<Key3, short> source = Fill(new GoMap<Key3, short>(), 15, i => Key3.Of((int)i), i => (short)i))
            {
                key3s = Snap.Of(source); // disposed: left to the finalizer, it was freed in the middle of a later test
            }

            long baseline = LiveBytes.Settled();
            foreach (byte flip in new byte[] { 0x01, 0x80, 0xFF })
            {
                for (int at = 0; at < longs.Length; at++)
                {
                    ExpectInvalid<long, long>(Corrupt(longs, at, flip), $"byte {at} ^ 0x{flip:X2}");
                }

                for (int at = 0; at < key3s.Length; at++)
                {
                    ExpectInvalid<Key3, short>(Corrupt(key3s, at, flip), $"byte {at} ^ 0x{flip:X2}");
                }
            }

            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Fact]
        public void BadSnapshot_EveryTruncation_IsInvalidData_SeekableOrNot()
        {
            byte[] snapshot = Snap.LongLong(20);
            long baseline = LiveBytes.Settled();
            for (int length = 0; length < snapshot.Length; length++)
            {
                byte[] cut = snapshot[..length];
                var e = ExpectInvalid<long, long>(cut, $"cut at {length}");
                Assert.True(e.Message.Contains("truncated", StringComparison.Ordinal) || (length < 8 && e.Message.Contains("magic", StringComparison.Ordinal)), $"cut at {length}: {e.Message}");
                var stream = new TrickleStream(cut, 5, seekable: false);
                Assert.Throws<InvalidDataException>(() => GoMap<long, long>.ReadFrom(stream));
                Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
            }

            // A long snapshot cut in its entries: first by a seekable stream (refused before any
            // allocation), then by one that cannot seek (refused once the bytes run out).
            byte[] big = Snap.LongLong(50_000);
            byte[] bigCut = big[..(big.Length / 2)];
            Assert.Contains("promises 50000 entries", ExpectInvalid<long, long>(bigCut, "half").Message, StringComparison.Ordinal);
            Assert.Throws<InvalidDataException>(() => GoMap<long, long>.ReadFrom(new TrickleStream(bigCut, 1 << 16, seekable: false)));
            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Fact]
        public void BadSnapshot_NotASnapshot_SaysSo()
        {
            Assert.Contains("magic", ExpectInvalid<long, long>(new byte[100], "zeros").Message, StringComparison.Ordinal);
            Assert.Contains("magic", ExpectInvalid<long, long>("hello, this is text, not a map"u8.ToArray(), "text").Message, StringComparison.Ordinal);
            Assert.Contains("truncated", ExpectInvalid<long, long>(Array.Empty<byte>(), "empty").Message, StringComparison.Ordinal);
        }

        [Fact]
        public void BadSnapshot_WrongKeyOrValueType_NamesBothTypes()
        {
            byte[] snapshot = Snap.LongLong(10);
            string message = ExpectInvalid<ulong, long>(snapshot, "ulong keys").Message;
            Assert.Contains("System.Int64", message, StringComparison.Ordinal);
            Assert.Contains("System.UInt64", message, StringComparison.Ordinal);
            Assert.Contains("key", message, StringComparison.Ordinal);

            message = ExpectInvalid<long, int>(snapshot, "int values").Message;
            Assert.Contains("value", message, StringComparison.Ordinal);
            Assert.Contains("System.Int32 (4 bytes)", message, StringComparison.Ordinal);

            ExpectInvalid<Key16, long>(snapshot, "struct keys");

            // Same names, other fields: the fingerprint catches it.
            byte[] reshaped = Snap.Craft(snapshot, s => s[33] ^= 1);
            Assert.Contains("not the same fields", ExpectInvalid<long, long>(reshaped, "fingerprint").Message, StringComparison.Ordinal);
        }

        [Fact]
        public void BadSnapshot_NewerVersion_IsNotSupported_ButACorruptVersionIsInvalid()
        {
            byte[] snapshot = Snap.LongLong(10);
            byte[] newer = Snap.Craft(snapshot, s => BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(8), 3));
            var e = Assert.Throws<NotSupportedException>(() => Snap.Load<long, long>(newer));
            Assert.Contains("version 3", e.Message, StringComparison.Ordinal);

            // A version 3 header may be longer: its length field says how much to check.
            byte[] longer = new byte[snapshot.Length + 12];
            snapshot.AsSpan(0, 48).CopyTo(longer);
            BinaryPrimitives.WriteUInt32LittleEndian(longer.AsSpan(8), 3);
            BinaryPrimitives.WriteUInt32LittleEndian(longer.AsSpan(12), (uint)Snap.HeaderLength(snapshot) + 12);
            Snap.Reseal(longer);
            Assert.Throws<NotSupportedException>(() => Snap.Load<long, long>(longer));

            byte[] zero = Snap.Craft(snapshot, s => BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(8), 0));
            Assert.Contains("version 0", ExpectInvalid<long, long>(zero, "version 0").Message, StringComparison.Ordinal);

            // Without a matching header checksum a changed version is corruption, not a new format.
            byte[] flipped = (byte[])snapshot.Clone();
            flipped[8] = 3;
            Assert.Contains("checksum", ExpectInvalid<long, long>(flipped, "unsealed").Message, StringComparison.Ordinal);
        }

        [Theory]
        [InlineData(-1L)]
        [InlineData(long.MinValue)]
        [InlineData(long.MaxValue)]
        [InlineData(1L << 60)]
        public void BadSnapshot_AbsurdCount_IsInvalid(long count)
        {
            byte[] snapshot = Snap.Craft(Snap.LongLong(10), s => BinaryPrimitives.WriteInt64LittleEndian(s.AsSpan(16), count));
            Assert.Contains("entry count", ExpectInvalid<long, long>(snapshot, $"count {count}").Message, StringComparison.Ordinal);
        }

        [Fact]
        public void BadSnapshot_CountLargerThanTheStream_IsTruncated_WithoutAllocatingForIt()
        {
            // 10^12 entries would need 16 TB: a seekable stream is measured first, and a stream
            // that cannot seek fails when its bytes run out.
            byte[] snapshot = Snap.Craft(Snap.LongLong(10), s =>
            {
                BinaryPrimitives.WriteInt64LittleEndian(s.AsSpan(16), 1_000_000_000_000);
                s[40] = 40;
            });
            Assert.Contains("truncated", ExpectInvalid<long, long>(snapshot, "10^12").Message, StringComparison.Ordinal);

            byte[] million = Snap.Craft(Snap.LongLong(10), s =>
            {
                BinaryPrimitives.WriteInt64LittleEndian(s.AsSpan(16), 1_000_000);
                s[40] = 20;
            });
            long baseline = LiveBytes.Settled();
            var e = Assert.Throws<InvalidDataException>(() => GoMap<long, long>.ReadFrom(new TrickleStream(million, 4096, seekable: false)));
            Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Theory]
        [InlineData(255)]
        [InlineData(64)]
        [InlineData(0)]
        public void BadSnapshot_AbsurdB_IsInvalid(byte b)
        {
            // 10 entries do not fit B = 0 (at most 8); B = 64 or more cannot be addressed.
            byte[] snapshot = Snap.Craft(Snap.LongLong(10), s => s[40] = b);
            Assert.Contains($"B = {b}", ExpectInvalid<long, long>(snapshot, $"B {b}").Message, StringComparison.Ordinal);
        }

        [Fact]
        public void BadSnapshot_UnknownSeedPolicyReservedBitsOrLengths_AreInvalid()
        {
            byte[] snapshot = Snap.LongLong(10);
            Assert.Contains("seed policy", ExpectInvalid<long, long>(Snap.Craft(snapshot, s => s[41] = 1), "policy").Message, StringComparison.Ordinal);
            Assert.Contains("reserved", ExpectInvalid<long, long>(Snap.Craft(snapshot, s => s[46] = 1), "reserved").Message, StringComparison.Ordinal);
            Assert.Contains("type names", ExpectInvalid<long, long>(Snap.Craft(snapshot, s => s[42] = 13), "name length").Message, StringComparison.Ordinal);
            byte[] huge = (byte[])snapshot.Clone();
            BinaryPrimitives.WriteUInt32LittleEndian(huge.AsSpan(12), 1 << 20);
            Assert.Contains("length", ExpectInvalid<long, long>(huge, "header length").Message, StringComparison.Ordinal);
        }

        [Fact]
        public void BadSnapshot_DuplicateKey_IsNamedByItsBytes_NotByTheKeysToString()
        {
            // Found by review (2026-12-06): the message called the key's ToString, user code for
            // an IEquatable key, whose exception then replaced the InvalidDataException.
            using var source = new GoMap<ToStringThrows, long>();
            source[new ToStringThrows(0x1122334455667788)] = 1;
            source[new ToStringThrows(2)] = 2;
            byte[] snapshot = Snap.Of(source);
            int h = Snap.HeaderLength(snapshot);
            byte[] twice = Snap.Craft(snapshot, s => s.AsSpan(h, 8).CopyTo(s.AsSpan(h + 16, 8)));
            InvalidDataException e = ExpectInvalid<ToStringThrows, long>(twice, "ToString throws");
            Assert.Contains("twice", e.Message, StringComparison.Ordinal);
            Assert.True(e.Message.Contains("8877665544332211", StringComparison.Ordinal) || e.Message.Contains("0200000000000000", StringComparison.Ordinal), e.Message);
        }

        /// <summary>A key with its own equality whose ToString throws.</summary>
        private readonly struct ToStringThrows : IEquatable<ToStringThrows>
        {
            private readonly long _id;

            public ToStringThrows(long id) => _id = id;

            public bool Equals(ToStringThrows other) => _id == other._id;

            public override bool Equals(object? obj) => obj is ToStringThrows other && Equals(other);

            public override int GetHashCode() => _id.GetHashCode();

            public override string ToString() => throw new InvalidOperationException("ToString is user code");
        }

        [Fact]
        public void BadSnapshot_DuplicateKey_IsInvalid_SmallOrPartitionedOrIndirect()
        {
            long baseline = LiveBytes.Settled();
            foreach (int n in new[] { 2, 100, 50_000 })
            {
                byte[] snapshot = Snap.LongLong(n);
                int h = Snap.HeaderLength(snapshot);
                byte[] twice = Snap.Craft(snapshot, s => s.AsSpan(h, 8).CopyTo(s.AsSpan(h + ((n - 1) * 16), 8)));
                Assert.Contains("twice", ExpectInvalid<long, long>(twice, $"n {n}").Message, StringComparison.Ordinal);
            }

            // Indirect keys and values: every block allocated for the entries placed before the
            // duplicate is freed, and the entries still scattered in the bucket array are not
            // taken for buckets.
            using (var map = Fill(new GoMap<Blob200, Blob200>(), 3_000, Blob200.Of, Blob200.Of))
            {
                byte[] snapshot = Snap.Of(map);
                int h = Snap.HeaderLength(snapshot);
                byte[] twice = Snap.Craft(snapshot, s => s.AsSpan(h + 400, 200).CopyTo(s.AsSpan(h + (2_000 * 400), 200)));
                ExpectInvalid<Blob200, Blob200>(twice, "indirect");
            }

            // Keys equal by .NET's equality but not by their bytes: -0.0 and +0.0.
            using (var map = Fill(new GoMap<double, long>(), 2, i => i == 0 ? 0.0 : 1.0, i => i))
            {
                byte[] snapshot = Snap.Of(map);
                int h = Snap.HeaderLength(snapshot);
                byte[] zeros = Snap.Craft(snapshot, s =>
                {
                    BinaryPrimitives.WriteDoubleLittleEndian(s.AsSpan(h), 0.0);
                    BinaryPrimitives.WriteDoubleLittleEndian(s.AsSpan(h + 16), -0.0);
                });
                ExpectInvalid<double, long>(zeros, "-0 and +0");
            }

            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Fact]
        public void BadSnapshot_ComparerThatThrowsOnGarbage_StillReportsTheCorruption()
        {
            byte[] snapshot = Snap.LongLong(1_000);
            int h = Snap.HeaderLength(snapshot);
            byte[] corrupt = (byte[])snapshot.Clone();
            BinaryPrimitives.WriteInt64LittleEndian(corrupt.AsSpan(h + 160), -42); // not resealed
            var picky = new ThrowingComparer(-42);
            long baseline = LiveBytes.Settled();
            var e = Assert.Throws<InvalidDataException>(() => Snap.Load<long, long>(corrupt, null, picky));
            Assert.Contains("checksum", e.Message, StringComparison.Ordinal);

            // The same key in a sound snapshot: the comparer's own exception.
            byte[] sound = Snap.Craft(corrupt, _ => { });
            Assert.Throws<ArithmeticException>(() => Snap.Load<long, long>(sound, null, picky));
            Assert.Equal(baseline, LiveBytes.Settled());
        }

        [Fact]
        public void BadSnapshot_WithChecksumsIgnored_GarbageEntriesLoadOrAreRefused_NeverCorruptAMap()
        {
            Seeded.Run(seed =>
            {
                var rng = new Random(seed);
                byte[] snapshot = Snap.LongLong(5_000);
                int h = Snap.HeaderLength(snapshot);
                long baseline = LiveBytes.Settled();
                SnapshotFormat.IgnoreChecksums = true;
                try
                {
                    for (int round = 0; round < 50; round++)
                    {
                        byte[] garbage = (byte[])snapshot.Clone();
                        int changes = rng.Next(1, 200);
                        for (int c = 0; c < changes; c++)
                        {
                            // Mostly keys made equal to other keys (duplicates), some random bytes.
                            int at = h + (rng.Next(5_000) * 16);
                            if (rng.Next(2) == 0)
                            {
                                garbage.AsSpan(h + (rng.Next(5_000) * 16), 8).CopyTo(garbage.AsSpan(at, 8));
                            }
                            else
                            {
                                garbage[at + rng.Next(16)] = (byte)rng.Next(256);
                            }
                        }

                        try
                        {
                            using var map = Snap.Load<long, long>(garbage);
                            map.Validate();
                            Assert.Equal(5_000L, map.LongCount);
                        }
                        catch (InvalidDataException e)
                        {
                            Assert.Contains("twice", e.Message, StringComparison.Ordinal);
                        }
                    }
                }
                finally
                {
                    SnapshotFormat.IgnoreChecksums = false;
                }

                Assert.Equal(baseline, LiveBytes.Settled());
            });
        }

        [FactNeeding(Needs.Linux)]
        public void AStreamThatCannotSeek_ClaimingAHugeCount_GetsItsArrayReservedNotPopulated()
        {
            // Found by review: the array for the header's count was populated before any entry
            // arrived, so a 72-byte header claiming 16M entries made 612 MiB resident (the README
            // promises a reservation whose untouched pages cost nothing).
            long grown = ResidentGrowthBeforeTheEntries(16_000_000, 22, null);
            Assert.True(grown < 64L << 20, $"resident memory grew by {grown >> 20} MiB before the first entry byte was read");
        }

        [FactNeeding(Needs.Linux)]
        public void AStreamThatCannotSeek_ClaimingAHugeCount_GetsNoArrayPopulatedAhead_WithSmallPagesForGrowth()
        {
            // Found by review: with SmallPagesForGrowth the reserved array was handed to the
            // release thread to populate ahead of writes, so the claimed count became resident anyway.
            ReleaseThread.EnsureStarted();
            long grown = ResidentGrowthBeforeTheEntries(4_000_000, 20, new GoMapOptions { SmallPagesForGrowth = true }); // B = 20: 151 MiB
            Assert.True(grown < 32L << 20, $"resident memory grew by {grown >> 20} MiB before the first entry byte was read");
        }

        [FactNeeding(Needs.Mappings)]
        public void FailedLoadsClaimingHugeCounts_GiveTheirReservedArraysBackAtOnce()
        {
            // Found by fuzzing (2026-12-06): a failed load's map was disposed as any map, its
            // reserved array's unmap posted to the release thread, which unmaps 2 MiB a call
            // (about 5 ms for this 4.5 GiB reservation). Failed loads in a loop outran it: the
            // fuzzer's persistent process ran out of address space, and 2,000 such loads left
            // 8.4 TB mapped and 3.5 GB resident. Nobody ever saw such a map: its mappings (those
            // the reuse cache does not keep) are now unmapped by the failing call itself. Twenty loads back to back, each
            // reserving 2^25 buckets: the mapped address space never stays up by one of them.
            long count = 134_217_768; // what the fuzzer's header claimed
            byte[] crafted = Snap.Craft(Snap.LongLong(10), s =>
            {
                BinaryPrimitives.WriteInt64LittleEndian(s.AsSpan(16), count);
                s[40] = (byte)MapMath.BForHint(count);
            });
            long reservation = (long)BucketLayout<long, long>.BucketSize << MapMath.BForHint(count);
            // Nothing else posts meanwhile: no big-pool entry to age out, no map left to a finalizer.
            NativeHeap.EmptyCache();
            LiveBytes.Settled();
            Assert.True(ReleaseThread.WaitIdle(), "the release thread did not catch up within 10 s");
            long before = ProcessMemory.VirtualBytes();
            long posted = ReleaseThread.Posted;
            long worst = 0;
            for (int i = 0; i < 20; i++)
            {
                var stream = new TrickleStream(crafted, int.MaxValue, seekable: false);
                Assert.Throws<InvalidDataException>(() => GoMap<long, long>.ReadFrom(stream));
                worst = Math.Max(worst, ProcessMemory.VirtualBytes() - before);
            }

            Assert.True(worst < reservation / 2, $"the address space stayed up by {worst >> 20} MiB after a failed load (each reserved {reservation >> 20} MiB)");
            Assert.Equal(posted, ReleaseThread.Posted); // nothing left for the release thread
        }

        [FactNeeding(Needs.Linux)] // the peak of resident memory is read from Linux's /proc
        public void BadSnapshot_TruncatedFromAStreamThatCannotSeek_WithIndirectValues_DoesNotTouchItsReservedArray()
        {
            // Found by fuzzing (a 96-byte input): the failed load's Dispose walked every bucket of
            // the array reserved for the header's count, to retire indirect value blocks that no
            // entry owned yet, faulting in all of it (19 GB in 33 s for that input). Here 2^24
            // entries: a 604 MB array at B = 22.
            Assert.True(ProcessMemory.ResetPeak(), "the kernel refused to reset the peak of resident memory (/proc/self/clear_refs)");

            using var source = new GoMap<long, Blob200>();
            for (long k = 0; k < 10; k++)
            {
                source[k] = Blob200.Of(k);
            }

            long count = 1L << 24;
            byte[] crafted = Snap.Craft(Snap.Of(source), s =>
            {
                BinaryPrimitives.WriteInt64LittleEndian(s.AsSpan(16), count);
                s[40] = (byte)MapMath.BForHint(count);
            });
            var stream = new TrickleStream(crafted.AsSpan(0, Snap.HeaderLength(crafted)).ToArray(), int.MaxValue, seekable: false);
            // Pages an earlier test's populate job (the release thread's, process-wide) makes
            // resident would count in the peak below: let them land first.
            Assert.True(ReleaseThread.WaitIdle(), "the release thread did not catch up within 10 s");
            long baseline = LiveBytes.Settled();
            long residentBefore = ProcessMemory.ResidentBytes();
            Assert.True(ProcessMemory.ResetPeak());
            var e = Assert.Throws<InvalidDataException>(() => GoMap<long, Blob200>.ReadFrom(stream));
            Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
            long peakGrowth = ProcessMemory.PeakBytes() - residentBefore;
            Assert.True(peakGrowth < 64L << 20, $"resident memory peaked {peakGrowth >> 20} MiB above its level before the load");
            Assert.Equal(baseline, LiveBytes.Settled());
        }

        /// <summary>
        /// Loads a header claiming <paramref name="count"/> entries at B = <paramref name="b"/>
        /// from a stream that cannot seek and ends after the header (truncated: nothing leaks);
        /// returns how much the process's resident memory grew by the first read for entry bytes,
        /// once the release thread caught up (a populate job for the array would have run).
        /// </summary>
        private static long ResidentGrowthBeforeTheEntries(long count, byte b, GoMapOptions? options)
        {
            byte[] crafted = Snap.Craft(Snap.LongLong(10), s =>
            {
                BinaryPrimitives.WriteInt64LittleEndian(s.AsSpan(16), count);
                s[40] = b;
            });
            long residentAtEnd = -1;
            var stream = new TrickleStream(crafted.AsSpan(0, Snap.HeaderLength(crafted)).ToArray(), int.MaxValue, seekable: false, atEnd: () =>
            {
                ReleaseThread.WaitIdle();
                residentAtEnd = ProcessMemory.ResidentBytes();
            });
            Assert.True(ReleaseThread.WaitIdle(), "the release thread did not catch up within 10 s");
            long baseline = LiveBytes.Settled();
            long residentBefore = ProcessMemory.ResidentBytes();
            var e = Assert.Throws<InvalidDataException>(() => GoMap<long, long>.ReadFrom(stream, options));
            Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
            Assert.Equal(baseline, LiveBytes.Settled());
            Assert.True(residentAtEnd >= 0, "the stream never reached its end: the load did not read up to the entries");
            return residentAtEnd - residentBefore;
        }

        private static InvalidDataException ExpectInvalid<TKey, TValue>(byte[] snapshot, string what)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            long before = GoMapDiagnostics.LiveNativeBytes;
            GoMap<TKey, TValue>? map = null;
            try
            {
                map = Snap.Load<TKey, TValue>(snapshot);
            }
            catch (InvalidDataException e)
            {
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
                Assert.Equal(before, GoMapDiagnostics.LiveNativeBytes);
                return e;
            }
            catch (Exception e)
            {
                Assert.Fail($"{what}: expected InvalidDataException, got {e.GetType().Name}: {e.Message}");
            }

            map.Dispose();
            Assert.Fail($"{what}: the snapshot loaded");
            return null!;
        }

        private static byte[] Corrupt(byte[] snapshot, int at, byte flip)
        {
            byte[] s = (byte[])snapshot.Clone();
            s[at] ^= flip;
            return s;
        }

        private static GoMap<TKey, TValue> Fill<TKey, TValue>(GoMap<TKey, TValue> map, int n, Func<long, TKey> key, Func<long, TValue> value)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            for (long i = 0; i < n; i++)
            {
                map[key(i)] = value(i);
            }

            return map;
        }

        /// <summary>Throws from GetHashCode for one key, as user code may on a value it never expects.</summary>
        private sealed class ThrowingComparer : IEqualityComparer<long>
        {
            private readonly long _bad;

            public ThrowingComparer(long bad) => _bad = bad;

            public bool Equals(long x, long y) => x == y;

            public int GetHashCode(long obj) => obj == _bad ? throw new ArithmeticException("no hash for this key") : obj.GetHashCode();
        }
    }
}
