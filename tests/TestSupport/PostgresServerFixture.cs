using Npgsql;
using Xunit;

namespace SocketRunnerAspire.TestSupport;

/// <summary>
/// A <see cref="PostgresServer"/> as an xunit class fixture: started before the class's tests, with a
/// <see cref="DataSource"/> to its <c>postgres</c> database, stopped and deleted after them. Where PostgreSQL cannot
/// run (<see cref="PostgresServer.SkipReason"/>) it starts nothing and the tests skip.
/// </summary>
public sealed class PostgresServerFixture : IAsyncLifetime
{
    private NpgsqlDataSource? _dataSource;

    public PostgresServer Server { get; } = new();

    /// <summary>Why the tests using this fixture are skipped; null when the server runs.</summary>
    public static string? SkipReason => PostgresServer.SkipReason;

    public string ConnectionString => Server.ConnectionString();

    /// <summary>A pooled data source to the server's <c>postgres</c> database.</summary>
    public NpgsqlDataSource DataSource => _dataSource ?? throw new InvalidOperationException(SkipReason ?? "The PostgreSQL fixture was not started.");

    /// <summary>A table prefix no other test uses (Effect's tables are <c>{prefix}_runners</c>, <c>{prefix}_messages</c>, …).</summary>
    public static string UniquePrefix() => $"t{Guid.NewGuid():N}"[..25];

    public async Task InitializeAsync()
    {
        if (SkipReason is null)
        {
            await Server.StartAsync();
            _dataSource = NpgsqlDataSource.Create(ConnectionString);
        }
    }

    public async Task DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }

        NpgsqlConnection.ClearAllPools();
        await Server.DisposeAsync();
    }
}
