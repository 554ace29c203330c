namespace SocketRunnerAspire.Cluster.Errors;

/// <summary>
/// A runner connection was refused because one side could not prove the cluster secret, or only one side has one
/// (<c>Cluster:Socket:ClusterSecret</c> differs between nodes). Not retried: it is a configuration error.
/// </summary>
public sealed class ClusterAuthenticationException(string message) : ClusterException(message);
