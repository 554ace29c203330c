namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>The shape of an entity RPC. Values are part of the wire format.</summary>
public enum RpcKind : byte
{
    /// <summary>Request → one reply.</summary>
    Request = 0,

    /// <summary>Request → stream of replies.</summary>
    Stream = 1,

    /// <summary>Fire-and-forget.</summary>
    Tell = 2,
}
