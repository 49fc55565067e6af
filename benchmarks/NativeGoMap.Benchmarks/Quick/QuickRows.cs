using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;

namespace NativeGoMap.Benchmarks.Quick
{
    /// <summary>
    /// The row sets of the quick comparison: which key set, which maps, which ops. Each set
    /// measures GoMap then Dictionary op by op (<see cref="Pair"/>), in this process or in a child.
    /// </summary>
    internal static class QuickRows
    {
        /// <summary>Op suffix of the rows measured on a GoMap with <see cref="ConcurrencyChecks.Strict"/>.</summary>
        internal const string StrictSuffix = "_strict";

        /// <summary>Op suffix of the rows measured in a child process with NATIVEGOMAP_HUGEPAGES=0.</summary>
        internal const string HugePagesOffSuffix = "_hp_off";

        /// <summary>The environment switch of the library's 2 MiB-page bucket arrays ("0" turns them off).</summary>
        internal const string HugePagesVariable = "NATIVEGOMAP_HUGEPAGES";

        /// <summary>Ops of the entity rows: build (no hint, ids in order), random-order lookup, update through a ref, a walk of every entity (a game tick's loop).</summary>
        internal static readonly QuickOp[] EntityOps = { QuickOp.InsertNoHint, QuickOp.LookupHit, QuickOp.UpdateViaRef, QuickOp.Iterate };

        /// <summary>Ops of the name rows: build (no hint), lookups of present and of absent words.</summary>
        internal static readonly QuickOp[] NameOps = { QuickOp.InsertNoHint, QuickOp.LookupHit, QuickOp.LookupMiss };

        /// <summary>Ops re-measured on a Strict-mode GoMap (a read and a write).</summary>
        internal static readonly QuickOp[] StrictOps = { QuickOp.LookupHit, QuickOp.Update };

        /// <summary>Ops re-measured with huge pages off.</summary>
        internal static readonly QuickOp[] LookupOps = { QuickOp.LookupHit, QuickOp.LookupMiss, QuickOp.LookupBatch };

        /// <summary>
        /// The Go program's workload for one stream key type ("int", "long", "guid") at size
        /// <paramref name="n"/>: <paramref name="ops"/> with <paramref name="suffix"/> on their
        /// names, then, when <paramref name="strict"/>, <see cref="StrictOps"/> on a Strict-mode GoMap.
        /// </summary>
        internal static void Standard(string type, int n, int reps, IReadOnlyList<QuickOp> ops, string suffix, bool strict, IResultSink sink)
        {
            switch (type)
            {
                case "int":
                    Standard<int, int>(n, reps, ops, suffix, strict, sink);
                    break;
                case "long":
                    Standard<long, long>(n, reps, ops, suffix, strict, sink);
                    break;
                case "guid":
                    Standard<Guid, long>(n, reps, ops, suffix, strict, sink);
                    break;
                default:
                    throw new ArgumentException($"no stream keys of type {type}", nameof(type));
            }
        }

        /// <summary>JIT warm-up of a stream key type (<see cref="JitWarmUp"/>).</summary>
        internal static void WarmUp(string type)
        {
            switch (type)
            {
                case "int":
                    JitWarmUp.Run<int, int>();
                    break;
                case "long":
                    JitWarmUp.Run<long, long>();
                    break;
                case "guid":
                    JitWarmUp.Run<Guid, long>();
                    break;
                default:
                    throw new ArgumentException($"no stream keys of type {type}", nameof(type));
            }
        }

        /// <summary>Sequential int ids with a 64-byte value (<see cref="UserKeys.Entities"/>): type "entity".</summary>
        internal static void Entities(int n, int reps, IResultSink sink)
        {
            KeySet<int, Entity64> keys = UserKeys.Entities(n);
            using var go = new QuickRunner<int, Entity64, GoMapAdapter<int, Entity64>>(keys, reps);
            using var dict = new QuickRunner<int, Entity64, DictionaryAdapter<int, Entity64>>(keys, reps);
            Pair("entity", n, go, dict, EntityOps, "", sink);
        }

        /// <summary>JIT warm-up of the entity rows.</summary>
        internal static void WarmUpEntities()
        {
            KeySet<int, Entity64> keys = UserKeys.Entities(1_000);
            JitWarmUp.Run(keys, keys);
        }

        /// <summary>English words as <see cref="Name32"/> keys in GoMap vs strings in Dictionary (<see cref="UserKeys.Names"/>): type "name".</summary>
        internal static void Names(int reps, IResultSink sink)
        {
            (KeySet<Name32, int> names, KeySet<string, int> strings) = UserKeys.Names();
            using var go = new QuickRunner<Name32, int, GoMapAdapter<Name32, int>>(names, reps);
            using var dict = new QuickRunner<string, int, DictionaryAdapter<string, int>>(strings, reps);
            Pair("name", names.Count, go, dict, NameOps, "", sink);
        }

        /// <summary>JIT warm-up of the name rows.</summary>
        internal static void WarmUpNames()
        {
            (KeySet<Name32, int> names, KeySet<string, int> strings) = UserKeys.Names(1_000);
            JitWarmUp.Run(names, strings);
        }

        /// <summary>Measures each op on GoMap, then on Dictionary (so that both see the same machine state; Dictionary first where the sink asks, <see cref="IResultSink.DictionaryFirst"/>), and adds the two rows.</summary>
        internal static void Pair<TGoKey, TDictKey, TValue, TGo, TDict>(
            string type, long n, QuickRunner<TGoKey, TValue, TGo> go, QuickRunner<TDictKey, TValue, TDict> dict, IEnumerable<QuickOp> ops, string suffix, IResultSink sink)
            where TGo : struct, IMap<TGoKey, TValue, TGo>
            where TDict : struct, IMap<TDictKey, TValue, TDict>
        {
            foreach (QuickOp op in ops)
            {
                string name = QuickOps.Name(op) + suffix;
                sink.AddPair(TGo.Name, TDict.Name, type, n, name, () => go.Measure(op), () => dict.Measure(op));
            }
        }

        /// <summary>
        /// The process's anonymous memory in transparent huge pages (AnonHugePages of
        /// /proc/self/smaps_rollup), in KiB; null where the file is not available.
        /// </summary>
        internal static long? AnonHugePagesKiB()
        {
            try
            {
                foreach (string line in File.ReadLines("/proc/self/smaps_rollup"))
                {
                    if (line.StartsWith("AnonHugePages:", StringComparison.Ordinal))
                    {
                        return long.Parse(line["AnonHugePages:".Length..].Replace("kB", "", StringComparison.Ordinal).Trim(), CultureInfo.InvariantCulture);
                    }
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }

            return null;
        }

        /// <summary>How huge pages are set up for this process: the library's switch and the kernel's THP modes.</summary>
        internal static string HugePagesSetting()
        {
            string env = Environment.GetEnvironmentVariable(HugePagesVariable) is { } v ? $"{HugePagesVariable}={v}" : $"{HugePagesVariable} unset (on)";
            return $"{env}; THP enabled {Bracketed("enabled")}, defrag {Bracketed("defrag")}";

            static string Bracketed(string file)
            {
                try
                {
                    string text = File.ReadAllText("/sys/kernel/mm/transparent_hugepage/" + file);
                    int open = text.IndexOf('[', StringComparison.Ordinal), close = text.IndexOf(']', StringComparison.Ordinal);
                    return open >= 0 && close > open ? text[(open + 1)..close] : text.Trim();
                }
                catch (IOException)
                {
                    return "n/a";
                }
                catch (UnauthorizedAccessException)
                {
                    return "n/a";
                }
            }
        }

        private static void Standard<TKey, TValue>(int n, int reps, IReadOnlyList<QuickOp> ops, string suffix, bool strict, IResultSink sink)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            string type = KeySets.TypeName<TKey>();
            KeySet<TKey, TValue> keys = KeySets.Create<TKey, TValue>(n);
            using var go = new QuickRunner<TKey, TValue, GoMapAdapter<TKey, TValue>>(keys, reps);
            using var dict = new QuickRunner<TKey, TValue, DictionaryAdapter<TKey, TValue>>(keys, reps);
            if (n >= 1_000_000 && AnonHugePagesKiB() is { } kib)
            {
                sink.Note(FormattableString.Invariant(
                    $"huge pages: {kib / 1024:N0} MiB of AnonHugePages with the {type} n={n:N0} maps built ({HugePagesSetting()})"));
            }

            Pair(type, n, go, dict, ops, suffix, sink);
            if (strict)
            {
                using var strictGo = new QuickRunner<TKey, TValue, GoMapAdapter<TKey, TValue>>(keys, reps, GoMapAdapter<TKey, TValue>.Create(n, ConcurrencyChecks.Strict));
                Pair(type, n, strictGo, dict, StrictOps, StrictSuffix, sink);
            }
        }
    }
}
