using System.Text.Json;
using StackExchange.Redis;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Storage.Redis;

/// <summary>
/// RunnerStorage on Redis (or Garnet) through StackExchange.Redis. Keys live under the hash tag
/// <c>{clusterName}</c>; each operation is one Lua script, so registration, leases and heartbeats change
/// atomically; a lease is a key with a TTL of the lock expiration. Redis errors and timeouts surface as
/// <see cref="PersistenceException"/>. Every change of runners or leases is also published on the pub/sub channel
/// <c>{clusterName}:changes</c> (<see cref="IRunnerStorageNotifications"/>).
/// </summary>
public sealed class RedisRunnerStorage(IConnectionMultiplexer redis, string clusterName, TimeSpan leaseDuration) : IRunnerStorage, IRunnerStorageNotifications
{
    private const string RunnersMessage = "runners";
    private const string ReleasedMessage = "released";

    private readonly RedisRunnerStore _store = new(redis, clusterName, leaseDuration);

    /// <inheritdoc />
    public Task<long> RegisterAsync(RunnerInfo runner, bool healthy, CancellationToken cancellationToken) => Run(async () =>
    {
        var id = await _store.RegisterAsync(runner.Address.ToString(), JsonSerializer.Serialize(new RunnerRecord(runner.Groups.ToArray(), runner.Weight)), healthy).ConfigureAwait(false);
        _store.Publish(RunnersMessage);
        return id;
    }, cancellationToken);

    /// <inheritdoc />
    public Task UnregisterAsync(RunnerAddress address, CancellationToken cancellationToken) =>
        RunThenPublish(() => _store.UnregisterAsync(address.ToString()), RunnersMessage, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<RegisteredRunner>> GetRunnersAsync(CancellationToken cancellationToken) => Run<IReadOnlyList<RegisteredRunner>>(async () =>
    {
        var runners = new List<RegisteredRunner>();
        foreach (var (address, json, healthy) in await _store.GetRunnersAsync().ConfigureAwait(false))
        {
            // As Effect does, a runner whose record cannot be read is skipped rather than failing the whole list.
            if (TryParse(address, json) is { } runner)
            {
                runners.Add(new RegisteredRunner(runner, healthy));
            }
        }

        return runners;
    }, cancellationToken);

    /// <inheritdoc />
    public Task SetRunnerHealthAsync(RunnerAddress address, bool healthy, CancellationToken cancellationToken) =>
        RunThenPublish(() => _store.SetHealthAsync(address.ToString(), healthy), RunnersMessage, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<ShardId>> AcquireAsync(RunnerAddress address, IReadOnlyList<ShardId> shards, CancellationToken cancellationToken) =>
        Run(async () => Parse(await _store.AcquireAsync(address.ToString(), Format(shards)).ConfigureAwait(false)), cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<ShardId>> RefreshAsync(RunnerAddress address, IReadOnlyList<ShardId> shards, CancellationToken cancellationToken) =>
        Run(async () => Parse(await _store.RefreshAsync(address.ToString(), Format(shards)).ConfigureAwait(false)), cancellationToken);

    /// <inheritdoc />
    public Task ReleaseAsync(RunnerAddress address, ShardId shard, CancellationToken cancellationToken) =>
        RunThenPublish(() => _store.ReleaseAsync(address.ToString(), shard.ToString()), ReleasedMessage, cancellationToken);

    /// <inheritdoc />
    public Task ReleaseAllAsync(RunnerAddress address, CancellationToken cancellationToken) =>
        RunThenPublish(() => _store.ReleaseAllAsync(address.ToString()), ReleasedMessage, cancellationToken);

    /// <inheritdoc />
    public async Task<IAsyncDisposable> SubscribeAsync(Action<RunnerStorageChange> onChange, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onChange);
        var handler = await Run(() => _store.SubscribeAsync(message =>
        {
            switch (message)
            {
                case RunnersMessage:
                    onChange(RunnerStorageChange.Runners);
                    break;
                case ReleasedMessage:
                    onChange(RunnerStorageChange.ShardsReleased);
                    break;
            }
        }), cancellationToken).ConfigureAwait(false);
        return new Subscription(_store, handler);
    }

    /// <summary>Runs a change, then tells subscribers of it (<paramref name="message"/> on the changes channel).</summary>
    private Task RunThenPublish(Func<Task> change, string message, CancellationToken cancellationToken) => Run(async () =>
    {
        await change().ConfigureAwait(false);
        _store.Publish(message);
        return 0;
    }, cancellationToken);

    private static string[] Format(IReadOnlyList<ShardId> shards) => shards.Select(s => s.ToString()).ToArray();

    private static IReadOnlyList<ShardId> Parse(IReadOnlyList<string> shards) => shards.Select(ShardId.Parse).ToArray();

    private static RunnerInfo? TryParse(string address, string json)
    {
        try
        {
            var record = JsonSerializer.Deserialize<RunnerRecord>(json);
            return record is null ? null : new RunnerInfo(RunnerAddress.Parse(address), record.Groups, record.Weight);
        }
        catch (Exception ex) when (ex is JsonException or FormatException)
        {
            return null;
        }
    }

    private static Task<T> Run<T>(Func<Task<T>> operation, CancellationToken cancellationToken) =>
        RedisCall.Run("Runner storage", operation, cancellationToken);

    private sealed record RunnerRecord(string[] Groups, double Weight);

    private sealed class Subscription(RedisRunnerStore store, Action<RedisChannel, RedisValue> handler) : IAsyncDisposable
    {
        private int _disposed;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                try
                {
                    await store.UnsubscribeAsync(handler).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException or InvalidOperationException or ObjectDisposedException)
                {
                    // Best effort: a closed connection has no subscription left to remove.
                }
            }
        }
    }
}
