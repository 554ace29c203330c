using System.Text.RegularExpressions;

namespace SocketRunnerAspire.Cluster.Tests.Documentation;

/// <summary>The README's "How it works" diagrams name the files that implement each box; they must exist.</summary>
public sealed partial class ReadmeTests
{
    [Fact]
    public void EveryFileTheHowItWorksSectionNamesExists()
    {
        var root = RepositoryRoot();
        var readme = File.ReadAllText(Path.Combine(root, "README.md"));
        var start = readme.IndexOf("## How it works", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no 'How it works' section");
        var end = readme.IndexOf("\n## ", start + 3, StringComparison.Ordinal);
        var section = readme[start..(end < 0 ? readme.Length : end)];

        var named = SourcePath().Matches(section).Select(m => m.Value).Distinct().ToArray();
        Assert.True(named.Length >= 15, $"the section names only {named.Length} files");
        var missing = named.Where(path => !File.Exists(Path.Combine(root, "Cluster", path)) && !File.Exists(Path.Combine(root, path))
            && !FindsUnique(root, path)).ToArray();
        Assert.True(missing.Length == 0, "README 'How it works' names files that do not exist: " + string.Join(", ", missing));
    }

    /// <summary>A bare file name ("EntityInstance.cs" after "Entities/EntityHost.cs, ") resolves within Cluster/.</summary>
    private static bool FindsUnique(string root, string path) =>
        !path.Contains('/') && Directory.EnumerateFiles(Path.Combine(root, "Cluster"), path, SearchOption.AllDirectories).Count() == 1;

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "README.md")) && Directory.Exists(Path.Combine(dir.FullName, "Cluster")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("No directory above the test binaries holds README.md and Cluster/.");
    }

    [GeneratedRegex(@"(?<![\w/])(?:[A-Z][A-Za-z]*/)*[A-Z][A-Za-z]*\.cs\b")]
    private static partial Regex SourcePath();
}
