// Attributes the C# compiler needs by name and netstandard2.1 lacks (.NET 5+), for the test
// sources shared with the net10.0 test projects. Mono 6.8 runs module initializers (the
// assembly's <Module> constructor), so TestAssemblySetup's two run as on .NET.
namespace System.Runtime.CompilerServices
{
    /// <summary>Lets records and <c>init</c> accessors compile (the compiler's marker type).</summary>
    internal static class IsExternalInit
    {
    }

    /// <summary>Marks a method the compiler calls from the module initializer.</summary>
    [AttributeUsage(AttributeTargets.Method, Inherited = false)]
    internal sealed class ModuleInitializerAttribute : Attribute
    {
    }
}
