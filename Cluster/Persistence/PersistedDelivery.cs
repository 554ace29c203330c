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
    private readonly IMessageStorage _messages;
    private readonly EntityHost _entities;
    private readonly ShardOwnership _ownership;
    private readonly ReplyPoller _replies;
    private readonly StorageReadSchedule _schedule;
    private readonly ClusterSerializer _serializer;
    private readonly RunnerAddress _self;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationToken _stopping;
    private readonly ConcurrentDictionary<long, PersistedRun> _runs = new();

    // Requests completed here since the current storage pass began reading (Effect's processedRequestIds): a pass may
    // read a request just before another path saves its reply, and must not run it again.
    private ConcurrentDictionary<long, PersistedReply> _recentlyCompleted = new();

    private readonly UnhostedTypeRequests _unhosted;
    private readonly EarlierRuns _earlier;

    public PersistedDelivery(
        ShardingOptions options, IMessageStorage messages, EntityHost entities, ShardOwnership ownership, ReplyPoller replies,
        StorageReadSchedule schedule, ClusterSerializer serializer, RunnerAddress self, TimeProvider time, ILogger logger, CancellationToken stopping)
    {
        _options = options;
        _messages = messages;
        _entities = entities;
        _ownership = ownership;
        _replies = replies;
        _schedule = schedule;
        _serializer = serializer;
        _self = self;
        _time = time;
        _logger = logger;
        _stopping = stopping;
        _unhosted = new UnhostedTypeRequests(options, messages, time, logger);
        _earlier = new EarlierRuns(options, messages, time);
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
                ? await KeepAliveAsync(run, manager).ConfigureAwait(false)
                : await ExecuteAsync(run).ConfigureAwait(false);
            await SaveReplyAsync(final, request.Address).ConfigureAwait(false);
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

    /// <summary>Delivers the run's request to its entity and returns the final reply to save (a failure reply for handler errors).</summary>
    private async Task<PersistedReply> ExecuteAsync(PersistedRun run)
    {
        var request = run.Request;
        var address = request.Address;
        if (run.Interrupt.IsCancellationRequested)
        {
            return FailureReply(request.Id, 0, new OperationCanceledException());
        }

        if (!_entities.TryGetManager(address.EntityType, out var manager))
        {
            await _unhosted.KeepForAnOwnerThatHostsTheTypeAsync(address).ConfigureAwait(false);
            throw EntityHost.NotRegistered(address.EntityType, _self);
        }

        RpcBinding rpc;
        object message;
        try
        {
            rpc = EntityHost.ResolveRpc(manager, request.Tag, request.Kind);
            message = rpc.DeserializeRequest(_serializer, request.Payload);
        }
        catch (ClusterException ex)
        {
            return FailureReply(request.Id, 0, ex);
        }

        var resumed = rpc.IsResumable && TryResume(run, rpc, ref message);
        var parent = ActivityContext.TryParse(request.TraceParent, request.TraceState, isRemote: true, out var context) ? context : default;
        var work = new TaskEntityWork(rpc, message, parent, run.Interrupt.Token);
        await WhenThereIsRoomAsync(address, (manager, work), static (entities, address, state) =>
        {
            entities.Deliver(state.manager, address, state.work);
            return true;
        }).ConfigureAwait(false);

        // A resumed handler yields only new chunks; any other re-runs from the start and its saved chunks are skipped.
        var chunks = resumed ? run.LastChunk + 1 : 0;
        try
        {
            if (work.Stream is { } stream)
            {
                await foreach (var item in stream.Reader.ReadAllAsync().ConfigureAwait(false))
                {
                    var sequence = chunks++;
                    if (sequence <= run.LastChunk)
                    {
                        continue;   // saved before a restart; the caller reads it from storage
                    }

                    if (sequence > 0)
                    {
                        await WaitForChunkAckAsync(run, sequence - 1).ConfigureAwait(false);
                    }

                    var chunk = new PersistedReply(request.Id, sequence, IsFinal: false, IsFailure: false, rpc.SerializeReply(_serializer, item));
                    await SaveReplyAsync(chunk, address).ConfigureAwait(false);
                    run.Publish(chunk);
                }
            }

            var reply = await work.Reply.Task.ConfigureAwait(false);
            return new PersistedReply(request.Id, chunks, IsFinal: true, IsFailure: false,
                rpc.Kind == RpcKind.Request ? rpc.SerializeReply(_serializer, reply) : ReadOnlyMemory<byte>.Empty);
        }
        catch (EntityNotAssignedToRunnerException)
        {
            throw;
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            throw new EntityNotAssignedToRunnerException(address);
        }
        catch (Exception ex) when (ex is ClusterException or OperationCanceledException)
        {
            return FailureReply(request.Id, chunks, ex);
        }
    }

    /// <summary>
    /// Hands a resume-aware stream handler the last chunk saved before this run. False (the stream re-runs from its
    /// start and the saved chunks are skipped) when none was saved, storage did not return it, or it no longer decodes.
    /// </summary>
    private bool TryResume(PersistedRun run, RpcBinding rpc, ref object message)
    {
        if (run.LastChunk < 0 || run.LastSentChunk is not { IsFinal: false } last || last.Sequence != run.LastChunk)
        {
            return false;
        }

        try
        {
            message = rpc.ResumeAt(_serializer, message, last.Sequence, last.Payload);
            return true;
        }
        catch (MalformedMessageException ex)
        {
            LogResumeUndecodable(_logger, ex, run.Request.Id, last.Sequence);
            return false;
        }
    }

    /// <summary>
    /// Parks a keep-alive message on its entity (activating it) until the entity turns keep-alive off, without taking
    /// a handler slot; uninterruptible. Throws <see cref="EntityNotAssignedToRunnerException"/> when the instance or
    /// runner stops first, so the message stays stored and re-creates the entity on the next owner.
    /// </summary>
    private async Task<PersistedReply> KeepAliveAsync(PersistedRun run, EntityManager manager)
    {
        var address = run.Request.Address;
        var latch = await WhenThereIsRoomAsync(address, manager, static (entities, address, manager) => entities.ParkKeepAlive(manager, address)).ConfigureAwait(false);

        _ = run.Done.Task.ContinueWith(static (_, ended) => ((TaskCompletionSource)ended!).TrySetResult(), latch.Ended,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            await latch.Released.Task.WaitAsync(_stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw new EntityNotAssignedToRunnerException(address);
        }

        return new PersistedReply(run.Request.Id, 0, IsFinal: true, IsFailure: false, ReadOnlyMemory<byte>.Empty);
    }

    /// <summary>
    /// Hands the request to its entity with <paramref name="hand"/>, retrying every send retry interval while the mailbox
    /// is full or the runner is at its resident cap: durable messages wait for room instead of failing (as Effect retries them).
    /// </summary>
    private async Task<TResult> WhenThereIsRoomAsync<TState, TResult>(EntityAddress address, TState state, Func<EntityHost, EntityAddress, TState, TResult> hand)
    {
        while (true)
        {
            try
            {
                return hand(_entities, address, state);
            }
            catch (Exception ex) when (ex is MailboxFullException or EntityCapacityExceededException)
            {
                await DelayOrNotAssigned(_options.SendRetryInterval, address).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Waits <paramref name="delay"/>; a runner that stops meanwhile gives the request up to the next owner.</summary>
    private async Task DelayOrNotAssigned(TimeSpan delay, EntityAddress address)
    {
        try
        {
            await Task.Delay(delay, _time, _stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw new EntityNotAssignedToRunnerException(address);
        }
    }

    private static PersistedReply FailureReply(long requestId, int sequence, Exception error) =>
        new(requestId, sequence, IsFinal: true, IsFailure: true, ReplyFailure.Encode(error));

    /// <summary>Waits until the caller acknowledged chunk <paramref name="sequence"/> (signalled, or seen in storage).</summary>
    private async Task WaitForChunkAckAsync(PersistedRun run, int sequence)
    {
        var recheck = _options.EntityReplyPollInterval * 5;
        while (!await run.WaitForAckAsync(sequence, recheck, _time, _stopping).ConfigureAwait(false))
        {
            if (!_ownership.IsOwned(run.Request.Address.ShardId))
            {
                throw new EntityNotAssignedToRunnerException(run.Request.Address);
            }

            try
            {
                using var timeout = TimeoutScope.Start(_options.StorageTimeout, _time);
                var unacked = await _messages.RepliesForAsync([run.Request.Id], timeout.Token).ConfigureAwait(false);
                if (!unacked.Any(r => !r.IsFinal && r.Sequence == sequence))
                {
                    return;   // acknowledged in storage (the caller's Envelope RPC did not reach us)
                }
            }
            catch (Exception ex) when (ex is PersistenceException or OperationCanceledException)
            {
                LogStorageRetry(_logger, ex);   // a stopping runner leaves at the next wait, as not assigned
            }
        }
    }

    /// <summary>
    /// Saves a reply, retrying through storage outages while the shard is still ours; the first attempt is made
    /// even while stopping, so a handler that finished is not run again elsewhere.
    /// </summary>
    private async Task SaveReplyAsync(PersistedReply reply, EntityAddress address)
    {
        var backoff = new Backoff(_options.SendRetryInterval * 10 < TimeSpan.FromSeconds(1) ? _options.SendRetryInterval * 10 : TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), factor: 1);
        while (true)
        {
            try
            {
                using var timeout = TimeoutScope.Start(_options.StorageTimeout, _time);
                await _messages.SaveReplyAsync(reply, timeout.Token).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is PersistenceException or OperationCanceledException)
            {
                if (_stopping.IsCancellationRequested || !_ownership.IsOwned(address.ShardId))
                {
                    throw new EntityNotAssignedToRunnerException(address);
                }

                LogStorageRetry(_logger, ex);
                await DelayOrNotAssigned(backoff.Next(), address).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Persisted request {RequestId} failed unexpectedly; it stays stored and will be retried")]
    private static partial void LogRunFailed(ILogger logger, Exception exception, long requestId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stream request {RequestId} cannot resume: its saved chunk {Sequence} no longer decodes; it runs again from the start")]
    private static partial void LogResumeUndecodable(ILogger logger, Exception exception, long requestId, int sequence);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Message storage is failing; retrying")]
    private static partial void LogStorageRetry(ILogger logger, Exception exception);
}
