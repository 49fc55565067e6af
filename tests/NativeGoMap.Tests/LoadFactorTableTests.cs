using System;
using System.Text;
using Xunit;
using Xunit.Abstractions;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// Reproduces the load-factor table at the top of GoMap.cs with our own hash and layout:
    /// for each load factor, 2^B buckets filled with loadFactor × 2^B random long keys (no
    /// growth, as in Go's table: maximally loaded tables just before they grow).
    /// Print it with: dotnet test --filter LoadFactorTable --logger "console;verbosity=detailed"
    /// </summary>
    public sealed class LoadFactorTableTests
    {
        private const int B = 16;
        private readonly ITestOutputHelper _output;

        public LoadFactorTableTests(ITestOutputHelper output) => _output = output;

        [Fact]
        public void LoadFactorTable_OverflowShareGrowsWithLoadAndStaysModerateAtGoLoadFactor()
        {
            double[] loads = { 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0, 7.5, 8.0 };
            var text = new StringBuilder("  loadFactor    %overflow  bytes/entry     hitprobe    missprobe  hitcompare  misscompare\n");
            double previous = -1;
            double atGo = 0;
            foreach (double load in loads)
            {
                Row row = Measure(load, seed: 7);
                text.AppendLine($"  {load,10:F2} {row.OverflowPercent,12:F2} {row.BytesPerEntry,12:F2} {row.HitProbe,12:F2} {row.MissProbe,12:F2} {row.HitCompares,11:F3} {row.MissCompares,12:F3}");
                Assert.True(row.OverflowPercent > previous, $"overflow share must grow with load (at {load})");
                previous = row.OverflowPercent;
                if (load == 6.5)
                {
                    atGo = row.OverflowPercent;
                }
            }

            _output.WriteLine(text.ToString());

            // A well-mixed 64-bit hash gives a Poisson bucket occupancy: P(X > 8) at mean 6.5 is about 21%.
            Assert.InRange(atGo, 17.0, 25.0);
        }

        private readonly record struct Row(double OverflowPercent, double BytesPerEntry, double HitProbe, double MissProbe, double HitCompares, double MissCompares);

        /// <summary>
        /// Places keys exactly as GoMap does (low B bits of the hash pick the bucket, chains fill
        /// slot by slot, the top byte is the tophash) and counts: buckets with an overflow bucket;
        /// native bytes per entry (regular plus overflow buckets, the 16 key/value bytes included);
        /// Go's probes (entries scanned to find a present key, slots scanned for an absent one);
        /// and the key comparisons left after the tophash filter, for present and absent keys.
        /// </summary>
        private static Row Measure(double load, int seed)
        {
            ulong nbuckets = 1UL << B;
            int n = (int)(load * nbuckets);
            var rng = new Random(seed);
            ulong k1 = (ulong)rng.NextInt64();
            ulong k2 = (ulong)rng.NextInt64() | 1;
            int[] bucketOf = new int[n];
            byte[] topOf = new byte[n];
            int[] start = new int[nbuckets + 1];
            for (int i = 0; i < n; i++)
            {
                ulong hash = KeyOps<long>.Hash(rng.NextInt64(), k1, k2);
                bucketOf[i] = (int)(hash & (nbuckets - 1));
                topOf[i] = MapMath.TopHash(hash);
                start[bucketOf[i] + 1]++;
            }

            for (ulong j = 0; j < nbuckets; j++)
            {
                start[j + 1] += start[j];
            }

            // Chain order = insertion order within each bucket.
            byte[] chainTops = new byte[n];
            int[] fill = (int[])start.Clone();
            for (int i = 0; i < n; i++)
            {
                chainTops[fill[bucketOf[i]]++] = topOf[i];
            }

            long withOverflow = 0;
            long overflowBuckets = 0;
            double hitProbes = 0;
            double missSlots = 0;
            double hitCompares = 0;
            for (ulong j = 0; j < nbuckets; j++)
            {
                int c = start[j + 1] - start[j];
                overflowBuckets += Math.Max(1, (c + 7) / 8) - 1;
                withOverflow += c > 8 ? 1 : 0;
                hitProbes += c * (c + 1) / 2.0;
                missSlots += c;
                for (int a = start[j]; a < start[j + 1]; a++)
                {
                    hitCompares++;
                    for (int e = start[j]; e < a; e++)
                    {
                        hitCompares += chainTops[e] == chainTops[a] ? 1 : 0;
                    }
                }
            }

            double missCompares = 0;
            for (int i = 0; i < n; i++)
            {
                ulong hash = KeyOps<long>.Hash(rng.NextInt64(), k1, k2);
                int j = (int)(hash & (nbuckets - 1));
                byte top = MapMath.TopHash(hash);
                for (int e = start[j]; e < start[j + 1]; e++)
                {
                    missCompares += chainTops[e] == top ? 1 : 0;
                }
            }

            int bucketSize = GoMap<long, long>.Layout.BucketSize;
            return new Row(
                100.0 * withOverflow / nbuckets,
                (double)(nbuckets + (ulong)overflowBuckets) * bucketSize / n,
                hitProbes / n,
                missSlots / nbuckets,
                hitCompares / n,
                missCompares / n);
        }
    }
}
