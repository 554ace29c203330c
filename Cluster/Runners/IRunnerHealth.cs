using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Configuration;

namespace SocketRunnerAspire.Cluster.Runners;

/// <summary>
/// Whether a runner is alive (Effect's <c>RunnerHealth</c>). The cluster's health-check singleton asks it about every
/// other known runner each <see cref="ShardingOptions.RunnerHealthCheckInterval"/> and marks the ones it reports dead
/// unhealthy in RunnerStorage, which drops them from every node's ring (never the last healthy one).
/// </summary>
/// <remarks>
/// Built in: <see cref="RunnerHealthKind.Ping"/> (the default: the runner protocol's ping) and
/// <see cref="RunnerHealthKind.Noop"/> (<see cref="NoopRunnerHealth"/>: always alive), chosen by
/// <c>Cluster:RunnerHealth</c>. A custom one, such as a check of the orchestrator's pod list (Effect's
/// <c>layerK8s</c>), plugs in by registering it in the container before the host starts:
/// <c>services.AddSingleton&lt;IRunnerHealth, MyRunnerHealth&gt;()</c>; a registered <see cref="IRunnerHealth"/>
/// replaces the configured one. It is called only on the runner running the check, up to ten runners at once; an
/// implementation that cannot tell (its API is down) should answer alive, so that an outage of the checker does not
/// take healthy runners out of the ring.
/// </remarks>
public interface IRunnerHealth
{
    /// <summary>True when <paramref name="runner"/> is alive; <paramref name="cancellationToken"/> is cancelled when the check stops.</summary>
    ValueTask<bool> IsAliveAsync(RunnerAddress runner, CancellationToken cancellationToken);
}
