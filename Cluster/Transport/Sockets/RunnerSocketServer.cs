using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Transport.Effect;

namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>
/// Serves the runner RPC protocol on a TCP or Unix domain socket, using Kestrel's socket transport
/// (pooled pipes, one accept loop, no thread per connection). A connection that sends a malformed,
/// truncated or oversized frame is closed and logged; other connections are unaffected. A connection
/// first passes TLS and the cluster-secret handshake when configured, and is closed when it sends
/// nothing for <see cref="RunnerSocketOptions.IdleConnectionTimeout"/> (a peer gone without a FIN). The same port serves
/// Effect's socket runner protocol with ndjson serialization (<see cref="RunnerSocketOptions.AcceptEffectProtocol"/>): the
/// first byte of a connection tells the protocols apart, once per connection.
/// </summary>
internal sealed partial class RunnerSocketServer : IAsyncDisposable
{
    private readonly IConnectionListener _listener;
    private readonly IRunnerRpcHandler _handler;
    private readonly RunnerSocketOptions _options;
    private readonly ConnectionSecurity _security;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, ServedConnection> _connections = new();
    private readonly EffectVolatileRequests _effectRequests = new();
    private readonly Task _accepting;
    private readonly Task _monitoring;

    private RunnerSocketServer(IConnectionListener listener, IRunnerRpcHandler handler, RunnerSocketOptions options, ConnectionSecurity security, ILogger logger)
    {
        _listener = listener;
        _handler = handler;
        _options = options;
        _security = security;
        _logger = logger;
        _accepting = AcceptLoopAsync();
        _monitoring = CloseIdleConnectionsAsync();
    }

    /// <summary>Connections accepted and not yet closed (in the handshake or serving).</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary>The peers of the open connections (tests tell their own connections from others).</summary>
    internal IReadOnlyList<System.Net.EndPoint?> OpenConnectionPeers => [.. _connections.Values.Select(c => c.Remote)];

    /// <summary>Requests and pings awaiting their reply, over all connections.</summary>
    public int PendingRequests => _connections.Values.Sum(c => c.Served?.Pending ?? c.EffectServed?.Pending ?? 0);

    /// <summary>The bound address: <c>host:port</c> for TCP (with the real port when 0 was asked), the path for Unix sockets.</summary>
    public string BoundAddress => Format(_listener.EndPoint);

    /// <summary>The bound endpoint.</summary>
    public EndPoint EndPoint => _listener.EndPoint;

    public static async Task<RunnerSocketServer> StartAsync(
        EndPoint endPoint, IRunnerRpcHandler handler, RunnerSocketOptions options, ConnectionSecurity security, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        security.EnsureCanServe();
        if (endPoint is UnixDomainSocketEndPoint && File.Exists(endPoint.ToString()))
        {
            File.Delete(endPoint.ToString()!); // a stale socket file from a previous run would fail the bind
        }

        var factory = new SocketTransportFactory(Options.Create(new SocketTransportOptions { UnsafePreferInlineScheduling = options.InlineSocketScheduling }), loggerFactory);
        var listener = await factory.BindAsync(endPoint, cancellationToken).ConfigureAwait(false);
        var logger = loggerFactory.CreateLogger<RunnerSocketServer>();
        var server = new RunnerSocketServer(listener, handler, options, security, logger);
        LogListening(logger, server.BoundAddress, security.UsesTls ? " (TLS)" : string.Empty);
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

            var connection = new ServedConnection(CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token)) { Remote = context.RemoteEndPoint };
            _connections[context.ConnectionId] = connection;
            connection.Serving = ServeAsync(context, connection);
        }
    }

    private async Task ServeAsync(ConnectionContext context, ServedConnection connection)
    {
        await Task.Yield();
        var peer = context.RemoteEndPoint is { } remote ? Format(remote) : context.ConnectionId;
        var closing = connection.Closing.Token;
        try
        {
            if (await SniffAsync(context.Transport, peer, closing).ConfigureAwait(false) is not { } protocol)
            {
                return;
            }

            if (protocol == ConnectionProtocol.EffectNdjson)
            {
                connection.EffectServed = new EffectServerConnection(context.Transport, (IEffectRpcHandler)_handler, _effectRequests,
                    _options.MaxFrameSize, _options.SendQueueCapacity, _options.MaxPendingRequestsPerConnection, _logger, peer);
                LogEffectConnection(_logger, peer);
                await connection.EffectServed.RunAsync(closing).ConfigureAwait(false);
                return;
            }

            IDuplexPipe pipe;
            try
            {
                pipe = await _security.AcceptAsync(context.Transport, peer, closing).ConfigureAwait(false);
            }
            catch (Exception ex) when (!_stopping.IsCancellationRequested
                                       && ex is ClusterAuthenticationException or AuthenticationException or IOException or MalformedFrameException or OperationCanceledException)
            {
                LogRejected(_logger, peer, ex is OperationCanceledException ? $"no handshake within {_options.HandshakeTimeout.TotalSeconds:0.#} s" : ex.Message);
                return;
            }

            var frames = new FrameConnection(pipe, _options.MaxFrameSize, _options.SendQueueCapacity, _logger, peer);
            connection.Served = new RunnerServerConnection(frames, _handler, _options.MaxPendingRequestsPerConnection, _logger);
            await connection.Served.RunAsync(closing).ConfigureAwait(false);
        }
        catch (MalformedFrameException ex)
        {
            LogMalformed(_logger, peer, ex.Message);
        }
        catch (OperationCanceledException) when (closing.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Runner connection from {Peer} failed", peer);
        }
        finally
        {
            await context.DisposeAsync().ConfigureAwait(false);
            _connections.TryRemove(context.ConnectionId, out _);
            connection.Closing.Dispose();
        }
    }

    /// <summary>
    /// The protocol of a new connection, or null when it is closed: before anything was sent, or refused (logged) because
    /// it speaks no protocol served here. Waits at most the idle timeout for the first byte.
    /// </summary>
    private async ValueTask<ConnectionProtocol?> SniffAsync(IDuplexPipe transport, string peer, CancellationToken closing)
    {
        // A connection that must pass TLS or the secret gets the handshake's time for its first byte, others the idle time.
        var wait = _security.IsRequired ? _options.HandshakeTimeout : _options.IdleConnectionTimeout;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(closing);
        if (wait > TimeSpan.Zero)
        {
            timeout.CancelAfter(wait);
        }

        ConnectionProtocol protocol;
        byte first;
        try
        {
            (protocol, first) = await ConnectionProtocolSniffer.SniffAsync(transport.Input, _options.MaxFrameSize, timeout.Token).ConfigureAwait(false);
        }
        catch (IOException)
        {
            return null; // reset before it sent anything
        }
        catch (OperationCanceledException) when (!closing.IsCancellationRequested)
        {
            if (_security.IsRequired)
            {
                LogRejected(_logger, peer, $"no handshake within {wait.TotalSeconds:0.#} s");
            }
            else
            {
                LogIdle(_logger, peer, wait.TotalSeconds);
            }

            return null;
        }

        string? refused = protocol switch
        {
            ConnectionProtocol.Closed => null,
            ConnectionProtocol.Unknown => $"unknown protocol (first byte 0x{first:x2}); this port serves the native runner protocol{(_handler is IEffectRpcHandler && _options.AcceptEffectProtocol ? " and Effect's with ndjson serialization (Effect's msgpack serialization is not served)" : string.Empty)}",
            ConnectionProtocol.EffectNdjson when !_options.AcceptEffectProtocol || _handler is not IEffectRpcHandler =>
                "Effect protocol (ndjson) connections are not accepted here (Cluster:Socket:AcceptEffectProtocol is false)",
            ConnectionProtocol.EffectNdjson when _security.IsRequired =>
                "Effect protocol (ndjson) connection refused: this runner requires TLS or the cluster secret, which Effect's socket protocol does not have",
            _ => string.Empty,
        };
        if (refused is null)
        {
            return null;
        }

        if (refused.Length > 0)
        {
            // Bytes of no protocol are malformed input (an error); a protocol this runner will not serve is a refusal.
            if (protocol == ConnectionProtocol.Unknown)
            {
                LogMalformed(_logger, peer, refused);
            }
            else
            {
                LogRejected(_logger, peer, refused);
            }

            return null;
        }

        return protocol;
    }

    private async Task CloseIdleConnectionsAsync()
    {
        var timeout = _options.IdleConnectionTimeout;
        if (timeout <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromTicks(Math.Max(timeout.Ticks / 4, TimeSpan.TicksPerMillisecond * 10)));
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                var now = Environment.TickCount64;
                foreach (var (_, connection) in _connections)
                {
                    if (connection.Served is { } served && now - served.Frames.LastReceived > timeout.TotalMilliseconds && !connection.Closing.IsCancellationRequested)
                    {
                        LogIdle(_logger, served.Frames.Peer, timeout.TotalSeconds);
                        connection.Close();
                    }
                    else if (connection.EffectServed is { } effect && now - effect.LastReceived > timeout.TotalMilliseconds && !connection.Closing.IsCancellationRequested)
                    {
                        LogIdle(_logger, effect.Peer, timeout.TotalSeconds);
                        connection.Close();
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _listener.UnbindAsync().ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _accepting.ConfigureAwait(false);
        await _monitoring.ConfigureAwait(false);
        await Task.WhenAll(_connections.Values.Select(c => c.Serving)).ConfigureAwait(false);
        await _listener.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening on: {Address}{Security}")]
    private static partial void LogListening(ILogger logger, string address, string security);

    [LoggerMessage(Level = LogLevel.Error, Message = "Closing runner connection from {Peer}: {Reason}")]
    private static partial void LogMalformed(ILogger logger, string peer, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rejected runner connection from {Peer}: {Reason}")]
    private static partial void LogRejected(ILogger logger, string peer, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Runner connection from {Peer} speaks Effect's protocol (ndjson)")]
    private static partial void LogEffectConnection(ILogger logger, string peer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Closing runner connection from {Peer}: nothing received for {Seconds} s")]
    private static partial void LogIdle(ILogger logger, string peer, double seconds);

    /// <summary>One accepted connection: its close switch and, once past the handshake, what serves it.</summary>
    private sealed class ServedConnection(CancellationTokenSource closing)
    {
        public CancellationTokenSource Closing { get; } = closing;

        public Task Serving { get; set; } = Task.CompletedTask;

        public System.Net.EndPoint? Remote { get; init; }

        public RunnerServerConnection? Served { get; set; }

        public EffectServerConnection? EffectServed { get; set; }

        public void Close()
        {
            try
            {
                Closing.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // it closed on its own meanwhile
            }
        }
    }
}
