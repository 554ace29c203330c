using System.Diagnostics;
using System.Runtime.CompilerServices;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Observability;
using SocketRunnerAspire.Cluster.Persistence;
using SocketRunnerAspire.Cluster.Runners;
using SocketRunnerAspire.Cluster.Serialization;
using SocketRunnerAspire.Cluster.Shards;
using SocketRunnerAspire.Cluster.Transport;

namespace SocketRunnerAspire.Cluster.Routing;

/// <summary>
/// Sends a message to its entity, wherever the entity's shard is owned (Effect's <c>Sharding.sendOutgoing</c>): to the
/// local instance when this runner owns the shard, else over the transport to the owner the assignment names, retrying
/// every send-retry interval while the shard has no owner or is moving, up to the send timeout. Persisted messages go
/// to <see cref="PersistedSender"/>.
/// </summary>
internal sealed class MessageRouter(
    ShardingOptions options,
    EntityHost entities,
    ShardOwnership ownership,
    RunnerMembership membership,
    IRunnerTransport transport,
    PersistedSender persisted,
    ClusterSerializer serializer,
    TimeProvider time)
{
    private readonly string _runnerName = membership.Self?.ToString() ?? "client";
    private long _nextRequestId;
    private readonly bool _jsonPayloads = transport.PayloadFormat == PayloadFormat.Json;
    private volatile bool _stopped;

    /// <summary>
    /// The node stopped: a volatile send waiting to retry gives up instead of sending again (the transport interrupts
    /// what was sent; a retry would run it anew on the runner).
    /// </summary>
    public void Stop() => _stopped = true;

    /// <remarks>
    /// The caller gets a <see cref="Task{TResult}"/>, one small allocation; the send's own state (retries, span,
    /// timings, awaiters) lives in a pooled state machine, so it costs nothing per message once the pool is warm.
    /// </remarks>
    /// <remarks><paramref name="primaryKey"/>: when set, a persisted message's primary key instead of its own <see cref="IPrimaryKey"/>.</remarks>
    public Task<TReply> SendAsync<TReply>(EntityAddress address, RpcKind kind, object request, CancellationToken cancellationToken, string? primaryKey = null)
    {
        var send = SendPooledAsync<TReply>(address, kind, request, primaryKey, cancellationToken);
        return send.IsCompletedSuccessfully ? Task.FromResult(send.Result) : AsTask(send);

        static async Task<TReply> AsTask(ValueTask<TReply> send) => await send.ConfigureAwait(false);
    }

    /// <summary>Stores a persisted request and returns once it is stored, not waiting for its reply (Effect's discard).</summary>
    public async Task SendDiscardAsync(EntityAddress address, RpcKind kind, object request, CancellationToken cancellationToken)
    {
        var traits = MessageTraits.Of(request.GetType());
        if (!traits.Persisted)
        {
            throw new InvalidOperationException($"{traits.Tag} is not persisted; only a stored request can be sent without waiting for its reply.");
        }

        using var activity = StartSendActivity(address, traits.Tag);
        await persisted.DiscardAsync(address, kind, traits, request, cancellationToken).ConfigureAwait(false);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<TReply> SendPooledAsync<TReply>(EntityAddress address, RpcKind kind, object request, string? primaryKey, CancellationToken cancellationToken)
    {
        var traits = MessageTraits.Of(request.GetType());
        var tag = traits.Tag;
        using var activity = StartSendActivity(address, tag);
        var started = time.GetTimestamp();
        var deadline = started + ToTimestamp(options.SendTimeout);
        var registrationDeadline = Math.Min(deadline, started + ToTimestamp(options.EntityRegistrationTimeout));
        Exception? last = null;
        try
        {
            if (traits.Persisted)
            {
                return await persisted.SendAsync<TReply>(address, kind, traits, request, primaryKey, cancellationToken).ConfigureAwait(false);
            }

            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (entities.TryGetManager(address.EntityType, out var manager) && ownership.IsOwned(address.ShardId))
                {
                    activity?.SetTag(ClusterDiagnostics.TargetRunnerTag, _runnerName);
                    try
                    {
                        return await SendLocalAsync<TReply>(manager, address, kind, tag, request, cancellationToken).ConfigureAwait(false);
                    }
                    catch (EntityNotAssignedToRunnerException ex)
                    {
                        last = ex;
                    }
                }
                else if (ownership.IsOwned(address.ShardId))
                {
                    // Owned here, type not hosted here (a rolling deploy adding it): the shard may move to a runner that hosts it.
                    last = EntityHost.NotRegistered(address.EntityType, membership.Self);
                }
                else if (membership.OwnerOf(address.ShardId) is { } owner && owner != membership.Self)
                {
                    activity?.SetTag(ClusterDiagnostics.TargetRunnerTag, owner.ToString());
                    try
                    {
                        using var reply = await transport.RequestAsync(owner, EncodeEnvelope(address, tag, kind, request), persisted: false, cancellationToken).ConfigureAwait(false);
                        return kind == RpcKind.Tell ? default! : DecodeReply<TReply>(reply.Memory);
                    }
                    catch (Exception ex) when (ex is EntityNotAssignedToRunnerException or EntityTypeNotRegisteredException)
                    {
                        last = ex;
                    }
                    catch (RunnerUnavailableException ex)
                    {
                        // The transport already reconnects (with back-off) on the next call; dropping its
                        // connection state here would reset that back-off on every retry.
                        last = ex;
                        membership.RequestSync();
                    }
                }
                else
                {
                    last ??= new EntityNotAssignedToRunnerException(address);
                }

                await DelayBeforeRetryAsync(last is EntityTypeNotRegisteredException ? registrationDeadline : deadline, last, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            ClusterDiagnostics.MessagesFailed.Add(1);
            throw;
        }
        finally
        {
            ClusterDiagnostics.RequestDuration.Record(time.GetElapsedTime(started).TotalMilliseconds,
                new KeyValuePair<string, object?>(ClusterDiagnostics.EntityTypeTag, address.EntityType),
                new KeyValuePair<string, object?>(ClusterDiagnostics.RpcTag, tag));
        }
    }

    public async IAsyncEnumerable<TItem> StreamAsync<TItem>(EntityAddress address, object request, [EnumeratorCancellation] CancellationToken cancellationToken, string? primaryKey = null)
    {
        var traits = MessageTraits.Of(request.GetType());
        using var activity = StartSendActivity(address, traits.Tag);
        var items = traits.Persisted
            ? persisted.StreamAsync<TItem>(address, traits, request, primaryKey, cancellationToken)
            : StreamVolatileAsync<TItem>(address, traits.Tag, request, cancellationToken);
        await foreach (var item in items.ConfigureAwait(false))
        {
            yield return item;
        }
    }

    /// <summary>Opens the stream at the shard's owner, retrying until the first item arrives; after that it is not retried.</summary>
    private async IAsyncEnumerable<TItem> StreamVolatileAsync<TItem>(EntityAddress address, string tag, object request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var deadline = started + ToTimestamp(options.SendTimeout);
        var registrationDeadline = Math.Min(deadline, started + ToTimestamp(options.EntityRegistrationTimeout));
        while (true)
        {
            IAsyncEnumerator<TItem>? items = null;
            Exception? retriable = null;
            try
            {
                items = OpenStream<TItem>(address, tag, request, cancellationToken).GetAsyncEnumerator(cancellationToken);
                if (!await items.MoveNextAsync().ConfigureAwait(false))
                {
                    yield break;
                }
            }
            catch (Exception ex) when (ex is EntityNotAssignedToRunnerException or RunnerUnavailableException or EntityTypeNotRegisteredException)
            {
                retriable = ex;
            }

            if (retriable is not null)
            {
                if (items is not null)
                {
                    await items.DisposeAsync().ConfigureAwait(false);
                }

                await DelayBeforeRetryAsync(retriable is EntityTypeNotRegisteredException ? registrationDeadline : deadline, retriable, cancellationToken).ConfigureAwait(false);
                continue;
            }

            await using (items!.ConfigureAwait(false))
            {
                do
                {
                    yield return items!.Current;
                }
                while (await items!.MoveNextAsync().ConfigureAwait(false));
            }

            yield break;
        }
    }

    private async IAsyncEnumerable<TItem> OpenStream<TItem>(EntityAddress address, string tag, object request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (ownership.IsOwned(address.ShardId))
        {
            var manager = entities.RequireManager(address.EntityType, membership.Self);
            var rpc = EntityHost.ResolveRpc(manager, tag, RpcKind.Stream);
            var work = new TaskEntityWork(rpc, LocalMessage(rpc, request), Activity.Current?.Context ?? default, cancellationToken);
            entities.Deliver(manager, address, work);
            await foreach (var item in work.Stream!.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return options.SimulateRemoteSerialization ? serializer.Deserialize<TItem>(rpc.SerializeReply(serializer, item)) : (TItem)item!;
            }

            yield break;
        }

        if (membership.OwnerOf(address.ShardId) is not { } owner || owner == membership.Self)
        {
            throw new EntityNotAssignedToRunnerException(address);
        }

        using var envelope = EncodeEnvelope(address, tag, RpcKind.Stream, request);
        await foreach (var item in transport.StreamAsync(owner, envelope.Memory, persisted: false, cancellationToken).ConfigureAwait(false))
        {
            yield return DecodeReply<TItem>(item);
        }
    }

    /// <summary>A remote reply, in the transport's payload format.</summary>
    private T DecodeReply<T>(ReadOnlyMemory<byte> reply) => _jsonPayloads ? serializer.DeserializeJson<T>(reply.Span) : serializer.Deserialize<T>(reply);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<TReply> SendLocalAsync<TReply>(EntityManager manager, EntityAddress address, RpcKind kind, string tag, object request, CancellationToken cancellationToken)
    {
        var rpc = EntityHost.ResolveRpc(manager, tag, kind);
        var work = new TaskEntityWork(rpc, LocalMessage(rpc, request), Activity.Current?.Context ?? default, cancellationToken);
        entities.Deliver(manager, address, work);
        if (kind == RpcKind.Tell)
        {
            return default!;
        }

        var reply = await work.Reply.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        return options.SimulateRemoteSerialization
            ? serializer.Deserialize<TReply>(rpc.SerializeReply(serializer, reply))
            : (TReply)reply!;
    }

    /// <summary>The message a local entity receives: a serialization round-trip of it when simulating a remote send.</summary>
    private object LocalMessage(RpcBinding rpc, object request) =>
        options.SimulateRemoteSerialization ? rpc.DeserializeRequest(serializer, serializer.SerializeObject(request)) : request;

    /// <summary>Waits one send-retry interval, or rethrows <paramref name="last"/> when that would pass the deadline.</summary>
    private Task DelayBeforeRetryAsync(long deadline, Exception last, CancellationToken cancellationToken)
    {
        if (_stopped)
        {
            throw new OperationCanceledException("The sending node stopped: the call was interrupted.", last);
        }

        if (time.GetTimestamp() + ToTimestamp(options.SendRetryInterval) > deadline)
        {
            throw last;
        }

        return Task.Delay(options.SendRetryInterval, time, cancellationToken);
    }

    private long ToTimestamp(TimeSpan span) => (long)(span.TotalSeconds * time.TimestampFrequency);

    private PooledBytes EncodeEnvelope(EntityAddress address, string tag, RpcKind kind, object request)
    {
        var current = Activity.Current;
        return EnvelopeCodec.EncodePooled(serializer, Interlocked.Increment(ref _nextRequestId), address, tag, kind, request, current?.Id, current?.TraceStateString, _jsonPayloads);
    }

    private Activity? StartSendActivity(EntityAddress address, string tag)
    {
        if (!ClusterDiagnostics.ActivitySource.HasListeners())
        {
            return null; // and no span name to format
        }

        var activity = ClusterDiagnostics.ActivitySource.StartActivity($"send {address.EntityType}.{tag}", ActivityKind.Client);
        if (activity is not null)
        {
            ClusterDiagnostics.TagEntityCall(activity, address, tag, _runnerName);
        }

        return activity;
    }
}
