using System.Diagnostics.CodeAnalysis;

namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>
/// The requests a server connection is serving, by request id, each with the source that interrupts it, and the
/// sources of finished requests kept for reuse: a request that finished uncancelled gives its source back reset, so
/// serving a request allocates no source and, with the source's registration list kept, no registration either.
/// </summary>
/// <remarks>
/// One lock (held for a lookup, never across I/O) guards both. A Cancel frame cancels under it, so a source cannot be
/// reset and handed to the next request between its lookup and its cancellation.
/// </remarks>
internal sealed class InFlightRequests
{
    private const int MaxReusable = 256;
    private readonly Dictionary<long, CancellationTokenSource> _requests = [];
    private readonly Stack<CancellationTokenSource> _reusable = new();
    private readonly Lock _gate = new();
    private bool _closed;

    /// <summary>Registers request <paramref name="id"/>; false when that id is already in flight.</summary>
    public bool TryStart(long id, [NotNullWhen(true)] out CancellationTokenSource? interrupt)
    {
        lock (_gate)
        {
            interrupt = _reusable.TryPop(out var reused) ? reused : new CancellationTokenSource();
            if (_closed)
            {
                interrupt.Cancel();
            }

            if (_requests.TryAdd(id, interrupt))
            {
                return true;
            }

            _reusable.Push(interrupt);
            interrupt = null;
            return false;
        }
    }

    /// <summary>Ends request <paramref name="id"/>; its source is reused only when <paramref name="reusable"/> and it was never cancelled.</summary>
    public void Finish(long id, CancellationTokenSource interrupt, bool reusable)
    {
        lock (_gate)
        {
            _requests.Remove(id);
            if (reusable && !_closed && _reusable.Count < MaxReusable && interrupt.TryReset())
            {
                _reusable.Push(interrupt);
            }
        }
    }

    /// <summary>Interrupts request <paramref name="id"/> if it is in flight.</summary>
    public void Cancel(long id)
    {
        lock (_gate)
        {
            if (_requests.TryGetValue(id, out var interrupt))
            {
                interrupt.Cancel();
            }
        }
    }

    /// <summary>Interrupts every request in flight and any started later (the connection closed).</summary>
    public void CancelAll()
    {
        CancellationTokenSource[] interrupts;
        lock (_gate)
        {
            _closed = true;
            interrupts = [.. _requests.Values];
            _reusable.Clear();
        }

        foreach (var interrupt in interrupts)
        {
            interrupt.Cancel();
        }
    }
}
