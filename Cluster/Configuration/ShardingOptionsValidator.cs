using Microsoft.Extensions.Options;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Configuration;

/// <summary>Rejects settings the cluster cannot run with, naming the setting and the value.</summary>
public sealed class ShardingOptionsValidator : IValidateOptions<ShardingOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, ShardingOptions options)
    {
        var errors = new List<string>();
        var prefix = ShardingOptions.SectionName + ":";

        void Positive(TimeSpan value, string setting)
        {
            if (value <= TimeSpan.Zero)
            {
                errors.Add($"{prefix}{setting} must be positive (was {value}).");
            }
        }

        if (string.IsNullOrWhiteSpace(options.Name))
        {
            errors.Add($"{prefix}Name must not be empty.");
        }

        if (options.ShardsPerGroup <= 0)
        {
            errors.Add($"{prefix}ShardsPerGroup must be at least 1 (was {options.ShardsPerGroup}).");
        }

        if (!(options.RunnerShardWeight > 0))
        {
            errors.Add($"{prefix}RunnerShardWeight must be greater than 0 (was {options.RunnerShardWeight}).");
        }

        if (options.EntityMailboxCapacity < 0)
        {
            errors.Add($"{prefix}EntityMailboxCapacity must be 0 (unbounded) or positive (was {options.EntityMailboxCapacity}).");
        }

        if (options.MaxResidentEntities < 0)
        {
            errors.Add($"{prefix}MaxResidentEntities must be 0 (unbounded) or positive (was {options.MaxResidentEntities}).");
        }

        if (options.AvailableShardGroups.Count == 0 || options.AvailableShardGroups.Any(string.IsNullOrWhiteSpace))
        {
            errors.Add($"{prefix}AvailableShardGroups must list at least one non-empty group.");
        }

        var unknown = options.AssignedShardGroups.Except(options.AvailableShardGroups, StringComparer.Ordinal).ToArray();
        if (unknown.Length > 0)
        {
            errors.Add($"{prefix}AssignedShardGroups contains groups not in AvailableShardGroups: {string.Join(", ", unknown)}.");
        }

        Positive(options.ShardLockRefreshInterval, nameof(options.ShardLockRefreshInterval));
        Positive(options.ShardLockExpiration, nameof(options.ShardLockExpiration));
        Positive(options.EntityMaxIdleTime, nameof(options.EntityMaxIdleTime));
        Positive(options.EntityRegistrationTimeout, nameof(options.EntityRegistrationTimeout));
        Positive(options.EntityTerminationTimeout, nameof(options.EntityTerminationTimeout));
        Positive(options.EntityMessagePollInterval, nameof(options.EntityMessagePollInterval));
        Positive(options.EntityReplyPollInterval, nameof(options.EntityReplyPollInterval));
        Positive(options.RefreshAssignmentsInterval, nameof(options.RefreshAssignmentsInterval));
        Positive(options.SendRetryInterval, nameof(options.SendRetryInterval));
        Positive(options.SendTimeout, nameof(options.SendTimeout));
        Positive(options.PersistedReplyTimeout, nameof(options.PersistedReplyTimeout));
        Positive(options.StorageTimeout, nameof(options.StorageTimeout));
        Positive(options.RunnerHealthCheckInterval, nameof(options.RunnerHealthCheckInterval));

        if (options.ShardLockExpiration <= options.ShardLockRefreshInterval)
        {
            errors.Add($"{prefix}ShardLockExpiration ({options.ShardLockExpiration}) must be longer than ShardLockRefreshInterval ({options.ShardLockRefreshInterval}), or leases expire between refreshes.");
        }

        foreach (var (endpoint, setting) in new[] { (options.RunnerAddress, nameof(options.RunnerAddress)), (options.RunnerListenAddress, nameof(options.RunnerListenAddress)) })
        {
            if (endpoint is null)
            {
                continue;
            }

            if (string.IsNullOrWhiteSpace(endpoint.Host))
            {
                errors.Add($"{prefix}{setting}:Host must not be empty.");
            }

            var unixSocket = endpoint.Port == 0 && endpoint.Host.StartsWith('/');
            if (!unixSocket && endpoint.Port is < 1 or > 65535)
            {
                errors.Add($"{prefix}{setting}:Port must be 1..65535, or 0 with a Unix socket path as Host (was {endpoint.Port}).");
            }
        }

        if (options.RunnerAddress is null && options.RunnerListenAddress is not null)
        {
            errors.Add($"{prefix}RunnerListenAddress is set but RunnerAddress is not: a client-only process does not listen.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
