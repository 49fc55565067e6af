using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace NativeGoMap.MonoSmoke
{
    /// <summary>
    /// What native AOT changes for the library: no generic instantiation can be made at run time,
    /// and a trimmer removes the fields, methods and interfaces a program never reflects on. The
    /// key classifier and the snapshot's type fingerprint read those by reflection, so these
    /// checks make maps of struct keys that no comparer covers, one per way the classifier
    /// decides, and round-trip a snapshot. Under the JIT they must decide as they do in the
    /// test suite; under native AOT the same, but for a key whose byte equality rests on a nested
    /// struct's fields, which the trimmer removed: refused, with a message that says so. Prints
    /// the snapshot's bytes as a hash, which .ci/run compares between the two runs.
    /// Arguments: --expect-aot fails the run unless it runs as native code; --expect-arm64 unless it
    /// runs on Arm64 (.ci/run also runs this program, JIT-compiled, for linux-arm64 under qemu-user,
    /// where the hash takes Arm64's multiply-high and no x86 instruction: its fingerprint and
    /// snapshot lines must equal the x64 run's).
    /// </summary>
    public static partial class Program
    {
        static partial void MoreChecks(string[] args)
        {
            bool aot = !RuntimeFeature.IsDynamicCodeSupported;
            Console.WriteLine($"native AOT: {(aot ? "yes" : "no (JIT)")}");
            if (args.Contains("--expect-aot"))
            {
                Check(aot, "running as native AOT code, as asked");
            }

            Architecture arch = RuntimeInformation.ProcessArchitecture;
            Console.WriteLine($"architecture: {arch}");
            if (args.Contains("--expect-arm64"))
            {
                Check(arch == Architecture.Arm64 && ArmBase.Arm64.IsSupported && !X86Base.IsSupported, "running on Arm64 (multiply-high, no x86 instructions), as asked");
            }

            KeysTheClassifierAccepts();
            KeysTheClassifierRefuses(aot);
            SnapshotsRoundTrip();
        }

        private static void KeysTheClassifierAccepts()
        {
            // Fields of primitives only: compared by bytes, no IEquatable needed.
            using (var map = new GoMap<Point, int>())
            {
                for (int i = 0; i < 5_000; i++)
                {
                    map[new Point(i, -i)] = i;
                }

                Check(map.Count == 5_000 && map[new Point(77, -77)] == 77 && !map.ContainsKey(new Point(77, 77)), "struct key of two ints, no IEquatable: compared by its bytes");
            }

            // A fixed buffer: its attribute gives the element type and length.
            using (var map = new GoMap<Name32, int>())
            {
                for (int i = 0; i < 1_000; i++)
                {
                    map[Name32.Of(i)] = i;
                }

                Check(map.Count == 1_000 && map[Name32.Of(999)] == 999, "fixed byte[32] key, no IEquatable: compared by all its bytes");
            }

            // A record struct: its compiler-generated equality.
            using (var map = new GoMap<Pair, long>())
            {
                map[new Pair(1, 2)] = 12;
                map[new Pair(2, 1)] = 21;
                Check(map.Count == 2 && map[new Pair(1, 2)] == 12, "record struct key: its generated equality");
            }

            // IEquatable over a double: NaN finds NaN, as its Equals says.
            using (var map = new GoMap<Reading, int>())
            {
                map[new Reading(double.NaN)] = 1;
                map[new Reading(0.5)] = 2;
                Check(map.Count == 2 && map[new Reading(double.NaN)] == 1, "struct key with IEquatable over a double: its Equals");
            }
        }

        private static void KeysTheClassifierRefuses(bool aot)
        {
            Check(RefusalOf(() => new GoMap<HasFloat, int>())?.Contains("cannot be compared by its bytes", StringComparison.Ordinal) == true, "struct key with a float field, no IEquatable: refused");
            Check(RefusalOf(() => new GoMap<HasPadding, int>())?.Contains("padding", StringComparison.Ordinal) == true, "struct key with padding, no IEquatable: refused");

            // A nested struct's fields are read through the field's type, which no annotation
            // reaches: the trimmer removes them under native AOT (README, native AOT).
            string? nested = RefusalOf(() =>
            {
                using var map = new GoMap<Outer, int>();
                map[new Outer(new Inner(1, 2), 3)] = 4;
                if (map[new Outer(new Inner(1, 2), 3)] != 4)
                {
                    throw new InvalidOperationException("lookup failed");
                }
            });
            Check(aot ? nested?.Contains("shows no fields to reflection", StringComparison.Ordinal) == true : nested is null, aot
                ? "struct key holding a struct, no IEquatable: refused under native AOT, naming the removed fields"
                : "struct key holding a struct, no IEquatable: compared by its bytes under the JIT");

            using var withComparer = new GoMap<Outer, int>(null, new OuterComparer());
            withComparer[new Outer(new Inner(1, 2), 3)] = 4;
            Check(withComparer[new Outer(new Inner(1, 2), 3)] == 4, "the same key with a comparer: accepted everywhere");
        }

        private static string? RefusalOf(Action make)
        {
            try
            {
                make();
                return null;
            }
            catch (NotSupportedException e)
            {
                return e.Message;
            }
        }

        private static void SnapshotsRoundTrip()
        {
            using var map = new GoMap<Point, Payload>(new GoMapOptions { Seed = 11 });
            for (int i = 0; i < 3_000; i++)
            {
                map[new Point(i, i * 3)] = new Payload(i, i * 0.25);
            }

            var stream = new MemoryStream();
            map.WriteTo(stream);
            byte[] bytes = stream.ToArray();
            stream.Position = 0;
            using GoMap<Point, Payload> copy = GoMap<Point, Payload>.ReadFrom(stream);
            bool same = copy.Count == map.Count;
            foreach (KeyValuePair<Point, Payload> e in map)
            {
                same &= copy.TryGetValue(e.Key, out Payload v) && v.Equals(e.Value);
            }

            Check(same, "snapshot of struct keys and values: written and read back whole");
            ulong h = 0xcbf29ce484222325UL;
            foreach (byte b in bytes)
            {
                h = (h ^ b) * 0x100000001b3UL;
            }

            // The header holds the types' fingerprint (their fields' shapes), the body the entries
            // in the walk's order under the seed: the JIT and native AOT must write the same bytes.
            Console.WriteLine($"snapshot: {bytes.Length} bytes, {h:x16}");
        }
    }

    /// <summary>Two ints, no IEquatable: compared by its bytes.</summary>
    public readonly struct Point(int x, int y)
    {
        public int X { get; } = x;

        public int Y { get; } = y;
    }

    /// <summary>A 32-byte name in a fixed buffer, as the README's word rows use.</summary>
    public unsafe struct Name32
    {
        public fixed byte Bytes[32];

        public static Name32 Of(int i)
        {
            var n = default(Name32);
            *(int*)(n.Bytes + 28) = i;
            n.Bytes[0] = (byte)'n';
            return n;
        }
    }

    /// <summary>A record struct of two ints.</summary>
    public readonly record struct Pair(int A, int B);

    /// <summary>A double with its own equality (NaN equals NaN).</summary>
    public readonly struct Reading(double value) : IEquatable<Reading>
    {
        public double Value { get; } = value;

        public bool Equals(Reading other) => Value.Equals(other.Value);

        public override bool Equals(object? obj) => obj is Reading r && Equals(r);

        public override int GetHashCode() => Value.GetHashCode();
    }

    /// <summary>A float field and no IEquatable: no safe default equality.</summary>
    public struct HasFloat
    {
        public float F;
        public int I;
    }

    /// <summary>Three bytes of padding and no IEquatable: no safe default equality.</summary>
    public struct HasPadding
    {
        public byte B;
        public int I;
    }

    /// <summary>A struct of two ints, held by <see cref="Outer"/>.</summary>
    public readonly struct Inner(int a, int b)
    {
        public int A { get; } = a;

        public int B { get; } = b;
    }

    /// <summary>A key whose byte equality rests on a nested struct's fields.</summary>
    public readonly struct Outer(Inner inner, long id)
    {
        public Inner Inner { get; } = inner;

        public long Id { get; } = id;
    }

    /// <summary>The comparer a native AOT program gives for <see cref="Outer"/> (or it implements IEquatable).</summary>
    public sealed class OuterComparer : IEqualityComparer<Outer>
    {
        public bool Equals(Outer x, Outer y) => x.Id == y.Id && x.Inner.A == y.Inner.A && x.Inner.B == y.Inner.B;

        public int GetHashCode(Outer obj) => HashCode.Combine(obj.Id, obj.Inner.A, obj.Inner.B);
    }

    /// <summary>A value of a long and a double.</summary>
    public readonly struct Payload(long id, double weight) : IEquatable<Payload>
    {
        public long Id { get; } = id;

        public double Weight { get; } = weight;

        public bool Equals(Payload other) => Id == other.Id && Weight.Equals(other.Weight);

        public override bool Equals(object? obj) => obj is Payload p && Equals(p);

        public override int GetHashCode() => HashCode.Combine(Id, Weight);
    }
}
