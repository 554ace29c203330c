using System.Collections.Concurrent;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Runners;

namespace SocketRunnerAspire.Cluster.Tests.Support;

/// <summary>An <see cref="IRunnerHealth"/> that reports the runners in <see cref="Dead"/> dead and counts the checks it answered.</summary>
public sealed class ScriptedRunnerHealth : IRunnerHealth
{
    private int _checks;

    /// <summary>Runners reported dead (shared between instances when passed in).</summary>
    public ConcurrentDictionary<RunnerAddress, byte> Dead { get; init; } = new();

    /// <summary>Every runner asked about, in order.</summary>
    public ConcurrentQueue<RunnerAddress> Asked { get; } = new();

    public int Checks => Volatile.Read(ref _checks);

    public ValueTask<bool> IsAliveAsync(RunnerAddress runner, CancellationToken cancellationToken)
    {
        Asked.Enqueue(runner);
        Interlocked.Increment(ref _checks);
        return ValueTask.FromResult(!Dead.ContainsKey(runner));
    }
}
