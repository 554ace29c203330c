using Garnet;
using Microsoft.Extensions.Options;

namespace SocketRunnerAspire.GarnetHost;

/// <summary>Runs an in-process Garnet server with Lua scripting enabled for the lifetime of the host.</summary>
public sealed class GarnetService(IOptions<GarnetHostOptions> options, ILoggerFactory loggerFactory, ILogger<GarnetService> logger)
    : IHostedService, IDisposable
{
    private GarnetServer? _server;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        List<string> args =
        [
            "--bind", o.Host,
            "--port", o.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--lua",
            "--memory", o.Memory,
            "--index", o.Index,
        ];
        if (!string.IsNullOrEmpty(o.Password))
        {
            args.AddRange(["--auth", "Password", "--password", o.Password]);
        }

        _server = new GarnetServer([.. args], loggerFactory);
        _server.Start();
        logger.LogInformation("Garnet listening on {Host}:{Port} (Lua enabled)", o.Host, o.Port);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _server?.Dispose();
        _server = null;
    }
}
