using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace SocketRunnerAspire.Faults.Tests;

/// <summary>
/// The benchmark's <c>--quick</c> run completes for all three systems without a failed request. A smoke test only:
/// it asserts nothing about speed (speed claims come from full bench runs, never from tests).
/// </summary>
[Trait("Category", "BenchSmoke")]
public sealed class BenchSmokeTests(ITestOutputHelper output)
{
    private static readonly string Project = typeof(BenchSmokeTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "BenchProject").Value!;

    [Fact]
    public async Task TheQuickBenchmarkRunsEverySystemToTheEnd()
    {
        var results = Path.Combine(Path.GetTempPath(), $"bench-smoke-{Guid.NewGuid():N}.json");
        try
        {
            await RunAsync(TimeSpan.FromMinutes(8), "build", Project, "-c", "Release", "-nodeReuse:false");
            await RunAsync(TimeSpan.FromMinutes(8), "run", "--no-build", "-c", "Release", "--project", Project, "--", "--quick", "--out", results);

            using var json = JsonDocument.Parse(await File.ReadAllTextAsync(results));
            var runs = json.RootElement.GetProperty("results").EnumerateArray().ToArray();
            Assert.Equal(["orleans", "raw-echo", "socketrunner"], runs.Select(r => r.GetProperty("System").GetString()).Distinct().Order());
            Assert.Contains(runs, r => r.GetProperty("Scenario").GetString() == "PersistedIncrement");
            Assert.All(runs, r =>
            {
                Assert.True(r.GetProperty("Requests").GetInt32() > 0, $"{r} completed no request");
                Assert.Equal(0, r.GetProperty("Errors").GetInt32());
                Assert.True(r.GetProperty("AllocatedBytesPerRequest").GetDouble() > 0, $"{r} reports no allocation");
            });
        }
        finally
        {
            File.Delete(results);
        }
    }

    private async Task RunAsync(TimeSpan timeout, params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(info)!;
        var log = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', arguments)} did not finish within {timeout}:\n{Tail(log)}");
        }

        process.WaitForExit();   // drains the redirected output
        output.WriteLine(Tail(log));
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{Tail(log)}");
    }

    private static string Tail(StringBuilder log)
    {
        lock (log)
        {
            var text = log.ToString();
            return text.Length <= 6_000 ? text : text[^6_000..];
        }
    }
}
