using System.Net.Http.Json;
using System.Text.Json;

namespace SocketRunnerAspire.AppHost.Tests;

public sealed class LocalClusterTests(LocalClusterFixture cluster) : IClassFixture<LocalClusterFixture>
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
    public async Task ClientAppAnswersAndSeesEveryRunnerThroughServiceDiscovery()
    {
        using var http = cluster.App.CreateHttpClient("clientapp");

        var health = await http.GetAsync("/health", Timeout);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);

        using var root = JsonDocument.Parse(await http.GetStringAsync("/", Timeout));
        var runners = root.RootElement.GetProperty("runners").EnumerateArray().ToArray();
        Assert.Equal(LocalClusterFixture.RunnerCount, runners.Length);
        foreach (var runner in runners)
        {
            Assert.StartsWith("tcp://", runner.GetProperty("endpoint").GetString());
        }
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
        Assert.True(int.TryParse(info.GetProperty("runnerPort").GetString(), out var port) && port > 0,
            $"{runner} did not receive its runner TCP port: {info}");
    }

    [Fact]
    public async Task RunnersServeOnDistinctPorts()
    {
        var ports = new List<string?>();
        for (var i = 1; i <= LocalClusterFixture.RunnerCount; i++)
        {
            using var http = cluster.App.CreateHttpClient($"runner-{i}", "http");
            var info = await http.GetFromJsonAsync<JsonElement>("/", Timeout);
            ports.Add(info.GetProperty("runnerPort").GetString());
        }

        Assert.Equal(ports.Count, ports.Distinct().Count());
    }
}
