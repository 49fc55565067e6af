#if NETSTANDARD2_1
using System;

namespace System.Diagnostics.CodeAnalysis
{
    // netstandard2.1 lacks the trimming annotations (.NET 5+). These stand-ins, in the namespace
    // the trimmer and the native AOT compiler match by name, let the key classifier and the
    // snapshot shape keep their annotations on every target: a trimmer reading the
    // netstandard2.1 build (Unity's, an app trimming its dependencies) honours them too.

    /// <summary>Stand-in for .NET 5's <c>DynamicallyAccessedMemberTypes</c>: the members a trimmer keeps.</summary>
    [Flags]
    internal enum DynamicallyAccessedMemberTypes
    {
        None = 0,
        PublicParameterlessConstructor = 0x0001,
        PublicConstructors = 0x0002 | PublicParameterlessConstructor,
        NonPublicConstructors = 0x0004,
        PublicMethods = 0x0008,
        NonPublicMethods = 0x0010,
        PublicFields = 0x0020,
        NonPublicFields = 0x0040,
        PublicNestedTypes = 0x0080,
        NonPublicNestedTypes = 0x0100,
        PublicProperties = 0x0200,
        NonPublicProperties = 0x0400,
        PublicEvents = 0x0800,
        NonPublicEvents = 0x1000,
        Interfaces = 0x2000,
        All = ~None,
    }

    /// <summary>Stand-in for .NET 5's <c>DynamicallyAccessedMembersAttribute</c>.</summary>
    [AttributeUsage(AttributeTargets.Field | AttributeTargets.ReturnValue | AttributeTargets.GenericParameter | AttributeTargets.Parameter | AttributeTargets.Property | AttributeTargets.Method | AttributeTargets.Class | AttributeTargets.Interface | AttributeTargets.Struct, Inherited = false)]
    internal sealed class DynamicallyAccessedMembersAttribute : Attribute
    {
        public DynamicallyAccessedMembersAttribute(DynamicallyAccessedMemberTypes memberTypes) => MemberTypes = memberTypes;

        public DynamicallyAccessedMemberTypes MemberTypes { get; }
    }

    /// <summary>Stand-in for .NET 5's <c>UnconditionalSuppressMessageAttribute</c>.</summary>
    [AttributeUsage(AttributeTargets.All, Inherited = false, AllowMultiple = true)]
    internal sealed class UnconditionalSuppressMessageAttribute : Attribute
    {
        public UnconditionalSuppressMessageAttribute(string category, string checkId)
        {
            Category = category;
            CheckId = checkId;
        }

        public string Category { get; }

        public string CheckId { get; }

        public string? Justification { get; set; }
    }
}
#endif
