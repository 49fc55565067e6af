using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using NativeGoMap.Fuzz;
using System.Runtime.InteropServices;
using Xunit;

namespace NativeGoMap.Tests
{
    // .NET's collection contracts, as Dictionary keeps them, checked on GoMap: IEnumerator.Reset,
    // Keys and Values in one order, Keys and Values as read-only collections, CopyTo with
    // Dictionary's argument checks, IDictionary / ICollection / IReadOnlyDictionary through the
    // interfaces, ContainsValue, Comparer, the pair constructor, enumerator copies. The suite is
    // generic and runs once per key/value pair: <int,int>, <long,long>, <Guid,int>, a key that
    // needs a comparer, and a 136-byte key with a 200-byte value (both stored indirectly).

    /// <summary>The three enumerable views of a map: its pairs, its keys, its values.</summary>
    public enum MapView
    {
        Pairs,
        Keys,
        Values,
    }

    /// <summary>A key with padding (1 + 7 + 8 bytes): the map refuses it without a comparer.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PaddedId
    {
        public byte Tag;
        public long Id;

        public static PaddedId Of(int i) => new PaddedId { Tag = (byte)(i % 3), Id = i };
    }

    /// <summary>Field equality for <see cref="PaddedId"/> (its padding bytes are undefined).</summary>
    public sealed class PaddedIdComparer : IEqualityComparer<PaddedId>
    {
        public static readonly PaddedIdComparer Instance = new PaddedIdComparer();

        public bool Equals(PaddedId x, PaddedId y) => x.Tag == y.Tag && x.Id == y.Id;

        public int GetHashCode(PaddedId obj) => HashCode.Combine(obj.Tag, obj.Id);
    }

    /// <summary>A 136-byte key (stored indirectly); every byte derives from its id.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct Key136
    {
        public long Id;
        public fixed byte Rest[128];

        public static Key136 Of(int id)
        {
            Key136 k = default;
            k.Id = id;
            for (int r = 0; r < 128; r++)
            {
                k.Rest[r] = (byte)((id * 7) + r);
            }

            return k;
        }
    }

    /// <summary>A 200-byte value (stored indirectly); every byte derives from its number.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct Value200
    {
        public long V;
        public fixed byte Rest[192];

        public static Value200 Of(long v)
        {
            Value200 x = default;
            x.V = v;
            for (int r = 0; r < 192; r++)
            {
                x.Rest[r] = (byte)((v * 13) + r);
            }

            return x;
        }
    }

    /// <summary>The contract suite; each subclass names a key/value pair and how to make them.</summary>
    public abstract class CollectionContracts<TKey, TValue>
        where TKey : unmanaged
        where TValue : unmanaged
    {
        /// <summary>Entries in the maps of most tests: several dozen buckets.</summary>
        protected const int N = 300;

        /// <summary>For the Reset tests: walk the whole enumeration before resetting.</summary>
        protected const int ToTheEnd = -1;

        /// <summary>Key number <paramref name="i"/>; distinct numbers give distinct keys.</summary>
        protected abstract TKey Key(int i);

        /// <summary>Value number <paramref name="i"/>; distinct numbers give distinct values.</summary>
        protected abstract TValue Value(int i);

        /// <summary>The comparer the map is built with (null: the default equality).</summary>
        protected virtual IEqualityComparer<TKey>? MapComparer => null;

        /// <summary>Key equality of the models.</summary>
        protected virtual IEqualityComparer<TKey> KeyEquality => EqualityComparer<TKey>.Default;

        /// <summary>Value equality of the assertions.</summary>
        protected virtual IEqualityComparer<TValue> ValueEquality => EqualityComparer<TValue>.Default;

        // ---- 1. IEnumerator.Reset ----

        [Theory]
        [InlineData(MapView.Pairs)]
        [InlineData(MapView.Keys)]
        [InlineData(MapView.Values)]
        public void ResetBeforeTheFirstMoveNextYieldsEveryEntryOnce(MapView view) =>
            AssertResetStartsOver(view, N, stepsBefore: 0, between: null);

        [Theory]
        [InlineData(MapView.Pairs)]
        [InlineData(MapView.Keys)]
        [InlineData(MapView.Values)]
        public void ResetDuringAnEnumerationStartsOverAndYieldsEveryEntryOnce(MapView view) =>
            AssertResetStartsOver(view, N, stepsBefore: N / 3, between: null);

        [Theory]
        [InlineData(MapView.Pairs)]
        [InlineData(MapView.Keys)]
        [InlineData(MapView.Values)]
        public void ResetAfterTheEndYieldsEveryEntryAgain(MapView view) =>
            AssertResetStartsOver(view, N, stepsBefore: ToTheEnd, between: null);

        [Theory]
        [InlineData(MapView.Pairs)]
        [InlineData(MapView.Keys)]
        [InlineData(MapView.Values)]
        public void ResetAfterWritesYieldsTheEntriesOfTheWrittenMap(MapView view) =>
            AssertResetStartsOver(view, N, stepsBefore: N / 2, between: WriteSome);

        [Theory]
        [InlineData(MapView.Pairs)]
        [InlineData(MapView.Keys)]
        [InlineData(MapView.Values)]
        public void ResetOfAnEnumeratorStartedOnAnEmptyMapYieldsTheEntriesAddedSince(MapView view) =>
            AssertResetStartsOver(view, 0, stepsBefore: 0, between: (map, model) =>
            {
                Fill(map, N);
                Fill(model, N);
            });

        [Fact]
        public void ResetKeepsOneRegistrationAndDisposeReleasesIt()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            GoMap<TKey, TValue>.Enumerator e = map.GetEnumerator();
            Assert.True(e.MoveNext());
            ResetIt(ref e);
            Assert.Equal(1, map.GetStats().LiveEnumerators);
            DrainPairs(ref e);
            Assert.Equal(0, map.GetStats().LiveEnumerators);
            ResetIt(ref e);
            Assert.Equal(1, map.GetStats().LiveEnumerators);
            e.Dispose();
            Assert.Equal(0, map.GetStats().LiveEnumerators);
        }

        [Fact]
        public void ResetOnADisposedMapThrowsObjectDisposed()
        {
            GoMap<TKey, TValue> map = NewMap(N);
            GoMap<TKey, TValue>.Enumerator e = map.GetEnumerator();
            Assert.True(e.MoveNext());
            map.Dispose();
            Assert.Throws<ObjectDisposedException>(() => ResetIt(ref e));
        }

        [Fact]
        public void ResetOfAKeyEnumerationOfAnUnwrittenMapRepeatsItsOrder()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            GoMap<TKey, TValue>.KeyEnumerator e = map.Keys.GetEnumerator();
            List<TKey> first = DrainKeys(ref e);
            ResetIt(ref e);
            Assert.Equal(first, DrainKeys(ref e), KeyEquality);
        }

        [Fact]
        public void ResetThroughTheBoxedInterfacesStartsOver()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            using IEnumerator<KeyValuePair<TKey, TValue>> pairs = ((IEnumerable<KeyValuePair<TKey, TValue>>)map).GetEnumerator();
            using IEnumerator<TKey> keys = ((IEnumerable<TKey>)map.Keys).GetEnumerator();
            using IEnumerator<TValue> values = ((IEnumerable<TValue>)map.Values).GetEnumerator();
            Assert.True(pairs.MoveNext() && keys.MoveNext() && values.MoveNext());

            pairs.Reset();
            keys.Reset();
            values.Reset();

            AssertSameEntries(Model(N), Rest(pairs));
            AssertSameKeys(Model(N), Rest(keys));
            AssertSameValues(Model(N), Rest(values));
        }

        // ---- 2. Keys and Values in one order ----

        [Fact]
        public void KeysAndValuesOfAnUnwrittenMapComeInTheSameOrder()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            var keys = new List<TKey>();
            foreach (TKey k in map.Keys)
            {
                keys.Add(k);
            }

            var values = new List<TValue>();
            foreach (TValue v in map.Values)
            {
                values.Add(v);
            }

            AssertPairsMatchModel(Model(N), keys, values);
        }

        [Fact]
        public void KeysZipValuesPairsEveryKeyWithItsValue()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            List<(TKey Key, TValue Value)> zipped = map.Keys.Zip(map.Values).ToList();
            AssertPairsMatchModel(Model(N), zipped.Select(p => p.Key).ToList(), zipped.Select(p => p.Value).ToList());
        }

        [Fact]
        public void KeysToArrayAndValuesToArrayLineUp()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            AssertPairsMatchModel(Model(N), map.Keys.ToArray(), map.Values.ToArray());
        }

        [Fact]
        public void KeysAndValuesOfTheDictionaryInterfacesLineUp()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            IDictionary<TKey, TValue> d = map;
            IReadOnlyDictionary<TKey, TValue> r = map;
            AssertPairsMatchModel(Model(N), d.Keys.ToList(), d.Values.ToList());
            AssertPairsMatchModel(Model(N), r.Keys.ToList(), r.Values.ToList());
        }

        [Fact]
        public void KeysAndValuesLineUpAgainAfterWrites()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            Dictionary<TKey, TValue> model = Model(N);
            WriteSome(map, model);
            AssertPairsMatchModel(model, map.Keys.ToList(), map.Values.ToList());
        }

        [Fact]
        public void TwoKeyEnumerationsOfAnUnwrittenMapComeInTheSameOrder()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            Assert.Equal(map.Keys.ToList(), map.Keys.ToList(), KeyEquality);
        }

        // ---- 3. Keys and Values are read-only collections ----

        [Fact]
        public void KeysAndValuesCountTheMapsEntries()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            Dictionary<TKey, TValue> model = Model(N);
            WriteSome(map, model);
            Assert.Equal(model.Count, map.Keys.Count);
            Assert.Equal(model.Count, map.Values.Count);
            Assert.Equal(model.Count, map.Keys.LongCount);
            Assert.Equal(model.Count, map.Values.LongCount);
            Assert.Equal(model.Count, ((ICollection<TKey>)map.Keys).Count);
            Assert.Equal(model.Count, ((IReadOnlyCollection<TValue>)map.Values).Count);
        }

        [Fact]
        public void KeysAndValuesCountsAreKnownWithoutEnumerating()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            Assert.True(map.Keys.TryGetNonEnumeratedCount(out int keys));
            Assert.True(map.Values.TryGetNonEnumeratedCount(out int values));
            Assert.Equal(N, keys);
            Assert.Equal(N, values);
        }

        [Fact]
        public void KeysContainsFindsPresentKeysOnly()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            // The struct's own Contains (a lookup), called directly rather than through an assertion on a sequence.
            GoMap<TKey, TValue>.KeyCollection keys = map.Keys;
            bool[] found = { keys.Contains(Key(0)), keys.Contains(Key(N - 1)), keys.Contains(Key(N)), keys.Contains(Key(-7)) };
            Assert.Equal(new[] { true, true, false, false }, found);
        }

        [Fact]
        public void KeysContainsThroughTheInterfaceFindsPresentKeysOnly()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            ICollection<TKey> keys = map.Keys;
            Assert.True(keys.Contains(Key(N / 2)));
            Assert.False(keys.Contains(Key(N + 1)));
        }

        [Fact]
        public void ValuesContainsThroughTheInterfaceFindsPresentValuesOnly()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            ICollection<TValue> values = map.Values;
            Assert.True(values.Contains(Value(N / 2)));
            Assert.False(values.Contains(Value(N + 1)));
        }

        [Fact]
        public void KeysAndValuesAreReadOnly()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            Assert.True(((ICollection<TKey>)map.Keys).IsReadOnly);
            Assert.True(((ICollection<TValue>)map.Values).IsReadOnly);
        }

        [Fact]
        public void KeysMutatorsThrowNotSupportedAndChangeNothing()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            ICollection<TKey> keys = map.Keys;
            Assert.Throws<NotSupportedException>(() => keys.Add(Key(N)));
            Assert.Throws<NotSupportedException>(() => keys.Remove(Key(0)));
            Assert.Throws<NotSupportedException>(() => keys.Clear());
            AssertSameEntries(Model(N), map);
        }

        [Fact]
        public void ValuesMutatorsThrowNotSupportedAndChangeNothing()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            ICollection<TValue> values = map.Values;
            Assert.Throws<NotSupportedException>(() => values.Add(Value(N)));
            Assert.Throws<NotSupportedException>(() => values.Remove(Value(0)));
            Assert.Throws<NotSupportedException>(() => values.Clear());
            AssertSameEntries(Model(N), map);
        }

        // ---- CopyTo: the map's, Keys', Values' ----

        [Theory]
        [InlineData(MapView.Pairs)]
        [InlineData(MapView.Keys)]
        [InlineData(MapView.Values)]
        public void CopyToWritesEveryEntryFromTheIndexOnAndNothingElse(MapView view)
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            Dictionary<TKey, TValue> model = Model(N);
            switch (view)
            {
                case MapView.Pairs:
                    AssertCopyWritesFromTheIndexOnly(map, KeyValuePair.Create(Key(-1), Value(-1)), (a, b) => KeyEquality.Equals(a.Key, b.Key) && ValueEquality.Equals(a.Value, b.Value), copied => AssertSameEntries(model, copied));
                    break;
                case MapView.Keys:
                    AssertCopyWritesFromTheIndexOnly(map.Keys, Key(-1), KeyEquality.Equals, copied => AssertSameKeys(model, copied));
                    break;
                case MapView.Values:
                    AssertCopyWritesFromTheIndexOnly(map.Values, Value(-1), ValueEquality.Equals, copied => AssertSameValues(model, copied));
                    break;
            }
        }

        [Theory]
        [InlineData(MapView.Pairs)]
        [InlineData(MapView.Keys)]
        [InlineData(MapView.Values)]
        public void CopyToFillingTheArrayExactlySucceeds(MapView view)
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            Assert.Null(CopyError(map, view, length: N + 3, index: 3));
        }

        [Theory]
        [InlineData(MapView.Pairs)]
        [InlineData(MapView.Keys)]
        [InlineData(MapView.Values)]
        public void CopyToOfAnEmptyMapAtTheEndOfTheArraySucceeds(MapView view)
        {
            using GoMap<TKey, TValue> map = NewMap(0);
            Assert.Null(CopyError(map, view, length: 4, index: 4));
        }

        [Theory]
        [InlineData(MapView.Pairs)]
        [InlineData(MapView.Keys)]
        [InlineData(MapView.Values)]
        public void CopyToANullArrayThrowsAsDictionaryDoes(MapView view) =>
            AssertCopyFailsAsDictionary<ArgumentNullException>(view, length: null, index: 0);

        [Theory]
        [InlineData(MapView.Pairs)]
        [InlineData(MapView.Keys)]
        [InlineData(MapView.Values)]
        public void CopyToANegativeIndexThrowsAsDictionaryDoes(MapView view) =>
            AssertCopyFailsAsDictionary<ArgumentOutOfRangeException>(view, length: N, index: -1);

        [Theory]
        [InlineData(MapView.Pairs)]
        [InlineData(MapView.Keys)]
        [InlineData(MapView.Values)]
        public void CopyToAnIndexPastTheEndThrowsAsDictionaryDoes(MapView view) =>
            AssertCopyFailsAsDictionary<ArgumentOutOfRangeException>(view, length: N, index: N + 1);

        [Theory]
        [InlineData(MapView.Pairs)]
        [InlineData(MapView.Keys)]
        [InlineData(MapView.Values)]
        public void CopyToAnArrayTooShortThrowsAsDictionaryDoes(MapView view) =>
            AssertCopyFailsAsDictionary<ArgumentException>(view, length: N + 2, index: 3);

        [Fact]
        public void CopyToAnArrayTooShortWritesNothing()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            var keys = new TKey[N];
            keys.AsSpan().Fill(Key(-1));
            Assert.Throws<ArgumentException>(() => map.Keys.CopyTo(keys, 1));
            Assert.All(keys, k => Assert.True(KeyEquality.Equals(k, Key(-1))));
        }

        [Fact]
        public void CopyToOfPairsOrValuesIntoAnArrayTooShortWritesNothing()
        {
            // As for Keys above: the length check comes before the first write.
            using GoMap<TKey, TValue> map = NewMap(N);
            var pairs = new KeyValuePair<TKey, TValue>[N];
            pairs.AsSpan().Fill(KeyValuePair.Create(Key(-1), Value(-1)));
            Assert.Throws<ArgumentException>(() => map.CopyTo(pairs, 1));
            Assert.All(pairs, p => Assert.True(KeyEquality.Equals(p.Key, Key(-1))));
            var values = new TValue[N];
            values.AsSpan().Fill(Value(-1));
            Assert.Throws<ArgumentException>(() => map.Values.CopyTo(values, 1));
            Assert.All(values, v => Assert.True(ValueEquality.Equals(v, Value(-1))));
        }

        // ---- 4. IDictionary, ICollection of pairs, IReadOnlyDictionary ----

        [Fact]
        public void IDictionaryIndexerAddsUpdatesAndReads()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            IDictionary<TKey, TValue> d = map;
            d[Key(N)] = Value(N);
            d[Key(0)] = Value(-3);
            Assert.True(ValueEquality.Equals(Value(N), d[Key(N)]));
            Assert.True(ValueEquality.Equals(Value(-3), d[Key(0)]));
            Assert.Equal(N + 1, d.Count);
        }

        [Fact]
        public void IDictionaryIndexerGetOfAMissingKeyThrowsKeyNotFound()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            IDictionary<TKey, TValue> d = map;
            Assert.Throws<KeyNotFoundException>(() => d[Key(N)]);
        }

        [Fact]
        public void IDictionaryAddOfAPresentKeyThrowsArgumentExceptionAndKeepsTheValue()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            IDictionary<TKey, TValue> d = map;
            d.Add(Key(N), Value(N));
            Assert.Throws<ArgumentException>(() => d.Add(Key(0), Value(-3)));
            Assert.True(ValueEquality.Equals(Value(0), d[Key(0)]));
            Assert.Equal(N + 1, d.Count);
        }

        [Fact]
        public void IDictionaryRemoveTellsWhetherTheKeyWasPresent()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            IDictionary<TKey, TValue> d = map;
            Assert.True(d.Remove(Key(5)));
            Assert.False(d.Remove(Key(5)));
            Assert.False(d.ContainsKey(Key(5)));
            Assert.Equal(N - 1, d.Count);
        }

        [Fact]
        public void IDictionaryTryGetValueAndContainsKeyFindPresentKeysOnly()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            IDictionary<TKey, TValue> d = map;
            Assert.True(d.TryGetValue(Key(7), out TValue v));
            Assert.True(ValueEquality.Equals(Value(7), v));
            Assert.True(d.ContainsKey(Key(7)));
            Assert.False(d.TryGetValue(Key(N), out _));
            Assert.False(d.ContainsKey(Key(N)));
        }

        [Fact]
        public void IDictionaryKeysAndValuesHoldTheEntriesAndAreReadOnly()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            IDictionary<TKey, TValue> d = map;
            AssertSameKeys(Model(N), d.Keys);
            AssertSameValues(Model(N), d.Values);
            Assert.True(d.Keys.IsReadOnly);
            Assert.True(d.Values.IsReadOnly);
            Assert.True(d.Keys.Contains(Key(1)));
            Assert.True(d.Values.Contains(Value(1)));
        }

        [Fact]
        public void InterfaceKeysAndValuesAreEachOneObjectPerMap()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            IDictionary<TKey, TValue> d = map;
            IReadOnlyDictionary<TKey, TValue> r = map;
            Assert.Same(d.Keys, d.Keys);
            Assert.Same(d.Values, d.Values);
            Assert.Same(d.Keys, r.Keys);
            Assert.Same(d.Values, r.Values);
        }

        [Fact]
        public void InterfaceKeysSeeLaterWrites()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            ICollection<TKey> keys = ((IDictionary<TKey, TValue>)map).Keys;
            map.Add(Key(N), Value(N));
            Assert.Equal(N + 1, keys.Count);
            Assert.True(keys.Contains(Key(N)));
        }

        [Fact]
        public void PairCollectionAddAddsThePair()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            ICollection<KeyValuePair<TKey, TValue>> c = map;
            c.Add(KeyValuePair.Create(Key(N), Value(N)));
            Assert.True(map.TryGetValue(Key(N), out TValue v) && ValueEquality.Equals(Value(N), v));
        }

        [Fact]
        public void PairCollectionAddOfAPresentKeyThrowsArgumentException()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            ICollection<KeyValuePair<TKey, TValue>> c = map;
            Assert.Throws<ArgumentException>(() => c.Add(KeyValuePair.Create(Key(0), Value(0))));
        }

        [Fact]
        public void PairCollectionContainsNeedsTheKeyWithAnEqualValue()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            ICollection<KeyValuePair<TKey, TValue>> c = map;
            // Called directly: xunit's Assert.Contains enumerates instead of calling Contains.
            Assert.True(c.Contains(KeyValuePair.Create(Key(3), Value(3))));
            Assert.False(c.Contains(KeyValuePair.Create(Key(3), Value(4))));
            Assert.False(c.Contains(KeyValuePair.Create(Key(N), Value(N))));
        }

        [Fact]
        public void PairCollectionRemoveRemovesOnlyAMatchingPair()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            ICollection<KeyValuePair<TKey, TValue>> c = map;
            Assert.False(c.Remove(KeyValuePair.Create(Key(3), Value(4))));
            Assert.True(map.ContainsKey(Key(3)));
            Assert.True(c.Remove(KeyValuePair.Create(Key(3), Value(3))));
            Assert.False(map.ContainsKey(Key(3)));
            Assert.False(c.Remove(KeyValuePair.Create(Key(3), Value(3))));
        }

        [Fact]
        public void PairCollectionIsNotReadOnly()
        {
            using GoMap<TKey, TValue> map = NewMap(0);
            Assert.False(((ICollection<KeyValuePair<TKey, TValue>>)map).IsReadOnly);
        }

        [Fact]
        public void PairCollectionClearRemovesEveryEntry()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            ICollection<KeyValuePair<TKey, TValue>> c = map;
            c.Clear();
            Assert.Empty(c);
            Assert.Equal(0, map.LongCount);
        }

        [Fact]
        public void PairCollectionCopyToThroughTheInterfaceCopiesEveryEntry()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            ICollection<KeyValuePair<TKey, TValue>> c = map;
            var array = new KeyValuePair<TKey, TValue>[N];
            c.CopyTo(array, 0);
            AssertSameEntries(Model(N), array);
        }

        [Fact]
        public void ReadOnlyDictionaryMembersAgreeWithTheMap()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            IReadOnlyDictionary<TKey, TValue> r = map;
            Assert.Equal(N, r.Count);
            Assert.True(ValueEquality.Equals(Value(9), r[Key(9)]));
            Assert.True(r.TryGetValue(Key(9), out TValue v) && ValueEquality.Equals(Value(9), v));
            Assert.True(r.ContainsKey(Key(9)));
            Assert.False(r.ContainsKey(Key(N)));
            AssertSameEntries(Model(N), r);
        }

        [Fact]
        public void LinqToListAndToDictionaryCopyEveryEntry()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            AssertSameEntries(Model(N), map.ToList());
            AssertSameEntries(Model(N), map.ToDictionary(p => p.Key, p => p.Value, KeyEquality));
        }

        [Fact]
        public void ADictionaryCanBeBuiltFromTheMap()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            AssertSameEntries(Model(N), new Dictionary<TKey, TValue>(map, KeyEquality));
        }

        [Fact]
        public void CollectionInitializerAddsEveryPair()
        {
            using var map = new GoMap<TKey, TValue>(options: null, MapComparer) { { Key(1), Value(1) }, { Key(2), Value(2) } };
            Assert.Equal(2, map.Count);
            Assert.True(ValueEquality.Equals(Value(2), map[Key(2)]));
        }

        // ---- ContainsValue, Comparer ----

        [Fact]
        public void ContainsValueFindsPresentValuesOnly()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            Assert.True(map.ContainsValue(Value(0)));
            Assert.True(map.ContainsValue(Value(N - 1)));
            Assert.False(map.ContainsValue(Value(N)));
            map.Remove(Key(0));
            Assert.False(map.ContainsValue(Value(0)));
        }

        [Fact]
        public void ContainsValueOfAnEmptyMapIsFalse()
        {
            using GoMap<TKey, TValue> map = NewMap(0);
            Assert.False(map.ContainsValue(default));
        }

        [Fact]
        public void ContainsValueLeavesNoEnumeratorRegistered()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            Assert.True(map.ContainsValue(Value(1)));
            Assert.False(map.ContainsValue(Value(N)));
            Assert.Equal(0, map.GetStats().LiveEnumerators);
        }

        [Fact]
        public void ComparerAgreesWithTheMapsKeyEquality()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            IEqualityComparer<TKey> comparer = map.Comparer;
            for (int i = 0; i < 50; i++)
            {
                TKey a = Key(i);
                TKey b = Key(i);
                Assert.True(comparer.Equals(a, b));
                Assert.Equal(comparer.GetHashCode(a), comparer.GetHashCode(b));
                Assert.False(comparer.Equals(a, Key(i + 1)));
            }
        }

        [Fact]
        public void ComparerBuildsAHashSetOfTheKeysThatTheMapFinds()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            var set = new HashSet<TKey>(map.Keys, map.Comparer);
            Assert.Equal(N, set.Count);
            Assert.All(Enumerable.Range(0, N), i => Assert.Contains(Key(i), set));
        }

        // ---- pair constructor ----

        [Fact]
        public void PairConstructorHoldsEveryPair()
        {
            Dictionary<TKey, TValue> model = Model(N);
            using var map = new GoMap<TKey, TValue>(model, comparer: MapComparer);
            AssertSameEntries(model, map);
        }

        [Fact]
        public void PairConstructorTakesALazySequence()
        {
            Dictionary<TKey, TValue> model = Model(N);
            using var map = new GoMap<TKey, TValue>(Enumerable.Range(0, N).Select(i => KeyValuePair.Create(Key(i), Value(i))), comparer: MapComparer);
            AssertSameEntries(model, map);
        }

        [Fact]
        public void PairConstructorCopiesAnotherMap()
        {
            using GoMap<TKey, TValue> source = NewMap(N);
            using var map = new GoMap<TKey, TValue>(source, comparer: MapComparer);
            AssertSameEntries(Model(N), map);
            Assert.Equal(source.GetStats().B, map.GetStats().B);
        }

        [Fact]
        public void PairConstructorSizesTheMapForACountKnownInAdvance()
        {
            // Sized up front, the build starts no growth (a lazy sequence's does: the control).
            Dictionary<TKey, TValue> model = Model(N);
            using var sized = new GoMap<TKey, TValue>(new GoMapOptions { CapacityHint = N }, MapComparer);
            using var map = new GoMap<TKey, TValue>(model, comparer: MapComparer);
            using var lazy = new GoMap<TKey, TValue>(model.Select(p => p), comparer: MapComparer);
            Assert.Equal(sized.GetStats().B, map.GetStats().B);
            Assert.Equal(0, map.Work.GrowthStarts);
            Assert.NotEqual(0, lazy.Work.GrowthStarts);
        }

        [Fact]
        public void PairConstructorSizesTheMapForAReadOnlyCollectionsCount()
        {
            Dictionary<TKey, TValue> model = Model(N);
            using var sized = new GoMap<TKey, TValue>(new GoMapOptions { CapacityHint = N }, MapComparer);
            using var map = new GoMap<TKey, TValue>(new ReadOnlyPairs(model), comparer: MapComparer);
            AssertSameEntries(model, map);
            Assert.Equal(sized.GetStats().B, map.GetStats().B);
            Assert.Equal(0, map.Work.GrowthStarts);
        }

        /// <summary>A source that is an <see cref="IReadOnlyCollection{T}"/> and not an <see cref="ICollection{T}"/>.</summary>
        private sealed class ReadOnlyPairs(Dictionary<TKey, TValue> pairs) : IReadOnlyCollection<KeyValuePair<TKey, TValue>>
        {
            public int Count => pairs.Count;

            public IEnumerator<KeyValuePair<TKey, TValue>> GetEnumerator() => pairs.GetEnumerator();

            System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
        }

        [Fact]
        public void PairConstructorKeepsALargerCapacityHintAndLeavesTheOptionsUnchanged()
        {
            var options = new GoMapOptions { CapacityHint = 10 * N, Seed = 5 };
            using var sized = new GoMap<TKey, TValue>(new GoMapOptions { CapacityHint = 10 * N }, MapComparer);
            using var map = new GoMap<TKey, TValue>(Model(N), options, MapComparer);
            Assert.Equal(sized.GetStats().B, map.GetStats().B);
            Assert.Equal(10 * N, options.CapacityHint);

            var small = new GoMapOptions { CapacityHint = 1 };
            using var grown = new GoMap<TKey, TValue>(Model(N), small, MapComparer);
            Assert.Equal(1, small.CapacityHint);
        }

        [Fact]
        public void PairConstructorWithTheSameSeedGivesTheSameOrder()
        {
            using var a = new GoMap<TKey, TValue>(Model(N), new GoMapOptions { Seed = 77 }, MapComparer);
            using var b = new GoMap<TKey, TValue>(Model(N), new GoMapOptions { Seed = 77 }, MapComparer);
            Assert.Equal(a.Keys.ToList(), b.Keys.ToList(), KeyEquality);
        }

        [Fact]
        public void PairConstructorOfNullThrowsArgumentNullNamedCollection()
        {
            ArgumentNullException e = Assert.Throws<ArgumentNullException>(() => new GoMap<TKey, TValue>((IEnumerable<KeyValuePair<TKey, TValue>>)null!, comparer: MapComparer));
            Assert.Equal("collection", e.ParamName);
        }

        [Fact]
        public void PairConstructorOfDuplicateKeysThrowsArgumentException()
        {
            var pairs = new[] { KeyValuePair.Create(Key(1), Value(1)), KeyValuePair.Create(Key(2), Value(2)), KeyValuePair.Create(Key(1), Value(3)) };
            Assert.Throws<ArgumentException>(() => new GoMap<TKey, TValue>(pairs, comparer: MapComparer));
        }

        // ---- 5. enumerator copies ----

        [Fact]
        public void ACopyWalksOnByItselfWhileTheRegistrationLives()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            GoMap<TKey, TValue>.Enumerator a = map.GetEnumerator();
            var first = new List<KeyValuePair<TKey, TValue>>();
            for (int i = 0; i < N / 2; i++)
            {
                Assert.True(a.MoveNext());
                first.Add(a.Current);
            }

            GoMap<TKey, TValue>.Enumerator b = a;
            var restOfB = new List<KeyValuePair<TKey, TValue>>();
            for (int i = 0; i < 10; i++)
            {
                Assert.True(b.MoveNext());
                restOfB.Add(b.Current);
            }

            List<KeyValuePair<TKey, TValue>> restOfA = DrainPairs(ref a);
            Assert.Equal(restOfB.Select(p => p.Key), restOfA.Take(10).Select(p => p.Key), KeyEquality);
            AssertSameEntries(Model(N), first.Concat(restOfA));
        }

        [Fact]
        public void ACopyThrowsOnceTheOriginalIsReset()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            GoMap<TKey, TValue>.Enumerator a = map.GetEnumerator();
            Assert.True(a.MoveNext());
            GoMap<TKey, TValue>.Enumerator b = a;
            ResetIt(ref a);
            InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => b.MoveNext());
            Assert.Contains("copy", e.Message, StringComparison.Ordinal);
            AssertSameEntries(Model(N), DrainPairs(ref a));
        }

        [Fact]
        public void ACopyOfAKeyEnumeratorThrowsOnceTheOriginalIsDisposed()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            GoMap<TKey, TValue>.KeyEnumerator a = map.Keys.GetEnumerator();
            Assert.True(a.MoveNext());
            GoMap<TKey, TValue>.KeyEnumerator b = a;
            a.Dispose();
            Assert.Throws<InvalidOperationException>(() => b.MoveNext());
            Assert.True(KeyEquality.Equals(a.Current, b.Current));
        }

        [Fact]
        public void ACopyThatThrewCanBeResetAndWalkAgain()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            GoMap<TKey, TValue>.Enumerator a = map.GetEnumerator();
            Assert.True(a.MoveNext());
            GoMap<TKey, TValue>.Enumerator b = a;
            a.Dispose();
            Assert.Throws<InvalidOperationException>(() => b.MoveNext());
            ResetIt(ref b);
            AssertSameEntries(Model(N), DrainPairs(ref b));
        }

        // ---- Current, MoveNext after Dispose (as Dictionary's enumerator) ----

        [Fact]
        public void CurrentIsDefaultAfterTheEnd()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            GoMap<TKey, TValue>.Enumerator e = map.GetEnumerator();
            DrainPairs(ref e);
            Assert.True(KeyEquality.Equals(default, e.Current.Key));
            Assert.True(ValueEquality.Equals(default, e.Current.Value));
        }

        [Fact]
        public void UntypedCurrentThrowsBeforeTheFirstAndAfterTheLastEntry()
        {
            using GoMap<TKey, TValue> map = NewMap(3);
            IEnumerator pairs = ((IEnumerable)map).GetEnumerator();
            IEnumerator keys = ((IEnumerable)map.Keys).GetEnumerator();
            IEnumerator values = ((IEnumerable)map.Values).GetEnumerator();
            foreach (IEnumerator e in new[] { pairs, keys, values })
            {
                Assert.Throws<InvalidOperationException>(() => e.Current);
                Assert.True(e.MoveNext());
                Assert.NotNull(e.Current);
                while (e.MoveNext())
                {
                }

                Assert.Throws<InvalidOperationException>(() => e.Current);
            }
        }

        [Fact]
        public void MoveNextAfterDisposeReturnsFalseAndCurrentKeepsItsEntry()
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            GoMap<TKey, TValue>.Enumerator e = map.GetEnumerator();
            Assert.True(e.MoveNext());
            KeyValuePair<TKey, TValue> current = e.Current;
            e.Dispose();
            Assert.True(KeyEquality.Equals(current.Key, e.Current.Key));
            Assert.NotNull(((IEnumerator)e).Current);
            Assert.False(e.MoveNext());
        }

        // ---- helpers ----

        protected GoMap<TKey, TValue> NewMap(int n)
        {
            var map = new GoMap<TKey, TValue>(options: null, MapComparer);
            Fill(map, n);
            return map;
        }

        protected void Fill(GoMap<TKey, TValue> map, int n)
        {
            for (int i = 0; i < n; i++)
            {
                map.Add(Key(i), Value(i));
            }
        }

        protected void Fill(Dictionary<TKey, TValue> model, int n)
        {
            for (int i = 0; i < n; i++)
            {
                model.Add(Key(i), Value(i));
            }
        }

        protected Dictionary<TKey, TValue> Model(int n)
        {
            var model = new Dictionary<TKey, TValue>(KeyEquality);
            Fill(model, n);
            return model;
        }

        /// <summary>Removes a third of the keys, updates some, adds new ones (enough to grow): on the map and the model alike.</summary>
        protected void WriteSome(GoMap<TKey, TValue> map, Dictionary<TKey, TValue> model)
        {
            for (int i = 0; i < N; i += 3)
            {
                Assert.True(map.Remove(Key(i)));
                model.Remove(Key(i));
            }

            for (int i = 1; i < N; i += 3)
            {
                map[Key(i)] = Value(i + (10 * N));
                model[Key(i)] = Value(i + (10 * N));
            }

            for (int i = N; i < 3 * N; i++)
            {
                map.Add(Key(i), Value(i));
                model.Add(Key(i), Value(i));
            }
        }

        /// <summary>IEnumerator.Reset on a struct enumerator in place (a constrained call: no box, no copy).</summary>
        protected static void ResetIt<TEnumerator>(ref TEnumerator e)
            where TEnumerator : struct, IEnumerator => e.Reset();

        /// <summary>Runs an enumerator to its end (in place: a struct enumerator is not copied) and returns what it yielded.</summary>
        protected static List<T> Drain<TEnumerator, T>(ref TEnumerator e)
            where TEnumerator : IEnumerator<T>
        {
            var list = new List<T>();
            while (e.MoveNext())
            {
                list.Add(e.Current);
            }

            return list;
        }

        protected static List<KeyValuePair<TKey, TValue>> DrainPairs(ref GoMap<TKey, TValue>.Enumerator e) =>
            Drain<GoMap<TKey, TValue>.Enumerator, KeyValuePair<TKey, TValue>>(ref e);

        protected static List<TKey> DrainKeys(ref GoMap<TKey, TValue>.KeyEnumerator e) => Drain<GoMap<TKey, TValue>.KeyEnumerator, TKey>(ref e);

        protected static List<TValue> DrainValues(ref GoMap<TKey, TValue>.ValueEnumerator e) => Drain<GoMap<TKey, TValue>.ValueEnumerator, TValue>(ref e);

        protected static List<T> Rest<T>(IEnumerator<T> e) => Drain<IEnumerator<T>, T>(ref e);

        /// <summary>The pairs are exactly the model's entries, each once.</summary>
        protected void AssertSameEntries(IEnumerable<KeyValuePair<TKey, TValue>> model, IEnumerable<KeyValuePair<TKey, TValue>> actual)
        {
            var seen = new Dictionary<TKey, TValue>(KeyEquality);
            foreach (KeyValuePair<TKey, TValue> p in actual)
            {
                Assert.True(seen.TryAdd(p.Key, p.Value), $"key {p.Key} yielded twice");
            }

            Assert.Equal(model.Count(), seen.Count);
            foreach (KeyValuePair<TKey, TValue> p in model)
            {
                Assert.True(seen.TryGetValue(p.Key, out TValue v), $"key {p.Key} missing");
                Assert.True(ValueEquality.Equals(p.Value, v), $"key {p.Key} has the wrong value");
            }
        }

        /// <summary>The keys are exactly the model's keys, each once.</summary>
        protected void AssertSameKeys(Dictionary<TKey, TValue> model, IEnumerable<TKey> actual)
        {
            var seen = new HashSet<TKey>(KeyEquality);
            foreach (TKey k in actual)
            {
                Assert.True(seen.Add(k), $"key {k} yielded twice");
                Assert.True(model.ContainsKey(k), $"key {k} is not in the map");
            }

            Assert.Equal(model.Count, seen.Count);
        }

        /// <summary>The values are exactly the model's values, each once (the tests' values are distinct).</summary>
        protected void AssertSameValues(Dictionary<TKey, TValue> model, IEnumerable<TValue> actual)
        {
            var expected = new HashSet<TValue>(model.Values, ValueEquality);
            var seen = new HashSet<TValue>(ValueEquality);
            foreach (TValue v in actual)
            {
                Assert.True(seen.Add(v), "a value yielded twice");
                Assert.Contains(v, expected);
            }

            Assert.Equal(model.Count, seen.Count);
        }

        /// <summary>keys[i] and values[i] are an entry of the model, for every i, and the keys are all of its keys.</summary>
        protected void AssertPairsMatchModel(Dictionary<TKey, TValue> model, IReadOnlyList<TKey> keys, IReadOnlyList<TValue> values)
        {
            Assert.Equal(model.Count, keys.Count);
            Assert.Equal(model.Count, values.Count);
            for (int i = 0; i < keys.Count; i++)
            {
                Assert.True(model.TryGetValue(keys[i], out TValue expected), $"key {keys[i]} is not in the map");
                Assert.True(ValueEquality.Equals(expected, values[i]), $"position {i}: the value is not the value of key {keys[i]}");
            }

            AssertSameKeys(model, keys);
        }

        /// <summary>
        /// What CopyTo of one view of <paramref name="d"/> throws (null: nothing); a null
        /// <paramref name="length"/> passes a null array. Through the interfaces, which reach the
        /// map's public CopyTo methods, so that one helper serves the map and Dictionary alike.
        /// </summary>
        protected static Exception? CopyError(IDictionary<TKey, TValue> d, MapView view, int? length, int index) => view switch
        {
            MapView.Pairs => CopyError<KeyValuePair<TKey, TValue>>(d, length, index),
            MapView.Keys => CopyError(d.Keys, length, index),
            _ => CopyError(d.Values, length, index),
        };

        private static Exception? CopyError<T>(ICollection<T> c, int? length, int index) =>
            Record.Exception(() => c.CopyTo(length is int n ? new T[n] : null!, index));

        /// <summary>CopyTo into a sentinel-filled array from index 2 writes the collection there and nothing before or after.</summary>
        private static void AssertCopyWritesFromTheIndexOnly<T>(ICollection<T> collection, T sentinel, Func<T, T, bool> equal, Action<IEnumerable<T>> assertCopied)
        {
            var array = new T[N + 5];
            array.AsSpan().Fill(sentinel);
            collection.CopyTo(array, 2);
            assertCopied(array.Skip(2).Take(N));
            Assert.All(array.Take(2).Concat(array.Skip(N + 2)), x => Assert.True(equal(x, sentinel)));
        }

        /// <summary>
        /// Steps an enumeration of <paramref name="view"/> (<paramref name="stepsBefore"/> entries, or
        /// <see cref="ToTheEnd"/>), runs <paramref name="between"/> on the map and its model, resets
        /// the struct enumerator in place and checks that what it yields then is exactly the model.
        /// </summary>
        private void AssertResetStartsOver(MapView view, int initial, int stepsBefore, Action<GoMap<TKey, TValue>, Dictionary<TKey, TValue>>? between)
        {
            using GoMap<TKey, TValue> map = NewMap(initial);
            Dictionary<TKey, TValue> model = Model(initial);
            switch (view)
            {
                case MapView.Pairs:
                    GoMap<TKey, TValue>.Enumerator pairs = map.GetEnumerator();
                    Step(ref pairs, stepsBefore);
                    between?.Invoke(map, model);
                    ResetIt(ref pairs);
                    AssertSameEntries(model, DrainPairs(ref pairs));
                    break;
                case MapView.Keys:
                    GoMap<TKey, TValue>.KeyEnumerator keys = map.Keys.GetEnumerator();
                    Step(ref keys, stepsBefore);
                    between?.Invoke(map, model);
                    ResetIt(ref keys);
                    AssertSameKeys(model, DrainKeys(ref keys));
                    break;
                case MapView.Values:
                    GoMap<TKey, TValue>.ValueEnumerator values = map.Values.GetEnumerator();
                    Step(ref values, stepsBefore);
                    between?.Invoke(map, model);
                    ResetIt(ref values);
                    AssertSameValues(model, DrainValues(ref values));
                    break;
            }
        }

        /// <summary>MoveNext <paramref name="steps"/> times, each finding an entry, or until the end for <see cref="ToTheEnd"/>.</summary>
        private static void Step<TEnumerator>(ref TEnumerator e, int steps)
            where TEnumerator : struct, IEnumerator
        {
            if (steps == ToTheEnd)
            {
                while (e.MoveNext())
                {
                }

                return;
            }

            for (int i = 0; i < steps; i++)
            {
                Assert.True(e.MoveNext());
            }
        }

        /// <summary>The map's CopyTo fails with <typeparamref name="TException"/>, exactly Dictionary's exception type and parameter name.</summary>
        protected void AssertCopyFailsAsDictionary<TException>(MapView view, int? length, int index)
            where TException : Exception
        {
            using GoMap<TKey, TValue> map = NewMap(N);
            Exception? expected = CopyError(Model(N), view, length, index);
            Exception? actual = CopyError(map, view, length, index);
            Assert.IsType<TException>(expected);
            Assert.IsType<TException>(actual);
            Assert.Equal((expected as ArgumentException)?.ParamName, (actual as ArgumentException)?.ParamName);
        }
    }

    public sealed class IntIntCollectionContractTests : CollectionContracts<int, int>
    {
        protected override int Key(int i) => i;

        protected override int Value(int i) => (i * 10) + 1;
    }

    public sealed class LongLongCollectionContractTests : CollectionContracts<long, long>
    {
        protected override long Key(int i) => (long)i << 33 | (uint)i;

        protected override long Value(int i) => -(long)i * 1_000_003;
    }

    public sealed class GuidIntCollectionContractTests : CollectionContracts<Guid, int>
    {
        protected override Guid Key(int i) => new Guid(i, (short)(i >> 16), 7, 1, 2, 3, 4, 5, 6, (byte)i, (byte)(i >> 8));

        protected override int Value(int i) => i ^ 0x5A5A;
    }

    public sealed class ComparerKeyCollectionContractTests : CollectionContracts<PaddedId, long>
    {
        protected override PaddedId Key(int i) => PaddedId.Of(i);

        protected override long Value(int i) => i * 3L;

        protected override IEqualityComparer<PaddedId>? MapComparer => PaddedIdComparer.Instance;

        protected override IEqualityComparer<PaddedId> KeyEquality => PaddedIdComparer.Instance;

        [Fact]
        public void ComparerIsTheOneGivenAtConstruction()
        {
            using GoMap<PaddedId, long> map = NewMap(1);
            Assert.Same(PaddedIdComparer.Instance, map.Comparer);
        }
    }

    public sealed class IndirectKeyValueCollectionContractTests : CollectionContracts<Key136, Value200>
    {
        protected override Key136 Key(int i) => Key136.Of(i);

        protected override Value200 Value(int i) => Value200.Of(i);

        protected override IEqualityComparer<Key136> KeyEquality => BytesComparer<Key136>.Instance;

        protected override IEqualityComparer<Value200> ValueEquality => BytesComparer<Value200>.Instance;

        [Fact]
        public void KeysAndValuesAreStoredIndirectly()
        {
            Assert.True(GoMap<Key136, Value200>.Layout.IndirectKey);
            Assert.True(GoMap<Key136, Value200>.Layout.IndirectValue);
        }
    }
}
