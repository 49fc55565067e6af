using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;

namespace NativeGoMap.Benchmarks.Quick
{
    /// <summary>
    /// The snapshot rows of the quick comparison (child <c>--child snap gomap|dict n</c>): the
    /// same n entries of <c>&lt;long,long&gt;</c> built by inserts one by one (no capacity
    /// hint), written in GoMap's snapshot format to memory, and loaded back. GoMap uses
    /// <see cref="GoMap{TKey, TValue}.WriteTo"/> and <see cref="GoMap{TKey, TValue}.ReadFrom(Stream, GoMapOptions?)"/>;
    /// Dictionary writes the same bytes (header, entries, checksum) from its enumeration and is
    /// rebuilt from the same file: a dictionary of the file's count, the checksum verified, each
    /// entry added. The stream is a MemoryStream whose buffer is touched before timing, so the
    /// rows measure the map's work and the memory the map itself takes, not the file's pages.
    /// </summary>
    internal static unsafe class SnapshotSpecial
    {
        private const int Reps = 3;
        private const int ChunkBytes = 1 << 20;

        internal static void Run(bool goMap, int n)
        {
            long[] keys = new long[n];
            for (int i = 0; i < n; i++)
            {
                keys[i] = (long)SplitMix64.At(KeySets.KeySeed, i);
            }

            // The file both sides write and read, from a pre-touched buffer.
            byte[] file = new byte[(n * 16L) + 4096];
            var stream = new MemoryStream(file, 0, file.Length, writable: true, publiclyVisible: true);
            if (goMap)
            {
                RunGoMap(keys, stream);
            }
            else
            {
                RunDictionary(keys, stream);
            }
        }

        private static void RunGoMap(long[] keys, MemoryStream stream)
        {
            int n = keys.Length;
            TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            var map = new GoMap<long, long>();
            for (int i = 0; i < n; i++)
            {
                map[keys[i]] = keys[i];
            }

            double insertMs = sw.Elapsed.TotalMilliseconds;
            double insertCpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds;
            double write = Best(() =>
            {
                stream.Position = 0;
                long t = Stopwatch.GetTimestamp();
                map.WriteTo(stream);
                return Stopwatch.GetElapsedTime(t).TotalMilliseconds;
            });
            long bytes = stream.Position;
            map.Dispose();

            long mapBytes = 0;
            double loadCpuMs = double.MaxValue;
            double load = Best(() =>
            {
                stream.Position = 0;
                TimeSpan c = Process.GetCurrentProcess().TotalProcessorTime;
                long t = Stopwatch.GetTimestamp();
                GoMap<long, long> loaded = GoMap<long, long>.ReadFrom(stream);
                double ms = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
                loadCpuMs = Math.Min(loadCpuMs, (Process.GetCurrentProcess().TotalProcessorTime - c).TotalMilliseconds);
                if (loaded.LongCount != n)
                {
                    throw new InvalidOperationException("the snapshot lost entries");
                }

                mapBytes = loaded.GetStats().NativeBytes;
                loaded.Dispose();
                return ms;
            });

            // The floor of any load: writing the loaded map's bytes once into fresh memory, got as
            // the load gets its bucket array (NativeHeap: a mapping of its own, 2 MiB pages).
            double touch = Best(() =>
            {
                byte* fresh = NativeHeap.Alloc((ulong)mapBytes, zero: true, align: 64);
                long t = Stopwatch.GetTimestamp();
                System.Runtime.InteropServices.NativeMemory.Fill(fresh, (nuint)mapBytes, 1);
                double ms = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
                NativeHeap.Free(fresh);
                return ms;
            });

            byte[] src = stream.GetBuffer();
            byte[] dst = new byte[bytes];
            Array.Fill(dst, (byte)1); // touched: a memcpy of the file into warm memory
            double copy = Best(() =>
            {
                long t = Stopwatch.GetTimestamp();
                Buffer.BlockCopy(src, 0, dst, 0, (int)bytes);
                return Stopwatch.GetElapsedTime(t).TotalMilliseconds;
            });

            Emit("GoMap", n, insertMs, write, load);
            Console.Error.WriteLine(FormattableString.Invariant(
                $"GoMap: snapshot of {n:N0} <long,long> = {bytes:N0} B: load {load:0} ms = {bytes / load / 1e6:0.00} GB/s of file, {insertMs / load:0.0}x faster than {insertMs:0} ms of inserts one by one; memcpy of the file into warm memory {copy:0.0} ms ({bytes / copy / 1e6:0.00} GB/s); filling the loaded map's {mapBytes:N0} B once in fresh memory {touch:0} ms ({mapBytes / touch / 1e6:0.00} GB/s): the load takes {load / touch:0.0}x that floor. Process CPU time (user + system, all threads; robust to a busy machine): inserts {insertCpuMs:0} ms, load {loadCpuMs:0} ms, ratio {insertCpuMs / loadCpuMs:0.0}"));
        }

        private static void RunDictionary(long[] keys, MemoryStream stream)
        {
            int n = keys.Length;
            var sw = Stopwatch.StartNew();
            var d = new Dictionary<long, long>();
            for (int i = 0; i < n; i++)
            {
                d[keys[i]] = keys[i];
            }

            double insertMs = sw.Elapsed.TotalMilliseconds;
            byte* chunk = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc(ChunkBytes);
            try
            {
                double write = Best(() =>
                {
                    stream.Position = 0;
                    long t = Stopwatch.GetTimestamp();
                    WriteDictionary(d, stream, chunk);
                    return Stopwatch.GetElapsedTime(t).TotalMilliseconds;
                });
                d = null!;
                GC.Collect();

                double load = Best(() =>
                {
                    stream.Position = 0;
                    long t = Stopwatch.GetTimestamp();
                    Dictionary<long, long> rebuilt = ReadDictionary(stream, chunk);
                    double ms = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
                    if (rebuilt.Count != n)
                    {
                        throw new InvalidOperationException("the rebuilt dictionary lost entries");
                    }

                    return ms;
                });
                Emit("Dictionary", n, insertMs, write, load);
            }
            finally
            {
                System.Runtime.InteropServices.NativeMemory.Free(chunk);
            }
        }

        /// <summary>The bytes GoMap.WriteTo would write for these entries: same header, entries and checksum.</summary>
        private static void WriteDictionary(Dictionary<long, long> d, Stream stream, byte* chunk)
        {
            byte[] name = SnapshotTypeName<long>.Utf8;
            var header = new Span<byte>(chunk, SnapshotFormat.HeaderLength(name.Length, name.Length));
            uint headerCrc = SnapshotFormat.WriteHeader(header, d.Count, 8, 8, SnapshotType<long, long>.Fingerprint, MapMath.BForHint(d.Count), name, name);
            stream.Write(header);
            uint crc = SnapshotFormat.EntriesCrcStart(headerCrc);
            int used = 0;
            foreach (KeyValuePair<long, long> kv in d)
            {
                if (used == ChunkBytes)
                {
                    crc = SnapshotFormat.CrcUpdate(crc, chunk, (nuint)used);
                    stream.Write(new ReadOnlySpan<byte>(chunk, used));
                    used = 0;
                }

                *(long*)(chunk + used) = kv.Key;
                *(long*)(chunk + used + 8) = kv.Value;
                used += 16;
            }

            crc = SnapshotFormat.CrcUpdate(crc, chunk, (nuint)used);
            *(uint*)(chunk + used) = SnapshotFormat.CrcFinish(crc);
            stream.Write(new ReadOnlySpan<byte>(chunk, used + 4));
        }

        /// <summary>Dictionary rebuilt from a snapshot: header checked by the library's own reader, then a dictionary of its count, checksum verified, entries added.</summary>
        private static Dictionary<long, long> ReadDictionary(Stream stream, byte* chunk)
        {
            long count = SnapshotFormat.ReadHeader<long, long>(stream, out uint headerCrc);
            var d = new Dictionary<long, long>((int)count);
            uint crc = SnapshotFormat.EntriesCrcStart(headerCrc);
            for (long done = 0; done < count;)
            {
                int entries = (int)Math.Min(count - done, ChunkBytes / 16);
                var span = new Span<byte>(chunk, entries * 16);
                stream.ReadExactly(span);
                crc = SnapshotFormat.CrcUpdate(crc, chunk, (nuint)span.Length);
                for (int i = 0; i < entries; i++)
                {
                    d.Add(*(long*)(chunk + (i * 16)), *(long*)(chunk + (i * 16) + 8));
                }

                done += entries;
            }

            Span<byte> trailer = stackalloc byte[4];
            stream.ReadExactly(trailer);
            if (BinaryPrimitives.ReadUInt32LittleEndian(trailer) != SnapshotFormat.CrcFinish(crc))
            {
                throw new InvalidDataException("checksum");
            }

            return d;
        }

        private static double Best(Func<double> rep)
        {
            double best = double.MaxValue;
            for (int r = 0; r < Reps; r++)
            {
                GC.Collect();
                best = Math.Min(best, rep());
            }

            return best;
        }

        private static void Emit(string impl, int n, double insertMs, double writeMs, double loadMs)
        {
            Console.WriteLine(FormattableString.Invariant($"{impl}\tlong\t{n}\tbuild_by_inserts_ms\t{insertMs:0.00}"));
            Console.WriteLine(FormattableString.Invariant($"{impl}\tlong\t{n}\tsnapshot_write_ms\t{writeMs:0.00}"));
            Console.WriteLine(FormattableString.Invariant($"{impl}\tlong\t{n}\tsnapshot_load_ms\t{loadMs:0.00}"));
        }
    }
}
