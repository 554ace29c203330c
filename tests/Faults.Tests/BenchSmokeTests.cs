using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json;
using SocketRunnerAspire.Faults.Tests.Support;
using Xunit.Abstractions;

namespace SocketRunnerAspire.Faults.Tests;

/// <summary>
/// The benchmark's <c>--quick</c> run completes for all three systems without a failed request, in one process and with
/// every node in its own process (<c>--processes</c>). A smoke test only:
/// it asserts nothing about speed (speed claims come from full bench runs, never from tests).
/// </summary>
[Trait("Category", "BenchSmoke")]
public sealed class BenchSmokeTests(ITestOutputHelper output)
{
    private static readonly string Project = typeof(BenchSmokeTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "BenchProject").Value!;

    private const string RunMarker = "SOCKETRUNNER_BENCH_SMOKE_RUN";

    [Fact]
    public async Task TheQuickBenchmarkRunsEverySystemToTheEnd()
    {
        var results = Path.Combine(Path.GetTempPath(), $"bench-smoke-{Guid.NewGuid():N}.json");
        try
        {
            await RunAsync(TimeSpan.FromMinutes(8), "build", Project, "-c", "Release", "-nodeReuse:false");
            await RunAsync(TimeSpan.FromMinutes(8), "run", "--no-build", "-c", "Release", "--project", Project, "--", "--quick", "--out", results);
            await AssertEverySystemCompletedAsync(results, "in-process");
        }
        finally
        {
            File.Delete(results);
        }
    }

    /// <summary>
    /// <c>--quick --processes</c>: every runner, silo, echo server and Garnet in its own process. Every process the run
    /// started is marked (an environment variable children inherit), so the test can tell that none outlived the run,
    /// and kills any that did, whether or not the run passed.
    /// </summary>
    [Fact]
    public async Task TheQuickBenchmarkRunsEverySystemToTheEndWithEveryNodeInItsOwnProcess()
    {
        var results = Path.Combine(Path.GetTempPath(), $"bench-smoke-{Guid.NewGuid():N}.json");
        var run = Guid.NewGuid().ToString("N");
        try
        {
            await RunAsync(TimeSpan.FromMinutes(8), "build", Project, "-c", "Release", "-nodeReuse:false");
            await RunAsync(TimeSpan.FromMinutes(10), new Dictionary<string, string> { [RunMarker] = run },
                "run", "--no-build", "-c", "Release", "--project", Project, "--", "--quick", "--processes", "--out", results);
            await AssertEverySystemCompletedAsync(results, "processes");

            // The bench has exited; a child it killed may take a moment to be gone from /proc.
            var deadline = Stopwatch.StartNew();
            while (MarkedProcesses.Find(RunMarker, run).Count > 0 && deadline.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(200);
            }

            Assert.Empty(MarkedProcesses.Find(RunMarker, run));
        }
        finally
        {
            foreach (var (pid, commandLine) in MarkedProcesses.KillAll(RunMarker, run))
            {
                output.WriteLine($"killed leftover process {pid}: {commandLine}");
            }

            File.Delete(results);
        }
    }

    private static async Task AssertEverySystemCompletedAsync(string results, string mode)
    {
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(results));
        var runs = json.RootElement.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal(["orleans", "raw-echo", "socketrunner"], runs.Select(r => r.GetProperty("System").GetString()).Distinct().Order());
        Assert.Contains(runs, r => r.GetProperty("Scenario").GetString() == "PersistedIncrement");
        Assert.All(runs, r =>
        {
            Assert.Equal(mode, r.GetProperty("Mode").GetString());
            Assert.True(r.GetProperty("Requests").GetInt32() > 0, $"{r} completed no request");
            Assert.Equal(0, r.GetProperty("Errors").GetInt32());
            Assert.True(r.GetProperty("AllocatedBytesPerRequest").GetDouble() > 0, $"{r} reports no allocation");
        });
    }

    private Task RunAsync(TimeSpan timeout, params string[] arguments) => RunAsync(timeout, new Dictionary<string, string>(), arguments);

    private async Task RunAsync(TimeSpan timeout, IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

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
