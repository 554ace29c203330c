using System.Diagnostics;
using Garnet;
using StackExchange.Redis;

namespace SocketRunnerAspire.Cluster.Tests.Support;

/// <summary>A Redis-protocol server for tests: Garnet in process, or a real redis-server process when installed.</summary>
public abstract class RedisServerFixture : IAsyncLifetime
{
    public int Port { get; } = FreePort.Next();

    public IConnectionMultiplexer Connection { get; private set; } = null!;

    /// <summary>The server's password (<c>requirepass</c>); null for none.</summary>
    public virtual string? Password => null;

    /// <summary>A connection string without the password, as a node that was not told it would have.</summary>
    public string ConnectionStringWithoutPassword => $"127.0.0.1:{Port},abortConnect=false,connectTimeout=2000,syncTimeout=2000,asyncTimeout=2000";

    public string ConnectionString => Password is null ? ConnectionStringWithoutPassword : $"{ConnectionStringWithoutPassword},password={Password}";

    public async Task InitializeAsync()
    {
        await StartServerAsync();
        Connection = await ConnectionMultiplexer.ConnectAsync(ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await Connection.DisposeAsync();
        await StopServerAsync();
    }

    protected abstract Task StartServerAsync();

    protected abstract Task StopServerAsync();
}

/// <summary>Garnet (Microsoft's RESP server) hosted in the test process, Lua scripting on.</summary>
public class GarnetFixture : RedisServerFixture
{
    private GarnetServer? _server;

    protected override Task StartServerAsync()
    {
        string[] auth = Password is null ? [] : ["--auth", "Password", "--password", Password];
        _server = new GarnetServer(["--bind", "127.0.0.1", "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--lua", "--memory", "64m", "--index", "16m", .. auth]);
        _server.Start();
        return Task.CompletedTask;
    }

    protected override Task StopServerAsync()
    {
        _server?.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>A redis-server process (tests using it are skipped where it is not installed).</summary>
public class RedisServerProcessFixture : RedisServerFixture
{
    private Process? _process;

    public static string? Executable { get; } = new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists);

    protected override async Task StartServerAsync()
    {
        if (Executable is null)
        {
            return;
        }

        var auth = Password is null ? string.Empty : $" --requirepass {Password}";
        _process = Process.Start(new ProcessStartInfo(Executable, $"--port {Port} --bind 127.0.0.1 --save \"\" --appendonly no{auth}")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        });
        await Eventually.True(() =>
        {
            try
            {
                using var probe = new System.Net.Sockets.TcpClient("127.0.0.1", Port);
                return true;
            }
            catch (System.Net.Sockets.SocketException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(10), "redis-server accepts connections");
    }

    protected override async Task StopServerAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
    }
}

/// <summary>Garnet that requires a password.</summary>
public sealed class PasswordGarnetFixture : GarnetFixture
{
    public override string? Password => "garnet-pass-4d1c";
}

/// <summary>A redis-server process that requires a password (requirepass).</summary>
public sealed class PasswordRedisServerProcessFixture : RedisServerProcessFixture
{
    public override string? Password => "redis-pass-9b2e";
}
