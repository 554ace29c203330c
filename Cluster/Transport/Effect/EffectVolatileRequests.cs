using System.Collections.Concurrent;

namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>
/// The volatile entity requests Effect nodes are running on this runner, by snowflake request id, over all Effect
/// connections: an <c>Envelope</c> RPC with an <c>Interrupt</c> names the request, not the connection it came on.
/// </summary>
internal sealed class EffectVolatileRequests
{
    private readonly ConcurrentDictionary<long, EffectServedRpc> _running = new();

    /// <summary>Tracks <paramref name="rpc"/> under its entity request id; false when that id is already running.</summary>
    public bool TryAdd(long requestId, EffectServedRpc rpc)
    {
        rpc.EntityRequestId = requestId;
        return _running.TryAdd(requestId, rpc);
    }

    public void Remove(EffectServedRpc rpc)
    {
        if (rpc.EntityRequestId != 0)
        {
            _running.TryRemove(new KeyValuePair<long, EffectServedRpc>(rpc.EntityRequestId, rpc));
        }
    }

    /// <summary>Interrupts the request; false when it is not running here (done already, or never came).</summary>
    public bool Interrupt(long requestId)
    {
        if (!_running.TryGetValue(requestId, out var rpc))
        {
            return false;
        }

        rpc.InterruptByEnvelope();
        return true;
    }
}
