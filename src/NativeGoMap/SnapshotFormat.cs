// The snapshot format of GoMap.WriteTo and GoMap.ReadFrom (GoMap.Snapshot.cs), version 2. Version 1
// has the same bytes; only its fingerprint's shapes differ (offset 32). Readers read both.
//
// A snapshot is a header, the entries, and a checksum. Every integer is little-endian.
//
//   offset     size   field
//   0          8      magic 89 'N' 'G' 'M' 'A' 'P' 0D 0A. The first byte has its high bit set and the
//                     last two are CR LF (PNG's trick): a 7-bit channel or a newline conversion
//                     breaks the magic instead of the data.
//   8          4      format version: 2 (1 from the library until 2026-12-07)
//   12         4      header length H: bytes from offset 0 through the header checksum. Every
//                     version keeps these first 16 bytes and ends its header with its checksum, so
//                     a reader can check a newer header before it says "newer" (a corrupted version
//                     field is corruption, not a newer format). H is at most MaxHeaderLength.
//   16         8      count: the number of entries that follow, 0 or more
//   24         4      key size in bytes (sizeof(TKey); the key itself even when the map stores it
//                     through a pointer)
//   28         4      value size in bytes
//   32         8      type fingerprint: FNV-1a 64 of the shapes of the key and value types (the types
//                     of their fields, recursively, fixed-buffer and inline-array lengths, explicit
//                     layouts, a packing other than 8, and 8 too where a field may align beyond 8
//                     bytes), so that a type whose name stayed but whose fields changed is refused.
//                     Version 2 adds, for a struct declared LayoutKind.Auto with two or more
//                     fields (a ValueTuple, DateTimeOffset), the runtime's order for such fields
//                     (SnapshotFormat.AutoLayout): CoreCLR puts the widest first, Mono keeps the
//                     declaration's, so such a snapshot moves only between runtimes that order
//                     alike. A version-1 fingerprint lacks it and is accepted in version-1 headers
//                     only, as are the shapes with every packing of 8 spelled out, as writers
//                     before 2026-12-05 made them
//   40         1      B of the writing map, log2 of its buckets, raised to Go's B for the count when
//                     the map holds more (inserts during a shrink or a same-size growth start no
//                     growth, so a live map can). Informational: the loader checks it is consistent
//                     with the count (B ≥ Go's B for the count) but builds the map with Go's B for
//                     the count, as inserts would (a sparse map loads compact)
//   41         1      seed policy: 0 = the loader draws a fresh seed, or takes GoMapOptions.Seed.
//                     The only policy of versions 1 and 2: a seed is never written, because a seed on disk
//                     is a hash-flooding key handed to whoever can read the file
//   42         2      key type name length Kn, in UTF-8 bytes (at most MaxTypeNameLength)
//   44         2      value type name length Vn
//   46         2      reserved, 0
//   48         Kn     key type name: namespace-qualified, generic arguments in brackets, no assembly
//   48+Kn      Vn     value type name
//   H-4        4      header checksum: CRC-32C of bytes [0, H-4)
//   H          n×E    the entries, E = key size + value size bytes each: the key's bytes then the
//                     value's, as they lie in memory, with no padding between entries
//   H+n×E      4      entries checksum: CRC-32C of the header checksum's 4 bytes followed by the
//                     entry bytes (so entries spliced under another snapshot's header fail)
//
// A reader consumes exactly these bytes and nothing after them: snapshots can follow one another
// in a stream. CRC-32C finds every error in up to 32 consecutive bits, so any single corrupted
// byte is caught; it is not a signature: a crafted file with valid checksums is still checked
// field by field and entry by entry (a duplicate key is refused). Keys and values are raw
// memory, so a snapshot is for the same program's types on a little-endian machine (every
// machine .NET runs on today); a big-endian one refuses both directions.
using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using System.Linq;
using System.Numerics;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace NativeGoMap
{
    /// <summary>The constants, header, checksum and type identity of the snapshot format (see the file's opening comment).</summary>
    internal static unsafe class SnapshotFormat
    {
        /// <summary>
        /// Reads until <paramref name="buffer"/> is full or the stream ends (Stream.ReadAtLeast
        /// with throwOnEndOfStream: false, which netstandard2.1 lacks); returns the bytes read.
        /// </summary>
        internal static int ReadAtLeast(Stream stream, Span<byte> buffer)
        {
            int got = 0;
            while (got < buffer.Length)
            {
                int n = stream.Read(buffer.Slice(got));
                if (n == 0)
                {
                    break;
                }

                got += n;
            }

            return got;
        }

        /// <summary>The version this library writes, and the newest it reads (it reads version 1 too).</summary>
        internal const uint Version = 2;

        /// <summary>
        /// This runtime's order for the fields of a struct declared <c>LayoutKind.Auto</c>, which
        /// the runtime chooses, not the declaration: the offsets of a probe's four fields (a
        /// byte, a long, an int and a short, declared in that order). CoreCLR gives "14.0.8.12"
        /// (the widest field first), Mono 6.8 "0.8.16.20" (declaration order), so
        /// that a <c>(int, long)</c> tuple is the int then the long under Mono and the long then
        /// the int under CoreCLR, with one size and one declaration. Version 2's shapes carry it
        /// for such structs (<see cref="ShapeRules.Version2"/>): a snapshot of one moves only
        /// between runtimes that order it alike. Version 1's did not, so a snapshot moved from one
        /// runtime to the other, or written before a type's layout kind changed, loaded with the
        /// fields' bytes exchanged (a review, 2026-12-07).
        /// </summary>
        internal static readonly string AutoLayout = ProbeAutoLayout();

        [StructLayout(LayoutKind.Auto)]
        private struct AutoLayoutProbe
        {
            public byte A;
            public long B;
            public int C;
            public short D;
        }

        private static string ProbeAutoLayout()
        {
            AutoLayoutProbe p = default;
            byte* start = (byte*)&p;
            return System.FormattableString.Invariant($"{(byte*)&p.A - start}.{(byte*)&p.B - start}.{(byte*)&p.C - start}.{(byte*)&p.D - start}");
        }

        /// <summary>Bytes before the type names in a header (versions 1 and 2 have the same fields).</summary>
        internal const int FixedHeaderLength = 48;

        /// <summary>Bytes of the magic, version and header length that every version shares.</summary>
        internal const int PrefixLength = 16;

        /// <summary>Longest header of any version: a bound on what a reader buffers before it can check anything.</summary>
        internal const int MaxHeaderLength = 4096;

        /// <summary>Longest type name a header may carry, in UTF-8 bytes.</summary>
        internal const int MaxTypeNameLength = 1024;

        /// <summary>Bytes of a checksum (header and entries).</summary>
        internal const int ChecksumLength = 4;

        /// <summary>Seed policy 0: the loader seeds the map itself.</summary>
        internal const byte SeedPolicyFresh = 0;

        /// <summary>The magic, as a little-endian word: 89 'N' 'G' 'M' 'A' 'P' 0D 0A.</summary>
        internal const ulong Magic = 0x0A0D50414D474E89UL;

        /// <summary>
        /// Test and fuzzing hook, per thread: when true, checksum mismatches are ignored so that
        /// a fuzzer's mutations reach the checks behind the checksums (counts, types, duplicate
        /// keys). Every one of those checks must hold on its own; the checksums only say which
        /// error a corrupted file gets.
        /// </summary>
        [ThreadStatic]
        private static bool t_ignoreChecksums;

        internal static bool IgnoreChecksums
        {
            get => t_ignoreChecksums;
            set => t_ignoreChecksums = value;
        }

        /// <summary>
        /// Test and fuzzing hook, per thread: when above 0, the bytes of bucket memory one load
        /// partition fills, in place of the 256 KiB a load uses (GoMap's LoadPartitionBytes; 1:
        /// one bucket per partition, up to 2^12 partitions). With the default, a load of fewer
        /// than about 6,600 <c>&lt;long,long&gt;</c> entries is one partition, and no input a
        /// fuzzer makes (a few KB) reached the loads of several partitions, their spills and
        /// their abandonment (a review found, 2026-12-06).
        /// </summary>
        [ThreadStatic]
        private static int t_loadPartitionBytes;

        internal static int LoadPartitionBytesForTest
        {
            get => t_loadPartitionBytes;
            set => t_loadPartitionBytes = value;
        }

        /// <summary>The initial state of a CRC-32C register.</summary>
        internal const uint CrcStart = 0xFFFFFFFFu;

        /// <summary>The CRC-32C of the bytes fed into a register since <see cref="CrcStart"/>.</summary>
        internal static uint CrcFinish(uint state) => ~state;

        /// <summary>
        /// Feeds <paramref name="length"/> bytes into a CRC-32C register. Eight bytes per step with
        /// the processor's CRC instruction where there is one (<see cref="BitOperations.Crc32C(uint, ulong)"/>).
        /// </summary>
        internal static uint CrcUpdate(uint state, byte* p, nuint length)
        {
            nuint i = 0;
            for (; length - i >= 8; i += 8)
            {
                state = BitOperations.Crc32C(state, Unsafe.ReadUnaligned<ulong>(p + i));
            }

            for (; i < length; i++)
            {
                state = BitOperations.Crc32C(state, p[i]);
            }

            return state;
        }

        /// <summary>CRC-32C of a span (a Span, not a ReadOnlySpan: Mono cannot pin a ReadOnlySpan from netstandard2.1, see CompatTests).</summary>
        internal static uint Crc(Span<byte> bytes)
        {
            fixed (byte* p = bytes)
            {
                return CrcFinish(CrcUpdate(CrcStart, p, (nuint)bytes.Length));
            }
        }

        /// <summary>The register that checks the entries: seeded with the header checksum's bytes.</summary>
        internal static uint EntriesCrcStart(uint headerChecksum)
        {
            uint le = BitConverter.IsLittleEndian ? headerChecksum : BinaryPrimitives.ReverseEndianness(headerChecksum);
            return CrcUpdate(CrcStart, (byte*)&le, 4);
        }

        /// <summary>Refuses big-endian machines: entries are raw little-endian memory.</summary>
        internal static void CheckEndianness()
        {
            if (!BitConverter.IsLittleEndian)
            {
                SnapshotErrors.BigEndian();
            }
        }

        /// <summary>The name a header gives a type: namespace-qualified, generic arguments in brackets, no assembly.</summary>
        internal static string CanonicalName(Type t)
        {
            if (t.IsPointer)
            {
                return CanonicalName(t.GetElementType()!) + "*";
            }

            if (t.IsGenericType && !t.IsGenericTypeDefinition)
            {
                return t.GetGenericTypeDefinition().FullName + "[" + string.Join(",", t.GetGenericArguments().Select(CanonicalName)) + "]";
            }

            return t.FullName ?? t.ToString();
        }

        /// <summary>Total bytes of a header (version 1 or 2) for the given type names.</summary>
        internal static int HeaderLength(int keyNameLength, int valueNameLength) => FixedHeaderLength + keyNameLength + valueNameLength + ChecksumLength;

        /// <summary>
        /// Writes a header of <see cref="Version"/> into <paramref name="dst"/> (exactly <see cref="HeaderLength"/>
        /// bytes) and returns its checksum.
        /// </summary>
        internal static uint WriteHeader(Span<byte> dst, long count, int keySize, int valueSize, ulong fingerprint, int b, ReadOnlySpan<byte> keyName, ReadOnlySpan<byte> valueName)
        {
            int length = HeaderLength(keyName.Length, valueName.Length);
            Debug.Assert(dst.Length == length, "header buffer of the wrong length");
            dst.Clear();
            BinaryPrimitives.WriteUInt64LittleEndian(dst, Magic);
            BinaryPrimitives.WriteUInt32LittleEndian(dst[8..], Version);
            BinaryPrimitives.WriteUInt32LittleEndian(dst[12..], (uint)length);
            BinaryPrimitives.WriteInt64LittleEndian(dst[16..], count);
            BinaryPrimitives.WriteUInt32LittleEndian(dst[24..], (uint)keySize);
            BinaryPrimitives.WriteUInt32LittleEndian(dst[28..], (uint)valueSize);
            BinaryPrimitives.WriteUInt64LittleEndian(dst[32..], fingerprint);
            dst[40] = (byte)b;
            dst[41] = SeedPolicyFresh;
            BinaryPrimitives.WriteUInt16LittleEndian(dst[42..], (ushort)keyName.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(dst[44..], (ushort)valueName.Length);
            keyName.CopyTo(dst[FixedHeaderLength..]);
            valueName.CopyTo(dst[(FixedHeaderLength + keyName.Length)..]);
            uint crc = Crc(dst[..(length - ChecksumLength)]);
            BinaryPrimitives.WriteUInt32LittleEndian(dst[(length - ChecksumLength)..], crc);
            return crc;
        }

        /// <summary>
        /// Reads and checks a header for a map of <typeparamref name="TKey"/> to
        /// <typeparamref name="TValue"/>: the prefix, the whole header and its checksum, the
        /// version, then every field. Reads exactly the header's bytes. Returns the entry count
        /// and the header checksum; throws <see cref="InvalidDataException"/> for anything wrong
        /// and <see cref="NotSupportedException"/> for a newer version.
        /// </summary>
        internal static long ReadHeader<[DynamicallyAccessedMembers(KeyClassifier.KeyTypeMembers)] TKey, [DynamicallyAccessedMembers(KeyClassifier.KeyTypeMembers)] TValue>(Stream stream, out uint headerChecksum)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            Span<byte> h = stackalloc byte[MaxHeaderLength];
            int got = ReadAtLeast(stream, h.Slice(0, PrefixLength));
            if (got >= 8 && BinaryPrimitives.ReadUInt64LittleEndian(h) != Magic)
            {
                SnapshotErrors.Invalid("The stream is not a GoMap snapshot: it does not start with the snapshot magic bytes.");
            }

            if (got < PrefixLength)
            {
                SnapshotErrors.Invalid($"The snapshot is truncated: the stream ended after {got} bytes, inside the first {PrefixLength} bytes of the header.");
            }

            uint version = BinaryPrimitives.ReadUInt32LittleEndian(h[8..]);
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(h[12..]);
            if (length < PrefixLength + ChecksumLength || length > MaxHeaderLength)
            {
                SnapshotErrors.Invalid($"The snapshot header is corrupt: it gives its length as {length} bytes; a header is {PrefixLength + ChecksumLength} to {MaxHeaderLength} bytes.");
            }

            int rest = (int)length - PrefixLength;
            got = ReadAtLeast(stream, h.Slice(PrefixLength, rest));
            if (got < rest)
            {
                SnapshotErrors.Invalid($"The snapshot is truncated: the stream ended after {PrefixLength + got} bytes of a {length}-byte header.");
            }

            h = h[..(int)length];
            headerChecksum = BinaryPrimitives.ReadUInt32LittleEndian(h[^ChecksumLength..]);
            if (Crc(h[..^ChecksumLength]) != headerChecksum && !IgnoreChecksums)
            {
                SnapshotErrors.Invalid("The snapshot header is corrupt: its checksum does not match its bytes.");
            }

            if (version > Version)
            {
                SnapshotErrors.NewerVersion(version, Version);
            }

            if (version == 0)
            {
                SnapshotErrors.Invalid("The snapshot header is corrupt: format version 0 does not exist.");
            }

            return CheckHeaderFields<TKey, TValue>(h, version);
        }

        /// <summary>
        /// Checks the fields of a version-1 or version-2 header whose checksum matched (the two
        /// have the same fields; only the fingerprint's shapes differ); returns the count.
        /// </summary>
        private static long CheckHeaderFields<[DynamicallyAccessedMembers(KeyClassifier.KeyTypeMembers)] TKey, [DynamicallyAccessedMembers(KeyClassifier.KeyTypeMembers)] TValue>(Span<byte> h, uint version) // Span: Mono cannot index a ReadOnlySpan from netstandard2.1
            where TKey : unmanaged
            where TValue : unmanaged
        {
            if (h.Length < HeaderLength(0, 0))
            {
                SnapshotErrors.Invalid($"The snapshot header is corrupt: {h.Length} bytes is too short for a version-{version} header ({HeaderLength(0, 0)} bytes and the type names).");
            }

            int keyNameLength = BinaryPrimitives.ReadUInt16LittleEndian(h[42..]);
            int valueNameLength = BinaryPrimitives.ReadUInt16LittleEndian(h[44..]);
            if (keyNameLength > MaxTypeNameLength || valueNameLength > MaxTypeNameLength || HeaderLength(keyNameLength, valueNameLength) != h.Length)
            {
                SnapshotErrors.Invalid($"The snapshot header is corrupt: type names of {keyNameLength} and {valueNameLength} bytes do not fit a {h.Length}-byte header.");
            }

            if (BinaryPrimitives.ReadUInt16LittleEndian(h[46..]) != 0)
            {
                SnapshotErrors.Invalid("The snapshot header is corrupt: its reserved field is not 0.");
            }

            if (h[41] != SeedPolicyFresh)
            {
                SnapshotErrors.Invalid($"The snapshot header is corrupt: seed policy {h[41]} is unknown (versions 1 and 2 have only 0, a fresh seed).");
            }

            ReadOnlySpan<byte> keyName = h.Slice(FixedHeaderLength, keyNameLength);
            ReadOnlySpan<byte> valueName = h.Slice(FixedHeaderLength + keyNameLength, valueNameLength);
            uint keySize = BinaryPrimitives.ReadUInt32LittleEndian(h[24..]);
            uint valueSize = BinaryPrimitives.ReadUInt32LittleEndian(h[28..]);
            CheckType<TKey>("key", keyName, keySize);
            CheckType<TValue>("value", valueName, valueSize);
            ulong fingerprint = BinaryPrimitives.ReadUInt64LittleEndian(h[32..]);
            if (!SnapshotType<TKey, TValue>.FingerprintMatches(version, fingerprint))
            {
                SnapshotErrors.Invalid($"The snapshot's key and value types have the names {typeof(TKey)} and {typeof(TValue)} but not the same fields as this program's: a type changed since the snapshot was written, or the snapshot comes from a runtime that orders the fields of a LayoutKind.Auto struct in it otherwise.");
            }

            long count = BinaryPrimitives.ReadInt64LittleEndian(h[16..]);
            if (count < 0 || count > SnapshotType<TKey, TValue>.MaxCount)
            {
                SnapshotErrors.Invalid($"The snapshot header is corrupt: an entry count of {count} is impossible (0 to {SnapshotType<TKey, TValue>.MaxCount} for these types).");
            }

            int b = h[40];
            int minB = MapMath.BForHint(count);
            if (b < minB || b > SnapshotType<TKey, TValue>.MaxB)
            {
                SnapshotErrors.Invalid($"The snapshot header is corrupt: B = {b} is impossible for a map of {count} entries (B from {minB} to {SnapshotType<TKey, TValue>.MaxB}).");
            }

            return count;
        }

        private static void CheckType<T>(string role, ReadOnlySpan<byte> name, uint size)
            where T : unmanaged
        {
            if (!name.SequenceEqual(SnapshotTypeName<T>.Utf8) || size != (uint)sizeof(T))
            {
                SnapshotErrors.Invalid($"The snapshot holds {role}s of type {Describe(name)} ({size} bytes), not {SnapshotTypeName<T>.Name} ({sizeof(T)} bytes).");
            }
        }

        /// <summary>A type name read from a header, printable whatever its bytes.</summary>
        private static string Describe(ReadOnlySpan<byte> name)
        {
            var sb = new StringBuilder(name.Length);
            foreach (char c in Encoding.UTF8.GetString(name))
            {
                sb.Append(char.IsControl(c) ? '?' : c);
            }

            return sb.Length == 0 ? "(no name)" : sb.ToString();
        }
    }

    /// <summary>Which spelling of a type's shape a fingerprint hashes (see the file's opening comment).</summary>
    internal enum ShapeRules
    {
        /// <summary>Version 2's: version 1's, and the runtime's field order of a struct declared <c>LayoutKind.Auto</c> with two or more fields.</summary>
        Version2,

        /// <summary>Version 1's since 2026-12-05: a packing of 8 left out where it moves nothing (<c>DefaultPack</c>).</summary>
        Version1,

        /// <summary>Version 1's before 2026-12-05: a packing of 8 spelled out as the runtime reports it.</summary>
        Pack8Spelled,
    }

    /// <summary>
    /// What a snapshot header says about a key/value type pair, computed once per pair by
    /// reflection: type names, the shape fingerprint, and the largest count and B a header may give.
    /// </summary>
    internal static unsafe class SnapshotType<[DynamicallyAccessedMembers(KeyClassifier.KeyTypeMembers)] TKey, [DynamicallyAccessedMembers(KeyClassifier.KeyTypeMembers)] TValue>
        where TKey : unmanaged
        where TValue : unmanaged
    {
        /// <summary>Bytes of one entry in a snapshot.</summary>
        internal static readonly int EntrySize = sizeof(TKey) + sizeof(TValue);

        /// <summary>
        /// FNV-1a 64 of the key shape, a separator and the value shape, as version 2 writes and
        /// reads it (<see cref="ShapeRules.Version2"/>).
        /// </summary>
        internal static readonly ulong Fingerprint = Fnv1a(Shape(typeof(TKey)) + "|" + Shape(typeof(TValue)));

        /// <summary>
        /// <see cref="Fingerprint"/> as version 1 wrote it (<see cref="ShapeRules.Version1"/>:
        /// without the runtime's order of a struct declared <c>LayoutKind.Auto</c>): accepted in
        /// version-1 snapshots only, so that they still load. Equal to <see cref="Fingerprint"/>
        /// for types without such a struct.
        /// </summary>
        internal static readonly ulong Version1Fingerprint = Fnv1a(Shape(typeof(TKey), ShapeRules.Version1) + "|" + Shape(typeof(TValue), ShapeRules.Version1));

        /// <summary>
        /// <see cref="Fingerprint"/> as written before 2026-12-05 (<see cref="ShapeRules.Pack8Spelled"/>,
        /// a packing of 8 in the shapes as the runtime reports it, see <see cref="DefaultPack"/>):
        /// accepted in version-1 snapshots too, so that snapshots written then still load on the
        /// runtime that wrote them. Equal to <see cref="Version1Fingerprint"/> for types without
        /// such a packing.
        /// </summary>
        internal static readonly ulong LegacyFingerprint = Fnv1a(Shape(typeof(TKey), ShapeRules.Pack8Spelled) + "|" + Shape(typeof(TValue), ShapeRules.Pack8Spelled));

        /// <summary>
        /// Whether a header of format <paramref name="version"/> (1 or 2) with this
        /// <paramref name="fingerprint"/> describes this program's key and value types.
        /// </summary>
        internal static bool FingerprintMatches(uint version, ulong fingerprint) =>
            version >= 2 ? fingerprint == Fingerprint : fingerprint == Version1Fingerprint || fingerprint == LegacyFingerprint;

        /// <summary>Largest B whose bucket array could be addressed (Go's maxAlloc bound).</summary>
        internal static readonly int MaxB = ComputeMaxB();

        /// <summary>Largest count a header may give: one whose bucket array and entry bytes could be addressed.</summary>
        internal static readonly long MaxCount = Math.Min((long)(MapMath.MaxAlloc / (ulong)EntrySize), MaxCountForB(MaxB));

        private static int ComputeMaxB()
        {
            int b = 0;
            while (b < 63 && BucketLayout<TKey, TValue>.ArrayBytes(b + 1) is ulong bytes && bytes <= MapMath.MaxAlloc)
            {
                b++;
            }

            return b;
        }

        /// <summary>Most entries 2^B buckets take before Go's load factor grows them.</summary>
        private static long MaxCountForB(int b) => Math.Max(MapMath.BucketCnt, (long)(MapMath.LoadFactorNum * (long)(MapMath.BucketShift(b) / (ulong)MapMath.LoadFactorDen)));

        /// <summary>
        /// A type's shape: its name, and for a struct the shapes of its instance fields in
        /// declaration order, with fixed-buffer and inline-array lengths and explicit layouts,
        /// under <paramref name="rules"/> (the current version's by default). Field names are left
        /// out, so renaming a field keeps old snapshots loadable. <paramref name="autoLayout"/>
        /// stands for <see cref="SnapshotFormat.AutoLayout"/> (a test's other runtime).
        /// </summary>
        internal static string Shape([DynamicallyAccessedMembers(KeyClassifier.KeyTypeMembers)] Type t, ShapeRules rules = ShapeRules.Version2, string? autoLayout = null)
        {
            var sb = new StringBuilder();
            AppendShape(sb, t, rules, autoLayout ?? SnapshotFormat.AutoLayout);
            return sb.ToString();
        }

        /// <summary>
        /// The packing a shape omits for a struct none of whose fields, at any depth, may be
        /// aligned beyond 8 bytes (<see cref="AlignsBeyond8"/>): what Mono reports for a struct
        /// that declares none, where CoreCLR reports 0. For such a struct a declared Pack = 8 and
        /// none give one layout. Found by review: with the packing in the shape, no snapshot of a
        /// struct type written under Mono loaded under CoreCLR, nor back. Where a field may align
        /// beyond 8 (an <c>Int128</c>, a SIMD vector: types Mono 6.8 does not have) the packing
        /// stays in the shape, since there it moves fields, within nested structs too, without
        /// changing the outer type's size (a second review's case), which the header checks.
        /// </summary>
        private const int DefaultPack = 8;

        /// <summary>Whether <paramref name="t"/>, or a field of it at any depth, may be aligned beyond 8 bytes: <c>Int128</c>, <c>UInt128</c>, and the SIMD vectors of 16 bytes and more.</summary>
        [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "As AppendShape's: a nested struct whose fields a trimmer removed shows none, and its shape lists none either.")]
        private static bool AlignsBeyond8([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicFields | DynamicallyAccessedMemberTypes.NonPublicFields)] Type t)
        {
            if (t == CoreTypes.Int128 || t == CoreTypes.UInt128)
            {
                return true;
            }

            if (t.IsGenericType && t.GetGenericTypeDefinition().FullName is "System.Runtime.Intrinsics.Vector128`1" or "System.Runtime.Intrinsics.Vector256`1" or "System.Runtime.Intrinsics.Vector512`1" or "System.Numerics.Vector`1")
            {
                return true;
            }

            if (t.IsPrimitive || t.IsEnum || t.IsPointer || t.IsFunctionPointer || !t.IsValueType)
            {
                return false;
            }

            foreach (FieldInfo f in FieldsInDeclarationOrder(t))
            {
                FixedBufferAttribute? fixedBuffer = f.GetCustomAttribute<FixedBufferAttribute>();
                if (AlignsBeyond8(fixedBuffer is not null ? fixedBuffer.ElementType : f.FieldType))
                {
                    return true;
                }
            }

            return false;
        }

        [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "A field's type carries no annotation: where a trimmer removed a nested struct's fields, the shape lists none for it, so a snapshot of such a type written elsewhere is refused (a fingerprint mismatch), never read with another layout.")]
        private static void AppendShape(StringBuilder sb, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicFields | DynamicallyAccessedMemberTypes.NonPublicFields)] Type t, ShapeRules rules, string autoLayout)
        {
            sb.Append(SnapshotFormat.CanonicalName(t));
            if (t.IsEnum)
            {
                sb.Append('(').Append(SnapshotFormat.CanonicalName(Enum.GetUnderlyingType(t))).Append(')');
                return;
            }

            if (t.IsPrimitive || t.IsPointer || t.IsFunctionPointer || !t.IsValueType)
            {
                return;
            }

            StructLayoutAttribute? layout = t.StructLayoutAttribute;
            int pack = layout is null || (layout.Pack == DefaultPack && rules != ShapeRules.Pack8Spelled && !AlignsBeyond8(t)) ? 0 : layout.Pack;
            if (layout is not null && (layout.Value == LayoutKind.Explicit || pack != 0 || layout.Size != 0))
            {
                sb.Append(System.FormattableString.Invariant($"<{layout.Value} pack {pack} size {layout.Size}>"));
            }

            FieldInfo[] fields = FieldsInDeclarationOrder(t);
            if (rules == ShapeRules.Version2 && layout is { Value: LayoutKind.Auto } && fields.Length > 1)
            {
                // The runtime, not the declaration, orders these fields (SnapshotFormat.AutoLayout).
                sb.Append("<auto ").Append(autoLayout).Append('>');
            }

            if (KeyClassifier.InlineArrayLength(t) is int length)
            {
                sb.Append(System.FormattableString.Invariant($"[{length}]"));
            }

            sb.Append('{');
            foreach (FieldInfo f in fields)
            {
                FixedBufferAttribute? fixedBuffer = f.GetCustomAttribute<FixedBufferAttribute>();
                if (fixedBuffer is not null)
                {
                    AppendShape(sb, fixedBuffer.ElementType, rules, autoLayout);
                    sb.Append(System.FormattableString.Invariant($"[{fixedBuffer.Length}]"));
                }
                else
                {
                    AppendShape(sb, f.FieldType, rules, autoLayout);
                }

                if (f.GetCustomAttribute<FieldOffsetAttribute>() is { } offset)
                {
                    sb.Append(System.FormattableString.Invariant($"@{offset.Value}"));
                }

                sb.Append(';');
            }

            sb.Append('}');
        }

        /// <summary>
        /// The instance fields of <paramref name="t"/> in declaration order: sorted by metadata
        /// token (GetFields documents no order), except where the runtime keeps no tokens
        /// (native AOT), which lists them in declaration order: the fingerprint of a type of flat
        /// fields is the same under native AOT as under the JIT (tests/NativeGoMap.AotSmoke writes
        /// a snapshot under both, and CI compares the bytes).
        /// </summary>
        private static FieldInfo[] FieldsInDeclarationOrder([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicFields | DynamicallyAccessedMemberTypes.NonPublicFields)] Type t)
        {
            FieldInfo[] fields = t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);
            if (fields.Length > 1 && HasMetadataTokens(fields[0]))
            {
                Array.Sort(fields, (x, y) => x.MetadataToken.CompareTo(y.MetadataToken));
            }

            return fields;
        }

        /// <summary>Whether the runtime keeps metadata tokens (native AOT does not: reading one throws there).</summary>
        private static bool HasMetadataTokens(FieldInfo f)
        {
            try
            {
                return f.MetadataToken != 0;
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }

        private static ulong Fnv1a(string s)
        {
            ulong h = 0xcbf29ce484222325UL;
            foreach (byte c in Encoding.UTF8.GetBytes(s))
            {
                h = (h ^ c) * 0x100000001b3UL;
            }

            return h;
        }
    }

    /// <summary>The name a header gives a type: namespace-qualified, generic arguments in brackets, no assembly.</summary>
    internal static class SnapshotTypeName<T>
    {
        internal static readonly string Name = SnapshotFormat.CanonicalName(typeof(T));

        /// <summary>The name's UTF-8 bytes, cut at <see cref="SnapshotFormat.MaxTypeNameLength"/> (writer and reader cut alike).</summary>
        internal static readonly byte[] Utf8 = Cut(Encoding.UTF8.GetBytes(Name));

        private static byte[] Cut(byte[] name) => name.Length <= SnapshotFormat.MaxTypeNameLength ? name : name[..SnapshotFormat.MaxTypeNameLength];
    }

    /// <summary>The throws of the snapshot code, out of line.</summary>
    [StackTraceHidden]
    internal static class SnapshotErrors
    {
        [DoesNotReturn]
        internal static void Invalid(string message) => throw new InvalidDataException(message);

        [DoesNotReturn]
        internal static void Truncated(long count, long entryBytesRead, int entrySize) =>
            throw new InvalidDataException($"The snapshot is truncated: its header promises {count} entries ({count * (long)entrySize} bytes), the stream ended after {entryBytesRead} bytes of entries.");

        [DoesNotReturn]
        internal static void TruncatedChecksum(int got) =>
            throw new InvalidDataException($"The snapshot is truncated: the stream ended {got} bytes into the {SnapshotFormat.ChecksumLength}-byte entries checksum.");

        [DoesNotReturn]
        internal static void EntriesCorrupt() =>
            throw new InvalidDataException("The snapshot's entries are corrupt: their checksum does not match their bytes.");

        /// <summary>
        /// A key twice in a snapshot, named by its bytes (the first 32, in hex): never by its
        /// ToString, which for an IEquatable key is user code that could throw another exception
        /// (found by review, 2026-12-06), and for other keys may say nothing of them.
        /// </summary>
        [DoesNotReturn]
        internal static unsafe void DuplicateKey<TKey>(TKey key)
            where TKey : unmanaged
        {
            // Through a pointer: Mono 6.8 cannot bind ReadOnlySpan's indexer or enumerator from a
            // netstandard2.1 assembly (CompatTests).
            const int Shown = 32;
            byte* bytes = (byte*)&key;
            int shown = Math.Min(sizeof(TKey), Shown);
            var hex = new System.Text.StringBuilder((Shown * 2) + 8);
            for (int i = 0; i < shown; i++)
            {
                hex.Append(bytes[i].ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            }

            throw new InvalidDataException($"The snapshot is invalid: it holds a key twice (its {sizeof(TKey)} bytes: {hex}{(sizeof(TKey) > Shown ? "..." : string.Empty)}).");
        }

        [DoesNotReturn]
        internal static void BigEndian() =>
            throw new NotSupportedException("GoMap snapshots hold raw little-endian memory; this machine is big-endian.");

        [DoesNotReturn]
        internal static void NewerVersion(uint version, uint newest) =>
            throw new NotSupportedException($"The snapshot has format version {version}; this library reads versions up to {newest}. Load it with a newer NativeGoMap.");

        [DoesNotReturn]
        internal static void WrittenDuring() =>
            throw new InvalidOperationException("The map was written while WriteTo ran (from inside the stream's Write, or by another thread while the stream was written); what was written is not a valid snapshot.");
    }
}
