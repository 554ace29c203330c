using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Hosting;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Storage.Redis;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Transport;
using SocketRunnerAspire.Cluster.Transport.Sockets;
using StackExchange.Redis;

namespace SocketRunnerAspire.Cluster.Tests.Hosting;

/// <summary>
/// <c>AddClusterRunner(connectionName, ...)</c> and <c>AddClusterClient(connectionName)</c>: Redis storage on the named
/// Aspire connection, the socket transport, readiness checks; a runner and a client host talk through Garnet.
/// </summary>
public sealed class ClusterHostingExtensionsTests(GarnetFixture garnet) : IClassFixture<GarnetFixture>
{
    private const string ConnectionName = "cluster-store";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ARunnerAndAClientJoinThroughTheNamedConnectionAndBecomeReady()
    {
        var clusterName = $"hosting-{Guid.NewGuid():N}";
        var runnerBuilder = HostBuilder(FreePort.Loopback(), clusterName);
        runnerBuilder.Services.AddSingleton(new GreetingFormat("Hello, {0}"));
        runnerBuilder.AddClusterRunner(ConnectionName, cluster => cluster.AddEntity<Greeter, GreeterEntity>(GreeterEntity.Configure));
        // A client-only node hosts nothing even when its configuration names a runner address.
        var clientBuilder = HostBuilder(FreePort.Loopback(), clusterName);
        clientBuilder.AddClusterClient(ConnectionName);

        using var runner = runnerBuilder.Build();
        using var client = clientBuilder.Build();
        Assert.IsType<RedisRunnerStorage>(runner.Services.GetRequiredService<IRunnerStorage>());
        Assert.IsType<RedisMessageStorage>(runner.Services.GetRequiredService<IMessageStorage>());
        Assert.IsType<SocketRunnerTransport>(runner.Services.GetRequiredService<IRunnerTransport>());
        Assert.True(client.Services.GetRequiredService<IOptions<ShardingOptions>>().Value.IsClientOnly);
        await runner.StartAsync();
        await client.StartAsync();
        try
        {
            await ReadyAsync(runner, RunnerReadinessCheck.Name);
            await ReadyAsync(client, ClientReadinessCheck.Name);

            var reply = await client.Services.GetRequiredService<IEntityClient>().GetEntity<Greeter>("g").AskAsync(new Greet("Ada")).WaitAsync(Timeout);

            Assert.Equal("Hello, Ada", reply);
        }
        finally
        {
            await client.StopAsync();
            await runner.StopAsync();
        }
    }

    [Fact]
    public void ARunnerWithoutARunnerAddressIsAClearError()
    {
        var builder = HostBuilder(runner: null, $"hosting-{Guid.NewGuid():N}");

        var error = Assert.Throws<InvalidOperationException>(() => builder.AddClusterRunner(ConnectionName, _ => { }));

        Assert.Contains(ClusterConfigurationKeys.RunnerAddress, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddingTheClusterTwiceKeepsOneConnectionAndOneReadinessCheck()
    {
        var builder = HostBuilder(FreePort.Loopback(), $"hosting-{Guid.NewGuid():N}");
        builder.AddClusterRunner(ConnectionName, cluster => cluster.AddEntity<Greeter, GreeterEntity>(GreeterEntity.Configure));
        builder.AddClusterRunner(ConnectionName, cluster => cluster.AddEntity<Echo>(Echo.Configure));

        Assert.Single(builder.Services, d => d.ServiceType == typeof(IConnectionMultiplexer));
        Assert.Single(builder.Services, d => d.ServiceType == typeof(Sharding));
        using var host = builder.Build();
        var checks = host.Services.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations;
        Assert.Single(checks, c => c.Name == RunnerReadinessCheck.Name);
        var error = Assert.Throws<InvalidOperationException>(() => builder.AddClusterClient("other-store"));
        Assert.Contains($"'{ConnectionName}'", error.Message, StringComparison.Ordinal);
    }

    private HostApplicationBuilder HostBuilder(RunnerAddress? runner, string clusterName)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(HostingSettings.Fast(runner, clusterName));
        builder.Configuration[$"ConnectionStrings:{ConnectionName}"] = garnet.ConnectionString;
        return builder;
    }

    private static async Task ReadyAsync(IHost host, string check)
    {
        var health = host.Services.GetRequiredService<HealthCheckService>();
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var report = await health.CheckHealthAsync(r => r.Tags.Contains("ready"));
            Assert.Contains(check, report.Entries.Keys);
            if (report.Status == HealthStatus.Healthy)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"{check} did not become healthy: {string.Join("; ", report.Entries.Select(e => $"{e.Key}: {e.Value.Description}"))}");
            }

            await Task.Delay(50);
        }
    }
}
