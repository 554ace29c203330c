namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>The protocol a node's outgoing runner calls speak (<c>Cluster:Socket:Protocol</c>). A runner's port serves both.</summary>
public enum RunnerProtocol
{
    /// <summary>This runtime's length-prefixed MessagePack frames: the fast default, with every feature (persisted messages, TLS, the cluster secret).</summary>
    Native,

    /// <summary>
    /// Effect's socket runner protocol with ndjson serialization, to call entities on Effect TS runners: entity payloads
    /// and replies travel as JSON (<c>ClusterSerializer.JsonOptions</c>). Volatile requests and streams only; no TLS or secret.
    /// </summary>
    Effect,
}
