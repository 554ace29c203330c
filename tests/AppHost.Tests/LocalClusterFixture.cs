using Aspire.Hosting;
using Microsoft.Extensions.Logging;

namespace SocketRunnerAspire.AppHost.Tests;

/// <summary>
/// Starts the real AppHost once for the test class, with Garnet storage so that no container
/// runtime is needed, and waits (bounded) until every resource reports healthy.
/// </summary>
public sealed class LocalClusterFixture : IAsyncLifetime
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(180);
    public const int RunnerCount = 3;

    private DistributedApplication? _app;

    public DistributedApplication App => _app ?? throw new InvalidOperationException("The AppHost has not started.");

    public IReadOnlyList<string> ResourceNames { get; private set; } = [];

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(StartTimeout);
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["--Storage:Mode=Garnet", $"--Cluster:Runners={RunnerCount}"], cts.Token);
        appHost.Services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        appHost.Services.ConfigureHttpClientDefaults(http => http.AddStandardResilienceHandler());

        _app = await appHost.BuildAsync(cts.Token);
        ResourceNames = appHost.Resources
            .Where(resource => resource is ProjectResource)
            .Select(resource => resource.Name)
            .ToArray();

        await _app.StartAsync(cts.Token);
        foreach (var name in ResourceNames)
        {
            await WaitUntilHealthyAsync(name, cts.Token);
        }
    }

    private async Task WaitUntilHealthyAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            await App.ResourceNotifications.WaitForResourceHealthyAsync(name, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            var state = App.ResourceNotifications.TryGetCurrentState(name, out var resourceEvent)
                ? $"state {resourceEvent.Snapshot.State?.Text ?? "unknown"}, health {resourceEvent.Snapshot.HealthStatus?.ToString() ?? "unknown"}"
                : "no state reported";
            throw new TimeoutException(
                $"Resource '{name}' did not become healthy within {StartTimeout.TotalSeconds:0} s ({state}).");
        }
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}
