namespace SocketRunnerAspire.Cluster.Storage.Redis;

/// <summary>
/// Lua scripts of the Redis MessageStorage. Keys (all under the cluster's hash tag, built from ARGV[1]):
/// <c>m:{id}</c> a hash per request (e = encoded envelope, s = shard, k = primary key, a = deliver-at ms,
/// d = done, i = interrupted, c = last chunk saved, ack = last chunk acknowledged); <c>mr:{id}</c> its replies
/// in order (chunk n at index n, the final reply last); <c>mq:{shard}</c> a sorted set of the shard's
/// unfinished requests scored by when they may be handed out (0 = now, deliver-at, or the end of a read lease);
/// <c>mpk:{key}</c> the request id of a primary key; <c>ma:{address}</c> a sorted set of an entity's requests
/// (hash field ad names it), scored 253402300800000 (year 10000) while unfinished and by when they expire once complete.
/// Ids are zero-padded to 19 digits so equal scores sort by id. Completed requests expire after the retention
/// (0 = never). Verified on Redis 7 and Garnet 2.2.
/// </summary>
internal static class RedisMessageScripts
{
    // A number field that does not parse (a corrupt row) reads as its initial value, so one bad row cannot fail a
    // batch it shares with others; the read of unprocessed requests reports such rows (RedisMessageStorage).


    // ARGV: prefix, then per request: id, shard, primary key ('' = none), deliver-at ms (0 = now), address, envelope.
    // Saves the requests in order (a later one sees the primary keys of earlier ones) and returns two values per
    // request: '' and '' when saved; the original id and its last reply ('' = none) for a duplicate primary key;
    // '!' and '' when a request with that id is already stored.
    public const string SaveRequests = """
        local p = ARGV[1]
        local out = {}
        for at = 2, #ARGV, 6 do
          local id = ARGV[at]
          local shard = ARGV[at + 1]
          local key = ARGV[at + 2]
          local original = false
          if key ~= '' then original = redis.call('GET', p .. 'mpk:' .. key) end
          local m = p .. 'm:' .. id
          if original then
            out[#out + 1] = original
            out[#out + 1] = redis.call('LINDEX', p .. 'mr:' .. original, -1) or ''
          elseif redis.call('EXISTS', m) == 1 then
            out[#out + 1] = '!'
            out[#out + 1] = ''
          else
            if key ~= '' then redis.call('SET', p .. 'mpk:' .. key, id) end
            redis.call('HSET', m, 'e', ARGV[at + 5], 's', shard, 'k', key, 'a', ARGV[at + 3], 'ad', ARGV[at + 4], 'd', '0', 'i', '0', 'c', '-1', 'ack', '-1')
            redis.call('ZADD', p .. 'mq:' .. shard, ARGV[at + 3], id)
            local ma = p .. 'ma:' .. ARGV[at + 4]
            redis.call('ZADD', ma, 253402300800000, id)
            redis.call('PERSIST', ma)
            out[#out + 1] = ''
            out[#out + 1] = ''
          end
        end
        return out
        """;

    // ARGV: prefix, retention ms (0 = keep), then per reply: id, sequence, final (0|1), reply.
    // Saves the replies in order and returns per reply 1 when saved, 0 when the request is unknown or complete, or
    // the chunk is not the next one.
    public const string SaveReplies = RedisLua.Now + """
        local p = ARGV[1]
        local retention = tonumber(ARGV[2])
        local out = {}
        for at = 3, #ARGV, 4 do
          local id = ARGV[at]
          local m = p .. 'm:' .. id
          local state = redis.call('HMGET', m, 'd', 'c', 's', 'k', 'ad')
          local saved = 0
          if state[1] and state[1] ~= '1' then
            local r = p .. 'mr:' .. id
            if ARGV[at + 2] == '0' then
              if tonumber(ARGV[at + 1]) == (tonumber(state[2]) or -2) + 1 then
                redis.call('RPUSH', r, ARGV[at + 3])
                redis.call('HSET', m, 'c', ARGV[at + 1])
                saved = 1
              end
            else
              redis.call('RPUSH', r, ARGV[at + 3])
              redis.call('HSET', m, 'd', '1')
              redis.call('ZREM', p .. 'mq:' .. state[3], id)
              if retention > 0 then
                redis.call('PEXPIRE', m, retention)
                redis.call('PEXPIRE', r, retention)
                if state[4] ~= '' then redis.call('PEXPIRE', p .. 'mpk:' .. state[4], retention) end
                if state[5] then
                  -- the entity's index forgets requests once they expired, and expires itself when none is open
                  local ma = p .. 'ma:' .. state[5]
                  redis.call('ZADD', ma, now + retention, id)
                  redis.call('ZREMRANGEBYSCORE', ma, '-inf', now)
                  if redis.call('ZCOUNT', ma, 253402300800000, '+inf') == 0 then redis.call('PEXPIRE', ma, retention) end
                end
              end
              saved = 1
            end
          end
          out[#out + 1] = saved
        end
        return out
        """;

    // ARGV: prefix, id, kind (ack|interrupt), sequence
    public const string SaveEnvelope = """
        local p = ARGV[1]
        local m = p .. 'm:' .. ARGV[2]
        local state = redis.call('HMGET', m, 'd', 's', 'ack')
        if not state[1] or state[1] == '1' then return 0 end
        if ARGV[3] == 'ack' then
          if tonumber(ARGV[4]) > (tonumber(state[3]) or -1) then redis.call('HSET', m, 'ack', ARGV[4]) end
        else
          redis.call('HSET', m, 'i', '1')
          redis.call('ZADD', p .. 'mq:' .. state[2], 0, ARGV[2])
        end
        return 1
        """;

    // ARGV: prefix, id...
    // Returns {id, count, reply...} per request: chunks after the last acknowledged one, then the final reply.
    public const string RepliesFor = """
        local p = ARGV[1]
        local out = {}
        for i = 2, #ARGV do
          local ack = redis.call('HGET', p .. 'm:' .. ARGV[i], 'ack')
          if ack then
            local replies = redis.call('LRANGE', p .. 'mr:' .. ARGV[i], (tonumber(ack) or -1) + 1, -1)
            out[#out + 1] = ARGV[i]
            out[#out + 1] = #replies
            for _, reply in ipairs(replies) do out[#out + 1] = reply end
          end
        end
        return out
        """;

    // ARGV: prefix, lease ms, limit, shard...
    // Returns {id, envelope, interrupted, last chunk, that chunk ('' = none), ...} of due requests, oldest first, and leases them.
    public const string Unprocessed = RedisLua.Now + """
        local p = ARGV[1]
        local leased = now + tonumber(ARGV[2])
        local budget = tonumber(ARGV[3])
        local out = {}
        for i = 4, #ARGV do
          if budget <= 0 then break end
          local q = p .. 'mq:' .. ARGV[i]
          local ids = redis.call('ZRANGEBYSCORE', q, '-inf', now, 'LIMIT', 0, budget)
          for _, id in ipairs(ids) do
            local m = redis.call('HMGET', p .. 'm:' .. id, 'e', 'i', 'c', 'd')
            if not m[1] or m[4] == '1' then
              redis.call('ZREM', q, id)
            else
              redis.call('ZADD', q, leased, id)
              out[#out + 1] = id
              out[#out + 1] = m[1]
              out[#out + 1] = m[2]
              out[#out + 1] = m[3]
              out[#out + 1] = ((tonumber(m[3]) or -1) >= 0 and redis.call('LINDEX', p .. 'mr:' .. id, tonumber(m[3]))) or ''
              budget = budget - 1
            end
          end
        end
        return out
        """;

    // ARGV: prefix, shard...
    // Ends the read leases of the shards' requests (delayed requests go back to their deliver-at).
    public const string ResetShards = RedisLua.Now + """
        local p = ARGV[1]
        local reset = 0
        for i = 2, #ARGV do
          local q = p .. 'mq:' .. ARGV[i]
          for _, id in ipairs(redis.call('ZRANGEBYSCORE', q, '(' .. now, '+inf')) do
            local state = redis.call('HMGET', p .. 'm:' .. id, 'a', 'i')
            local at = tonumber(state[1] or '0')
            if state[2] == '1' then at = 0 end
            redis.call('ZADD', q, at, id)
            reset = reset + 1
          end
        end
        return reset
        """;

    // ARGV: prefix, id
    public const string ClearReplies = """
        local p = ARGV[1]
        local m = p .. 'm:' .. ARGV[2]
        local shard = redis.call('HGET', m, 's')
        if not shard then return 0 end
        redis.call('DEL', p .. 'mr:' .. ARGV[2])
        redis.call('PERSIST', m)
        redis.call('HSET', m, 'd', '0', 'i', '0', 'c', '-1', 'ack', '-1')
        redis.call('ZADD', p .. 'mq:' .. shard, 0, ARGV[2])
        local address = redis.call('HGET', m, 'ad')
        if address then
          local ma = p .. 'ma:' .. address
          redis.call('ZADD', ma, 253402300800000, ARGV[2])
          redis.call('PERSIST', ma)
        end
        local key = redis.call('HGET', m, 'k')
        if key and key ~= '' then redis.call('PERSIST', p .. 'mpk:' .. key) end
        return 1
        """;

    // ARGV: prefix, lease ms, id...
    // As Unprocessed, for those ids whatever their read lease: {id, envelope, interrupted, last chunk, that chunk, ...} of the
    // unfinished, due ones, oldest (lowest id) first, leased again.
    public const string UnprocessedById = RedisLua.Now + """
        local p = ARGV[1]
        local leased = now + tonumber(ARGV[2])
        local out = {}
        for i = 3, #ARGV do
          local id = ARGV[i]
          local m = redis.call('HMGET', p .. 'm:' .. id, 'e', 'i', 'c', 'd', 's', 'a')
          if m[1] and m[4] ~= '1' and (m[2] == '1' or (tonumber(m[6]) or 0) <= now) then
            redis.call('ZADD', p .. 'mq:' .. m[5], leased, id)
            out[#out + 1] = id
            out[#out + 1] = m[1]
            out[#out + 1] = m[2]
            out[#out + 1] = m[3]
            out[#out + 1] = ((tonumber(m[3]) or -1) >= 0 and redis.call('LINDEX', p .. 'mr:' .. id, tonumber(m[3]))) or ''
          end
        end
        return out
        """;

    // ARGV: prefix, address
    // Ends the read leases of the entity's unfinished requests, as ResetShards does.
    public const string ResetAddress = RedisLua.Now + """
        local p = ARGV[1]
        local reset = 0
        for _, id in ipairs(redis.call('ZRANGEBYSCORE', p .. 'ma:' .. ARGV[2], 253402300800000, '+inf')) do
          local state = redis.call('HMGET', p .. 'm:' .. id, 's', 'a', 'i', 'd')
          if state[1] and state[4] ~= '1' then
            local q = p .. 'mq:' .. state[1]
            local score = redis.call('ZSCORE', q, id)
            if not score or tonumber(score) > now then
              local at = tonumber(state[2] or '0')
              if state[3] == '1' then at = 0 end
              redis.call('ZADD', q, at, id)
              reset = reset + 1
            end
          end
        end
        return reset
        """;

    // ARGV: prefix, address
    // Deletes the entity's requests, their replies and primary keys, and its index.
    public const string ClearAddress = """
        local p = ARGV[1]
        local ma = p .. 'ma:' .. ARGV[2]
        local ids = redis.call('ZRANGE', ma, 0, -1)
        for _, id in ipairs(ids) do
          local m = p .. 'm:' .. id
          local state = redis.call('HMGET', m, 's', 'k')
          if state[1] then redis.call('ZREM', p .. 'mq:' .. state[1], id) end
          if state[2] and state[2] ~= '' and redis.call('GET', p .. 'mpk:' .. state[2]) == id then
            redis.call('DEL', p .. 'mpk:' .. state[2])
          end
          redis.call('DEL', m, p .. 'mr:' .. id)
        end
        redis.call('DEL', ma)
        return #ids
        """;
}
