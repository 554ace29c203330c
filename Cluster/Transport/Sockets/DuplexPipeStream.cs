using System.Buffers;
using System.IO.Pipelines;

namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>
/// A <see cref="Stream"/> over a Kestrel connection's pipes, so <see cref="System.Net.Security.SslStream"/> can
/// run on an accepted connection (Kestrel's own adapter is internal). Asynchronous only: nothing here blocks.
/// </summary>
internal sealed class DuplexPipeStream(IDuplexPipe pipe) : Stream
{
    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var result = await pipe.Input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var available = result.Buffer;
            if (!available.IsEmpty)
            {
                var count = (int)Math.Min(available.Length, buffer.Length);
                available.Slice(0, count).CopyTo(buffer.Span);
                pipe.Input.AdvanceTo(available.GetPosition(count));
                return count;
            }

            pipe.Input.AdvanceTo(available.End);
            if (result.IsCompleted)
            {
                return 0;
            }

            if (result.IsCanceled)
            {
                throw new OperationCanceledException(cancellationToken);
            }
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        await pipe.Output.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async Task FlushAsync(CancellationToken cancellationToken) =>
        await pipe.Output.FlushAsync(cancellationToken).ConfigureAwait(false);

    public override void Flush() => throw new NotSupportedException("Asynchronous only.");

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Asynchronous only.");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("Asynchronous only.");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            pipe.Input.Complete();
            pipe.Output.Complete();
        }

        base.Dispose(disposing);
    }
}
