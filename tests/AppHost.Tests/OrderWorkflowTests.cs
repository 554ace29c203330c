using System.Net.Http.Json;
using System.Text.Json;

namespace SocketRunnerAspire.AppHost.Tests;

/// <summary>The checkout workflow through ClientApp's /orders endpoints: placed on ClientApp, run on the runners.</summary>
[Collection(LocalClusterFixture.Collection)]
public sealed class OrderWorkflowTests(LocalClusterFixture cluster)
{
    private static readonly TimeSpan OrderTimeout = TimeSpan.FromSeconds(60);

    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    private static string NewOrder() => $"order-{Guid.NewGuid():N}";

    [Fact]
    public async Task AnOrderSucceedsWithItsLinesAndTotalAndTakesTheStock()
    {
        using var http = cluster.App.CreateHttpClient("clientapp");
        var bananasBefore = await AvailableAsync(http, "banana");
        var mugsBefore = await AvailableAsync(http, "mug");
        var orderId = NewOrder();

        var placed = await PlaceAsync(http, new { orderId, lines = new[] { new { sku = "banana", quantity = 4 }, new { sku = "mug", quantity = 1 } }, settleSeconds = 1 });
        Assert.Equal(HttpStatusCode.Accepted, placed.StatusCode);
        Assert.Equal($"/orders/{orderId}", placed.Headers.Location?.OriginalString);
        Assert.Equal(orderId, (await placed.Content.ReadFromJsonAsync<JsonElement>(Timeout)).GetProperty("orderId").GetString());

        var order = await FinishedAsync(http, orderId);
        Assert.Equal("succeeded", order.GetProperty("state").GetString());
        var confirmation = order.GetProperty("confirmation");
        Assert.Equal(orderId, confirmation.GetProperty("orderId").GetString());
        var lines = confirmation.GetProperty("lines");
        Assert.Equal(2, lines.GetArrayLength());
        Assert.Equal("banana", lines[0].GetProperty("sku").GetString());
        Assert.Equal(4, lines[0].GetProperty("quantity").GetInt32());
        Assert.Equal("mug", lines[1].GetProperty("sku").GetString());
        Assert.Equal(4 * 0.25m + 9.00m, confirmation.GetProperty("total").GetDecimal());
        Assert.StartsWith($"ch_{orderId}_", confirmation.GetProperty("chargeId").GetString(), StringComparison.Ordinal);   // ch_{order}_{gateway instance}

        Assert.Equal(bananasBefore - 4, await AvailableAsync(http, "banana"));
        Assert.Equal(mugsBefore - 1, await AvailableAsync(http, "mug"));
    }

    [Fact]
    public async Task ADeclinedCardFailsTheOrderWithThePaymentErrorAndReturnsTheStock()
    {
        using var http = cluster.App.CreateHttpClient("clientapp");
        var teaBefore = await AvailableAsync(http, "tea");
        var orderId = NewOrder();

        var placed = await PlaceAsync(http, new { orderId, lines = new[] { new { sku = "tea", quantity = 3 } }, card = "declined" });
        Assert.Equal(HttpStatusCode.Accepted, placed.StatusCode);

        var order = await FinishedAsync(http, orderId);
        Assert.Equal("failed", order.GetProperty("state").GetString());
        Assert.False(order.TryGetProperty("confirmation", out _));
        var error = order.GetProperty("error");
        Assert.EndsWith("DomainRuleException", error.GetProperty("type").GetString(), StringComparison.Ordinal);
        Assert.Contains("declined", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.False(error.GetProperty("interrupted").GetBoolean());
        Assert.Equal(teaBefore, await AvailableAsync(http, "tea"));

        // The order has finished: there is nothing left to cancel.
        var cancel = await http.PostAsync($"/orders/{orderId}/cancel", content: null, Timeout);
        Assert.Equal(HttpStatusCode.Conflict, cancel.StatusCode);
        Assert.Equal("application/problem+json", cancel.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task ACancelDuringTheSettleSleepFailsTheOrderAsInterruptedAndReturnsTheStock()
    {
        using var http = cluster.App.CreateHttpClient("clientapp");
        var applesBefore = await AvailableAsync(http, "apple");
        var orderId = NewOrder();

        var placed = await PlaceAsync(http, new { orderId, lines = new[] { new { sku = "apple", quantity = 5 } }, settleSeconds = 120 });
        Assert.Equal(HttpStatusCode.Accepted, placed.StatusCode);

        // Suspended: reserved and charged, sleeping until the charge settles.
        await Eventually.GetAsync(() => GetOrderAsync(http, orderId), o => o.GetProperty("state").GetString() == "suspended",
            o => $"order {orderId} never suspended in the settle sleep: {o}", OrderTimeout);
        Assert.Equal(applesBefore - 5, await AvailableAsync(http, "apple"));

        var cancel = await http.PostAsync($"/orders/{orderId}/cancel", content: null, Timeout);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);

        var order = await FinishedAsync(http, orderId);
        Assert.Equal("failed", order.GetProperty("state").GetString());
        var error = order.GetProperty("error");
        Assert.True(error.GetProperty("interrupted").GetBoolean());
        Assert.EndsWith("WorkflowInterruptedException", error.GetProperty("type").GetString(), StringComparison.Ordinal);
        Assert.Equal(applesBefore, await AvailableAsync(http, "apple"));
    }

    [Fact]
    public async Task TheSameOrderPlacedTwiceRunsOnce()
    {
        using var http = cluster.App.CreateHttpClient("clientapp");
        var coffeeBefore = await AvailableAsync(http, "coffee");
        var orderId = NewOrder();
        var order = new { orderId, lines = new[] { new { sku = "coffee", quantity = 2 } }, settleSeconds = 1 };

        Assert.Equal(HttpStatusCode.Accepted, (await PlaceAsync(http, order)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await PlaceAsync(http, order)).StatusCode);
        var first = await FinishedAsync(http, orderId);
        Assert.Equal("succeeded", first.GetProperty("state").GetString());

        // Again after it finished, waiting for the outcome: the stored confirmation, nothing reserved again.
        var again = await http.PostAsJsonAsync("/orders?wait=true", order, Timeout);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var replayed = await again.Content.ReadFromJsonAsync<JsonElement>(Timeout);
        Assert.Equal("succeeded", replayed.GetProperty("state").GetString());
        Assert.Equal(first.GetProperty("confirmation").GetProperty("confirmedAt").GetString(),
            replayed.GetProperty("confirmation").GetProperty("confirmedAt").GetString());
        Assert.Equal(coffeeBefore - 2, await AvailableAsync(http, "coffee"));
    }

    [Fact]
    public async Task BadOrdersGetProblemDetails()
    {
        using var http = cluster.App.CreateHttpClient("clientapp");

        var noLines = await PlaceAsync(http, new { lines = Array.Empty<object>() });
        Assert.Equal(HttpStatusCode.BadRequest, noLines.StatusCode);
        Assert.Equal("application/problem+json", noLines.Content.Headers.ContentType?.MediaType);

        var noQuantity = await PlaceAsync(http, new { lines = new[] { new { sku = "apple", quantity = 0 } } });
        Assert.Equal(HttpStatusCode.BadRequest, noQuantity.StatusCode);

        var unknown = NewOrder();
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/orders/{unknown}", Timeout)).StatusCode);
        var cancelUnknown = await http.PostAsync($"/orders/{unknown}/cancel", content: null, Timeout);
        Assert.Equal(HttpStatusCode.NotFound, cancelUnknown.StatusCode);
        Assert.Equal("application/problem+json", cancelUnknown.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task AnOrderWithoutAnIdGetsAGeneratedOne()
    {
        using var http = cluster.App.CreateHttpClient("clientapp");

        var placed = await PlaceAsync(http, new { lines = new[] { new { sku = "banana", quantity = 1 } }, settleSeconds = 0 });
        Assert.Equal(HttpStatusCode.Accepted, placed.StatusCode);
        var orderId = (await placed.Content.ReadFromJsonAsync<JsonElement>(Timeout)).GetProperty("orderId").GetString();
        Assert.False(string.IsNullOrWhiteSpace(orderId));
        Assert.Equal($"/orders/{orderId}", placed.Headers.Location?.OriginalString);
        Assert.Equal("succeeded", (await FinishedAsync(http, orderId!)).GetProperty("state").GetString());
    }

    private static Task<HttpResponseMessage> PlaceAsync(HttpClient http, object order) => http.PostAsJsonAsync("/orders", order, Timeout);

    private static async Task<JsonElement> GetOrderAsync(HttpClient http, string orderId)
    {
        var response = await http.GetAsync($"/orders/{orderId}", Timeout);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET /orders/{orderId}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>(Timeout);
    }

    private static Task<JsonElement> FinishedAsync(HttpClient http, string orderId) =>
        Eventually.GetAsync(() => GetOrderAsync(http, orderId), o => o.GetProperty("state").GetString() is "succeeded" or "failed",
            o => $"order {orderId} did not finish: {o}", OrderTimeout);

    private static async Task<int> AvailableAsync(HttpClient http, string sku) =>
        (await http.GetFromJsonAsync<JsonElement>($"/inventory/{sku}", Timeout)).GetProperty("available").GetInt32();
}
