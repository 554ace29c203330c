using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Observability;
using SocketRunnerAspire.Cluster.Runners;
using SocketRunnerAspire.Cluster.Serialization;
using SocketRunnerAspire.Cluster.Shards;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Timing;
using SocketRunnerAspire.Cluster.Transport;

namespace SocketRunnerAspire.Cluster.Persistence;

/// <summary>
/// The sender side of persisted messages (Effect's <c>Sharding.sendOutgoing</c> with <c>Runners.notifyWith</c>): save
/// first, then follow the owner directly when it can be reached (the local <see cref="PersistedDelivery"/> or the owner
/// over the transport), else wait for the reply in storage. Nothing is sent when the save fails, and the caller learns
/// it from a <see cref="PersistenceException"/>.
/// </summary>
/// <remarks><c>messages</c>: Null when no MessageStorage is configured: every persisted send then fails with <see cref="PersistenceException"/>.</remarks>
/// <remarks><c>delivery</c>: The owner side on a runner with storage; null on clients.</remarks>
/// <remarks><c>schedule</c>: This runner's storage read schedule, woken for its own shards; null on clients.</remarks>
internal sealed partial class PersistedSender(
    ShardingOptions options,
    IMessageStorage? messages,
    ReplyPoller? replies,
    PersistedDelivery? delivery,
    StorageReadSchedule? schedule,
    ShardOwnership ownership,
    RunnerMembership membership,
    IRunnerTransport transport,
    ClusterSerializer serializer,
    TimeProvider time,
    ILogger logger)
{
    /// <remarks><paramref name="primaryKey"/>: the de-duplication key when the caller names one (the HTTP proxy's Idempotency-Key), else the message's own <see cref="IPrimaryKey"/>.</remarks>
    public async Task<TReply> SendAsync<TReply>(EntityAddress address, RpcKind kind, MessageTraits traits, object request, string? primaryKey, CancellationToken cancellationToken)
    {
        var persisted = NewPersistedRequest(address, kind, traits.Tag, request, primaryKey);
        var saved = await SaveRequestAsync(persisted, cancellationToken).ConfigureAwait(false);
        PersistedReply reply;
        if (saved is SaveRequestResult.Duplicate duplicate)
        {
            if (kind == RpcKind.Tell)
            {
                return default!;
            }

            reply = duplicate.LastReply is { IsFinal: true } final
                ? final
                : await WaitForStoredReplyAsync(duplicate.OriginalId, address, cancellationToken).ConfigureAwait(false);
        }
        else if (kind == RpcKind.Tell)
        {
            // Effect's "discard": stored means delivered eventually; tell the owner to look now (or at its time).
            await NotifyOwnerAsync(address, persisted.DeliverAt).ConfigureAwait(false);
            return default!;
        }
        else
        {
            reply = await DeliverPersistedAsync(persisted, traits, cancellationToken).ConfigureAwait(false);
        }

        if (reply.IsFailure)
        {
            throw ReplyFailure.Decode(reply.Payload);
        }

        return kind == RpcKind.Tell ? default! : serializer.Deserialize<TReply>(reply.Payload);
    }

    /// <summary>
    /// Stores a message and returns without waiting for its reply (Effect's <c>discard</c>): the owner runs it and saves
    /// the reply (of a request), which others read from storage. A duplicate is not sent again.
    /// </summary>
    public async Task DiscardAsync(EntityAddress address, RpcKind kind, MessageTraits traits, object request, CancellationToken cancellationToken)
    {
        var persisted = NewPersistedRequest(address, kind, traits.Tag, request, primaryKey: null);
        if (await SaveRequestAsync(persisted, cancellationToken).ConfigureAwait(false) is not SaveRequestResult.Duplicate)
        {
            await NotifyOwnerAsync(address, persisted.DeliverAt).ConfigureAwait(false);
        }
    }

    private PersistedRequest NewPersistedRequest(EntityAddress address, RpcKind kind, string tag, object request, string? primaryKey)
    {
        var current = Activity.Current;
        return new PersistedRequest(membership.Ids.Next(), address, tag, kind, serializer.SerializeObject(request),
            primaryKey ?? (request as IPrimaryKey)?.PrimaryKey, (request as IDeliverAt)?.DeliverAt, current?.Id, current?.TraceStateString);
    }

    private async Task<SaveRequestResult> SaveRequestAsync(PersistedRequest request, CancellationToken cancellationToken)
    {
        var storage = messages ?? throw new PersistenceException(
            $"{request.Tag} is a persisted message, and persisted messages require a MessageStorage (register an IMessageStorage).");
        using var timeout = TimeoutScope.Start(options.StorageTimeout, time, cancellationToken);
        try
        {
            return await storage.SaveRequestAsync(request, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new PersistenceException($"Saving persisted message {request.Tag} for {request.Address} took longer than {options.StorageTimeout}; it may not have been stored (resend it with the same primary key).");
        }
    }

    private async Task<PersistedReply> DeliverPersistedAsync(PersistedRequest request, MessageTraits traits, CancellationToken cancellationToken)
    {
        try
        {
            long? registrationDeadline = null;
            while (request.DeliverAt is not { } at || at <= time.GetUtcNow())
            {
                try
                {
                    if (await FollowOwnerAsync(request, cancellationToken).ConfigureAwait(false) is { } reply)
                    {
                        return reply;
                    }

                    break;
                }
                catch (EntityTypeNotRegisteredException)
                {
                    // The owner does not host the type (a rolling deploy adding it): the request stays stored and an
                    // owner that hosts the type runs it. Wait for that in storage; at the end ask the owner again.
                    registrationDeadline ??= time.GetTimestamp() + (long)(options.EntityRegistrationTimeout.TotalSeconds * time.TimestampFrequency);
                    var remaining = TimeSpan.FromSeconds((registrationDeadline.Value - time.GetTimestamp()) / (double)time.TimestampFrequency);
                    if (remaining <= TimeSpan.Zero)
                    {
                        throw;
                    }

                    if (await WaitForStoredReplyAsync(request.Id, request.Address, remaining, cancellationToken).ConfigureAwait(false) is { } stored)
                    {
                        return stored;
                    }
                }
            }

            return await WaitForStoredReplyAsync(request.Id, request.Address, cancellationToken, request.DeliverAt).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !traits.Uninterruptible)
        {
            await InterruptAsync(request).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Delivers the request to its owner directly (here, or over the transport) and returns the final reply; null
    /// when the owner cannot be followed (unknown, unreachable, moving), as the reply will then be in storage.
    /// </summary>
    private async Task<PersistedReply?> FollowOwnerAsync(PersistedRequest request, CancellationToken cancellationToken)
    {
        if (IsLocal(request.Address))
        {
            try
            {
                return await delivery!.RunAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (EntityNotAssignedToRunnerException)
            {
                // Shard moving: the request is stored; its next owner runs it.
            }
        }
        else if (membership.OwnerOf(request.Address.ShardId) is { } owner && owner != membership.Self)
        {
            Activity.Current?.SetTag(ClusterDiagnostics.TargetRunnerTag, owner.ToString());
            try
            {
                var reply = await transport.RequestAsync(owner, EncodeEnvelope(request), persisted: true, cancellationToken).ConfigureAwait(false);
                return new PersistedReply(request.Id, 0, IsFinal: true, IsFailure: false, reply);
            }
            catch (Exception ex) when (IsFollowFailure(ex))
            {
                // The owner could not be followed; the request is stored and the reply will be too.
            }
        }

        return null;
    }

    public async IAsyncEnumerable<TItem> StreamAsync<TItem>(EntityAddress address, MessageTraits traits, object request, string? primaryKey, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var persisted = NewPersistedRequest(address, RpcKind.Stream, traits.Tag, request, primaryKey);
        var saved = await SaveRequestAsync(persisted, cancellationToken).ConfigureAwait(false);
        using var consumerGone = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var items = Channel.CreateBounded<TItem>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
        var producer = FollowPersistedStreamAsync(persisted, saved as SaveRequestResult.Duplicate, traits, items.Writer, consumerGone.Token);
        try
        {
            await foreach (var item in items.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return item;
            }
        }
        finally
        {
            await consumerGone.CancelAsync().ConfigureAwait(false);
            await producer.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Writes the chunks of a persisted stream to <paramref name="items"/>, acknowledging each, from the owner
    /// directly when possible and from storage otherwise; completes the writer with the stream's end or error.
    /// </summary>
    private async Task FollowPersistedStreamAsync<TItem>(PersistedRequest request, SaveRequestResult.Duplicate? duplicate, MessageTraits traits, ChannelWriter<TItem> items, CancellationToken cancellationToken)
    {
        var id = duplicate?.OriginalId ?? request.Id;
        var lastSeen = -1;
        try
        {
            if (duplicate is null && (request.DeliverAt is not { } at || at <= time.GetUtcNow()))
            {
                var owner = IsLocal(request.Address) ? membership.Self : membership.OwnerOf(request.Address.ShardId);
                try
                {
                    var chunks = owner is null ? null
                        : owner == membership.Self ? delivery!.FollowAsync(request, cancellationToken)
                        : transport.StreamAsync(owner.Value, EncodeEnvelope(request), persisted: true, cancellationToken);
                    if (chunks is not null)
                    {
                        await foreach (var encoded in chunks.ConfigureAwait(false))
                        {
                            var chunk = PersistedReplyCodec.Decode(id, encoded);
                            if (chunk.Sequence > lastSeen)
                            {
                                await items.WriteAsync(serializer.Deserialize<TItem>(chunk.Payload), cancellationToken).ConfigureAwait(false);
                                lastSeen = chunk.Sequence;
                                await AcknowledgeAsync(request.Address, id, chunk.Sequence).ConfigureAwait(false);
                            }
                        }

                        items.TryComplete();
                        return;
                    }
                }
                catch (Exception ex) when (IsFollowFailure(ex) || ex is EntityTypeNotRegisteredException)
                {
                    // Fall back to storage below (an owner that does not host the type leaves the request stored for one that does).
                }
            }

            var deadline = time.GetTimestamp() + (long)(options.PersistedReplyTimeout.TotalSeconds * time.TimestampFrequency);
            var nextNudge = 0L;
            while (true)
            {
                if (time.GetTimestamp() >= nextNudge)
                {
                    await NotifyOwnerAsync(request.Address).ConfigureAwait(false);
                    nextNudge = time.GetTimestamp() + (long)(NudgeInterval.TotalSeconds * time.TimestampFrequency);
                }

                IReadOnlyList<PersistedReply> replies = [];
                try
                {
                    using var timeout = TimeoutScope.Start(options.StorageTimeout, time, cancellationToken);
                    replies = await messages!.RepliesForAsync([id], timeout.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is PersistenceException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
                {
                    LogStorageRetry(logger, ex);
                }

                foreach (var reply in replies)
                {
                    if (reply.IsFinal)
                    {
                        items.TryComplete(reply.IsFailure ? ReplyFailure.Decode(reply.Payload) : null);
                        return;
                    }

                    if (reply.Sequence > lastSeen)
                    {
                        await items.WriteAsync(serializer.Deserialize<TItem>(reply.Payload), cancellationToken).ConfigureAwait(false);
                        lastSeen = reply.Sequence;
                        await AcknowledgeAsync(request.Address, id, reply.Sequence).ConfigureAwait(false);
                    }
                }

                if (time.GetTimestamp() >= deadline)
                {
                    throw new PersistedReplyTimeoutException(request.Address, id, options.PersistedReplyTimeout);
                }

                await Task.Delay(options.EntityReplyPollInterval, time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
        {
            if (!traits.Uninterruptible)
            {
                await InterruptAsync(request with { Id = id }).ConfigureAwait(false);
            }

            items.TryComplete(ex);
        }
        catch (Exception ex)
        {
            items.TryComplete(ex);
        }
    }

    /// <summary>Failures after which the sender stops following the owner and reads the reply from storage instead.</summary>
    private static bool IsFollowFailure(Exception ex) => ex is EntityNotAssignedToRunnerException or RunnerUnavailableException
        or PersistenceException or MailboxFullException or EntityCapacityExceededException or AlreadyProcessingMessageException;

    private TimeSpan NudgeInterval => options.EntityReplyPollInterval * 5;

    /// <summary>Waits for the final reply in storage, nudging the current owner to read storage now rather than at its next poll.</summary>
    private async Task<PersistedReply> WaitForStoredReplyAsync(long requestId, EntityAddress address, CancellationToken cancellationToken, DateTimeOffset? due = null)
    {
        var reply = replies!.WaitAsync(requestId, options.PersistedReplyTimeout, cancellationToken);
        while (!reply.IsCompleted)
        {
            await NotifyOwnerAsync(address, due).ConfigureAwait(false);
            await Task.WhenAny(reply, Task.Delay(NudgeInterval, time, cancellationToken)).ConfigureAwait(false);
        }

        try
        {
            return await reply.ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new PersistedReplyTimeoutException(address, requestId, options.PersistedReplyTimeout);
        }
    }

    /// <summary>The final reply saved within <paramref name="timeout"/>, nudging the owner meanwhile; null when none was.</summary>
    private async Task<PersistedReply?> WaitForStoredReplyAsync(long requestId, EntityAddress address, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var reply = replies!.WaitAsync(requestId, timeout, cancellationToken);
        while (!reply.IsCompleted)
        {
            await NotifyOwnerAsync(address).ConfigureAwait(false);
            await Task.WhenAny(reply, Task.Delay(NudgeInterval, time, cancellationToken)).ConfigureAwait(false);
        }

        try
        {
            return await reply.ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    /// <summary>Tells the shard's owner that storage has something for it (best effort; the owner also polls).</summary>
    private async Task NotifyOwnerAsync(EntityAddress address, DateTimeOffset? due = null)
    {
        var owner = membership.OwnerOf(address.ShardId);
        if (owner is null)
        {
            return;
        }

        if (owner == membership.Self)
        {
            schedule?.WakeAt(due);
            return;
        }

        try
        {
            var payload = new byte[due is null ? 0 : sizeof(long)];
            if (due is { } at)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(payload, at.ToUnixTimeMilliseconds());
            }

            using var timeout = TimeoutScope.Start(options.StorageTimeout, time);
            await transport.NotifyAsync(owner.Value, payload, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ClusterException or OperationCanceledException)
        {
            // The owner is away; whoever owns the shard next reads storage when it acquires it.
        }
    }

    private Task AcknowledgeAsync(EntityAddress address, long requestId, int sequence) =>
        SendEnvelopeAsync(address, new PersistedEnvelope.AckChunk(requestId, sequence));

    /// <summary>The caller stopped waiting for an interruptible persisted request: save the interrupt and tell the owner.</summary>
    private Task InterruptAsync(PersistedRequest request) => SendEnvelopeAsync(request.Address, new PersistedEnvelope.Interrupt(request.Id));

    /// <summary>Saves an ack or interrupt (so a future owner sees it) and tells the current owner directly; best effort.</summary>
    private async Task SendEnvelopeAsync(EntityAddress address, PersistedEnvelope envelope)
    {
        using var timeout = TimeoutScope.Start(options.StorageTimeout, time);
        try
        {
            await messages!.SaveEnvelopeAsync(envelope, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ClusterException or OperationCanceledException)
        {
            LogStorageRetry(logger, ex);
        }

        try
        {
            if (membership.OwnerOf(address.ShardId) is not { } owner)
            {
                return;
            }

            if (owner == membership.Self)
            {
                delivery?.Apply(envelope);
            }
            else
            {
                await transport.SendEnvelopeAsync(owner, PersistedEnvelopeCodec.Encode(envelope), timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is ClusterException or OperationCanceledException)
        {
            // The owner also finds acks and interrupts in storage.
        }
    }

    private static byte[] EncodeEnvelope(PersistedRequest request) =>
        EnvelopeCodec.Encode(new Envelope(request.Id, request.Address, request.Tag, request.Kind, request.Payload, request.TraceParent, request.TraceState));

    /// <summary>True when the request's shard is owned here: the local delivery runs it (or answers that its type is not hosted here).</summary>
    private bool IsLocal(EntityAddress address) => delivery is not null && ownership.IsOwned(address.ShardId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Message storage is failing; retrying")]
    private static partial void LogStorageRetry(ILogger logger, Exception exception);
}
