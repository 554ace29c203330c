namespace SocketRunnerAspire.Cluster.Errors;

/// <summary>Storage failed or is unreachable; for a persisted message, nothing is assumed delivered.</summary>
public sealed class PersistenceException(string message, Exception? innerException = null) : ClusterException(message, innerException);
