using System.Buffers;
using SocketRunnerAspire.Cluster.Buffers;

namespace SocketRunnerAspire.Cluster.Transport;

/// <summary>
/// Encoded bytes in an array rented from <see cref="MessageBufferPool"/>: an envelope handed to a transport or a reply
/// handed back. Whoever holds it disposes it exactly once (copies of the struct share the array), after which the
/// bytes must not be read. <c>default</c> holds nothing and needs no disposing.
/// </summary>
public readonly struct PooledBytes : IDisposable
{
    private readonly byte[]? _array;
    private readonly int _length;

    internal PooledBytes(byte[] array, int length)
    {
        _array = array;
        _length = length;
    }

    /// <summary>The bytes.</summary>
    public ReadOnlyMemory<byte> Memory => _array is null ? ReadOnlyMemory<byte>.Empty : _array.AsMemory(0, _length);

    /// <summary>How many bytes there are.</summary>
    public int Length => _length;

    /// <summary>The rented array (longer than <see cref="Length"/>), for transports that pass ownership on.</summary>
    internal byte[]? Array => _array;

    /// <summary>A pooled copy of <paramref name="bytes"/>.</summary>
    public static PooledBytes CopyOf(ReadOnlySpan<byte> bytes)
    {
        var array = MessageBufferPool.Rent(Math.Max(bytes.Length, 1));
        bytes.CopyTo(array);
        return new PooledBytes(array, bytes.Length);
    }

    /// <summary>Returns the array to the pool.</summary>
    public void Dispose()
    {
        if (_array is not null)
        {
            MessageBufferPool.Return(_array);
        }
    }
}
