using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Shards;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Timing;
using SocketRunnerAspire.Cluster.Transport;

namespace SocketRunnerAspire.Cluster.Runners;

/// <summary>
/// Runner health by ping (Effect's <c>RunnerHealth.layerPing</c>), run by one runner: the owner of the first shard of
/// the first group. A runner that answers no ping is marked unhealthy, which drops it from everyone's ring; one that
/// answers again is marked healthy. Never leaves fewer than one healthy runner.
/// </summary>
internal sealed partial class RunnerHealthMonitor
{
    private const int PingAttempts = 5;

    private readonly ShardingOptions _options;
    private readonly IRunnerStorage _storage;
    private readonly IRunnerTransport _transport;
    private readonly RunnerMembership _membership;
    private readonly ShardOwnership _ownership;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly BackgroundLoop _loop;
    private readonly ShardId _checkerShard;
    private CancellationToken _stopping;

    public RunnerHealthMonitor(ShardingOptions options, IRunnerStorage storage, IRunnerTransport transport, RunnerMembership membership, ShardOwnership ownership, TimeProvider time, ILogger logger)
    {
        _options = options;
        _storage = storage;
        _transport = transport;
        _membership = membership;
        _ownership = ownership;
        _time = time;
        _logger = logger;
        _checkerShard = new ShardId(options.AvailableShardGroups[0], 1);
        _loop = new BackgroundLoop(CheckOnceAsync, () => options.RunnerHealthCheckInterval, time, ex => LogCheckFailed(logger, ex));
    }

    public Task Start(CancellationToken stopping)
    {
        _stopping = stopping;
        return _loop.Start(stopping);
    }

    private async Task CheckOnceAsync()
    {
        if (_membership.Self is not { } self || _ownership.IsStopping || !_ownership.IsOwned(_checkerShard))
        {
            return;
        }

        var all = _membership.Runners;
        var others = all.Where(r => r.Runner.Address != self).ToArray();
        var alive = await Task.WhenAll(others.Select(r => IsAliveAsync(r.Runner.Address))).ConfigureAwait(false);
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

    /// <summary>Up to <see cref="PingAttempts"/> pings, each bounded by the ping timeout, with jittered back-off between them.</summary>
    private async Task<bool> IsAliveAsync(RunnerAddress runner)
    {
        var backoff = new Backoff(_options.PingRetryInterval, _options.PingRetryInterval, factor: 1);
        for (var attempt = 1; attempt <= PingAttempts && !_stopping.IsCancellationRequested; attempt++)
        {
            try
            {
                using var timeout = TimeoutScope.Start(_options.PingTimeout, _time, _stopping);
                await _transport.PingAsync(runner, timeout.Token).ConfigureAwait(false);
                return true;
            }
            catch (ClusterAuthenticationException ex)
            {
                // It answered the handshake, so it is alive; the secrets differ, which is a configuration error
                // that must not make this node mark every healthy runner unhealthy.
                LogAuthenticationFailed(_logger, runner.ToString(), ex.Message);
                return true;
            }
            catch (Exception) when (attempt < PingAttempts)
            {
                await Task.Delay(backoff.Next(), _time, _stopping).ConfigureAwait(false);
            }
            catch (Exception)
            {
                _transport.OnRunnerUnavailable(runner);
            }
        }

        return false;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Runner {Address} is now marked {Healthy} (ping)")]
    private static partial void LogRunnerHealth(ILogger logger, string address, string healthy);

    [LoggerMessage(Level = LogLevel.Error, Message = "Health check of runner {Runner}: {Reason}")]
    private static partial void LogAuthenticationFailed(ILogger logger, string runner, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checking runner health failed; retrying")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception);
}
