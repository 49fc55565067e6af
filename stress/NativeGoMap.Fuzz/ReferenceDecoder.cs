using System;
using System.Collections.Generic;
using System.Text;

// An independent, slow decoder of the snapshot format, written from the format's description at
// the top of src/NativeGoMap/SnapshotFormat.cs (versions 1 and 2), so that the oracle can say what an
// input holds without asking the library's loader. It shares no code with the library: its own
// little-endian reads, its own bitwise CRC-32C, its own FNV-1a, type names and shapes written out
// by hand for the types the oracle loads, and Go's load factor rule for the smallest B.
// Compiled into the fuzz target and into both test projects, as SnapshotOracle.cs is.
namespace NativeGoMap.Fuzz
{
    /// <summary>What the reference decoder makes of an input for one key/value type pair.</summary>
    public enum ReferenceVerdict
    {
        /// <summary>A well-formed snapshot of these types: the library must load exactly <see cref="ReferenceDecoding.Keys"/> and <see cref="ReferenceDecoding.Values"/>.</summary>
        Valid,

        /// <summary>Not a snapshot of these types (the reason says why): the library must refuse it.</summary>
        Invalid,

        /// <summary>A version above 2 whose header checks out as far as every version shares: the library must refuse it as newer (NotSupportedException).</summary>
        Newer,

        /// <summary>
        /// Well-formed except for a field whose bound the format leaves to the machine or the
        /// runtime (a B near the largest addressable bucket array, a fingerprint in the
        /// pre-2026-12-05 spelling): the library may load it or refuse it, but what it loads must
        /// be <see cref="ReferenceDecoding.Keys"/> and <see cref="ReferenceDecoding.Values"/>.
        /// </summary>
        Either,
    }

    /// <summary>The reference decoder's reading of one input.</summary>
    public sealed class ReferenceDecoding
    {
        public ReferenceVerdict Verdict { get; internal set; }

        /// <summary>Why the input is not <see cref="ReferenceVerdict.Valid"/>; null when it is.</summary>
        public string? Reason { get; internal set; }

        /// <summary>
        /// Invalid only because two keys are equal under the map's equality: every byte checks out,
        /// and the one refusal that needs the map's hashing and equality is left (the last check made).
        /// </summary>
        public bool EqualKeys { get; internal set; }

        /// <summary>Bytes a reader consumes: header, entries and entries checksum (set when the entries were decoded).</summary>
        public long Length { get; internal set; }

        /// <summary>Each entry's key bytes, in the input's order (set when the entries were decoded).</summary>
        public List<byte[]> Keys { get; } = new List<byte[]>();

        /// <summary>Each entry's value bytes, in the input's order.</summary>
        public List<byte[]> Values { get; } = new List<byte[]>();

        public override string ToString() => Verdict + (Reason is null ? string.Empty : ": " + Reason) + (Verdict is ReferenceVerdict.Valid or ReferenceVerdict.Either ? $" ({Keys.Count} entries, {Length} bytes)" : string.Empty);
    }

    /// <summary>What the format says about one key or value type, written out by hand.</summary>
    public sealed class ReferenceType
    {
        public ReferenceType(string name, int size, string shape, string? legacyShape = null)
        {
            Name = name;
            Size = size;
            Shape = shape;
            LegacyShape = legacyShape ?? shape;
        }

        /// <summary>Namespace-qualified name, as the header spells it.</summary>
        public string Name { get; }

        /// <summary>sizeof of the type.</summary>
        public int Size { get; }

        /// <summary>
        /// The shape the fingerprint hashes: the name, and for a struct its fields' shapes in
        /// braces (no field names). The same in versions 1 and 2: version 2 adds the runtime's
        /// field order only for structs declared LayoutKind.Auto, and none of these types is.
        /// </summary>
        public string Shape { get; }

        /// <summary>The shape with a packing of 8 spelled out, as writers before 2026-12-05 made it on a runtime that reports one (accepted in version-1 headers only).</summary>
        public string LegacyShape { get; }

        /// <summary>Bytes of the type in a bucket slot: Go stores keys and values over 128 bytes through a pointer.</summary>
        public int SlotSize => Size > 128 ? 8 : Size;

        public static readonly ReferenceType Int16 = new("System.Int16", 2, "System.Int16");
        public static readonly ReferenceType Int32 = new("System.Int32", 4, "System.Int32");
        public static readonly ReferenceType Int64 = new("System.Int64", 8, "System.Int64");
        public static readonly ReferenceType Double = new("System.Double", 8, "System.Double");

        public static readonly ReferenceType FuzzKey3 = new(
            "NativeGoMap.Fuzz.FuzzKey3",
            3,
            "NativeGoMap.Fuzz.FuzzKey3{System.Byte;System.Byte;System.Byte;}",
            "NativeGoMap.Fuzz.FuzzKey3<Sequential pack 8 size 0>{System.Byte;System.Byte;System.Byte;}");

#if NET8_0_OR_GREATER
        public static readonly ReferenceType FuzzBlob144 = new(
            "NativeGoMap.Fuzz.FuzzBlob144",
            144,
            "NativeGoMap.Fuzz.FuzzBlob144[144]{System.Byte;}",
            "NativeGoMap.Fuzz.FuzzBlob144<Sequential pack 8 size 0>[144]{System.Byte;}");
#else
        // netstandard2.1's stand-in (SnapshotOracle.cs) is a fixed buffer, of another shape: there
        // the corpus's inputs of the [InlineArray] type are of another type, and refused.
        public static readonly ReferenceType FuzzBlob144 = new(
            "NativeGoMap.Fuzz.FuzzBlob144",
            144,
            "NativeGoMap.Fuzz.FuzzBlob144{System.Byte[144];}",
            "NativeGoMap.Fuzz.FuzzBlob144<Sequential pack 8 size 0>{System.Byte[144];}");
#endif
    }

    /// <summary>The reference decoder (see the file's opening comment).</summary>
    public static class ReferenceDecoder
    {
        private const ulong Magic = 0x0A0D50414D474E89UL; // 89 'N' 'G' 'M' 'A' 'P' 0D 0A, little-endian
        private const int PrefixLength = 16;
        private const int FixedHeaderLength = 48;
        private const int MaxHeaderLength = 4096;
        private const int MaxTypeNameLength = 1024;
        private const int ChecksumLength = 4;
        private const int LogMaxAlloc = 48; // Go's maxAlloc on 64-bit: the bound on a bucket array's bytes

        /// <summary>
        /// Decodes <paramref name="input"/> as a snapshot of <paramref name="key"/> to
        /// <paramref name="value"/> whose keys are equal when <paramref name="keysEqual"/> says so
        /// (the map's equality: a key twice makes a snapshot invalid). With
        /// <paramref name="ignoreChecksums"/>, checksum mismatches are not errors (the library's
        /// fuzzing hook), everything else is still checked.
        /// </summary>
        public static ReferenceDecoding Decode(byte[] input, ReferenceType key, ReferenceType value, Func<byte[], byte[], bool> keysEqual, Func<byte[], int> keyHash, bool ignoreChecksums)
        {
            var d = new ReferenceDecoding();
            string? why = DecodeInto(d, input, key, value, keysEqual, keyHash, ignoreChecksums);
            if (why is not null)
            {
                if (d.Verdict == ReferenceVerdict.Valid)
                {
                    d.Verdict = ReferenceVerdict.Invalid;
                }

                d.Reason = why;
            }

            return d;
        }

        private static string? DecodeInto(ReferenceDecoding d, byte[] input, ReferenceType key, ReferenceType value, Func<byte[], byte[], bool> keysEqual, Func<byte[], int> keyHash, bool ignoreChecksums)
        {
            // What every version shares: magic, version, header length, the whole header and its checksum.
            if (input.Length >= 8 && U64(input, 0) != Magic)
            {
                return "no magic";
            }

            if (input.Length < PrefixLength)
            {
                return $"truncated in the first {PrefixLength} bytes";
            }

            uint version = U32(input, 8);
            uint h = U32(input, 12);
            if (h < PrefixLength + ChecksumLength || h > MaxHeaderLength)
            {
                return $"header length {h} out of [{PrefixLength + ChecksumLength}, {MaxHeaderLength}]";
            }

            if (input.Length < h)
            {
                return $"truncated inside the {h}-byte header";
            }

            uint headerChecksum = U32(input, (int)h - ChecksumLength);
            if (!ignoreChecksums && Crc32C(input, 0, (int)h - ChecksumLength, 0) != headerChecksum)
            {
                return "header checksum mismatch";
            }

            if (version > 2)
            {
                d.Verdict = ReferenceVerdict.Newer;
                return $"version {version}";
            }

            if (version == 0)
            {
                return "version 0";
            }

            // Versions 1 and 2 have the same fields.
            if (h < FixedHeaderLength + ChecksumLength)
            {
                return $"header of {h} bytes shorter than version {version}'s fixed part";
            }

            int kn = U16(input, 42);
            int vn = U16(input, 44);
            if (kn > MaxTypeNameLength || vn > MaxTypeNameLength || FixedHeaderLength + kn + vn + ChecksumLength != h)
            {
                return $"type names of {kn} and {vn} bytes do not fill a {h}-byte header";
            }

            if (U16(input, 46) != 0)
            {
                return "reserved field not 0";
            }

            if (input[41] != 0)
            {
                return $"seed policy {input[41]}";
            }

            if (!SameBytes(input, FixedHeaderLength, kn, Encoding.UTF8.GetBytes(key.Name)) || U32(input, 24) != (uint)key.Size)
            {
                return $"key type {Encoding.UTF8.GetString(input, FixedHeaderLength, kn)} of {U32(input, 24)} bytes, not {key.Name} of {key.Size}";
            }

            if (!SameBytes(input, FixedHeaderLength + kn, vn, Encoding.UTF8.GetBytes(value.Name)) || U32(input, 28) != (uint)value.Size)
            {
                return $"value type {Encoding.UTF8.GetString(input, FixedHeaderLength + kn, vn)} of {U32(input, 28)} bytes, not {value.Name} of {value.Size}";
            }

            ulong fingerprint = U64(input, 32);
            bool legacy = false;
            if (fingerprint != Fnv1a(key.Shape + "|" + value.Shape))
            {
                if (version != 1 || fingerprint != Fnv1a(key.LegacyShape + "|" + value.LegacyShape))
                {
                    return $"fingerprint {fingerprint:x16} is not that of {key.Shape}|{value.Shape}";
                }

                legacy = true; // accepted where the runtime reports the packing it spells out
            }

            long count = (long)U64(input, 16);
            int entrySize = key.Size + value.Size;
            if (count < 0)
            {
                return $"count {count}";
            }

            int b = input[40];
            int minB = GoB(count);
            if (b < minB)
            {
                return $"B = {b} below Go's B {minB} for {count} entries";
            }

            // The largest B whose bucket array (tophash word, 8 key slots, 8 value slots, an
            // overflow pointer, some padding) stays within 2^48 bytes: known only within the
            // bounds of the padding, which is the library's layout, not the format's.
            long bucketAtLeast = 8 + (8L * (key.SlotSize + value.SlotSize)) + 8;
            long bucketAtMost = bucketAtLeast + 16;
            if (b > Math.Min(63, LogMaxAlloc - Log2Floor(bucketAtLeast)))
            {
                return $"B = {b} beyond any addressable bucket array";
            }

            bool bUncertain = b > LogMaxAlloc - Log2Ceiling(bucketAtMost);

            // The entries and their checksum.
            long left = input.Length - (long)h;
            if (count > (left - ChecksumLength) / entrySize || left < ChecksumLength)
            {
                return $"truncated: {count} entries of {entrySize} bytes and a checksum do not fit in {left} bytes";
            }

            int entries = (int)h;
            int end = entries + ((int)count * entrySize);
            uint expected = Crc32C(input, entries, end - entries, Crc32C(input, (int)h - ChecksumLength, ChecksumLength, 0, finish: false), start: false);
            if (!ignoreChecksums && U32(input, end) != expected)
            {
                return "entries checksum mismatch";
            }

            d.Length = end + ChecksumLength;

            // Every entry, and no key twice under the map's equality.
            var seen = new Dictionary<int, List<int>>();
            for (int i = 0; i < count; i++)
            {
                byte[] k = Slice(input, entries + (i * entrySize), key.Size);
                byte[] v = Slice(input, entries + (i * entrySize) + key.Size, value.Size);
                int hash = keyHash(k);
                if (!seen.TryGetValue(hash, out List<int>? same))
                {
                    same = new List<int>();
                    seen.Add(hash, same);
                }

                foreach (int j in same)
                {
                    if (keysEqual(d.Keys[j], k))
                    {
                        d.Keys.Clear();
                        d.Values.Clear();
                        d.EqualKeys = true;
                        return $"entries {j} and {i} have equal keys {Hex(k)}";
                    }
                }

                same.Add(i);
                d.Keys.Add(k);
                d.Values.Add(v);
            }

            if (legacy || bUncertain)
            {
                d.Verdict = ReferenceVerdict.Either;
                d.Reason = legacy ? "fingerprint in the pre-2026-12-05 spelling" : $"B = {b} near the largest addressable";
            }

            return null;
        }

        /// <summary>Go's B for a count: the smallest B whose 2^B buckets hold it under the load factor 6.5 (makemap's overLoadFactor).</summary>
        public static int GoB(long count)
        {
            int b = 0;
            while (count > 8 && (ulong)count > 13 * ((1UL << b) / 2))
            {
                b++;
            }

            return b;
        }

        /// <summary>CRC-32C (Castagnoli, reflected 0x82F63B78), one bit at a time.</summary>
        public static uint Crc32C(byte[] bytes, int offset, int length, uint state = 0, bool start = true, bool finish = true)
        {
            uint crc = start ? 0xFFFFFFFFu : state;
            for (int i = offset; i < offset + length; i++)
            {
                crc ^= bytes[i];
                for (int bit = 0; bit < 8; bit++)
                {
                    crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
                }
            }

            return finish ? ~crc : crc;
        }

        /// <summary>
        /// Rewrites both checksums of a snapshot whose header length and count are as given, as a
        /// writer would have made them (for mutations that must get past the checksums).
        /// Does nothing where the fields do not fit the input.
        /// </summary>
        public static void FixChecksums(byte[] s, int entrySize)
        {
            if (s.Length < PrefixLength)
            {
                return;
            }

            uint h = U32(s, 12);
            if (h < PrefixLength + ChecksumLength || h > s.Length)
            {
                return;
            }

            uint crc = Crc32C(s, 0, (int)h - ChecksumLength);
            W32(s, (int)h - ChecksumLength, crc);
            if (h < 24)
            {
                return;
            }

            long count = (long)U64(s, 16);
            if (s.Length - h < ChecksumLength || count < 0 || count > (s.Length - h - ChecksumLength) / entrySize)
            {
                return;
            }

            int end = (int)h + ((int)count * entrySize);
            W32(s, end, Crc32C(s, (int)h, end - (int)h, Crc32C(s, (int)h - ChecksumLength, ChecksumLength, 0, finish: false), start: false));
        }

        public static ulong Fnv1a(string s)
        {
            ulong hash = 0xcbf29ce484222325UL;
            foreach (byte c in Encoding.UTF8.GetBytes(s))
            {
                hash = (hash ^ c) * 0x100000001b3UL;
            }

            return hash;
        }

        public static string Hex(byte[] bytes) => BitConverter.ToString(bytes).Replace("-", string.Empty, StringComparison.Ordinal);

        public static ushort U16(byte[] s, int at) => (ushort)(s[at] | (s[at + 1] << 8));

        public static uint U32(byte[] s, int at) => (uint)(s[at] | (s[at + 1] << 8) | (s[at + 2] << 16) | (s[at + 3] << 24));

        public static ulong U64(byte[] s, int at) => U32(s, at) | ((ulong)U32(s, at + 4) << 32);

        public static void W32(byte[] s, int at, uint v)
        {
            for (int i = 0; i < 4; i++)
            {
                s[at + i] = (byte)(v >> (8 * i));
            }
        }

        public static void W64(byte[] s, int at, ulong v)
        {
            W32(s, at, (uint)v);
            W32(s, at + 4, (uint)(v >> 32));
        }

        private static int Log2Floor(long x)
        {
            int r = 0;
            while ((x >>= 1) != 0)
            {
                r++;
            }

            return r;
        }

        private static int Log2Ceiling(long x) => Log2Floor(x) + ((x & (x - 1)) != 0 ? 1 : 0);

        private static bool SameBytes(byte[] s, int at, int length, byte[] expected)
        {
            if (length != expected.Length)
            {
                return false;
            }

            for (int i = 0; i < length; i++)
            {
                if (s[at + i] != expected[i])
                {
                    return false;
                }
            }

            return true;
        }

        private static byte[] Slice(byte[] s, int at, int length)
        {
            var r = new byte[length];
            Array.Copy(s, at, r, 0, length);
            return r;
        }
    }
}
