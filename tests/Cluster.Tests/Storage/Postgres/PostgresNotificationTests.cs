using System.Collections.Concurrent;
using Npgsql;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Storage.Postgres;

namespace SocketRunnerAspire.Cluster.Tests.Storage.Postgres;

/// <summary>LISTEN/NOTIFY change notifications of the PostgreSQL RunnerStorage between nodes, and across a server restart.</summary>
public sealed class PostgresNotificationTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(5);

    [SkippableFact]
    public async Task ANodeHearsTheChangesOfAnotherAndListensAgainAfterTheServerRestarts()
    {
        Skip.If(PostgresServer.SkipReason is not null, PostgresServer.SkipReason);
        await using var server = new PostgresServer();
        await server.StartAsync();
        var prefix = PostgresServerFixture.UniquePrefix();
        await using var listenerSource = NpgsqlDataSource.Create(server.ConnectionString());
        await using var otherSource = NpgsqlDataSource.Create(server.ConnectionString());
        var listening = new PostgresRunnerStorage(listenerSource, Lease, prefix);
        var other = new PostgresRunnerStorage(otherSource, Lease, prefix);
        var heard = new ConcurrentQueue<RunnerStorageChange>();
        await using var subscription = await listening.SubscribeAsync(heard.Enqueue, default);
        var runner = new RunnerInfo(new RunnerAddress("10.1.1.1", 4000), ["default"], 1);

        await other.RegisterAsync(runner, true, default);
        await Eventually.True(() => heard.Contains(RunnerStorageChange.Runners), TimeSpan.FromSeconds(5), "the other node's registration");
        await other.AcquireAsync(runner.Address, [new ShardId("default", 1)], default);
        await other.ReleaseAllAsync(runner.Address, default);
        await Eventually.True(() => heard.Contains(RunnerStorageChange.ShardsReleased), TimeSpan.FromSeconds(5), "the other node's release");

        await server.StopAsync();
        await server.StartAsync();
        heard.Clear();

        // The listener reconnects on its own (best effort, every second); changes made after that are heard again. A
        // pooled connection of the other node that the restart broke fails its first use, typed.
        await Eventually.True(async () =>
        {
            try
            {
                await other.SetRunnerHealthAsync(runner.Address, false, default);
            }
            catch (SocketRunnerAspire.Cluster.Errors.PersistenceException)
            {
                return false;
            }

            await Task.Delay(200);
            return heard.Contains(RunnerStorageChange.Runners);
        }, TimeSpan.FromSeconds(20), "a change after the restart");
    }
}
