using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SocketRunnerAspire.Cluster.Hosting;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Storage.Memory;
using SocketRunnerAspire.Cluster.Transport;
using SocketRunnerAspire.Cluster.Transport.Memory;

namespace SocketRunnerAspire.Cluster.Tests.Hosting;

/// <summary>
/// <c>AddCluster</c> chooses no storage or transport (the host fails to start with a message naming the ways to get
/// them), <c>AddInMemoryCluster</c> chooses the in-memory ones, and a second call adds to the same cluster.
/// </summary>
public sealed class ClusterServiceCollectionExtensionsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task AddClusterWithoutStorageFailsAtStartNamingAddInMemoryClusterAndAddClusterRunner()
    {
        var builder = HostBuilder(runner: true);
        builder.Services.AddCluster(builder.Configuration, Greeters);
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.Contains(nameof(IRunnerStorage), error.Message, StringComparison.Ordinal);
        Assert.Contains("AddInMemoryCluster", error.Message, StringComparison.Ordinal);
        Assert.Contains("AddClusterRunner", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddClusterWithStorageButNoTransportFailsAtStartNamingTheTransport()
    {
        var builder = HostBuilder(runner: false);
        builder.Services.AddSingleton<IRunnerStorage>(new InMemoryRunnerStorage(TimeSpan.FromSeconds(2)));
        builder.Services.AddCluster(builder.Configuration);
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.Contains(nameof(IRunnerTransport), error.Message, StringComparison.Ordinal);
        Assert.Contains("AddInMemoryCluster", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddClusterRunsWithTheRegisteredStorageAndTransportAndNoMessageStorage()
    {
        var builder = HostBuilder(runner: true);
        builder.Services.AddSingleton<IRunnerStorage>(new InMemoryRunnerStorage(TimeSpan.FromSeconds(2)));
        builder.Services.AddSingleton<IRunnerTransport, InMemoryRunnerTransport>();
        builder.Services.AddSingleton(new GreetingFormat("Hello, {0} ({1})"));
        builder.Services.AddCluster(builder.Configuration, Greeters);
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            Assert.Null(host.Services.GetService<IMessageStorage>());
            var reply = await host.Services.GetRequiredService<IEntityClient>().GetEntity<Greeter>("g-1").AskAsync(new Greet("Ada"))
                .WaitAsync(Timeout);

            Assert.Equal("Hello, Ada (g-1)", reply);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task AddInMemoryClusterHostsEntitiesCreatedWithInjectedServices()
    {
        var builder = HostBuilder(runner: true);
        builder.Services.AddSingleton(new GreetingFormat("Hi {0}, from {1}"));
        builder.Services.AddInMemoryCluster(builder.Configuration, Greeters);
        using var host = builder.Build();

        Assert.IsType<InMemoryRunnerStorage>(host.Services.GetRequiredService<IRunnerStorage>());
        Assert.IsType<InMemoryMessageStorage>(host.Services.GetRequiredService<IMessageStorage>());
        Assert.IsType<InMemoryRunnerTransport>(host.Services.GetRequiredService<IRunnerTransport>());
        await host.StartAsync();
        try
        {
            var entities = host.Services.GetRequiredService<IEntityClient>();
            Assert.NotNull(host.Services.GetRequiredService<Sharding>());

            Assert.Equal("Hi Ada, from ada-7", await entities.GetEntity<Greeter>("ada-7").AskAsync(new Greet("Ada")).WaitAsync(Timeout));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task ASecondAddClusterAddsToTheSameClusterWithoutASecondShardingOrHostedService()
    {
        var builder = HostBuilder(runner: true);
        builder.Services.AddSingleton(new GreetingFormat("Hello, {0}"));
        builder.Services.AddInMemoryCluster(builder.Configuration, Greeters);
        builder.Services.AddCluster(builder.Configuration, cluster => cluster
            .AddEntity<Echo>(Echo.Configure)
            .AddSingletonJob("second-call-job", (_, _) => Task.CompletedTask));

        Assert.Single(builder.Services, d => d.ServiceType == typeof(Sharding));
        Assert.Single(builder.Services, d => d.ServiceType == typeof(IEntityClient));
        Assert.Single(builder.Services, d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(ShardingHostedService));
        // A name registered by the first call is still a duplicate in the second.
        var duplicate = Assert.Throws<InvalidOperationException>(() => builder.Services.AddCluster(builder.Configuration, Greeters));
        Assert.Contains("'Greeter' is registered twice", duplicate.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => builder.Services.AddCluster(builder.Configuration,
            cluster => cluster.AddSingletonJob("second-call-job", (_, _) => Task.CompletedTask)));

        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var entities = host.Services.GetRequiredService<IEntityClient>();
            Assert.Equal("Hello, Ada", await entities.GetEntity<Greeter>("g").AskAsync(new Greet("Ada")).WaitAsync(Timeout));
            Assert.Equal("HEY", await entities.GetEntity<Echo>("e").AskAsync(new Shout("hey")).WaitAsync(Timeout));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task DisposingAHostThatResolvedBothIEntityClientAndShardingDisposesShardingOnce()
    {
        var builder = HostBuilder(runner: true);
        builder.Services.AddSingleton(new GreetingFormat("Hello, {0}"));
        builder.Services.AddInMemoryCluster(builder.Configuration, Greeters);
        var host = builder.Build();
        await host.StartAsync();
        Assert.Equal("Hello, Ada", await host.Services.GetRequiredService<IEntityClient>().GetEntity<Greeter>("g").AskAsync(new Greet("Ada")).WaitAsync(Timeout));
        Assert.NotNull(host.Services.GetRequiredService<Sharding>());
        await host.StopAsync();

        // The in-memory MessageStorage gives Sharding a reply poller, whose second disposal would throw.
        await ((IAsyncDisposable)host).DisposeAsync();
    }

    private static void Greeters(ClusterBuilder cluster) => cluster.AddEntity<Greeter, GreeterEntity>(GreeterEntity.Configure);

    [Fact]
    public void ConfiguredShardGroupsReplaceTheDefaultsWithoutDuplicates()
    {
        var builder = HostBuilder(runner: true);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Cluster:AvailableShardGroups:0"] = "default",
            ["Cluster:AvailableShardGroups:1"] = "workflow",
            ["Cluster:AssignedShardGroups:0"] = "workflow",
        });
        builder.Services.AddInMemoryCluster(builder.Configuration);
        using var host = builder.Build();

        var options = host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<SocketRunnerAspire.Cluster.Configuration.ShardingOptions>>().Value;

        Assert.Equal(["default", "workflow"], options.AvailableShardGroups);
        Assert.Equal(["default", "workflow"], options.AssignedShardGroups);   // binding appends to the default group
    }

    private static HostApplicationBuilder HostBuilder(bool runner)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(HostingSettings.Fast(runner ? new Addressing.RunnerAddress("runner", 1) : null));
        return builder;
    }
}
