using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>
/// Effect's <c>Envelope.PartialRequest</c>, the request inside an <c>Effect</c> or <c>Stream</c> RPC:
/// <c>{_tag:"Request", requestId:"&lt;snowflake&gt;", address, tag, payload, headers, traceId?, spanId?, sampled?}</c>.
/// <see cref="Payload"/> is the raw JSON of the entity RPC's payload (Effect's JSON codec output), a slice of the frame.
/// </summary>
internal readonly record struct EffectPartialRequest(
    long RequestId,
    EntityAddress Address,
    string Tag,
    ReadOnlyMemory<byte> Payload,
    string? TraceId,
    string? SpanId,
    bool? Sampled)
{
    /// <summary>The W3C traceparent of the sender's span, when it sent one.</summary>
    public string? TraceParent => TraceId is { Length: 32 } && SpanId is { Length: 16 }
        ? $"00-{TraceId}-{SpanId}-{(Sampled == false ? "00" : "01")}"
        : null;
}
