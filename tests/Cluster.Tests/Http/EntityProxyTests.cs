using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using SocketRunnerAspire.Cluster.Http;
using SocketRunnerAspire.Cluster.Tests.Support;

namespace SocketRunnerAspire.Cluster.Tests.Http;

public sealed class EntityProxyTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private readonly TickerProbe _ticker = new();
    private TestCluster _cluster = null!;
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _cluster = await TestCluster.StartAsync(2, configure: builder => builder.AddEntity<Ticker, TickerEntity>(_ => new TickerEntity(_ticker), TickerEntity.Configure));
        (_app, _http) = await StartAppAsync(app =>
        {
            app.MapEntityProxy<CounterEntity>("/counters");
            app.MapEntityProxy<Ticker>("/tickers");
        });
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    [Fact]
    public async Task ARequestAnswersWithItsReplyAsJson()
    {
        Assert.Equal(2, await PostAsync<int>("/counters/c1/Increment", new { by = 2 }));
        Assert.Equal(5, await PostAsync<int>("/counters/c1/increment", new { by = 3 }));
    }

    [Fact]
    public async Task AnEmptyBodyIsAParameterlessMessage()
    {
        using var response = await _http.PostAsync("/counters/c1/WhereAmI", content: null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var runner = await response.Content.ReadFromJsonAsync<string>();
        Assert.Contains(runner, _cluster.Runners.Select(r => r.Address.ToString()));
    }

    [Fact]
    public async Task AnEmptyBodyGivesEveryParameterItsDefault()
    {
        using var response = await _http.PostAsync("/tickers/t0/Echo", content: null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("pong", await response.Content.ReadFromJsonAsync<string>());
        Assert.Equal("ping", await PostAsync<string>("/tickers/t0/Echo", new { text = "ping" }));
    }

    [Fact]
    public async Task AnEmptyBodyForAMessageWithRequiredParametersIsAnUnsupportedMediaTypeProblem()
    {
        using var response = await _http.PostAsync("/counters/c1/Increment", content: null);

        await ProblemAsync(response, HttpStatusCode.UnsupportedMediaType, "urn:cluster:unsupported-media-type");
    }

    [Fact]
    public async Task ATellAnswers202OnceTheMailboxTookIt()
    {
        await PostAsync<int>("/counters/c2/Increment", new { by = 5 });

        using var reset = await _http.PostAsync("/counters/c2/Reset", content: null);

        Assert.Equal(HttpStatusCode.Accepted, reset.StatusCode);
        Assert.Equal(1, await PostAsync<int>("/counters/c2/Increment", new { by = 1 }));
    }

    [Fact]
    public async Task AStreamIsServerSentEventsOfJsonItems()
    {
        using var response = await _http.PostAsJsonAsync("/counters/c3/CountTo", new { n = 3 });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = ParseEvents(await response.Content.ReadAsStringAsync());
        Assert.Equal(["1", "2", "3"], events.Select(e => e.Data));
        Assert.All(events, e => Assert.Null(e.Type));
    }

    [Fact]
    public async Task AStreamThatFailsMidwayEndsWithAnErrorEvent()
    {
        using var response = await _http.PostAsJsonAsync("/tickers/t1/TickThenFail", new { after = 2 });

        var events = ParseEvents(await response.Content.ReadAsStringAsync());
        Assert.Equal(["1", "2"], events.Take(2).Select(e => e.Data));
        var error = Assert.Single(events.Skip(2));
        Assert.Equal("error", error.Type);
        var problem = JsonDocument.Parse(error.Data).RootElement;
        Assert.Equal("urn:cluster:handler-error", problem.GetProperty("type").GetString());
        Assert.Equal(typeof(InvalidOperationException).FullName, problem.GetProperty("errorType").GetString());
    }

    [Fact]
    public async Task AStreamThatFailsBeforeItsFirstItemIsAProblem()
    {
        using var response = await _http.PostAsJsonAsync("/tickers/t2/TickThenFail", new { after = 0 });

        var problem = await ProblemAsync(response, HttpStatusCode.UnprocessableEntity, "urn:cluster:handler-error");
        Assert.Contains("failed after 0", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task AClientThatLeavesStopsTheEntityStream()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/tickers/t3/Tick");
        using (var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.Equal("data: 1", await reader.ReadLineAsync());
        }

        await _ticker.Cancelled.Task.WaitAsync(Timeout);
    }

    [Fact]
    public async Task AHandlerErrorIsAProblemNamingTheExceptionType()
    {
        using var response = await _http.PostAsJsonAsync("/counters/c4/Fail", new { reason = "nope" });

        var problem = await ProblemAsync(response, HttpStatusCode.UnprocessableEntity, "urn:cluster:handler-error");
        Assert.Equal(typeof(InvalidOperationException).FullName, problem.GetProperty("errorType").GetString());
        Assert.Equal("nope", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task BadJsonIsABadRequestProblem()
    {
        using var response = await _http.PostAsync("/counters/c5/Increment", new StringContent("{ by: ", Encoding.UTF8, "application/json"));

        await ProblemAsync(response, HttpStatusCode.BadRequest, "urn:cluster:malformed-message");
    }

    [Fact]
    public async Task ABodyThatIsNotJsonIsAnUnsupportedMediaTypeProblem()
    {
        using var response = await _http.PostAsync("/counters/c5/Increment", new StringContent("by=1", Encoding.UTF8, "application/x-www-form-urlencoded"));

        await ProblemAsync(response, HttpStatusCode.UnsupportedMediaType, "urn:cluster:unsupported-media-type");
    }

    [Fact]
    public async Task ANullBodyIsABadRequestProblem()
    {
        using var response = await _http.PostAsync("/counters/c5/Increment", new StringContent("null", Encoding.UTF8, "application/json"));

        await ProblemAsync(response, HttpStatusCode.BadRequest, "urn:cluster:malformed-message");
    }

    [Fact]
    public async Task AnUnknownRpcIsANotFoundProblemListingTheKnownOnes()
    {
        using var response = await _http.PostAsJsonAsync("/counters/c6/Decrement", new { by = 1 });

        var problem = await ProblemAsync(response, HttpStatusCode.NotFound, "urn:cluster:unknown-rpc");
        Assert.Contains("Increment", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task TheSameIdempotencyKeyRunsAPersistedRequestOnceAndAnswersTheSame()
    {
        var first = await DepositAsync("key-a");
        var retry = await DepositAsync("key-a");

        Assert.Equal(5, first);
        Assert.Equal(first, retry);
        Assert.Equal(1, _cluster.Probe.Runs["same-body"]);

        // The header is the primary key, not the message's own: a new key with the same body runs again.
        Assert.Equal(10, await DepositAsync("key-b"));
        Assert.Equal(2, _cluster.Probe.Runs["same-body"]);
    }

    [Fact]
    public async Task AnIdempotencyKeyOnARpcThatIsNotPersistedIsABadRequestProblem()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/counters/c7/Increment") { Content = JsonContent.Create(new { by = 1 }) };
        request.Headers.Add("Idempotency-Key", "k");

        using var response = await _http.SendAsync(request);

        await ProblemAsync(response, HttpStatusCode.BadRequest, "urn:cluster:invalid-idempotency-key");
        Assert.Equal(1, await PostAsync<int>("/counters/c7/Increment", new { by = 1 }));
    }

    [Fact]
    public async Task OptionsLeaveRpcsOutAndChooseTheStatusOfHandlerErrors()
    {
        var (app, http) = await StartAppAsync(endpoints => endpoints.MapEntityProxy<CounterEntity>("/strict", proxy => proxy
            .Except<Increment>()
            .HandlerError<InvalidOperationException>(StatusCodes.Status409Conflict)));
        await using (app)
        {
            using (http)
            {
                using var excluded = await http.PostAsJsonAsync("/strict/c8/Increment", new { by = 1 });
                await ProblemAsync(excluded, HttpStatusCode.NotFound, "urn:cluster:unknown-rpc");

                using var failed = await http.PostAsJsonAsync("/strict/c8/Fail", new { reason = "rule" });
                await ProblemAsync(failed, HttpStatusCode.Conflict, "urn:cluster:handler-error");
            }
        }
    }

    [Fact]
    public void ExceptRefusesATypeThatIsNotAMessageOfTheEntity() =>
        Assert.Throws<ArgumentException>(() => new EntityProxyOptions<CounterEntity>().Except<Tick>());

    [Fact]
    public async Task TheOpenApiDocumentDescribesEveryOperation()
    {
        var document = JsonDocument.Parse(await _http.GetStringAsync("/openapi/v1.json")).RootElement;
        var paths = document.GetProperty("paths");

        var increment = paths.GetProperty("/counters/{id}/Increment").GetProperty("post");
        Assert.Equal("Counter.Increment", increment.GetProperty("operationId").GetString());
        Assert.Equal("Counter", increment.GetProperty("tags")[0].GetString());
        Assert.Contains(increment.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == "id" && p.GetProperty("in").GetString() == "path");
        var body = Resolve(document, increment.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema"));
        Assert.True(body.GetProperty("properties").TryGetProperty("by", out _), body.ToString());
        Assert.True(increment.GetProperty("responses").GetProperty("200").GetProperty("content").TryGetProperty("application/json", out _));
        Assert.True(increment.GetProperty("responses").GetProperty("422").GetProperty("content").TryGetProperty("application/problem+json", out _));

        var reset = paths.GetProperty("/counters/{id}/Reset").GetProperty("post");
        Assert.True(reset.GetProperty("responses").TryGetProperty("202", out _));

        var countTo = paths.GetProperty("/counters/{id}/CountTo").GetProperty("post");
        Assert.True(countTo.GetProperty("responses").GetProperty("200").GetProperty("content").TryGetProperty("text/event-stream", out _));

        var deposit = paths.GetProperty("/counters/{id}/Deposit").GetProperty("post");
        var key = Assert.Single(deposit.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == "Idempotency-Key");
        Assert.Equal("header", key.GetProperty("in").GetString());
        Assert.Contains("primary key", key.GetProperty("description").GetString());
        Assert.DoesNotContain(increment.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == "Idempotency-Key");

        Assert.True(paths.TryGetProperty("/tickers/{id}/Tick", out _));
        Assert.False(paths.TryGetProperty("/counters/{id}/{rpc}", out _));
    }

    private async Task<(WebApplication App, HttpClient Http)> StartAppAsync(Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddSingleton(_cluster.Client);
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi();
        var app = builder.Build();
        map(app);
        app.MapOpenApi();
        await app.StartAsync();
        return (app, app.GetTestClient());
    }

    private async Task<T> PostAsync<T>(string path, object body)
    {
        using var response = await _http.PostAsJsonAsync(path, body);
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<T>())!;
    }

    private async Task<int> DepositAsync(string idempotencyKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/counters/bank/Deposit") { Content = JsonContent.Create(new { key = "same-body", amount = 5 }) };
        request.Headers.Add("Idempotency-Key", idempotencyKey);
        using var response = await _http.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<int>();
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status, string type)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.Equal(type, problem.GetProperty("type").GetString());
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        return problem;
    }

    private static List<(string? Type, string Data)> ParseEvents(string body)
    {
        var events = new List<(string?, string)>();
        foreach (var block in body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var lines = block.Split('\n');
            var type = lines.FirstOrDefault(l => l.StartsWith("event: ", StringComparison.Ordinal))?["event: ".Length..];
            var data = string.Join('\n', lines.Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => l["data: ".Length..]));
            events.Add((type, data));
        }

        return events;
    }

    private static JsonElement Resolve(JsonElement document, JsonElement schema) =>
        schema.TryGetProperty("$ref", out var reference)
            ? document.GetProperty("components").GetProperty("schemas").GetProperty(reference.GetString()!["#/components/schemas/".Length..])
            : schema;
}
