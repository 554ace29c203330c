using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Transport;

/// <summary>A request on its way to an entity: Effect's <c>Envelope.Request</c>.</summary>
internal sealed record Envelope(
    long RequestId,
    EntityAddress Address,
    string Tag,
    RpcKind Kind,
    ReadOnlyMemory<byte> Payload,
    string? TraceParent,
    string? TraceState);
