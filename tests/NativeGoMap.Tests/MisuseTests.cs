using System;
using System.Collections.Generic;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// A disposed map is safe to touch: Dispose is idempotent and every other member throws
    /// <see cref="ObjectDisposedException"/> instead of reaching freed memory.
    /// </summary>
    public class MisuseTests
    {
        /// <summary>Every member of the map other than Dispose and IsDisposed, by name.</summary>
        public static readonly string[] Members =
        {
            "Count", "LongCount", "IndexerGet", "IndexerSet", "TryGetValue", "GetValueOrDefault", "ContainsKey",
            "TryAdd", "Add", "Remove", "RemoveOut", "Clear", "GetValueRefOrNullRef", "GetValueRefOrAddDefault",
            "GetStats", "GetEnumerator", "Keys", "Values", "KeysCount", "ValuesCount", "InterfaceEnumerator",
            "InterfaceKeys", "InterfaceValues", "InterfaceTryGetValue", "InterfaceIndexer",
            "EnsureCapacity", "TrimExcess", "TrimExcessCapacity",
            "ContainsValue", "CopyTo", "KeysContains", "KeysCopyTo", "ValuesCopyTo",
            "CollectionContains", "CollectionRemove", "CollectionAdd", "InterfaceContainsKey",
            "TryGetValues", "SetValues", "RemoveKeys", "WriteTo", "PairConstructor",
        };

        /// <summary>Calls one member on the map (by name), with key 1.</summary>
        internal static void Call(GoMap<int, int> map, string member)
        {
            IReadOnlyDictionary<int, int> ro = map;
            switch (member)
            {
                case "Count": _ = map.Count; break;
                case "LongCount": _ = map.LongCount; break;
                case "IndexerGet": _ = map[1]; break;
                case "IndexerSet": map[1] = 2; break;
                case "TryGetValue": map.TryGetValue(1, out _); break;
                case "GetValueOrDefault": map.GetValueOrDefault(1); break;
                case "ContainsKey": map.ContainsKey(1); break;
                case "TryAdd": map.TryAdd(12345, 2); break;
                case "Add": map.Add(12346, 2); break;
                case "Remove": map.Remove(1); break;
                case "RemoveOut": map.Remove(1, out _); break;
                case "Clear": map.Clear(); break;
                case "GetValueRefOrNullRef": _ = map.GetValueRefOrNullRef(1); break;
                case "GetValueRefOrAddDefault": _ = map.GetValueRefOrAddDefault(1, out _); break;
                case "GetStats": map.GetStats(); break;
                case "GetEnumerator":
                {
                    var e = map.GetEnumerator();
                    e.MoveNext();
                    break;
                }

                case "Keys":
                    foreach (int k in map.Keys)
                    {
                        _ = k;
                    }

                    break;
                case "Values":
                    foreach (int v in map.Values)
                    {
                        _ = v;
                    }

                    break;
                case "KeysCount": _ = map.Keys.Count; break;
                case "ValuesCount": _ = map.Values.Count; break;
                case "InterfaceEnumerator":
                    foreach (KeyValuePair<int, int> kv in ro)
                    {
                        _ = kv;
                    }

                    break;
                case "InterfaceKeys":
                    foreach (int k in ro.Keys)
                    {
                        _ = k;
                    }

                    break;
                case "InterfaceValues":
                    foreach (int v in ro.Values)
                    {
                        _ = v;
                    }

                    break;
                case "InterfaceTryGetValue": ro.TryGetValue(1, out _); break;
                case "InterfaceIndexer": _ = ro[1]; break;
                case "EnsureCapacity": map.EnsureCapacity(100_000); break;
                case "TrimExcess": map.TrimExcess(); break;
                case "TrimExcessCapacity": map.TrimExcess(1_000_000); break;
                case "ContainsValue": map.ContainsValue(1); break;
                case "CopyTo": map.CopyTo(new KeyValuePair<int, int>[20_000], 0); break;
                case "KeysContains": map.Keys.Contains(1); break;
                case "KeysCopyTo": map.Keys.CopyTo(new int[20_000], 0); break;
                case "ValuesCopyTo": map.Values.CopyTo(new int[20_000], 0); break;
                case "CollectionContains": ((ICollection<KeyValuePair<int, int>>)map).Contains(new KeyValuePair<int, int>(1, 1)); break;
                case "CollectionRemove": ((ICollection<KeyValuePair<int, int>>)map).Remove(new KeyValuePair<int, int>(1, 1)); break;
                case "CollectionAdd": ((ICollection<KeyValuePair<int, int>>)map).Add(new KeyValuePair<int, int>(12347, 2)); break;
                case "InterfaceContainsKey": ro.ContainsKey(1); break;
                case "TryGetValues": map.TryGetValues(new[] { 1, 2 }, new int[2], new bool[2]); break;
                case "SetValues": map.SetValues(new[] { 12348, 12349 }, new[] { 2, 3 }); break;
                case "RemoveKeys": map.RemoveKeys(new[] { 1, 2 }); break;
                case "WriteTo": map.WriteTo(new System.IO.MemoryStream()); break;
                case "PairConstructor":
                {
                    using var copy = new GoMap<int, int>(map);
                    break;
                }

                default: throw new ArgumentOutOfRangeException(nameof(member), member, null);
            }
        }

        public static TheoryData<string, string> MembersInStates()
        {
            var data = new TheoryData<string, string>();
            foreach (string state in new[] { "never used", "filled", "growing", "shrinking", "emptied" })
            {
                foreach (string m in Members)
                {
                    data.Add(m, state);
                }
            }

            return data;
        }

        internal static GoMap<int, int> MapIn(string state)
        {
            var map = new GoMap<int, int>(new GoMapOptions { Seed = 3 });
            switch (state)
            {
                case "never used":
                    break;
                case "filled":
                    for (int k = 0; k < 1000; k++)
                    {
                        map[k] = k;
                    }

                    break;
                case "growing":
                    for (int k = 0; !map.GetStats().IsGrowing || map.GetStats().B < 6; k++)
                    {
                        map[k] = k;
                    }

                    break;
                case "shrinking":
                    for (int k = 0; k < 20_000; k++)
                    {
                        map[k] = k;
                    }

                    for (int k = 100; k < 20_000; k++)
                    {
                        map.Remove(k);
                    }

                    map.TrimExcess();
                    break;
                case "emptied":
                    for (int k = 0; k < 100; k++)
                    {
                        map[k] = k;
                    }

                    for (int k = 0; k < 100; k++)
                    {
                        map.Remove(k);
                    }

                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(state), state, null);
            }

            return map;
        }

        [Theory]
        [MemberData(nameof(MembersInStates))]
        public void DisposedMap_Member_ThrowsObjectDisposed(string member, string state)
        {
            GoMap<int, int> map = MapIn(state);
            map.Dispose();
            Assert.True(map.IsDisposed);
            Assert.Throws<ObjectDisposedException>(() => Call(map, member));
        }

        [Fact]
        public void Dispose_Twice_IsHarmless()
        {
            GoMap<int, int> map = MapIn("filled");
            map.Dispose();
            map.Dispose();
            Assert.True(map.IsDisposed);
            map.Validate(); // a disposed map holds nothing
        }

        [Fact]
        public void IsDisposed_IsFalseUntilDispose()
        {
            GoMap<int, int> map = MapIn("filled");
            Assert.False(map.IsDisposed);
            map.Dispose();
            Assert.True(map.IsDisposed);
        }

        [Fact]
        public void Dispose_NeverUsedMap_IsHarmless()
        {
            var map = new GoMap<long, long>();
            map.Dispose();
            Assert.True(map.IsDisposed);
            Assert.Throws<ObjectDisposedException>(() => map.LongCount);
        }

        [Fact]
        public void Dispose_WithALiveEnumerator_EnumeratorThrowsOnItsNextStep()
        {
            GoMap<int, int> map = MapIn("filled");
            GoMap<int, int>.Enumerator e = map.GetEnumerator();
            Assert.True(e.MoveNext());
            map.Dispose();
            Assert.Throws<ObjectDisposedException>(() => e.MoveNext());
            e.Dispose(); // harmless after the map is gone
        }

        [Fact]
        public void Dispose_DuringGrowthWithIndirectEntries_LeavesNothingBehind()
        {
            var map = new GoMap<Blob200, Blob200>(new GoMapOptions { Seed = 6 });
            for (long k = 0; !map.GetStats().IsGrowing || map.GetStats().B < 4; k++)
            {
                map[Blob200.Of(k)] = Blob200.Of(k);
            }

            map.Dispose();
            map.Validate(); // checks a disposed map owns no memory
            Assert.Throws<ObjectDisposedException>(() => map.ContainsKey(Blob200.Of(1)));
        }

        [Fact]
        public void DisposedMap_KeysAndValuesCollections_ThrowWhenEnumerated()
        {
            GoMap<int, int> map = MapIn("filled");
            GoMap<int, int>.KeyCollection keys = map.Keys;
            GoMap<int, int>.ValueCollection values = map.Values;
            map.Dispose();
            Assert.Throws<ObjectDisposedException>(() => keys.GetEnumerator());
            Assert.Throws<ObjectDisposedException>(() => values.GetEnumerator());
        }

        [Theory]
        [InlineData("indexer")]
        [InlineData("TryAdd")]
        [InlineData("GetValueRefOrAddDefault")]
        public void AnInsertWhoseKeyHashClearsTheMap_FilesTheKeyUnderTheNewSeed(string how)
        {
            // Found by review: the hash of a key that runs user code is computed before
            // hashWriting is taken; a Clear inside it renews the seed, and the insert filed the
            // key under the old seed's bucket and tophash (found by no lookup; Validate failed).
            using GoMap<ReseedingKey, int> map = ReseedingKeys(100);
            ReseedingKey.OnHash = () =>
            {
                ReseedingKey.OnHash = null;
                map.Clear();
                map[new ReseedingKey(7)] = 7;
            };
            var key = new ReseedingKey(1000);
            Assert.True(Insert(map, how, key, 1));
            map.Validate();
            Assert.Equal(2L, map.LongCount);
            Assert.Equal(1, map[key]);
            Assert.Equal(7, map[new ReseedingKey(7)]);
        }

        [Theory]
        [InlineData("indexer")]
        [InlineData("TryAdd")]
        [InlineData("GetValueRefOrAddDefault")]
        public void AnInsertWhoseHashAgainAfterAReseedThrows_EndsItsWrite(string how)
        {
            // The key's hash clears the map (a new seed), so the insert hashes the key again once
            // it holds hashWriting, and that second hash throws: the exception reaches the
            // caller, and the write is ended (a map left marked as being written would report
            // every later write as a concurrent one).
            using GoMap<ReseedingKey, int> map = ReseedingKeys(100);
            ReseedingKey.OnHash = () =>
            {
                ReseedingKey.OnHash = () => throw new InvalidOperationException("the second hash failed");
                map.Clear();
            };
            InvalidOperationException ex = Assert.Throws<InvalidOperationException>(() => Insert(map, how, new ReseedingKey(1000), 1));
            Assert.Equal("the second hash failed", ex.Message);
            ReseedingKey.OnHash = null;

            Assert.False(map.IsPoisoned);
            Assert.Equal(0L, map.LongCount);
            map[new ReseedingKey(7)] = 7;
            map.Validate();
            Assert.Equal(7, map[new ReseedingKey(7)]);
        }

        /// <summary>A map of <see cref="ReseedingKey"/>s 0 to <paramref name="n"/> - 1.</summary>
        private static GoMap<ReseedingKey, int> ReseedingKeys(int n)
        {
            var map = new GoMap<ReseedingKey, int>();
            for (int k = 0; k < n; k++)
            {
                map[new ReseedingKey(k)] = k;
            }

            return map;
        }

        /// <summary>Inserts through the API named by <paramref name="how"/> (indexer, TryAdd, GetValueRefOrAddDefault); false when TryAdd found the key.</summary>
        private static bool Insert<TKey>(GoMap<TKey, int> map, string how, TKey key, int value)
            where TKey : unmanaged
        {
            switch (how)
            {
                case "indexer": map[key] = value; return true;
                case "TryAdd": return map.TryAdd(key, value);
                default: map.GetValueRefOrAddDefault(key, out _) = value; return true;
            }
        }

        /// <summary>A key whose hash runs user code (IEquatable), which may act on the map once.</summary>
        private readonly struct ReseedingKey : IEquatable<ReseedingKey>
        {
            [ThreadStatic]
            public static Action? OnHash;

            public ReseedingKey(int id) => Id = id;

            public int Id { get; }

            public bool Equals(ReseedingKey other) => Id == other.Id;

            public override bool Equals(object? obj) => obj is ReseedingKey k && Equals(k);

            public override int GetHashCode()
            {
                OnHash?.Invoke();
                return Id;
            }
        }

        [Theory]
        [InlineData("indexer")]
        [InlineData("TryAdd")]
        [InlineData("Add")]
        [InlineData("Remove")]
        [InlineData("GetValueRefOrAddDefault")]
        public void DisposedMap_WriteWithAKeyWhoseHashThrows_ThrowsObjectDisposed(string how)
        {
            // Found by review: these writes hashed the key (user code) before checking the map.
            var comparer = new CollidingComparer<int>(EqualityComparer<int>.Default, k => k);
            var map = new GoMap<int, int>(null, comparer);
            map[1] = 1;
            map.Dispose();
            comparer.OnHash = () => throw new FormatException("the key's hash ran on a disposed map");
            Assert.Throws<ObjectDisposedException>(() =>
            {
                switch (how)
                {
                    case "indexer": map[3] = 1; break;
                    case "TryAdd": map.TryAdd(3, 1); break;
                    case "Add": map.Add(3, 1); break;
                    case "Remove": map.Remove(3); break;
                    default: map.GetValueRefOrAddDefault(3, out _); break;
                }
            });
        }
    }
}
