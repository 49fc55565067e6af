namespace NativeGoMap
{
    /// <summary>
    /// How much a <see cref="GoMap{TKey, TValue}"/> pays to detect concurrent misuse (two
    /// writers, or a reader and a writer, on one map at once). Chosen once, through
    /// <see cref="GoMapOptions.ConcurrencyChecks"/>.
    /// </summary>
    public enum ConcurrencyChecks
    {
        /// <summary>
        /// Go's own check at Go's cost (the default): a write tests the hashWriting flag and sets
        /// it with plain loads and stores, and tests it again at its end; a read tests the state
        /// word before and after. Catches most races, not all (as in Go). A write that grows the
        /// table, moves entries or allocates or frees memory also takes a second word, the right
        /// to restructure, with one compare-and-swap, so two racing writers never both
        /// restructure native memory; memory
        /// a write retires is never released by that same write, so an operation racing it
        /// still points at mapped memory. On CPUs that reorder more than x64 (Arm64) fewer races
        /// are caught, with no fence paid for them: a lookup's check after its loads is not
        /// fenced (Go's own map checks only before), and a write's stores of keys, values and
        /// tophash bytes may become visible to another core before its hashWriting store, so a
        /// racing read or enumeration step can return them and pass both checks.
        /// </summary>
        Go = 0,

        /// <summary>
        /// Every overlapping write is caught before it touches memory (every write takes the flag
        /// with a compare-and-swap), and a read racing a write never dereferences freed memory
        /// (each read announces itself in a per-thread slot that releases of bucket memory
        /// consult). For tests, debugging and services that prefer certainty to nanoseconds.
        /// </summary>
        Strict = 1,
    }
}
