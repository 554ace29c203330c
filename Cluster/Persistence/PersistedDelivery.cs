using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Serialization;
using SocketRunnerAspire.Cluster.Shards;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Timing;

namespace SocketRunnerAspire.Cluster.Persistence;

/// <summary>
/// The owner side of persisted messages (Effect's persisted delivery): a stored request reaches its entity through one
/// <see cref="PersistedRun"/> per request id, whichever way it arrives (a direct RPC, a local send, the storage read
/// loop); the final reply is saved before anyone is answered, and a request whose shard is lost before that stays in
/// storage for the next owner.
/// </summary>
internal sealed partial class PersistedDelivery
{
    private readonly ShardingOptions _options;
    private readonly EntityHost _entities;
    private readonly ShardOwnership _ownership;
    private readonly ReplyPoller _replies;
    private readonly StorageReadSchedule _schedule;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<long, PersistedRun> _runs = new();

    // Requests completed here since the current storage pass began reading (Effect's processedRequestIds): a pass may
    // read a request just before another path saves its reply, and must not run it again.
    private ConcurrentDictionary<long, PersistedReply> _recentlyCompleted = new();

    private readonly EarlierRuns _earlier;
    private readonly PersistedExecution _execution;

    public PersistedDelivery(
        ShardingOptions options, IMessageStorage messages, EntityHost entities, ShardOwnership ownership, ReplyPoller replies,
        StorageReadSchedule schedule, ClusterSerializer serializer, RunnerAddress self, TimeProvider time, ILogger logger, CancellationToken stopping)
    {
        _options = options;
        _entities = entities;
        _ownership = ownership;
        _replies = replies;
        _schedule = schedule;
        _time = time;
        _logger = logger;
        _earlier = new EarlierRuns(options, messages, time);
        _execution = new PersistedExecution(options, messages, entities, ownership, serializer, self, time, logger, stopping);
    }

    /// <summary>Runs <paramref name="request"/> here (or joins its run) and returns the saved final reply.</summary>
    public Task<PersistedReply> RunAsync(PersistedRequest request, CancellationToken cancellationToken) =>
        MayHaveRun(request)
            ? RunAfterLookUpAsync(request, cancellationToken)
            : Start(request, follow: false).Done.Task.WaitAsync(cancellationToken);

    private async Task<PersistedReply> RunAfterLookUpAsync(PersistedRequest request, CancellationToken cancellationToken)
    {
        var run = await StartAfterLookUpAsync(request, follow: false, cancellationToken).ConfigureAwait(false);
        return await run.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs a stream request here and yields each chunk (encoded with its sequence) once it is saved.</summary>
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> FollowAsync(PersistedRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var run = MayHaveRun(request)
            ? await StartAfterLookUpAsync(request, follow: true, cancellationToken).ConfigureAwait(false)
            : Start(request, follow: true);
        await foreach (var chunk in run.Chunks.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return PersistedReplyCodec.Encode(chunk);
        }

        var final = await run.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (final.IsFailure)
        {
            throw ReplyFailure.Decode(final.Payload);
        }
    }

    /// <summary>Applies an ack or interrupt to the run it names; one for a request not running here is left to the storage read.</summary>
    public void Apply(PersistedEnvelope envelope)
    {
        if (!_runs.TryGetValue(envelope.RequestId, out var run))
        {
            if (envelope is PersistedEnvelope.Interrupt)
            {
                _schedule.WakeNow();   // not started here yet: the pass reads it with its interrupt flag
            }

            return;
        }

        switch (envelope)
        {
            case PersistedEnvelope.AckChunk ack:
                run.Ack(ack.Sequence);
                break;
            case PersistedEnvelope.Interrupt:
                run.Interrupt.Cancel();
                break;
        }
    }

    /// <summary>
    /// Waits (at most the entity termination timeout) for the runs on <paramref name="shard"/>, which is being released,
    /// to end: a handler that finished is still saving its reply, and the next owner must not read the request as
    /// unprocessed and run it again. Runs that had not finished end as not assigned once their entity stops.
    /// </summary>
    public Task RunsEndedAsync(ShardId shard)
    {
        List<Task>? running = null;
        foreach (var (_, run) in _runs)
        {
            if (run.Request.Address.ShardId == shard)
            {
                (running ??= []).Add(run.Done.Task);
            }
        }

        return running is null ? Task.CompletedTask : WaitAsync(running);

        async Task WaitAsync(List<Task> tasks)
        {
            try
            {
                await Task.WhenAll(tasks).WaitAsync(_options.EntityTerminationTimeout, _time).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Abandoned runs end with an exception, and a run past the timeout is left to the next owner.
            }
        }
    }

    /// <summary>A storage pass is about to read: from now on it can only miss completions recorded after this.</summary>
    public void BeginStoragePass() => _recentlyCompleted = new ConcurrentDictionary<long, PersistedReply>();

    /// <summary>Shards just acquired: requests made before this may have run on their previous owner.</summary>
    public void OnShardsAcquired(IReadOnlyCollection<ShardId> shards) => _earlier.ShardsAcquired(shards);

    /// <summary>A request sent by RPC that is not running here and may have run already (see <see cref="EarlierRuns"/>).</summary>
    private bool MayHaveRun(PersistedRequest request) =>
        !_runs.ContainsKey(request.Id) && !_recentlyCompleted.ContainsKey(request.Id) && _earlier.MayHaveRun(request);

    /// <summary>
    /// Starts <paramref name="request"/> as storage has it: unfinished (with its interrupt and last saved chunk, as a
    /// storage pass would), or finished, answered with its saved reply instead of running again.
    /// </summary>
    private async Task<PersistedRun> StartAfterLookUpAsync(PersistedRequest request, bool follow, CancellationToken cancellationToken)
    {
        var (unfinished, final) = await _earlier.LookUpAsync(request, cancellationToken).ConfigureAwait(false);
        if (unfinished is not null)
        {
            return Start(unfinished.Request, follow, unfinished.Interrupted, unfinished.LastChunk, unfinished.LastSentChunk);
        }

        if (final is not null)
        {
            var completed = new PersistedRun(request, lastChunk: -1, followed: false);
            completed.Complete(final);
            return completed;
        }

        return Start(request, follow);
    }

    /// <summary>Hands a request read from storage to its entity, unless it is running here already (then only its interrupt flag applies).</summary>
    public void StartFromStorage(UnprocessedMessage message)
    {
        if (_runs.TryGetValue(message.Request.Id, out var running))
        {
            if (message.Interrupted)
            {
                running.Interrupt.Cancel();
            }

            return;
        }

        Start(message.Request, follow: false, message.Interrupted, message.LastChunk, message.LastSentChunk);
    }

    /// <summary>
    /// The run of <paramref name="request"/> on this runner: the one already going, or a new one. A caller that
    /// follows a stream's chunks must start it: chunks saved before it joined went to storage only.
    /// </summary>
    private PersistedRun Start(PersistedRequest request, bool follow, bool interrupted = false, int lastChunk = -1, PersistedReply? lastSentChunk = null)
    {
        if (!_ownership.IsOwned(request.Address.ShardId) || _ownership.IsStopping)
        {
            throw new EntityNotAssignedToRunnerException(request.Address);
        }

        if (_recentlyCompleted.TryGetValue(request.Id, out var done))
        {
            var completed = new PersistedRun(request, lastChunk, followed: false);
            completed.Complete(done);
            return completed;
        }

        var fresh = new PersistedRun(request, lastChunk, follow, lastSentChunk);
        var run = _runs.GetOrAdd(request.Id, fresh);
        if (!ReferenceEquals(run, fresh))
        {
            if (follow && run.Request.Kind == RpcKind.Stream)
            {
                throw new AlreadyProcessingMessageException(request.Address, request.Id);
            }

            return run;
        }

        if (interrupted)
        {
            run.Interrupt.Cancel();
        }

        _ = RunToCompletionAsync(run);
        return run;
    }

    private async Task RunToCompletionAsync(PersistedRun run)
    {
        var request = run.Request;
        try
        {
            var final = request.Tag == KeepAliveMessages.Tag && _entities.TryGetManager(request.Address.EntityType, out var manager)
                ? await _execution.KeepAliveAsync(run, manager).ConfigureAwait(false)
                : await _execution.ExecuteAsync(run).ConfigureAwait(false);
            await _execution.SaveReplyAsync(final, request.Address).ConfigureAwait(false);
            _recentlyCompleted[request.Id] = final;
            _earlier.Completed(request.Id);
            run.Complete(final);
            _replies.Complete(final);
        }
        catch (EntityNotAssignedToRunnerException ex)
        {
            // Shard lost or runner stopping before the reply was saved: the request stays in storage for the next owner.
            run.Abandon(ex);
        }
        catch (EntityTypeNotRegisteredException ex)
        {
            // Not answered with a saved reply: the request stays stored, read again every pass, until an owner hosts its type.
            run.Abandon(ex);
        }
        catch (Exception ex)
        {
            LogRunFailed(_logger, ex, request.Id);
            run.Abandon(new EntityNotAssignedToRunnerException(request.Address));
        }
        finally
        {
            // Interrupt is not disposed: an interrupt may still arrive for a run that just ended (it has no timer to free).
            _runs.TryRemove(new KeyValuePair<long, PersistedRun>(request.Id, run));
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Persisted request {RequestId} failed unexpectedly; it stays stored and will be retried")]
    private static partial void LogRunFailed(ILogger logger, Exception exception, long requestId);
}
