using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// Bad input gets the documented exception and leaves the map as it was (Validate and an exact
    /// content check). Not covered here: Count above int.MaxValue (OverflowException) needs 2^31
    /// entries, and the library has no seam to fake the count.
    /// </summary>
    [Collection(NativeMemoryCollection.Name)]
    public class BadInputTests
    {
        [Fact]
        public void BadInput_EnsureCapacityBeyondTheAddressSpace_ThrowsOutOfMemoryNamingTheBytes_MapUnchanged()
        {
            // 7e12 entries want B = 40: 2^40 buckets and a 2^36 overflow tail of 144 bytes, 168 TB,
            // more than a 64-bit process's 128 TiB of user addresses, so neither a mapping nor the
            // C heap can hold it, on any overcommit setting. NativeMemory's own exception named
            // no size.
            using var map = new GoMap<long, long>();
            map[1] = 2;
            OutOfMemoryException e = Assert.Throws<OutOfMemoryException>(() => map.EnsureCapacity(7_000_000_000_000L));
            ulong bytes = BucketLayout<long, long>.ArrayBytes(40)!.Value;
            Assert.Equal(168_225_279_049_728UL, bytes);
            Assert.Equal("A native allocation of 168,225,279,049,728 bytes failed.", e.Message);
            Assert.Equal(2, map[1]);
            Assert.Equal(1, map.LongCount);
            map.Validate();
        }

        [Fact]
        public void BadInput_DisposedMap_EveryPublicMemberThrowsObjectDisposed()
        {
            long baseline = LiveBytes.Settled(); // not the raw count: a map an earlier test left undisposed would be finalized mid-test
            var map = Filled(1000, out _);
            map.Dispose();
            AssertEveryMemberThrowsDisposed(map, 5, 5);

            var big = new GoMap<BigKey, BigValue>();
            for (long i = 0; i < 100; i++)
            {
                big[BigKey.Of(i)] = BigValue.Of(i);
            }

            big.Dispose();
            AssertEveryMemberThrowsDisposed(big, BigKey.Of(5), BigValue.Of(5));
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        [Fact]
        public void BadInput_AddDuplicate_ThrowsArgumentException_MapUnchanged()
        {
            var map = Filled(1000, out var model);
            var e = Assert.Throws<ArgumentException>(() => map.Add(7, -1));
            Assert.Equal("key", e.ParamName);
            Assert.Contains("7", e.Message, StringComparison.Ordinal);
            AssertHolds(map, model);

            // In the middle of a growth: Add still does its share of evacuation, but the contents stay.
            long k = model.Count;
            while (!map.GetStats().IsGrowing)
            {
                map.Add(k, k * 3);
                model.Add(k, k * 3);
                k++;
            }

            Assert.Throws<ArgumentException>(() => map.Add(k - 1, -1));
            Assert.Throws<ArgumentException>(() => map.Add(0, -1));
            AssertHolds(map, model);
            map.Dispose();

            using var big = new GoMap<BigKey, BigValue>();
            big.Add(BigKey.Of(1), BigValue.Of(1));
            long bytes = big.GetStats().NativeBytes;
            Assert.Throws<ArgumentException>(() => big.Add(BigKey.Of(1), BigValue.Of(2)));
            Assert.Equal(BigValue.Of(1), big[BigKey.Of(1)]);
            Assert.Equal(1L, big.LongCount);
            Assert.Equal(bytes, big.GetStats().NativeBytes); // no indirect block allocated for the rejected entry
            big.Validate();
        }

        [Fact]
        public void BadInput_IndexerGetMissingKey_ThrowsKeyNotFound()
        {
            using var empty = new GoMap<long, long>();
            Assert.Contains("42", Assert.Throws<KeyNotFoundException>(() => empty[42]).Message, StringComparison.Ordinal);
            Assert.Equal(0L, empty.LongCount);
            empty.Validate();

            using var map = Filled(1000, out var model);
            Assert.Throws<KeyNotFoundException>(() => map[-1]);
            map.Remove(10);
            model.Remove(10);
            Assert.Throws<KeyNotFoundException>(() => map[10]);
            AssertHolds(map, model);

            for (long k = 1000; !map.GetStats().IsGrowing; k++)
            {
                map[k] = k * 3;
                model[k] = k * 3;
            }

            Assert.Throws<KeyNotFoundException>(() => map[-2]);
            Assert.Throws<KeyNotFoundException>(() => map[10]);
            AssertHolds(map, model);
        }

        [Fact]
        public void BadInput_CountAboveIntMaxValue_ThrowsOverflow_LongCountStillAnswers()
        {
            using var map = Filled(3, out var model);
            map.SetCountForTest(int.MaxValue + 1L);
            var e = Assert.Throws<OverflowException>(() => map.Count);
            Assert.Contains("LongCount", e.Message, StringComparison.Ordinal);
            Assert.Equal(int.MaxValue + 1L, map.LongCount);

            map.SetCountForTest(3);
            Assert.Equal(3, map.Count);
            AssertHolds(map, model);
        }

        [Theory]
        [InlineData(-1L)]
        [InlineData(long.MinValue)]
        [InlineData(long.MaxValue)]
        [InlineData(1L << 62)]
        [InlineData((1L << 48) / 144 + 1)] // the first hint whose <long,long> buckets pass Go's maxAlloc (2^48 bytes)
        public void BadInput_NegativeOrAbsurdCapacityHint_TreatedAsZero(long hint)
        {
            long baseline = LiveBytes.Settled(); // not the raw count: a map an earlier test left undisposed would be finalized mid-test
            foreach (var map in new[] { new GoMap<long, long>(hint), new GoMap<long, long>(new GoMapOptions { CapacityHint = hint }) })
            {
                GoMapStats stats = map.GetStats();
                Assert.Equal(0, stats.B);
                Assert.Equal(0, stats.NativeBytes);
                map.Validate();

                var model = new Dictionary<long, long>();
                for (long k = 0; k < 10_000; k++)
                {
                    map[k] = k * 3;
                    model[k] = k * 3;
                }

                AssertHolds(map, model);
                map.Dispose();
            }

            using (var big = new GoMap<BigKey, BigValue>(hint))
            {
                Assert.Equal(0, big.GetStats().B);
                big[BigKey.Of(3)] = BigValue.Of(3);
                Assert.Equal(BigValue.Of(3), big[BigKey.Of(3)]);
                big.Validate();
            }

            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        [Fact]
        public void BadInput_EnumeratorAfterMapDisposed_ThrowsObjectDisposed()
        {
            long baseline = LiveBytes.Settled(); // not the raw count: a map an earlier test left undisposed would be finalized mid-test
            var map = Filled(1000, out _);
            var midway = map.GetEnumerator();
            for (int i = 0; i < 10; i++)
            {
                Assert.True(midway.MoveNext());
            }

            var notStarted = map.GetEnumerator();
            var finished = map.GetEnumerator();
            while (finished.MoveNext())
            {
            }

            var keys = map.Keys.GetEnumerator();
            Assert.True(keys.MoveNext());
            var values = map.Values.GetEnumerator();
            Assert.True(values.MoveNext());

            // Growth under live enumerators: the old arrays wait for them (deferred), Dispose frees them anyway.
            for (long k = 1000; k < 20_000; k++)
            {
                map[k] = k * 3;
            }

            Assert.True(map.GetStats().DeferredBytes > 0);
            KeyValuePair<long, long> current = midway.Current;
            map.Dispose();

            Assert.Throws<ObjectDisposedException>(() => midway.MoveNext());
            Assert.Throws<ObjectDisposedException>(() => ReadValueRef(midway));
            Assert.Equal(current, midway.Current); // a copy taken by MoveNext: safe to read
            Assert.Throws<ObjectDisposedException>(() => notStarted.MoveNext());
            Assert.Throws<ObjectDisposedException>(() => finished.MoveNext());
            Assert.Throws<ObjectDisposedException>(() => keys.MoveNext());
            Assert.Throws<ObjectDisposedException>(() => values.MoveNext());
            midway.Dispose(); // disposing an enumerator of a disposed map is a no-op
            notStarted.Dispose();
            keys.Dispose();
            values.Dispose();
            Assert.Throws<ObjectDisposedException>(() => midway.MoveNext());

            using (var empty = new GoMap<long, long>())
            {
                var ofEmpty = empty.GetEnumerator();
                empty.Dispose();
                Assert.Throws<ObjectDisposedException>(() => ofEmpty.MoveNext());
            }

            map.Validate();
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);
        }

        [Fact]
        public void BadInput_KeyTypeWithoutByteEqualityOrEquatable_ThrowsNotSupportedAtConstruction()
        {
            long baseline = LiveBytes.Settled(); // not the raw count: a map an earlier test left undisposed would be finalized mid-test
            AssertRefused<PaddedKey>();
            AssertRefused<FloatFieldKey>();
            AssertRefused<ObjectEqualsKey>();
            Assert.Equal(baseline, GoMapDiagnostics.LiveNativeBytes);

            // With a comparer the same type is fine.
            using var map = new GoMap<PaddedKey, long>(null, new PaddedKeyComparer());
            map[new PaddedKey(1, 2)] = 3;
            Assert.Equal(3, map[new PaddedKey(1, 2)]);
            Assert.False(map.ContainsKey(new PaddedKey(2, 2)));
            map.Validate();
        }

        [Fact]
        public void BadInput_KeyHoldingAFixedBufferOfFloats_IsRefusedForTheElementsEquality()
        {
            // A fixed buffer is compared by its bytes only when its elements are: float
            // coordinates are not (NaN, -0), so the key needs an IEquatable or a comparer.
            AssertRefused<FloatBufferKey>();
            var e = Assert.Throws<NotSupportedException>(() => new GoMap<FloatBufferKey, long>());
            Assert.Contains("Single equality is not bitwise", e.Message, StringComparison.Ordinal);
        }

        private static void AssertRefused<TKey>()
            where TKey : unmanaged
        {
            var constructors = new Func<GoMap<TKey, long>>[]
            {
                () => new GoMap<TKey, long>(),
                () => new GoMap<TKey, long>(100),
                () => new GoMap<TKey, long>(new GoMapOptions { CapacityHint = 1000 }),
                () => new GoMap<TKey, long>(null, null),
            };
            foreach (var create in constructors)
            {
                var e = Assert.Throws<NotSupportedException>(() => create());
                Assert.Contains(typeof(TKey).FullName!, e.Message, StringComparison.Ordinal);
            }
        }

        private static void AssertEveryMemberThrowsDisposed<TKey, TValue>(GoMap<TKey, TValue> map, TKey key, TValue value)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            Assert.True(map.IsDisposed);
            var calls = new (string Name, Action Call)[]
            {
                ("Count", () => _ = map.Count),
                ("LongCount", () => _ = map.LongCount),
                ("this[] get", () => _ = map[key]),
                ("this[] set", () => map[key] = value),
                ("TryGetValue", () => map.TryGetValue(key, out _)),
                ("GetValueOrDefault", () => map.GetValueOrDefault(key)),
                ("ContainsKey", () => map.ContainsKey(key)),
                ("TryAdd", () => map.TryAdd(key, value)),
                ("Add", () => map.Add(key, value)),
                ("Remove", () => map.Remove(key)),
                ("Remove out", () => map.Remove(key, out _)),
                ("Clear", map.Clear),
                ("GetValueRefOrNullRef", () => map.GetValueRefOrNullRef(key)),
                ("GetValueRefOrAddDefault", () => map.GetValueRefOrAddDefault(key, out _)),
                ("GetStats", () => map.GetStats()),
                ("GetEnumerator", () => map.GetEnumerator()),
                ("Keys.Count", () => _ = map.Keys.Count),
                ("Keys enumeration", () => map.Keys.GetEnumerator().MoveNext()),
                ("Values.Count", () => _ = map.Values.Count),
                ("Values enumeration", () => map.Values.GetEnumerator().MoveNext()),
                ("IReadOnlyDictionary.Count", () => _ = ((IReadOnlyDictionary<TKey, TValue>)map).Count),
                ("IReadOnlyDictionary.Keys", () => ((IReadOnlyDictionary<TKey, TValue>)map).Keys.GetEnumerator().MoveNext()),
                ("IReadOnlyDictionary.Values", () => ((IReadOnlyDictionary<TKey, TValue>)map).Values.GetEnumerator().MoveNext()),
                ("IEnumerable<T>.GetEnumerator", () => ((IEnumerable<KeyValuePair<TKey, TValue>>)map).GetEnumerator()),
                ("IEnumerable.GetEnumerator", () => ((IEnumerable)map).GetEnumerator()),
            };
            foreach (var (name, call) in calls)
            {
                var e = Record.Exception(call);
                Assert.True(e is ObjectDisposedException, $"{name} on a disposed map: {e?.GetType().Name ?? "no exception"}");
            }

            map.Dispose(); // idempotent
            Assert.NotEqual(0, GoMap<TKey, TValue>.Layout.BucketSize); // static: still available
            map.Validate(); // a disposed map holds no memory
        }

        private static long ReadValueRef(GoMap<long, long>.Enumerator e) => e.CurrentValueRef;

        private static GoMap<long, long> Filled(int n, out Dictionary<long, long> model)
        {
            var map = new GoMap<long, long>(new GoMapOptions { Seed = 42 });
            model = new Dictionary<long, long>();
            for (long k = 0; k < n; k++)
            {
                map.Add(k, k * 3);
                model.Add(k, k * 3);
            }

            return map;
        }

        /// <summary>Validate() and exactly the model's entries, by lookup and by enumeration.</summary>
        private static void AssertHolds(GoMap<long, long> map, Dictionary<long, long> model)
        {
            map.Validate();
            Assert.Equal(model.Count, map.Count);
            foreach (var (k, v) in model)
            {
                Assert.True(map.TryGetValue(k, out long got), $"key {k} lost");
                Assert.Equal(v, got);
            }

            Assert.Equal(model.OrderBy(kv => kv.Key), map.ToList().OrderBy(kv => kv.Key));
        }

        /// <summary>Padding after A: not comparable by bytes, and no IEquatable.</summary>
        private readonly struct PaddedKey
        {
            public PaddedKey(byte a, long b)
            {
                A = a;
                B = b;
            }

            public byte A { get; }

            public long B { get; }
        }

        private sealed class PaddedKeyComparer : IEqualityComparer<PaddedKey>
        {
            public bool Equals(PaddedKey x, PaddedKey y) => x.A == y.A && x.B == y.B;

            public int GetHashCode(PaddedKey obj) => HashCode.Combine(obj.A, obj.B);
        }

        /// <summary>Three float coordinates in a fixed buffer, and no IEquatable.</summary>
        private unsafe struct FloatBufferKey
        {
            public fixed float Coordinates[3];
        }

        /// <summary>A float field: float equality is not bitwise (NaN, -0), and no IEquatable.</summary>
        private readonly struct FloatFieldKey
        {
            public FloatFieldKey(float f, int i)
            {
                F = f;
                I = i;
            }

            public float F { get; }

            public int I { get; }
        }

        /// <summary>Own Equals(object) without IEquatable: calling it would box every key.</summary>
        private readonly struct ObjectEqualsKey
        {
            public ObjectEqualsKey(long v) => V = v;

            public long V { get; }

            public override bool Equals(object? obj) => obj is ObjectEqualsKey o && o.V / 2 == V / 2;

            public override int GetHashCode() => (V / 2).GetHashCode();
        }

        /// <summary>136 bytes: stored indirectly.</summary>
        private unsafe struct BigKey
        {
            private fixed long _w[17];

            public static BigKey Of(long id)
            {
                BigKey k = default;
                for (int i = 0; i < 17; i++)
                {
                    k._w[i] = id + i;
                }

                return k;
            }
        }

        /// <summary>200 bytes: stored indirectly.</summary>
        private unsafe struct BigValue : IEquatable<BigValue>
        {
            private fixed long _w[25];

            public static BigValue Of(long id)
            {
                BigValue v = default;
                for (int i = 0; i < 25; i++)
                {
                    v._w[i] = id * i;
                }

                return v;
            }

            public readonly bool Equals(BigValue other)
            {
                for (int i = 0; i < 25; i++)
                {
                    if (_w[i] != other._w[i])
                    {
                        return false;
                    }
                }

                return true;
            }

            public override readonly bool Equals(object? obj) => obj is BigValue other && Equals(other);

            public override readonly int GetHashCode() => HashCode.Combine(_w[0], _w[1]);
        }
    }
}
