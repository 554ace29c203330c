using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Hosting;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Storage.Postgres;

namespace SocketRunnerAspire.Cluster.Tests.Hosting;

/// <summary>
/// <c>AddClusterRunner</c>/<c>AddClusterClient</c> with <c>Cluster:Storage=Postgres</c>: PostgreSQL storage on the named
/// Npgsql connection string; a runner and a client host talk through a throw-away PostgreSQL server.
/// </summary>
public sealed class PostgresHostingTests(PostgresServerFixture postgres) : IClassFixture<PostgresServerFixture>
{
    private const string ConnectionName = "cluster-store";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [SkippableFact]
    public async Task ARunnerAndAClientJoinThroughPostgresAndBecomeReady()
    {
        Skip.If(PostgresServerFixture.SkipReason is not null, PostgresServerFixture.SkipReason);
        var prefix = PostgresServerFixture.UniquePrefix();
        var runnerBuilder = HostBuilder(FreePort.Loopback(), prefix);
        runnerBuilder.Services.AddSingleton(new GreetingFormat("Hello, {0}"));
        runnerBuilder.AddClusterRunner(ConnectionName, cluster => cluster.AddEntity<Greeter, GreeterEntity>(GreeterEntity.Configure));
        var clientBuilder = HostBuilder(FreePort.Loopback(), prefix);
        clientBuilder.AddClusterClient(ConnectionName);

        using var runner = runnerBuilder.Build();
        using var client = clientBuilder.Build();
        Assert.IsType<PostgresRunnerStorage>(runner.Services.GetRequiredService<IRunnerStorage>());
        Assert.IsType<PostgresMessageStorage>(runner.Services.GetRequiredService<IMessageStorage>());
        Assert.IsType<PostgresRunnerStorage>(client.Services.GetRequiredService<IRunnerStorage>());
        await runner.StartAsync();
        await client.StartAsync();
        try
        {
            await ReadyAsync(runner, RunnerReadinessCheck.Name);
            await ReadyAsync(client, ClientReadinessCheck.Name);

            var reply = await client.Services.GetRequiredService<IEntityClient>().GetEntity<Greeter>("g").AskAsync(new Greet("Ada")).WaitAsync(Timeout);

            Assert.Equal("Hello, Ada", reply);
            await using var rows = postgres.DataSource.CreateCommand($"SELECT COUNT(*) FROM {prefix}_runners");
            Assert.Equal(1L, await rows.ExecuteScalarAsync());   // the runner, in the configured tables
        }
        finally
        {
            await client.StopAsync();
            await runner.StopAsync();
        }
    }

    [Fact]
    public void PostgresWithoutAConnectionStringOrWithAnUnknownStorageIsAClearError()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(HostingSettings.Fast(FreePort.Loopback()));
        builder.Configuration[ClusterConfigurationKeys.Storage] = "Postgres";

        var missing = Assert.Throws<InvalidOperationException>(() => builder.AddClusterRunner(ConnectionName, _ => { }));
        Assert.Contains($"ConnectionStrings:{ConnectionName}", missing.Message, StringComparison.Ordinal);

        var other = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        other.Configuration.AddInMemoryCollection(HostingSettings.Fast(null));
        other.Configuration[ClusterConfigurationKeys.Storage] = "Cassandra";
        var unknown = Assert.Throws<InvalidOperationException>(() => other.AddClusterClient(ConnectionName));
        Assert.Contains("Redis (the default) or Postgres", unknown.Message, StringComparison.Ordinal);
    }

    private HostApplicationBuilder HostBuilder(RunnerAddress runner, string prefix)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(HostingSettings.Fast(runner, $"hosting-{prefix}"));
        builder.Configuration[ClusterConfigurationKeys.Storage] = ClusterConfigurationKeys.PostgresStorage;
        builder.Configuration[ClusterConfigurationKeys.PostgresTablePrefix] = prefix;
        builder.Configuration[$"ConnectionStrings:{ConnectionName}"] = postgres.ConnectionString;
        return builder;
    }

    private static async Task ReadyAsync(IHost host, string check)
    {
        var health = host.Services.GetRequiredService<HealthCheckService>();
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var report = await health.CheckHealthAsync(r => r.Tags.Contains("ready"));
            if (report.Status == HealthStatus.Healthy)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"{check} did not become healthy: {string.Join("; ", report.Entries.Select(e => $"{e.Key}: {e.Value.Description}"))}");
            }

            await Task.Delay(100);
        }
    }
}
