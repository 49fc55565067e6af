#if !NATIVEGOMAP_NETSTANDARD // the package is tested once, from the net10.0 test project
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Xml.Linq;
using Xunit;
using Xunit.Abstractions;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// What `dotnet pack` makes, and a consumer's first use of it: the package from a local folder
    /// feed, referenced by a new project that builds and runs. Packs once for the class (about a
    /// minute: three targets in Release).
    /// </summary>
    public sealed class PackageTests : IClassFixture<PackageTests.Packed>
    {
        private readonly Packed _packed;
        private readonly ITestOutputHelper _output;

        public PackageTests(Packed packed, ITestOutputHelper output)
        {
            _packed = packed;
            _output = output;
        }

        [Fact]
        public void Pack_MakesThePackageAndASymbolsPackage()
        {
            Assert.True(File.Exists(_packed.Nupkg), _packed.Log);
            Assert.True(File.Exists(Path.ChangeExtension(_packed.Nupkg, ".snupkg")), _packed.Log);
        }

        [Fact]
        public void Package_CarriesEveryTargetWithXmlDocs_AndTheReadme()
        {
            HashSet<string> files = Entries(_packed.Nupkg);
            foreach (string tfm in new[] { "netstandard2.1", "net8.0", "net10.0" })
            {
                Assert.Contains($"lib/{tfm}/NativeGoMap.dll", files);
                Assert.Contains($"lib/{tfm}/NativeGoMap.xml", files);
            }

            Assert.Contains("README.md", files);
        }

        [Fact]
        public void Nuspec_HasLicenceReadmeRepositoryAndTheUnsafeDependencyForNetStandardOnly()
        {
            XElement meta = Nuspec(_packed.Nupkg);
            XNamespace ns = meta.Name.Namespace;
            Assert.Equal("NativeGoMap", meta.Element(ns + "id")!.Value);
            Assert.Equal("expression", meta.Element(ns + "license")!.Attribute("type")!.Value);
            Assert.Equal("MIT", meta.Element(ns + "license")!.Value);
            Assert.Equal("README.md", meta.Element(ns + "readme")!.Value);
            Assert.False(string.IsNullOrWhiteSpace(meta.Element(ns + "description")!.Value));
            XElement repository = meta.Element(ns + "repository")!;
            Assert.Equal("git", repository.Attribute("type")!.Value);
            Assert.Matches("^[0-9a-f]{40}$", repository.Attribute("commit")!.Value);

            var groups = meta.Element(ns + "dependencies")!.Elements(ns + "group")
                .ToDictionary(g => g.Attribute("targetFramework")!.Value, g => g.Elements(ns + "dependency").Select(d => d.Attribute("id")!.Value + " " + d.Attribute("version")!.Value).ToArray());
            Assert.Equal(new[] { "System.Runtime.CompilerServices.Unsafe 6.1.2" }, groups[".NETStandard2.1"]);
            Assert.Empty(groups["net8.0"]);
            Assert.Empty(groups["net10.0"]);
        }

        [Fact]
        public void SymbolsPackage_HasAPdbPerTarget()
        {
            HashSet<string> files = Entries(Path.ChangeExtension(_packed.Nupkg, ".snupkg"));
            foreach (string tfm in new[] { "netstandard2.1", "net8.0", "net10.0" })
            {
                Assert.Contains($"lib/{tfm}/NativeGoMap.pdb", files);
            }
        }

        [Fact]
        public void AConsumerProject_BuildsAndRunsAgainstThePackageFromALocalFeed()
        {
            string consumer = Path.Combine(_packed.Work, "consumer");
            Directory.CreateDirectory(consumer);
            File.WriteAllText(Path.Combine(_packed.Work, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <clear />
                    <add key="local" value="{_packed.Feed}" />
                  </packageSources>
                </configuration>
                """);
            File.WriteAllText(Path.Combine(consumer, "Consumer.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <RestorePackagesPath>{Path.Combine(_packed.Work, "packages")}</RestorePackagesPath>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="NativeGoMap" Version="{_packed.Version}" />
                  </ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(consumer, "Program.cs"), """
                using NativeGoMap;

                using var map = new GoMap<long, long>(capacityHint: 1000);
                for (long k = 0; k < 1000; k++)
                {
                    map[k] = k * k;
                }

                map.Remove(3);
                long sum = 0;
                foreach (var (key, value) in map)
                {
                    sum += value;
                }

                Console.WriteLine($"count={map.Count} B={map.GetStats().B} sum={sum} layout={GoMap<long, long>.Layout.BucketSize}");
                """);

            (int code, string log) = Dotnet(consumer, "run", "--disable-build-servers");
            _output.WriteLine(log);
            Assert.True(code == 0, log);
            long expected = Enumerable.Range(0, 1000).Where(k => k != 3).Sum(k => (long)k * k);
            Assert.Contains($"count=999 B=8 sum={expected} layout=144", log, StringComparison.Ordinal);
            Assert.True(Directory.Exists(Path.Combine(_packed.Work, "packages", "nativegomap", _packed.Version)), "restored from the local feed into the isolated folder");
        }

        private static HashSet<string> Entries(string zip)
        {
            using ZipArchive archive = ZipFile.OpenRead(zip);
            return archive.Entries.Select(e => e.FullName).ToHashSet();
        }

        private static XElement Nuspec(string nupkg)
        {
            using ZipArchive archive = ZipFile.OpenRead(nupkg);
            using Stream s = archive.GetEntry("NativeGoMap.nuspec")!.Open();
            XElement root = XElement.Load(s);
            return root.Element(root.Name.Namespace + "metadata")!;
        }

        /// <summary>Runs the dotnet CLI; output and error merged.</summary>
        internal static (int Code, string Log) Dotnet(string workingDirectory, params string[] args)
        {
            var start = new ProcessStartInfo("dotnet")
            {
                WorkingDirectory = workingDirectory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string a in args)
            {
                start.ArgumentList.Add(a);
            }

            // A fresh CLI, not one steered by the test host's own MSBuild environment.
            foreach (string v in new[] { "MSBuildExtensionsPath", "MSBUILD_EXE_PATH", "MSBuildSDKsPath", "MSBuildLoadMicrosoftTargetsReadOnly" })
            {
                start.Environment.Remove(v);
            }

            start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            start.Environment["DOTNET_NOLOGO"] = "1";
            using Process p = Process.Start(start)!;
            var output = new System.Text.StringBuilder();
            p.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
            p.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            if (!p.WaitForExit(TimeSpan.FromMinutes(10)))
            {
                p.Kill(entireProcessTree: true);
                return (-1, output + "\n(timed out after 10 minutes)");
            }

            p.WaitForExit();
            lock (output)
            {
                return (p.ExitCode, output.ToString());
            }
        }

        /// <summary>`dotnet pack` of the library into a temporary folder feed, once for the class.</summary>
        public sealed class Packed : IDisposable
        {
            public Packed()
            {
                Work = Directory.CreateTempSubdirectory("nativegomap-package-").FullName;
                Feed = Path.Combine(Work, "feed");
                (int code, string log) = Dotnet(RepoPaths.Root, "pack", Path.Combine("src", "NativeGoMap", "NativeGoMap.csproj"), "-c", "Release", "-o", Feed, "--disable-build-servers");
                Log = log;
                string[] packages = Directory.Exists(Feed) ? Directory.GetFiles(Feed, "NativeGoMap.*.nupkg") : Array.Empty<string>();
                bool packed = code == 0 && packages.Length == 1;
                Nupkg = packed ? packages[0] : Path.Combine(Feed, "pack-failed.nupkg");
                Version = packed ? Path.GetFileNameWithoutExtension(Nupkg)["NativeGoMap.".Length..] : "pack-failed";
            }

            public string Work { get; }

            public string Feed { get; }

            public string Nupkg { get; }

            public string Version { get; }

            public string Log { get; }

            public void Dispose() => Directory.Delete(Work, recursive: true);
        }
    }
}
#endif
