#if NETSTANDARD2_1
using System;
using System.Reflection;

namespace NativeGoMap
{
    /// <summary>
    /// netstandard2.1 stand-in for <c>Type.IsFunctionPointer</c> (.NET 8+): an extension property,
    /// which C# consults only when the type has no such member, so the classifier's call sites
    /// read the same on every target. Read through reflection, because the netstandard2.1 build
    /// may run on .NET 8+, where a <c>delegate*</c> field's type is a function-pointer type;
    /// runtimes without the property report such fields as <see cref="IntPtr"/>, which is
    /// compared by its bytes all the same.
    /// </summary>
    internal static class TypeExtensions
    {
        private static readonly PropertyInfo? s_isFunctionPointer = typeof(Type).GetProperty("IsFunctionPointer");

        extension(Type type)
        {
            /// <summary>Whether the type is a function-pointer type (<c>delegate*</c>).</summary>
            internal bool IsFunctionPointer => s_isFunctionPointer is not null && (bool)s_isFunctionPointer.GetValue(type)!;
        }
    }
}
#endif
