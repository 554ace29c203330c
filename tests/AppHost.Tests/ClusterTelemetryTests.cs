using System.Net.Http.Json;
using System.Text.Json;
using SocketRunnerAspire.AppHost.Tests.Otlp;

namespace SocketRunnerAspire.AppHost.Tests;

/// <summary>
/// What the dashboard shows, read from the OTLP data the projects export: one HTTP request traced from
/// ClientApp through the cart's runner to another runner, the cluster's metrics, and structured logs.
/// </summary>
[Collection(LocalClusterFixture.Collection)]
public sealed class ClusterTelemetryTests(LocalClusterFixture cluster)
{
    private static readonly string[] Skus = ["apple", "banana", "coffee", "tea", "mug", "teapot"];

    private static readonly string[] ExpectedSpans = ["send Cart.AddItem", "handle Cart.AddItem", "send Inventory.GetStock", "handle Inventory.GetStock"];

    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    [Fact]
    public async Task OneRequestIsTracedFromClientAppThroughTheCartsRunnerToTheInventorysRunner()
    {
        using var http = cluster.App.CreateHttpClient("clientapp");
        var (cartId, sku) = await FindCartAndSkuOnDifferentRunnersAsync(http);

        var response = await http.PostAsJsonAsync($"/carts/{cartId}/items", new { sku, quantity = 1 }, Timeout);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var traceId = Assert.Single(response.Headers.GetValues("trace-id"));

        // ClientApp → runner A (handle Cart.AddItem, which sends Inventory.GetStock) → runner B.
        var spans = await Eventually.GetAsync(
            () => cluster.Telemetry.Spans.Where(s => s.TraceId == traceId).ToArray(),
            trace => ExpectedSpans.All(name => trace.Any(s => s.Name == name)),
            trace => $"trace {traceId} lacks some of {string.Join(", ", ExpectedSpans)}: {Describe(trace)}");

        var send = Assert.Single(spans, s => s.Name == "send Cart.AddItem");
        Assert.Equal("clientapp", send.Service);
        Assert.Equal("Client", send.Kind.Replace("SpanKind", "", StringComparison.Ordinal));
        Assert.Equal("Cart", send.Attributes["cluster.entity.type"]);
        Assert.Equal(cartId, send.Attributes["cluster.entity.id"]);
        Assert.Equal("AddItem", send.Attributes["cluster.rpc"]);
        // The runners named by the spans, not by /cluster/locate a moment earlier: the trace must agree with itself.
        Assert.True(send.Attributes["cluster.target.runner"] is { Length: > 0 }, $"the send names no target runner: {Describe(spans)}");
        Assert.Matches(@"^default:\d+$", send.Attributes["cluster.shard"]);

        var handleCart = Assert.Single(spans, s => s.Name == "handle Cart.AddItem");
        Assert.Equal(send.SpanId, handleCart.ParentSpanId);
        Assert.StartsWith("runner-", handleCart.Service, StringComparison.Ordinal);
        Assert.Equal(send.Attributes["cluster.target.runner"], handleCart.Attributes["cluster.runner"]);
        Assert.Equal(send.Attributes["cluster.shard"], handleCart.Attributes["cluster.shard"]);

        var askInventory = Assert.Single(spans, s => s.Name == "send Inventory.GetStock");
        Assert.Equal(handleCart.Service, askInventory.Service);
        Assert.Equal(handleCart.SpanId, askInventory.ParentSpanId);
        Assert.NotEqual(handleCart.Attributes["cluster.runner"], askInventory.Attributes["cluster.target.runner"]);

        var handleInventory = Assert.Single(spans, s => s.Name == "handle Inventory.GetStock");
        Assert.Equal(askInventory.SpanId, handleInventory.ParentSpanId);
        Assert.Equal(sku, handleInventory.Attributes["cluster.entity.id"]);
        Assert.Equal(askInventory.Attributes["cluster.target.runner"], handleInventory.Attributes["cluster.runner"]);
        Assert.NotEqual(handleCart.Service, handleInventory.Service);

        var runners = spans.Select(s => s.Service).Where(s => s.StartsWith("runner-", StringComparison.Ordinal)).Distinct().ToArray();
        Assert.True(runners.Length >= 2, $"the trace touches {runners.Length} runner(s): {Describe(spans)}");
    }

    [Fact]
    public async Task RunnersAndClientAppExportTheClusterMetrics()
    {
        using var http = cluster.App.CreateHttpClient("clientapp");
        var (cartId, sku) = await FindCartAndSkuOnDifferentRunnersAsync(http);
        (await http.PostAsJsonAsync($"/carts/{cartId}/items", new { sku, quantity = 1 }, Timeout)).EnsureSuccessStatusCode();

        string[] runnerMetrics = ["cluster.entities.active", "cluster.shards.owned", "cluster.mailbox.depth", "cluster.messages.processed", "cluster.request.duration"];
        await Eventually.GetAsync(
            () => cluster.Telemetry.Metrics.Where(m => m.Service.StartsWith("runner-", StringComparison.Ordinal)).Select(m => m.Name).ToHashSet(),
            names => runnerMetrics.All(names.Contains),
            names => $"runners exported {string.Join(", ", names.Where(n => n.StartsWith("cluster.", StringComparison.Ordinal)))}; expected {string.Join(", ", runnerMetrics)}");
        await Eventually.GetAsync(
            () => cluster.Telemetry.Metrics.Where(m => m.Service == "clientapp").Select(m => m.Name).ToHashSet(),
            names => names.Contains("cluster.request.duration"),
            names => $"clientapp exported {string.Join(", ", names)}");
    }

    [Fact]
    public async Task RunnersLogTheirAddressAndShardCountsAsStructuredFields()
    {
        var logs = await Eventually.GetAsync(
            () => cluster.Telemetry.Logs.Where(l => l.Service.StartsWith("runner-", StringComparison.Ordinal) && l.Attributes.ContainsKey("Owned")).ToArray(),
            found => found.Select(l => l.Service).Distinct().Count() == LocalClusterFixture.RunnerCount,
            found => $"shard logs came from {string.Join(", ", found.Select(l => l.Service).Distinct())}");

        foreach (var service in logs.Select(l => l.Service).Distinct())
        {
            using var http = cluster.App.CreateHttpClient(service, "http");
            var info = await http.GetFromJsonAsync<JsonElement>("/", Timeout);
            var address = info.GetProperty("runner").GetString();
            Assert.All(logs.Where(l => l.Service == service), log => Assert.Equal(address, log.Attributes["Runner"]));
            Assert.Contains(logs, l => l.Service == service && int.Parse(l.Attributes["Owned"], System.Globalization.CultureInfo.InvariantCulture) > 0);
        }
    }

    private static async Task<(string CartId, string Sku)> FindCartAndSkuOnDifferentRunnersAsync(HttpClient http)
    {
        var owners = new Dictionary<string, string>();
        foreach (var sku in Skus)
        {
            owners[sku] = await OwnerAsync(http, "Inventory", sku);
        }

        for (var i = 0; ; i++)
        {
            var cartId = $"traced-cart-{Guid.NewGuid():N}";
            var cartRunner = await OwnerAsync(http, "Cart", cartId);
            if (owners.FirstOrDefault(o => o.Value != cartRunner) is { Key: not null } other)
            {
                return (cartId, other.Key);
            }

            Assert.True(i < 20, "every SKU and every cart tried lives on one runner");
        }
    }

    private static async Task<string> OwnerAsync(HttpClient http, string entityType, string entityId)
    {
        var located = await http.GetFromJsonAsync<JsonElement>($"/cluster/locate/{entityType}/{entityId}", Timeout);
        return located.GetProperty("runner").GetString() ?? throw new InvalidOperationException($"{entityType}/{entityId} has no owner");
    }

    private static string Describe(IEnumerable<ReceivedSpan> spans) =>
        string.Join("; ", spans.Select(s => $"{s.Service}: {s.Name} ({s.SpanId} ← {s.ParentSpanId}) [{string.Join(", ", s.Attributes.Select(a => $"{a.Key}={a.Value}"))}]"));
}
