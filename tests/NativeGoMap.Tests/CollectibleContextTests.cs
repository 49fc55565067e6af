using System;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;
using System.Threading;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// The library loaded as a plugin: a copy of it in a collectible AssemblyLoadContext, which the
    /// host unloads and loads again. Found by review (2026-12-05): the copy's handler on the
    /// process-wide DomainUnload and its release thread kept every such context alive, with the
    /// thread and the reuse cache's mappings of each load. Compiled into both test projects: the
    /// netstandard2.1 build, which has no AssemblyLoadContext to name, finds it by reflection on
    /// .NET (found by review, 2026-12-06: it hooked only the domain's unload, which CoreCLR never
    /// raises, and this test failed in the netstandard2.1 project).
    /// </summary>
    public class CollectibleContextTests
    {
        private sealed class PluginContext : AssemblyLoadContext
        {
            public PluginContext()
                : base("NativeGoMap plugin", isCollectible: true)
            {
            }
        }

        /// <summary>Loads a copy of the library into a new collectible context, builds, fills and disposes a map with it, unloads the context; returns a weak reference to it.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static WeakReference UseAndUnload(int entries)
        {
            var context = new PluginContext();
            Assembly copy = context.LoadFromAssemblyPath(typeof(GoMap<,>).Assembly.Location);
            Assert.NotSame(typeof(GoMap<,>).Assembly, copy);
            Type mapType = copy.GetType("NativeGoMap.GoMap`2", throwOnError: true)!.MakeGenericType(typeof(long), typeof(long));
            object map = Activator.CreateInstance(mapType)!;
            MethodInfo set = mapType.GetMethods().Single(m => m.Name == "set_Item");
            for (long i = 0; i < entries; i++)
            {
                set.Invoke(map, new object[] { i, i });
            }

            Assert.Equal((long)entries, (long)mapType.GetProperty("LongCount")!.GetValue(map)!);
            ((IDisposable)map).Dispose();
            context.Unload();
            return new WeakReference(context);
        }

        [Fact]
        public void ACollectibleContextThatUsedMaps_IsCollectedAfterItsUnload()
        {
            // Two loads, each growing a map past the reuse cache's smallest arrays (a release
            // thread started, arrays cached): each context must go.
            for (int load = 0; load < 2; load++)
            {
                WeakReference context = UseAndUnload(200_000);
                for (int i = 0; i < 50 && context.IsAlive; i++)
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    Thread.Sleep(20);
                }

                Assert.False(context.IsAlive, $"load {load}: the unloaded context is still alive");
            }
        }
    }
}
