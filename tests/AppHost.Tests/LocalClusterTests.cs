using System.Net.Http.Json;
using System.Text.Json;

namespace SocketRunnerAspire.AppHost.Tests;

[Collection(LocalClusterFixture.Collection)]
public sealed class LocalClusterTests(LocalClusterFixture cluster)
{
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    [Fact]
    public void StartsStorageRunnersAndClientApp()
    {
        var expected = new[] { "garnet", "clientapp" }
            .Concat(Enumerable.Range(1, LocalClusterFixture.RunnerCount).Select(i => $"runner-{i}"))
            .Order(StringComparer.Ordinal);

        Assert.Equal(expected, cluster.ResourceNames.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ClientAppSeesEveryRunnerInStorage()
    {
        using var http = cluster.App.CreateHttpClient("clientapp");

        var health = await http.GetAsync("/health", Timeout);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);

        var runners = await Eventually.GetAsync(
            async () =>
            {
                using var root = JsonDocument.Parse(await http.GetStringAsync("/", Timeout));
                return root.RootElement.GetProperty("runners").EnumerateArray().Select(r => r.GetString()!).ToArray();
            },
            seen => seen.Length >= LocalClusterFixture.RunnerCount,
            seen => $"clientapp sees {seen.Length} runners: {string.Join(", ", seen)}",
            TimeSpan.FromSeconds(20));

        Assert.Equal(LocalClusterFixture.RunnerCount, runners.Length);
        Assert.All(runners, runner => Assert.StartsWith("localhost:", runner));
    }

    [Fact]
    public async Task CountersAreAnsweredByTheirOwnersAcrossMoreThanOneRunner()
    {
        using var http = cluster.App.CreateHttpClient("clientapp");
        var answeredBy = new Dictionary<string, string>();

        for (var i = 0; i < 100; i++)
        {
            var id = $"e2e-{i}";
            var response = await http.PostAsync($"/counters/{id}/increment", null, Timeout);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>(Timeout);
            Assert.Equal(1, body.GetProperty("value").GetInt64());
            answeredBy[id] = body.GetProperty("runner").GetString()!;

            var located = await http.GetFromJsonAsync<JsonElement>($"/cluster/locate/Counter/{id}", Timeout);
            Assert.Equal(answeredBy[id], located.GetProperty("runner").GetString());
        }

        Assert.True(answeredBy.Values.Distinct().Count() > 1, $"only {string.Join(", ", answeredBy.Values.Distinct())} answered");

        var runners = await http.GetFromJsonAsync<JsonElement>("/cluster/runners", Timeout);
        // 300 shards in each of the runners' groups: default and workflow (Runner/appsettings.json).
        Assert.Equal(2 * 300, runners.EnumerateArray().Sum(r => r.GetProperty("shards").GetInt32()));
        Assert.All(runners.EnumerateArray(), r => Assert.True(r.GetProperty("healthy").GetBoolean()));
    }

    [Theory]
    [InlineData("runner-1")]
    [InlineData("runner-2")]
    [InlineData("runner-3")]
    public async Task EachRunnerIsHealthyAndHasItsOwnRunnerPort(string runner)
    {
        using var http = cluster.App.CreateHttpClient(runner, "http");

        var health = await http.GetAsync("/health", Timeout);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("Healthy", await health.Content.ReadAsStringAsync(Timeout));

        var info = await http.GetFromJsonAsync<JsonElement>("/", Timeout);
        Assert.True(info.GetProperty("runnerPort").GetInt32() > 0, $"{runner} did not receive its runner TCP port: {info}");
        Assert.True(info.GetProperty("machineId").GetInt64() > 0, $"{runner} is not registered: {info}");
    }

    [Fact]
    public async Task RunnersServeOnDistinctPorts()
    {
        var ports = new List<int>();
        for (var i = 1; i <= LocalClusterFixture.RunnerCount; i++)
        {
            using var http = cluster.App.CreateHttpClient($"runner-{i}", "http");
            var info = await http.GetFromJsonAsync<JsonElement>("/", Timeout);
            ports.Add(info.GetProperty("runnerPort").GetInt32());
        }

        Assert.Equal(ports.Count, ports.Distinct().Count());
    }

    [Fact]
    public async Task TheSampleSingletonRunsOnExactlyOneRunner()
    {
        await Eventually.GetAsync(
            async () =>
            {
                var hosts = new List<string>();
                for (var i = 1; i <= LocalClusterFixture.RunnerCount; i++)
                {
                    using var http = cluster.App.CreateHttpClient($"runner-{i}", "http");
                    var info = await http.GetFromJsonAsync<JsonElement>("/", Timeout);
                    if (info.GetProperty("singletons").EnumerateArray().Any(s => s.GetString() == "cluster-report"))
                    {
                        hosts.Add($"runner-{i}");
                    }
                }

                return hosts;
            },
            hosts => hosts.Count == 1,
            hosts => $"cluster-report runs on {hosts.Count} runners: {string.Join(", ", hosts)}",
            TimeSpan.FromSeconds(60),
            TimeSpan.FromMilliseconds(500));
    }
}
