using System.Diagnostics.CodeAnalysis;

namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>The calls awaiting their reply, by request id; closing fails them and refuses new ones.</summary>
internal sealed class PendingCalls
{
    // A lock around a dictionary (held for a lookup, never across I/O) instead of a ConcurrentDictionary, whose
    // every insert allocates a node.
    private readonly Dictionary<long, IPendingCall> _calls = [];
    private readonly Lock _gate = new();
    private bool _closed;

    public bool TryAdd(long id, IPendingCall call)
    {
        lock (_gate)
        {
            return !_closed && _calls.TryAdd(id, call);
        }
    }

    public bool TryTake(long id, [NotNullWhen(true)] out IPendingCall? call)
    {
        lock (_gate)
        {
            return _calls.Remove(id, out call);
        }
    }

    public bool TryGet(long id, [NotNullWhen(true)] out IPendingCall? call)
    {
        lock (_gate)
        {
            return _calls.TryGetValue(id, out call);
        }
    }

    public IPendingCall[] Close()
    {
        lock (_gate)
        {
            _closed = true;
            var calls = _calls.Values.ToArray();
            _calls.Clear();
            return calls;
        }
    }
}
