using System;
using System.Buffers.Binary;
using System.IO;
using System.Linq;
using NativeGoMap.Fuzz;
using NativeGoMap.Tests.SnapshotSupport;
using Xunit;
using Xunit.Abstractions;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// Replays the fuzzer's minimized corpus (stress/fuzz/corpus, copied next to the tests) through
    /// the fuzz target's own oracle: every file, read from a stream that can seek and from one
    /// that cannot, loads into a map that validates and survives a write and reload, or is
    /// refused with InvalidDataException or NotSupportedException (or, from the stream that
    /// cannot seek, OutOfMemoryException for a count its bytes cannot hold; or, under a comparer
    /// that throws, its own exception where a load or the equal-keys refusal needed the comparer), and leaks nothing,
    /// with checksums enforced and ignored (and then with a load partition per bucket); and what loads holds exactly the entries the oracle's
    /// reference decoder reads from the input, which also says which inputs must load.
    /// </summary>
    [Collection(NativeMemoryCollection.Name)]
    public class SnapshotCorpusTests
    {
        private static readonly string CorpusDirectory = Path.Combine(AppContext.BaseDirectory, "fuzz-corpus");

        private readonly ITestOutputHelper _output;

        public SnapshotCorpusTests(ITestOutputHelper output) => _output = output;

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

        [Fact]
        public void FuzzCorpus_HoldsExactlyTheFilesOfItsManifest()
        {
            // stress/fuzz/corpus.sha256 (sha256sum's lines): a file deleted or changed, the
            // crash-* inputs of fixed bugs among them, or one left behind in the output folder by
            // an earlier build, would otherwise go unnoticed while eight files remained (a
            // review, 2026-12-06). Subfolders are not replayed, so none may exist.
            var manifest = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "fuzz-corpus.sha256"))
                .Where(line => line.Length > 0)
                .Select(line => (Hash: line[..64], Name: line[66..]))
                .OrderBy(e => e.Name, StringComparer.Ordinal)
                .ToList();
            var present = Directory.GetFiles(CorpusDirectory)
                .Select(path => (Hash: Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path))).ToLowerInvariant(), Name: Path.GetFileName(path)))
                .OrderBy(e => e.Name, StringComparer.Ordinal)
                .ToList();
            Assert.Empty(Directory.GetDirectories(CorpusDirectory));
            Assert.Contains(manifest, e => e.Name.StartsWith("crash-", StringComparison.Ordinal));
            Assert.Equal(manifest, present);
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

        /// <summary>
        /// Beyond the corpus (which afl found for coverage, not for content): thousands of fresh
        /// valid snapshots of the oracle's types, most of them mutated, many with their checksums
        /// rewritten so that the mutation reaches the checks behind them (duplicate keys, counts,
        /// B, changed values). Every load must agree with the reference decoder.
        /// </summary>
        [Fact]
        public void FuzzOracle_RandomMutationsOfValidSnapshots_AgreeWithTheReferenceDecoder()
        {
            Seeded.Run(seed =>
            {
                _output.WriteLine($"seed {seed} (replay: NATIVEGOMAP_SEED={seed}, or NativeGoMap.Fuzz random 3000 {seed})");
                var rng = new Random(seed);
                for (int i = 0; i < 3000; i++)
                {
                    byte[] input = SnapshotOracle.RandomInput(rng);
                    try
                    {
                        SnapshotOracle.Check(input);
                    }
                    catch (Exception e)
                    {
                        throw new OracleException($"input {i}: {Convert.ToHexString(input)}", e);
                    }
                }
            });
        }

        [Fact]
        public void ReferenceDecoder_ReadsTheSeedsAsTheirWriterMadeThem()
        {
            // The hand-written names, sizes and shapes of the reference types match what the
            // library writes: every seed decodes as valid for its own types, with the count it was written with.
            foreach ((string name, byte[] bytes) in SnapshotOracle.Seeds())
            {
                (ReferenceType key, ReferenceType value) = name.Split('-')[0] switch
                {
                    "long" when name.StartsWith("long-blob144", StringComparison.Ordinal) => (ReferenceType.Int64, ReferenceType.FuzzBlob144),
                    "long" => (ReferenceType.Int64, ReferenceType.Int64),
                    "int" => (ReferenceType.Int32, ReferenceType.Int32),
                    "key3" => (ReferenceType.FuzzKey3, ReferenceType.Int16),
                    "double" => (ReferenceType.Double, ReferenceType.Int64),
                    "blob144" => (ReferenceType.FuzzBlob144, ReferenceType.Int32),
                    _ => throw new InvalidOperationException(name),
                };
                ReferenceDecoding d = ReferenceDecoder.Decode(bytes, key, value, (x, y) => x.AsSpan().SequenceEqual(y), k => k.Length == 0 ? 0 : k[0], ignoreChecksums: false);
                Assert.True(d.Verdict == ReferenceVerdict.Valid, $"{name}: {d}");
                Assert.Equal(int.Parse(name.Split('-')[^1], System.Globalization.CultureInfo.InvariantCulture), d.Keys.Count);
                Assert.Equal(bytes.Length, d.Length);
            }
        }

        [Fact]
        public void ReferenceDecoder_ChecksumsAndGoB_MatchKnownValues()
        {
            // CRC-32C's check value (RFC 3720 / iSCSI) and Go's B for counts around the load factor's steps.
            Assert.Equal(0xE3069283u, ReferenceDecoder.Crc32C(System.Text.Encoding.ASCII.GetBytes("123456789"), 0, 9));
            Assert.Equal(new[] { 0, 0, 1, 1, 2, 2, 3 }, new long[] { 0, 8, 9, 13, 14, 26, 27 }.Select(ReferenceDecoder.GoB).ToArray());
        }
    }
}
