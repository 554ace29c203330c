namespace SocketRunnerAspire.Template.Tests;

/// <summary>
/// Installs the repository as a template into an isolated hive, instantiates it under another name,
/// runner count and storage mode, builds what it produced and runs its AppHost tests.
/// </summary>
public sealed class TemplateTests : IDisposable
{
    private const string SourceName = "SocketRunnerAspire";
    private const string NewName = "Shop";
    private const int RunnerCount = 2;

    private readonly string _root = Directory.CreateTempSubdirectory("srat-template-").FullName;

    [Fact]
    public async Task InstantiatedTemplateRenamesEverythingBuildsAndPassesItsAppHostTests()
    {
        var repo = FindRepositoryRoot();
        var hive = Path.Combine(_root, "hive");
        var output = Path.Combine(_root, NewName);

        await DotnetCli.RunAsync(_root, TimeSpan.FromMinutes(2), "new", "install", repo, "--debug:custom-hive", hive);
        await DotnetCli.RunAsync(_root, TimeSpan.FromMinutes(2),
            "new", "socketrunner-aspire", "-n", NewName, "-o", output,
            "--runner-count", RunnerCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--storage", "Garnet",
            "--debug:custom-hive", hive);

        var files = Directory.EnumerateFiles(output, "*", SearchOption.AllDirectories).ToArray();
        Assert.Contains(Path.Combine(output, $"{NewName}.slnx"), files);
        Assert.DoesNotContain(files, file => file.Contains(SourceName, StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(files, file => file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        Assert.False(Directory.Exists(Path.Combine(output, "tests", "Template.Tests")), "the template's own test must not be copied");
        Assert.False(Directory.Exists(Path.Combine(output, "tests", "Faults.Tests")), "the fault suite of this repository's sample must not be copied");

        var leftovers = files
            .Where(file => !file.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
            .Where(file => File.ReadAllText(file).Contains(SourceName, StringComparison.OrdinalIgnoreCase))
            .Select(file => Path.GetRelativePath(output, file))
            .ToArray();
        Assert.True(leftovers.Length == 0, $"'{SourceName}' left in: {string.Join(", ", leftovers)}");

        Assert.DoesNotContain("Template.Tests", File.ReadAllText(Path.Combine(output, $"{NewName}.slnx")), StringComparison.Ordinal);
        Assert.DoesNotContain("Faults.Tests", File.ReadAllText(Path.Combine(output, $"{NewName}.slnx")), StringComparison.Ordinal);
        Assert.Contains($"\"Runners\": {RunnerCount}", File.ReadAllText(Path.Combine(output, "AppHost", "appsettings.json")), StringComparison.Ordinal);
        Assert.Contains("\"Mode\": \"Garnet\"", File.ReadAllText(Path.Combine(output, "AppHost", "appsettings.json")), StringComparison.Ordinal);
        Assert.Contains($"<AssemblyName>{NewName}.Cluster</AssemblyName>", File.ReadAllText(Path.Combine(output, "Cluster", "Cluster.csproj")), StringComparison.Ordinal);

        var readme = File.ReadAllText(Path.Combine(output, "README.md"));
        Assert.StartsWith($"# {NewName}", readme, StringComparison.Ordinal);
        Assert.Contains("## Next steps", readme, StringComparison.Ordinal);
        Assert.DoesNotContain("Use it as a template", readme, StringComparison.Ordinal);
        Assert.DoesNotContain("Template.Tests", readme, StringComparison.Ordinal);
        Assert.DoesNotContain("Faults.Tests", readme, StringComparison.Ordinal);
        Assert.DoesNotContain("<!--#", readme, StringComparison.Ordinal);
        Assert.DoesNotContain("bench/", readme, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(output, "bench")), "the benchmark must not be copied");
        Assert.DoesNotContain("bench/", File.ReadAllText(Path.Combine(output, $"{NewName}.slnx")), StringComparison.Ordinal);
        Assert.DoesNotContain("Bench", File.ReadAllText(Path.Combine(output, "Cluster", "Cluster.csproj")), StringComparison.Ordinal);

        await DotnetCli.RunAsync(output, TimeSpan.FromMinutes(8), "build", $"{NewName}.slnx", "-nodeReuse:false");
        Assert.True(File.Exists(Path.Combine(output, "AppHost", "bin", "Debug", "net10.0", $"{NewName}.AppHost.dll")),
            "the instantiated AppHost was not built");

        // The generated AppHost tests start the generated cluster (Garnet, runners, ClientApp) and check its traces.
        // Its Cluster.Tests are the same sources as this repository's, which CI runs, so they are only built here.
        var tests = await DotnetCli.RunAsync(output, TimeSpan.FromMinutes(8),
            "test", Path.Combine("tests", "AppHost.Tests", "AppHost.Tests.csproj"), "--no-build");
        Assert.Matches(@"Passed!\s+-\s+Failed:\s+0,", tests);
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (Directory.Exists(Path.Combine(dir.FullName, ".template.config")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No .template.config above {AppContext.BaseDirectory}.");
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A build server may still hold a file for a moment; the temp folder is cleaned by the OS.
        }
    }
}
