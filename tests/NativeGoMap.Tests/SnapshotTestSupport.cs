using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;

// Helpers of the snapshot tests: writing and reading snapshots in memory, editing a snapshot so
// that only the edit is wrong (checksums recomputed), and streams that trickle or fail.
namespace NativeGoMap.Tests.SnapshotSupport
{
    public static class Snap
    {
        /// <summary>The snapshot of a map, as bytes.</summary>
        public static byte[] Of<TKey, TValue>(GoMap<TKey, TValue> map)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            var stream = new MemoryStream();
            map.WriteTo(stream);
            return stream.ToArray();
        }

        /// <summary>Loads a snapshot from bytes.</summary>
        public static GoMap<TKey, TValue> Load<TKey, TValue>(byte[] snapshot, GoMapOptions? options = null, IEqualityComparer<TKey>? comparer = null)
            where TKey : unmanaged
            where TValue : unmanaged =>
            GoMap<TKey, TValue>.ReadFrom(new MemoryStream(snapshot, writable: false), options, comparer);

        /// <summary>The header length field (where the entries start).</summary>
        public static int HeaderLength(byte[] snapshot) => (int)BinaryPrimitives.ReadUInt32LittleEndian(snapshot.AsSpan(12));

        /// <summary>
        /// A copy of <paramref name="snapshot"/> changed by <paramref name="edit"/>, with both
        /// checksums recomputed for the bytes as edited (the header's where its length field
        /// says), so that a reader can only object to the edit itself.
        /// </summary>
        public static byte[] Craft(byte[] snapshot, Action<byte[]> edit)
        {
            byte[] s = (byte[])snapshot.Clone();
            edit(s);
            Reseal(s);
            return s;
        }

        /// <summary>Recomputes both checksums of a snapshot in place.</summary>
        public static void Reseal(byte[] s)
        {
            int h = HeaderLength(s);
            uint headerCrc = SnapshotFormat.Crc(s.AsSpan(0, h - 4));
            BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(h - 4), headerCrc);
            unsafe
            {
                fixed (byte* p = s)
                {
                    uint crc = SnapshotFormat.EntriesCrcStart(headerCrc);
                    crc = SnapshotFormat.CrcUpdate(crc, p + h, (nuint)(s.Length - 4 - h));
                    BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(s.Length - 4), SnapshotFormat.CrcFinish(crc));
                }
            }
        }

        /// <summary>A snapshot of <paramref name="n"/> long keys 0..n-1 (value = key × 3).</summary>
        public static byte[] LongLong(int n, GoMapOptions? options = null)
        {
            using var map = new GoMap<long, long>(options);
            for (long i = 0; i < n; i++)
            {
                map[i] = i * 3;
            }

            return Of(map);
        }
    }

    /// <summary>
    /// A stream over bytes that hands out at most <c>maxRead</c> bytes per read and may refuse to
    /// seek; <c>atEnd</c>, when given, runs once, at the first read past the last byte.
    /// </summary>
    public sealed class TrickleStream : Stream
    {
        private readonly byte[] _bytes;
        private readonly int _maxRead;
        private readonly bool _seekable;
        private Action? _atEnd;
        private long _position;

        public TrickleStream(byte[] bytes, int maxRead, bool seekable, Action? atEnd = null)
        {
            _bytes = bytes;
            _maxRead = maxRead;
            _seekable = seekable;
            _atEnd = atEnd;
        }

        public override bool CanRead => true;

        public override bool CanSeek => _seekable;

        public override bool CanWrite => false;

        public override long Length => _seekable ? _bytes.Length : throw new NotSupportedException();

        public override long Position
        {
            get => _seekable ? _position : throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public long BytesRead => _position;

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_position == _bytes.Length && _atEnd is { } atEnd)
            {
                _atEnd = null;
                atEnd();
            }

            int n = (int)Math.Min(Math.Min(buffer.Length, _maxRead), _bytes.Length - _position);
            _bytes.AsSpan((int)_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>A write-only stream whose <c>failAt</c>th Write call (1-based) throws <see cref="IOException"/>, and that can run an action on each write.</summary>
    public sealed class FailingStream : Stream
    {
        private readonly int _failAt;
        private readonly Action? _onWrite;
        private int _writes;

        public FailingStream(int failAt, Action? onWrite = null)
        {
            _failAt = failAt;
            _onWrite = onWrite;
        }

        public long BytesWritten { get; private set; }

        public int Writes => _writes;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (++_writes == _failAt)
            {
                throw new IOException($"injected failure of write {_writes}");
            }

            _onWrite?.Invoke();
            BytesWritten += buffer.Length;
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
