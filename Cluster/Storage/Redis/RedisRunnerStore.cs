using StackExchange.Redis;

namespace SocketRunnerAspire.Cluster.Storage.Redis;

/// <summary>
/// String-level Redis RunnerStorage (addresses <c>host:port</c>, shard ids <c>group:n</c>, runners as
/// opaque strings), like Effect's <c>RunnerStorage.makeEncoded</c>. Every call is one atomic script.
/// </summary>
internal sealed class RedisRunnerStore(IConnectionMultiplexer redis, string keyPrefix, TimeSpan leaseDuration)
{
    private readonly string _tag = "{" + keyPrefix + "}:";

    private RedisKey Runners => _tag + "runners";
    private RedisKey Health => _tag + "health";
    private RedisKey Heartbeats => _tag + "heartbeats";
    private RedisKey MachineIds => _tag + "machine-ids";
    private RedisKey MachineIdSequence => _tag + "machine-id-seq";
    private string LockPrefix => _tag + "lock:";
    private RedisKey Held(string address) => _tag + "held:" + address;
    private RedisKey Lock(string shard) => LockPrefix + shard;

    private IDatabase Db => redis.GetDatabase();

    /// <summary>The pub/sub channel of the cluster's change notifications (same hash tag as its keys).</summary>
    public RedisChannel Changes => RedisChannel.Literal(_tag + "changes");

    /// <summary>Tells subscribers of a change, fire-and-forget: a lost notification only delays a node to its next poll.</summary>
    public void Publish(string change) => redis.GetSubscriber().Publish(Changes, change, CommandFlags.FireAndForget);

    /// <summary>Calls <paramref name="onMessage"/> with each change published on <see cref="Changes"/>; returns the handler to unsubscribe.</summary>
    public async Task<Action<RedisChannel, RedisValue>> SubscribeAsync(Action<string> onMessage)
    {
        Action<RedisChannel, RedisValue> handler = (_, message) => onMessage(message.ToString());
        await redis.GetSubscriber().SubscribeAsync(Changes, handler).ConfigureAwait(false);
        return handler;
    }

    public Task UnsubscribeAsync(Action<RedisChannel, RedisValue> handler) => redis.GetSubscriber().UnsubscribeAsync(Changes, handler);

    private long LeaseMilliseconds => (long)leaseDuration.TotalMilliseconds;

    public async Task<long> RegisterAsync(string address, string runner, bool healthy)
    {
        var result = await Db.ScriptEvaluateAsync(RedisRunnerScripts.Register,
            [Runners, Health, Heartbeats, MachineIds, MachineIdSequence],
            [address, runner, healthy ? 1 : 0]).ConfigureAwait(false);
        return (long)result;
    }

    public Task UnregisterAsync(string address) =>
        Db.ScriptEvaluateAsync(RedisRunnerScripts.Unregister,
            [Runners, Health, Heartbeats, Held(address)],
            [address, LockPrefix, LeaseMilliseconds]);

    public async Task<IReadOnlyList<(string Address, string Runner, bool Healthy)>> GetRunnersAsync()
    {
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(RedisRunnerScripts.GetRunners,
            [Runners, Health, Heartbeats], [LeaseMilliseconds]).ConfigureAwait(false))!;
        var runners = new List<(string, string, bool)>(result.Length / 3);
        for (var i = 0; i + 2 < result.Length; i += 3)
        {
            runners.Add(((string)result[i]!, (string)result[i + 1]!, (string?)result[i + 2] != "0"));
        }

        return runners;
    }

    public Task SetHealthAsync(string address, bool healthy) =>
        Db.ScriptEvaluateAsync(RedisRunnerScripts.SetHealth, [Health], [address, healthy ? 1 : 0]);

    public Task<IReadOnlyList<string>> AcquireAsync(string address, IReadOnlyList<string> shards) =>
        LeaseScriptAsync(RedisRunnerScripts.Acquire, [Held(address)], address, shards);

    public Task<IReadOnlyList<string>> RefreshAsync(string address, IReadOnlyList<string> shards) =>
        LeaseScriptAsync(RedisRunnerScripts.Refresh, [Heartbeats, Held(address)], address, shards);

    public Task ReleaseAsync(string address, string shard) =>
        Db.ScriptEvaluateAsync(RedisRunnerScripts.Release, [Held(address), Lock(shard)], [address, shard]);

    public Task ReleaseAllAsync(string address) =>
        Db.ScriptEvaluateAsync(RedisRunnerScripts.ReleaseAll, [Held(address)], [address, LockPrefix]);

    private async Task<IReadOnlyList<string>> LeaseScriptAsync(string script, RedisKey[] leadingKeys, string address, IReadOnlyList<string> shards)
    {
        if (shards.Count == 0 && leadingKeys.Length == 1)
        {
            return [];
        }

        var keys = new RedisKey[leadingKeys.Length + shards.Count];
        leadingKeys.CopyTo(keys, 0);
        var args = new RedisValue[2 + shards.Count];
        args[0] = address;
        args[1] = LeaseMilliseconds;
        for (var i = 0; i < shards.Count; i++)
        {
            keys[leadingKeys.Length + i] = Lock(shards[i]);
            args[2 + i] = shards[i];
        }

        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(script, keys, args).ConfigureAwait(false))!;
        var held = new string[result.Length];
        for (var i = 0; i < result.Length; i++)
        {
            held[i] = (string)result[i]!;
        }

        return held;
    }
}
