using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Transport;

/// <summary>
/// A request on its way to an entity: Effect's <c>Envelope.Request</c>. A decoded envelope's payload is a slice of the
/// bytes it was decoded from.
/// </summary>
internal readonly record struct Envelope(
    long RequestId,
    EntityAddress Address,
    string Tag,
    RpcKind Kind,
    ReadOnlyMemory<byte> Payload,
    string? TraceParent,
    string? TraceState);
