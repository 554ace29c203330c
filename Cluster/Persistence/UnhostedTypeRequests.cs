using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Timing;

namespace SocketRunnerAspire.Cluster.Persistence;

/// <summary>
/// Stored requests for an entity type this runner does not host (a rolling deploy that adds the type): they are never
/// answered here. Each one's entity gets its read leases ended, so every storage pass reads it again until the shard
/// moves to a runner that hosts the type; a warning names the type at most once a minute.
/// </summary>
internal sealed partial class UnhostedTypeRequests(ShardingOptions options, IMessageStorage messages, TimeProvider time, ILogger logger)
{
    private static readonly TimeSpan WarningInterval = TimeSpan.FromMinutes(1);

    // When each entity type not hosted here was last warned about.
    private readonly ConcurrentDictionary<string, DateTimeOffset> _warned = new(StringComparer.Ordinal);

    /// <summary>Keeps the request for <paramref name="address"/> stored for an owner that hosts its type.</summary>
    public async Task KeepForAnOwnerThatHostsTheTypeAsync(EntityAddress address)
    {
        var now = time.GetUtcNow();
        if (!_warned.TryGetValue(address.EntityType, out var warned) || now - warned >= WarningInterval)
        {
            _warned[address.EntityType] = now;
            LogTypeNotRegistered(logger, address.EntityType);
        }

        try
        {
            using var timeout = TimeoutScope.Start(options.StorageTimeout, time);
            await messages.ResetAddressAsync(address, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is PersistenceException or OperationCanceledException)
        {
            LogResetFailed(logger, ex);   // read again when its lease ends
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Persisted messages for entity type '{EntityType}' reached this runner, which does not host it; they stay stored for an owner that does")]
    private static partial void LogTypeNotRegistered(ILogger logger, string entityType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Message storage is failing; retrying")]
    private static partial void LogResetFailed(ILogger logger, Exception exception);
}
