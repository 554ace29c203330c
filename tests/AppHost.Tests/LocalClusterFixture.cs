using Aspire.Hosting;
using Microsoft.Extensions.Logging;
using SocketRunnerAspire.AppHost.Tests.Otlp;

namespace SocketRunnerAspire.AppHost.Tests;

/// <summary>
/// Starts the real AppHost once for the test collection, with Garnet storage so that no container
/// runtime is needed, and waits (bounded) until every resource reports healthy. Every project exports
/// its traces, metrics and logs to <see cref="Telemetry"/> instead of the dashboard (which tests do not run).
/// </summary>
public sealed class LocalClusterFixture : IAsyncLifetime
{
    public const string Collection = "local cluster";

    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(180);
    public const int RunnerCount = 3;

    private DistributedApplication? _app;

    public DistributedApplication App => _app ?? throw new InvalidOperationException("The AppHost has not started.");

    public IReadOnlyList<string> ResourceNames { get; private set; } = [];

    public OtlpCollector Telemetry { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(StartTimeout);
        Telemetry = await OtlpCollector.StartAsync();
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["--Storage:Mode=Garnet", $"--Cluster:Runners={RunnerCount}"], cts.Token);
        appHost.Services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        appHost.Services.ConfigureHttpClientDefaults(http => http.AddStandardResilienceHandler());

        foreach (var project in appHost.Resources.OfType<ProjectResource>())
        {
            // Added after Aspire's own OTLP settings, so these win; short export intervals keep the tests quick.
            project.Annotations.Add(new EnvironmentCallbackAnnotation(environment =>
            {
                environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = Telemetry.Endpoint.ToString().TrimEnd('/');
                environment["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
                environment["OTEL_BSP_SCHEDULE_DELAY"] = "500";
                environment["OTEL_BLRP_SCHEDULE_DELAY"] = "500";
                environment["OTEL_METRIC_EXPORT_INTERVAL"] = "1000";
            }));
        }

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

        if (Telemetry is not null)
        {
            await Telemetry.DisposeAsync();
        }
    }
}

[CollectionDefinition(LocalClusterFixture.Collection)]
public sealed class LocalClusterCollection : ICollectionFixture<LocalClusterFixture>;
