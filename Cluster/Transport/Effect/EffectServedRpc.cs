namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>
/// One RPC running on an Effect protocol connection: its interrupt switch, the entity request it carries (for
/// <c>Interrupt</c> envelopes, which name that request and may come on any connection) and, for a stream, the client's acks.
/// </summary>
internal sealed class EffectServedRpc(EffectRequestId id, bool isStream)
{
    private readonly CancellationTokenSource _interrupt = new();
    private readonly SemaphoreSlim? _acks = isStream ? new SemaphoreSlim(0, 1) : null;
    private volatile bool _byEnvelope;

    public EffectRequestId Id { get; } = id;

    /// <summary>The snowflake id of the entity request, once the payload is read (0 before).</summary>
    public long EntityRequestId { get; set; }

    public CancellationToken Token => _interrupt.Token;

    /// <summary>Whether the sender interrupted the entity request with an <c>Interrupt</c> envelope (which the reply then tells).</summary>
    public bool InterruptedByEnvelope => _byEnvelope;

    /// <summary>The client's <c>Interrupt</c> frame, or the connection closing.</summary>
    public void Interrupt() => Cancel();

    /// <summary>An <c>Interrupt</c> envelope naming this RPC's entity request.</summary>
    public void InterruptByEnvelope()
    {
        _byEnvelope = true;
        Cancel();
    }

    /// <summary>The client's <c>Ack</c>: the next chunk may go (several acks in a row count as one, as Effect's latch).</summary>
    public void Ack()
    {
        try
        {
            _acks?.Release();
        }
        catch (SemaphoreFullException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Waits for the client to take the chunk just sent.</summary>
    public Task WaitForAckAsync(CancellationToken cancellationToken) => _acks!.WaitAsync(cancellationToken);

    private void Cancel()
    {
        try
        {
            _interrupt.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
