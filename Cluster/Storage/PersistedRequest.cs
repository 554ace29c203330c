using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Storage;

/// <summary>A saved request of a persisted RPC.</summary>
/// <param name="Id">Unique request id (a Snowflake id).</param>
/// <param name="Address">The target entity.</param>
/// <param name="Tag">The RPC name.</param>
/// <param name="Kind">Request, stream or tell.</param>
/// <param name="Payload">The serialized message.</param>
/// <param name="PrimaryKey">Caller-chosen de-duplication key, unique per entity and RPC; null for none.</param>
/// <param name="DeliverAt">Not handed out before this time; null for now.</param>
/// <param name="TraceParent">W3C traceparent of the sender.</param>
/// <param name="TraceState">W3C tracestate of the sender.</param>
public sealed record PersistedRequest(
    long Id,
    EntityAddress Address,
    string Tag,
    RpcKind Kind,
    ReadOnlyMemory<byte> Payload,
    string? PrimaryKey = null,
    DateTimeOffset? DeliverAt = null,
    string? TraceParent = null,
    string? TraceState = null)
{
    /// <summary>The de-duplication key as storage keeps it (Effect's <c>primaryKeyByAddress</c>): type/id/tag/key.</summary>
    public string? StorageKey => PrimaryKey is null ? null : StorageKeyOf(Address, Tag, PrimaryKey);

    /// <summary>The de-duplication key storage keeps for <paramref name="primaryKey"/> of RPC <paramref name="tag"/> of <paramref name="address"/>.</summary>
    public static string StorageKeyOf(EntityAddress address, string tag, string primaryKey) => $"{address.EntityType}/{address.EntityId}/{tag}/{primaryKey}";
}
