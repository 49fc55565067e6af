using System;

namespace NativeGoMap
{
    /// <summary>
    /// Core library types the key classifier singles out but netstandard2.1 cannot name
    /// (<c>System.Half</c>, <c>System.Int128</c>, <c>System.UInt128</c>, .NET 5/7+). The
    /// netstandard2.1 build looks them up by name in the running core library, so on .NET 8+ it
    /// classifies them exactly as the .NET 8+ builds do; where the runtime lacks one, the field
    /// is null and no key type can be it.
    /// </summary>
    internal static class CoreTypes
    {
#if NETSTANDARD2_1
        internal static readonly Type? Half = typeof(object).Assembly.GetType("System.Half");
        internal static readonly Type? Int128 = typeof(object).Assembly.GetType("System.Int128");
        internal static readonly Type? UInt128 = typeof(object).Assembly.GetType("System.UInt128");
#else
        internal static readonly Type? Half = typeof(System.Half);
        internal static readonly Type? Int128 = typeof(System.Int128);
        internal static readonly Type? UInt128 = typeof(System.UInt128);
#endif
    }
}
