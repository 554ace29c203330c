using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using SocketRunnerAspire.Cluster.Storage;

namespace SocketRunnerAspire.Cluster.Observability;

/// <summary>
/// The observable gauges of every runner in the process (Effect's cluster gauges), read from the live
/// <see cref="Sharding"/> instances when a metrics listener collects; each measurement is tagged with its runner.
/// </summary>
internal static class ClusterGauges
{
    private static readonly ConcurrentDictionary<Sharding, byte> Live = new();

    private static readonly ObservableGauge<int> ShardsOwned = ClusterDiagnostics.Meter.CreateObservableGauge("cluster.shards.owned",
        () => Runners().Select(s => new Measurement<int>(s.OwnedShards.Count, new KeyValuePair<string, object?>(ClusterDiagnostics.RunnerTag, s.Address.ToString()))),
        description: "Shards whose lease this runner holds.");

    private static readonly ObservableGauge<int> KnownRunners = ClusterDiagnostics.Meter.CreateObservableGauge("cluster.runners",
        () => Runners().SelectMany(s => RunnerCounts(s.Address!.Value.ToString(), s.Runners)),
        description: "Runners this runner knows of, by health (Effect's effect_cluster_runners).");

    private static readonly ObservableGauge<int> Singletons = ClusterDiagnostics.Meter.CreateObservableGauge("cluster.singletons",
        () => Runners().Select(s => new Measurement<int>(s.RunningSingletons.Count, new KeyValuePair<string, object?>(ClusterDiagnostics.RunnerTag, s.Address.ToString()))),
        description: "Singletons running on this runner (Effect's effect_cluster_singletons).");

    /// <summary>A node joined: its gauges are reported from now on (client-only nodes report none).</summary>
    public static void Track(Sharding sharding) => Live.TryAdd(sharding, 0);

    /// <summary>A node stopped or crashed: its gauges are no longer reported.</summary>
    public static void Untrack(Sharding sharding) => Live.TryRemove(sharding, out _);

    private static IEnumerable<Sharding> Runners() => Live.Keys.Where(s => s.Address is not null);

    private static IEnumerable<Measurement<int>> RunnerCounts(string self, IReadOnlyList<RegisteredRunner> runners)
    {
        var healthy = runners.Count(r => r.Healthy);
        yield return new Measurement<int>(healthy, new(ClusterDiagnostics.RunnerTag, self), new(ClusterDiagnostics.RunnerHealthyTag, true));
        yield return new Measurement<int>(runners.Count - healthy, new(ClusterDiagnostics.RunnerTag, self), new(ClusterDiagnostics.RunnerHealthyTag, false));
    }
}
