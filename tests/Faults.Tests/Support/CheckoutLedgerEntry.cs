using System.Text.Json;
using StackExchange.Redis;

namespace SocketRunnerAspire.Faults.Tests.Support;

/// <summary>
/// One run of a checkout activity as the runners record it with <c>Checkout:Ledger</c> on (Runner/Workflows/CheckoutLedger.cs):
/// the order, the activity (<c>charge</c> or <c>confirm</c>), the runner's process id and the run's result (JSON).
/// </summary>
public sealed record CheckoutLedgerEntry(string Order, string Activity, int Pid, JsonElement Result)
{
    public const string Setting = "Checkout:Ledger";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The runs recorded in <paramref name="clusterName"/>'s ledger, in the order they were recorded.</summary>
    public static async Task<IReadOnlyList<CheckoutLedgerEntry>> ReadAsync(string redisConnectionString, string clusterName)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(redisConnectionString);
        var entries = await redis.GetDatabase().ListRangeAsync($"{clusterName}:checkout-ledger");
        return entries.Select(e => JsonSerializer.Deserialize<CheckoutLedgerEntry>(e.ToString(), Json)!).ToArray();
    }
}
