using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Runners;

/// <summary>
/// Every runner is alive (Effect's <c>RunnerHealth.layerNoop</c>): runners leave the ring only by unregistering or by
/// their registration expiring. For single-process clusters and platforms that restart dead runners themselves.
/// </summary>
public sealed class NoopRunnerHealth : IRunnerHealth
{
    /// <summary>The one instance.</summary>
    public static NoopRunnerHealth Instance { get; } = new();

    /// <inheritdoc />
    public ValueTask<bool> IsAliveAsync(RunnerAddress runner, CancellationToken cancellationToken) => ValueTask.FromResult(true);
}
