#if NETSTANDARD2_1
using System;

namespace NativeGoMap
{
    /// <summary>
    /// netstandard2.1 lacks <c>System.Diagnostics.StackTraceHiddenAttribute</c> (.NET 6+). This
    /// stand-in lets <see cref="ThrowHelper"/> keep its attribute on every target; runtimes that
    /// know only the real one ignore it, so throw-helper frames show in stack traces there.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class | AttributeTargets.Method | AttributeTargets.Constructor | AttributeTargets.Struct, Inherited = false)]
    internal sealed class StackTraceHiddenAttribute : Attribute
    {
    }
}
#endif
