namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>
/// A persisted message with a caller-chosen identity (Effect's <c>PrimaryKey</c>): a second message with the same
/// key for the same entity and RPC is not handled again; its sender gets the first one's reply.
/// </summary>
public interface IPrimaryKey
{
    /// <summary>The de-duplication key, unique per entity and RPC.</summary>
    string PrimaryKey { get; }
}
