using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Transport;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Storage.Redis;

/// <summary>
/// MessageStorage on Redis (or Garnet) through StackExchange.Redis. Every operation is one Lua script
/// (<see cref="RedisMessageScripts"/>), so de-duplication, reply ordering and read leases are atomic; keys share
/// the cluster's hash tag with RunnerStorage. Requests and replies saved concurrently are batched: those saved while
/// earlier batches are on the wire go out together as one script call, applied in order, each caller getting its
/// own result. Completed requests (and their primary keys) are kept for the retention given (zero keeps them
/// forever), which is also how long duplicates are recognised.
/// Redis errors and timeouts surface as <see cref="PersistenceException"/>.
/// </summary>
public sealed partial class RedisMessageStorage : IMessageStorage
{
    // Requests and replies saved meanwhile go out together: one Lua call (one round trip) per batch.
    private const int MaxBatch = 256;
    private const int MaxBatchesInFlight = 2;

    private readonly IConnectionMultiplexer _redis;
    private readonly string _prefix;
    private readonly long _retentionMs;
    private readonly RedisBatcher<PersistedRequest, SaveRequestResult> _requests;
    private readonly RedisBatcher<PersistedReply, bool> _replies;
    private readonly ILogger _logger;

    /// <summary>
    /// MessageStorage on <paramref name="redis"/> under the hash tag of <paramref name="clusterName"/>, keeping completed
    /// requests for <paramref name="retention"/>; stored rows that cannot be read are reported to <paramref name="logger"/>.
    /// </summary>
    public RedisMessageStorage(IConnectionMultiplexer redis, string clusterName, TimeSpan retention, ILogger? logger = null)
    {
        _redis = redis;
        _logger = logger ?? NullLogger.Instance;
        _prefix = "{" + clusterName + "}:";
        _retentionMs = (long)retention.TotalMilliseconds;
        _requests = new RedisBatcher<PersistedRequest, SaveRequestResult>(SaveRequestBatchAsync, MaxBatch, MaxBatchesInFlight);
        _replies = new RedisBatcher<PersistedReply, bool>(SaveReplyBatchAsync, MaxBatch, MaxBatchesInFlight);
    }

    /// <summary>Lua calls made to save requests and replies (a batch is one call), for tests and diagnostics.</summary>
    internal long SaveBatches => _requests.Batches + _replies.Batches;

    private IDatabase Db => _redis.GetDatabase();

    /// <inheritdoc />
    public Task<SaveRequestResult> SaveRequestAsync(PersistedRequest request, CancellationToken cancellationToken) =>
        Run(() => _requests.Enqueue(request), cancellationToken);

    private async Task<RedisBatcher<PersistedRequest, SaveRequestResult>.Outcome[]> SaveRequestBatchAsync(PersistedRequest[] requests)
    {
        var args = new RedisValue[1 + (requests.Length * 6)];
        args[0] = _prefix;
        var at = 1;
        foreach (var request in requests)
        {
            args[at++] = Id(request.Id);
            args[at++] = request.Address.ShardId.ToString();
            args[at++] = request.StorageKey ?? string.Empty;
            args[at++] = request.DeliverAt?.ToUnixTimeMilliseconds() ?? 0;
            args[at++] = AddressKey(request.Address);
            args[at++] = EnvelopeCodec.Encode(new Envelope(request.Id, request.Address, request.Tag, request.Kind, request.Payload, request.TraceParent, request.TraceState));
        }

        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(RedisMessageScripts.SaveRequests, [], args).ConfigureAwait(false))!;
        var outcomes = new RedisBatcher<PersistedRequest, SaveRequestResult>.Outcome[requests.Length];
        for (var i = 0; i < requests.Length; i++)
        {
            var original = (string?)result[2 * i];
            if (string.IsNullOrEmpty(original))
            {
                outcomes[i] = RedisBatcher<PersistedRequest, SaveRequestResult>.Outcome.Of(SaveRequestResult.Saved.Instance);
            }
            else if (original == "!")
            {
                outcomes[i] = RedisBatcher<PersistedRequest, SaveRequestResult>.Outcome.Failed(
                    new PersistenceException($"Message storage failed: request id {Id(requests[i].Id)} is already stored"));
            }
            else
            {
                var originalId = long.Parse(original, CultureInfo.InvariantCulture);
                var last = (byte[]?)result[(2 * i) + 1];
                outcomes[i] = RedisBatcher<PersistedRequest, SaveRequestResult>.Outcome.Of(
                    new SaveRequestResult.Duplicate(originalId, last is { Length: > 0 } ? PersistedReplyCodec.Decode(originalId, last) : null));
            }
        }

        return outcomes;
    }

    /// <inheritdoc />
    public Task<bool> SaveReplyAsync(PersistedReply reply, CancellationToken cancellationToken) =>
        Run(() => _replies.Enqueue(reply), cancellationToken);

    private async Task<RedisBatcher<PersistedReply, bool>.Outcome[]> SaveReplyBatchAsync(PersistedReply[] replies)
    {
        var args = new RedisValue[2 + (replies.Length * 4)];
        args[0] = _prefix;
        args[1] = _retentionMs;
        var at = 2;
        foreach (var reply in replies)
        {
            args[at++] = Id(reply.RequestId);
            args[at++] = reply.Sequence;
            args[at++] = reply.IsFinal ? 1 : 0;
            args[at++] = PersistedReplyCodec.Encode(reply);
        }

        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(RedisMessageScripts.SaveReplies, [], args).ConfigureAwait(false))!;
        var outcomes = new RedisBatcher<PersistedReply, bool>.Outcome[replies.Length];
        for (var i = 0; i < replies.Length; i++)
        {
            outcomes[i] = RedisBatcher<PersistedReply, bool>.Outcome.Of((long)result[i] == 1);
        }

        return outcomes;
    }

    /// <inheritdoc />
    public Task SaveEnvelopeAsync(PersistedEnvelope envelope, CancellationToken cancellationToken) => Run(async () =>
    {
        var (kind, sequence) = envelope switch
        {
            PersistedEnvelope.AckChunk ack => ("ack", ack.Sequence),
            _ => ("interrupt", 0),
        };
        await Db.ScriptEvaluateAsync(RedisMessageScripts.SaveEnvelope, [], [_prefix, Id(envelope.RequestId), kind, sequence]).ConfigureAwait(false);
        return 0;
    }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<PersistedReply>> RepliesForAsync(IReadOnlyCollection<long> requestIds, CancellationToken cancellationToken) => Run<IReadOnlyList<PersistedReply>>(async () =>
    {
        if (requestIds.Count == 0)
        {
            return [];
        }

        var args = new RedisValue[1 + requestIds.Count];
        args[0] = _prefix;
        var i = 1;
        foreach (var id in requestIds)
        {
            args[i++] = Id(id);
        }

        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(RedisMessageScripts.RepliesFor, [], args).ConfigureAwait(false))!;
        var replies = new List<PersistedReply>();
        for (var at = 0; at + 1 < result.Length;)
        {
            var requestId = long.Parse((string)result[at]!, CultureInfo.InvariantCulture);
            var count = (int)result[at + 1];
            for (var n = 0; n < count; n++)
            {
                replies.Add(PersistedReplyCodec.Decode(requestId, (byte[])result[at + 2 + n]!));
            }

            at += 2 + count;
        }

        return replies;
    }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<UnprocessedMessage>> UnprocessedMessagesAsync(IReadOnlyCollection<ShardId> shards, int limit, CancellationToken cancellationToken) => Run<IReadOnlyList<UnprocessedMessage>>(async () =>
    {
        if (shards.Count == 0 || limit <= 0)
        {
            return [];
        }

        var args = new RedisValue[3 + shards.Count];
        args[0] = _prefix;
        args[1] = (long)MessageStorageDefaults.ReadLease.TotalMilliseconds;
        args[2] = limit;
        var i = 3;
        foreach (var shard in shards)
        {
            args[i++] = shard.ToString();
        }

        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(RedisMessageScripts.Unprocessed, [], args).ConfigureAwait(false))!;
        return await DecodeUnprocessedAsync(result).ConfigureAwait(false);
    }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<UnprocessedMessage>> UnprocessedMessagesByIdAsync(IReadOnlyCollection<long> requestIds, CancellationToken cancellationToken) => Run<IReadOnlyList<UnprocessedMessage>>(async () =>
    {
        if (requestIds.Count == 0)
        {
            return [];
        }

        var ids = requestIds.Distinct().Order().ToArray();
        var args = new RedisValue[2 + ids.Length];
        args[0] = _prefix;
        args[1] = (long)MessageStorageDefaults.ReadLease.TotalMilliseconds;
        for (var i = 0; i < ids.Length; i++)
        {
            args[2 + i] = Id(ids[i]);
        }

        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(RedisMessageScripts.UnprocessedById, [], args).ConfigureAwait(false))!;
        return await DecodeUnprocessedAsync(result).ConfigureAwait(false);
    }, cancellationToken);

    /// <summary>
    /// Decodes the {id, envelope, interrupted, last chunk, that chunk} rows of a read. A row that cannot be decoded is skipped and
    /// logged; when its id is readable it gets a failure reply (<see cref="MalformedMessageException"/>), as Effect does,
    /// so its caller is answered and it is not handed out forever. The row itself stays.
    /// </summary>
    private async Task<IReadOnlyList<UnprocessedMessage>> DecodeUnprocessedAsync(RedisResult[] result)
    {
        var messages = new List<UnprocessedMessage>(result.Length / 5);
        List<PersistedReply>? failures = null;
        for (var at = 0; at + 4 < result.Length; at += 5)
        {
            var idText = (string?)result[at];
            if (!long.TryParse(idText, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                LogUnreadableRow(_logger, idText, null);
                continue;
            }

            try
            {
                messages.Add(DecodeRow(id, result, at));
            }
            catch (MalformedMessageException ex)
            {
                LogMalformedRequest(_logger, ex, id);
                (failures ??= []).Add(new PersistedReply(id, 0, IsFinal: true, IsFailure: true, ReplyFailure.Encode(ex)));
            }
        }

        if (failures is not null)
        {
            try
            {
                await Task.WhenAll(failures.Select(f => SaveReplyAsync(f, CancellationToken.None))).ConfigureAwait(false);
            }
            catch (PersistenceException ex)
            {
                LogMalformedReplyNotSaved(_logger, ex);   // the rows are read again once their lease ends
            }
        }

        return messages;
    }

    private static UnprocessedMessage DecodeRow(long id, RedisResult[] result, int at)
    {
        var envelope = EnvelopeCodec.Decode((byte[]?)result[at + 1] ?? throw new MalformedMessageException($"Stored request {id} has no envelope."));
        var interrupted = (string?)result[at + 2] switch
        {
            "0" => false,
            "1" => true,
            var other => throw new MalformedMessageException($"Stored request {id} has an unreadable interrupt flag '{other}'."),
        };
        if (!int.TryParse((string?)result[at + 3], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var lastChunk) || lastChunk < -1)
        {
            throw new MalformedMessageException($"Stored request {id} has an unreadable last chunk '{(string?)result[at + 3]}'.");
        }

        if (envelope.RequestId != id)
        {
            throw new MalformedMessageException($"Stored request {id} holds the envelope of request {envelope.RequestId}.");
        }

        var request = new PersistedRequest(id, envelope.Address, envelope.Tag, envelope.Kind, envelope.Payload,
            TraceParent: envelope.TraceParent, TraceState: envelope.TraceState);
        var lastSent = (byte[]?)result[at + 4];
        return new UnprocessedMessage(request, interrupted, lastChunk, lastSent is { Length: > 0 } ? PersistedReplyCodec.Decode(id, lastSent) : null);
    }

    /// <inheritdoc />
    public Task ResetShardsAsync(IReadOnlyCollection<ShardId> shards, CancellationToken cancellationToken) => Run(async () =>
    {
        if (shards.Count == 0)
        {
            return 0;
        }

        var args = new RedisValue[1 + shards.Count];
        args[0] = _prefix;
        var i = 1;
        foreach (var shard in shards)
        {
            args[i++] = shard.ToString();
        }

        await Db.ScriptEvaluateAsync(RedisMessageScripts.ResetShards, [], args).ConfigureAwait(false);
        return 0;
    }, cancellationToken);

    /// <inheritdoc />
    public Task ClearRepliesAsync(long requestId, CancellationToken cancellationToken) => Run(async () =>
    {
        await Db.ScriptEvaluateAsync(RedisMessageScripts.ClearReplies, [], [_prefix, Id(requestId)]).ConfigureAwait(false);
        return 0;
    }, cancellationToken);

    /// <inheritdoc />
    public Task ResetAddressAsync(EntityAddress address, CancellationToken cancellationToken) => Run(async () =>
    {
        await Db.ScriptEvaluateAsync(RedisMessageScripts.ResetAddress, [], [_prefix, AddressKey(address)]).ConfigureAwait(false);
        return 0;
    }, cancellationToken);

    /// <inheritdoc />
    public Task ClearAddressAsync(EntityAddress address, CancellationToken cancellationToken) => Run(async () =>
    {
        await Db.ScriptEvaluateAsync(RedisMessageScripts.ClearAddress, [], [_prefix, AddressKey(address)]).ConfigureAwait(false);
        return 0;
    }, cancellationToken);

    /// <inheritdoc />
    public Task<long?> RequestIdForPrimaryKeyAsync(EntityAddress address, string tag, string primaryKey, CancellationToken cancellationToken) => Run(async () =>
    {
        var id = await Db.StringGetAsync(_prefix + "mpk:" + PersistedRequest.StorageKeyOf(address, tag, primaryKey)).ConfigureAwait(false);
        return id.IsNull ? (long?)null : long.Parse((string)id!, CultureInfo.InvariantCulture);
    }, cancellationToken);

    private static string Id(long id) => id.ToString("D19", CultureInfo.InvariantCulture);

    /// <summary>An entity's key in <c>ma:</c>: the type's length first, so no type and id pair reads as another.</summary>
    private static string AddressKey(EntityAddress address) =>
        string.Create(CultureInfo.InvariantCulture, $"{address.EntityType.Length}:{address.EntityType}/{address.EntityId}");

    [LoggerMessage(Level = LogLevel.Error, Message = "A stored request has an unreadable id '{Id}'; it is skipped")]
    private static partial void LogUnreadableRow(ILogger logger, string? id, Exception? exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Stored request {RequestId} cannot be decoded; it is skipped and answered with a MalformedMessage failure")]
    private static partial void LogMalformedRequest(ILogger logger, Exception exception, long requestId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The failure reply for an undecodable stored request could not be saved; it is retried when the request is read again")]
    private static partial void LogMalformedReplyNotSaved(ILogger logger, Exception exception);

    private static Task<T> Run<T>(Func<Task<T>> operation, CancellationToken cancellationToken) =>
        RedisCall.Run("Message storage", operation, cancellationToken);
}
