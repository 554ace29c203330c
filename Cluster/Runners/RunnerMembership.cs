using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Ids;
using SocketRunnerAspire.Cluster.Placement;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Timing;
using SocketRunnerAspire.Cluster.Transport;

namespace SocketRunnerAspire.Cluster.Runners;

/// <summary>
/// This node's view of the cluster's runners (Effect's runner registration and assignment refresh): registers this
/// runner in RunnerStorage (again if its registration expired), reads the runner list every refresh interval, and
/// recomputes the shard assignment whenever the set of healthy runners changes. Client-only nodes only read.
/// </summary>
internal sealed partial class RunnerMembership
{
    private readonly ShardingOptions _options;
    private readonly IRunnerStorage _storage;
    private readonly IRunnerTransport _transport;
    private readonly RunnerInfo? _self;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly BackgroundLoop _loop;
    private volatile IReadOnlyDictionary<ShardId, RunnerAddress> _assignment = new Dictionary<ShardId, RunnerAddress>();
    private volatile IReadOnlyList<RegisteredRunner> _runners = [];
    private volatile SnowflakeGenerator _ids;
    private string _runnerSetKey = string.Empty;
    private bool _registered;
    private volatile bool _leaving;
    private long _machineId = -1;   // -1 until registered

    public RunnerMembership(ShardingOptions options, IRunnerStorage storage, IRunnerTransport transport, RunnerInfo? self, TimeProvider time, ILogger logger)
    {
        _options = options;
        _storage = storage;
        _transport = transport;
        _self = self;
        _time = time;
        _logger = logger;
        _ids = new SnowflakeGenerator(Random.Shared.Next(1024), time);
        _loop = new BackgroundLoop(SyncOnceAsync, () => options.RefreshAssignmentsInterval, time, ex => LogSyncFailed(logger, ex));
    }

    /// <summary>Raised (on the sync loop) when the assignment was recomputed.</summary>
    public event Action? AssignmentChanged;

    /// <summary>This runner; null on a client-only node.</summary>
    public RunnerAddress? Self => _self?.Address;

    /// <summary>The machine id storage gave this runner; null until registered (and always on clients).</summary>
    public long? MachineId => Interlocked.Read(ref _machineId) is var id and >= 0 ? id : null;

    /// <summary>Snowflake ids whose machine part is this runner's registration (a random one until registered, and on clients).</summary>
    public SnowflakeGenerator Ids => _ids;

    /// <summary>The runners last read from storage, with health.</summary>
    public IReadOnlyList<RegisteredRunner> Runners => _runners;

    /// <summary>The owner of every assigned shard.</summary>
    public IReadOnlyDictionary<ShardId, RunnerAddress> Assignment => _assignment;

    public RunnerAddress? OwnerOf(ShardId shard) => _assignment.TryGetValue(shard, out var owner) ? owner : null;

    /// <summary>Reads the runners once now (joins first on a runner), then keeps refreshing until <paramref name="stopping"/>.</summary>
    public async Task<Task> StartAsync(CancellationToken stopping)
    {
        try
        {
            await SyncOnceAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (!stopping.IsCancellationRequested)
        {
            LogSyncFailed(_logger, ex);   // storage slow or down: the loop keeps trying
        }

        return _loop.Start(stopping);
    }

    /// <summary>Reads storage again now (a runner looked gone or changed health).</summary>
    public void RequestSync() => _loop.Wake();

    /// <summary>Stops registering again; with <paramref name="unregister"/>, also removes this runner from storage now.</summary>
    public async Task LeaveAsync(bool unregister)
    {
        _leaving = true;
        if (unregister)
        {
            await UnregisterAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Removes this runner from storage (best effort: its registration expires anyway).</summary>
    public Task UnregisterAsync() => _self is null
        ? Task.CompletedTask
        : StorageCalls.IgnoringErrorsAsync(ct => _storage.UnregisterAsync(_self.Address, ct), _options.StorageTimeout, _time, _logger);

    /// <summary>One refresh: (re-)register, read the runners, recompute the assignment if the healthy set changed.</summary>
    internal async Task SyncOnceAsync()
    {
        using var timeout = TimeoutScope.Start(_options.StorageTimeout, _time);
        var ct = timeout.Token;
        if (_self is not null && !_leaving && !_registered)
        {
            await RegisterAsync(ct).ConfigureAwait(false);
            _registered = true;
            LogRegistered(_logger, _self.Address.ToString(), Interlocked.Read(ref _machineId));
        }

        var runners = await _storage.GetRunnersAsync(ct).ConfigureAwait(false);
        if (_self is not null && !_leaving && !runners.Any(r => r.Runner.Address == _self.Address))
        {
            // Our registration expired (e.g. storage was unreachable for longer than a lease): register again.
            await RegisterAsync(ct).ConfigureAwait(false);
            runners = await _storage.GetRunnersAsync(ct).ConfigureAwait(false);
        }

        _runners = runners;
        var healthy = runners.Where(r => r.Healthy).Select(r => r.Runner).ToArray();
        var key = ShardAssignment.RunnerSetKey(healthy);
        if (key != _runnerSetKey)
        {
            var previous = _assignment.Values.ToHashSet();
            _assignment = ShardAssignment.Compute(healthy, _options.AvailableShardGroups, _options.ShardsPerGroup);
            _runnerSetKey = key;
            foreach (var gone in previous.Except(healthy.Select(r => r.Address)))
            {
                _transport.OnRunnerUnavailable(gone);
            }

            LogAssignmentChanged(_logger, _self?.Address.ToString() ?? "client", healthy.Length, _assignment.Count(a => a.Value == Self));
            AssignmentChanged?.Invoke();
        }

        if (_self is not null && healthy.Length == 0 && runners.Count > 0 && !_leaving)
        {
            // Nobody is healthy: mark ourselves healthy so the cluster cannot deadlock (as Effect does).
            await _storage.SetRunnerHealthAsync(_self.Address, true, ct).ConfigureAwait(false);
        }
    }

    private async Task RegisterAsync(CancellationToken ct)
    {
        var machineId = await _storage.RegisterAsync(_self!, healthy: true, ct).ConfigureAwait(false);
        Interlocked.Exchange(ref _machineId, machineId);
        if (!_registered)
        {
            _ids = new SnowflakeGenerator(machineId, _time);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Runner {Address} registered with machine id {MachineId}")]
    private static partial void LogRegistered(ILogger logger, string address, long machineId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard assignment recomputed on {Runner}: {Runners} healthy runners, {Assigned} shards assigned to it")]
    private static partial void LogAssignmentChanged(ILogger logger, string runner, int runners, int assigned);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading runners from storage failed; retrying")]
    private static partial void LogSyncFailed(ILogger logger, Exception exception);
}
