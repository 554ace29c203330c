namespace SocketRunnerAspire.Cluster.Errors;

/// <summary>No entity type (or no RPC of that type) with this name is registered on the runner.</summary>
public class UnknownEntityTypeException(string message) : ClusterException(message);
