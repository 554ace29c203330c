using System.Net.Http.Json;
using System.Text.Json;

namespace SocketRunnerAspire.AppHost.Tests;

/// <summary>The sample shop through ClientApp's HTTP API, as the .http file drives it.</summary>
[Collection(LocalClusterFixture.Collection)]
public sealed class ShopApiTests(LocalClusterFixture cluster)
{
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    private static string NewCart() => $"cart-{Guid.NewGuid():N}";

    [Fact]
    public async Task ACheckoutReservesStockOnceAndClosesTheCart()
    {
        using var http = cluster.App.CreateHttpClient("clientapp");
        var cart = NewCart();
        var coffeeBefore = await AvailableAsync(http, "coffee");
        var mugBefore = await AvailableAsync(http, "mug");

        await AddAsync(http, cart, "coffee", 2);
        var snapshot = await AddAsync(http, cart, "mug", 1);
        Assert.Equal(2, snapshot.GetProperty("lines").GetArrayLength());
        Assert.Equal(2 * 7.90m + 9.00m, snapshot.GetProperty("total").GetDecimal());

        var orderId = $"order-{Guid.NewGuid():N}";
        var first = await http.PostAsJsonAsync($"/carts/{cart}/checkout", new { orderId }, Timeout);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var result = await first.Content.ReadFromJsonAsync<JsonElement>(Timeout);
        Assert.True(result.GetProperty("accepted").GetBoolean());
        Assert.Equal(24.80m, result.GetProperty("total").GetDecimal());

        // The same order id again: answered from storage, nothing reserved twice.
        var again = await http.PostAsJsonAsync($"/carts/{cart}/checkout", new { orderId }, Timeout);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(result.GetProperty("total").GetDecimal(), (await again.Content.ReadFromJsonAsync<JsonElement>(Timeout)).GetProperty("total").GetDecimal());
        Assert.Equal(coffeeBefore - 2, await AvailableAsync(http, "coffee"));
        Assert.Equal(mugBefore - 1, await AvailableAsync(http, "mug"));

        var closed = await GetCartAsync(http, cart);
        Assert.Equal("CheckedOut", closed.GetProperty("status").GetString());
        Assert.Equal(orderId, closed.GetProperty("orderId").GetString());

        var refused = await http.PostAsJsonAsync($"/carts/{cart}/items", new { sku = "tea", quantity = 1 }, Timeout);
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>(Timeout);
        Assert.Contains(orderId, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        // The entity proxy answers the same business rule with the same 409.
        var notRemoved = await http.PostAsJsonAsync($"/carts/{cart}/RemoveItem", new { sku = "mug" }, Timeout);
        Assert.Equal(HttpStatusCode.Conflict, notRemoved.StatusCode);
        Assert.Equal("urn:cluster:handler-error", (await notRemoved.Content.ReadFromJsonAsync<JsonElement>(Timeout)).GetProperty("type").GetString());
    }

    [Fact]
    public async Task ACheckoutBeyondTheStockIsRejectedAndReleasesWhatItTook()
    {
        using var http = cluster.App.CreateHttpClient("clientapp");
        var cart = NewCart();
        var teaBefore = await AvailableAsync(http, "tea");
        var teapots = await AvailableAsync(http, "teapot");

        await AddAsync(http, cart, "tea", 1);
        await AddAsync(http, cart, "teapot", teapots + 1);
        var response = await http.PostAsJsonAsync($"/carts/{cart}/checkout", new { orderId = $"order-{Guid.NewGuid():N}" }, Timeout);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var result = await response.Content.ReadFromJsonAsync<JsonElement>(Timeout);
        Assert.False(result.GetProperty("accepted").GetBoolean());
        Assert.Contains("teapot", result.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(teaBefore, await AvailableAsync(http, "tea"));
        Assert.Equal(teapots, await AvailableAsync(http, "teapot"));
        Assert.Equal("Open", (await GetCartAsync(http, cart)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task WatchStreamsTheCartAndEveryChangeAsServerSentEvents()
    {
        using var http = cluster.App.CreateHttpClient("clientapp");
        var cart = NewCart();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var response = await http.GetAsync($"/carts/{cart}/watch", HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));

        var initial = await NextEventAsync(reader, cancel.Token);
        Assert.Equal(0, initial.GetProperty("version").GetInt64());

        await AddAsync(http, cart, "apple", 3);
        var added = await NextEventAsync(reader, cancel.Token);
        Assert.Equal(1, added.GetProperty("version").GetInt64());
        Assert.Equal("apple", added.GetProperty("lines")[0].GetProperty("sku").GetString());

        (await http.PostAsJsonAsync($"/carts/{cart}/RemoveItem", new { sku = "apple" }, cancel.Token)).EnsureSuccessStatusCode();
        var removed = await NextEventAsync(reader, cancel.Token);
        Assert.Equal(2, removed.GetProperty("version").GetInt64());
        Assert.Equal(0, removed.GetProperty("lines").GetArrayLength());
    }

    [Fact]
    public async Task BadRequestsGetProblemDetails()
    {
        using var http = cluster.App.CreateHttpClient("clientapp");

        var unknownSku = await http.PostAsJsonAsync($"/carts/{NewCart()}/items", new { sku = "unicorn", quantity = 1 }, Timeout);
        Assert.Equal(HttpStatusCode.Conflict, unknownSku.StatusCode);
        Assert.Equal("application/problem+json", unknownSku.Content.Headers.ContentType?.MediaType);

        var noQuantity = await http.PostAsJsonAsync($"/carts/{NewCart()}/items", new { sku = "apple", quantity = 0 }, Timeout);
        Assert.Equal(HttpStatusCode.BadRequest, noQuantity.StatusCode);

        var empty = await http.PostAsJsonAsync($"/carts/{NewCart()}/checkout", new { orderId = "o-empty" }, Timeout);
        Assert.Equal(HttpStatusCode.Conflict, empty.StatusCode);
        Assert.Contains("empty", (await empty.Content.ReadFromJsonAsync<JsonElement>(Timeout)).GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheApiIsDescribedByOpenApi()
    {
        using var http = cluster.App.CreateHttpClient("clientapp");
        var document = await http.GetFromJsonAsync<JsonElement>("/openapi/v1.json", Timeout);
        var paths = document.GetProperty("paths");
        foreach (var path in new[] { "/carts/{cartId}/items", "/carts/{cartId}/checkout", "/carts/{cartId}/watch", "/inventory/{sku}", "/carts/{id}/GetCart", "/inventory/{id}/Restock", "/counters/{id}/Increment", "/cluster/runners", "/orders", "/orders/{orderId}", "/orders/{orderId}/cancel" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"OpenAPI lacks {path}");
        }
    }

    private static async Task<JsonElement> AddAsync(HttpClient http, string cart, string sku, int quantity)
    {
        var response = await http.PostAsJsonAsync($"/carts/{cart}/items", new { sku, quantity }, Timeout);
        Assert.True(response.IsSuccessStatusCode, $"adding {quantity} {sku}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>(Timeout);
    }

    [Fact]
    public async Task TheEntityProxiesServeTheCounterAndAnswerProblemsForUnknownRpcs()
    {
        using var http = cluster.App.CreateHttpClient("clientapp");
        var counter = $"counter-{Guid.NewGuid():N}";

        var incremented = await http.PostAsJsonAsync($"/counters/{counter}/Increment", new { by = 5 }, Timeout);
        Assert.Equal(HttpStatusCode.OK, incremented.StatusCode);
        Assert.Equal(5, (await incremented.Content.ReadFromJsonAsync<JsonElement>(Timeout)).GetProperty("value").GetInt64());
        var read = await http.PostAsync($"/counters/{counter}/GetValue", content: null, Timeout);
        Assert.Equal(5, (await read.Content.ReadFromJsonAsync<JsonElement>(Timeout)).GetProperty("value").GetInt64());

        var unknown = await http.PostAsync($"/counters/{counter}/Decrement", content: null, Timeout);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);

        // Reserving is between carts and inventory; the proxy leaves it out.
        var reserve = await http.PostAsJsonAsync("/inventory/coffee/Reserve", new { orderId = "o", quantity = 1 }, Timeout);
        Assert.Equal(HttpStatusCode.NotFound, reserve.StatusCode);
    }

    private static async Task<JsonElement> GetCartAsync(HttpClient http, string cart)
    {
        var response = await http.PostAsync($"/carts/{cart}/GetCart", content: null, Timeout);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>(Timeout);
    }

    private static async Task<int> AvailableAsync(HttpClient http, string sku) =>
        (await http.GetFromJsonAsync<JsonElement>($"/inventory/{sku}", Timeout)).GetProperty("available").GetInt32();

    private static async Task<JsonElement> NextEventAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                return JsonDocument.Parse(line["data: ".Length..]).RootElement.Clone();
            }
        }

        throw new EndOfStreamException("the watch stream ended");
    }
}
