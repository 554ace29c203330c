using StackExchange.Redis;
using Xunit;

namespace SocketRunnerAspire.TestSupport;

/// <summary>
/// A <see cref="RedisServer"/> as an xunit class fixture: started before the class's tests, with a
/// <see cref="Connection"/> to it, stopped after them. A redis-server fixture where none is installed starts
/// nothing (its tests skip on <see cref="RedisServerProcessFixture.Executable"/>).
/// </summary>
public abstract class RedisServerFixture(RedisServerKind kind, string? password = null) : IAsyncLifetime
{
    public RedisServer Server { get; } = new(kind, password);

    public int Port => Server.Port;

    public IConnectionMultiplexer Connection { get; private set; } = null!;

    /// <summary>The server's password (<c>requirepass</c>); null for none.</summary>
    public string? Password => Server.Password;

    /// <summary>A connection string without the password, as a node that was not told it would have.</summary>
    public string ConnectionStringWithoutPassword => Server.ConnectionStringWithoutPassword;

    public string ConnectionString => Server.ConnectionString;

    public async Task InitializeAsync()
    {
        if (Server.Kind == RedisServerKind.Garnet || RedisServer.Executable is not null)
        {
            await Server.StartAsync();
        }

        Connection = await ConnectionMultiplexer.ConnectAsync(ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await Connection.DisposeAsync();
        await Server.DisposeAsync();
    }
}

/// <summary>Garnet (Microsoft's RESP server) hosted in the test process, Lua scripting on.</summary>
public class GarnetFixture : RedisServerFixture
{
    public GarnetFixture()
        : base(RedisServerKind.Garnet)
    {
    }

    protected GarnetFixture(string password)
        : base(RedisServerKind.Garnet, password)
    {
    }
}

/// <summary>A redis-server process (tests using it are skipped where it is not installed).</summary>
public class RedisServerProcessFixture : RedisServerFixture
{
    public RedisServerProcessFixture()
        : base(RedisServerKind.Process)
    {
    }

    protected RedisServerProcessFixture(string password)
        : base(RedisServerKind.Process, password)
    {
    }

    /// <summary>The installed redis-server, or null.</summary>
    public static string? Executable => RedisServer.Executable;
}

/// <summary>Garnet that requires a password.</summary>
public sealed class PasswordGarnetFixture() : GarnetFixture("garnet-pass-4d1c");

/// <summary>A redis-server process that requires a password (requirepass).</summary>
public sealed class PasswordRedisServerProcessFixture() : RedisServerProcessFixture("redis-pass-9b2e");
