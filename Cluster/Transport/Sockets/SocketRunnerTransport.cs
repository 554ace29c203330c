using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Transport.Effect;

using SocketRunnerAspire.Cluster.Timing;

namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>
/// The runner protocol over TCP or Unix domain sockets: length-prefixed MessagePack frames, one
/// multiplexed connection per remote runner (opened lazily, re-opened after a failure with back-off),
/// and a Kestrel-transport server for incoming connections. Connection failures surface as
/// <see cref="RunnerUnavailableException"/>, which senders retry.
/// </summary>
public sealed class SocketRunnerTransport : IRunnerTransport, IAsyncDisposable
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    private readonly RunnerSocketOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly SocketConnectionContextFactory _connectionFactory;
    private readonly ConnectionSecurity _security;
    private readonly ConcurrentDictionary<RunnerAddress, Peer> _peers = new();
    private readonly EffectRunnerClient? _effect;

    /// <summary>Creates the transport.</summary>
    public SocketRunnerTransport(RunnerSocketOptions? options = null, ILoggerFactory? loggerFactory = null)
    {
        _options = options ?? new RunnerSocketOptions();
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<SocketRunnerTransport>();
        _connectionFactory = new SocketConnectionContextFactory(new SocketConnectionFactoryOptions { UnsafePreferInlineScheduling = _options.InlineSocketScheduling }, _logger);
        _security = new ConnectionSecurity(_options);
        _effect = _options.Protocol == RunnerProtocol.Effect ? new EffectRunnerClient(_options, _logger) : null;
    }

    /// <inheritdoc />
    public PayloadFormat PayloadFormat => _effect is null ? PayloadFormat.MessagePack : PayloadFormat.Json;

    /// <inheritdoc />
    public ValueTask<PooledBytes> RequestAsync(RunnerAddress runner, PooledBytes envelope, bool persisted, CancellationToken cancellationToken)
    {
        if (_effect is not null)
        {
            return _effect.RequestAsync(runner, envelope, persisted, cancellationToken);
        }

        var flags = persisted ? FrameFlags.Persisted : FrameFlags.None;
        return PeerOf(runner).OpenConnection is { } connection
            ? connection.CallAsync(FrameKind.Request, flags, envelope, cancellationToken)
            : ConnectThenCallAsync(runner, FrameKind.Request, flags, envelope, cancellationToken);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> StreamAsync(RunnerAddress runner, ReadOnlyMemory<byte> envelope, bool persisted, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (_effect is not null)
        {
            await foreach (var item in _effect.StreamAsync(runner, envelope, persisted, cancellationToken).ConfigureAwait(false))
            {
                yield return item;
            }

            yield break;
        }

        var connection = await ConnectAsync(runner, cancellationToken).ConfigureAwait(false);
        await foreach (var chunk in connection.StreamAsync(persisted ? FrameFlags.Persisted : FrameFlags.None, envelope, cancellationToken).ConfigureAwait(false))
        {
            using (chunk)
            {
                yield return chunk.Payload.ToArray();
            }
        }
    }

    /// <inheritdoc />
    public async Task NotifyAsync(RunnerAddress runner, ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken)
    {
        if (_effect is not null)
        {
            await EffectRunnerClient.NotSupportedAsync().ConfigureAwait(false);
        }

        using var reply = await ConnectThenCallAsync(runner, FrameKind.Notify, FrameFlags.None, PooledBytes.CopyOf(envelope.Span), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task SendEnvelopeAsync(RunnerAddress runner, ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken)
    {
        if (_effect is not null)
        {
            await EffectRunnerClient.NotSupportedAsync().ConfigureAwait(false);
        }

        using var reply = await ConnectThenCallAsync(runner, FrameKind.Envelope, FrameFlags.Persisted, PooledBytes.CopyOf(envelope.Span), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task PingAsync(RunnerAddress runner, CancellationToken cancellationToken)
    {
        if (_effect is not null)
        {
            await _effect.PingAsync(runner, cancellationToken).ConfigureAwait(false);
            return;
        }

        var connection = await ConnectAsync(runner, cancellationToken).ConfigureAwait(false);
        await connection.PingAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IAsyncDisposable> ListenAsync(RunnerAddress address, IRunnerRpcHandler handler, CancellationToken cancellationToken) =>
        await RunnerSocketServer.StartAsync(ToEndPoint(address, listening: true), handler, _options, _security, _loggerFactory, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public void OnRunnerUnavailable(RunnerAddress runner)
    {
        _effect?.Drop(runner);
        if (_peers.TryRemove(runner, out var peer))
        {
            _ = peer.DisposeAsync().AsTask();
        }
    }

    /// <summary>Closes every outgoing connection, so the runners interrupt the volatile requests and streams they serve on them.</summary>
    public ValueTask InterruptSentAsync() => DisposeAsync();

    /// <summary>Closes every outgoing connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_effect is not null)
        {
            await _effect.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var runner in _peers.Keys)
        {
            if (_peers.TryRemove(runner, out var peer))
            {
                await peer.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>The socket endpoint of a runner address: a Unix socket path, or host:port (localhost = loopback).</summary>
    public static EndPoint ToEndPoint(RunnerAddress address, bool listening = false)
    {
        if (address.IsUnixSocket)
        {
            return new UnixDomainSocketEndPoint(address.Host);
        }

        if (string.Equals(address.Host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return new IPEndPoint(IPAddress.Loopback, address.Port);
        }

        if (IPAddress.TryParse(address.Host, out var ip))
        {
            return new IPEndPoint(ip, address.Port);
        }

        if (listening && address.Host is "*" or "+")
        {
            return new IPEndPoint(IPAddress.Any, address.Port);
        }

        return new DnsEndPoint(address.Host, address.Port);
    }

    private Task<RunnerClientConnection> ConnectAsync(RunnerAddress runner, CancellationToken cancellationToken) => PeerOf(runner).GetAsync(cancellationToken);

    private Peer PeerOf(RunnerAddress runner) => _peers.GetOrAdd(runner, static (address, transport) => new Peer(transport, address), this);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<PooledBytes> ConnectThenCallAsync(RunnerAddress runner, FrameKind kind, FrameFlags flags, PooledBytes payload, CancellationToken cancellationToken)
    {
        RunnerClientConnection connection;
        try
        {
            connection = await ConnectAsync(runner, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            payload.Dispose();
            throw;
        }

        return await connection.CallAsync(kind, flags, payload, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The connection to one runner: opened on first use, replaced after it closes, with back-off between failed attempts.</summary>
    private sealed class Peer(SocketRunnerTransport transport, RunnerAddress address) : IAsyncDisposable
    {
        private readonly SemaphoreSlim _gate = new(1, 1);
        private RunnerClientConnection? _connection;
        private volatile bool _disposed;
        // Effect reconnects exponentially from 500 ms, capped at 5 s; this starts at 100 ms so a restarted runner is
        // found again quickly, and jitters so that every node does not reconnect to it in the same instant.
        private readonly Backoff _backoff = new(FirstBackoff, MaxBackoff, factor: 1.5);
        private long _retryAt;

        /// <summary>The open connection, if there is one (the path of every call but the first).</summary>
        public RunnerClientConnection? OpenConnection => Volatile.Read(ref _connection) is { IsClosed: false } open ? open : null;

        public async Task<RunnerClientConnection> GetAsync(CancellationToken cancellationToken)
        {
            if (Volatile.Read(ref _connection) is { IsClosed: false } open)
            {
                return open;
            }

            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (_connection is { IsClosed: false } current)
                {
                    return current;
                }

                if (Environment.TickCount64 < _retryAt)
                {
                    throw new RunnerUnavailableException(address.ToString(), "reconnect back-off");
                }

                try
                {
                    if (_disposed)
                    {
                        throw new RunnerUnavailableException(address.ToString(), "the runner was marked unavailable");
                    }

                    _connection = await RunnerClientConnection.ConnectAsync(address, transport._connectionFactory, transport._security, transport._options,
                        transport._logger, cancellationToken).ConfigureAwait(false);
                    _backoff.Reset();
                    if (_disposed && Interlocked.Exchange(ref _connection, null) is { } orphan)
                    {
                        // Dropped (the runner was marked unavailable) while connecting: nobody would ever close this one.
                        await orphan.DisposeAsync().ConfigureAwait(false);
                        throw new RunnerUnavailableException(address.ToString(), "the runner was marked unavailable while connecting");
                    }

                    return _connection ?? throw new RunnerUnavailableException(address.ToString(), "the runner was marked unavailable while connecting");
                }
                catch (Exception ex) when (ex is RunnerUnavailableException or ClusterAuthenticationException)
                {
                    BackOff();
                    throw;
                }
                catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    BackOff();
                    throw new RunnerUnavailableException(address.ToString(), ex.Message);
                }
            }
            finally
            {
                _gate.Release();
            }
        }

        private void BackOff() => _retryAt = Environment.TickCount64 + (long)_backoff.Next().TotalMilliseconds;

        public async ValueTask DisposeAsync()
        {
            _disposed = true;
            if (Interlocked.Exchange(ref _connection, null) is { } connection)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
