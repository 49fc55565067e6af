using System;
using System.Runtime.InteropServices;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>What a test needs of the process it runs in (<see cref="FactNeedingAttribute"/>, <see cref="TheoryNeedingAttribute"/>).</summary>
    [Flags]
    public enum Needs
    {
        /// <summary>Linux (its /proc files, its page residency).</summary>
        Linux = 1,

        /// <summary>The library's own anonymous mappings for big blocks (<see cref="OsMemory.Supported"/>: 64-bit Linux, unless NATIVEGOMAP_MMAP=0). Implies Linux.</summary>
        Mappings = 2,

        /// <summary>The release thread (<see cref="ReleaseThread.Enabled"/>: unless NATIVEGOMAP_RELEASE_THREAD=0; TestAssemblySetup starts it when the assembly loads).</summary>
        ReleaseThread = 4,

        /// <summary>Prefetch instructions that ask the CPU for something (<see cref="Prefetch.IsSupported"/>: not in the netstandard2.1 build).</summary>
        Prefetch = 8,

        /// <summary>A runtime that loads a struct with a <c>delegate*</c> field (not Mono 6.8: its type loader overflows the stack on one, and the process dies).</summary>
        FunctionPointerFields = 16,

        /// <summary>A GC that scans stacks precisely, so that a map a test dropped is collected while the test runs (not Mono's: SGen scans stacks conservatively, and a dead reference left in a frame keeps the map alive).</summary>
        PreciseStackScanning = 32,
    }

    /// <summary>
    /// The one place that decides whether a test's needs are met, so that a test whose subject
    /// the process lacks (CI's second run of the suite with NATIVEGOMAP_RELEASE_THREAD=0, the
    /// netstandard2.1 build, another OS) is reported as skipped, with the reason, rather than
    /// passed having checked nothing (until 2026-12-06 about forty tests returned early so, a
    /// review found: nineteen of them "passed" in CI's run without the release thread).
    /// </summary>
    public static class TestNeeds
    {
        /// <summary>The reason a test with <paramref name="needs"/> cannot run here, or null when it can.</summary>
        public static string? Unmet(Needs needs)
        {
            if ((needs & (Needs.Linux | Needs.Mappings)) != 0 && !RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
            {
                return "needs Linux";
            }

            if ((needs & Needs.Mappings) != 0 && !OsMemory.Supported)
            {
                return "needs the library's own mappings (64-bit Linux, NATIVEGOMAP_MMAP not 0)";
            }

            if ((needs & Needs.ReleaseThread) != 0 && !ReleaseThread.Enabled)
            {
                return "needs the release thread (NATIVEGOMAP_RELEASE_THREAD=0 turns it off)";
            }

            if ((needs & Needs.Prefetch) != 0 && !Prefetch.IsSupported)
            {
                return "needs prefetch instructions (none in the netstandard2.1 build or on this CPU)";
            }

            if ((needs & Needs.FunctionPointerFields) != 0 && IsMono)
            {
                return "needs a runtime that loads a struct with a delegate* field (Mono 6.8 overflows its stack loading one)";
            }

            if ((needs & Needs.PreciseStackScanning) != 0 && IsMono)
            {
                return "needs a GC that scans stacks precisely (Mono's scans them conservatively: a map the test dropped may stay alive; MonoFinalizerTests drop theirs on a thread that has ended)";
            }

            return null;
        }

        /// <summary>Whether the process runs on Mono (whose corlib has the type Mono.Runtime).</summary>
        public static bool IsMono { get; } = Type.GetType("Mono.Runtime") is not null;
    }

    /// <summary>A <see cref="FactAttribute"/> skipped, with the reason, where the process lacks what the test needs.</summary>
    public sealed class FactNeedingAttribute : FactAttribute
    {
        /// <summary>Skips the test unless every one of <paramref name="needs"/> is met (<see cref="TestNeeds.Unmet"/>).</summary>
        public FactNeedingAttribute(Needs needs) => Skip = TestNeeds.Unmet(needs);
    }

    /// <summary>A <see cref="TheoryAttribute"/> skipped, with the reason, where the process lacks what the test needs.</summary>
    public sealed class TheoryNeedingAttribute : TheoryAttribute
    {
        /// <summary>Skips the test unless every one of <paramref name="needs"/> is met (<see cref="TestNeeds.Unmet"/>).</summary>
        public TheoryNeedingAttribute(Needs needs) => Skip = TestNeeds.Unmet(needs);
    }
}
