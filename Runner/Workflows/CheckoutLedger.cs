using System.Text.Json;
using Microsoft.Extensions.Options;
using SocketRunnerAspire.Cluster.Configuration;
using StackExchange.Redis;

namespace SocketRunnerAspire.Runner.Workflows;

/// <summary>
/// For crash tests: when <c>Checkout:Ledger</c> is true, every run of the checkout's charge and confirm activities
/// appends <c>{order, activity, pid, result}</c> to the Redis list <c>{cluster}:checkout-ledger</c>, so a test can tell a
/// run the next owner repeated after a crash (allowed) from an activity run twice (a bug). Off by default: then it only
/// passes the result through.
/// </summary>
public sealed class CheckoutLedger(IServiceProvider services, IOptions<ShardingOptions> options, IConfiguration configuration)
{
    public const string EnabledKey = "Checkout:Ledger";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly bool _enabled = configuration.GetValue<bool>(EnabledKey);

    /// <summary>Records a run of <paramref name="activity"/> for <paramref name="orderId"/> that produced <paramref name="result"/>, and returns it.</summary>
    public async Task<T> RecordAsync<T>(string orderId, string activity, T result)
    {
        if (_enabled)
        {
            var entry = JsonSerializer.Serialize(new { order = orderId, activity, pid = Environment.ProcessId, result }, Json);
            // Only crash tests turn it on, on Redis storage; off, a runner on PostgreSQL storage needs no Redis.
            var redis = services.GetService<IConnectionMultiplexer>()
                ?? throw new InvalidOperationException($"{EnabledKey} needs the cluster's Redis storage.");
            await redis.GetDatabase().ListRightPushAsync($"{options.Value.Name}:checkout-ledger", entry);
        }

        return result;
    }
}
