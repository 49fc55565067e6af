using System;
using System.IO;
using System.Linq;
using NativeGoMap.Fuzz;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// Replays the fuzzer's minimized corpus (stress/fuzz/corpus, copied next to the tests) through
    /// the fuzz target's own oracle: every file loads into a map that validates and survives a
    /// write and reload, or is refused with InvalidDataException or NotSupportedException, and
    /// leaks nothing, with checksums enforced and ignored.
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
