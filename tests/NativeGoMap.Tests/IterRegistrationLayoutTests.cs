using System.Runtime.CompilerServices;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// The words an enumeration writes from any thread (IterRegistration) lie on cache lines that
    /// the words lookups read never share, for any 8-byte-aligned address of the map object (all
    /// the GC promises), and each registration slot, whose epoch its enumerator's steps read, is
    /// a cache line of its own.
    /// </summary>
    public class IterRegistrationLayoutTests
    {
        private const int Line = 64;

        [Fact]
        public void RegistrationWords_NeverShareALine_WithBytesOutsideTheStruct()
        {
            var r = default(IterRegistration);
            ref byte origin = ref Unsafe.As<IterRegistration, byte>(ref r);
            long lockAt = (long)Unsafe.ByteOffset(ref origin, ref Unsafe.As<int, byte>(ref r.Lock));
            long liveAt = (long)Unsafe.ByteOffset(ref origin, ref Unsafe.As<int, byte>(ref r.Live));
            long ticketAt = (long)Unsafe.ByteOffset(ref origin, ref Unsafe.As<ulong, byte>(ref r.NextTicket));
            long rngAt = (long)Unsafe.ByteOffset(ref origin, ref Unsafe.As<ulong, byte>(ref r.Rng));
            int size = Unsafe.SizeOf<IterRegistration>();

            // Every byte from the lowest to the highest of the words.
            long first = System.Math.Min(System.Math.Min(lockAt, liveAt), System.Math.Min(ticketAt, rngAt));
            long last = System.Math.Max(System.Math.Max(lockAt + 3, liveAt + 3), System.Math.Max(ticketAt + 7, rngAt + 7));
            for (long b = 0; b < Line; b += 8)
            {
                long firstLine = (b + first) / Line, lastLine = (b + last) / Line;
                Assert.True(firstLine * Line >= b, $"base {b}: the registration words share a line with the bytes before the struct");
                Assert.True((lastLine + 1) * Line <= b + size, $"base {b}: the registration words share a line with the bytes after the struct");
            }
        }

        [Fact]
        public void FastClaimWords_EachLieOnALineOfItsOwn_InsideTheStruct()
        {
            // Enumerations on different threads claim different fast slots: their claim words
            // must not share a line, whatever the map object's address, nor reach past the struct.
            var r = default(IterRegistration);
            ref byte origin = ref Unsafe.As<IterRegistration, byte>(ref r);
            long claim0 = (long)Unsafe.ByteOffset(ref origin, ref Unsafe.As<long, byte>(ref r.Claim0));
            int size = Unsafe.SizeOf<IterRegistration>();
            int slots = GoMap<long, long>.FastIterSlotsForTest;
            for (long b = 0; b < Line; b += 8)
            {
                for (int k = 0; k < slots; k++)
                {
                    long at = claim0 + (k * IterRegistration.ClaimStride * 8);
                    Assert.True(at + 8 <= size, $"claim word {k} lies past the struct");
                    Assert.True(((b + at + 7) / Line + 1) * Line <= b + size, $"base {b}: claim word {k} shares a line with the bytes after the struct");
                    for (int j = 0; j < k; j++)
                    {
                        long other = claim0 + (j * IterRegistration.ClaimStride * 8);
                        Assert.True((b + at) / Line != (b + other + 7) / Line, $"base {b}: claim words {j} and {k} share a line");
                    }
                }
            }
        }

        [Fact]
        public void ARegistrationSlot_IsOneCacheLine()
        {
            Assert.Equal(Line, GoMap<long, long>.IterSlotBytesForTest);
        }

        [Fact]
        public void TheWordsALookupReads_LieOutsideTheEnumerationWords()
        {
            using var map = new GoMap<long, long>();
            int size = Unsafe.SizeOf<IterRegistration>();
            foreach (long offset in map.LookupWordOffsetsForTest())
            {
                Assert.True(offset + 8 <= 0 || offset >= size, $"a lookup's word at offset {offset} lies inside the {size}-byte enumeration words");
            }
        }
    }
}
