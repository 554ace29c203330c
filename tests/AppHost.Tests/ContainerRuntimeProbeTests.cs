using Microsoft.Extensions.Configuration;
using SocketRunnerAspire.AppHost.Storage;

namespace SocketRunnerAspire.AppHost.Tests;

public sealed class ContainerRuntimeProbeTests
{
    [Fact]
    public void MissingRuntimeCliMeansNoContainerRuntime() =>
        Assert.Null(ContainerRuntimeProbe.Find(WithRuntime("no-such-container-runtime")));

    [Fact]
    public void RuntimeWhoseInfoFailsMeansNoContainerRuntime() =>
        // `false info ...` exits 1 like `docker info` does when the CLI exists but no engine answers.
        Assert.Null(ContainerRuntimeProbe.Find(WithRuntime("false")));

    [Fact]
    public void RuntimeWhoseInfoPrintsAVersionIsHealthy() =>
        // `echo info --format ...` exits 0 and prints a line, like a healthy engine.
        Assert.Equal("echo", ContainerRuntimeProbe.Find(WithRuntime("echo")));

    private static IConfiguration WithRuntime(string runtime) => new ConfigurationBuilder()
        .AddInMemoryCollection(new Dictionary<string, string?> { ["ASPIRE_CONTAINER_RUNTIME"] = runtime })
        .Build();
}
