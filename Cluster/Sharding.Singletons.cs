using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Singletons;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster;

// Singletons: a job runs while this runner holds the lease of its shard, is stopped before that lease is released,
// and so starts on the next owner only once this one stopped (or its lease expired after a crash).
public sealed partial class Sharding
{
    private static readonly TimeSpan FirstRestartDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRestartDelay = TimeSpan.FromMinutes(1);

    private readonly List<SingletonRegistration> _singletons = [];
    private readonly Dictionary<string, RunningSingleton> _runningSingletons = new(StringComparer.Ordinal);
    private readonly Lock _singletonGate = new();
    private IServiceProvider _services = EmptyServiceProvider.Instance;

    /// <summary>Names of the singletons running on this runner (diagnostics and tests); a job that returned is not listed.</summary>
    public IReadOnlyCollection<string> RunningSingletons
    {
        get
        {
            lock (_singletonGate)
            {
                return [.. _runningSingletons.Where(s => !s.Value.Run.IsCompleted).Select(s => s.Key)];
            }
        }
    }

    private ShardId ShardOf(SingletonRegistration singleton) => GetShardId(singleton.Name, singleton.ShardGroup);

    /// <summary>Starts the singletons whose shard this runner now holds.</summary>
    private void StartOwnedSingletons()
    {
        if (_self is null || _singletons.Count == 0)
        {
            return;
        }

        lock (_singletonGate)
        {
            foreach (var singleton in _singletons)
            {
                if (!_shuttingDown && IsOwned(ShardOf(singleton)) && !_runningSingletons.ContainsKey(singleton.Name))
                {
                    var stop = new CancellationTokenSource();
                    var context = new SingletonContext(singleton.Name, _self.Address, _services, this);
                    _runningSingletons[singleton.Name] = new RunningSingleton(ShardOf(singleton), stop, RunSingletonAsync(singleton, context, stop.Token));
                }
            }
        }
    }

    /// <summary>Stops the singletons of <paramref name="shard"/> (all when null), waiting up to <paramref name="timeout"/> for each.</summary>
    private async Task StopSingletonsAsync(ShardId? shard, TimeSpan timeout)
    {
        List<(string Name, RunningSingleton Running)> stopping;
        lock (_singletonGate)
        {
            stopping = _runningSingletons.Where(s => shard is null || s.Value.Shard == shard).Select(s => (s.Key, s.Value)).ToList();
            foreach (var (name, _) in stopping)
            {
                _runningSingletons.Remove(name);
            }
        }

        foreach (var (name, running) in stopping)
        {
            await running.Stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await running.Run.WaitAsync(timeout).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                LogSingletonSlowStop(_logger, name, timeout);
            }

            running.Stop.Dispose();
        }
    }

    private async Task RunSingletonAsync(SingletonRegistration singleton, SingletonContext context, CancellationToken stop)
    {
        await Task.Yield();
        var delay = FirstRestartDelay;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                LogSingletonStarted(_logger, singleton.Name, context.Runner.ToString());
                await singleton.Run(context, stop).ConfigureAwait(false);
                LogSingletonCompleted(_logger, singleton.Name);
                return;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                LogSingletonStopped(_logger, singleton.Name);
                return;
            }
            catch (Exception ex)
            {
                LogSingletonFailed(_logger, ex, singleton.Name, delay);
            }

            try
            {
                await Task.Delay(delay, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            delay = delay * 2 < MaxRestartDelay ? delay * 2 : MaxRestartDelay;
        }
    }

    private sealed record RunningSingleton(ShardId Shard, CancellationTokenSource Stop, Task Run);

    [LoggerMessage(Level = LogLevel.Information, Message = "Singleton {Name} started on {Runner}")]
    private static partial void LogSingletonStarted(ILogger logger, string name, string runner);

    [LoggerMessage(Level = LogLevel.Information, Message = "Singleton {Name} completed")]
    private static partial void LogSingletonCompleted(ILogger logger, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "Singleton {Name} stopped (its shard moved or the runner stops)")]
    private static partial void LogSingletonStopped(ILogger logger, string name);

    [LoggerMessage(Level = LogLevel.Error, Message = "Singleton {Name} failed; restarting in {Delay}")]
    private static partial void LogSingletonFailed(ILogger logger, Exception exception, string name, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Singleton {Name} did not stop within {Timeout}")]
    private static partial void LogSingletonSlowStop(ILogger logger, string name, TimeSpan timeout);
}
