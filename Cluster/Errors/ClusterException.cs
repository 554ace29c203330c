namespace SocketRunnerAspire.Cluster.Errors;

/// <summary>Base of the cluster's typed errors (Effect's <c>ClusterError</c>); catch it to handle them all.</summary>
public abstract class ClusterException : Exception
{
    /// <summary>Creates the error.</summary>
    protected ClusterException(string message, Exception? innerException = null) : base(message, innerException)
    {
    }
}
