using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace NativeGoMap.MonoSmoke
{
    /// <summary>
    /// Smoke run of the netstandard2.1 build on whatever runtime starts it: insert, lookup,
    /// remove, iterate, grow, clear and dispose on a few key types against a Dictionary model,
    /// Go's growth rule, misuse detection, a reader thread beside a writer of another map, and
    /// a leak check through <see cref="GoMapDiagnostics.LiveNativeBytes"/>. Prints one line per
    /// check, a fingerprint of everything a fixed seed makes deterministic (layouts, B, the
    /// hash through the iteration order), and exits 0 only when every check passed.
    /// Arguments: --expect-mono fails the run unless it runs on Mono. The same file is built
    /// for native AOT too (tests/NativeGoMap.AotSmoke), which adds its checks through
    /// <c>MoreChecks</c>.
    /// </summary>
    public static partial class Program
    {
        private static int s_checks;
        private static int s_failures;

        public static int Main(string[] args)
        {
            if (args.Contains("--domain-work"))
            {
                return DomainWork();
            }

            bool onMono = Type.GetType("Mono.Runtime") != null;
            Console.WriteLine($"runtime: {RuntimeInformation.FrameworkDescription} ({(onMono ? "Mono" : "not Mono")}), {RuntimeInformation.OSDescription}, {IntPtr.Size * 8}-bit");
            if (args.Contains("--expect-mono"))
            {
                Check(onMono, "running on Mono, as asked");
            }

            long baseline = GoMapDiagnostics.LiveNativeBytes;
            Check(baseline == 0, "no native bytes before any map");

            Layouts();
            var longs = EqualityComparer<long>.Default;
            Differential("long->long", i => (long)i * 0x9E3779B9L, i => (long)i, 20_000, longs);
            Differential("int->int", i => i, i => -i, 5_000, EqualityComparer<int>.Default);
            Differential("Guid->long", i => new Guid(i, (short)(i >> 16), 7, 1, 2, 3, 4, 5, 6, 7, 8), i => (long)i, 5_000, EqualityComparer<Guid>.Default);
            Differential("Key3->byte", Key3.Of, i => (byte)i, 3_000, new BytesComparer<Key3>());
            Differential("Name136->Payload200 (both indirect)", Name136.Of, Payload200.Of, 2_000, new BytesComparer<Name136>());
            Differential("Padded (IEquatable)->int", i => new Padded((byte)i, i / 256), i => i, 3_000, EqualityComparer<Padded>.Default);
            FloatingPointKeys();
            Batches();
            GrowthFollowsGo();
            MutationDuringIteration();
            MisuseIsDetected();
            ReaderBesideAWriterOfAnotherMap();
            Disposal();

            Check(GoMapDiagnostics.LiveNativeBytes == baseline, $"every disposed map freed all its native bytes ({GoMapDiagnostics.LiveNativeBytes - baseline} left)");
            FinalizerFreesForgottenMaps(baseline);
            if (onMono)
            {
                DomainReloadsLeaveNoMemoryBehind();
            }

            MoreChecks(args);
            Console.WriteLine($"fingerprint: {Fingerprint():x16}");
            Console.WriteLine($"smoke: {s_checks} checks, {s_failures} failed");
            return s_failures == 0 ? 0 : 1;
        }

        /// <summary>Checks of the program built from this file for another target (tests/NativeGoMap.AotSmoke: native AOT); none here.</summary>
        static partial void MoreChecks(string[] args);

        private static void Check(bool ok, string what)
        {
            s_checks++;
            if (!ok)
            {
                s_failures++;
            }

            Console.WriteLine((ok ? "ok    " : "FAIL  ") + what);
        }

        private static void Layouts()
        {
            // Go 1.19 on amd64 (DESIGN.md): the same numbers on every target.
            Check(GoMap<long, long>.Layout.BucketSize == 144, "layout <long,long>: 144-byte buckets");
            Check(GoMap<int, int>.Layout.BucketSize == 80, "layout <int,int>: 80");
            Check(GoMap<int, sbyte>.Layout.BucketSize == 56, "layout <int,sbyte>: 56");
            Check(GoMap<long, byte>.Layout.BucketSize == 88, "layout <long,byte>: 88");
            Check(GoMap<Key3, int>.Layout.BucketSize == 72, "layout <[3]byte,int>: 72");
            Check(GoMap<Name136, long>.Layout.BucketSize == 144 && GoMap<Name136, long>.Layout.IndirectKey, "layout <136-byte key,long>: 144, key indirect");
        }

        /// <summary>
        /// The span-based batches (SetValues, TryGetValues, RemoveKeys) and the pair constructor's buffered
        /// path, whose elements go through references: Mono cannot bind ReadOnlySpan's indexer
        /// from a netstandard2.1 assembly.
        /// </summary>
        private static void Batches()
        {
            const int n = 60_000; // from empty past 2^13 buckets: growths inside the batch, prefetching where supported
            var keys = new long[n];
            var values = new long[n];
            for (int i = 0; i < n; i++)
            {
                keys[i] = (long)i * 0x1E3779B97F4A7C15L; // spread over the whole range
                values[i] = i;
            }

            using (var map = new GoMap<long, long>())
            {
                int added = map.SetValues(keys, values);
                Check(added == n && map.Count == n && map.SetValues(keys.AsSpan(0, 10), values.AsSpan(0, 10)) == 0, $"SetValues: {n} keys added from empty, none when set again");
                var got = new long[n];
                var found = new bool[n];
                int hits = map.TryGetValues(keys, got, found);
                bool same = hits == n;
                for (int i = 0; i < n; i++)
                {
                    same &= found[i] && got[i] == i;
                }

                Check(same, "TryGetValues finds every key SetValues set, with its value");

                var source = new Dictionary<long, long>();
                for (int i = 0; i < 40_000; i++)
                {
                    source[keys[i]] = -i;
                }

                using var copy = new GoMap<long, long>(source); // sized beyond the caches: the buffered path
                bool copied = copy.Count == source.Count;
                foreach (KeyValuePair<long, long> pair in source)
                {
                    copied &= copy.TryGetValue(pair.Key, out long v) && v == pair.Value;
                }

                Check(copied, "the pair constructor of a 40,000-entry dictionary holds every pair");

                int removed = map.RemoveKeys(keys.AsSpan(0, n / 2));
                bool gone = removed == n / 2 && map.Count == n - (n / 2) && map.RemoveKeys(keys.AsSpan(0, 10)) == 0;
                for (int i = 0; i < n; i++)
                {
                    gone &= map.ContainsKey(keys[i]) == (i >= n / 2);
                }

                Check(gone, "RemoveKeys removes the first half of the keys, and nothing when given them again");
            }
        }

        /// <summary>Go's rule: B is the smallest with count ≤ 6.5 × 2^B (or 0 for up to 8 entries).</summary>
        private static int GoB(long count)
        {
            int b = 0;
            while (count > 8 && count > 13L * (1L << b) / 2)
            {
                b++;
            }

            return b;
        }

        /// <summary>
        /// B after the insert that makes <paramref name="count"/> entries, from B = <paramref name="b"/>:
        /// a growth at Go's threshold, four times at once while the new array stays within 64 KiB
        /// of buckets (GoMap.GrownB), else doubling.
        /// </summary>
        private static int GrownB(int b, long count, int bucketSize)
        {
            if (count <= 8 || count <= 13L * (1L << b) / 2)
            {
                return b;
            }

            return ((long)bucketSize << (b + 2)) <= 64 * 1024 ? b + 2 : b + 1;
        }

        private static void Differential<TKey, TValue>(string name, Func<int, TKey> key, Func<int, TValue> value, int n, IEqualityComparer<TKey> keys)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            var rng = new Random(n);
            var values = EqualityComparer<TValue>.Default;
            using var map = new GoMap<TKey, TValue>();
            var model = new Dictionary<TKey, TValue>(keys);
            bool bOk = true;
            int expectedB = 0;
            for (int i = 0; i < n; i++)
            {
                map[key(i)] = value(i);
                model[key(i)] = value(i);
                expectedB = GrownB(expectedB, i + 1, GoMap<TKey, TValue>.Layout.BucketSize);
                bOk &= map.GetStats().B == expectedB;
            }

            Check(bOk && map.Count == n, $"{name}: {n} inserts from empty, B = {map.GetStats().B} after each as Go's thresholds and the 64 KiB quadrupling say");

            bool found = true;
            for (int i = 0; i < n; i++)
            {
                found &= map.TryGetValue(key(i), out TValue v) && values.Equals(v, value(i));
            }

            bool misses = true;
            for (int i = n; i < n + 500; i++)
            {
                misses &= !map.ContainsKey(key(i)) && values.Equals(map.GetValueOrDefault(key(i)), default);
            }

            Check(found && misses, $"{name}: every key found with its value, absent keys not");

            bool agree = true;
            for (int op = 0; op < 3 * n; op++)
            {
                int i = rng.Next(n + n / 2);
                TKey k = key(i);
                switch (rng.Next(5))
                {
                    case 0:
                        map[k] = value(op);
                        model[k] = value(op);
                        break;
                    case 1:
                        agree &= map.Remove(k) == model.Remove(k);
                        break;
                    case 2:
                        agree &= map.TryAdd(k, value(op)) == model.TryAdd(k, value(op));
                        break;
                    default:
                        agree &= map.TryGetValue(k, out TValue got) == model.TryGetValue(k, out TValue want) && values.Equals(got, want);
                        break;
                }
            }

            Check(agree && map.Count == model.Count, $"{name}: {3 * n} random set/remove/add/get agree with Dictionary");
            Check(SameEntries(map, model, values), $"{name}: iteration yields exactly the model's entries");

            long held = map.GetStats().NativeBytes;
            map.Clear();
            Check(map.Count == 0 && !map.GetEnumerator().MoveNext() && map.GetStats().NativeBytes <= held, $"{name}: Clear empties, keeps the bucket array");
            map[key(1)] = value(1);
            Check(map.Count == 1 && values.Equals(map[key(1)], value(1)), $"{name}: usable after Clear");
        }

        private static bool SameEntries<TKey, TValue>(GoMap<TKey, TValue> map, Dictionary<TKey, TValue> model, IEqualityComparer<TValue> values)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            var seen = new Dictionary<TKey, TValue>(model.Comparer);
            foreach (KeyValuePair<TKey, TValue> e in map)
            {
                if (!seen.TryAdd(e.Key, e.Value))
                {
                    return false; // yielded twice
                }
            }

            return seen.Count == model.Count && seen.All(e => model.TryGetValue(e.Key, out TValue v) && values.Equals(v, e.Value));
        }

        private static void FloatingPointKeys()
        {
            using var map = new GoMap<double, int>();
            map[double.NaN] = 1;
            map[BitConverter.Int64BitsToDouble(0x7FF8000000000123)] = 2; // another NaN: the same key, as in Dictionary
            map[0.0] = 3;
            map[-0.0] = 4;                                              // -0 equals +0
            Check(map.Count == 2 && map[double.NaN] == 2 && map[0.0] == 4, "double keys: NaN finds NaN, -0 is +0 (Equals semantics)");
            using var floats = new GoMap<float, int> { [float.NaN] = 1, [-0f] = 2, [0f] = 3 };
            Check(floats.Count == 2 && floats[float.NaN] == 1 && floats[-0f] == 3, "float keys: the same");
        }

        private static void GrowthFollowsGo()
        {
            // Capacity hints pick B as make(map[K]V, hint) does; filling to the hint never grows.
            bool ok = true;
            foreach (long hint in new long[] { 0, 8, 9, 13, 14, 26, 27, 52, 53, 1000, 100_000 })
            {
                using var map = new GoMap<long, long>(hint);
                ok &= map.GetStats().B == GoB(hint);
                for (long k = 0; k < hint; k++)
                {
                    map[k] = k;
                }

                ok &= map.GetStats().B == GoB(hint) && !map.GetStats().IsGrowing;
            }

            Check(ok, "capacity hints pick Go's B; filling to the hint never grows");

            // Incremental growth: a doubling is spread over later writes and finishes. (A small
            // table's growth, from an old array of at most 64 KiB, ends in the write that starts
            // it: the first one seen running here is the doubling to B = 10.)
            using var m = new GoMap<long, long>();
            long i = 0;
            while (!m.GetStats().IsGrowing || m.GetStats().B < 8)
            {
                m[i] = i;
                i++;
            }

            int b = m.GetStats().B;
            int writes = 0;
            while (m.GetStats().IsGrowing)
            {
                m[i] = i;
                i++;
                writes++;
            }

            Check(writes > 1 && writes <= (1 << (b - 1)), $"a doubling to B = {b} finished over {writes} writes (each evacuates at least one old bucket)");
        }

        private static void MutationDuringIteration()
        {
            using var map = new GoMap<int, int>();
            for (int k = 0; k < 10_000; k++)
            {
                map[k] = k;
            }

            int yielded = 0;
            foreach (KeyValuePair<int, int> e in map)
            {
                map.Remove(e.Key); // allowed, as in Go
                yielded++;
            }

            Check(yielded == 10_000 && map.Count == 0, "removing every entry while iterating yields each once");

            for (int k = 0; k < 100; k++)
            {
                map[k] = k;
            }

            var seen = new HashSet<int>();
            bool once = true;
            foreach (KeyValuePair<int, int> e in map)
            {
                once &= e.Key >= 100_000 || seen.Add(e.Key);
                map[e.Key + 100_000] = 0; // inserts during iteration grow the map under the enumerator
            }

            Check(once && seen.Count == 100, "entries present throughout are yielded exactly once while inserts grow the map");
        }

        private static void MisuseIsDetected()
        {
            // A comparer that reads the map from inside a write: a read overlapping a write,
            // deterministically, on one thread.
            var comparer = new ReentrantComparer();
            var map = new GoMap<int, int>(null, comparer);
            comparer.Map = map;
            map[1] = 1;
            comparer.Armed = true;
            string? first = null;
            try
            {
                map[1] = 2;
            }
            catch (ConcurrentMapAccessException e)
            {
                first = e.Message;
            }

            comparer.Armed = false;
            string? later = null;
            try
            {
                _ = map.Count;
            }
            catch (ConcurrentMapAccessException e)
            {
                later = e.Message;
            }

            Check(first == "concurrent map read and map write", $"a read inside a write is detected with Go's message ({first ?? "nothing thrown"})");
            Check(later == first, "the map is poisoned afterwards: every call throws the same");
            map.Dispose();
            Check(map.IsDisposed, "a poisoned map still disposes");
        }

        private static void ReaderBesideAWriterOfAnotherMap()
        {
            // Another thread reading another map is legitimate. Each growth end and Clear of the
            // written map runs the process-wide barrier and scans the readers' announcements.
            using var read = new GoMap<long, long>();
            for (long k = 0; k < 1000; k++)
            {
                read[k] = k * 2;
            }

            int stop = 0;
            long wrong = 0;
            long reads = 0;
            var reader = new Thread(() =>
            {
                while (Volatile.Read(ref stop) == 0)
                {
                    long k = reads % 1000;
                    if (!read.TryGetValue(k, out long v) || v != k * 2)
                    {
                        Interlocked.Increment(ref wrong);
                    }

                    reads++;
                }
            });
            reader.Start();
            using var written = new GoMap<long, long>();
            bool ok = true;
            for (int round = 0; round < 20; round++)
            {
                for (long k = 0; k < 20_000; k++)
                {
                    written[k] = k;
                }

                ok &= written.Count == 20_000;
                written.Clear();
            }

            Volatile.Write(ref stop, 1);
            reader.Join();
            Check(ok && Interlocked.Read(ref wrong) == 0 && reads > 0, $"a reader thread ({reads} reads) beside 20 grow-and-clear rounds of another map: all correct");
        }

        private static void Disposal()
        {
            var map = new GoMap<long, long> { [1] = 1 };
            map.Dispose();
            map.Dispose(); // harmless
            bool threw = false;
            try
            {
                _ = map.TryGetValue(1, out _);
            }
            catch (ObjectDisposedException)
            {
                threw = true;
            }

            Check(threw, "after Dispose every call throws ObjectDisposedException; Dispose twice is harmless");
        }

        /// <summary>A map the domain left alive in a static, for <see cref="DomainWork"/>.</summary>
        private static GoMap<long, long>? s_keptByTheDomain;

        /// <summary>
        /// What a Unity Editor's domain does between two reloads, run in a domain of its own: a
        /// map made with a big capacity hint and disposed (its array goes to the reuse cache), a
        /// grown map disposed, and one left alive in a static.
        /// </summary>
        private static int DomainWork()
        {
            using (var hinted = new GoMap<long, long>(new GoMapOptions { CapacityHint = 2_000_000 }))
            {
                for (long k = 0; k < 1_000; k++)
                {
                    hinted[k] = k;
                }
            }

            using (var grown = new GoMap<long, long>())
            {
                for (long k = 0; k < 200_000; k++)
                {
                    grown[k] = k;
                }
            }

            s_keptByTheDomain = new GoMap<long, long>();
            for (long k = 0; k < 100_000; k++)
            {
                s_keptByTheDomain[k * 31] = k;
            }

            return 0;
        }

        /// <summary>
        /// Mono only (CoreCLR has one domain): five domains run <see cref="DomainWork"/> and are
        /// unloaded, and the process's resident memory must stay where the first left it. Before
        /// 2026-12-05 each reload left the reuse cache's mappings and the release thread's queue
        /// behind, which only the unloaded domain's statics knew of: about 77 MiB per reload here.
        /// </summary>
        private static void DomainReloadsLeaveNoMemoryBehind()
        {
            if (!System.IO.File.Exists("/proc/self/status"))
            {
                return;
            }

#if NETSTANDARD2_1 // the native AOT build of this file (tests/NativeGoMap.AotSmoke) has no domains to make
            long first = 0;
            for (int i = 0; i < 5; i++)
            {
                AppDomain domain = AppDomain.CreateDomain("NativeGoMap smoke reload " + i);
                domain.ExecuteAssembly(typeof(Program).Assembly.Location, new[] { "--domain-work" });
                AppDomain.Unload(domain);
                if (i == 0)
                {
                    first = ResidentBytes();
                }
            }

            long grown = ResidentBytes() - first;
            Check(grown < 32L << 20, $"four more domain reloads that used maps leave no memory behind (resident memory grew {grown >> 20} MiB)");
#endif
        }

        private static long ResidentBytes()
        {
            foreach (string line in System.IO.File.ReadAllLines("/proc/self/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line.Substring(6).Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
                }
            }

            return 0;
        }

        private static void FinalizerFreesForgottenMaps(long baseline)
        {
            // Made on a thread that then ends, so no stack slot (Mono scans stacks
            // conservatively) keeps them reachable.
            var t = new Thread(() =>
            {
                for (int i = 0; i < 10; i++)
                {
                    var forgotten = new GoMap<long, long>();
                    for (long k = 0; k < 5_000; k++)
                    {
                        forgotten[k] = k;
                    }
                }
            });
            t.Start();
            t.Join();
            Check(GoMapDiagnostics.LiveNativeBytes > baseline, "forgotten maps hold native memory until collected");
            for (int i = 0; i < 20 && GoMapDiagnostics.LiveNativeBytes != baseline; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }

            Check(GoMapDiagnostics.LiveNativeBytes == baseline, "the finalizer frees forgotten maps: native bytes back to the baseline");
        }

        /// <summary>FNV-1a over what a fixed seed makes deterministic; equal on every runtime and target.</summary>
        private static ulong Fingerprint()
        {
            ulong h = 0xcbf29ce484222325UL;
            void Add(string s)
            {
                foreach (char c in s)
                {
                    h = (h ^ c) * 0x100000001b3UL;
                }
            }

            Add(GoMap<long, long>.Layout.ToString());
            Add(GoMap<Key3, int>.Layout.ToString());
            Add(GoMap<Name136, Payload200>.Layout.ToString());
            using (var map = new GoMap<long, long>(new GoMapOptions { Seed = 42 }))
            {
                for (long k = 0; k < 10_000; k++)
                {
                    map[k * 7919] = k;
                    if (k % 3 == 0)
                    {
                        map.Remove(k * 7919 / 2);
                    }
                }

                Add(map.GetStats().ToString());
                foreach (KeyValuePair<long, long> e in map)
                {
                    Add(e.Key.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }
            }

            using (var map = new GoMap<double, int>(new GoMapOptions { Seed = 7 }))
            {
                for (int k = 0; k < 1000; k++)
                {
                    map[k / 3.0] = k;
                }

                map[double.NaN] = -1;
                foreach (KeyValuePair<double, int> e in map)
                {
                    Add(e.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }
            }

            using (var map = new GoMap<Name136, int>(new GoMapOptions { Seed = 9 }))
            {
                for (int k = 0; k < 500; k++)
                {
                    map[Name136.Of(k)] = k;
                }

                Add(map.GetStats().ToString());
                foreach (KeyValuePair<Name136, int> e in map)
                {
                    Add(e.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }
            }

            // A snapshot's bytes, header included (its type fingerprint of the key and value
            // structs' fields): equal bytes on two runtimes mean that a snapshot one writes loads
            // on the other. Until 2026-12-05 no snapshot of a struct type did between Mono and
            // CoreCLR (a review found it: the fingerprint took in a packing that Mono reports
            // for every struct and CoreCLR does not).
            using (var map = new GoMap<Key3, Name136>(new GoMapOptions { Seed = 13 }))
            {
                for (int k = 0; k < 300; k++)
                {
                    map[Key3.Of(k)] = Name136.Of(k);
                }

                var stream = new System.IO.MemoryStream();
                map.WriteTo(stream);
                foreach (byte b in stream.ToArray())
                {
                    h = (h ^ b) * 0x100000001b3UL;
                }
            }

            return h;
        }
    }

    /// <summary>A 3-byte key (Go's [3]byte): compared by its bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Key3
    {
        public byte A;
        public byte B;
        public byte C;

        public static Key3 Of(int i) => new Key3 { A = (byte)i, B = (byte)(i >> 8), C = (byte)(i >> 16) };
    }

    /// <summary>A 136-byte fixed-buffer key: stored through a pointer, compared by all its bytes.</summary>
    public unsafe struct Name136
    {
        public fixed byte Bytes[136];

        public static Name136 Of(int i)
        {
            var n = default(Name136);
            for (int b = 0; b < 136; b++)
            {
                n.Bytes[b] = (byte)'a';
            }

            // Differ only at the far end, where a comparison that stops early would miss it.
            *(int*)(n.Bytes + 132) = i;
            return n;
        }
    }

    /// <summary>A 200-byte value: stored through a pointer.</summary>
    public unsafe struct Payload200 : IEquatable<Payload200>
    {
        public fixed long Words[25];

        public static Payload200 Of(int i)
        {
            var p = default(Payload200);
            p.Words[0] = i;
            p.Words[24] = ~i;
            return p;
        }

        public bool Equals(Payload200 other)
        {
            for (int w = 0; w < 25; w++)
            {
                if (Words[w] != other.Words[w])
                {
                    return false;
                }
            }

            return true;
        }

        public override bool Equals(object? obj) => obj is Payload200 p && Equals(p);

        public override int GetHashCode() => Words[0].GetHashCode();
    }

    /// <summary>A key with 3 padding bytes: compared through its IEquatable.</summary>
    public readonly struct Padded : IEquatable<Padded>
    {
        public Padded(byte tag, int id)
        {
            Tag = tag;
            Id = id;
        }

        public byte Tag { get; }

        public int Id { get; }

        public bool Equals(Padded other) => Tag == other.Tag && Id == other.Id;

        public override bool Equals(object? obj) => obj is Padded p && Equals(p);

        public override int GetHashCode() => (Id * 257) ^ Tag;
    }

    /// <summary>
    /// The model's key equality for fixed-buffer keys: all bytes (ValueType.Equals would not look
    /// at them all). Pointer loops, not spans: Mono 6.8 cannot bind a netstandard2.1 assembly's
    /// calls to ReadOnlySpan's indexer or enumerator (MissingMethodException).
    /// </summary>
    public sealed unsafe class BytesComparer<T> : IEqualityComparer<T>
        where T : unmanaged
    {
        public bool Equals(T x, T y)
        {
            byte* a = (byte*)&x;
            byte* b = (byte*)&y;
            for (int i = 0; i < sizeof(T); i++)
            {
                if (a[i] != b[i])
                {
                    return false;
                }
            }

            return true;
        }

        public int GetHashCode(T obj)
        {
            byte* p = (byte*)&obj;
            int h = 17;
            for (int i = 0; i < sizeof(T); i++)
            {
                h = (h * 31) + p[i];
            }

            return h;
        }
    }

    /// <summary>Reads its map from inside Equals while armed.</summary>
    public sealed class ReentrantComparer : IEqualityComparer<int>
    {
        public GoMap<int, int>? Map { get; set; }

        public bool Armed { get; set; }

        public bool Equals(int x, int y)
        {
            if (Armed && Map is not null)
            {
                Map.TryGetValue(x, out _);
            }

            return x == y;
        }

        public int GetHashCode(int obj) => obj;
    }
}
