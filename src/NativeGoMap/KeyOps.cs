using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace NativeGoMap
{
    /// <summary>How a key type is compared and hashed by default.</summary>
    internal enum KeyKind
    {
        /// <summary>By its bytes: equivalent to <c>Equals</c> (integers, char, bool, enums, Guid, structs without padding).</summary>
        Bytes,

        /// <summary><see cref="float"/>: NaN equals NaN, −0 equals +0, as <see cref="float.Equals(float)"/>.</summary>
        Single,

        /// <summary><see cref="double"/>, as <see cref="double.Equals(double)"/>.</summary>
        Double,

        /// <summary><c>System.Half</c>, as <c>Half.Equals(Half)</c> (compared through <see cref="HalfBits"/>).</summary>
        Half,

        /// <summary>Through <see cref="IEquatable{T}"/> and <see cref="object.GetHashCode"/> mixed to 64 bits.</summary>
        Equatable,

        /// <summary>No default equality is safe; a comparer must be given.</summary>
        Unsupported,
    }

    /// <summary>
    /// Default equality and the 64-bit seeded hash of a key type. The kind is decided once per
    /// type from its fields (the primitive types' without reflection, see <see cref="Kind"/>);
    /// every branch on it, and on <c>sizeof(T)</c>, is folded by the JIT and the native AOT
    /// compiler for the primitive types, wherever the code is compiled.
    /// The hash of a key of at most 16 bytes is a wyhash-style 64×64→128 multiply
    /// (<see cref="WideMath.HighXorLow"/>: high ⊕ low) of the key words
    /// against two per-map secrets, then <see cref="Hasher.Finish"/> (a multiply and a rotate),
    /// which the bucket index (the low B bits) and the tophash (the top 8) both need; longer keys
    /// go through <see cref="Hasher.HashBlock"/>.
    /// </summary>
    internal static unsafe class KeyOps<[DynamicallyAccessedMembers(KeyClassifier.KeyTypeMembers)] T>
        where T : unmanaged
    {
        /// <summary>
        /// How keys of this type are compared and hashed. For the primitive keys (and Guid,
        /// float and double) a chain of <c>typeof</c> tests that the JIT and the native AOT
        /// compiler fold into a constant wherever the code using it is compiled; for every other
        /// type the classifier's answer (<see cref="Classified"/>), a field read once its class is
        /// initialized.
        /// </summary>
        /// <remarks>
        /// Until 2026-12-07 both were one <c>static readonly</c> field set by this class's
        /// initializer. The JIT folds such a field only where the class is already initialized
        /// when it compiles the code; a method compiled before the program's first map of the
        /// key type (with tiered compilation off, every method that creates its map and then
        /// uses it; with it on, a loop's on-stack replacement compiled before the first map)
        /// kept a load behind a class-constructor check for every test of the kind, and every
        /// branch on it. The layout numbers had the same trouble; BucketLayout's remarks measure
        /// both (<see cref="BucketLayout{TKey, TValue}"/>).
        /// The other primitive types and Guid are compared by their bytes, decided without the
        /// classifier, which decides them the same (the primitive types are the ones of
        /// KeyClassifier.IsPrimitiveBytes' list that need no reflection; KeyTypeTests checks that
        /// the two agree); <c>Type.IsPrimitive</c> and the <c>typeof</c> tests are folded by the
        /// JIT. Half, enums and structs go through the classifier. <see cref="Hash"/> and
        /// <see cref="Equal"/> write the same tests out (see Hash's remarks).
        /// </remarks>
        internal static KeyKind Kind
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get => typeof(T) == typeof(double) ? KeyKind.Double
                : typeof(T) == typeof(float) ? KeyKind.Single
                : typeof(T).IsPrimitive || typeof(T) == typeof(Guid) ? KeyKind.Bytes
                : Classified.Kind;
        }

        /// <summary>Why no default equality is safe for the type (<see cref="KeyKind.Unsupported"/>), else null.</summary>
        internal static string? UnsupportedReason => typeof(T).IsPrimitive || typeof(T) == typeof(Guid) ? null : Classified.UnsupportedReason;

        /// <summary>The classifier's decision for a type that is not one of <see cref="Kind"/>'s own, made once, when first read.</summary>
        private static class Classified
        {
            internal static readonly KeyKind Kind;
            internal static readonly string? UnsupportedReason;

            static Classified()
            {
                // The size and the IEquatable<T> test from this generic context rather than by
                // reflection: KeyClassifier runs no generic instantiation it makes itself, which
                // native AOT cannot run (it crashed every map with a struct key there, 2026-12-05).
                (Kind, UnsupportedReason) = KeyClassifier.Classify(typeof(T), sizeof(T), typeof(IEquatable<T>).IsAssignableFrom(typeof(T)));
            }
        }

        /// <summary>The key's hash under the seed pair (<paramref name="k1"/>, <paramref name="k2"/>).</summary>
        /// <remarks>
        /// The built-in kinds are told apart by <c>typeof</c> tests, which the JIT folds as it
        /// reads this method's code, so that the branches of the other kinds are never read in.
        /// Read in, even when folded away later, a branch that takes the key's address (the
        /// float and Half ones) kept the caller's key in memory: with <see cref="Kind"/> (a call
        /// until inlined) tested here instead, a probe's insert and lookup loops stored the key
        /// to the stack on every operation (2026-12-07, JitDisasm).
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ulong Hash(in T key, ulong k1, ulong k2)
        {
            if (typeof(T) == typeof(float))
            {
                return HashSingle(Unsafe.As<T, float>(ref Unsafe.AsRef(in key)), k1, k2);
            }

            if (typeof(T) == typeof(double))
            {
                return HashDouble(Unsafe.As<T, double>(ref Unsafe.AsRef(in key)), k1, k2);
            }

            // Kind's Bytes test, written out: the JIT folds a typeof test as it reads the code
            // in, a property's result only after (see the remarks).
            if (typeof(T).IsPrimitive || typeof(T) == typeof(Guid))
            {
                return HashBytes(ref Unsafe.As<T, byte>(ref Unsafe.AsRef(in key)), k1, k2);
            }

            return HashClassified(key, k1, k2);
        }

        /// <summary>
        /// <see cref="Hash"/> for the kinds the classifier decides: a field, folded where its class
        /// is initialized. A method of its own, so that the primitive keys' Hash, whose call to it
        /// the JIT drops unread, costs the inliner's budget only its own few lines.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static ulong HashClassified(in T key, ulong k1, ulong k2)
        {
            KeyKind kind = Classified.Kind;
            if (kind == KeyKind.Bytes)
            {
                return HashBytes(ref Unsafe.As<T, byte>(ref Unsafe.AsRef(in key)), k1, k2);
            }

            if (kind == KeyKind.Half)
            {
                return Hasher.Hash64(HalfBits.Canonical(Unsafe.As<T, ushort>(ref Unsafe.AsRef(in key))), k1, k2);
            }

            return Hasher.FromHashCode(EqualityComparer<T>.Default.GetHashCode(key), k1, k2);
        }

        /// <summary>A float key's hash: NaNs as one, −0 as +0, as <see cref="float.Equals(float)"/> compares them.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static ulong HashSingle(float f, ulong k1, ulong k2) =>
            Hasher.Hash64(float.IsNaN(f) ? 0x7FC00000u : f == 0 ? 0u : (uint)BitConverter.SingleToInt32Bits(f), k1, k2);

        /// <summary>A double key's hash, as <see cref="HashSingle"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static ulong HashDouble(double d, ulong k1, ulong k2) =>
            Hasher.Hash64(double.IsNaN(d) ? 0x7FF8000000000000UL : d == 0 ? 0UL : (ulong)BitConverter.DoubleToInt64Bits(d), k1, k2);

        /// <summary>Default equality of two keys (.NET's <c>Equals</c> semantics); the kinds told apart as in <see cref="Hash"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static bool Equal(in T a, in T b)
        {
            if (typeof(T) == typeof(float))
            {
                return Unsafe.As<T, float>(ref Unsafe.AsRef(in a)).Equals(Unsafe.As<T, float>(ref Unsafe.AsRef(in b)));
            }

            if (typeof(T) == typeof(double))
            {
                return Unsafe.As<T, double>(ref Unsafe.AsRef(in a)).Equals(Unsafe.As<T, double>(ref Unsafe.AsRef(in b)));
            }

            // Kind's Bytes test, written out: the JIT folds a typeof test as it reads the code
            // in, a property's result only after (see Hash's remarks).
            if (typeof(T).IsPrimitive || typeof(T) == typeof(Guid))
            {
                return BytesEqual(a, b);
            }

            return EqualClassified(a, b);
        }

        /// <summary><see cref="Equal"/> for the kinds the classifier decides: a method of its own for the reason <see cref="HashClassified"/> is.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static bool EqualClassified(in T a, in T b)
        {
            KeyKind kind = Classified.Kind;
            if (kind == KeyKind.Bytes)
            {
                return BytesEqual(a, b);
            }

            if (kind == KeyKind.Half)
            {
                return HalfBits.Equal(Unsafe.As<T, ushort>(ref Unsafe.AsRef(in a)), Unsafe.As<T, ushort>(ref Unsafe.AsRef(in b)));
            }

            return EqualityComparer<T>.Default.Equals(a, b);
        }

        /// <summary>Two keys compared by their bytes (<see cref="KeyKind.Bytes"/>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static bool BytesEqual(in T a, in T b)
        {
            if (sizeof(T) == 1)
            {
                return Unsafe.As<T, byte>(ref Unsafe.AsRef(in a)) == Unsafe.As<T, byte>(ref Unsafe.AsRef(in b));
            }

            if (sizeof(T) == 2)
            {
                return Unsafe.ReadUnaligned<ushort>(ref Unsafe.As<T, byte>(ref Unsafe.AsRef(in a))) == Unsafe.ReadUnaligned<ushort>(ref Unsafe.As<T, byte>(ref Unsafe.AsRef(in b)));
            }

            if (sizeof(T) == 4)
            {
                return Unsafe.ReadUnaligned<uint>(ref Unsafe.As<T, byte>(ref Unsafe.AsRef(in a))) == Unsafe.ReadUnaligned<uint>(ref Unsafe.As<T, byte>(ref Unsafe.AsRef(in b)));
            }

            if (sizeof(T) == 8)
            {
                return Unsafe.ReadUnaligned<ulong>(ref Unsafe.As<T, byte>(ref Unsafe.AsRef(in a))) == Unsafe.ReadUnaligned<ulong>(ref Unsafe.As<T, byte>(ref Unsafe.AsRef(in b)));
            }

            if (sizeof(T) == 16)
            {
                // Two 8-byte halves, xor'd and or'd. Tried and not kept (2026-12-04, README's
                // VM, quick comparison at 1,000 <Guid,long> entries): one Vector128 compare.
                // Loaded from the key's own bytes, it made the JIT store the key's halves to
                // the stack and load them back as one vector (a failed store forward): updates
                // 4.0 → 8.1-8.3 ns, removes 5.5 → 8.3. Built from the two halves
                // (Vector128.Create): the update loop's stack references went from 21 to 17,
                // its time did not move (3.92 against 4.01 ns).
                ref byte pa = ref Unsafe.As<T, byte>(ref Unsafe.AsRef(in a));
                ref byte pb = ref Unsafe.As<T, byte>(ref Unsafe.AsRef(in b));
                return ((Unsafe.ReadUnaligned<ulong>(ref pa) ^ Unsafe.ReadUnaligned<ulong>(ref pb)) |
                        (Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref pa, 8)) ^ Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref pb, 8)))) == 0;
            }

            return MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<T, byte>(ref Unsafe.AsRef(in a)), sizeof(T))
                .SequenceEqual(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<T, byte>(ref Unsafe.AsRef(in b)), sizeof(T)));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static ulong HashBytes(ref byte p, ulong k1, ulong k2)
        {
            if (sizeof(T) == 1)
            {
                return Hasher.Hash64(p, k1, k2);
            }

            if (sizeof(T) == 2)
            {
                return Hasher.Hash64(Unsafe.ReadUnaligned<ushort>(ref p), k1, k2);
            }

            if (sizeof(T) == 4)
            {
                return Hasher.Hash64(Unsafe.ReadUnaligned<uint>(ref p), k1, k2);
            }

            if (sizeof(T) == 8)
            {
                return Hasher.Hash64(Unsafe.ReadUnaligned<ulong>(ref p), k1, k2);
            }

            if (sizeof(T) == 16)
            {
                return Hasher.Hash128(Unsafe.ReadUnaligned<ulong>(ref p), Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, 8)), k1, k2);
            }

            return Hasher.HashBlock(ref p, sizeof(T), k1, k2);
        }
    }

    /// <summary>The mixing primitives shared by every key kind.</summary>
    internal static class Hasher
    {
        private const ulong P0 = 0xa0761d6478bd642fUL;
        private const ulong P1 = 0xe7037ed1a0b428dbUL;
        private const ulong Golden = 0x9E3779B97F4A7C15UL; // 2^64 / φ, odd

        /// <summary>
        /// 64×64→128 multiply folded to 64 bits (high ⊕ low): both ends depend on every input bit,
        /// though not evenly for inputs that differ in a few bits (<see cref="Finish"/>'s remark).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ulong Mix(ulong a, ulong b)
        {
            // One multiply folded to 64 bits: WideMath picks the instructions per target.
            return WideMath.HighXorLow(a, b);
        }

        /// <summary>Hash of an arbitrary byte block (wyhash's loop shape, our own constants use).</summary>
        internal static ulong HashBlock(ref byte p, int len, ulong k1, ulong k2)
        {
            ulong seed = k1 ^ ((ulong)len * P0);
            ulong a, b;
            if (len <= 16)
            {
                if (len >= 4)
                {
                    // Two overlapping reads cover 4..16 bytes.
                    int q = (len >> 3) << 2;
                    a = ((ulong)Unsafe.ReadUnaligned<uint>(ref p) << 32) | Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, q));
                    b = ((ulong)Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, len - 4)) << 32) | Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, len - 4 - q));
                }
                else
                {
                    a = ((ulong)p << 16) | ((ulong)Unsafe.Add(ref p, len >> 1) << 8) | Unsafe.Add(ref p, len - 1);
                    b = 0;
                }
            }
            else
            {
                int i = 0;
                for (; len - i > 16; i += 16)
                {
                    seed = Mix(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, i)) ^ P1, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, i + 8)) ^ seed);
                }

                a = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, len - 16));
                b = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, len - 8));
            }

            return Mix(P1 ^ (ulong)len, Mix(a ^ P1, b ^ seed) ^ k2);
        }

        /// <summary>A 64-bit value from a 32-bit .NET hash code and the seed pair.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ulong FromHashCode(int hashCode, ulong k1, ulong k2) => Hash64((uint)hashCode, k1, k2);

        /// <summary>The hash of a key of at most 8 bytes (or of a hash code) under the seed pair: <see cref="Finish"/> of one <see cref="Mix"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ulong Hash64(ulong v, ulong k1, ulong k2) => Finish(Mix(v ^ k1, k2));

        /// <summary>The hash of a 16-byte key (two words) under the seed pair: <see cref="Finish"/> of one <see cref="Mix"/>, a word in each factor.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ulong Hash128(ulong lo, ulong hi, ulong k1, ulong k2) => Finish(Mix(lo ^ k1, hi ^ k2));

        /// <summary>
        /// The last step of every short-key hash: a 64-bit multiply by 2^64/φ, rotated by 32, so
        /// that the bucket index (the low B bits) comes from the product's middle bits, which
        /// depend on every bit of the folded product <paramref name="h"/>, and the tophash (the
        /// top 8) from bits 24-31.
        /// </summary>
        /// <remarks>
        /// Without it (<c>Mix(v ^ k1, k2)</c> alone, the hash until 2026-12-05), keys that differ
        /// in a few bits bunched for most seeds at some table size: the fold's low bits are the
        /// xor of the product's low half (a permutation of the key's low bits) and its high half
        /// (which moves by carries, as a rotation of <c>k2</c> read as a fraction times the key),
        /// and for a key pattern typically 3-6 % of seeds (sequential keys 10 %) make the two
        /// cancel at some table size from 8 to 4,096 buckets. The stress program's spread mode
        /// measures it over 89 patterns (sequential, 2^t apart for every t, multiples, packed
        /// grids), four keys a bucket, 8 to 4,096 buckets: with the fold alone 1,354 of 1,500
        /// random seeds put more than 20 keys in one bucket for some pattern and size; with this
        /// step 3 (one table each, keys 2^45 and 2^50 apart: such keys reach the bucket bits only
        /// through the product's high half, so for them the hash is one multiply chain), which
        /// is chance's level (random numbers: 0 and 3 of 1,500 in two runs). Go's second 128-bit
        /// round gave 2 of 1,500 in a probe, at 15-35 % of a lookup; this step costs a 3-cycle
        /// multiply and a rotate (about a tenth of an in-cache lookup). Fixed multipliers vetted
        /// against some of the patterns failed the others. HashQualityTests hold it for fixed
        /// seeds. Cheaper last steps tried on 2026-12-05 (spread --quick, 100 seeds, the same
        /// seed pairs; the map's hash failed 0, random numbers 0): the rotate alone 91 seeds,
        /// <c>f ^ (f &gt;&gt; 32)</c> 71, <c>f + rotr(f, 32)</c> 35, <c>f ^ (f &gt;&gt; 29)</c> 84,
        /// <c>rotr(f, 32) ^ (f &gt;&gt; 7)</c> 79; and without the fold, the high 64 bits of the key
        /// times a 128-bit multiplier (<c>mulhi(v, k2) + v * k1</c>, multiply-shift) 97, one
        /// 64-bit multiply-add rotated 100: linear in the key, those bunch arithmetic
        /// progressions for seeds near a fraction with a small denominator. What this step and
        /// the fold cost: with the multiply-add alone for 4-byte keys, 1,000-entry
        /// <c>&lt;int,int&gt;</c> hits took 2.64-2.68 ns against 3.11 (probe, Dictionary
        /// 2.73-2.74): the hits' gap to Dictionary in the caches is this hash's price.
        /// Go's kind of hash was tried in its place on 2026-12-07 (a Zen 4 VM, AES-NI): the key
        /// xored with <c>k1</c> in the low half of a vector, AES rounds under a process-wide round
        /// key, the low 64 bits taken (Go's memhash64 puts its seed beside the key and runs three
        /// rounds under a per-process key schedule). Two rounds: 7 instructions where this hash
        /// takes 9, and in alternated quick comparisons 1,000-entry <c>&lt;int&gt;</c> hits
        /// 3.13-3.15 → 2.94-3.01 ns and misses 2.46-2.49 →
        /// 2.23-2.26, but removes 5.53 → 5.66-5.83 and <c>&lt;Guid&gt;</c> hits (two words put
        /// into the vector) 4.15-4.23 → 4.38-4.43; and they bunch: spread failed 1,500 of 1,500
        /// seeds (keys 2^25 to 2^27 apart, grids), because a key that differs in bytes 3 and 4
        /// reaches the low output bytes through one state byte after two rounds, so at most 256
        /// buckets. The key in both halves: 11 of 100 seeds (spread --quick). Three rounds, as
        /// Go: 0 of 100, but no faster in the caches (<c>&lt;int&gt;</c> hits 3.13-3.14 →
        /// 3.19-3.25 ns, misses 2.46-2.49 → 2.31-2.35) and slower writes (removes 5.54-5.58 →
        /// 6.12-6.18, <c>&lt;long&gt;</c> inserts with a hint 6.08-6.13 → 6.60-6.77; most likely
        /// the rounds' latency, 3 × 4 cycles and two moves between register files against 10
        /// cycles here, which the writes feel and the lookups hide). At 1,000,000 entries both
        /// read faster (<c>&lt;long&gt;</c> hits 26.0-26.1 → 23.8-23.9 ns with three rounds,
        /// misses 23.0-23.7 → 19.1-19.2): not explained, and not the targets' gap.
        /// benchmarks/RESULTS.md has the runs.
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ulong Finish(ulong h) => BitOperations.RotateRight(h * Golden, 32);

        [ThreadStatic]
        private static ulong t_seedCounter; // this thread's splitmix64 state for map seeds; 0 until its first map

        [ThreadStatic]
        private static ulong t_seedSecret;  // mixed into every seed the thread hands out

        /// <summary>
        /// A random seed for a new map (Go's fastrand for makemap's hash0): a per-thread
        /// splitmix64 stream mixed with a per-thread secret, both drawn from the operating
        /// system's cryptographic generator on the thread's first map. A call of
        /// <see cref="RandomNumberGenerator.Fill(Span{byte})"/> per map cost about 2 µs, a
        /// quarter of building a 1,000-entry map.
        /// </summary>
        internal static ulong NewMapSeed()
        {
            if (t_seedCounter == 0)
            {
                Span<byte> random = stackalloc byte[16];
                RandomNumberGenerator.Fill(random);
                t_seedCounter = MemoryMarshal.Read<ulong>(random) | 1;
                t_seedSecret = MemoryMarshal.Read<ulong>(random.Slice(8)) | 1;
            }

            ulong state = t_seedCounter;
            ulong r = SplitMix(ref state);
            t_seedCounter = state == 0 ? 1 : state;
            return Mix(r, t_seedSecret);
        }

        /// <summary>
        /// The seed of a side sequence of <paramref name="state"/>'s (the map's enumeration
        /// starts), taken without advancing it: splitmix64's next output for the state with a
        /// fixed constant xored in, so that it is not the output the main sequence gives next.
        /// </summary>
        internal static ulong SideSeed(ulong state)
        {
            ulong side = state ^ 0xD6E8FEB86659FD93UL;
            return SplitMix(ref side);
        }

        /// <summary>splitmix64: expands one seed into the per-map secrets.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ulong SplitMix(ref ulong state)
        {
            ulong z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    /// <summary>
    /// <c>System.Half</c> equality on the raw bits (sign 1, exponent 5, fraction 10), exactly as
    /// <c>Half.Equals</c>: NaN equals NaN, −0 equals +0, otherwise the bits decide. Working on
    /// bits keeps the netstandard2.1 build, which has no <c>Half</c>, identical to the others.
    /// </summary>
    internal static class HalfBits
    {
        private const ushort AbsMask = 0x7FFF;      // all but the sign
        private const ushort Infinity = 0x7C00;     // exponent all ones, fraction 0; above it (sign aside) is NaN
        private const ushort CanonicalNaN = 0x7E00; // the quiet NaN every NaN hashes as

        /// <summary>The one representative of the key's equality class: every NaN, every zero maps to one value.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ushort Canonical(ushort bits) =>
            (bits & AbsMask) > Infinity ? CanonicalNaN : (bits & AbsMask) == 0 ? (ushort)0 : bits;

        /// <summary>Whether two halves are equal under <c>Half.Equals</c>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static bool Equal(ushort a, ushort b) => Canonical(a) == Canonical(b);
    }

    /// <summary>
    /// Decides a key type's <see cref="KeyKind"/> by reflection, once per type. It reads only
    /// metadata (fields, attributes, methods and interfaces of the key type and of its fields'
    /// types) and instantiates no generic type or method, so it also runs under native AOT and
    /// IL2CPP. Where a trimmer removed a struct's fields, it shows none, so the key is never
    /// taken as comparable by its bytes on a guess: it is compared through its
    /// IEquatable&lt;T&gt;, or refused with a message that says the fields are missing.
    /// </summary>
    internal static class KeyClassifier
    {
        /// <summary>The kind of key type <paramref name="t"/>, of <paramref name="size"/> bytes, which implements IEquatable of itself when <paramref name="equatable"/>; the reason when unsupported.</summary>
        internal static (KeyKind Kind, string? Reason) Classify([DynamicallyAccessedMembers(KeyTypeMembers)] Type t, int size, bool equatable)
        {
            if (t == typeof(float))
            {
                return (KeyKind.Single, null);
            }

            if (t == typeof(double))
            {
                return (KeyKind.Double, null);
            }

            if (t == CoreTypes.Half)
            {
                return (KeyKind.Half, null);
            }

            if (IsPrimitiveBytes(t))
            {
                return (KeyKind.Bytes, null);
            }

            bool fixedBuffer = false;
            string? whyNotBytes = WhyNotBytes(t, out long fieldBytes, ref fixedBuffer);
            bool noPadding = whyNotBytes is null && fieldBytes == size;

            if (!equatable)
            {
                if (OverridesObjectEquals(t))
                {
                    return (KeyKind.Unsupported, $"{t} overrides Equals(object) but does not implement IEquatable<{t.Name}>; calling Equals(object) would box every key. Implement IEquatable<{t.Name}> or pass an IEqualityComparer<{t.Name}>.");
                }

                if (whyNotBytes is not null)
                {
                    return (KeyKind.Unsupported, $"{t} cannot be compared by its bytes ({whyNotBytes}) and does not implement IEquatable<{t.Name}>. Implement IEquatable<{t.Name}> and GetHashCode, or pass an IEqualityComparer<{t.Name}>.");
                }

                if (!noPadding)
                {
                    return (KeyKind.Unsupported, $"{t} has padding bytes ({fieldBytes} bytes of fields in {size}), whose contents are undefined, so it cannot be compared by its bytes, and it does not implement IEquatable<{t.Name}>. Implement IEquatable<{t.Name}> and GetHashCode, or pass an IEqualityComparer<{t.Name}>.");
                }

                return (KeyKind.Bytes, null);
            }

            // A record struct's compiler-generated equality compares field by field with each
            // field's default equality: the same as comparing bytes when the fields allow it.
            // Not when a fixed buffer lies inside: the generated equality reaches it through
            // ValueType.Equals, which compares a fixed buffer's first element only.
            if (noPadding && IsCompilerGeneratedEquality(t) && !fixedBuffer)
            {
                return (KeyKind.Bytes, null);
            }

            return (KeyKind.Equatable, null);
        }

        /// <summary>
        /// What the classifier reads of a key type, and what a trimmer must keep of one (the
        /// annotation on the key type parameters that reach it: <see cref="GoMap{TKey, TValue}"/>'s
        /// TKey and the internal types it instantiates with it).
        /// </summary>
        internal const DynamicallyAccessedMemberTypes KeyTypeMembers =
            DynamicallyAccessedMemberTypes.PublicFields | DynamicallyAccessedMemberTypes.NonPublicFields |
            DynamicallyAccessedMemberTypes.PublicMethods | DynamicallyAccessedMemberTypes.Interfaces;

        private static bool IsPrimitiveBytes(Type t) =>
            t.IsEnum || t == typeof(byte) || t == typeof(sbyte) || t == typeof(short) || t == typeof(ushort) ||
            t == typeof(int) || t == typeof(uint) || t == typeof(long) || t == typeof(ulong) || t == typeof(char) ||
            t == typeof(bool) || t == typeof(nint) || t == typeof(nuint) || t == typeof(Guid) ||
            t == CoreTypes.Int128 || t == CoreTypes.UInt128 || t.IsPointer || t.IsFunctionPointer;

        /// <summary>
        /// Null when every field is comparable by bytes; <paramref name="bytes"/> is then the sum
        /// of the field sizes, and <paramref name="fixedBuffer"/> is set when a fixed buffer, or an
        /// <c>[InlineArray]</c> held by a struct without equality of its own, lies
        /// in <paramref name="t"/> or a struct field of it, at any depth (complete only when null
        /// is returned: the walk stops at the first field that is not comparable).
        /// </summary>
        [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "A field's type carries no annotation: where a trimmer removed a nested struct's fields, it shows none and the key is refused or compared through its IEquatable (see the class remarks), never by its bytes on a guess.")]
        private static string? WhyNotBytes([DynamicallyAccessedMembers(KeyTypeMembers)] Type t, out long bytes, ref bool fixedBuffer)
        {
            bytes = 0;
            if (IsPrimitiveBytes(t))
            {
                bytes = PrimitiveSize(t);
                return null;
            }

            if (t == typeof(float) || t == typeof(double) || t == CoreTypes.Half)
            {
                return $"{t.Name} equality is not bitwise: NaN and -0";
            }

            if (t.IsPrimitive || !t.IsValueType)
            {
                return $"{t.Name} is not comparable by bytes";
            }

            if (t != typeof(Guid) && !IsStructDefaultEquality(t))
            {
                return $"{t.Name} defines its own equality";
            }

            if (t.StructLayoutAttribute?.Value == LayoutKind.Explicit)
            {
                return $"{t.Name} has an explicit layout (fields may overlap)";
            }

            int? inlineLength = InlineArrayLength(t);
            bool valueTypeEquals = !IsCompilerGeneratedEquality(t); // t's equality is ValueType.Equals, not a record's
            FieldInfo[] fields = t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);
            if (fields.Length == 0)
            {
                // A struct of no fields has a byte of padding; under native AOT or a trimmer,
                // fields a program never reflects on are removed, which reads the same here.
                return $"{t.Name} shows no fields to reflection (an empty struct, or one whose fields a trimmer removed: see the README on native AOT)";
            }

            if (inlineLength is int length && fields.Length == 1)
            {
                string? why = WhyNotBytes(fields[0].FieldType, out long elem, ref fixedBuffer);
                bytes = elem * length;
                return why;
            }

            foreach (FieldInfo f in fields)
            {
                FixedBufferAttribute? buffer = f.GetCustomAttribute<FixedBufferAttribute>();
                if (buffer is not null)
                {
                    fixedBuffer = true;
                    string? whyElem = WhyNotBytes(buffer.ElementType, out long elem, ref fixedBuffer);
                    if (whyElem is not null)
                    {
                        return whyElem;
                    }

                    bytes += elem * buffer.Length;
                    continue;
                }

                if (valueTypeEquals && InlineArrayLength(f.FieldType) is not null)
                {
                    // Found by review (2026-12-07): ValueType.Equals reaches an [InlineArray] field as it
                    // reaches a fixed buffer, and compares its first element only (once the
                    // runtime has hashed the holder: Dictionary hashes first).
                    fixedBuffer = true;
                }

                string? whyField = WhyNotBytes(f.FieldType, out long fb, ref fixedBuffer);
                if (whyField is not null)
                {
                    return whyField;
                }

                bytes += fb;
            }

            return null;
        }

        private static bool IsStructDefaultEquality([DynamicallyAccessedMembers(KeyTypeMembers)] Type t) =>
            !OverridesObjectEquals(t) && (!ImplementsEquatableOfItself(t) || IsCompilerGeneratedEquality(t));

        /// <summary>Whether <paramref name="t"/> implements IEquatable of itself, read from its interface list (no generic type is made: see the class remarks).</summary>
        private static bool ImplementsEquatableOfItself([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.Interfaces)] Type t)
        {
            foreach (Type i in t.GetInterfaces())
            {
                if (i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEquatable<>) && i.GetGenericArguments()[0] == t)
                {
                    return true;
                }
            }

            return false;
        }

        private static bool OverridesObjectEquals([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicMethods)] Type t)
        {
            MethodInfo? m = t.GetMethod(nameof(Equals), BindingFlags.Instance | BindingFlags.Public, null, new[] { typeof(object) }, null);
            return m is not null && m.DeclaringType == t && !m.IsDefined(typeof(CompilerGeneratedAttribute), false);
        }

        private static bool IsCompilerGeneratedEquality([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicMethods)] Type t)
        {
            MethodInfo? m = t.GetMethod(nameof(Equals), BindingFlags.Instance | BindingFlags.Public, null, new[] { t }, null);
            return m is not null && m.IsDefined(typeof(CompilerGeneratedAttribute), false) && !ImplementsEquatableExplicitly(t);
        }

        /// <summary>
        /// Whether <paramref name="t"/> declares an explicit <c>IEquatable&lt;T&gt;.Equals</c>: a
        /// record struct may, beside its generated public Equals, and EqualityComparer&lt;T&gt;.Default
        /// then calls the explicit one (found by review, 2026-12-07).
        /// </summary>
        [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Where a trimmer removed the private method's metadata it is not seen, and the key reads as it did before this check.")]
        private static bool ImplementsEquatableExplicitly(Type t)
        {
            foreach (MethodInfo m in t.GetMethods(BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (m.IsPrivate && m.IsVirtual && m.Name.StartsWith("System.IEquatable<", StringComparison.Ordinal) &&
                    m.Name.EndsWith(".Equals", StringComparison.Ordinal))
                {
                    ParameterInfo[] p = m.GetParameters();
                    if (p.Length == 1 && p[0].ParameterType == t)
                    {
                        return true;
                    }
                }
            }

            return false;
        }

        /// <summary>The length of <paramref name="t"/>'s <c>[InlineArray]</c>, or null when it has none.</summary>
        internal static int? InlineArrayLength(Type t)
        {
#if NETSTANDARD2_1
            // The attribute is .NET 8's; a netstandard2.1 build running there reads it by name.
            foreach (object a in t.GetCustomAttributes(false))
            {
                if (a.GetType().FullName == "System.Runtime.CompilerServices.InlineArrayAttribute")
                {
                    return (int)a.GetType().GetProperty("Length")!.GetValue(a)!;
                }
            }

            return null;
#else
            return t.GetCustomAttribute<InlineArrayAttribute>(false)?.Length;
#endif
        }

        /// <summary>The size of a type <see cref="IsPrimitiveBytes"/> accepts, from a table rather than by instantiating Unsafe.SizeOf (see the class remarks).</summary>
        private static long PrimitiveSize(Type t)
        {
            if (t.IsEnum)
            {
                return PrimitiveSize(Enum.GetUnderlyingType(t));
            }

            if (t == typeof(byte) || t == typeof(sbyte) || t == typeof(bool))
            {
                return 1;
            }

            if (t == typeof(short) || t == typeof(ushort) || t == typeof(char))
            {
                return 2;
            }

            if (t == typeof(int) || t == typeof(uint))
            {
                return 4;
            }

            if (t == typeof(long) || t == typeof(ulong))
            {
                return 8;
            }

            if (t == typeof(Guid) || t == CoreTypes.Int128 || t == CoreTypes.UInt128)
            {
                return 16;
            }

            return IntPtr.Size; // nint, nuint, pointers, function pointers: the rest of IsPrimitiveBytes
        }
    }
}
