using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>Collection contracts that need one particular type or map shape (the generic suite is in CollectionContractTests.cs).</summary>
    public class CollectionContractSpecificTests
    {
        [Fact]
        public void ResetOfTheMapsEnumeratorDrawsANewRandomStart()
        {
            // Go's TestMapIterOrder, through Reset: over many resets, some order must differ.
            using GoMap<int, long> map = IterationHelpers.IntMap(50);
            GoMap<int, long>.Enumerator e = map.GetEnumerator();
            List<int> first = IterationHelpers.DrainKeys(ref e);
            for (int attempt = 0; attempt < 100; attempt++)
            {
                Reset(ref e);
                if (!first.SequenceEqual(IterationHelpers.DrainKeys(ref e)))
                {
                    return;
                }
            }

            Assert.Fail("100 resets of the map's enumerator all gave the same order");
        }

        [Fact]
        public void KeysOrderIsRedrawnByWrites()
        {
            // The start of Keys and Values comes from the write sequence: an update moves it.
            using GoMap<int, long> map = IterationHelpers.IntMap(50);
            List<int> first = map.Keys.ToList();
            for (int attempt = 0; attempt < 100; attempt++)
            {
                map[0] = attempt;
                if (!first.SequenceEqual(map.Keys.ToList()))
                {
                    return;
                }
            }

            Assert.Fail("100 writes left the order of Keys unchanged");
        }

        [Fact]
        public void KeysOrderOfMapsBuiltIdenticallyWithTheSameSeedIsTheSame()
        {
            static GoMap<int, long> Build()
            {
                var map = new GoMap<int, long>(new GoMapOptions { Seed = 9 });
                for (int i = 0; i < 500; i++)
                {
                    map[i] = i;
                }

                return map;
            }

            using GoMap<int, long> a = Build();
            using GoMap<int, long> b = Build();
            Assert.Equal(a.Keys.ToList(), b.Keys.ToList());
        }

        [Fact]
        public void KeysAndValuesLineUpWhileTheMapIsGrowing()
        {
            using GoMap<int, long> map = IterationHelpers.IntMap(0);
            int n = IterationHelpers.InsertUntilGrowing(map, 0);
            Assert.True(map.GetStats().IsGrowing);
            List<(int Key, long Value)> pairs = map.Keys.Zip(map.Values).ToList();
            Assert.Equal(n, pairs.Count);
            Assert.All(pairs, p => Assert.Equal(p.Key * 10L, p.Value));
            Assert.Equal(Enumerable.Range(0, n), pairs.Select(p => p.Key).OrderBy(k => k));
        }

        [Fact]
        public void KeysAndValuesStartedMidGrowthLineUpWhenStepped()
        {
            // Zip steps the two enumerators in turn; neither writes, so both walk alike.
            using GoMap<int, long> map = IterationHelpers.IntMap(0);
            IterationHelpers.InsertUntilGrowing(map, 0);
            GoMap<int, long>.KeyEnumerator keys = map.Keys.GetEnumerator();
            GoMap<int, long>.ValueEnumerator values = map.Values.GetEnumerator();
            int count = 0;
            while (keys.MoveNext())
            {
                Assert.True(values.MoveNext());
                Assert.Equal(keys.Current * 10L, values.Current);
                count++;
            }

            Assert.False(values.MoveNext());
            Assert.Equal(map.Count, count);
        }

        [Fact]
        public void ResetOfADefaultEnumeratorLeavesItEmpty()
        {
            GoMap<int, long>.Enumerator e = default;
            Reset(ref e);
            Assert.False(e.MoveNext());
        }

        // ---- Comparer when none was given ----

        [Fact]
        public void ComparerOfAPrimitiveKeyIsEqualityComparerDefault()
        {
            using var ints = new GoMap<int, int>();
            using var guids = new GoMap<Guid, int>();
            using var doubles = new GoMap<double, int>();
            Assert.Same(EqualityComparer<int>.Default, ints.Comparer);
            Assert.Same(EqualityComparer<Guid>.Default, guids.Comparer);
            Assert.Same(EqualityComparer<double>.Default, doubles.Comparer);
        }

        [Fact]
        public void ComparerOfAStructWithoutEqualityComparesEveryByte()
        {
            // EqualityComparer<Key136>.Default reads only the first byte of the fixed buffer;
            // the map, and so its Comparer, compare all 136 bytes.
            using var map = new GoMap<Key136, int>();
            Key136 a = Key136.Of(1);
            Key136 b = Key136.Of(1);
            unsafe
            {
                b.Rest[127] ^= 1;
            }

            Assert.NotSame(EqualityComparer<Key136>.Default, map.Comparer);
            Assert.True(map.Comparer.Equals(a, Key136.Of(1)));
            Assert.False(map.Comparer.Equals(a, b));
            map.Add(a, 1);
            Assert.False(map.ContainsKey(b));
        }

        [Fact]
        public void ComparerIsTheSameObjectForEveryMapOfAKeyType()
        {
            using var a = new GoMap<Key136, int>();
            using var b = new GoMap<Key136, long>();
            Assert.Same(a.Comparer, a.Comparer);
            Assert.Same(a.Comparer, b.Comparer);
        }

        // ---- ContainsValue equality ----

        [Fact]
        public void ContainsValueComparesFixedBufferValuesByEveryByte()
        {
            using var map = new GoMap<int, Value200>();
            map.Add(1, Value200.Of(1));
            Value200 nearly = Value200.Of(1);
            unsafe
            {
                nearly.Rest[191] ^= 1;
            }

            Assert.True(map.ContainsValue(Value200.Of(1)));
            Assert.False(map.ContainsValue(nearly));
        }

        [Fact]
        public void ContainsValueFindsNaNAsDictionaryDoes()
        {
            using var map = new GoMap<int, double>();
            map.Add(1, double.NaN);
            var d = new Dictionary<int, double> { { 1, double.NaN } };
            Assert.Equal(d.ContainsValue(double.NaN), map.ContainsValue(double.NaN));
            Assert.True(map.ContainsValue(double.NaN));
        }

        // ---- allocation: the new members allocate nothing ----

        [Fact]
        public void ResetOfStructEnumeratorsAllocatesNothing()
        {
            using var map = new GoMap<int, int>(Enumerable.Range(0, 1000).Select(i => KeyValuePair.Create(i, i)));
            long Run()
            {
                GoMap<int, int>.Enumerator e = map.GetEnumerator();
                GoMap<int, int>.KeyEnumerator k = map.Keys.GetEnumerator();
                GoMap<int, int>.ValueEnumerator v = map.Values.GetEnumerator();
                long n = 0;
                for (int round = 0; round < 3; round++)
                {
                    while (e.MoveNext() && k.MoveNext() && v.MoveNext())
                    {
                        n++;
                    }

                    Reset(ref e);
                    Reset(ref k);
                    Reset(ref v);
                }

                e.Dispose();
                k.Dispose();
                v.Dispose();
                return n;
            }

            Assert.Equal(0, IterationHelpers.AllocatedBy(Run));
        }

        [Fact]
        public void KeysContainsContainsValueAndCountAllocateNothing()
        {
            using var map = new GoMap<int, int>(Enumerable.Range(0, 1000).Select(i => KeyValuePair.Create(i, i)));
            long Run()
            {
                long n = 0;
                for (int i = 0; i < 2000; i += 7)
                {
                    n += map.Keys.Contains(i) ? 1 : 0;
                }

                n += map.ContainsValue(999) ? 1 : 0;
                n += map.ContainsValue(-1) ? 1 : 0;
                n += map.Keys.Count + map.Values.Count;
                return n;
            }

            Assert.Equal(0, IterationHelpers.AllocatedBy(Run));
        }

        [Fact]
        public void CopyToAllocatesNothing()
        {
            using var map = new GoMap<int, int>(Enumerable.Range(0, 1000).Select(i => KeyValuePair.Create(i, i)));
            var pairs = new KeyValuePair<int, int>[1000];
            var keys = new int[1000];
            var values = new int[1000];
            long Run()
            {
                map.CopyTo(pairs, 0);
                map.Keys.CopyTo(keys, 0);
                map.Values.CopyTo(values, 0);
                return pairs[999].Key + keys[999] + values[999] + 1;
            }

            Assert.Equal(0, IterationHelpers.AllocatedBy(Run));
        }

        [Fact]
        public void InterfaceKeysAndValuesAllocateOnlyOnFirstUse()
        {
            using var map = new GoMap<int, int>(Enumerable.Range(0, 100).Select(i => KeyValuePair.Create(i, i)));
            IDictionary<int, int> d = map;
            _ = d.Keys;
            _ = d.Values;
            long Run() => d.Keys.Count + d.Values.Count + (d.Keys.Contains(5) ? 1 : 0);
            Assert.Equal(0, IterationHelpers.AllocatedBy(Run));
        }

        /// <summary>IEnumerator.Reset in place (a constrained call: no box).</summary>
        private static void Reset<TEnumerator>(ref TEnumerator e)
            where TEnumerator : struct, IEnumerator => e.Reset();
    }

    /// <summary>The pair constructor frees what it took when it throws. Runs alone: it reads the process-wide native byte count.</summary>
    [Collection(NativeMemoryCollection.Name)]
    public class PairConstructorLeakTests
    {
        [Fact]
        public void PairConstructorThatMeetsADuplicateKeyFreesItsMemory()
        {
            long baseline = LiveBytes.Settled();
            IEnumerable<KeyValuePair<Key136, Value200>> pairs = Enumerable.Range(0, 500)
                .Select(i => KeyValuePair.Create(Key136.Of(i), Value200.Of(i)))
                .Append(KeyValuePair.Create(Key136.Of(3), Value200.Of(3)));
            Assert.Throws<ArgumentException>(() => new GoMap<Key136, Value200>(pairs));
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        [Fact]
        public void PairConstructorOfNullFreesTheArrayItsOptionsSized()
        {
            long baseline = LiveBytes.Settled();
            Assert.Throws<ArgumentNullException>(() => new GoMap<long, long>(null!, new GoMapOptions { CapacityHint = 100_000 }));
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        [Fact]
        public void PairConstructorWhoseSequenceThrowsFreesItsMemory()
        {
            long baseline = LiveBytes.Settled();
            IEnumerable<KeyValuePair<long, long>> Pairs()
            {
                for (long i = 0; i < 1000; i++)
                {
                    yield return KeyValuePair.Create(i, i);
                }

                throw new InvalidOperationException("source failed");
            }

            Assert.Throws<InvalidOperationException>(() => new GoMap<long, long>(Pairs()));
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }
    }
}
