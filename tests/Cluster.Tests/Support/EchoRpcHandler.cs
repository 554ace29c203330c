using System.Runtime.CompilerServices;
using SocketRunnerAspire.Cluster.Transport;

namespace SocketRunnerAspire.Cluster.Tests.Support;

/// <summary>A runner RPC handler for transport tests: answers every request with its own envelope and counts what reached it.</summary>
public sealed class EchoRpcHandler : IRunnerRpcHandler
{
    private int _requests;

    /// <summary>Requests, streams, notifies and envelopes that reached the handler.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Awaited by every request before it answers (a slow entity).</summary>
    public TimeSpan Delay { get; set; }

    public async ValueTask<PooledBytes> HandleRequestAsync(ReadOnlyMemory<byte> envelope, bool persisted, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _requests);
        if (Delay > TimeSpan.Zero)
        {
            await Task.Delay(Delay, cancellationToken);
        }

        return PooledBytes.CopyOf(envelope.Span);
    }

    public async IAsyncEnumerable<ReadOnlyMemory<byte>> HandleStreamAsync(ReadOnlyMemory<byte> envelope, bool persisted, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _requests);
        await Task.Yield();
        yield return envelope.ToArray();
    }

    public Task HandleNotifyAsync(ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _requests);
        return Task.CompletedTask;
    }

    public Task HandleEnvelopeAsync(ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _requests);
        return Task.CompletedTask;
    }
}
