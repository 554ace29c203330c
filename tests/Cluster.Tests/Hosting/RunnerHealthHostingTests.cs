using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Hosting;
using SocketRunnerAspire.Cluster.Runners;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Tests.Support;

namespace SocketRunnerAspire.Cluster.Tests.Hosting;

/// <summary>
/// A host's runner health: ping by default, <c>Cluster:RunnerHealth</c> = <c>Noop</c> for always alive, and an
/// <see cref="IRunnerHealth"/> registered in the container instead of either. Each host runs one runner plus a
/// registered but unhealthy "ghost" that never listens: the check marks it healthy exactly when its health says alive.
/// </summary>
public sealed class RunnerHealthHostingTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private static readonly RunnerAddress Ghost = new("ghost", 9);

    [Fact]
    public void PingIsTheDefault() => Assert.Equal(RunnerHealthKind.Ping, new ShardingOptions().RunnerHealth);

    [Fact]
    public async Task ARunnerHealthRegisteredInTheContainerIsTheOneAsked()
    {
        var health = new ScriptedRunnerHealth();
        using var host = await StartWithGhostAsync(services => services.AddSingleton<IRunnerHealth>(health), settings => settings["Cluster:RunnerHealth"] = "Ping");
        try
        {
            await Eventually.True(() => health.Asked.Contains(Ghost), Timeout, "the registered health is asked about the ghost");
            await Eventually.True(() => GhostIsHealthy(host), Timeout, "the ghost it calls alive is marked healthy");
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task NoopFromConfigurationCallsEveryRunnerAlive()
    {
        using var host = await StartWithGhostAsync(_ => { }, settings => settings["Cluster:RunnerHealth"] = "Noop");
        try
        {
            // Ping would find nobody listening at the ghost's address and leave it unhealthy.
            await Eventually.True(() => GhostIsHealthy(host), Timeout, "the ghost is marked healthy");
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private static bool GhostIsHealthy(IHost host) =>
        host.Services.GetRequiredService<Sharding>().Runners.Any(r => r.Runner.Address == Ghost && r.Healthy);

    private static async Task<IHost> StartWithGhostAsync(Action<IServiceCollection> services, Action<Dictionary<string, string?>> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var configuration = HostingSettings.Fast(new RunnerAddress($"health-{Guid.NewGuid():N}", 1));
        configuration["Cluster:RunnerHealthCheckInterval"] = "00:00:00.050";
        settings(configuration);
        builder.Configuration.AddInMemoryCollection(configuration);
        services(builder.Services);
        builder.Services.AddInMemoryCluster(builder.Configuration);
        var host = builder.Build();
        await host.Services.GetRequiredService<IRunnerStorage>().RegisterAsync(new RunnerInfo(Ghost, [ShardId.DefaultGroup], 1), healthy: false, CancellationToken.None);
        await host.StartAsync();
        return host;
    }
}
