using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace NativeGoMap
{
    /// <summary>
    /// The byte layout of one bucket of a <see cref="GoMap{TKey, TValue}"/>, identical to Go's
    /// <c>bmap</c> for the same key and value sizes on a 64-bit target:
    /// <code>
    /// +0               tophash[8]   one byte per slot
    /// +KeysOffset      keys[8]      KeySlotSize each (the key, or a pointer to it when IndirectKey)
    /// +ValuesOffset    values[8]    ValueSlotSize each (the value, or a pointer to it when IndirectValue)
    ///                  padding      so that the overflow pointer is pointer-aligned
    /// +OverflowOffset  overflow     pointer to the next bucket of the chain; BucketSize = OverflowOffset + 8
    /// </code>
    /// Reading this struct costs nothing; it is computed once per key/value type pair.
    /// </summary>
    public readonly struct GoMapLayout : IEquatable<GoMapLayout>
    {
        internal GoMapLayout(int bucketSize, int keysOffset, int valuesOffset, int overflowOffset, int keySlotSize, int valueSlotSize, bool indirectKey, bool indirectValue)
        {
            BucketSize = bucketSize;
            KeysOffset = keysOffset;
            ValuesOffset = valuesOffset;
            OverflowOffset = overflowOffset;
            KeySlotSize = keySlotSize;
            ValueSlotSize = valueSlotSize;
            IndirectKey = indirectKey;
            IndirectValue = indirectValue;
        }

        /// <summary>Bytes per bucket, overflow pointer included (Go's <c>t.bucketsize</c>).</summary>
        public int BucketSize { get; }

        /// <summary>Offset of the first key slot (Go's <c>dataOffset</c>).</summary>
        public int KeysOffset { get; }

        /// <summary>Offset of the first value slot.</summary>
        public int ValuesOffset { get; }

        /// <summary>Offset of the overflow pointer; always <see cref="BucketSize"/> − 8.</summary>
        public int OverflowOffset { get; }

        /// <summary>Bytes per key slot: the key's size, or 8 when the key is stored indirectly.</summary>
        public int KeySlotSize { get; }

        /// <summary>Bytes per value slot: the value's size, or 8 when the value is stored indirectly.</summary>
        public int ValueSlotSize { get; }

        /// <summary>True when the key is larger than 128 bytes and each slot holds a pointer to its own native block.</summary>
        public bool IndirectKey { get; }

        /// <summary>True when the value is larger than 128 bytes and each slot holds a pointer to its own native block.</summary>
        public bool IndirectValue { get; }

        /// <inheritdoc/>
        public bool Equals(GoMapLayout other) =>
            BucketSize == other.BucketSize && KeysOffset == other.KeysOffset && ValuesOffset == other.ValuesOffset &&
            OverflowOffset == other.OverflowOffset && KeySlotSize == other.KeySlotSize && ValueSlotSize == other.ValueSlotSize &&
            IndirectKey == other.IndirectKey && IndirectValue == other.IndirectValue;

        /// <inheritdoc/>
        public override bool Equals(object? obj) => obj is GoMapLayout other && Equals(other);

        /// <inheritdoc/>
        public override int GetHashCode() => HashCode.Combine(BucketSize, KeysOffset, ValuesOffset, KeySlotSize, ValueSlotSize, IndirectKey, IndirectValue);

        /// <summary>Compares two layouts field by field.</summary>
        public static bool operator ==(GoMapLayout left, GoMapLayout right) => left.Equals(right);

        /// <summary>Compares two layouts field by field.</summary>
        public static bool operator !=(GoMapLayout left, GoMapLayout right) => !left.Equals(right);

        /// <summary>The offsets and sizes in one line (allocates the string).</summary>
        /// <returns>For example <c>bucket 144 B: keys @8 x8, values @72 x8, overflow @136</c>.</returns>
        public override string ToString() =>
            $"bucket {BucketSize} B: keys @{KeysOffset} x{KeySlotSize}{(IndirectKey ? " (indirect)" : "")}, values @{ValuesOffset} x{ValueSlotSize}{(IndirectValue ? " (indirect)" : "")}, overflow @{OverflowOffset}";

        /// <summary>
        /// Go's compiler rule (<c>MapBucketType</c>): the struct
        /// <c>{ topbits [8]uint8; keys [8]K'; elems [8]V'; overflow uintptr }</c> with natural
        /// alignment and the overflow pointer as its last 8 bytes. Sizes are in bytes; a slot type
        /// larger than <see cref="MapMath.MaxInlineSize"/> is replaced by a pointer.
        /// </summary>
        internal static GoMapLayout Compute(int keySize, int keyAlign, int valueSize, int valueAlign)
        {
            bool indirectKey = keySize > MapMath.MaxInlineSize;
            bool indirectValue = valueSize > MapMath.MaxInlineSize;
            int kSlot = indirectKey ? IntPtr.Size : keySize;
            int kAlign = indirectKey ? IntPtr.Size : keyAlign;
            int vSlot = indirectValue ? IntPtr.Size : valueSize;
            int vAlign = indirectValue ? IntPtr.Size : valueAlign;
            int structAlign = Math.Max(IntPtr.Size, Math.Max(kAlign, vAlign));

            int keysOffset = AlignUp(MapMath.BucketCnt, kAlign);
            int valuesOffset = AlignUp(keysOffset + (MapMath.BucketCnt * kSlot), vAlign);
            int overflowOffset = AlignUp(valuesOffset + (MapMath.BucketCnt * vSlot), IntPtr.Size);

            // Go's types never align above 8; a C# type can (Int128 is 16-aligned). Keep the
            // overflow pointer last and pad before it so the bucket stride keeps every slot aligned.
            int bucketSize = AlignUp(overflowOffset + IntPtr.Size, structAlign);
            overflowOffset = bucketSize - IntPtr.Size;
            return new GoMapLayout(bucketSize, keysOffset, valuesOffset, overflowOffset, kSlot, vSlot, indirectKey, indirectValue);
        }

        private static int AlignUp(int x, int a) => (x + a - 1) & -a;
    }

    /// <summary>
    /// The layout numbers of one instantiation, and every pointer computation on a bucket. The
    /// indirections are <c>sizeof</c> tests, folded wherever the code is compiled; the sizes and
    /// offsets are <c>static readonly</c> fields, which the JIT folds into constants once the
    /// class is initialized (see the remarks). The native AOT compiler runs the initializer at
    /// compile time and folds them too, as long as it stays arithmetic on sizes: the blocks a layout allocates live in
    /// <see cref="Tables"/>, and a type's alignment is read as <c>sizeof</c> of a probe struct in
    /// line (a generic method computing it, as before 2026-12-05, stopped the compiler there
    /// too). With the initializer run at run time, every number was a load behind a
    /// class-constructor check under native AOT, and the branches on IndirectKey stayed in the
    /// code: 1,000-entry <c>&lt;long,long&gt;</c> lookups took 4.2-4.4 ns there against 2.7 since
    /// (probe, x86-64-v3; README, "Native AOT and trimming"). Nothing changed for the JIT (the
    /// listings of the probe's loops are the same).
    /// </summary>
    /// <remarks>
    /// The JIT folds a field only where the class is already initialized when it compiles the
    /// code. With tiered compilation off (<c>DOTNET_TieredCompilation=0</c>), a method that makes
    /// its map and then uses it is compiled before that (with it on, only an on-stack
    /// replacement compiled before the program's first map of the types is). Measured on
    /// 2026-12-07 (README's VM; a probe method that makes a 1,000-entry <c>&lt;long,long&gt;</c>
    /// map with its capacity, then inserts and looks up every key five times; tiering off; ns
    /// per operation, <c>Dictionary</c> 5.6-6.0): with every number and the key kind a field,
    /// as until then, 9.3 (every field a load behind a class-constructor check, every branch on
    /// them kept, the key held in memory); the key kind decided by <c>typeof</c> alone
    /// (<see cref="KeyOps{T}.Kind"/>) 8.8; and the indirections as tests of <c>sizeof</c>
    /// (kept) 7.2. With the slot sizes as such expressions too, 6.8; with every number, the
    /// offsets and the bucket size written out for types aligned to a pointer at most, 5.0-5.2.
    /// Neither kept: each number read through a call costs the inliner's budget at every use,
    /// and the quick comparison's compound loops then ran out of it. Their JIT listings called
    /// <c>get_OverflowOffset</c>, <c>get_PointerAligned</c> and <c>KeyOps.Equal</c> where
    /// everything had been inlined (<c>&lt;int&gt;</c> remove_refill's loop 1,298 → 781 bytes of
    /// code), and with the slot sizes alone the walk measured 5-8 % slower (probe). With tiering
    /// on, the probe ran at 4.8 ns before and after (<c>Dictionary</c> 4.1). The quick
    /// comparison's cold_build_lookup row times this case.
    /// </remarks>
    internal static unsafe class BucketLayout<TKey, TValue>
        where TKey : unmanaged
        where TValue : unmanaged
    {
        internal static readonly GoMapLayout Layout = GoMapLayout.Compute(sizeof(TKey), sizeof(AlignProbe<TKey>) - sizeof(TKey), sizeof(TValue), sizeof(AlignProbe<TValue>) - sizeof(TValue));
        internal static readonly int BucketSize = Layout.BucketSize;
        internal static readonly int KeysOffset = Layout.KeysOffset;
        internal static readonly int ValuesOffset = Layout.ValuesOffset;
        internal static readonly int OverflowOffset = Layout.OverflowOffset;
        internal static readonly int KeySlotSize = Layout.KeySlotSize;
        internal static readonly int ValueSlotSize = Layout.ValueSlotSize;

        /// <summary>
        /// <see cref="GoMapLayout.IndirectKey"/> (<see cref="GoMapLayout.Compute"/>'s test, written
        /// out; LayoutTests checks that the two agree): a <c>sizeof</c> test, folded wherever the
        /// code is compiled (see the class remarks).
        /// </summary>
        /// <remarks>
        /// The JIT folds a call's result only after it has read the code around it in, dead
        /// branches included, and a dead branch that reads <see cref="Tables"/> cost the
        /// enumerator's walk 8 % (1,000 <c>&lt;long,long&gt;</c> entries, probe, six alternated
        /// pairs: 1.60-1.68 ns per entry against 1.47-1.58). So the slot readers (<see cref="KeyAt"/>,
        /// <see cref="ValueAt"/>, <see cref="Key"/>, <see cref="Value"/>) test the size themselves,
        /// which the JIT folds as it reads them: 1.47-1.52 then.
        /// </remarks>
        internal static bool IndirectKey
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get => sizeof(TKey) > MapMath.MaxInlineSize;
        }

        /// <summary><see cref="GoMapLayout.IndirectValue"/>, as <see cref="IndirectKey"/>.</summary>
        internal static bool IndirectValue
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get => sizeof(TValue) > MapMath.MaxInlineSize;
        }

        /// <summary>Bucket number <paramref name="index"/> of a bucket array (64-bit offset).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static byte* Bucket(byte* array, ulong index) => array + (index * (ulong)BucketSize);

        /// <summary>Slot <paramref name="i"/>'s tophash byte of bucket <paramref name="b"/> (Go's <c>b.tophash[i]</c>), writable.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ref byte TopHash(byte* b, int i) => ref b[i];

        /// <summary>The bucket after <paramref name="b"/> in memory (the next of an array's or an overflow chunk's).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static byte* NextInMemory(byte* b) => b + BucketSize;

        /// <summary>The bytes of <paramref name="count"/> consecutive buckets (an iteration group's span, a prefetch distance).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static nint BytesOf(int count) => count * (nint)BucketSize;

        /// <summary>How many buckets lie from <paramref name="from"/> up to <paramref name="to"/>, both in one array or chunk (<paramref name="to"/> not before <paramref name="from"/>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ulong BucketsBetween(byte* from, byte* to) => (ulong)(to - from) / (ulong)BucketSize;

        /// <summary>Whether <paramref name="p"/> lies a whole number of buckets after <paramref name="first"/> (a bucket's start in first's array or chunk; <paramref name="p"/> not before <paramref name="first"/>).</summary>
        internal static bool OnBucketBoundary(byte* first, byte* p) => (ulong)(p - first) % (ulong)BucketSize == 0;

        /// <summary>Copies every key and value slot of bucket <paramref name="src"/> (the bytes between its tophash word and its overflow pointer) to bucket <paramref name="dst"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static void CopySlots(byte* dst, byte* src) =>
            Unsafe.CopyBlockUnaligned(dst + KeysOffset, src + KeysOffset, (uint)(OverflowOffset - KeysOffset));

        /// <summary>The 8 tophash bytes of a bucket as one little-endian word (slot i is byte i).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ulong TopHashWord(byte* b) => *(ulong*)b;

        /// <summary>The 8 tophash bytes of a bucket as one writable word, for markings stored in one go.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ref ulong TopHashWordRef(byte* b) => ref *(ulong*)b;

        /// <summary><see cref="MapMath.MatchTopHashAndEnd"/> on bucket <paramref name="b"/>'s tophash word: candidates in bits 0..7, emptyRest slots in bits 8..15.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static uint MatchTopHashAndEnd(byte* b, byte top) => MapMath.MatchTopHashAndEnd((ulong*)b, top);

        /// <summary><see cref="MapMath.MatchForInsert"/> on bucket <paramref name="b"/>'s tophash word: <see cref="MatchTopHashAndEnd"/>, and the empty slots in <paramref name="empty"/> (bit i: slot i is emptyRest or emptyOne).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static uint MatchForInsert(byte* b, byte top, out uint empty) => MapMath.MatchForInsert((ulong*)b, top, out empty);

        /// <summary><see cref="MapMath.EmptySlotBits"/> on bucket <paramref name="b"/>'s tophash word.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static uint EmptySlots(byte* b) => MapMath.EmptySlotBits((ulong*)b);

        /// <summary>Bit i set where slot i of bucket <paramref name="b"/> is live (<see cref="MapMath.LiveSlotBits"/> on the bucket's tophash word).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static uint LiveSlots(byte* b) => MapMath.LiveSlotBits((ulong*)b);

        /// <summary>
        /// The bucket that bit <paramref name="bit"/> of an iteration's group mask stands for
        /// (eight bits per bucket, consecutive buckets of one array from <paramref name="b"/> on).
        /// The bit's bucket-aligned part times a bucket's size in words (a bucket is a whole number
        /// of words), which the JIT scales with two lea for 144-byte buckets. The inline walk's
        /// steps no longer compute it per entry: <see cref="Tables.WalkSlotOffsets"/> is built from it,
        /// and the hand-over to IterNext and the tests' position use it.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static byte* GroupBucket(byte* b, int bit) => b + ((nint)((uint)bit & ~(uint)(MapMath.BucketCnt - 1)) * (BucketSize / MapMath.BucketCnt));

        /// <summary>The row of <see cref="Tables.WalkSlotOffsets"/> for an enumeration's slot offset (0..7).</summary>
        internal static ushort* WalkRow(int offset) => Tables.WalkSlotOffsets + (offset * 64 * 2);

        /// <summary>
        /// The key of the slot that the lowest set bit of group mask <paramref name="mask"/> stands
        /// for in the group from <paramref name="group"/>, through the enumeration's
        /// <paramref name="row"/> (through its pointer when indirect, as <see cref="Key"/>).
        /// </summary>
        /// <remarks>
        /// The row, the mask and the bit's index go in, rather than a pointer to the row's entry,
        /// and the index is native-sized (<see cref="MapMath.LowestBit"/>): with the entry's
        /// pointer the JIT computed it with a <c>lea</c> before the load, and with a 32-bit index
        /// it zero-extended it first, two instructions of the 17 of a step (JitDisasm of a foreach
        /// summing a <c>&lt;long,long&gt;</c> map, 2026-12-05).
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static TKey* WalkKey(byte* group, ushort* row, ulong mask) => KeyAt(group + row[2 * MapMath.LowestBit(mask)]);

        /// <summary>
        /// The tophash byte of the slot that the lowest set bit of group mask
        /// <paramref name="mask"/> stands for in the group from <paramref name="group"/>, under an
        /// enumeration's slot <paramref name="offset"/>: the slot whose key <see cref="WalkKey"/>
        /// finds (bucket <see cref="GroupBucket"/>, slot (bit mod 8 + offset) mod 8, as
        /// <see cref="Tables.WalkSlotOffsets"/> is built).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static byte WalkTopHash(byte* group, int offset, ulong mask)
        {
            int bit = (int)MapMath.LowestBit(mask);
            return TopHash(GroupBucket(group, bit), (bit + offset) & (MapMath.BucketCnt - 1));
        }

        /// <summary>
        /// The value of the slot <see cref="WalkKey"/> finds, as <see cref="ValuePtr"/>. When key
        /// and value slots have one size, from the key's offset (one load per entry).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static TValue* WalkValue(byte* group, ushort* row, ulong mask) =>
            ValueAt(KeySlotSize == ValueSlotSize
                ? group + row[2 * MapMath.LowestBit(mask)] + (ValuesOffset - KeysOffset)
                : group + row[(2 * MapMath.LowestBit(mask)) + 1]);

        private static ushort* MakeWalkSlotOffsets()
        {
            var table = (ushort*)NativeMemory.Alloc(MapMath.BucketCnt * 64 * 2 * sizeof(ushort));
            for (int offset = 0; offset < MapMath.BucketCnt; offset++)
            {
                for (int bit = 0; bit < 64; bit++)
                {
                    byte* bucket = GroupBucket(null, bit);
                    int slot = ((bit & (MapMath.BucketCnt - 1)) + offset) & (MapMath.BucketCnt - 1);
                    ushort* entry = table + (((offset * 64) + bit) * 2);
                    entry[0] = checked((ushort)(nint)KeySlot(bucket, slot));
                    entry[1] = checked((ushort)(nint)ValueSlot(bucket, slot));
                }
            }

            return table;
        }

        /// <summary>The overflow pointer of a bucket.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ref byte* Overflow(byte* b) => ref *(byte**)(b + OverflowOffset);

        /// <summary>Links <paramref name="ovf"/> after <paramref name="b"/> with a release store: whoever reads the link sees the stores made to <paramref name="ovf"/> before it.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static void PublishOverflow(byte* b, byte* ovf) => Volatile.Write(ref *(nint*)(b + OverflowOffset), (nint)ovf);

        /// <summary>Address of key slot <paramref name="i"/> (the key itself, or the pointer to it when indirect).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static byte* KeySlot(byte* b, int i) => b + KeysOffset + ((nint)i * KeySlotSize);

        /// <summary>Address of value slot <paramref name="i"/> (the value itself, or the pointer to it when indirect).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static byte* ValueSlot(byte* b, int i) => b + ValuesOffset + ((nint)i * ValueSlotSize);

        /// <summary>An indirect slot's pointer as stored, writable (null when none; reads go through <see cref="SlotTarget"/>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ref byte* SlotPointer(byte* slot) => ref *(byte**)slot;

        /// <summary>An indirect slot's pointer, or <see cref="Tables.NullSlotTarget"/> for null (every read through an indirect slot goes through here).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static byte* SlotTarget(byte* slot)
        {
            byte* p = *(byte**)slot;
            return p != null ? p : Tables.NullSlotTarget;
        }

        /// <summary>The key of the key slot at <paramref name="slot"/>: the slot itself, or its pointer's target when indirect (a null pointer reads as a zero key, see <see cref="Tables.NullSlotTarget"/>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static TKey* KeyAt(byte* slot) => sizeof(TKey) > MapMath.MaxInlineSize /* IndirectKey, written out */ ? (TKey*)SlotTarget(slot) : (TKey*)slot;

        /// <summary>The value of the value slot at <paramref name="slot"/>: the slot itself, or its pointer's target when indirect (a null pointer reads as a zero value, see <see cref="Tables.NullSlotTarget"/>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static TValue* ValueAt(byte* slot) => sizeof(TValue) > MapMath.MaxInlineSize /* IndirectValue, written out */ ? (TValue*)SlotTarget(slot) : (TValue*)slot;

        /// <summary>
        /// The key stored in slot <paramref name="i"/>: <see cref="KeyAt"/> of its key slot, written
        /// as a ref select. Written through <see cref="KeyAt"/>, the JIT laid the lookup loop's
        /// blocks out differently (same instructions) and hits at 1,000 entries measured about
        /// 2 % slower (probe medians 2.69 → 2.74 ns, nine pairs), so this form stays.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ref TKey Key(byte* b, int i) =>
            ref sizeof(TKey) > MapMath.MaxInlineSize /* IndirectKey, written out */ ? ref *(TKey*)SlotTarget(KeySlot(b, i)) : ref *(TKey*)KeySlot(b, i);

        /// <summary>The value stored in slot <paramref name="i"/>: <see cref="ValueAt"/> of its value slot, as a ref select as <see cref="Key"/> is.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ref TValue Value(byte* b, int i) =>
            ref sizeof(TValue) > MapMath.MaxInlineSize /* IndirectValue, written out */ ? ref *(TValue*)SlotTarget(ValueSlot(b, i)) : ref *(TValue*)ValueSlot(b, i);

        /// <summary>Mask of B in a published table word (arrays are 64-byte aligned, so B fits below the address).</summary>
        /// <remarks>
        /// Tried and not kept (2026-12-03): on 64-bit processes, the address shifted left by 8
        /// with B in the low byte, so that the word itself is bzhi's bit count (which reads that
        /// byte only) and picking a bucket extracts no B. The remove loop lost one instruction
        /// (the JIT then zero-extended the byte for the test on <see cref="BeyondL2B"/>), and
        /// 1,000-entry removes measured 4.10-4.35 ns as before (two runs, probe). Tried again on
        /// an AMD EPYC Zen 4 VM (2026-12-07) for every operation (bzhi's count the word itself in
        /// <see cref="TableBucket"/>, the array from a shift), with the lookups' slot index
        /// native-sized (a 64-bit trailing-zero count: no register cleared before it, no
        /// zero-extensions after; four instructions fewer per hit in all). A probe of 1,000
        /// <c>&lt;long,long&gt;</c> lookups read hits 3.18-3.20 → 2.94-3.00 ns (four alternated
        /// pairs), but in the quick comparison (seven alternated pairs of its 1,000-entry rows)
        /// only <c>&lt;long&gt;</c> hits gained (3.13-3.31 → 3.07-3.11 ns), while
        /// <c>&lt;int&gt;</c> misses lost (2.46-2.54 → 2.56-2.89) and <c>&lt;int&gt;</c> removes
        /// (5.56-5.63 → 5.70-5.85): not kept. The 256-byte-aligned array, so that the word keeps
        /// its address unshifted and bzhi still reads B alone, measured the same in the probe
        /// (3.11-3.16 ns) and would add up to 192 bytes of alignment slack to every C-heap array.
        /// </remarks>
        internal const nuint TableBMask = 63;

        /// <summary>A bucket array and its B packed in one word, so that a reader loads them as one consistent pair.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static nuint Table(byte* array, int b) => array == null ? 0 : (nuint)array | (nuint)b;

        /// <summary>The bucket array of a table word.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static byte* TableArray(nuint table) => (byte*)(table & ~TableBMask);

        /// <summary>The B of a table word.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static int TableB(nuint table) => (int)(table & TableBMask);

        /// <summary>
        /// The smallest B whose bucket array is over 1 MiB (a core's L2 cache on the README's
        /// machine, where a bucket's last line is mostly not at hand): from it up, the fast
        /// delete takes mapdelete's own test before the word store (see DeleteFast).
        /// </summary>
        internal static readonly int BeyondL2B = MinBForMoreThan(1UL << 20);

        /// <summary>The smallest B whose bucket array (<see cref="ArrayBytes"/>: 2^B buckets and the preallocated overflow tail) is over <paramref name="bytes"/>.</summary>
        private static int MinBForMoreThan(ulong bytes)
        {
            int b = 0;
            while ((ArrayBytes(b) ?? ulong.MaxValue) <= bytes)
            {
                b++;
            }

            return b;
        }

        /// <summary>The bucket of a table word that <paramref name="hash"/> selects (its low B bits).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static byte* TableBucket(nuint table, ulong hash) => Bucket(TableArray(table), MapMath.BucketIndex(hash, (uint)(table & TableBMask)));

        /// <summary>
        /// <see cref="TableBucket"/> for a single lookup, insert or delete, its further lines
        /// asked for at once (<see cref="PrefetchPastTopHash"/>).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static byte* TableBucketPrefetched(nuint table, ulong hash)
        {
            byte* b = TableBucket(table, hash);
            PrefetchPastTopHash(b);
            return b;
        }

        /// <summary>Bytes of an overflow chunk of <paramref name="n"/> buckets: a cache line holding the count, then the buckets.</summary>
        internal static ulong ChunkBytes(long n) => 64 + ((ulong)n * (ulong)BucketSize);

        /// <summary>The bucket count stored at the start of an overflow chunk.</summary>
        internal static ref long ChunkCount(byte* chunk) => ref *(long*)chunk;

        /// <summary>Bucket <paramref name="i"/> of an overflow chunk.</summary>
        internal static byte* ChunkBucket(byte* chunk, long i) => chunk + 64 + ((ulong)i * (ulong)BucketSize);

        /// <summary>Pointer to the value of slot <paramref name="i"/>, through its pointer when indirect (never null: see <see cref="Tables.NullSlotTarget"/>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static TValue* ValuePtr(byte* b, int i) => ValueAt(ValueSlot(b, i));

        /// <summary>
        /// Asks the CPU to start loading a bucket's cache lines: the lines of b, b + 64, b + 128
        /// and b + 192, as far as the bucket reaches (up to four). That covers every line of a
        /// bucket whose size is a multiple of 16, up to 208 bytes, wherever it starts (it starts at
        /// a multiple of 16 then): <c>&lt;long,long&gt;</c> (144 bytes), <c>&lt;int,int&gt;</c>
        /// (80), <c>&lt;Guid,long&gt;</c> (208; before the fourth line was added, its last values
        /// could fall outside). Not covered: the last bytes (the overflow pointer) of a bucket of
        /// another size that starts late in its line (an 88-byte <c>&lt;long,byte&gt;</c> one at
        /// offset 48 spans three lines, two are asked for), and the lines past the fourth of a
        /// bucket over 256 bytes.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static void PrefetchBucket(byte* b)
        {
            Prefetch.Read(b);
            PrefetchNextLines(b);
        }

        /// <summary>
        /// For one lookup, insert or delete: asks the CPU to start loading the cache lines of a
        /// bucket after the one its tophash word is in (up to 3 more), as soon as the bucket is
        /// known, for buckets of at most <see cref="PrefetchedBucketBytes"/>: in a table larger than
        /// the caches the tophash, key and value lines then miss together instead of one after
        /// another. A bigger bucket asks for nothing: its slot's key and value are one or two of
        /// four to nine further lines, so the first three are mostly not the ones the operation
        /// reads, and loading them takes memory bandwidth and miss slots from the operations after
        /// it. Measured at 1,000,000 entries (quick comparison, three alternating runs):
        /// <c>&lt;int,Entity64&gt;</c> (560-byte buckets) update_via_ref 0.79-0.94 → 0.91-1.11 of
        /// Dictionary, lookup_hit unchanged (0.64-0.67 → 0.60-0.95); 32-byte name keys (304-byte
        /// buckets) lookup_miss 14.3-19.7 → 10.6-15.4 ns, lookup_hit unchanged.
        /// Tried since and not kept (2026-12-02): asking for the lines of b + 64 to b + 256 (or
        /// to b + 384) in the copy-out lookups only (TryRead), where a hit needs its whole value.
        /// For every bucket over 256 bytes (one build, switched by an environment variable, three
        /// runs each): <c>&lt;int,Entity64&gt;</c> lookup_hit at 1,000,000 0.73-0.76 → 0.77-0.89
        /// of Dictionary, but name misses 8.2-8.3 → 11-17 ns. For values of 32 bytes or more only
        /// (four pairs alternated against the build without it): entity lookup_hit 0.69-0.79 →
        /// 0.74-0.88, fastest GoMap time 40.8 → 39.2 ns, within this VM's noise.
        /// Measured again on 2026-12-03 for the lookups (TryRead and GetValueRefOrNullRef), in
        /// one process that switched the prefetch off and on between rounds (a static the probe
        /// set, so the machine's slow phases hit both alike; 1,000,000 and 10,000,000 entries,
        /// <c>&lt;int,int&gt;</c>, <c>&lt;long,long&gt;</c> and <c>&lt;Guid,long&gt;</c> maps side by side,
        /// hits and misses, 5 to 9 rounds): without it, hits took 15-20 % longer at 1M for
        /// <c>&lt;long&gt;</c> and <c>&lt;Guid&gt;</c> (<c>&lt;long&gt;</c> 30.0-31.5 → 35.7-36.2 ns)
        /// and 10-20 % longer at 10M for all three, while misses at 1M took 15-25 % less (a miss
        /// reads only the tophash line; <c>&lt;long&gt;</c> 22.9-23.8 → 19.1-19.8 ns) and at 10M about
        /// the same (the variants ran in a fixed order in each round; swapping it moved figures of
        /// small tables by up to 10 %, against the first variant, which here was the prefetch:
        /// the hits' difference is beyond that, the misses' partly within it). Asking for
        /// b + 64 only measured as the whole prefetch. At 1,000 entries,
        /// alternated quick comparisons ran lookups 4-13 % faster without it (four instructions
        /// fewer; <c>&lt;long&gt;</c> misses 1.92-1.96 → 1.67-1.73 ns), the in-process rounds
        /// mixed (<c>&lt;long&gt;</c> slower, <c>&lt;int&gt;</c> and <c>&lt;Guid&gt;</c> faster). Kept:
        /// a hit is the common lookup, and big tables are what the prefetch is for. (The
        /// alternated quick comparisons had also suggested 1M misses 45 % faster and hits
        /// unchanged; the in-process rounds did not bear the hits out.) Also tried (2026-12-03):
        /// no prefetch for arrays of at most 48 KiB (this CPU's L1 data cache), B read from the
        /// table word. Three alternated quick comparisons at 1,000 entries: <c>&lt;long&gt;</c>
        /// hits 2.55-2.62 → 2.41-2.48 ns, misses 1.93-1.94 → 1.77-1.90, updates 3-5 % faster;
        /// <c>&lt;int&gt;</c> (one line asked for) and <c>&lt;Guid&gt;</c> (53 KiB, still prefetched)
        /// unchanged. Not kept: it pays only while the small table is hot in L1, and a small map
        /// touched now and then (many small maps, or one between other work) would take its
        /// lines one miss after another, which is what the prefetch is there to overlap.
        /// Measured again on an AMD EPYC Zen 4 VM (2026-12-07, a probe looking up 1,000, 1,000,000
        /// and 10,000,000 random <c>&lt;long,long&gt;</c> keys with <c>Dictionary</c> in the same
        /// process, a copy of the library switched by an environment variable, alternated
        /// processes): b + 64 alone, without b + 128, made 1,000-entry hits 3.16-3.20 → 3.02-3.05 ns
        /// and misses 2.57-2.61 → 2.38-2.42 (0.89 → 0.94-0.95 of Dictionary), but 1M hits
        /// 23.8-25.7 → 26.0-28.9 ns (four pairs) and 10M hits 33.1-33.6 → 37.2-37.4: on that CPU
        /// the line past b + 64 is not brought by the one before it. Not kept. Nor, in TryRead
        /// only, for values of 32 bytes or more in buckets over 256 bytes, the lines of b + 64 to
        /// b + 192 (or b + 256), where the entity buckets' first values lie: 1,000,000 random
        /// <c>&lt;int,Entity64&gt;</c> lookups 43.9-45.9 → 41.9-42.7 ns (40.4-42.3), three runs
        /// each, a gain smaller than <c>Dictionary</c>'s own spread in those runs (38.8-45.3 ns).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static void PrefetchPastTopHash(byte* b)
        {
            if (BucketSize <= PrefetchedBucketBytes)
            {
                PrefetchNextLines(b);
            }
        }

        /// <summary>Up to this size (four lines), a single operation prefetches the whole bucket (<see cref="PrefetchPastTopHash"/>).</summary>
        private const int PrefetchedBucketBytes = 256;

        /// <summary>The lines of b + 64, b + 128 and b + 192, as far as the bucket reaches.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void PrefetchNextLines(byte* b)
        {
            if (BucketSize > 64)
            {
                Prefetch.Read(b + 64);
            }

            if (BucketSize > 128)
            {
                Prefetch.Read(b + 128);
            }

            if (BucketSize > 192)
            {
                Prefetch.Read(b + 192);
            }
        }

        /// <summary>
        /// Asks for the lines of slot <paramref name="i"/>'s key and value (the lines of their
        /// first and last bytes; for indirect slots, of the pointers): for a batched lookup that
        /// read the bucket's tophash word already and knows its candidate, so that a hit loads
        /// the lines it reads and not the whole bucket (<see cref="GoMap{TKey, TValue}"/>'s
        /// FindMany).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static void PrefetchSlot(byte* b, int i)
        {
            byte* k = KeySlot(b, i);
            Prefetch.Read(k);
            if (MayCrossLine(KeySlotSize))
            {
                Prefetch.Read(k + KeySlotSize - 1);
            }

            byte* v = ValueSlot(b, i);
            Prefetch.Read(v);
            if (MayCrossLine(ValueSlotSize))
            {
                Prefetch.Read(v + ValueSlotSize - 1);
            }
        }

        /// <summary>
        /// Whether a key or value slot of <paramref name="size"/> bytes may span two cache lines:
        /// not one of a power of two up to 8 bytes, whose slots start at multiples of their size
        /// (bucket sizes are multiples of 8 and arrays and chunks 64-byte aligned, so buckets
        /// start at multiples of 8; the keys start at byte 8 and the values after 8 key slots).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static bool MayCrossLine(int size) => size > 8 || (size & (size - 1)) != 0;

        /// <summary>
        /// The two blocks this layout allocates (the walk's offset rows, the null slot target),
        /// apart from the layout numbers above: an initializer that allocates cannot run at
        /// compile time, and with them in BucketLayout's own, the native AOT compiler computed
        /// none of BucketLayout's numbers ahead (each read was a load behind a class-constructor
        /// check, and the branches on IndirectKey stayed in the code). The JIT folds both kinds alike.
        /// </summary>
        private static class Tables
        {
            /// <summary>
            /// The inline walk's slot addresses, precomputed: for each slot offset (8 rows) and each
            /// bit of a group mask (64 per row), the byte offsets from the group's first bucket of the
            /// bit's key slot and value slot (<see cref="GroupBucket"/>, then <see cref="KeySlot"/> and
            /// <see cref="ValueSlot"/> of slot (bit mod 8 + offset) mod 8), as two ushorts. One load
            /// from the row replaces the bucket and slot arithmetic of every yielded entry (see
            /// <see cref="WalkKey"/>). Made once per layout and load of the library and never freed
            /// (outside <see cref="NativeHeap"/>'s accounts), as <see cref="NullSlotTarget"/>; 2 KiB,
            /// which a domain reload leaves behind (as <see cref="IterRegistration.IdleEpochWord"/>).
            /// </summary>
            internal static readonly ushort* WalkSlotOffsets = MakeWalkSlotOffsets();

            /// <summary>
            /// What <see cref="Key"/> and <see cref="Value"/> read through a null slot pointer: zero
            /// bytes, one block per layout with indirect slots, made once per load of the library and
            /// never freed (outside <see cref="NativeHeap"/>'s accounts). A live slot never holds a
            /// null pointer; a read racing writes (misuse, Go mode) can meet one: it matched a slot's
            /// tophash, then the bucket was discarded (zero pages) or cleared by the map that took it
            /// from the reuse cache. It then reads a zero key or value instead of dereferencing null
            /// (found by a hostile harness: NullReferenceException and access violations in Go mode).
            /// </summary>
            internal static readonly byte* NullSlotTarget = IndirectKey || IndirectValue
                ? (byte*)NativeMemory.AllocZeroed((nuint)Math.Max(sizeof(TKey), sizeof(TValue)))
                : null;
        }

        /// <summary>Bytes of a bucket array for 2^B buckets plus its preallocated overflow tail, or null when that overflows 64 bits.</summary>
        internal static ulong? ArrayBytes(int b)
        {
            ulong n = MapMath.ArrayBucketCount(b);
            return n > ulong.MaxValue / (ulong)BucketSize ? null : n * (ulong)BucketSize;
        }

        /// <summary>A byte, then a T: the offset of its T is T's natural alignment as the runtime lays types out (<c>sizeof(AlignProbe&lt;T&gt;) - sizeof(T)</c>).</summary>
        private struct AlignProbe<T>
            where T : unmanaged
        {
#pragma warning disable CS0649 // never assigned: only its layout is used
            public byte Pad;
            public T Value;
#pragma warning restore CS0649
        }
    }
}
