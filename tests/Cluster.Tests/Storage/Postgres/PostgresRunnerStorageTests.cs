using Npgsql;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Storage.Postgres;

namespace SocketRunnerAspire.Cluster.Tests.Storage.Postgres;

/// <summary>The RunnerStorage suite on a throw-away PostgreSQL server (skipped where PostgreSQL is not installed); each storage has a table prefix of its own.</summary>
public sealed class PostgresRunnerStorageTests(PostgresServerFixture postgres) : RunnerStorageConformanceTests, IClassFixture<PostgresServerFixture>
{
    protected override string? SkipReason => PostgresServerFixture.SkipReason;

    protected override IRunnerStorage CreateStorage() => new PostgresRunnerStorage(postgres.DataSource, Lease, PostgresServerFixture.UniquePrefix());

    [SkippableFact]
    public async Task UsesEffectsTablesWithTheSerialAsMachineIdAndEffectsRunnerJson()
    {
        Skip.If(SkipReason is not null, SkipReason);
        var prefix = PostgresServerFixture.UniquePrefix();
        var storage = new PostgresRunnerStorage(postgres.DataSource, Lease, prefix);
        var a = new RunnerAddress("10.0.0.1", 34431);

        var id = await storage.RegisterAsync(new RunnerInfo(a, ["default", "workflow"], 2), true, default);
        await storage.AcquireAsync(a, [new("default", 5)], default);

        Assert.Equal(1, id);   // Effect's first machine id
        await using var command = postgres.DataSource.CreateCommand($"SELECT machine_id, address, runner, healthy FROM {prefix}_runners");
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal("10.0.0.1:34431", reader.GetString(1));
        Assert.Equal("""{"address":{"host":"10.0.0.1","port":34431},"groups":["default","workflow"],"weight":2}""", reader.GetString(2));
        await reader.DisposeAsync();
        await using var locks = postgres.DataSource.CreateCommand($"SELECT shard_id, address FROM {prefix}_locks");
        await using var lockRows = await locks.ExecuteReaderAsync();
        Assert.True(await lockRows.ReadAsync());
        Assert.Equal(("default:5", "10.0.0.1:34431"), (lockRows.GetString(0), lockRows.GetString(1)));
    }

    [SkippableFact]
    public async Task AnUnreachableServerIsAPersistenceException()
    {
        Skip.If(SkipReason is not null, SkipReason);
        await using var nowhere = NpgsqlDataSource.Create($"Host=127.0.0.1;Port={FreePort.Next()};Username=postgres;Timeout=2");
        var storage = new PostgresRunnerStorage(nowhere, Lease, PostgresServerFixture.UniquePrefix());

        await Assert.ThrowsAsync<PersistenceException>(() => storage.GetRunnersAsync(default));
        await Assert.ThrowsAsync<PersistenceException>(() => storage.AcquireAsync(new("a", 1), [new("default", 1)], default));
        await Assert.ThrowsAsync<PersistenceException>(() => storage.SubscribeAsync(_ => { }, default));
    }

    [Fact]
    public void RejectsATablePrefixThatIsNotAPlainIdentifier()
    {
        using var dataSource = NpgsqlDataSource.Create("Host=127.0.0.1");
        Assert.Throws<ArgumentException>(() => new PostgresRunnerStorage(dataSource, Lease, "x; DROP TABLE y"));
        Assert.Throws<ArgumentException>(() => new PostgresRunnerStorage(dataSource, Lease, "Cluster"));
    }
}
