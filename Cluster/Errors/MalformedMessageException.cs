namespace SocketRunnerAspire.Cluster.Errors;

/// <summary>A message could not be serialized or deserialized; it was not delivered.</summary>
public sealed class MalformedMessageException(string message, Exception? innerException = null) : ClusterException(message, innerException);
