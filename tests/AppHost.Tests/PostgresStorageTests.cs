using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace SocketRunnerAspire.AppHost.Tests;

/// <summary>
/// The real AppHost with <c>Storage:Mode=Postgres</c> on a throw-away PostgreSQL server (no container): two runners
/// and the client app coordinate through Effect's SQL tables and run the checkout workflow (persisted messages).
/// Skipped where PostgreSQL is not installed.
/// </summary>
public sealed class PostgresStorageTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(180);

    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    [SkippableFact]
    public async Task RunnersAndTheClientAppRunAnOrderOnPostgresStorage()
    {
        Skip.If(PostgresServer.SkipReason is not null, PostgresServer.SkipReason);
        await using var postgres = new PostgresServer();
        await postgres.StartAsync();
        using var cts = new CancellationTokenSource(StartTimeout);
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["--Storage:Mode=Postgres", $"--ConnectionStrings:storage={postgres.ConnectionString()}", "--Cluster:Runners=2"], cts.Token);
        appHost.Services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        await using var app = await appHost.BuildAsync(cts.Token);
        await app.StartAsync(cts.Token);
        foreach (var name in new[] { "runner-1", "runner-2", "clientapp" })
        {
            await app.ResourceNotifications.WaitForResourceHealthyAsync(name, cts.Token);
        }

        using var http = app.CreateHttpClient("clientapp");
        var orderId = $"order-{Guid.NewGuid():N}";
        var placed = await http.PostAsJsonAsync("/orders", new { orderId, lines = new[] { new { sku = "banana", quantity = 2 } }, settleSeconds = 0 }, Timeout);
        Assert.Equal(HttpStatusCode.Accepted, placed.StatusCode);
        var order = await Eventually.GetAsync(
            async () => await http.GetFromJsonAsync<JsonElement>($"/orders/{orderId}", Timeout),
            o => o.GetProperty("state").GetString() is "succeeded" or "failed",
            o => $"order {orderId} did not finish: {o}", TimeSpan.FromSeconds(60));
        Assert.Equal("succeeded", order.GetProperty("state").GetString());

        // Everything went through PostgreSQL: both runners registered there, the order's messages are stored there.
        await using var dataSource = NpgsqlDataSource.Create(postgres.ConnectionString());
        await using var runners = dataSource.CreateCommand("SELECT COUNT(*) FROM cluster_runners");
        Assert.Equal(2L, await runners.ExecuteScalarAsync(Timeout));
        await using var messages = dataSource.CreateCommand("SELECT COUNT(*) FROM cluster_messages WHERE processed");
        Assert.True((long)(await messages.ExecuteScalarAsync(Timeout))! > 0, "no completed persisted message in cluster_messages");
    }
}
