using System.Runtime.CompilerServices;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// The words an enumeration writes from any thread (IterRegistration) lie on cache lines that
    /// the words lookups read never share, and the walk epoch, which every enumeration step
    /// reads, on a line apart from the words a registration writes, for any 8-byte-aligned
    /// address of the map object (all the GC promises).
    /// </summary>
    public class IterRegistrationLayoutTests
    {
        private const int Line = 64;

        [Fact]
        public void RegistrationWords_AndWalkEpoch_NeverShareALine_WithEachOther_OrWithBytesOutsideTheStruct()
        {
            var r = default(IterRegistration);
            ref byte origin = ref Unsafe.As<IterRegistration, byte>(ref r);
            long lockAt = (long)Unsafe.ByteOffset(ref origin, ref Unsafe.As<int, byte>(ref r.Lock));
            long liveAt = (long)Unsafe.ByteOffset(ref origin, ref Unsafe.As<int, byte>(ref r.Live));
            long ticketAt = (long)Unsafe.ByteOffset(ref origin, ref Unsafe.As<ulong, byte>(ref r.NextTicket));
            long rngAt = (long)Unsafe.ByteOffset(ref origin, ref Unsafe.As<ulong, byte>(ref r.Rng));
            long epochAt = (long)Unsafe.ByteOffset(ref origin, ref Unsafe.As<long, byte>(ref r.WalkEpoch));
            int size = Unsafe.SizeOf<IterRegistration>();

            // The written group: every byte from the lowest to the highest of its words.
            long groupFirst = System.Math.Min(System.Math.Min(lockAt, liveAt), System.Math.Min(ticketAt, rngAt));
            long groupLast = System.Math.Max(System.Math.Max(lockAt + 3, liveAt + 3), System.Math.Max(ticketAt + 7, rngAt + 7));
            for (long b = 0; b < Line; b += 8)
            {
                long firstLine = (b + groupFirst) / Line, lastLine = (b + groupLast) / Line;
                long epochLine = (b + epochAt) / Line;
                Assert.True(firstLine * Line >= b, $"base {b}: the registration words share a line with the bytes before the struct");
                Assert.True(epochLine > lastLine, $"base {b}: the walk epoch shares a line with the registration words");
                Assert.True((epochLine + 1) * Line <= b + size, $"base {b}: the walk epoch shares a line with the bytes after the struct");
            }
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
