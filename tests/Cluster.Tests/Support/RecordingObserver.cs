using System.Collections.Concurrent;

namespace SocketRunnerAspire.Cluster.Tests.Support;

/// <summary>An observer that keeps what it receives.</summary>
public sealed class RecordingObserver<T> : IObserver<T>
{
    private int _completed;

    public ConcurrentQueue<T> Received { get; } = new();

    public bool Completed => Volatile.Read(ref _completed) > 0;

    public int CompletedCount => Volatile.Read(ref _completed);

    public void OnNext(T value) => Received.Enqueue(value);

    public void OnCompleted() => Interlocked.Increment(ref _completed);

    public void OnError(Exception error) => throw new InvalidOperationException("no errors are expected", error);
}
