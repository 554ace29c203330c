using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Ids;
using SocketRunnerAspire.Cluster.Transport.Sockets;

namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>
/// The outgoing side of the socket transport when <see cref="RunnerSocketOptions.Protocol"/> is
/// <see cref="RunnerProtocol.Effect"/>: one Effect protocol connection per runner (opened on first use, replaced once
/// closed), native envelopes (whose payload the router wrote as JSON) sent as Effect PartialRequests with snowflake
/// request ids. Volatile requests, streams and pings only: persisted messages need Effect's storage format.
/// </summary>
internal sealed class EffectRunnerClient(RunnerSocketOptions options, ILogger logger) : IAsyncDisposable
{
    private const string PersistedNotSupported =
        "Persisted messages over the Effect protocol are not supported by this node yet (its stored message format is not Effect's).";

    private readonly ConcurrentDictionary<RunnerAddress, EffectClientConnection> _connections = new();
    private readonly SemaphoreSlim _connecting = new(1, 1);
    private readonly SnowflakeGenerator _ids = new(Random.Shared.Next(1024));

    public async ValueTask<PooledBytes> RequestAsync(RunnerAddress runner, PooledBytes envelope, bool persisted, CancellationToken cancellationToken)
    {
        using (envelope)
        {
            if (persisted)
            {
                throw new PersistenceException(PersistedNotSupported);
            }

            var decoded = EnvelopeCodec.Decode(envelope.Memory);
            var connection = await ConnectAsync(runner, cancellationToken).ConfigureAwait(false);
            return await connection.RequestAsync(_ids.Next(), decoded, cancellationToken).ConfigureAwait(false);
        }
    }

    public async IAsyncEnumerable<ReadOnlyMemory<byte>> StreamAsync(RunnerAddress runner, ReadOnlyMemory<byte> envelope, bool persisted, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (persisted)
        {
            throw new PersistenceException(PersistedNotSupported);
        }

        var decoded = EnvelopeCodec.Decode(envelope);
        var connection = await ConnectAsync(runner, cancellationToken).ConfigureAwait(false);
        await foreach (var item in connection.StreamAsync(_ids.Next(), decoded, _ids.Next, cancellationToken).ConfigureAwait(false))
        {
            yield return item;
        }
    }

    public async Task PingAsync(RunnerAddress runner, CancellationToken cancellationToken)
    {
        var connection = await ConnectAsync(runner, cancellationToken).ConfigureAwait(false);
        await connection.PingAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Notify and Envelope RPCs concern persisted messages only.</summary>
    public static Task NotSupportedAsync() => Task.FromException(new PersistenceException(PersistedNotSupported));

    public void Drop(RunnerAddress runner)
    {
        if (_connections.TryRemove(runner, out var connection))
        {
            _ = connection.DisposeAsync().AsTask();
        }
    }

    private async ValueTask<EffectClientConnection> ConnectAsync(RunnerAddress runner, CancellationToken cancellationToken)
    {
        if (_connections.TryGetValue(runner, out var open) && !open.IsClosed)
        {
            return open;
        }

        await _connecting.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_connections.TryGetValue(runner, out open) && !open.IsClosed)
            {
                return open;
            }

            var connection = await EffectClientConnection.ConnectAsync(runner, options, logger, cancellationToken).ConfigureAwait(false);
            if (_connections.TryGetValue(runner, out var stale))
            {
                await stale.DisposeAsync().ConfigureAwait(false);
            }

            _connections[runner] = connection;
            return connection;
        }
        finally
        {
            _connecting.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var runner in _connections.Keys)
        {
            if (_connections.TryRemove(runner, out var connection))
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
