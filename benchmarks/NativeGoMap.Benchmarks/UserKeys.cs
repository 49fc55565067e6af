using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace NativeGoMap.Benchmarks
{
    /// <summary>
    /// A game entity as a user would keep it by id: 64 bytes, stored inline in GoMap's buckets
    /// (values up to 128 bytes are). The workloads read and bump <see cref="Health"/>.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Entity64
    {
        public long Id;
        public double X;
        public double Y;
        public double Z;
        public long Health;
        public long Mana;
        public long Gold;
        public long Tick;

        internal static Entity64 ForId(int id) => new() { Id = id, X = id, Y = -id, Z = 0.5 * id, Health = 100 + (id & 63), Mana = 50, Gold = id & 1023, Tick = 0 };
    }

    /// <summary>
    /// A name in a fixed 32-byte buffer (UTF-8, zero padded), the unmanaged key a user writes
    /// instead of a string. GoMap compares and hashes it by all 32 bytes (DESIGN.md).
    /// </summary>
    [InlineArray(Length)]
    internal struct Name32
    {
        internal const int Length = 32;

        private byte _first;

        internal static Name32 From(string s)
        {
            if (Encoding.UTF8.GetByteCount(s) > Length)
            {
                throw new ArgumentException($"'{s}' is longer than {Length} UTF-8 bytes", nameof(s));
            }

            var name = default(Name32);
            Encoding.UTF8.GetBytes(s, name);
            return name;
        }
    }

    /// <summary>
    /// Key sets of the rows a user checks first (issue 8): sequential entity ids with a 64-byte
    /// value, and English words as fixed 32-byte names vs the same words as strings.
    /// </summary>
    internal static class UserKeys
    {
        private const ulong ShuffleSeed = 4242;
        private static string[]? s_words;

        /// <summary>
        /// Ids 1..n inserted in order, each with <see cref="Entity64.ForId"/>; looked up and
        /// updated in a random order (a fixed shuffle); missing ids n+1..2n, shuffled.
        /// </summary>
        internal static KeySet<int, Entity64> Entities(int n)
        {
            var ids = new int[n];
            var entities = new Entity64[n];
            for (int i = 0; i < n; i++)
            {
                ids[i] = i + 1;
                entities[i] = Entity64.ForId(i + 1);
            }

            int[] order = Shuffled(n);
            int[] missing = Array.ConvertAll(order, i => n + 1 + i);
            return new KeySet<int, Entity64>(ids, entities, Permuted(ids, order), Permuted(entities, order), missing, KeySets.MixOps(n));
        }

        /// <summary>
        /// The shipped word list (Data/words.txt), every other word: words 0, 2, 4, ... in file
        /// order are inserted (value = their position), looked up in a fixed shuffle; words 1, 3,
        /// 5, ... are the misses. The same words as <see cref="Name32"/> keys and as strings.
        /// </summary>
        /// <param name="maxCount">At most this many present words (a small set for JIT warm-up).</param>
        internal static (KeySet<Name32, int> Names, KeySet<string, int> Strings) Names(int maxCount = int.MaxValue)
        {
            string[] words = Words();
            int n = Math.Min(maxCount, words.Length / 2);
            var build = new string[n];
            var buildValues = new int[n];
            var missingWords = new string[n];
            for (int i = 0; i < n; i++)
            {
                build[i] = words[2 * i];
                buildValues[i] = i;
                missingWords[i] = words[(2 * i) + 1];
            }

            int[] order = Shuffled(n);
            // Copies, not the inserted strings themselves: a user's lookups come from parsed input,
            // other objects, and string.Equals on the inserted object stops at its reference test
            // without reading a character (found by review, 2026-12-05: Dictionary's hits took
            // 28.3-28.7 ns so, 35.3-35.8 on copies, GoMap's 12.5-13.6 either way).
            string[] present = Array.ConvertAll(Permuted(build, order), w => new string(w.AsSpan()));
            int[] values = Permuted(buildValues, order);
            string[] missing = Permuted(missingWords, order);
            uint[] mix = KeySets.MixOps(n);
            var strings = new KeySet<string, int>(build, buildValues, present, values, missing, mix);
            var names = new KeySet<Name32, int>(
                Array.ConvertAll(build, Name32.From), buildValues, Array.ConvertAll(present, Name32.From), values, Array.ConvertAll(missing, Name32.From), mix);
            return (names, strings);
        }

        /// <summary>The words of Data/words.txt (embedded in the assembly): see Data/README.md.</summary>
        internal static string[] Words()
        {
            if (s_words is null)
            {
                using Stream stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("NativeGoMap.Benchmarks.words.txt")
                    ?? throw new InvalidOperationException("embedded resource words.txt missing");
                using var reader = new StreamReader(stream, Encoding.UTF8);
                var list = new List<string>();
                while (reader.ReadLine() is { } line)
                {
                    if (line.Length > 0)
                    {
                        list.Add(line);
                    }
                }

                s_words = list.ToArray();
            }

            return s_words;
        }

        /// <summary><paramref name="source"/> in the order <paramref name="order"/> gives.</summary>
        private static T[] Permuted<T>(T[] source, int[] order) => Array.ConvertAll(order, i => source[i]);

        /// <summary>A fixed permutation of 0..n-1 (Fisher-Yates with splitmix64).</summary>
        private static int[] Shuffled(int n)
        {
            var order = new int[n];
            for (int i = 0; i < n; i++)
            {
                order[i] = i;
            }

            new SplitMix64(ShuffleSeed).Shuffle(order);
            return order;
        }
    }
}
