namespace SocketRunnerAspire.Cluster.Errors;

/// <summary>The entity's handler threw; <see cref="ErrorType"/> names the original exception type.</summary>
public sealed class EntityHandlerException(string errorType, string message, Exception? innerException = null)
    : ClusterException(message, innerException)
{
    /// <summary>Full name of the exception type the handler threw.</summary>
    public string ErrorType { get; } = errorType;
}
