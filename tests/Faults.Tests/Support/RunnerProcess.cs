using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json;

namespace SocketRunnerAspire.Faults.Tests.Support;

/// <summary>
/// The real Runner project as a separate OS process (<c>dotnet SocketRunnerAspire.Runner.dll</c>), configured by
/// environment variables as the AppHost configures it, on loopback ports. <see cref="Kill"/> is <c>kill -9</c>.
/// </summary>
public sealed class RunnerProcess : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(3) };
    private readonly Process _process;
    private readonly BoundedLog _log = new(3000);

    private RunnerProcess(string name, Process process, int runnerPort, int httpPort)
    {
        Name = name;
        _process = process;
        RunnerPort = runnerPort;
        HttpPort = httpPort;
        Pid = process.Id;
        process.OutputDataReceived += (_, e) => _log.Add(name, e.Data);
        process.ErrorDataReceived += (_, e) => _log.Add(name + "!", e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>The Runner build output this project's build produced (see Faults.Tests.csproj).</summary>
    public static string Dll { get; } = typeof(RunnerProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RunnerDll").Value!;

    public string Name { get; }

    public int RunnerPort { get; }

    public int HttpPort { get; }

    public int Pid { get; }

    public string Address => $"127.0.0.1:{RunnerPort}";

    public bool HasExited => _process.HasExited;

    public string Log => _log.ToString();

    /// <summary>Starts a runner; <paramref name="settings"/> adds configuration (<c>Section:Key</c>) to the shared timings.</summary>
    public static RunnerProcess Start(string name, string storageConnectionString, string clusterName, IReadOnlyDictionary<string, string>? settings = null)
    {
        if (!File.Exists(Dll))
        {
            throw new FileNotFoundException($"The Runner build output is missing; build tests/Faults.Tests (it builds Runner).", Dll);
        }

        var runnerPort = FreePort.Next();
        var httpPort = FreePort.Next();
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(Dll)!,
        };
        info.ArgumentList.Add(Dll);
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("OTEL_", StringComparison.Ordinal) || k.StartsWith("Cluster__", StringComparison.Ordinal)).ToArray())
        {
            info.Environment.Remove(key);
        }

        info.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{httpPort}";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment["ConnectionStrings__storage"] = storageConnectionString;
        info.Environment["Cluster__RunnerAddress__Host"] = "127.0.0.1";
        info.Environment["Cluster__RunnerAddress__Port"] = runnerPort.ToString(CultureInfo.InvariantCulture);
        foreach (var (key, value) in ClusterTimings.Settings(clusterName).Concat(settings ?? new Dictionary<string, string>()))
        {
            info.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        info.Environment["Logging__Console__FormatterName"] = "simple";
        info.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        info.Environment["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ";
        return new RunnerProcess(name, Process.Start(info)!, runnerPort, httpPort);
    }

    /// <summary>True when <c>/health</c> answers 200: registered in storage and holding the leases of its shards.</summary>
    public async Task<bool> IsReadyAsync()
    {
        try
        {
            using var response = await Http.GetAsync($"http://127.0.0.1:{HttpPort}/health");
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    public Task WaitReadyAsync(TimeSpan timeout) => Eventually.True(async () =>
    {
        if (HasExited)
        {
            throw new InvalidOperationException($"Runner {Name} exited with code {_process.ExitCode} before it was ready.\n{Log}");
        }

        return await IsReadyAsync();
    }, timeout, () => $"runner {Name} reports ready on /health\n{Log}", TimeSpan.FromMilliseconds(200));

    /// <summary>The runner's <c>GET /</c> (shards owned, managed heap), or null when it does not answer.</summary>
    public async Task<RunnerStatus?> StatusAsync()
    {
        try
        {
            var json = await Http.GetFromJsonAsync<JsonElement>($"http://127.0.0.1:{HttpPort}/");
            return new RunnerStatus(
                json.GetProperty("shardsOwned").GetInt32(),
                json.GetProperty("managedBytes").GetInt64(),
                json.GetProperty("heapAfterLastGcBytes").GetInt64());
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
        {
            return null;
        }
    }

    /// <summary>kill -9: no shutdown, no lease release, no unregistering.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            Kill();
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
        }

        _process.Dispose();
    }
}

/// <summary>What a runner's <c>GET /</c> reports.</summary>
public sealed record RunnerStatus(int ShardsOwned, long ManagedBytes, long HeapAfterLastGcBytes);
