using System.Collections.Concurrent;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Ids;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Timing;

namespace SocketRunnerAspire.Cluster.Persistence;

/// <summary>
/// Whether a persisted request that arrives by RPC, and is neither running here nor completed since the current storage
/// pass began, may still have run already: here, longer ago than that, or on its shard's previous owner. A caller whose
/// reply was lost (its runner killed after saving it, a connection dropped) sends the same request again, and must get
/// the saved reply, not a second run. Effect's owner looks every persisted RPC up in storage (through its reply
/// handler); this runner does so only for the requests this says may have run, so a fresh request costs no read.
/// </summary>
/// <remarks>
/// A request may have run when it is older than <see cref="Horizon"/> (less <see cref="ClockSkew"/>: its id carries its
/// sender's clock), when its shard was acquired after it was made (its previous owner may have run it), or when this
/// runner completed it within the horizon. Those ids are kept in two generations, each current for at least the horizon.
/// </remarks>
internal sealed class EarlierRuns(ShardingOptions options, IMessageStorage messages, TimeProvider time)
{
    /// <summary>How long this runner remembers the ids of the requests it completed.</summary>
    public static readonly TimeSpan Horizon = TimeSpan.FromSeconds(10);

    /// <summary>How far the clocks of a request's sender and its owner may disagree.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<ShardId, DateTimeOffset> _acquired = new();
    private readonly Lock _gate = new();
    private HashSet<long> _current = [];
    private HashSet<long> _previous = [];
    private long _currentSince = time.GetTimestamp();

    public void ShardsAcquired(IReadOnlyCollection<ShardId> shards)
    {
        var now = time.GetUtcNow();
        foreach (var shard in shards)
        {
            _acquired[shard] = now;
        }
    }

    public void Completed(long requestId)
    {
        lock (_gate)
        {
            if (time.GetElapsedTime(_currentSince) >= Horizon)
            {
                (_previous, _current) = (_current, _previous);
                _current.Clear();
                _currentSince = time.GetTimestamp();
            }

            _current.Add(requestId);
        }
    }

    public bool MayHaveRun(PersistedRequest request)
    {
        var made = SnowflakeGenerator.Parse(request.Id).Timestamp;
        if (time.GetUtcNow() - made > Horizon - ClockSkew
            || (_acquired.TryGetValue(request.Address.ShardId, out var acquired) && acquired > made - ClockSkew))
        {
            return true;
        }

        lock (_gate)
        {
            return _current.Contains(request.Id) || _previous.Contains(request.Id);
        }
    }

    /// <summary>
    /// What storage holds of <paramref name="request"/>: the request itself, leased to this runner, while it is unfinished;
    /// else its final reply; else neither (not stored, or not due yet).
    /// </summary>
    public async Task<(UnprocessedMessage? Unfinished, PersistedReply? Final)> LookUpAsync(PersistedRequest request, CancellationToken cancellationToken)
    {
        using var timeout = TimeoutScope.Start(options.StorageTimeout, time, cancellationToken);
        try
        {
            var unfinished = await messages.UnprocessedMessagesByIdAsync([request.Id], timeout.Token).ConfigureAwait(false);
            if (unfinished.Count > 0)
            {
                return (unfinished[0], null);
            }

            var replies = await messages.RepliesForAsync([request.Id], timeout.Token).ConfigureAwait(false);
            return (null, replies.LastOrDefault(static reply => reply.IsFinal));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new PersistenceException($"Reading persisted request {request.Id} took longer than {options.StorageTimeout}.");
        }
    }
}
