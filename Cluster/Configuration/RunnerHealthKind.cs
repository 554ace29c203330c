using SocketRunnerAspire.Cluster.Runners;

namespace SocketRunnerAspire.Cluster.Configuration;

/// <summary>The built-in <see cref="IRunnerHealth"/> a runner uses (<c>Cluster:RunnerHealth</c>) when none is registered in the container.</summary>
public enum RunnerHealthKind
{
    /// <summary>Alive when it answers the runner protocol's ping: 5 attempts, each within 10 s, 500 ms apart (Effect's <c>layerPing</c>).</summary>
    Ping,

    /// <summary>Always alive (Effect's <c>layerNoop</c>).</summary>
    Noop,
}
