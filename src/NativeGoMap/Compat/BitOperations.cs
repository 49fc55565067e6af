#if NETSTANDARD2_1
using System.Runtime.CompilerServices;

namespace NativeGoMap
{
    /// <summary>
    /// netstandard2.1 stand-in for <c>System.Numerics.BitOperations</c> (.NET Core 3.0+, not in
    /// the standard), with the same names and results, in portable bit arithmetic: the JIT of a
    /// netstandard2.1 consumer cannot be assumed to turn these into tzcnt/popcnt.
    /// </summary>
    internal static class BitOperations
    {
        /// <summary>Number of trailing zero bits; 64 for 0.</summary>
        /// <remarks>
        /// The bits below the lowest set bit, counted: <c>(v &amp; -v) - 1</c> is exactly those bits
        /// (all 64 for 0). No lookup table: Mono 6.8 cannot bind a netstandard2.1 assembly's
        /// <c>ReadOnlySpan&lt;T&gt;</c> indexer (MissingMethodException on its <c>ref readonly</c>
        /// return), so nothing in the library indexes a span.
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int TrailingZeroCount(ulong value) => PopCount((value & (0 - value)) - 1);

        /// <summary>Number of trailing zero bits; 32 for 0.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int TrailingZeroCount(uint value) => PopCount((value & (0 - value)) - 1);

        /// <summary>Number of trailing zero bits; 64 for 0.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int TrailingZeroCount(long value) => TrailingZeroCount((ulong)value);

        /// <summary>Number of trailing zero bits; 32 for 0.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int TrailingZeroCount(int value) => TrailingZeroCount((uint)value);

        /// <summary>Number of leading zero bits; 64 for 0.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int LeadingZeroCount(ulong value)
        {
            // Smear the highest set bit downwards; the ones counted are 64 - leading zeros.
            value |= value >> 1;
            value |= value >> 2;
            value |= value >> 4;
            value |= value >> 8;
            value |= value >> 16;
            value |= value >> 32;
            return 64 - PopCount(value);
        }

        /// <summary>Number of leading zero bits; 32 for 0.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int LeadingZeroCount(uint value) => LeadingZeroCount((ulong)value) - 32;

        /// <summary>Integer log2 (index of the highest set bit); 0 for 0.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int Log2(ulong value) => 63 - LeadingZeroCount(value | 1);

        /// <summary>Integer log2 (index of the highest set bit); 0 for 0.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int Log2(uint value) => Log2((ulong)value);

        /// <summary>Number of set bits.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int PopCount(ulong value)
        {
            // Sums of adjacent 1-, 2-, 4-bit fields, then the byte sums gathered into the top byte.
            value -= (value >> 1) & 0x5555555555555555UL;
            value = (value & 0x3333333333333333UL) + ((value >> 2) & 0x3333333333333333UL);
            value = (value + (value >> 4)) & 0x0F0F0F0F0F0F0F0FUL;
            return (int)((value * 0x0101010101010101UL) >> 56);
        }

        /// <summary>Number of set bits.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int PopCount(uint value) => PopCount((ulong)value);

        /// <summary>Whether exactly one bit is set.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool IsPow2(ulong value) => value != 0 && (value & (value - 1)) == 0;

        /// <summary>Rotates left by <paramref name="offset"/> bits (mod 64).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong RotateLeft(ulong value, int offset) => (value << offset) | (value >> (64 - offset));

        /// <summary>Rotates right by <paramref name="offset"/> bits (mod 64).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong RotateRight(ulong value, int offset) => (value >> offset) | (value << (64 - offset));

        // CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), one byte at a time from a
        // table: what .NET 8's BitOperations.Crc32C computes (the snapshot checksum).
        private static readonly uint[] Crc32CTable = MakeCrc32CTable();

        /// <summary>Feeds one byte into a CRC-32C register, as .NET 8's BitOperations.Crc32C(uint, byte).</summary>
        internal static uint Crc32C(uint crc, byte data) => Crc32CTable[(crc ^ data) & 0xFF] ^ (crc >> 8);

        /// <summary>Feeds eight bytes (little-endian) into a CRC-32C register, as .NET 8's BitOperations.Crc32C(uint, ulong).</summary>
        internal static uint Crc32C(uint crc, ulong data)
        {
            for (int k = 0; k < 8; k++)
            {
                crc = Crc32C(crc, (byte)(data >> (8 * k)));
            }

            return crc;
        }

        private static uint[] MakeCrc32CTable()
        {
            var table = new uint[256];
            for (uint n = 0; n < 256; n++)
            {
                uint c = n;
                for (int k = 0; k < 8; k++)
                {
                    c = (c & 1) != 0 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
                }

                table[n] = c;
            }

            return table;
        }
    }
}
#endif
