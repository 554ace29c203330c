using System.Diagnostics.CodeAnalysis;

namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>
/// The credit of the streams a server connection is serving, by request id: how many more chunks each stream may
/// send. A stream takes one unit before it takes an item from its handler, so without credit the handler's stream is
/// not read and its producer is held back. Credit frames add to it.
/// </summary>
/// <remarks>
/// A semaphore per stream: taking credit that is there completes synchronously without allocating; only a stream that
/// ran out waits, once per grant rather than per chunk. Nothing to dispose (its wait handle is never used).
/// </remarks>
internal sealed class StreamCredits
{
    // Far above any window (a grant is at most 255 chunks): more outstanding credit than this is a broken client.
    private const int MaxOutstanding = 1 << 20;

    private readonly Dictionary<long, SemaphoreSlim> _streams = [];
    private readonly Lock _gate = new();

    /// <summary>Opens stream <paramref name="id"/> with no credit; its caller grants the window next.</summary>
    public SemaphoreSlim Open(long id)
    {
        var credit = new SemaphoreSlim(0, MaxOutstanding);
        lock (_gate)
        {
            _streams[id] = credit;
        }

        return credit;
    }

    /// <summary>Forgets stream <paramref name="id"/> (it ended, failed or was interrupted).</summary>
    public void Close(long id, SemaphoreSlim credit)
    {
        lock (_gate)
        {
            if (_streams.TryGetValue(id, out var current) && ReferenceEquals(current, credit))
            {
                _streams.Remove(id);
            }
        }
    }

    /// <summary>
    /// Adds <paramref name="chunks"/> to stream <paramref name="id"/>'s credit. False when no such stream is being served:
    /// it may have just ended, so the caller ignores that. Throws <see cref="MalformedFrameException"/> when the
    /// outstanding credit would exceed any window.
    /// </summary>
    public bool TryGrant(long id, int chunks)
    {
        if (!TryGet(id, out var credit))
        {
            return false;
        }

        try
        {
            credit.Release(chunks);
            return true;
        }
        catch (SemaphoreFullException)
        {
            throw new MalformedFrameException($"Credit for stream {id} exceeds {MaxOutstanding} chunks.");
        }
    }

    private bool TryGet(long id, [NotNullWhen(true)] out SemaphoreSlim? credit)
    {
        lock (_gate)
        {
            return _streams.TryGetValue(id, out credit);
        }
    }
}
