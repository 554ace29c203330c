using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Persistence;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Transport;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster;

// The owner side of persisted messages (Effect's storage read loop and persisted delivery): requests reach the
// entity through one PersistedRun per request id, whichever way they arrive; the final reply is saved before
// anyone is answered, and a request whose shard is lost before that stays in storage for the next owner.
public sealed partial class Sharding
{
    private const int StorageReadBatch = 1024;

    private readonly ConcurrentDictionary<long, PersistedRun> _persistedRuns = new();
    private readonly ConcurrentDictionary<ShardId, byte> _needsReset = new();
    private readonly SemaphoreSlim _storageWake = new(0);

    // The earliest DeliverAt this runner was told about (Unix ms), so delayed messages are read at their time
    // rather than at the next poll.
    private long _nextDueMs = long.MaxValue;

    // Requests completed here since the current storage pass began reading (Effect's processedRequestIds): a
    // pass may read a request just before another path saves its reply, and must not run it again.
    private ConcurrentDictionary<long, PersistedReply> _recentlyCompleted = new();

    /// <inheritdoc />
    public Task HandleNotifyAsync(ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken)
    {
        RequirePersistence();
        WakeStorageLoopAt(DecodeNotify(envelope));
        return Task.CompletedTask;
    }

    /// <summary>A Notify payload: empty (read storage now) or the due time as 8-byte big-endian Unix milliseconds.</summary>
    private static DateTimeOffset? DecodeNotify(ReadOnlyMemory<byte> payload)
    {
        if (payload.IsEmpty)
        {
            return null;
        }

        if (payload.Length == sizeof(long))
        {
            var ms = System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(payload.Span);
            if (ms >= DateTimeOffset.MinValue.ToUnixTimeMilliseconds() && ms <= DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
            {
                return DateTimeOffset.FromUnixTimeMilliseconds(ms);
            }

            throw new MalformedMessageException($"Notify names time {ms} ms, outside the range of dates.");
        }

        throw new MalformedMessageException($"A notify payload is empty or an 8-byte time, not {payload.Length} bytes.");
    }

    /// <inheritdoc />
    public Task HandleEnvelopeAsync(ReadOnlyMemory<byte> envelope, CancellationToken cancellationToken)
    {
        RequirePersistence();
        OnPersistedEnvelope(PersistedEnvelopeCodec.Decode(envelope));
        return Task.CompletedTask;
    }

    private void OnPersistedEnvelope(PersistedEnvelope envelope)
    {
        if (!_persistedRuns.TryGetValue(envelope.RequestId, out var run))
        {
            if (envelope is PersistedEnvelope.Interrupt)
            {
                WakeStorageLoop();   // not started here yet: the pass reads it with its interrupt flag
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

    /// <summary>Effect RPC with persisted = true: the request is already stored; run it (or join its run) and return the saved reply.</summary>
    private async Task<ReadOnlyMemory<byte>> HandlePersistedRequestAsync(Envelope envelope, CancellationToken cancellationToken)
    {
        var reply = await StartPersisted(ToPersistedRequest(envelope), follow: false).Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        return reply.IsFailure ? throw ReplyFailure.Decode(reply.Payload) : reply.Payload;
    }

    /// <summary>Stream RPC with persisted = true: yields each saved chunk (encoded with its sequence) as it is saved.</summary>
    private async IAsyncEnumerable<ReadOnlyMemory<byte>> HandlePersistedStreamAsync(Envelope envelope, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var run = StartPersisted(ToPersistedRequest(envelope), follow: true);
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

    private static PersistedRequest ToPersistedRequest(Envelope envelope) =>
        new(envelope.RequestId, envelope.Address, envelope.Tag, envelope.Kind, envelope.Payload, TraceParent: envelope.TraceParent, TraceState: envelope.TraceState);

    /// <summary>
    /// The run of <paramref name="request"/> on this runner: the one already going, or a new one. A caller that
    /// follows a stream's chunks must start it: chunks saved before it joined went to storage only.
    /// </summary>
    private PersistedRun StartPersisted(PersistedRequest request, bool follow, bool interrupted = false, int lastChunk = -1)
    {
        if (!IsOwned(request.Address.ShardId) || _shuttingDown)
        {
            throw new EntityNotAssignedToRunnerException(request.Address);
        }

        if (_recentlyCompleted.TryGetValue(request.Id, out var done))
        {
            var completed = new PersistedRun(request, lastChunk, followed: false);
            completed.Complete(done);
            return completed;
        }

        var fresh = new PersistedRun(request, lastChunk, follow);
        var run = _persistedRuns.GetOrAdd(request.Id, fresh);
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

        _ = RunPersistedAsync(run);
        return run;
    }

    private async Task RunPersistedAsync(PersistedRun run)
    {
        var request = run.Request;
        try
        {
            var final = await ExecutePersistedAsync(run).ConfigureAwait(false);
            await SavePersistedReplyAsync(final, request.Address).ConfigureAwait(false);
            _recentlyCompleted[request.Id] = final;
            run.Complete(final);
            _replyPoller?.Complete(final);
        }
        catch (EntityNotAssignedToRunnerException ex)
        {
            // Shard lost or runner stopping before the reply was saved: the request stays in storage for the next owner.
            run.Abandon(ex);
        }
        catch (Exception ex)
        {
            LogPersistedRunFailed(_logger, ex, request.Id);
            run.Abandon(new EntityNotAssignedToRunnerException(request.Address));
        }
        finally
        {
            // Interrupt is not disposed: an interrupt may still arrive for a run that just ended (it has no timer to free).
            _persistedRuns.TryRemove(new KeyValuePair<long, PersistedRun>(request.Id, run));
        }
    }

    /// <summary>Delivers the run's request to its entity and returns the final reply to save (a failure reply for handler errors).</summary>
    private async Task<PersistedReply> ExecutePersistedAsync(PersistedRun run)
    {
        var request = run.Request;
        var address = request.Address;
        if (run.Interrupt.IsCancellationRequested)
        {
            return FailureReply(request.Id, 0, new OperationCanceledException());
        }

        if (!_managers.TryGetValue(address.EntityType, out var manager))
        {
            return FailureReply(request.Id, 0, new UnknownEntityTypeException($"Entity type '{address.EntityType}' is not registered on runner {Address}."));
        }

        RpcBinding rpc;
        object message;
        try
        {
            rpc = ResolveRpc(manager, request.Tag, request.Kind);
            message = rpc.DeserializeRequest(_serializer, request.Payload);
        }
        catch (ClusterException ex)
        {
            return FailureReply(request.Id, 0, ex);
        }

        var parent = ActivityContext.TryParse(request.TraceParent, request.TraceState, isRemote: true, out var context) ? context : default;
        var work = new EntityWork(rpc, message, parent, run.Interrupt.Token);
        while (true)
        {
            try
            {
                DeliverToOwnedShard(manager, address, work);
                break;
            }
            catch (MailboxFullException)
            {
                // Durable messages wait for room instead of failing (Effect retries them every send retry interval).
                await DelayOrNotAssigned(_options.SendRetryInterval, address).ConfigureAwait(false);
            }
        }

        var chunks = 0;
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
                    await SavePersistedReplyAsync(chunk, address).ConfigureAwait(false);
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

    /// <summary>Waits <paramref name="delay"/>; a runner that stops meanwhile gives the request up to the next owner.</summary>
    private async Task DelayOrNotAssigned(TimeSpan delay, EntityAddress address)
    {
        try
        {
            await Task.Delay(delay, _stopping.Token).ConfigureAwait(false);
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
        while (!await run.WaitForAckAsync(sequence, recheck, _stopping.Token).ConfigureAwait(false))
        {
            if (!IsOwned(run.Request.Address.ShardId))
            {
                throw new EntityNotAssignedToRunnerException(run.Request.Address);
            }

            try
            {
                using var timeout = new CancellationTokenSource(_options.StorageTimeout);
                var unacked = await _messages!.RepliesForAsync([run.Request.Id], timeout.Token).ConfigureAwait(false);
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
    private async Task SavePersistedReplyAsync(PersistedReply reply, EntityAddress address)
    {
        while (true)
        {
            try
            {
                using var timeout = new CancellationTokenSource(_options.StorageTimeout);
                await _messages!.SaveReplyAsync(reply, timeout.Token).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is PersistenceException or OperationCanceledException)
            {
                if (_stopping.IsCancellationRequested || !IsOwned(address.ShardId))
                {
                    throw new EntityNotAssignedToRunnerException(address);
                }

                LogStorageRetry(_logger, ex);
                await DelayOrNotAssigned(Min(_options.SendRetryInterval * 10, TimeSpan.FromSeconds(1)), address).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// One pass of the storage read loop: end the read leases of newly acquired shards, then hand every due,
    /// unfinished request of the owned shards to its entity (Effect's "Storage read loop").
    /// </summary>
    private async Task ReadStorageOnceAsync()
    {
        if (_messages is null || _self is null || _shuttingDown)
        {
            return;
        }

        if (!_needsReset.IsEmpty)
        {
            var acquired = _needsReset.Keys.ToArray();
            using var resetTimeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            resetTimeout.CancelAfter(_options.StorageTimeout);
            await _messages.ResetShardsAsync(acquired, resetTimeout.Token).ConfigureAwait(false);
            foreach (var shard in acquired)
            {
                _needsReset.TryRemove(shard, out _);
            }
        }

        _recentlyCompleted = new ConcurrentDictionary<long, PersistedReply>();
        var due = Interlocked.Read(ref _nextDueMs);
        if (due <= DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - DueMargin.TotalMilliseconds)
        {
            Interlocked.CompareExchange(ref _nextDueMs, long.MaxValue, due);   // this pass reads it
        }

        var owned = OwnedShards.Where(s => !_needsReset.ContainsKey(s)).ToHashSet();
        while (owned.Count > 0 && !_shuttingDown)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            timeout.CancelAfter(_options.StorageTimeout);
            IReadOnlyList<UnprocessedMessage> batch;
            try
            {
                batch = await _messages.UnprocessedMessagesAsync(owned, StorageReadBatch, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is PersistenceException or OperationCanceledException)
            {
                // The read may have leased messages on the server even though the answer was lost: end those
                // leases before the next read, or the messages would wait out the lease.
                foreach (var shard in owned)
                {
                    _needsReset.TryAdd(shard, 0);
                }

                throw;
            }

            foreach (var message in batch)
            {
                if (_persistedRuns.TryGetValue(message.Request.Id, out var running))
                {
                    if (message.Interrupted)
                    {
                        running.Interrupt.Cancel();
                    }

                    continue;
                }

                try
                {
                    StartPersisted(message.Request, follow: false, message.Interrupted, message.LastChunk);
                }
                catch (EntityNotAssignedToRunnerException)
                {
                    // The shard left while reading; its next owner resets and reads it.
                }
            }

            if (batch.Count < StorageReadBatch)
            {
                break;
            }
        }
    }

    private void WakeStorageLoop() => Release(_storageWake);

    private static readonly TimeSpan DueMargin = TimeSpan.FromMilliseconds(25);

    /// <summary>Wakes the storage loop now and, for a delayed message, again at <paramref name="due"/>.</summary>
    private void WakeStorageLoopAt(DateTimeOffset? due)
    {
        if (due is { } at)
        {
            var ms = at.ToUnixTimeMilliseconds();
            for (var current = Interlocked.Read(ref _nextDueMs); ms < current; current = Interlocked.Read(ref _nextDueMs))
            {
                if (Interlocked.CompareExchange(ref _nextDueMs, ms, current) == current)
                {
                    break;
                }
            }
        }

        WakeStorageLoop();
    }

    /// <summary>Until the next storage read: the poll interval, or less when a delayed message falls due sooner.</summary>
    private TimeSpan NextStorageReadWait()
    {
        var due = Interlocked.Read(ref _nextDueMs);
        if (due == long.MaxValue)
        {
            return _options.EntityMessagePollInterval;
        }

        var untilDue = DateTimeOffset.FromUnixTimeMilliseconds(due) + DueMargin - DateTimeOffset.UtcNow;
        return untilDue <= TimeSpan.Zero ? TimeSpan.Zero : Min(untilDue, _options.EntityMessagePollInterval);
    }

    private void RequirePersistence()
    {
        if (_messages is null)
        {
            throw new PersistenceException("Persisted messages require a MessageStorage; none is configured on this runner.");
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Persisted request {RequestId} failed unexpectedly; it stays stored and will be retried")]
    private static partial void LogPersistedRunFailed(ILogger logger, Exception exception, long requestId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Message storage is failing; retrying")]
    private static partial void LogStorageRetry(ILogger logger, Exception exception);
}
