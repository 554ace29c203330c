using System.Buffers;
using SocketRunnerAspire.Cluster.Transport;

namespace SocketRunnerAspire.Cluster.Buffers;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> over arrays rented from <see cref="MessageBufferPool"/>, for encoding a message
/// without allocating: <see cref="Rent"/> one, write, then either <see cref="Detach"/> the bytes (their owner returns
/// them) or <see cref="Dispose"/>. Writers are cached per thread (two, for encoding a payload inside an envelope),
/// so a writer must be rented and given back on the same thread, with no await in between.
/// </summary>
internal sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private const int MinimumSize = 256;

    [ThreadStatic]
    private static PooledBufferWriter? t_first;

    [ThreadStatic]
    private static PooledBufferWriter? t_second;

    private byte[] _buffer = [];
    private int _written;

    private PooledBufferWriter()
    {
    }

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public static PooledBufferWriter Rent(int sizeHint = MinimumSize)
    {
        var writer = t_first;
        if (writer is not null)
        {
            t_first = null;
        }
        else
        {
            writer = t_second ?? new PooledBufferWriter();
            t_second = null;
        }

        writer._buffer = MessageBufferPool.Rent(Math.Max(sizeHint, MinimumSize));
        writer._written = 0;
        return writer;
    }

    /// <summary>Hands the written bytes (and their rented array) to the caller and gives this writer back.</summary>
    public PooledBytes Detach()
    {
        var bytes = new PooledBytes(_buffer, _written);
        _buffer = [];
        GiveBack();
        return bytes;
    }

    /// <summary>Returns the buffer to the pool and gives this writer back.</summary>
    public void Dispose()
    {
        if (_buffer.Length > 0)
        {
            MessageBufferPool.Return(_buffer);
            _buffer = [];
            GiveBack();
        }
    }

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (_written + count > _buffer.Length)
        {
            throw new InvalidOperationException("Advanced past the end of the buffer.");
        }

        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Grow(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Grow(sizeHint);
        return _buffer.AsSpan(_written);
    }

    private void Grow(int sizeHint)
    {
        var needed = _written + Math.Max(sizeHint, 1);
        if (needed <= _buffer.Length)
        {
            return;
        }

        var larger = MessageBufferPool.Rent(Math.Max(needed, _buffer.Length * 2));
        _buffer.AsSpan(0, _written).CopyTo(larger);
        MessageBufferPool.Return(_buffer);
        _buffer = larger;
    }

    private void GiveBack()
    {
        if (t_first is null)
        {
            t_first = this;
        }
        else
        {
            t_second ??= this;
        }
    }
}
