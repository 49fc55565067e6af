using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Reflection;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// What a debugger shows: [DebuggerDisplay] with count, B and growth, and the
    /// [DebuggerTypeProxy] view of the entries, driven here through reflection the way a debugger
    /// drives them. Looking must never change the map.
    /// </summary>
    public class DebuggerViewTests
    {
        [Fact]
        public void DebuggerDisplay_ShowsCountAndB()
        {
            using var map = new GoMap<long, long>(new GoMapOptions { Seed = 1 });
            for (long k = 0; k < 20; k++)
            {
                map[k] = k;
            }

            Assert.Equal("{DebuggerDisplay,nq}", typeof(GoMap<long, long>).GetCustomAttribute<DebuggerDisplayAttribute>()!.Value);
            Assert.Equal($"Count = 20, B = {map.GetStats().B}", Display(map));
        }

        [Fact]
        public void DebuggerDisplay_SaysWhenAGrowthRuns()
        {
            using var map = GrowingMap(out _);
            Assert.Equal($"Count = {map.LongCount}, B = {map.GetStats().B}, growing", Display(map));
        }

        [Fact]
        public void DebuggerDisplay_OfADisposedMap_SaysSoWithoutThrowing()
        {
            var map = new GoMap<int, int>();
            map.Dispose();
            Assert.Equal("Disposed", Display(map));
        }

        [Fact]
        public void DebuggerTypeProxy_ShowsEveryEntry()
        {
            using var map = new GoMap<int, long>();
            var model = new Dictionary<int, long>();
            for (int k = 0; k < 1000; k++)
            {
                map[k] = k * 3L;
                model[k] = k * 3L;
            }

            for (int k = 0; k < 1000; k += 7)
            {
                map.Remove(k);
                model.Remove(k);
            }

            (string status, KeyValuePair<int, long>[] items) = View(map);
            Assert.Equal($"{model.Count} entries", status);
            Assert.Equal(model.OrderBy(e => e.Key), items.OrderBy(e => e.Key));
        }

        [Fact]
        public void DebuggerTypeProxy_DuringAGrowth_ShowsOldAndNewArraysOnce()
        {
            using var map = GrowingMap(out Dictionary<long, long> model);
            Assert.True(map.GetStats().EvacuatedBuckets > 0 && map.GetStats().IsGrowing);
            (_, KeyValuePair<long, long>[] items) = View(map);
            Assert.Equal(model.OrderBy(e => e.Key), items.OrderBy(e => e.Key));
        }

        [Fact]
        public void DebuggerTypeProxy_ReadsIndirectKeysAndValues()
        {
            using var map = new GoMap<Blob200, Blob200>();
            for (long id = 0; id < 50; id++)
            {
                map[Blob200.Of(id)] = Blob200.Of(id + 1000);
            }

            (_, KeyValuePair<Blob200, Blob200>[] items) = View(map);
            Assert.Equal(50, items.Length);
            Assert.All(items, e => Assert.True(map.TryGetValue(e.Key, out Blob200 v) && Blob200Comparer.Instance.Equals(v, e.Value)));
        }

        [Fact]
        public void DebuggerTypeProxy_ChangesNothing_NoEnumeratorNoNativeMemory()
        {
            using var map = GrowingMap(out _);
            GoMapStats before = map.GetStats();
            View(map);
            GoMapStats after = map.GetStats();
            Assert.Equal(before.ToString(), after.ToString());
        }

        [Fact]
        public void DebuggerTypeProxy_StoppedInsideAWrite_DeclinesAndDoesNotPoison()
        {
            using var map = new GoMap<int, int> { [1] = 1 };
            map.SimulateWriteBegin();
            (string status, KeyValuePair<int, int>[] items) = View(map);
            map.SimulateWriteEnd();
            Assert.Equal("entries not shown: a write is in progress", status);
            Assert.Empty(items);
            Assert.False(map.IsPoisoned);
            Assert.Equal(1, map[1]);
        }

        [Fact]
        public void DebuggerTypeProxy_OfADisposedMap_DeclinesWithoutThrowing()
        {
            var map = new GoMap<int, int> { [1] = 1 };
            map.Dispose();
            (string status, KeyValuePair<int, int>[] items) = View(map);
            Assert.Equal("entries not shown: the map is disposed", status);
            Assert.Empty(items);
        }

        /// <summary>A map caught in the middle of a doubling, with its model.</summary>
        private static GoMap<long, long> GrowingMap(out Dictionary<long, long> model)
        {
            var map = new GoMap<long, long>(new GoMapOptions { Seed = 7 });
            model = new Dictionary<long, long>();
            long k = 0;
            while (!map.GetStats().IsGrowing || map.GetStats().B < 5)
            {
                map[k] = -k;
                model[k] = -k;
                k++;
            }

            // A few more writes evacuate some old buckets, not all.
            for (int i = 0; i < 3; i++, k++)
            {
                map[k] = -k;
                model[k] = -k;
            }

            return map;
        }

        private static string Display<TKey, TValue>(GoMap<TKey, TValue> map)
            where TKey : unmanaged
            where TValue : unmanaged =>
            (string)typeof(GoMap<TKey, TValue>).GetProperty("DebuggerDisplay", BindingFlags.Instance | BindingFlags.NonPublic)!.GetValue(map)!;

        /// <summary>Builds the proxy named by [DebuggerTypeProxy], as a debugger does, and reads its members.</summary>
        private static (string Status, KeyValuePair<TKey, TValue>[] Items) View<TKey, TValue>(GoMap<TKey, TValue> map)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            DebuggerTypeProxyAttribute proxy = typeof(GoMap<TKey, TValue>).GetCustomAttribute<DebuggerTypeProxyAttribute>()!;
            Type open = typeof(GoMap<TKey, TValue>).Assembly.GetType(proxy.ProxyTypeName.Split(',')[0], throwOnError: true)!;
            object view = Activator.CreateInstance(open.MakeGenericType(typeof(TKey), typeof(TValue)), map)!;
            PropertyInfo items = view.GetType().GetProperty("Items")!;
            Assert.Equal(DebuggerBrowsableState.RootHidden, items.GetCustomAttribute<DebuggerBrowsableAttribute>()!.State);
            return ((string)view.GetType().GetProperty("Status")!.GetValue(view)!, (KeyValuePair<TKey, TValue>[])items.GetValue(view)!);
        }
    }
}
