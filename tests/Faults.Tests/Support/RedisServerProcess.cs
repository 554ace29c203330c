using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;

namespace SocketRunnerAspire.Faults.Tests.Support;

/// <summary>
/// A redis-server process on a loopback port. With <c>durable</c> it writes an append-only file fsynced on every
/// write (<c>--appendfsync always</c>) into its own directory, so a kill and a restart on the same port keep every
/// acknowledged write.
/// </summary>
public sealed class RedisServerProcess : IAsyncDisposable
{
    private readonly bool _durable;
    private readonly string _directory = Directory.CreateTempSubdirectory("srat-faults-redis-").FullName;
    private readonly BoundedLog _log = new(500);
    private Process? _process;

    public RedisServerProcess(bool durable)
    {
        _durable = durable;
    }

    /// <summary>The installed redis-server, or null (tests that need it are skipped).</summary>
    public static string? Executable { get; } = new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists);

    public static string SkipReason => "redis-server is not installed (CI installs it with apt-get install redis-server).";

    public int Port { get; } = FreePort.Next();

    public string ConnectionString => $"127.0.0.1:{Port},abortConnect=false,connectTimeout=2000,syncTimeout=3000,asyncTimeout=3000";

    public string Log => _log.ToString();

    public async Task StartAsync()
    {
        var info = new ProcessStartInfo(Executable ?? throw new InvalidOperationException(SkipReason))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--dir", _directory })
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var argument in _durable ? ["--appendonly", "yes", "--appendfsync", "always"] : new[] { "--appendonly", "no" })
        {
            info.ArgumentList.Add(argument);
        }

        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, e) => _log.Add("redis", e.Data);
        _process.ErrorDataReceived += (_, e) => _log.Add("redis!", e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await Eventually.True(() => Task.FromResult(Accepts()), TimeSpan.FromSeconds(20), () => $"redis-server on port {Port} accepts connections\n{Log}");
    }

    /// <summary>Kills the server (SIGKILL: no shutdown save; the append-only file has every acknowledged write).</summary>
    public async Task KillAsync()
    {
        if (_process is { } process)
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            await process.WaitForExitAsync();
            process.Dispose();
            _process = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private bool Accepts()
    {
        try
        {
            using var probe = new TcpClient("127.0.0.1", Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
