using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Placement;
using SocketRunnerAspire.Cluster.Shards;
using SocketRunnerAspire.Cluster.Timing;

namespace SocketRunnerAspire.Cluster.Singletons;

/// <summary>
/// Runs the cluster's singletons (Effect's <c>Singleton</c>): a singleton runs while this runner holds the lease of its
/// shard, is stopped before that lease is released, and so starts on the next owner only once this one stopped (or its
/// lease expired after a crash). One that throws is restarted with jittered back-off.
/// </summary>
internal sealed partial class SingletonSupervisor : IShardListener
{
    private static readonly TimeSpan FirstRestartDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRestartDelay = TimeSpan.FromMinutes(1);

    private readonly List<SingletonRegistration> _singletons;
    private readonly ShardOwnership _ownership;
    private readonly Func<SingletonRegistration, SingletonContext> _contextFor;
    private readonly int _shardsPerGroup;
    private readonly TimeSpan _terminationTimeout;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Dictionary<string, RunningSingleton> _running = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <remarks><c>contextFor</c>: The context a singleton's run receives.</remarks>
    public SingletonSupervisor(
        IReadOnlyList<SingletonRegistration> singletons, ShardOwnership ownership, Func<SingletonRegistration, SingletonContext> contextFor,
        int shardsPerGroup, TimeSpan terminationTimeout, TimeProvider time, ILogger logger)
    {
        _singletons = [.. singletons];
        _ownership = ownership;
        _contextFor = contextFor;
        _shardsPerGroup = shardsPerGroup;
        _terminationTimeout = terminationTimeout;
        _time = time;
        _logger = logger;
    }

    /// <summary>Names of the singletons running here; a run that returned is not listed.</summary>
    public IReadOnlyCollection<string> Running
    {
        get
        {
            lock (_gate)
            {
                return [.. _running.Where(s => !s.Value.Run.IsCompleted).Select(s => s.Key)];
            }
        }
    }

    /// <summary>Adds a singleton after start, started at once if this runner holds its shard; false when the name is taken.</summary>
    public bool TryAdd(SingletonRegistration singleton)
    {
        lock (_gate)
        {
            if (_singletons.Any(s => s.Name == singleton.Name))
            {
                return false;
            }

            _singletons.Add(singleton);
            StartOwned();
            return true;
        }
    }

    void IShardListener.OnShardsAcquired(IReadOnlyCollection<ShardId> shards) => StartOwned();

    Task IShardListener.OnShardReleasingAsync(ShardId shard) => StopAsync(shard, _terminationTimeout);

    /// <summary>Stops every singleton here, waiting up to <paramref name="timeout"/> for each (a crash passes zero).</summary>
    public Task StopAllAsync(TimeSpan timeout) => StopAsync(null, timeout);

    private ShardId ShardOf(SingletonRegistration singleton) =>
        ShardingHash.ShardOf(singleton.Name, singleton.ShardGroup, _shardsPerGroup);

    /// <summary>Starts the singletons whose shard this runner now holds and that are not running yet.</summary>
    private void StartOwned()
    {
        lock (_gate)
        {
            foreach (var singleton in _singletons)
            {
                var shard = ShardOf(singleton);
                if (!_ownership.IsStopping && _ownership.IsOwned(shard) && !_running.ContainsKey(singleton.Name))
                {
                    var stop = new CancellationTokenSource();
                    _running[singleton.Name] = new RunningSingleton(shard, stop, SuperviseAsync(singleton, _contextFor(singleton), stop.Token));
                }
            }
        }
    }

    /// <summary>Stops the singletons of <paramref name="shard"/> (all when null), waiting up to <paramref name="timeout"/> for each.</summary>
    private async Task StopAsync(ShardId? shard, TimeSpan timeout)
    {
        List<(string Name, RunningSingleton Running)> stopping;
        lock (_gate)
        {
            stopping = _running.Where(s => shard is null || s.Value.Shard == shard).Select(s => (s.Key, s.Value)).ToList();
            foreach (var (name, _) in stopping)
            {
                _running.Remove(name);
            }
        }

        foreach (var (name, running) in stopping)
        {
            await running.Stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await running.Run.WaitAsync(timeout, _time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                LogSlowStop(_logger, name, timeout);
            }

            running.Stop.Dispose();
        }
    }

    private async Task SuperviseAsync(SingletonRegistration singleton, SingletonContext context, CancellationToken stop)
    {
        await Task.Yield();
        var backoff = new Backoff(FirstRestartDelay, MaxRestartDelay);
        while (!stop.IsCancellationRequested)
        {
            TimeSpan delay;
            try
            {
                LogStarted(_logger, singleton.Name, context.Runner.ToString());
                await singleton.Run(context, stop).ConfigureAwait(false);
                LogCompleted(_logger, singleton.Name);
                return;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                LogStopped(_logger, singleton.Name);
                return;
            }
            catch (Exception ex)
            {
                delay = backoff.Next();
                LogFailed(_logger, ex, singleton.Name, delay);
            }

            try
            {
                await Task.Delay(delay, _time, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private sealed record RunningSingleton(ShardId Shard, CancellationTokenSource Stop, Task Run);

    [LoggerMessage(Level = LogLevel.Information, Message = "Singleton {Name} started on {Runner}")]
    private static partial void LogStarted(ILogger logger, string name, string runner);

    [LoggerMessage(Level = LogLevel.Information, Message = "Singleton {Name} completed")]
    private static partial void LogCompleted(ILogger logger, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "Singleton {Name} stopped (its shard moved or the runner stops)")]
    private static partial void LogStopped(ILogger logger, string name);

    [LoggerMessage(Level = LogLevel.Error, Message = "Singleton {Name} failed; restarting in {Delay}")]
    private static partial void LogFailed(ILogger logger, Exception exception, string name, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Singleton {Name} did not stop within {Timeout}")]
    private static partial void LogSlowStop(ILogger logger, string name, TimeSpan timeout);
}
