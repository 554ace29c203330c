using System.IO.Pipelines;

namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>Pipes over a stream (a TLS stream): completing both disposes the stream and what it wraps.</summary>
internal sealed class StreamDuplexPipe(Stream stream) : IDuplexPipe
{
    public PipeReader Input { get; } = PipeReader.Create(stream);

    public PipeWriter Output { get; } = PipeWriter.Create(stream);
}
