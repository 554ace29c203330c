namespace SocketRunnerAspire.Cluster.Storage.Redis;

/// <summary>
/// Lua scripts of the Redis RunnerStorage. Each runs atomically on the server; all keys share one
/// hash tag so the scripts also work on Redis Cluster. Time comes from the server (TIME), so runner
/// clocks may disagree without breaking leases or heartbeats. Verified on Redis 7 and Garnet 2.2.
/// </summary>
internal static class RedisRunnerScripts
{
    // KEYS: runners, health, heartbeats, machine ids, machine id sequence
    // ARGV: address, runner, healthy (0|1)
    public const string Register = RedisLua.Now + """
        local id = redis.call('HGET', KEYS[4], ARGV[1])
        if not id then
          id = redis.call('INCR', KEYS[5])
          redis.call('HSET', KEYS[4], ARGV[1], id)
        end
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
        redis.call('ZADD', KEYS[3], now, ARGV[1])
        return tonumber(id)
        """;

    // KEYS: runners, health, heartbeats, held shards of the runner
    // ARGV: address, lock key prefix, stale-after (ms)
    // Removes the runner, releases its locks, and forgets runners whose heartbeat is older than stale-after.
    public const string Unregister = RedisLua.Now + """
        local function forget(address)
          redis.call('HDEL', KEYS[1], address)
          redis.call('HDEL', KEYS[2], address)
          redis.call('ZREM', KEYS[3], address)
        end
        forget(ARGV[1])
        local stale = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[3]))
        for _, address in ipairs(stale) do forget(address) end
        return #stale
        """;

    // KEYS: runners, health, heartbeats
    // ARGV: live-within (ms)
    // Returns [address, runner, healthy, ...] for runners with a heartbeat newer than live-within.
    public const string GetRunners = RedisLua.Now + """
        local live = redis.call('ZRANGEBYSCORE', KEYS[3], now - tonumber(ARGV[1]), '+inf')
        local result = {}
        for _, address in ipairs(live) do
          local runner = redis.call('HGET', KEYS[1], address)
          if runner then
            result[#result + 1] = address
            result[#result + 1] = runner
            result[#result + 1] = redis.call('HGET', KEYS[2], address) or '1'
          end
        end
        return result
        """;

    // KEYS: health ; ARGV: address, healthy (0|1). Only updates a registered runner.
    public const string SetHealth = """
        if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
          redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        end
        return 0
        """;

    // KEYS: held shards of the runner, lock key of each shard...
    // ARGV: address, lease (ms), shard id of each lock key...
    // A lease is taken when free (never held or expired) or already ours; returns the shards now held.
    public const string Acquire = """
        local held = {}
        for i = 2, #KEYS do
          local owner = redis.call('GET', KEYS[i])
          if (not owner) or owner == ARGV[1] then
            redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2])
            redis.call('SADD', KEYS[1], ARGV[i + 1])
            held[#held + 1] = ARGV[i + 1]
          end
        end
        return held
        """;

    // KEYS: heartbeats, held shards of the runner, lock key of each shard...
    // ARGV: address, lease (ms), shard id of each lock key...
    // Heartbeats the runner and extends the leases still ours; returns the shards still held.
    public const string Refresh = RedisLua.Now + """
        redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
        local held = {}
        for i = 3, #KEYS do
          if redis.call('GET', KEYS[i]) == ARGV[1] then
            redis.call('PEXPIRE', KEYS[i], ARGV[2])
            held[#held + 1] = ARGV[i]
          else
            redis.call('SREM', KEYS[2], ARGV[i])
          end
        end
        return held
        """;

    // KEYS: held shards of the runner, lock key ; ARGV: address, shard id
    public const string Release = """
        if redis.call('GET', KEYS[2]) == ARGV[1] then
          redis.call('DEL', KEYS[2])
        end
        redis.call('SREM', KEYS[1], ARGV[2])
        return 0
        """;

    // KEYS: held shards of the runner ; ARGV: address, lock key prefix
    public const string ReleaseAll = """
        local released = 0
        for _, shard in ipairs(redis.call('SMEMBERS', KEYS[1])) do
          local key = ARGV[2] .. shard
          if redis.call('GET', key) == ARGV[1] then
            redis.call('DEL', key)
            released = released + 1
          end
        end
        redis.call('DEL', KEYS[1])
        return released
        """;
}
