namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>A peer sent bytes that are not a valid frame; the connection cannot continue.</summary>
internal sealed class MalformedFrameException(string message, Exception? inner = null) : Exception(message, inner);
