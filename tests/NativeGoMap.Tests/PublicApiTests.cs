using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using PublicApiGenerator;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// The public API, as C# declarations, against the approved copy in
    /// tests/NativeGoMap.Tests/PublicApi/NativeGoMap.approved.txt, so that every change to the
    /// public surface shows in review as a diff of that file. Both test projects compare against
    /// the same file, so the netstandard2.1 build must expose exactly what the .NET 10 build does.
    /// To accept an intended change, run once: NATIVEGOMAP_ACCEPT_API=1 dotnet test --filter PublicApi
    /// </summary>
    public class PublicApiTests
    {
        private const string AcceptVariable = "NATIVEGOMAP_ACCEPT_API";

        [Fact]
        public void PublicApi_IsTheApprovedOne()
        {
            string approvedPath = Path.Combine(RepoPaths.Root, "tests", "NativeGoMap.Tests", "PublicApi", "NativeGoMap.approved.txt");
            string receivedPath = Path.ChangeExtension(approvedPath, null).Replace(".approved", ".received", StringComparison.Ordinal) + ".txt";
            string actual = Normalize(typeof(GoMap<,>).Assembly.GeneratePublicApi(new ApiGeneratorOptions
            {
                // Not API: which target the assembly was built for, where it was built from
                // (the git remote), and which of our own assemblies see its internals. Nor the
                // trimming annotation on GoMap's type parameters (what a trimmer keeps of a key
                // or value type): the netstandard2.1 build carries it as an internal stand-in,
                // which the generator does not list.
                ExcludeAttributes = new[]
                {
                    "System.Diagnostics.CodeAnalysis.DynamicallyAccessedMembersAttribute",
                    "System.Runtime.Versioning.TargetFrameworkAttribute",
                    "System.Reflection.AssemblyMetadataAttribute",
                    "System.Runtime.CompilerServices.InternalsVisibleToAttribute",
                },
            }));

            if (Environment.GetEnvironmentVariable(AcceptVariable) == "1")
            {
                File.WriteAllText(approvedPath, actual);
                File.Delete(receivedPath);
                return;
            }

            string approved = File.Exists(approvedPath) ? Normalize(File.ReadAllText(approvedPath)) : "";
            if (approved == actual)
            {
                File.Delete(receivedPath);
                return;
            }

            File.WriteAllText(receivedPath, actual);
            Assert.Fail(
                $"The public API differs from {Relative(approvedPath)} (the new surface is in {Relative(receivedPath)}).\n" +
                $"If the change is intended, accept it with: {AcceptVariable}=1 dotnet test --filter PublicApi\n\n" +
                LineDiff(approved, actual));
        }

        private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n') + "\n";

        private static string Relative(string path) => Path.GetRelativePath(RepoPaths.Root, path);

        /// <summary>A minimal line diff (longest common subsequence): "-" approved only, "+" new only, with two lines of context.</summary>
        internal static string LineDiff(string before, string after)
        {
            string[] a = before.Split('\n');
            string[] b = after.Split('\n');
            int[,] lcs = new int[a.Length + 1, b.Length + 1];
            for (int i = a.Length - 1; i >= 0; i--)
            {
                for (int j = b.Length - 1; j >= 0; j--)
                {
                    lcs[i, j] = a[i] == b[j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
                }
            }

            var lines = new List<(char Mark, string Text)>();
            int x = 0, y = 0;
            while (x < a.Length || y < b.Length)
            {
                if (x < a.Length && y < b.Length && a[x] == b[y])
                {
                    lines.Add((' ', a[x++]));
                    y++;
                }
                else if (x < a.Length && (y == b.Length || lcs[x + 1, y] >= lcs[x, y + 1]))
                {
                    lines.Add(('-', a[x++]));
                }
                else
                {
                    lines.Add(('+', b[y++]));
                }
            }

            var text = new StringBuilder();
            int lastShown = -1;
            for (int k = 0; k < lines.Count; k++)
            {
                bool near = Enumerable.Range(Math.Max(0, k - 2), Math.Min(lines.Count, k + 3) - Math.Max(0, k - 2)).Any(n => lines[n].Mark != ' ');
                if (!near)
                {
                    continue;
                }

                if (lastShown >= 0 && k > lastShown + 1)
                {
                    text.Append("...\n");
                }

                text.Append(lines[k].Mark).Append(' ').Append(lines[k].Text).Append('\n');
                lastShown = k;
            }

            return text.ToString();
        }

        [Fact]
        public void LineDiff_ShowsRemovedAndAddedLinesWithContext()
        {
            string diff = LineDiff("a\nb\nc\nd\ne\nf\ng\nh\n", "a\nb\nc\nD\ne\nf\ng\nh\n");
            Assert.Equal("  b\n  c\n- d\n+ D\n  e\n  f\n", diff);
        }
    }

    /// <summary>Paths in the repository the tests run from.</summary>
    internal static class RepoPaths
    {
        /// <summary>The folder holding NativeGoMap.sln, found upwards from the test binaries.</summary>
        internal static string Root { get; } = FindRoot();

        private static string FindRoot()
        {
            for (DirectoryInfo? d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            {
                if (File.Exists(Path.Combine(d.FullName, "NativeGoMap.sln")))
                {
                    return d.FullName;
                }
            }

            throw new InvalidOperationException("NativeGoMap.sln not found above " + AppContext.BaseDirectory);
        }
    }
}
