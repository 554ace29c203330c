using System.Diagnostics;
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
/// Runs one stored request on its entity for <see cref="PersistedDelivery"/>: hands it over when the mailbox has room,
/// saves each stream chunk once the caller acknowledged the one before, resumes a stream from its last saved chunk,
/// parks keep-alive messages, and saves replies through storage outages while the shard is still owned.
/// </summary>
internal sealed partial class PersistedExecution(
    ShardingOptions options, IMessageStorage messages, EntityHost entities, ShardOwnership ownership, ClusterSerializer serializer,
    RunnerAddress self, TimeProvider time, ILogger logger, CancellationToken stopping)
{
    private readonly ShardingOptions _options = options;
    private readonly IMessageStorage _messages = messages;
    private readonly EntityHost _entities = entities;
    private readonly ShardOwnership _ownership = ownership;
    private readonly ClusterSerializer _serializer = serializer;
    private readonly RunnerAddress _self = self;
    private readonly TimeProvider _time = time;
    private readonly ILogger _logger = logger;
    private readonly CancellationToken _stopping = stopping;
    private readonly UnhostedTypeRequests _unhosted = new(options, messages, time, logger);

    /// <summary>Delivers the run's request to its entity and returns the final reply to save (a failure reply for handler errors).</summary>
    public async Task<PersistedReply> ExecuteAsync(PersistedRun run)
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
    public async Task<PersistedReply> KeepAliveAsync(PersistedRun run, EntityManager manager)
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
    public async Task SaveReplyAsync(PersistedReply reply, EntityAddress address)
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stream request {RequestId} cannot resume: its saved chunk {Sequence} no longer decodes; it runs again from the start")]
    private static partial void LogResumeUndecodable(ILogger logger, Exception exception, long requestId, int sequence);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Message storage is failing; retrying")]
    private static partial void LogStorageRetry(ILogger logger, Exception exception);
}
