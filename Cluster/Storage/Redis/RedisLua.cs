namespace SocketRunnerAspire.Cluster.Storage.Redis;

/// <summary>Lua shared by the Redis storage scripts.</summary>
internal static class RedisLua
{
    /// <summary>Defines <c>now</c>: the server's time in Unix milliseconds (so client clocks never matter).</summary>
    public const string Now = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

        """;
}
