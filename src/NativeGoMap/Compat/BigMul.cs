using System.Runtime.CompilerServices;
#if !NETSTANDARD2_1
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
#endif

namespace NativeGoMap
{
    /// <summary>
    /// The 64×64→128-bit multiply the hash is built on, and the one place that picks how it is
    /// done: BMI2's mulx on x64, multiply-high on Arm64, and elsewhere (x64 code compiled ahead
    /// of time without BMI2, netstandard2.1, which has no <c>Math.BigMul(ulong, ulong, out ulong)</c>)
    /// the same bits from four 32×32→64 products.
    /// </summary>
    internal static class WideMath
    {
        /// <summary>
        /// The high 64 bits of <paramref name="a"/> × <paramref name="b"/> (the low 64 in
        /// <paramref name="low"/>) from four 32×32→64 products, in line: netstandard2.1's only
        /// form, and the hash's on x64 code compiled ahead of time without BMI2 (native AOT's
        /// default instruction set), where Math.BigMul calls its own software fallback out of
        /// line and hands the low half back through memory.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ulong Portable(ulong a, ulong b, out ulong low)
        {
            ulong aLo = (uint)a, aHi = a >> 32, bLo = (uint)b, bHi = b >> 32;
            ulong ll = aLo * bLo, lh = aLo * bHi, hl = aHi * bLo, hh = aHi * bHi;

            // The middle column: at most 3 × (2^32 - 1), no overflow.
            ulong mid = (ll >> 32) + (uint)lh + (uint)hl;
            low = (mid << 32) | (uint)ll;
            return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
        }

        /// <summary>
        /// The high and the low 64 bits of <paramref name="a"/> × <paramref name="b"/>, xored: the
        /// hash's mixing step. On x64 with BMI2, mulx for the high half and a plain multiply for
        /// the low half stay in registers, where Math.BigMul's out parameter makes the JIT store
        /// the low half to the stack and load it back on every hash; on Arm64 the same with its
        /// multiply-high (its speed not measured: no Arm64 machine; its bits are, by .ci/run's
        /// Arm64 smoke under qemu-user); elsewhere <see cref="Portable"/>, in line (x64 code
        /// compiled ahead of time without BMI2, netstandard2.1). The same bits on every path.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ulong HighXorLow(ulong a, ulong b)
        {
#if !NETSTANDARD2_1
            if (Bmi2.X64.IsSupported)
            {
                return Bmi2.X64.MultiplyNoFlags(a, b) ^ (a * b);
            }

            if (ArmBase.Arm64.IsSupported)
            {
                return ArmBase.Arm64.MultiplyHigh(a, b) ^ (a * b);
            }
#endif
            ulong hi = Portable(a, b, out ulong lo);
            return hi ^ lo;
        }
    }
}
