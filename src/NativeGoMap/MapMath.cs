using System.Numerics;
using System.Runtime.CompilerServices;
#if !NETSTANDARD2_1
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
#endif

namespace NativeGoMap
{
    /// <summary>
    /// Go's <c>const</c> block of <c>runtime/map.go</c> and its one-line helpers, independent of
    /// the key and value types. All bucket counts and indexes are 64-bit; the load-factor
    /// arithmetic holds for every B up to 63 (past 60 a 64-bit count can never reach the limit),
    /// though memory caps B far below (<see cref="MaxAlloc"/>).
    /// </summary>
    internal static class MapMath
    {
        /// <summary>log2 of the slots per bucket.</summary>
        internal const int BucketCntBits = 3;

        /// <summary>Slots per bucket: 8, so a bucket's tophash bytes are one 64-bit word.</summary>
        internal const int BucketCnt = 1 << BucketCntBits;

        /// <summary>Load factor numerator: a doubling starts when the average bucket holds more than 13/2 entries.</summary>
        internal const long LoadFactorNum = 13;

        /// <summary>Load factor denominator (Go keeps the fraction as an integer pair).</summary>
        internal const long LoadFactorDen = 2;

        /// <summary>Keys and values larger than this are stored through a pointer (Go's maxKeySize/maxElemSize).</summary>
        internal const int MaxInlineSize = 128;

        /// <summary>The most bytes of bucket array we would try to allocate: 2^48, Go's maxAlloc on 64-bit.</summary>
        internal const ulong MaxAlloc = 1UL << 48;

        // Tophash marks. A bucket chain is evacuated all or none: once evacuate() has run on an
        // old bucket, every slot of its chain holds evacuatedX, evacuatedY or evacuatedEmpty, and
        // evacuated() needs to look at slot 0 only.

        /// <summary>Slot is empty, and so is every later slot of this bucket and of its overflow chain. Zeroed memory is all emptyRest.</summary>
        internal const byte EmptyRest = 0;

        /// <summary>Slot is empty; later slots may be live.</summary>
        internal const byte EmptyOne = 1;

        /// <summary>Old bucket slot whose entry moved to the first half of the new array (same index).</summary>
        internal const byte EvacuatedX = 2;

        /// <summary>Old bucket slot whose entry moved to the second half of the new array (index + old size).</summary>
        internal const byte EvacuatedY = 3;

        /// <summary>Old bucket slot that was empty when its bucket was evacuated.</summary>
        internal const byte EvacuatedEmpty = 4;

        /// <summary>Smallest tophash of a live slot; a hash whose top byte is below it is moved up by it.</summary>
        internal const byte MinTopHash = 5;

        /// <summary>Each byte 0x01, for broadcasting one byte over a tophash word.</summary>
        internal const ulong Lsb = 0x0101010101010101UL;

        /// <summary>Each byte 0x80.</summary>
        internal const ulong Msb = 0x8080808080808080UL;

        /// <summary>Each byte 0x7F.</summary>
        internal const ulong Low7 = 0x7F7F7F7F7F7F7F7FUL;

        /// <summary>2^B, the number of regular buckets (Go's bucketShift).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ulong BucketShift(int b) => 1UL << b;

        /// <summary>2^B − 1, the mask that picks a bucket from a hash (Go's bucketMask).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ulong BucketMask(int b) => (1UL << b) - 1;

        /// <summary>The bucket number of a hash: its low <paramref name="b"/> bits (hash &amp; <see cref="BucketMask"/>), one bzhi where BMI2 has it.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ulong BucketIndex(ulong hash, uint b)
        {
#if !NETSTANDARD2_1
            if (Bmi2.X64.IsSupported)
            {
                return Bmi2.X64.ZeroHighBits(hash, b);
            }
#endif
            return hash & BucketMask((int)b);
        }

        /// <summary>The tophash byte of a hash: its top 8 bits, moved clear of the marks (Go's tophash).</summary>
        /// <remarks>
        /// The JIT lays the move out as a branch taken for 5 hashes in 256, with the add out of
        /// line. Tried and not kept (2026-12-03, README's VM): the same byte without a branch,
        /// <c>top + (((top - 5) &gt;&gt; 31) * 5)</c> on 32 bits. Four alternated quick comparisons
        /// at 1,000 entries: hits 2.45-2.55 → 2.69-2.86 ns, misses 1.79-2.05 → 2.07-2.21, updates
        /// 2.64-2.83 → 2.83-3.10 (<c>&lt;int&gt;</c> and <c>&lt;long&gt;</c>): three instructions
        /// more on the way from the hash to the tophash compare, where the branch is predicted.
        /// The byte is made from a 32-bit value: computed as a byte, the JIT zero-extended it
        /// after the shift (<c>shr</c>, <c>movzx</c>) and copied it again for the compare; from
        /// 32 bits, one <c>movzx</c> where both ways join (one instruction fewer in the JIT's
        /// lookup loops, 2026-12-05).
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static byte TopHash(ulong hash)
        {
            uint top = (uint)(hash >> 56);
            return (byte)(top < MinTopHash ? top + MinTopHash : top);
        }

        /// <summary>True for emptyRest and emptyOne (Go's isEmpty).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static bool IsEmpty(byte top) => top <= EmptyOne;

        /// <summary>True when a bucket's slot 0 holds an evacuation mark (Go's evacuated).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static bool Evacuated(byte top0) => top0 > EmptyOne && top0 < MinTopHash;

        /// <summary>Whether <paramref name="count"/> entries in 2^B buckets exceed the load factor (Go's overLoadFactor).</summary>
        internal static bool OverLoadFactor(long count, int b) =>
            count > BucketCnt && b <= 60 && (ulong)count > (ulong)LoadFactorNum * (BucketShift(b) / (ulong)LoadFactorDen);

        /// <summary>The largest count that 2^B buckets hold without <see cref="OverLoadFactor"/>: an insert at this count grows.</summary>
        internal static long MaxCountBeforeGrowth(int b) =>
            b > 60 ? long.MaxValue : System.Math.Max(BucketCnt, LoadFactorNum * (long)(BucketShift(b) / (ulong)LoadFactorDen));

        /// <summary>
        /// Whether there are as many overflow buckets as regular ones (Go's tooManyOverflowBuckets;
        /// for B ≥ 16 <paramref name="noverflow"/> is an estimate and the threshold stays at 2^15).
        /// </summary>
        internal static bool TooManyOverflowBuckets(int noverflow, int b)
        {
            if (b > 15)
            {
                b = 15;
            }

            return noverflow >= (1 << (b & 15));
        }

        /// <summary>Regular plus preallocated overflow buckets of an array for B (Go's makeBucketArray: 2^(B−4) extra when B ≥ 4).</summary>
        /// <remarks>
        /// Tried and not kept (2026-12-04, README's VM, a probe building <c>&lt;long,long&gt;</c>
        /// maps from empty and disposing them, three alternated pairs of processes): one
        /// preallocated bucket for B = 1 to 3 too, so that the first overflow bucket of a small
        /// table is not an allocation of its own (an overflow chunk, and its ownership list's
        /// storage). Builds of 26 entries took 26.8-27.7 ns per insert against 28.7-30.4, of 100
        /// and 1,000 entries the same within the noise; every such array would carry 144 more
        /// bytes (576 → 720 for B = 2), overflow or not.
        /// </remarks>
        internal static ulong ArrayBucketCount(int b) => BucketShift(b) + (b >= 4 ? BucketShift(b - 4) : 0);

        /// <summary>
        /// Go's makemap: the smallest B such that <paramref name="hint"/> entries do not exceed the load factor.
        /// </summary>
        internal static int BForHint(long hint)
        {
            int b = 0;
            while (OverLoadFactor(hint, b))
            {
                b++;
            }

            return b;
        }

        /// <summary>
        /// The key searches' match: in bits 0..7, bit i set where slot i of the tophash word at
        /// <paramref name="tophash"/> equals <paramref name="top"/> (a tophash, so not 0), exactly;
        /// in bits 8..15, bit 8 + i set where slot i is emptyRest (0). A probe's candidates and
        /// whether its chain ends in this bucket, from one load.
        /// </summary>
        /// <remarks>
        /// With SSE3 the tophash word is loaded straight into both halves of a vector (movddup)
        /// and compared once with <paramref name="top"/> in the low half and 0 in the high half
        /// (pcmpeqb), and the mask extracted (pmovmskb). Against the word arithmetic of
        /// <see cref="MatchTopHash"/>, one compare and one extraction took a lookup hit at 1,000
        /// entries from 3.3 to 2.7 ns, the probe loop being throughput-bound; loading the word
        /// through a general register first measured 2.95. The load intrinsic, not a dereference,
        /// so that the JIT does not merge it with a caller's load of the same word into a general
        /// register. The chain-end half replaced a second load of the word and a zero-byte search
        /// in general registers (seven instructions): lookup misses at 1,000 entries 2.36 → 2.15
        /// ns (<c>&lt;long&gt;</c>, median of seven probe processes), hits unchanged. Elsewhere
        /// (Arm64, where the mask extraction takes several instructions and was not measured, and
        /// netstandard2.1) the word arithmetic, its flags gathered into bits.
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static unsafe uint MatchTopHashAndEnd(ulong* tophash, byte top)
        {
#if !NETSTANDARD2_1
            if (Sse3.IsSupported)
            {
                return MatchAndEnd(TopHashTwice(tophash), top);
            }
#endif
            return MatchAndEnd(*tophash, top);
        }

        /// <summary>
        /// <see cref="MatchTopHashAndEnd"/>, and in <paramref name="empty"/> bit i set where slot i
        /// is empty (emptyRest or emptyOne): the snapshot load's free slots, from the same vector
        /// (one more compare: min(slot, 1) == slot) instead of a second load of the word and eight
        /// instructions of word arithmetic with three 64-bit constants (seen in the disassembly of
        /// an insert loop). Quick comparison at 1,000 entries, three runs alternating with the
        /// code before: clear_refill 0.72-0.95 → 0.76-0.99 of Dictionary, insert_nohint 0.40-0.52
        /// → 0.44-0.64; insert_hint within the noise. The insert search has since taken
        /// <see cref="EmptySlotBits"/> instead, after the candidates, so that an update does not
        /// compute the free slots at all: the JIT kept them on the stack across the candidate loop
        /// (four alternating quick comparisons: update 3.84-3.94 → 3.63-3.86 ns for
        /// <c>&lt;long&gt;</c>, 3.76-3.84 → 3.62-3.67 for <c>&lt;int&gt;</c>; inserts unchanged).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static unsafe uint MatchForInsert(ulong* tophash, byte top, out uint empty)
        {
#if !NETSTANDARD2_1
            if (Sse3.IsSupported)
            {
                Vector128<byte> slots = TopHashTwice(tophash);
                empty = EmptyBits(slots);
                return MatchAndEnd(slots, top);
            }
#endif
            ulong word = *tophash;
            empty = EmptyBits(word);
            return MatchAndEnd(word, top);
        }

        /// <summary>
        /// Bit i set where slot i of the tophash word at <paramref name="tophash"/> is empty
        /// (emptyRest or emptyOne): <see cref="MatchForInsert"/>'s free slots alone, for a search
        /// that needs them only when the key is absent.
        /// </summary>
        /// <remarks>
        /// Tried and not kept (2026-12-03, README's VM): the free slots from the candidates'
        /// compare itself (the high half's bytes with bit 0 cleared, compared with 0) and the
        /// chain's end from slot 7's byte (emptyRest there when anywhere in the bucket). The
        /// insert path of the indexer's set lost one instruction net, the update path gained
        /// one (the mask), and 1,000-entry inserts with a hint took 4.21 ns before and after
        /// (probe, three alternated pairs).
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static unsafe uint EmptySlotBits(ulong* tophash)
        {
#if !NETSTANDARD2_1
            if (Sse2.IsSupported)
            {
                return EmptyBits(Sse2.LoadScalarVector128(tophash).AsByte());
            }
#endif
            return EmptyBits(*tophash);
        }

        /// <summary>The word arithmetic behind <see cref="EmptySlotBits"/> and <see cref="MatchForInsert"/>'s free slots, on the loaded word.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static uint EmptyBits(ulong word) => GatherSlotFlags(MatchEmpty(word));

#if !NETSTANDARD2_1
        /// <summary>
        /// The vector compare behind <see cref="EmptySlotBits"/> and <see cref="MatchForInsert"/>'s
        /// free slots: min(slot, 1) == slot, on a vector whose low 8 lanes hold the word (the high
        /// 8 lanes, zero or a copy of the word, are cut off).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static uint EmptyBits(Vector128<byte> slots) =>
            (byte)Vector128.ExtractMostSignificantBits(Vector128.Equals(Vector128.Min(slots, Vector128.Create((byte)1)), slots));
#endif

        /// <summary>The word arithmetic behind <see cref="MatchTopHashAndEnd"/> and <see cref="MatchForInsert"/> without vectors, on the loaded word.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static uint MatchAndEnd(ulong word, byte top) =>
            GatherSlotFlags(MatchTopHash(word, top)) | (GatherSlotFlags(MatchTopHash(word, EmptyRest)) << 8);

#if !NETSTANDARD2_1
        /// <summary>The vector compare behind <see cref="MatchTopHashAndEnd"/> and <see cref="MatchForInsert"/>, on the word loaded twice (<see cref="TopHashTwice"/>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static uint MatchAndEnd(Vector128<byte> slots, byte top) =>
            Vector128.ExtractMostSignificantBits(Vector128.Equals(slots, TopAndEmptyRest(top)));

        /// <summary>The tophash word at <paramref name="tophash"/> in both halves of a vector (movddup).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static unsafe Vector128<byte> TopHashTwice(ulong* tophash) =>
            Sse3.LoadAndDuplicateToVector128((double*)tophash).AsByte();

        /// <summary><paramref name="top"/> in the low 8 lanes, emptyRest (0) in the high 8.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector128<byte> TopAndEmptyRest(byte top) =>
            Sse2.MoveScalar(Vector128.Create(top).AsUInt64()).AsByte();
#endif

        /// <summary>
        /// Whether a <see cref="MatchTopHashAndEnd"/> mask, its lowest candidates cleared one by one
        /// (<c>m &amp;= m - 1</c>), has a candidate left; its lowest set bit is then that candidate.
        /// The mask is tested rather than masked to bits 0..7 first: a hit's key compare then
        /// waits on one instruction fewer.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static bool HasCandidate(uint matchAndEnd) => (byte)matchAndEnd != 0;

        /// <summary>Whether a <see cref="MatchTopHashAndEnd"/> mask has an emptyRest slot: the chain ends in its bucket.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static bool ChainEnds(uint matchAndEnd) => matchAndEnd > 0xFF;

        /// <summary>A 0x80-per-slot mask as bits 0..7: bit i from byte i's 0x80 (the eight flags multiplied into the top byte, no carries: each lands alone).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static uint GatherSlotFlags(ulong mask) => (uint)(((mask >> 7) * 0x0102040810204080UL) >> 56);

        /// <summary>
        /// The slot index of the lowest set bit of a <see cref="MatchTopHashAndEnd"/> mask
        /// (candidates, or with its high bits clear, as <see cref="MatchForInsert"/>'s empty slots):
        /// <paramref name="bits"/>' lowest set bit must be one of bits 0..7.
        /// </summary>
        /// <remarks>
        /// netstandard2.1 (Mono, Unity) has no trailing-zero instruction to call, and the shim's
        /// count (<see cref="BitOperations.TrailingZeroCount(uint)"/>, a population count of the
        /// bits below) was about 30 instructions in Mono 6.8's listing of every probe loop. A
        /// slot is one of eight, so the lowest bit, isolated, is multiplied by an 8-bit de Bruijn
        /// sequence (0x1D: its eight 3-bit windows differ), and the window picks the slot out of
        /// a table of eight nibbles held in one constant (nothing indexed: see the shim's remarks
        /// on spans under Mono). Measured under Mono 6.8 (a probe of 1,000 <c>&lt;long,long&gt;</c>
        /// entries, best of 25 rounds, three alternated pairs of processes): hits 17.2-17.4 →
        /// 16.7-16.8 ns, updates 21.5-21.7 → 20.2-20.4, misses unchanged (Dictionary 9.7 and 10.5-10.7).
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static int FirstSlotOfBits(uint bits)
        {
#if NETSTANDARD2_1
            uint lowest = bits & (0 - bits); // 1 << slot
            uint nibble = ((lowest * 0x1Du) >> 3) & 28; // bits 5..7 of 0x1D << slot (distinct for slots 0..7), times 4
            return (int)((SlotOfWindow >> (int)nibble) & 7);
#else
            return BitOperations.TrailingZeroCount(bits);
#endif
        }

#if NETSTANDARD2_1
        /// <summary><see cref="FirstSlotOfBits"/>'s table: nibble w holds the slot whose de Bruijn window is w (windows 0, 1, 3, 7, 6, 5, 2, 4 for slots 0 to 7).</summary>
        private const uint SlotOfWindow = 0x34572610u;
#endif

        /// <summary>One byte 0x80 at each slot whose tophash equals <paramref name="top"/>; exact (no borrow false positives).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ulong MatchTopHash(ulong word, byte top)
        {
            ulong x = word ^ (Lsb * top);
            return ~(((x & Low7) + Low7) | x | Low7);
        }

        /// <summary>One byte 0x80 at each slot that is empty (emptyRest or emptyOne).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ulong MatchEmpty(ulong word)
        {
            // A byte is 0 or 1 exactly when its bits 1..7 are clear.
            ulong x = word & ~Lsb;
            return ~(((x & Low7) + Low7) | x | Low7);
        }

        /// <summary>True when some slot of the word is emptyRest (a zero byte), so the chain ends here.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static bool HasEmptyRest(ulong word) => ((word - Lsb) & ~word & Msb) != 0;

        /// <summary>
        /// A tophash word that keeps the bytes of <paramref name="word"/> flagged in
        /// <paramref name="keep"/> (0x80 per slot) and marks every other slot empty: emptyOne
        /// below the highest kept slot, emptyRest above it (all emptyRest when none is kept).
        /// </summary>
        internal static ulong KeepSlots(ulong word, ulong keep)
        {
            ulong kept = (keep >> 7) * 0xFF;
            ulong upToLast = keep == 0 ? 0 : ulong.MaxValue >> BitOperations.LeadingZeroCount(keep);
            return (word & kept) | (Lsb * EmptyOne & upToLast & ~kept);
        }

        /// <summary>
        /// Marks slot <paramref name="i"/> (0..6, live) of a tophash word deleted, with one store
        /// (mapdelete's marking without its byte loop): emptyOne when the next slot is not
        /// emptyRest; else emptyRest from slot i up, and over the emptyOne run just below it.
        /// False, with nothing stored, when that run reaches slot 0 of a bucket that is not the
        /// chain's first: the marking then continues in the previous bucket (the caller's job).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static bool TryMarkDeleted(ref ulong word, int i, bool firstInChain)
        {
            // Both outcomes are computed and one is picked by a mask, without a branch: whether
            // slot i was the last live one is data, and a branch on it mispredicts often.
            ulong w = word;
            int shift = i * 8;

            // emptyOne at slot i, when a slot after i is not emptyRest (by the emptyRest
            // invariant, exactly when slot i + 1 is not).
            ulong one = (w & ~(0xFFUL << shift)) | ((ulong)EmptyOne << shift);
            ulong liveAfter = NonZeroMask((w >> shift) >> 8);

            // Else emptyRest from slot i up and over the emptyOne run below it: slots below i
            // hold emptyOne or a live tophash (never emptyRest: i was live); keep everything up
            // to the highest one that is not emptyOne.
            ulong notEmptyOne = (w ^ Lsb) & ((1UL << shift) - 1);
            ulong keep = NonZeroMask(notEmptyOne);
            if ((liveAfter | keep) == 0 && !firstInChain)
            {
                return false;
            }

            ulong rest = w & (ulong.MaxValue >> (BitOperations.LeadingZeroCount(notEmptyOne) & 56)) & keep;
            word = (one & liveAfter) | (rest & ~liveAfter);
            return true;
        }

        /// <summary>
        /// The tophash word of the last bucket of a chain after its slot <paramref name="i"/>,
        /// live with tophash <paramref name="top"/>, is deleted: mapdelete's marking as one word
        /// (emptyOne when a live slot follows; else emptyRest for the slot and the emptyOne run
        /// below it). Zero when the bucket is left empty: if it is not the chain's first, the run
        /// goes on in the previous bucket (the caller's job). Only for a table that is not being
        /// evacuated, whose tophash bytes are emptyRest, emptyOne or live.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ulong MarkDeletedInLastBucket(ulong word, int i, byte top)
        {
            // Slot i becomes emptyOne with one xor: it holds top (its key equals the deleted one,
            // so its hash does; the caller found it by key, not by a candidate byte alone).
            ulong w = word ^ ((ulong)(byte)(top ^ EmptyOne) << (i * 8));

            // In the chain's last bucket every slot after the last live one is emptyRest (the
            // invariant this marking keeps), so whichever case applies, the result keeps the bits
            // up to the highest live slot and clears the rest: no branch and no select on whether
            // slot i was the last live one (data, which mispredicts). Bits 1..7 are set in live
            // bytes only, so the highest of them ends the bits to keep; with no live slot left
            // (lzcnt 64, which a shift would take as 0) the last mask clears the whole word.
            int lz = BitOperations.LeadingZeroCount(w & ~Lsb);
#if !NETSTANDARD2_1
            if (Bmi2.X64.IsSupported)
            {
                // bzhi keeps the 64 - lz low bits, none when lz is 64: five instructions fewer
                // than the shifted mask and the sign fix below it.
                return Bmi2.X64.ZeroHighBits(w, (uint)(64 - lz));
            }
#endif
            return w & (ulong.MaxValue >> lz) & (ulong)((long)(lz - 64) >> 63);
        }

        /// <summary>All ones when <paramref name="x"/> is nonzero, else zero, without a branch.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static ulong NonZeroMask(ulong x) => (ulong)((long)(x | (0UL - x)) >> 63);

        /// <summary>The index of the lowest set bit of <paramref name="mask"/> (64 for none), as a native-sized value.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static nuint LowestBit(ulong mask)
        {
#if !NETSTANDARD2_1
            if (Bmi1.X64.IsSupported)
            {
                return (nuint)Bmi1.X64.TrailingZeroCount(mask);
            }
#endif
            return (nuint)BitOperations.TrailingZeroCount(mask);
        }

        /// <summary>The slot index of the lowest set byte of a match mask.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static int FirstSlot(ulong mask) => BitOperations.TrailingZeroCount(mask) >> 3;

        /// <summary>One byte 0x80 at each live slot (tophash ≥ minTopHash).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ulong MatchLive(ulong word) =>
            // A byte is below 5 exactly when byte + (0x80 - 5) has bit 7 clear and the byte itself has bit 7 clear.
            (((word & Low7) + (Lsb * (0x80 - MinTopHash))) | word) & Msb;

        /// <summary>One byte 0x80 at each slot an iteration must look at: live, evacuatedX or evacuatedY.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ulong MatchOccupied(ulong word) =>
            (((word & Low7) + (Lsb * (0x80 - EvacuatedX))) | word) & Msb & ~MatchTopHash(word, EvacuatedEmpty);

        /// <summary>A slot mask in an iteration's order: byte j of the result is slot (j + offset) mod 8.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ulong RotateSlots(ulong mask, int offset) => BitOperations.RotateRight(mask, offset * 8);

        /// <summary>
        /// Bit i set where slot i of the tophash word at <paramref name="tophash"/> is live
        /// (tophash ≥ minTopHash): <see cref="MatchLive"/> as eight bits, for the iteration's
        /// slot groups. With SSE2, an unsigned max and a compare (pmaxub, pcmpeqb, pmovmskb);
        /// elsewhere the word arithmetic, its flags gathered.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static unsafe uint LiveSlotBits(ulong* tophash)
        {
#if !NETSTANDARD2_1
            if (Sse2.IsSupported)
            {
                // The upper 8 lanes are zero, below minTopHash, so they never count: no mask.
                Vector128<byte> slots = Sse2.LoadScalarVector128(tophash).AsByte();
                return Vector128.ExtractMostSignificantBits(Vector128.Equals(Vector128.Max(slots, Vector128.Create(MinTopHash)), slots));
            }
#endif
            return GatherSlotFlags(MatchLive(*tophash));
        }

        /// <summary>
        /// Each byte of <paramref name="bits"/> (eight slot bits of one bucket, bit i = slot i)
        /// rotated into an iteration's order: bit i of a byte of the result is slot
        /// (i + offset) mod 8. The eight-bit form of <see cref="RotateSlots"/>, for up to eight
        /// buckets at once.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ulong RotateSlotBits(ulong bits, int offset)
        {
            ulong low = (0xFFUL >> offset) * Lsb; // per byte, the bits that move down
            return ((bits >> offset) & low) | ((bits << (BucketCnt - offset)) & ~low);
        }

        /// <summary>A mask of the slot positions <paramref name="i"/> and after (0 when <paramref name="i"/> is 8).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ulong SlotsFrom(int i) => i >= BucketCnt ? 0 : ulong.MaxValue << (i * 8);

        /// <summary>The number of live slots (tophash ≥ minTopHash) of a word.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static int CountLive(ulong word) => BitOperations.PopCount(MatchLive(word));
    }
}
