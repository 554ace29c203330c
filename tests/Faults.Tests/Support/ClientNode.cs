using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster;
using SocketRunnerAspire.Cluster.Hosting;
using SocketRunnerAspire.Cluster.Workflows;

namespace SocketRunnerAspire.Faults.Tests.Support;

/// <summary>
/// A client-only cluster node in the test process, built as ClientApp builds one (<c>AddClusterClient("storage")</c>: Redis
/// storage from the <c>storage</c> connection, the socket transport): it sends to the runner processes, hosts nothing.
/// </summary>
public sealed class ClientNode : IAsyncDisposable
{
    private readonly IHost _host;

    private ClientNode(IHost host, BoundedLog log)
    {
        _host = host;
        Log = log;
    }

    public Sharding Sharding => _host.Services.GetRequiredService<Sharding>();

    public BoundedLog Log { get; }

    public IWorkflowClient Workflows => _host.Services.GetRequiredService<IWorkflowClient>();

    /// <summary>Starts the node; <paramref name="settings"/> adds configuration (<c>Section:Key</c>) to the shared timings.</summary>
    public static async Task<ClientNode> StartAsync(string storageConnectionString, string clusterName, IReadOnlyDictionary<string, string>? settings = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(ClusterTimings.Settings(clusterName)!);
        builder.Configuration.AddInMemoryCollection(settings!);
        builder.Configuration["ConnectionStrings:storage"] = storageConnectionString;
        var log = new BoundedLog(2000);
        builder.Logging.SetMinimumLevel(LogLevel.Information).AddProvider(new BoundedLogProvider(log));
        builder.AddClusterClient("storage");
        var host = builder.Build();
        await host.StartAsync();
        return new ClientNode(host, log);
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await _host.StopAsync(stop.Token);
        }
        catch (OperationCanceledException)
        {
        }

        _host.Dispose();
    }

    private sealed class BoundedLogProvider(BoundedLog log) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(log, categoryName[(categoryName.LastIndexOf('.') + 1)..]);

        public void Dispose()
        {
        }

        private sealed class Logger(BoundedLog log, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                log.Add("client", $"{logLevel} {category}: {formatter(state, exception)}{(exception is null ? "" : " " + exception.GetType().Name + ": " + exception.Message)}");
        }
    }
}
