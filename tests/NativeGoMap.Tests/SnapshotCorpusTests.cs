using System;
using System.Buffers.Binary;
using System.IO;
using System.Linq;
using NativeGoMap.Fuzz;
using NativeGoMap.Tests.SnapshotSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// Replays the fuzzer's minimized corpus (stress/fuzz/corpus, copied next to the tests) through
    /// the fuzz target's own oracle: every file, read from a stream that can seek and from one
    /// that cannot, loads into a map that validates and survives a write and reload, or is
    /// refused with InvalidDataException or NotSupportedException (or, from the stream that
    /// cannot seek, OutOfMemoryException for a count its bytes cannot hold), and leaks nothing,
    /// with checksums enforced and ignored.
    /// </summary>
    [Collection(NativeMemoryCollection.Name)]
    public class SnapshotCorpusTests
    {
        private static readonly string CorpusDirectory = Path.Combine(AppContext.BaseDirectory, "fuzz-corpus");

        public static TheoryData<string> CorpusFiles()
        {
            var data = new TheoryData<string>();
            foreach (string file in Directory.GetFiles(CorpusDirectory).Order(StringComparer.Ordinal))
            {
                data.Add(Path.GetFileName(file));
            }

            return data;
        }

        [Fact]
        public void FuzzCorpus_IsThere()
        {
            Assert.True(Directory.GetFiles(CorpusDirectory).Length >= 8, $"the fuzz corpus is missing from {CorpusDirectory}");
        }

        [Theory]
        [MemberData(nameof(CorpusFiles))]
        public void FuzzCorpus_EveryInput_LoadsAndValidates_OrIsRefused_LeakingNothing(string file)
        {
            SnapshotOracle.Check(File.ReadAllBytes(Path.Combine(CorpusDirectory, file)));
        }

        [Theory]
        [InlineData(100_000_000L)] // a 2.4 GB array: reserved (untouched) and refused as truncated where the OS lets it be reserved, else out of memory
        [InlineData(long.MaxValue)] // taken as the largest count a header may give: a 158 TB array, out of memory
        public void FuzzOracle_AcceptsAHeaderClaimingMoreEntriesThanFollow_FromBothKindsOfStream(long claimed)
        {
            long count = Math.Min(claimed, SnapshotType<long, long>.MaxCount);
            byte[] crafted = Snap.Craft(Snap.LongLong(10), s =>
            {
                BinaryPrimitives.WriteInt64LittleEndian(s.AsSpan(16), count);
                s[40] = (byte)MapMath.BForHint(count);
            });

            SnapshotOracle.Check(crafted);
        }

        [Fact]
        public void FuzzSeeds_AreValidSnapshotsThatLoad()
        {
            foreach ((string name, byte[] bytes) in SnapshotOracle.Seeds())
            {
                SnapshotOracle.Check(bytes);
                Assert.True(bytes.Length > 48, name);
            }
        }
    }
}
