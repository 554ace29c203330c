using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace SocketRunnerAspire.Cluster.Buffers;

/// <summary>Reusable objects, up to a capacity: what a burst leaves beyond it is left to the GC.</summary>
internal sealed class BoundedPool<T>(int capacity) where T : class
{
    private readonly ConcurrentQueue<T> _items = new();
    private int _count;

    public bool TryRent([NotNullWhen(true)] out T? item)
    {
        if (_items.TryDequeue(out item))
        {
            Interlocked.Decrement(ref _count);
            return true;
        }

        return false;
    }

    public void Return(T item)
    {
        if (Interlocked.Increment(ref _count) <= capacity)
        {
            _items.Enqueue(item);
        }
        else
        {
            Interlocked.Decrement(ref _count);
        }
    }
}
