namespace NativeGoMap
{
    /// <summary>A snapshot of a map's internal shape, read in O(1) by <see cref="GoMap{TKey, TValue}.GetStats"/>.</summary>
    public readonly struct GoMapStats
    {
        internal GoMapStats(int b, long count, int nOverflow, long overflowBuckets, bool isGrowing, bool isSameSizeGrow, bool isShrinking, long evacuatedBuckets, long nativeBytes, long deferredBytes, int liveEnumerators)
        {
            B = b;
            Count = count;
            NOverflow = nOverflow;
            OverflowBuckets = overflowBuckets;
            IsGrowing = isGrowing;
            IsSameSizeGrow = isSameSizeGrow;
            IsShrinking = isShrinking;
            EvacuatedBuckets = evacuatedBuckets;
            NativeBytes = nativeBytes;
            DeferredBytes = deferredBytes;
            LiveEnumerators = liveEnumerators;
        }

        /// <summary>log2 of the number of regular buckets.</summary>
        public int B { get; }

        /// <summary>Live entries.</summary>
        public long Count { get; }

        /// <summary>2^B, the number of regular buckets.</summary>
        public long BucketCount => 1L << B;

        /// <summary>Go's approximate overflow-bucket counter (exact below B = 16, sampled above), which triggers same-size growth: the overflow buckets the current array has taken, linked or spare (a delete's emptied chain end, unlinked and kept for reuse: a reuse is not counted again).</summary>
        public int NOverflow { get; }

        /// <summary>Overflow buckets linked into chains of the current bucket array (preallocated and from overflow chunks), exact.</summary>
        public long OverflowBuckets { get; }

        /// <summary>True while an incremental growth is in progress (an old bucket array is still being evacuated), a shrink included.</summary>
        public bool IsGrowing { get; }

        /// <summary>True when the growth in progress keeps the bucket count (it only compacts overflow chains).</summary>
        public bool IsSameSizeGrow { get; }

        /// <summary>
        /// True when the growth in progress is a shrink (the old array is larger): one that
        /// <see cref="GoMap{TKey, TValue}.TrimExcess()"/> or <see cref="GoMap{TKey, TValue}.TrimExcess(long)"/>
        /// started, or, for a trim of more levels than one shrink takes, one that a later write started.
        /// </summary>
        public bool IsShrinking { get; }

        /// <summary>Go's <c>nevacuate</c>: evacuation units below this index are evacuated (an old bucket; for a shrink, the group of old buckets that merge into one new bucket).</summary>
        public long EvacuatedBuckets { get; }

        /// <summary>Native bytes this map holds, bookkeeping and deferred frees included.</summary>
        public long NativeBytes { get; }

        /// <summary>
        /// Of <see cref="NativeBytes"/>, retired memory not yet released: kept for live enumerators,
        /// or queued for the release steps of the writes that follow (per write: a piece of an array, a whole mapping handed to the reuse cache, or up to 32 small blocks, stopping once 32 KiB or more are freed).
        /// </summary>
        public long DeferredBytes { get; }

        /// <summary>Enumerators started and not yet finished or disposed.</summary>
        public int LiveEnumerators { get; }

        /// <inheritdoc/>
        public override string ToString() =>
            $"B={B} count={Count} noverflow={NOverflow} overflow={OverflowBuckets} growing={IsGrowing}{(IsSameSizeGrow ? " (same size)" : IsShrinking ? " (shrinking)" : "")} nevacuate={EvacuatedBuckets} native={NativeBytes} deferred={DeferredBytes} enumerators={LiveEnumerators}";
    }
}
