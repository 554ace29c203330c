using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using SocketRunnerAspire.Cluster.Serialization;

namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>
/// One RPC of an entity type, bound at registration to typed delegates, so the runtime dispatches a
/// message by tag without reflection.
/// </summary>
internal abstract class RpcBinding(string tag, RpcKind kind)
{
    private string? _handleSpanName;

    public string Tag { get; } = tag;

    public RpcKind Kind { get; } = kind;

    /// <summary>The name of the span that handles this RPC (a binding belongs to one entity type, so it is formatted once).</summary>
    public string HandleSpanName(string entityType) => _handleSpanName ??= $"handle {entityType}.{Tag}";

    /// <summary>A stream whose handler takes a <see cref="StreamResume{TItem}"/>: resumed, it yields only new items, so none is skipped.</summary>
    public virtual bool IsResumable => false;

    public abstract object DeserializeRequest(ClusterSerializer serializer, ReadOnlyMemory<byte> payload);

    /// <summary>
    /// <paramref name="request"/> with where a resumed stream continues: after chunk <paramref name="lastSequence"/>,
    /// whose saved payload <paramref name="lastPayload"/> is decoded as the stream's item type. Only for resumable bindings.
    /// </summary>
    public virtual object ResumeAt(ClusterSerializer serializer, object request, int lastSequence, ReadOnlyMemory<byte> lastPayload) =>
        throw new NotSupportedException();

    public abstract byte[] SerializeReply(ClusterSerializer serializer, object? reply);

    public abstract void SerializeReply(ClusterSerializer serializer, IBufferWriter<byte> output, object? reply);

    /// <summary>The request from its JSON form (<see cref="ClusterSerializer.JsonOptions"/>), as Effect peers send it.</summary>
    public abstract object DeserializeJsonRequest(ClusterSerializer serializer, ReadOnlySpan<byte> json);

    /// <summary>Writes a reply (a stream's item; <c>null</c> for a tell) as JSON, as Effect peers read it.</summary>
    public abstract void SerializeJsonReply(ClusterSerializer serializer, Utf8JsonWriter output, object? reply);

    public virtual ValueTask<object?> InvokeAsync(object entity, object request, EntityContext context, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public virtual IAsyncEnumerable<object?> InvokeStream(object entity, object request, EntityContext context, CancellationToken cancellationToken) =>
        throw new NotSupportedException();
}

internal sealed class RequestBinding<TEntity, TRequest, TReply>(
    string tag, Func<TEntity, TRequest, EntityContext, CancellationToken, ValueTask<TReply>> handler)
    : RpcBinding(tag, RpcKind.Request)
{
    public override object DeserializeRequest(ClusterSerializer serializer, ReadOnlyMemory<byte> payload) => serializer.DeserializeMessage<TRequest>(payload);

    public override byte[] SerializeReply(ClusterSerializer serializer, object? reply) => serializer.Serialize((TReply)reply!);

    public override void SerializeReply(ClusterSerializer serializer, IBufferWriter<byte> output, object? reply) => serializer.Serialize(output, (TReply)reply!);

    public override object DeserializeJsonRequest(ClusterSerializer serializer, ReadOnlySpan<byte> json) => serializer.DeserializeJsonMessage<TRequest>(json);

    public override void SerializeJsonReply(ClusterSerializer serializer, Utf8JsonWriter output, object? reply) => serializer.SerializeJson(output, (TReply)reply!);

    public override async ValueTask<object?> InvokeAsync(object entity, object request, EntityContext context, CancellationToken cancellationToken) =>
        await handler((TEntity)entity, (TRequest)request, context, cancellationToken).ConfigureAwait(false);
}

internal sealed class TellBinding<TEntity, TMessage>(
    string tag, Func<TEntity, TMessage, EntityContext, CancellationToken, ValueTask> handler)
    : RpcBinding(tag, RpcKind.Tell)
{
    public override object DeserializeRequest(ClusterSerializer serializer, ReadOnlyMemory<byte> payload) => serializer.DeserializeMessage<TMessage>(payload);

    public override byte[] SerializeReply(ClusterSerializer serializer, object? reply) => [];

    public override void SerializeReply(ClusterSerializer serializer, IBufferWriter<byte> output, object? reply)
    {
    }

    public override object DeserializeJsonRequest(ClusterSerializer serializer, ReadOnlySpan<byte> json) => serializer.DeserializeJsonMessage<TMessage>(json);

    public override void SerializeJsonReply(ClusterSerializer serializer, Utf8JsonWriter output, object? reply) => output.WriteNullValue();

    public override async ValueTask<object?> InvokeAsync(object entity, object request, EntityContext context, CancellationToken cancellationToken)
    {
        await handler((TEntity)entity, (TMessage)request, context, cancellationToken).ConfigureAwait(false);
        return null;
    }
}

internal sealed class StreamBinding<TEntity, TRequest, TItem>(
    string tag, Func<TEntity, TRequest, EntityContext, CancellationToken, IAsyncEnumerable<TItem>> handler)
    : RpcBinding(tag, RpcKind.Stream)
{
    public override object DeserializeRequest(ClusterSerializer serializer, ReadOnlyMemory<byte> payload) => serializer.DeserializeMessage<TRequest>(payload);

    public override byte[] SerializeReply(ClusterSerializer serializer, object? reply) => serializer.Serialize((TItem)reply!);

    public override void SerializeReply(ClusterSerializer serializer, IBufferWriter<byte> output, object? reply) => serializer.Serialize(output, (TItem)reply!);

    public override object DeserializeJsonRequest(ClusterSerializer serializer, ReadOnlySpan<byte> json) => serializer.DeserializeJsonMessage<TRequest>(json);

    public override void SerializeJsonReply(ClusterSerializer serializer, Utf8JsonWriter output, object? reply) => serializer.SerializeJson(output, (TItem)reply!);

    public override async IAsyncEnumerable<object?> InvokeStream(object entity, object request, EntityContext context, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var item in handler((TEntity)entity, (TRequest)request, context, cancellationToken).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return item;
        }
    }
}

internal sealed class ResumableStreamBinding<TEntity, TRequest, TItem>(
    string tag, Func<TEntity, TRequest, StreamResume<TItem>, EntityContext, CancellationToken, IAsyncEnumerable<TItem>> handler)
    : RpcBinding(tag, RpcKind.Stream)
{
    public override bool IsResumable => true;

    public override object DeserializeRequest(ClusterSerializer serializer, ReadOnlyMemory<byte> payload) => serializer.DeserializeMessage<TRequest>(payload);

    public override object ResumeAt(ClusterSerializer serializer, object request, int lastSequence, ReadOnlyMemory<byte> lastPayload) =>
        new ResumedStreamRequest(request, new StreamResume<TItem>(lastSequence + 1, hasLastSent: true, serializer.Deserialize<TItem>(lastPayload)));

    public override byte[] SerializeReply(ClusterSerializer serializer, object? reply) => serializer.Serialize((TItem)reply!);

    public override void SerializeReply(ClusterSerializer serializer, IBufferWriter<byte> output, object? reply) => serializer.Serialize(output, (TItem)reply!);

    public override object DeserializeJsonRequest(ClusterSerializer serializer, ReadOnlySpan<byte> json) => serializer.DeserializeJsonMessage<TRequest>(json);

    public override void SerializeJsonReply(ClusterSerializer serializer, Utf8JsonWriter output, object? reply) => serializer.SerializeJson(output, (TItem)reply!);

    public override async IAsyncEnumerable<object?> InvokeStream(object entity, object request, EntityContext context, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (message, resume) = request is ResumedStreamRequest resumed
            ? ((TRequest)resumed.Request, (StreamResume<TItem>)resumed.Resume)
            : ((TRequest)request, StreamResume<TItem>.Start);
        await foreach (var item in handler((TEntity)entity, message, resume, context, cancellationToken).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return item;
        }
    }
}
