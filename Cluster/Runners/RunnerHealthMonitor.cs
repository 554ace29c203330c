using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Singletons;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Timing;

namespace SocketRunnerAspire.Cluster.Runners;

/// <summary>
/// The health-check singleton (Effect's <c>"effect/cluster/Sharding/RunnerHealth"</c>): on the runner holding its shard,
/// every <see cref="ShardingOptions.RunnerHealthCheckInterval"/> while more than one runner is known, asks
/// <see cref="IRunnerHealth"/> about every other runner (ten at a time) and writes the changes to RunnerStorage: a dead
/// runner is marked unhealthy, which drops it from everyone's ring, a live one healthy again. Never marks the last
/// healthy runner unhealthy.
/// </summary>
internal sealed partial class RunnerHealthMonitor
{
    /// <summary>The singleton's name, Effect's, so it lands on the same shard as there.</summary>
    public const string SingletonName = "effect/cluster/Sharding/RunnerHealth";

    private const int MaxConcurrentChecks = 10;

    private readonly ShardingOptions _options;
    private readonly IRunnerStorage _storage;
    private readonly IRunnerHealth _health;
    private readonly RunnerMembership _membership;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public RunnerHealthMonitor(ShardingOptions options, IRunnerStorage storage, IRunnerHealth health, RunnerMembership membership, TimeProvider time, ILogger logger)
    {
        _options = options;
        _storage = storage;
        _health = health;
        _membership = membership;
        _time = time;
        _logger = logger;
    }

    /// <summary>The singleton to register: in the default group when it exists (as in Effect), else in the first group.</summary>
    public SingletonRegistration Singleton => new(SingletonName, RunAsync,
        _options.AvailableShardGroups.Contains(ShardId.DefaultGroup) ? ShardId.DefaultGroup : _options.AvailableShardGroups[0]);

    private async Task RunAsync(SingletonContext context, CancellationToken stop)
    {
        await new BackgroundLoop(() => CheckOnceAsync(context.Runner, stop), () => _options.RunnerHealthCheckInterval, _time,
            ex => LogCheckFailed(_logger, ex)).Start(stop).ConfigureAwait(false);
        stop.ThrowIfCancellationRequested();   // the loop ends only when stopped: report it as stopped, not completed
    }

    /// <summary>One round of checks, as run by the runner <paramref name="self"/>.</summary>
    internal async Task CheckOnceAsync(RunnerAddress self, CancellationToken stop)
    {
        var all = _membership.Runners;
        if (all.Count <= 1)
        {
            return;
        }

        var others = all.Where(r => r.Runner.Address != self).ToArray();
        var alive = new bool[others.Length];
        await Parallel.ForEachAsync(Enumerable.Range(0, others.Length),
            new ParallelOptions { MaxDegreeOfParallelism = MaxConcurrentChecks, CancellationToken = stop },
            async (i, ct) => alive[i] = await _health.IsAliveAsync(others[i].Runner.Address, ct).ConfigureAwait(false)).ConfigureAwait(false);

        var healthyCount = all.Count(r => r.Healthy);
        for (var i = 0; i < others.Length; i++)
        {
            var (runner, healthy) = (others[i].Runner.Address, others[i].Healthy);
            if (alive[i] != healthy && (alive[i] || healthyCount > 1))
            {
                healthyCount += alive[i] ? 1 : -1;
                LogRunnerHealth(_logger, runner.ToString(), alive[i] ? "healthy" : "unhealthy");
                var isAlive = alive[i];
                await StorageCalls.IgnoringErrorsAsync(ct => _storage.SetRunnerHealthAsync(runner, isAlive, ct), _options.StorageTimeout, _time, _logger).ConfigureAwait(false);
                _membership.RequestSync();
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Runner {Address} is now marked {Healthy} (health check)")]
    private static partial void LogRunnerHealth(ILogger logger, string address, string healthy);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checking runner health failed; retrying")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception);
}
