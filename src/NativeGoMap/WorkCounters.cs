namespace NativeGoMap
{
    /// <summary>
    /// Counts of the out-of-line work a map's writes have done, for the stress program and the
    /// benchmarks to say where a slow write spent its time (read one before and one after the
    /// write, and compare). Incremented only on slow paths; never read by the map itself.
    /// </summary>
    internal struct WorkCounters
    {
        /// <summary>Growths started (Go's hashGrow): doubling, quadrupling (small tables), same-size, or a resize's.</summary>
        internal long GrowthStarts;

        /// <summary>Old buckets evacuated (Go's evacuate on a bucket not yet evacuated).</summary>
        internal long Evacuations;

        /// <summary>Growths finished: the last old bucket was evacuated and the old generation retired.</summary>
        internal long GrowthEnds;

        /// <summary>Release steps run: bounded pieces of retired memory returned to the system.</summary>
        internal long ReleaseSteps;

        /// <summary>Bytes returned to the system by release steps.</summary>
        internal long ReleasedBytes;

        /// <summary>Native allocations made for bucket memory (arrays and overflow chunks).</summary>
        internal long BucketAllocations;
    }
}
