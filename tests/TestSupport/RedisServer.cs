using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Garnet;

namespace SocketRunnerAspire.TestSupport;

/// <summary>Which Redis-protocol server a <see cref="RedisServer"/> runs.</summary>
public enum RedisServerKind
{
    /// <summary>Garnet (Microsoft's RESP server) hosted in the test process, Lua scripting on.</summary>
    Garnet,

    /// <summary>A <c>redis-server</c> process (see <see cref="RedisServer.Executable"/>; tests skip where it is missing).</summary>
    Process,
}

/// <summary>
/// A Redis-protocol server for tests on a loopback port of its own: Garnet in process or a <c>redis-server</c>
/// process, optionally with a password (<c>requirepass</c> / Garnet's <c>--auth Password</c>).
/// <see cref="KillAsync"/> and <see cref="StartAsync"/> again restart it on the same port; a <c>durable</c>
/// redis-server writes an append-only file fsynced on every write (<c>--appendfsync always</c>) into its own
/// directory, so a kill (SIGKILL: no shutdown save) and a restart keep every acknowledged write.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);
    private readonly bool _durable;
    private readonly TimeSpan _commandTimeout;
    private readonly BoundedLog _log = new(500);
    private string? _directory;
    private Process? _process;
    private GarnetServer? _garnet;

    /// <param name="kind">Garnet in process or a redis-server process.</param>
    /// <param name="password">The password the server requires; null for none.</param>
    /// <param name="durable">redis-server only: append-only file, fsync always (survives <see cref="KillAsync"/>).</param>
    /// <param name="commandTimeout">The sync and async timeouts of <see cref="ConnectionString"/> (2 s by default).</param>
    public RedisServer(RedisServerKind kind, string? password = null, bool durable = false, TimeSpan? commandTimeout = null)
    {
        if (durable && kind != RedisServerKind.Process)
        {
            throw new ArgumentException("Only a redis-server process keeps its data across a kill.", nameof(durable));
        }

        Kind = kind;
        Password = password;
        _durable = durable;
        _commandTimeout = commandTimeout ?? TimeSpan.FromSeconds(2);
    }

    /// <summary>The installed redis-server, or null (tests that need it are skipped).</summary>
    public static string? Executable { get; } = new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists);

    public static string SkipReason => "redis-server is not installed (CI installs it with apt-get install redis-server).";

    public RedisServerKind Kind { get; }

    public int Port { get; } = FreePort.Next();

    /// <summary>The server's password; null for none.</summary>
    public string? Password { get; }

    /// <summary>A StackExchange.Redis connection string without the password, as a node that was not told it would have.</summary>
    public string ConnectionStringWithoutPassword => string.Create(CultureInfo.InvariantCulture,
        $"127.0.0.1:{Port},abortConnect=false,connectTimeout=2000,syncTimeout={_commandTimeout.TotalMilliseconds:0},asyncTimeout={_commandTimeout.TotalMilliseconds:0}");

    public string ConnectionString => Password is null ? ConnectionStringWithoutPassword : $"{ConnectionStringWithoutPassword},password={Password}";

    /// <summary>What redis-server printed lately (time-stamped), for failure messages; empty for Garnet.</summary>
    public string Log => _log.ToString();

    public bool IsRunning => _garnet is not null || _process is not null;

    /// <summary>Starts the server (again after <see cref="KillAsync"/>, on the same port) and waits until it accepts connections.</summary>
    public async Task StartAsync()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"The {Kind} server on port {Port} is already running.");
        }

        var port = Port.ToString(CultureInfo.InvariantCulture);
        if (Kind == RedisServerKind.Garnet)
        {
            string[] auth = Password is null ? [] : ["--auth", "Password", "--password", Password];
            _garnet = new GarnetServer(["--bind", "127.0.0.1", "--port", port, "--lua", "--memory", "64m", "--index", "16m", .. auth]);
            _garnet.Start();
            return;
        }

        _directory ??= Directory.CreateTempSubdirectory("srat-redis-").FullName;
        var info = new ProcessStartInfo(Executable ?? throw new InvalidOperationException(SkipReason))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] persistence = _durable ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"];
        string[] requirePass = Password is null ? [] : ["--requirepass", Password];
        foreach (var argument in (string[])["--port", port, "--bind", "127.0.0.1", "--save", "", "--dir", _directory, .. persistence, .. requirePass])
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info)!;
        _process = process;
        process.OutputDataReceived += (_, e) => _log.Add("redis", e.Data);
        process.ErrorDataReceived += (_, e) => _log.Add("redis!", e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await Eventually.True(() => process.HasExited
                ? throw new InvalidOperationException($"redis-server exited with code {process.ExitCode} before it accepted connections.\n{Log}")
                : Accepts(),
            StartTimeout, () => $"redis-server on port {Port} accepts connections\n{Log}", TimeSpan.FromMilliseconds(100));
    }

    /// <summary>
    /// Stops the server at once: SIGKILL for redis-server (no shutdown save; a durable one's append-only file has every
    /// acknowledged write), disposal for Garnet (its data is gone). Nothing happens when it is not running.
    /// </summary>
    public async Task KillAsync()
    {
        if (_garnet is { } garnet)
        {
            garnet.Dispose();
            _garnet = null;
        }

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
        if (_directory is not null)
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
            }
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
