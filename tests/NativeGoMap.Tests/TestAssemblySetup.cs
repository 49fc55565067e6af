using System.Runtime.CompilerServices;

namespace NativeGoMap.Tests
{
    /// <summary>Process-wide settings of the test assemblies, made once when they load.</summary>
    internal static class TestAssemblySetup
    {
        /// <summary>
        /// The maps the tests create grow at Go's pace, a few evacuation units per write, small
        /// tables too: most growth tests fill a small map until it is growing and then look at
        /// that state (lookups, deletes, enumeration, faults and releases while it grows), which
        /// the library's default skips for old arrays of up to 64 KiB by evacuating them whole
        /// in one write (<see cref="GoMap{TKey, TValue}.BulkEvacuationMaxBytes"/>). The tests of
        /// that (BulkEvacuationTests) turn it on per map; the stress program runs the default.
        /// </summary>
#pragma warning disable CA2255 // a module initializer in a test assembly, on purpose
        [ModuleInitializer]
#pragma warning restore CA2255
        internal static void GrowAtGoPace() => BulkEvacuation.DefaultMaxBytes = 0;

        /// <summary>
        /// The release thread started as the process's first map would start it, so that a test
        /// that checks a background effect and returns early without the thread
        /// (<c>!ReleaseThread.Running</c>) also runs when it is run alone, before any map exists
        /// (found 2026-12-05: run alone, such a fault test passed without testing anything). With
        /// NATIVEGOMAP_RELEASE_THREAD=0 this starts nothing.
        /// </summary>
#pragma warning disable CA2255 // a module initializer in a test assembly, on purpose
        [ModuleInitializer]
#pragma warning restore CA2255
        internal static void StartTheReleaseThread() => ReleaseThread.EnsureStarted();
    }
}
