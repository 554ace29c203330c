using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>
/// Serves the runner RPC protocol on a TCP or Unix domain socket, using Kestrel's socket transport
/// (pooled pipes, one accept loop, no thread per connection). A connection that sends a malformed,
/// truncated or oversized frame is closed and logged; other connections are unaffected.
/// </summary>
internal sealed partial class RunnerSocketServer : IAsyncDisposable
{
    private readonly IConnectionListener _listener;
    private readonly IRunnerRpcHandler _handler;
    private readonly RunnerSocketOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, Task> _connections = new();
    private readonly Task _accepting;

    private RunnerSocketServer(IConnectionListener listener, IRunnerRpcHandler handler, RunnerSocketOptions options, ILogger logger)
    {
        _listener = listener;
        _handler = handler;
        _options = options;
        _logger = logger;
        _accepting = AcceptLoopAsync();
    }

    /// <summary>The bound address: <c>host:port</c> for TCP (with the real port when 0 was asked), the path for Unix sockets.</summary>
    public string BoundAddress => Format(_listener.EndPoint);

    /// <summary>The bound endpoint.</summary>
    public EndPoint EndPoint => _listener.EndPoint;

    /// <summary>Connections accepted and not yet closed (tests check that none is left open).</summary>
    internal int OpenConnections => _connections.Count;

    public static async Task<RunnerSocketServer> StartAsync(
        EndPoint endPoint, IRunnerRpcHandler handler, RunnerSocketOptions options, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        if (endPoint is UnixDomainSocketEndPoint && File.Exists(endPoint.ToString()))
        {
            File.Delete(endPoint.ToString()!); // a stale socket file from a previous run would fail the bind
        }

        var factory = new SocketTransportFactory(Options.Create(new SocketTransportOptions { UnsafePreferInlineScheduling = options.InlineSocketScheduling }), loggerFactory);
        var listener = await factory.BindAsync(endPoint, cancellationToken).ConfigureAwait(false);
        var logger = loggerFactory.CreateLogger<RunnerSocketServer>();
        var server = new RunnerSocketServer(listener, handler, options, logger);
        LogListening(logger, server.BoundAddress);
        return server;
    }

    /// <summary>Formats an endpoint the way the runner protocol logs and advertises it.</summary>
    public static string Format(EndPoint endPoint) => endPoint switch
    {
        IPEndPoint ip when ip.AddressFamily == AddressFamily.InterNetworkV6 => $"[{ip.Address}]:{ip.Port}",
        IPEndPoint ip => $"{ip.Address}:{ip.Port}",
        DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
        _ => endPoint.ToString() ?? string.Empty,
    };

    private async Task AcceptLoopAsync()
    {
        await Task.Yield();
        while (!_stopping.IsCancellationRequested)
        {
            ConnectionContext? context;
            try
            {
                context = await _listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (Exception ex) when (ex is SocketException or IOException)
            {
                _logger.LogWarning(ex, "Accepting a runner connection failed");
                continue;
            }

            if (context is null)
            {
                break; // unbound
            }

            _connections[context.ConnectionId] = ServeAsync(context);
        }
    }

    private async Task ServeAsync(ConnectionContext context)
    {
        await Task.Yield();
        var peer = context.RemoteEndPoint is { } remote ? Format(remote) : context.ConnectionId;
        try
        {
            var frames = new FrameConnection(context.Transport, _options.MaxFrameSize, _options.SendQueueCapacity, _logger, peer);
            await new RunnerServerConnection(frames, _handler, _logger).RunAsync(_stopping.Token).ConfigureAwait(false);
        }
        catch (MalformedFrameException ex)
        {
            LogMalformed(_logger, peer, ex.Message);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Runner connection from {Peer} failed", peer);
        }
        finally
        {
            await context.DisposeAsync().ConfigureAwait(false);
            _connections.TryRemove(context.ConnectionId, out _);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _listener.UnbindAsync().ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _accepting.ConfigureAwait(false);
        await Task.WhenAll(_connections.Values).ConfigureAwait(false);
        await _listener.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening on: {Address}")]
    private static partial void LogListening(ILogger logger, string address);

    [LoggerMessage(Level = LogLevel.Error, Message = "Closing runner connection from {Peer}: {Reason}")]
    private static partial void LogMalformed(ILogger logger, string peer, string reason);
}
