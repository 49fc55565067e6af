using System;
using System.Collections.Generic;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>Enumeration allocates nothing on the GC heap: struct enumerators, native registrations.</summary>
    public class IterationAllocationTests
    {
        [Fact]
        public void ForeachOverTheMapAllocatesNothing()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(1000);
            long SumEntries()
            {
                long sum = 0;
                foreach (KeyValuePair<int, long> kv in map)
                {
                    sum += kv.Key + kv.Value;
                }

                return sum;
            }

            Assert.Equal(0, IterationHelpers.AllocatedBy(SumEntries));
        }

        [Fact]
        public void ForeachOverKeysAllocatesNothing()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(1000);
            long SumKeys()
            {
                long sum = 0;
                foreach (int k in map.Keys)
                {
                    sum += k;
                }

                return sum;
            }

            Assert.Equal(0, IterationHelpers.AllocatedBy(SumKeys));
        }

        [Fact]
        public void ForeachOverValuesAllocatesNothing()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(1000);
            long SumValues()
            {
                long sum = 0;
                foreach (long v in map.Values)
                {
                    sum += v;
                }

                return sum;
            }

            Assert.Equal(0, IterationHelpers.AllocatedBy(SumValues));
        }

        [Fact]
        public void EnumeratingAcrossAGrowthAllocatesNothing()
        {
            // Steps that look moved entries up again, a growth and deferred frees on the way.
            using GoMap<int, long> map = IterationHelpers.IntMap(1000);
            int round = 0;
            long WalkWhileGrowing()
            {
                long sum = 0;
                int next = 1_000_000 * ++round;
                int b = map.GetStats().B;
                foreach (KeyValuePair<int, long> kv in map)
                {
                    sum += kv.Value + 1;
                    if (map.GetStats().B == b || map.GetStats().IsGrowing)
                    {
                        map[next] = next;
                        next++;
                    }
                }

                return sum;
            }

            Assert.Equal(0, IterationHelpers.AllocatedBy(WalkWhileGrowing));
        }

        [Fact]
        public void SeveralLiveEnumeratorsAllocateNothingOnceTheRegistrationTableIsLargeEnough()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(100);
            long Interleave()
            {
                GoMap<int, long>.Enumerator a = map.GetEnumerator();
                GoMap<int, long>.Enumerator b = map.GetEnumerator();
                GoMap<int, long>.Enumerator c = map.GetEnumerator();
                long sum = 0;
                while (a.MoveNext() & b.MoveNext() & c.MoveNext())
                {
                    sum += a.Current.Value + b.Current.Value + c.Current.Value + 1;
                }

                a.Dispose();
                b.Dispose();
                c.Dispose();
                return sum;
            }

            Assert.Equal(0, IterationHelpers.AllocatedBy(Interleave));
        }
    }
}
