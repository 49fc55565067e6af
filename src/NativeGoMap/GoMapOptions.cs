namespace NativeGoMap
{
    /// <summary>Construction options of a <see cref="GoMap{TKey, TValue}"/>.</summary>
    public sealed class GoMapOptions
    {
        /// <summary>
        /// Expected number of entries. The map starts with the smallest 2^B buckets that hold this
        /// many under the load factor 6.5, so that filling it to the hint never grows. Negative
        /// hints, and hints whose bucket memory could not be addressed, are treated as 0 (Go's
        /// behaviour). A hint of 8 or less allocates nothing until the first insert. The memory for
        /// the hint is committed when the map is created (see <see cref="GoMap{TKey, TValue}.GoMap(long)"/>).
        /// </summary>
        public long CapacityHint { get; set; }

        /// <summary>
        /// A fixed hash seed. Null (the default) draws a random seed per map, and a new one each
        /// time the map becomes empty, which makes hash flooding hard. A fixed seed makes hashing,
        /// bucket placement, reseeding and iteration order reproducible from run to run with one
        /// version of the library (a change of the hash or of the random draws changes them:
        /// the hash's last step of 2026-12-05 did, and so did the enumerations' seed the same
        /// day, when snapshots stopped drawing from the map's random state):
        /// use it for tests and replays, never for keys chosen by an adversary.
        /// </summary>
        public ulong? Seed { get; set; }

        /// <summary>
        /// When true, a detected concurrent write ends the process through
        /// <see cref="System.Environment.FailFast(string)"/> with Go's message, as Go's fatal error
        /// does. When false (the default) it throws <see cref="ConcurrentMapAccessException"/> and
        /// poisons the map.
        /// </summary>
        public bool FailFast { get; set; }

        /// <summary>
        /// How concurrent misuse is detected: <see cref="NativeGoMap.ConcurrencyChecks.Go"/> (the
        /// default: Go's best-effort flag, nearly free) or <see cref="NativeGoMap.ConcurrencyChecks.Strict"/>
        /// (every overlapping write caught, reads never touch freed memory; a compare-and-swap per
        /// write and a per-thread announcement per read). See the README's concurrency section.
        /// </summary>
        public ConcurrencyChecks ConcurrencyChecks { get; set; }

        /// <summary>
        /// Where the slowest single insert matters more than throughput. When false (the default)
        /// a bucket array that a growth allocates under the writes is, from 2 MiB up on Linux, in
        /// 2 MiB huge pages, touched by the writes as entries arrive: the fastest builds and
        /// lookups, but the write that first touches a fresh huge page waits for the kernel to
        /// provide it (on the README's VM 3 to 5 ms, as its kernel hands free 2 MiB blocks back
        /// to the host, which backs each again on its first touch; on
        /// bare metal the zeroing of 2 MiB, or longer when memory must be compacted). When true
        /// such arrays use 4 KiB pages that a background thread populates ahead of the writes,
        /// and that a growth's evacuations, which reach the new array at random long before that
        /// thread does, fault in before they write there: 128 KiB (32 pages) at once for one such
        /// chunk a write, page by page past it, so that a few thousand inserts of a big build
        /// take a chunk's faults and a few more each (two chunks' when the insert also takes an
        /// overflow bucket from the array's tail), and the others none. Measured on an AMD EPYC
        /// Zen 4 VM (2026-12-07, 10M &lt;long,long&gt; without a hint, the README's stall rows):
        /// slowest insert 0.36-0.39 ms in five runs of six (17.5-25.5 ms by default), 99.9th
        /// percentile insert 1.42-1.76 µs (Dictionary's 2.4-2.9; 4.1-5.6 µs while the writes
        /// faulted in a page at a time); at 50M, 0 and 2 inserts over 1 ms in two runs (7 and
        /// 15 while a write could fault in four whole chunks). Lookups in such a table pay a
        /// page-table walk on a miss of the TLB (10-25 % longer at 1M-10M entries on the
        /// README's VM), and builds
        /// took up to 3 times as long there (on the Zen 4 they were faster than in huge pages,
        /// whose fresh 2 MiB pages its host backs slowly). Arrays sized by a
        /// capacity hint, <c>EnsureCapacity</c> or <c>ReadFrom</c> are populated in huge pages up
        /// front either way. No effect where the map does not map its own memory.
        /// </summary>
        public bool SmallPagesForGrowth { get; set; }

        /// <summary>
        /// Where no write may wait for fresh memory, and memory may be held early for that. When
        /// true, once a map's count reaches three quarters of the count that starts its next
        /// growth (Go's load factor 6.5), and that growth's array is 2 MiB or more (on Linux,
        /// where the map maps its own memory, with the release thread running), the insert that
        /// gets there allocates the array (a new mapping, not touched) and the release thread
        /// faults its pages in (one atomic add of zero per page: the contents stay zero); the
        /// growth takes it when it starts, so its writes fault nothing in. The cost is memory: from
        /// that insert the map holds the next array beside its own, as much as a growth holds at
        /// its start, only earlier (a 10,000,000-entry <c>&lt;long,long&gt;</c> map holds its
        /// 302 MB (288 MiB) array from 5.1M entries, and a map that stops between three quarters
        /// and all of its threshold keeps it, about three times the memory otherwise), and builds
        /// in a tight loop may be slower, since the arrays skip the reuse cache and the thread
        /// competes with the writer. The thread keeps ahead of inserts that take about 0.35 µs or
        /// more where a fresh 2 MiB page costs 3.5 ms (the README's VM); faster ones overtake it
        /// and fault in the rest themselves (the README's Reliability section, Scale, has the
        /// figures). A new array of another size (<c>EnsureCapacity</c>, a <c>TrimExcess</c>
        /// shrink, emptying to no array), a <c>TrimExcess</c> once deletes took the count below
        /// the three quarters, and <c>Dispose</c> free it; a same-size growth keeps it
        /// for the growth after. Combines
        /// with <see cref="SmallPagesForGrowth"/> (the array in base pages, populated as such
        /// arrays are). When that allocation runs out of memory, nothing is prepared and the
        /// insert goes on (no insert tries again before the map's size changes; the growth then
        /// allocates its array as without the option). No effect where the map does not map its
        /// own memory or the release thread is off.
        /// </summary>
        public bool PrepareGrowthAhead { get; set; }

        /// <summary>
        /// <paramref name="options"/> with a capacity hint of at least <paramref name="count"/>: the
        /// same object when its hint is already that large, else a copy (every option kept), so the
        /// caller's object never changes. Null options and a count of 0 give null.
        /// </summary>
        internal static GoMapOptions? WithCapacityHintAtLeast(GoMapOptions? options, long count)
        {
            if (count <= (options?.CapacityHint ?? 0))
            {
                return options;
            }

            GoMapOptions copy = options is null ? new GoMapOptions() : (GoMapOptions)options.MemberwiseClone();
            copy.CapacityHint = count;
            return copy;
        }
    }
}
