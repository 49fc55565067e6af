using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;

// What must hold for any input to GoMap.ReadFrom, checked the same way by the fuzz target
// (Program.cs) and by the test suite's replay of the fuzz corpus (this file is compiled into
// both, see tests/NativeGoMap.Tests/NativeGoMap.Tests.csproj).
namespace NativeGoMap.Fuzz
{
    /// <summary>
    /// A 3-byte key (alignment 1, odd size: packed entries, unaligned copies) with its own
    /// IEquatable, so that loads take the path whose hashing runs user code.
    /// </summary>
    public struct FuzzKey3 : IEquatable<FuzzKey3>
    {
        public byte A;
        public byte B;
        public byte C;

        public static FuzzKey3 Of(int i) => new FuzzKey3 { A = (byte)i, B = (byte)(i >> 8), C = (byte)(i >> 16) };

        public readonly bool Equals(FuzzKey3 other) => A == other.A && B == other.B && C == other.C;

        public override readonly bool Equals(object? obj) => obj is FuzzKey3 other && Equals(other);

        public override readonly int GetHashCode() => A | (B << 8) | (C << 16);
    }

    /// <summary>
    /// 144 bytes: a key or value stored through a pointer (indirect), so loads allocate a block per
    /// entry. As a key it is compared by its bytes (the library's rule for a struct without an
    /// equality of its own), which the oracle models with <see cref="BytesComparer{T}"/>: an
    /// [InlineArray]'s <c>EqualityComparer.Default</c> throws NotSupportedException on .NET 9+.
    /// </summary>
#if NET8_0_OR_GREATER
    [InlineArray(144)]
    public struct FuzzBlob144
    {
        private byte _first;

        public static FuzzBlob144 Of(long id)
        {
            FuzzBlob144 b = default;
            Span<byte> s = b;
            s.Fill((byte)(id * 31));
            BitConverter.TryWriteBytes(s, id);
            return b;
        }
    }
#else
    // netstandard2.1 (the test suite's Mono run) has no [InlineArray]: a fixed buffer of the same
    // size. Its type fingerprint differs, so snapshots of it are not the corpus's.
    public unsafe struct FuzzBlob144
    {
        private fixed byte _bytes[144];

        public static FuzzBlob144 Of(long id)
        {
            FuzzBlob144 b = default;
            Span<byte> s = System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref Unsafe.As<FuzzBlob144, byte>(ref b), 144);
            s.Fill((byte)(id * 31));
            BitConverter.TryWriteBytes(s, id);
            return b;
        }
    }
#endif

    /// <summary>Few distinct hash codes: long chains, overflow buckets and entries that spill out of their partition.</summary>
    public sealed class FewHashesComparer : IEqualityComparer<long>
    {
        public static readonly FewHashesComparer Instance = new();

        public bool Equals(long x, long y) => x == y;

        public int GetHashCode(long obj) => (int)((ulong)obj % 7);
    }

    /// <summary>
    /// Equality by the bytes (FNV-1a over them for the hash): the library's default for a key it
    /// compares by its bytes. The test projects, which compile this file, use it for their models too
    /// (a fixed buffer's default Equals reads its first element only).
    /// </summary>
    public sealed class BytesComparer<T> : IEqualityComparer<T>
        where T : unmanaged
    {
        public static readonly BytesComparer<T> Instance = new();

        public bool Equals(T x, T y) => Bytes(x).SequenceEqual(Bytes(y));

        public int GetHashCode(T obj)
        {
            uint hash = 2166136261;

            // Over a Span, not Bytes' ReadOnlySpan: Mono 6.8 cannot bind ReadOnlySpan's enumerator
            // from a netstandard2.1 assembly (the test suite's Mono run).
            foreach (byte b in System.Runtime.InteropServices.MemoryMarshal.AsBytes(System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref obj, 1)))
            {
                hash = (hash ^ b) * 16777619;
            }

            return (int)hash;
        }

        private static ReadOnlySpan<byte> Bytes(in T value) =>
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(System.Runtime.InteropServices.MemoryMarshal.CreateReadOnlySpan(ref Unsafe.AsRef(in value), 1)); // not new ReadOnlySpan<T>(in value): .NET 7+
    }

    /// <summary>
    /// User code failing partway through a load: <see cref="FewHashesComparer"/>'s equality (its
    /// long chains make a load's fill call Equals about as often as GetHashCode) that throws a
    /// <see cref="ComparerFailureException"/> on its k-th call, Equals and GetHashCode counted
    /// alike, once, counting from <see cref="Arm"/> until <see cref="Disarm"/>.
    /// </summary>
    public sealed class ThrowingComparer : IEqualityComparer<long>
    {
        private readonly long _throwAt;
        private long _calls;
        private bool _armed;

        public ThrowingComparer(long throwAt) => _throwAt = throwAt;

        /// <summary>What it threw since <see cref="Arm"/>; null while the k-th call has not come.</summary>
        public ComparerFailureException? Thrown { get; private set; }

        /// <summary>The method whose call threw (Equals or GetHashCode); null while none did.</summary>
        public string? ThrewIn { get; private set; }

        /// <summary>
        /// The k for <paramref name="input"/>: 1 + its last two bytes (in a whole snapshot the top
        /// of the entries checksum, as good as random) modulo 4·⌊length/16⌋ + 4. A snapshot of n
        /// <c>long,long</c> entries is 80 + 16n bytes, so k runs to 4n + 24, and its load makes n
        /// calls to hash in the scatter, then n more in the fill with the fill's Equals between
        /// them: k falls in the scatter, in the fill, or past the load's last call (then it loads).
        /// Fixed by the input, as afl's stability needs.
        /// </summary>
        public static long ThrowAtFor(byte[] input)
        {
            int pick = input.Length >= 2 ? input[^2] | (input[^1] << 8) : input.Length;
            return 1 + (pick % ((4L * (input.Length / 16)) + 4));
        }

        /// <summary>Starts counting from 0, with nothing thrown: before each load.</summary>
        public void Arm()
        {
            _calls = 0;
            Thrown = null;
            ThrewIn = null;
            _armed = true;
        }

        /// <summary>Stops throwing (<see cref="Thrown"/> stays): once a load returned, the checks of the loaded map call it too.</summary>
        public void Disarm() => _armed = false;

        public bool Equals(long x, long y)
        {
            Call(nameof(Equals));
            return FewHashesComparer.Instance.Equals(x, y);
        }

        public int GetHashCode(long obj)
        {
            Call(nameof(GetHashCode));
            return FewHashesComparer.Instance.GetHashCode(obj);
        }

        private void Call(string method)
        {
            if (_armed && ++_calls == _throwAt)
            {
                ThrewIn = method;
                Thrown = new ComparerFailureException($"{method}, call {_calls}");
                throw Thrown;
            }
        }
    }

    /// <summary>
    /// The oracle: every input, read from a stream that can seek and from one that cannot,
    /// either loads into a map that passes <c>Validate</c>, holds exactly the entries that
    /// <see cref="ReferenceDecoder"/> reads from the input (the key and value bytes of each, no
    /// more), has read exactly the snapshot's bytes, survives a write and reload unchanged, and
    /// then takes removes, inserts (most often through a growth) and updates as a built map does,
    /// or is refused with <see cref="InvalidDataException"/> or
    /// <see cref="NotSupportedException"/> (newer versions only), as the reference decoder says
    /// it must be: it names why (an input it finds well-formed must load); from the stream that cannot seek, whose header count
    /// the library cannot check against a length, also with <see cref="OutOfMemoryException"/>,
    /// but only when that count is more than the input's bytes could hold. The loads take keys
    /// compared by their bytes, by IEquatable, by <c>double.Equals</c> and by a comparer; keys and
    /// values stored in the bucket and through a pointer (<see cref="FuzzBlob144"/>, over 128
    /// bytes, as key and as value). One load's comparer (<see cref="ThrowingComparer"/>) throws on
    /// a call fixed by the input: that load may also end in the comparer's own exception, the
    /// object it threw, unwrapped, but only where the comparer has a say: on an input the
    /// reference decoder finds well-formed, or refuses only for two equal keys (every other
    /// refusal needs no hashing and must come first, thrown or not); and a load that returns a
    /// map must not have met the throw. Either way every
    /// native byte taken is given back. Anything else throws <see cref="OracleException"/> (or
    /// lets the library's unexpected exception through), which the fuzzer counts as a crash.
    /// </summary>
    public static unsafe class SnapshotOracle
    {
        // A fixed seed: the same input takes the same path every run, as afl's stability needs.
        // Fresh seeds are the tests' business.
        private static readonly GoMapOptions Options = new() { Seed = 0x5EED };

        private static readonly Dictionary<string, long> Tally = new(StringComparer.Ordinal);

        /// <summary>
        /// How many loads so far ended each way, by the reference decoder's verdict, the
        /// library's outcome and the loader ("Valid, loaded (ReadFrom&lt;Int64,Int64&gt;)",
        /// "Invalid, InvalidDataException (...)", ...): the replay prints it, so that a corpus
        /// whose inputs never reach one loader's entries shows.
        /// </summary>
        public static IReadOnlyDictionary<string, long> Outcomes
        {
            get
            {
                lock (Tally)
                {
                    return new Dictionary<string, long>(Tally, StringComparer.Ordinal);
                }
            }
        }

        private static void Count(ReferenceDecoding expected, string outcome, string loader)
        {
            lock (Tally)
            {
                string key = $"{expected.Verdict}, {outcome} ({loader})";
                Tally[key] = Tally.TryGetValue(key, out long n) ? n + 1 : 1;
            }
        }

        /// <summary>Runs every loader on <paramref name="input"/>, with checksums enforced and ignored.</summary>
        public static void Check(byte[] input)
        {
            foreach (bool ignoreChecksums in new[] { false, true })
            {
                SnapshotFormat.IgnoreChecksums = ignoreChecksums;

                // With checksums ignored (where mutations reach furthest), every bucket is a load
                // partition of its own: the fuzzer's small inputs then run the loads of many
                // partitions, their spills and their abandonment, which the default partition
                // (256 KiB of buckets) keeps from any input under about 100 KB.
                SnapshotFormat.LoadPartitionBytesForTest = ignoreChecksums ? 1 : 0;
                try
                {
                    // Each with the map's equality as the oracle models it (the comparer's, the key's
                    // Equals, or its bytes where the library compares those): never code that throws.
                    Load<long, long>(input, null, EqualityComparer<long>.Default, ReferenceType.Int64, ReferenceType.Int64, ignoreChecksums);
                    Load<long, long>(input, FewHashesComparer.Instance, FewHashesComparer.Instance, ReferenceType.Int64, ReferenceType.Int64, ignoreChecksums);
                    Load<int, int>(input, null, EqualityComparer<int>.Default, ReferenceType.Int32, ReferenceType.Int32, ignoreChecksums);
                    Load<FuzzKey3, short>(input, null, EqualityComparer<FuzzKey3>.Default, ReferenceType.FuzzKey3, ReferenceType.Int16, ignoreChecksums);
                    Load<double, long>(input, null, EqualityComparer<double>.Default, ReferenceType.Double, ReferenceType.Int64, ignoreChecksums);
                    Load<long, FuzzBlob144>(input, null, EqualityComparer<long>.Default, ReferenceType.Int64, ReferenceType.FuzzBlob144, ignoreChecksums);
                    Load<FuzzBlob144, int>(input, null, BytesComparer<FuzzBlob144>.Instance, ReferenceType.FuzzBlob144, ReferenceType.Int32, ignoreChecksums);
                    Load<long, long>(input, new ThrowingComparer(ThrowingComparer.ThrowAtFor(input)), FewHashesComparer.Instance, ReferenceType.Int64, ReferenceType.Int64, ignoreChecksums);
                }
                finally
                {
                    SnapshotFormat.IgnoreChecksums = false;
                    SnapshotFormat.LoadPartitionBytesForTest = 0;
                }
            }
        }

        /// <summary>The seed corpus: small valid snapshots of every type the oracle loads.</summary>
        public static IEnumerable<(string Name, byte[] Bytes)> Seeds()
        {
            foreach (int n in new[] { 0, 1, 9, 40 })
            {
                yield return ($"long-long-{n}", Snapshot<long, long>(n, i => unchecked(i * -7046029254386353131L) ^ i, i => i));
            }

            yield return ("int-int-20", Snapshot<int, int>(20, i => (int)i * 7919, i => -(int)i));
            yield return ("key3-short-12", Snapshot<FuzzKey3, short>(12, i => FuzzKey3.Of((int)i), i => (short)i));
            yield return ("double-long-10", Snapshot<double, long>(10, i => i == 0 ? double.NaN : i == 1 ? -0.0 : i / 3.0, i => i));
            yield return ("long-blob144-3", Snapshot<long, FuzzBlob144>(3, i => i, FuzzBlob144.Of));
            yield return ("blob144-int-9", Snapshot<FuzzBlob144, int>(9, FuzzBlob144.Of, i => (int)i * 3));
        }

        /// <summary>A snapshot of a map of <paramref name="n"/> entries built by inserts.</summary>
        public static byte[] Snapshot<TKey, TValue>(long n, Func<long, TKey> key, Func<long, TValue> value)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            using var map = new GoMap<TKey, TValue>(Options);
            for (long i = 0; i < n; i++)
            {
                map[key(i)] = value(i);
            }

            var stream = new MemoryStream();
            map.WriteTo(stream);
            return stream.ToArray();
        }

        /// <summary>
        /// A random input near a valid snapshot, for the randomized replay (tests and the fuzz
        /// program's <c>random</c> command): a fresh map of one of the oracle's type pairs,
        /// written, then left alone or mutated (bits, header fields, a key copied over another, a
        /// value changed, entries dropped, bytes cut or appended), with the checksums often
        /// rewritten (by the reference decoder's CRC) so that the mutation gets past them.
        /// </summary>
        public static byte[] RandomInput(Random rng)
        {
            int n = rng.Next(4) == 0 ? rng.Next(200) : rng.Next(12);
            long range = rng.Next(3) == 0 ? 16 : long.MaxValue; // a small key range: collisions of the few-hashes comparer, zero keys
            long Key(long i) => range == long.MaxValue ? (rng.Next(2) == 0 ? i : (long)(rng.NextDouble() * long.MaxValue) ^ ((long)rng.Next() << 32)) : rng.Next((int)range);
            int keySize, valueSize;
            byte[] s;
            switch (rng.Next(6))
            {
                case 0:
                    s = Snapshot<long, long>(n, Key, _ => ((long)rng.Next() << 32) | (uint)rng.Next());
                    (keySize, valueSize) = (8, 8);
                    break;
                case 1:
                    s = Snapshot<int, int>(n, i => (int)Key(i), _ => rng.Next());
                    (keySize, valueSize) = (4, 4);
                    break;
                case 2:
                    s = Snapshot<FuzzKey3, short>(n, i => FuzzKey3.Of((int)Key(i)), _ => (short)rng.Next());
                    (keySize, valueSize) = (3, 2);
                    break;
                case 3:
                    double[] special = { double.NaN, -double.NaN, BitConverter.Int64BitsToDouble(0x7FF0_0000_0000_0001), 0.0, -0.0, double.PositiveInfinity, double.Epsilon };
                    s = Snapshot<double, long>(n, i => rng.Next(4) == 0 ? special[rng.Next(special.Length)] : Key(i) / 3.0, i => i);
                    (keySize, valueSize) = (8, 8);
                    break;
                case 4:
                    s = Snapshot<long, FuzzBlob144>(Math.Min(n, 20), Key, _ => FuzzBlob144.Of(rng.Next()));
                    (keySize, valueSize) = (8, 144);
                    break;
                default:
                    s = Snapshot<FuzzBlob144, int>(Math.Min(n, 20), i => FuzzBlob144.Of(Key(i)), _ => rng.Next());
                    (keySize, valueSize) = (144, 4);
                    break;
            }

            int h = (int)ReferenceDecoder.U32(s, 12);
            int entrySize = keySize + valueSize;
            int count = (int)ReferenceDecoder.U64(s, 16);
            bool fix = rng.Next(4) != 0;
            int mutations = rng.Next(4) == 0 ? 0 : 1 + rng.Next(3);
            for (int m = 0; m < mutations && s.Length > 0; m++)
            {
                switch (rng.Next(9))
                {
                    case 0: // bits anywhere
                        for (int k = 1 + rng.Next(3); k > 0; k--)
                        {
                            s[rng.Next(s.Length)] ^= (byte)(1 << rng.Next(8));
                        }

                        break;
                    case 1: // a header field
                        if (s.Length >= 48)
                        {
                            int[] fields = { 8, 12, 16, 24, 28, 32, 40, 41, 42, 44, 46 };
                            int at = fields[rng.Next(fields.Length)];
                            long[] values = { 0, 1, 2, -1, count - 1, count + 1, 63, 64, 255, 4096, 4097, rng.Next() };
                            long v = values[rng.Next(values.Length)];
                            int width = at is 16 or 32 ? 8 : at is 40 or 41 ? 1 : at is 42 or 44 or 46 ? 2 : 4;
                            for (int i = 0; i < width; i++)
                            {
                                s[at + i] = (byte)(v >> (8 * i));
                            }
                        }

                        break;
                    case 2: // B: any value, most often near Go's B for the count
                        if (s.Length >= 48)
                        {
                            s[40] = (byte)(rng.Next(3) == 0 ? rng.Next(256) : ReferenceDecoder.GoB(count) + rng.Next(-1, 3));
                        }

                        break;
                    case 3: // a key copied over another: a duplicate
                    case 4:
                        if (count >= 2 && s.Length >= h + (count * entrySize))
                        {
                            int from = rng.Next(count), to = rng.Next(count);
                            Array.Copy(s, h + (from * entrySize), s, h + (to * entrySize), keySize);
                        }

                        break;
                    case 5: // a value changed: still valid, other entries
                        if (count >= 1 && s.Length >= h + (count * entrySize))
                        {
                            s[h + (rng.Next(count) * entrySize) + keySize + rng.Next(valueSize)] ^= (byte)(1 + rng.Next(255));
                        }

                        break;
                    case 6: // fewer entries: the count lowered, the bytes after the new trailer ignored
                        if (count >= 1 && s.Length >= 48)
                        {
                            count = rng.Next(count);
                            ReferenceDecoder.W64(s, 16, (ulong)count);
                            s[40] = (byte)ReferenceDecoder.GoB(count);
                        }

                        break;
                    case 7: // cut
                        Array.Resize(ref s, rng.Next(s.Length));
                        break;
                    default: // appended bytes
                        int old = s.Length;
                        Array.Resize(ref s, old + 1 + rng.Next(2 * entrySize));
                        for (int i = old; i < s.Length; i++)
                        {
                            s[i] = (byte)rng.Next(256);
                        }

                        break;
                }
            }

            if (fix)
            {
                ReferenceDecoder.FixChecksums(s, entrySize);
            }

            return s;
        }

        /// <summary>
        /// Decodes <paramref name="input"/> with the reference decoder, keys equal under
        /// <paramref name="equality"/> (the map's equality as the oracle models it: ReadFrom
        /// refuses a key twice under it), then loads it from a
        /// stream that can seek and from one that cannot, and holds each outcome against the decoding.
        /// </summary>
        private static void Load<TKey, TValue>(byte[] input, IEqualityComparer<TKey>? comparer, IEqualityComparer<TKey> equality, ReferenceType key, ReferenceType value, bool ignoreChecksums)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            Expect(key.Size == sizeof(TKey) && value.Size == sizeof(TValue), $"the reference types {key.Name}, {value.Name} do not match {typeof(TKey)}, {typeof(TValue)}");
            ReferenceDecoding expected = ReferenceDecoder.Decode(input, key, value, (x, y) => equality.Equals(From<TKey>(x), From<TKey>(y)), k => equality.GetHashCode(From<TKey>(k)), ignoreChecksums);
            Load<TKey, TValue>(input, comparer, equality, expected, seekable: true);
            Load<TKey, TValue>(input, comparer, equality, expected, seekable: false);
        }

        private static void Load<TKey, TValue>(byte[] input, IEqualityComparer<TKey>? comparer, IEqualityComparer<TKey> equality, ReferenceDecoding expected, bool seekable)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            var throwing = (object?)comparer as ThrowingComparer;
            throwing?.Arm();
            long before = GoMapDiagnostics.LiveNativeBytes;
            Stream stream = seekable ? new MemoryStream(input, writable: false) : new NonSeekableStream(input);
            string loader = $"ReadFrom<{typeof(TKey).Name},{typeof(TValue).Name}>{(comparer is null ? string.Empty : " with " + comparer.GetType().Name)}";
            string what = $"{loader}{(throwing is null ? string.Empty : $" throwing on call {ThrowingComparer.ThrowAtFor(input)}")} ({(seekable ? "seekable" : "not seekable")}, checksums {(SnapshotFormat.IgnoreChecksums ? "ignored" : "enforced")}, {(SnapshotFormat.LoadPartitionBytesForTest > 0 ? "a partition per bucket" : "default partitions")})";
            try
            {
                using (GoMap<TKey, TValue> map = GoMap<TKey, TValue>.ReadFrom(stream, Options, comparer))
                {
                    // The checks below call the comparer too: only the load's calls may throw.
                    throwing?.Disarm();
                    Count(expected, "loaded", loader);
                    Expect(expected.Verdict is ReferenceVerdict.Valid or ReferenceVerdict.Either, $"{what} loaded an input the reference decoder finds {expected}");
                    Expect(throwing?.Thrown is null, $"{what} returned a map although the comparer threw during the load ({throwing?.Thrown?.Message})");
                    map.Validate();
                    long seen = 0;
                    foreach (KeyValuePair<TKey, TValue> kv in map)
                    {
                        seen++;
                    }

                    Expect(seen == map.LongCount, $"enumerated {seen} entries of a map of {map.LongCount}");
                    long read = stream is NonSeekableStream forward ? forward.Consumed : stream.Position;
                    Expect(read == expected.Length, $"{what} read {read} bytes of a {expected.Length}-byte snapshot");
                    ExpectEntries(map, expected, what);

                    // What loads must write and load again to the same entries. Any exception there
                    // is the library refusing its own output: a failure, never one of the refusals
                    // below (until 2026-12-06 they caught it too, a review found).
                    try
                    {
                        var copy = new MemoryStream();
                        map.WriteTo(copy);
                        copy.Position = 0;
                        using GoMap<TKey, TValue> again = GoMap<TKey, TValue>.ReadFrom(copy, Options, comparer);
                        again.Validate();
                        Expect(again.LongCount == map.LongCount, "a reloaded snapshot has another count");
                        foreach (KeyValuePair<TKey, TValue> kv in map)
                        {
                            Expect(again.TryGetValue(kv.Key, out TValue v) && Bytes(v).SequenceEqual(Bytes(kv.Value)), $"key {kv.Key} lost or changed by a write and reload");
                        }
                    }
                    catch (Exception e) when (e is InvalidDataException or NotSupportedException or OutOfMemoryException)
                    {
                        Expect(false, $"{what}: writing the loaded map and loading that again threw {e.GetType().Name}: {e.Message}");
                    }

                    // Likewise any exception from writes to the loaded map.
                    try
                    {
                        ExpectWritable(map, equality, what);
                    }
                    catch (Exception e) when (e is InvalidDataException or NotSupportedException or OutOfMemoryException)
                    {
                        Expect(false, $"{what}: a write to the loaded map threw {e.GetType().Name}: {e.Message}");
                    }
                }
            }
            catch (ComparerFailureException e) when (throwing is not null)
            {
                // The comparer's own exception may end a load where the comparer has a say: on an
                // input that must load, or whose one fault is two equal keys (found in the fill,
                // by hashing and Equals). Every other refusal needs no hashing and comes first: an
                // exception from hashing keys the checksum has not vouched for yet waits for it.
                Count(expected, $"{nameof(ComparerFailureException)} in {throwing.ThrewIn}", loader);
                Expect(ReferenceEquals(e, throwing.Thrown), $"{what} threw a {nameof(ComparerFailureException)} ({e.Message}) other than the one the comparer threw ({throwing.Thrown?.Message ?? "none"})");
                Expect(expected.Verdict is ReferenceVerdict.Valid or ReferenceVerdict.Either || expected.EqualKeys, $"{what} let the comparer's exception ({e.Message}) through on an input the reference decoder finds {expected}: that refusal comes first");
            }
            catch (InvalidDataException e)
            {
                Count(expected, nameof(InvalidDataException) + (throwing?.ThrewIn is string method ? $" after the comparer threw in {method}" : string.Empty), loader);
                Expect(expected.Verdict is ReferenceVerdict.Invalid or ReferenceVerdict.Either, $"{what} refused ({e.Message}) an input the reference decoder finds {expected}");
            }
            catch (NotSupportedException e)
            {
                Count(expected, nameof(NotSupportedException), loader);
                Expect(expected.Verdict == ReferenceVerdict.Newer, $"{what} refused as unsupported ({e.Message}) an input the reference decoder finds {expected}");
            }
            catch (OutOfMemoryException) when (!seekable)
            {
                Count(expected, nameof(OutOfMemoryException), loader);
                // The library reserved a bucket array for the header's count before the entries
                // came (ReadFrom's documented exception for a stream that cannot seek): only a
                // count the input could not have held may get there.
                long count = input.Length >= 24 ? BitConverter.ToInt64(input, 16) : -1;
                long room = input.Length >= 24 ? Math.Max(0, input.Length - (long)BitConverter.ToUInt32(input, 12) - 4) / (sizeof(TKey) + sizeof(TValue)) : 0;
                Expect(count > room, $"{what} ran out of memory for a count of {count}, which the input's bytes could hold");
                Expect(expected.Verdict == ReferenceVerdict.Invalid, $"{what} ran out of memory on an input the reference decoder finds {expected}");
            }

            // Its NotSupportedException would pass for a refusal above.
            Expect(stream is not NonSeekableStream { SeekAsked: true }, "ReadFrom asked a stream that cannot seek for its length or position");
            long after = GoMapDiagnostics.LiveNativeBytes;
            Expect(after == before, $"{what} leaked {after - before} native bytes");
        }

        /// <summary>
        /// The loaded map holds exactly the decoded entries: as many; the same (key bytes, value
        /// bytes) pairs, each as often, when enumerated; and each decoded key looks up its decoded value.
        /// </summary>
        private static void ExpectEntries<TKey, TValue>(GoMap<TKey, TValue> map, ReferenceDecoding expected, string what)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            Expect(map.LongCount == expected.Keys.Count, $"{what} loaded {map.LongCount} entries; the input holds {expected.Keys.Count}");
            var pending = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < expected.Keys.Count; i++)
            {
                string pair = ReferenceDecoder.Hex(expected.Keys[i]) + ":" + ReferenceDecoder.Hex(expected.Values[i]);
                pending[pair] = pending.TryGetValue(pair, out int n) ? n + 1 : 1;
            }

            foreach (KeyValuePair<TKey, TValue> kv in map)
            {
                string pair = HexOf(kv.Key) + ":" + HexOf(kv.Value);
                Expect(pending.TryGetValue(pair, out int n) && n > 0, $"{what} holds the entry {pair}, which the input does not");
                pending[pair] = n - 1;
            }

            for (int i = 0; i < expected.Keys.Count; i++)
            {
                TKey k = From<TKey>(expected.Keys[i]);
                Expect(map.TryGetValue(k, out TValue v), $"{what} lost the key {ReferenceDecoder.Hex(expected.Keys[i])} (entry {i})");
                byte[] got = Bytes(v).ToArray();
                Expect(got.AsSpan().SequenceEqual(expected.Values[i]), $"{what} holds {ReferenceDecoder.Hex(got)} for the key {ReferenceDecoder.Hex(expected.Keys[i])} (entry {i}); the input holds {ReferenceDecoder.Hex(expected.Values[i])}");
            }
        }

        /// <summary>
        /// The loaded map takes writes as a map built by inserts does: every other entry removed,
        /// as many new keys inserted as it held (16 at least, so that the small maps most fuzzed
        /// inputs load grow; 512 at most, so that the fuzzer keeps its pace), every kept entry
        /// updated; then it passes
        /// <c>Validate</c> and holds what a <see cref="Dictionary{TKey, TValue}"/> under the map's
        /// equality holds after the same writes. A load whose bookkeeping is off (the count, the
        /// overflow lists, emptyRest marks, B against the count, the tophash bytes of a key the
        /// load placed) can read back correctly and still break the first growth or delete that
        /// relies on it: the read-only checks above cannot see that.
        /// </summary>
        private static void ExpectWritable<TKey, TValue>(GoMap<TKey, TValue> map, IEqualityComparer<TKey> equality, string what)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            var model = new Dictionary<TKey, TValue>(equality);
            foreach (KeyValuePair<TKey, TValue> kv in map)
            {
                if (!model.TryAdd(kv.Key, kv.Value))
                {
                    Fail($"{what} enumerated the key {HexOf(kv.Key)} twice");
                }
            }

            var kept = new List<TKey>();
            int i = 0;
            foreach (TKey k in new List<TKey>(model.Keys))
            {
                if ((i++ & 1) == 0)
                {
                    if (!map.Remove(k))
                    {
                        Fail($"{what}: the loaded key {HexOf(k)} could not be removed");
                    }

                    model.Remove(k);
                }
                else
                {
                    kept.Add(k);
                }
            }

            int adds = Math.Clamp(i, 16, 512);
            for (long n = 1; adds > 0; n++)
            {
                TKey k = Made<TKey>(n, 0x9E3779B97F4A7C15);
                if (model.ContainsKey(k))
                {
                    continue; // a loaded key, or one this loop made already (3-byte keys collide)
                }

                if (map.ContainsKey(k))
                {
                    Fail($"{what} holds the key {HexOf(k)}, which it was never given");
                }

                TValue v = Made<TValue>(n, 0xD1B54A32D192ED03);
                map[k] = v;
                model[k] = v;
                adds--;
            }

            for (int j = 0; j < kept.Count; j++)
            {
                TKey k = kept[j];
                TValue v = Made<TValue>(j, 0x8CB92BA72F3D8DD7);
                map[k] = v;
                model[k] = v;
            }

            map.Validate();
            Expect(map.LongCount == model.Count, $"{what}: after writes to the loaded map it counts {map.LongCount} entries; {model.Count} were written");
            long seen = 0;
            foreach (KeyValuePair<TKey, TValue> kv in map)
            {
                seen++;
                if (!model.TryGetValue(kv.Key, out TValue want) || !Bytes(kv.Value).SequenceEqual(Bytes(want)))
                {
                    Fail($"{what}: after writes to the loaded map it holds {HexOf(kv.Key)}, which was removed or has another value");
                }
            }

            Expect(seen == model.Count, $"{what}: after writes to the loaded map it enumerates {seen} entries of {model.Count}");
            foreach (KeyValuePair<TKey, TValue> kv in model)
            {
                if (!map.TryGetValue(kv.Key, out TValue got) || !Bytes(got).SequenceEqual(Bytes(kv.Value)))
                {
                    Fail($"{what}: after writes to the loaded map the key {HexOf(kv.Key)} is lost or holds another value");
                }
            }
        }

        /// <summary>A key or value of <paramref name="n"/>: its bytes drawn from n and <paramref name="salt"/> (a splitmix64 stream).</summary>
        private static T Made<T>(long n, ulong salt)
            where T : unmanaged
        {
            var bytes = new byte[sizeof(T)];
            ulong state = (ulong)n * salt, word = 0;
            for (int at = 0; at < bytes.Length; at++)
            {
                if ((at & 7) == 0)
                {
                    state += 0x9E3779B97F4A7C15;
                    word = state;
                    word = (word ^ (word >> 30)) * 0xBF58476D1CE4E5B9;
                    word = (word ^ (word >> 27)) * 0x94D049BB133111EB;
                    word ^= word >> 31;
                }

                bytes[at] = (byte)(word >> (8 * (at & 7)));
            }

            return From<T>(bytes);
        }

        /// <summary>A key or value from its bytes in a snapshot (an array: see the README on Mono and ReadOnlySpan).</summary>
        private static T From<T>(byte[] bytes)
            where T : unmanaged
        {
            Expect(bytes.Length == sizeof(T), $"{bytes.Length} bytes for a {typeof(T).Name}");
            fixed (byte* p = bytes)
            {
                return System.Runtime.CompilerServices.Unsafe.ReadUnaligned<T>(p);
            }
        }

        private static ReadOnlySpan<byte> Bytes<T>(in T value)
            where T : unmanaged =>
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(System.Runtime.InteropServices.MemoryMarshal.CreateReadOnlySpan(ref Unsafe.AsRef(in value), 1)); // not new ReadOnlySpan<T>(in value): .NET 7+

        private static void Expect(bool condition, string what)
        {
            if (!condition)
            {
                Fail(what);
            }
        }

        /// <summary>Throws the oracle's failure; for checks made per entry, whose message is built only on failure.</summary>
        private static void Fail(string what) => throw new OracleException(what);

        /// <summary>A key or value as the checks name it: its bytes in hex (a struct's ToString names only its type).</summary>
        private static string HexOf<T>(T value)
            where T : unmanaged => ReferenceDecoder.Hex(Bytes(value).ToArray());
    }

    /// <summary>
    /// A read-only stream over an input with no length or position (as a pipe's or a socket's):
    /// <c>ReadFrom</c> cannot check the header's count against the bytes that follow.
    /// </summary>
    internal sealed class NonSeekableStream : Stream
    {
        private readonly byte[] _bytes;
        private int _position;

        public NonSeekableStream(byte[] bytes) => _bytes = bytes;

        /// <summary>Bytes read so far (what <see cref="Position"/> would say).</summary>
        public long Consumed => _position;

        /// <summary>Whether anyone asked for the length or position, or to seek (each throws <see cref="NotSupportedException"/>).</summary>
        public bool SeekAsked { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw Unsupported();

        public override long Position
        {
            get => throw Unsupported();
            set => throw Unsupported();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int n = Math.Min(buffer.Length, _bytes.Length - _position);
            _bytes.AsSpan(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw Unsupported();

        public override void SetLength(long value) => throw Unsupported();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private NotSupportedException Unsupported()
        {
            SeekAsked = true;
            return new NotSupportedException("This stream cannot seek.");
        }
    }

    /// <summary>What <see cref="ThrowingComparer"/> throws: a type of the oracle's own, so that no library exception passes for it.</summary>
    public sealed class ComparerFailureException : Exception
    {
        public ComparerFailureException(string message)
            : base(message)
        {
        }

        public ComparerFailureException()
        {
        }

        public ComparerFailureException(string message, Exception innerException)
            : base(message, innerException)
        {
        }
    }

    /// <summary>The oracle saw something that must never happen.</summary>
    public sealed class OracleException : Exception
    {
        public OracleException(string message)
            : base(message)
        {
        }

        public OracleException()
        {
        }

        public OracleException(string message, Exception innerException)
            : base(message, innerException)
        {
        }
    }
}
