using Microsoft.Extensions.Configuration;
using SocketRunnerAspire.AppHost.Storage;

namespace SocketRunnerAspire.AppHost.Tests;

public sealed class ContainerRuntimeProbeTests
{
    [Fact]
    public void MissingRuntimeCliMeansNoContainerRuntime()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["ASPIRE_CONTAINER_RUNTIME"] = "no-such-container-runtime" })
            .Build();

        Assert.Null(ContainerRuntimeProbe.Find(configuration));
    }

    [Fact]
    public void RuntimeWhoseInfoFailsMeansNoContainerRuntime()
    {
        // `false info ...` exits 1 like `docker info` does when the CLI exists but no engine answers.
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["ASPIRE_CONTAINER_RUNTIME"] = "false" })
            .Build();

        Assert.Null(ContainerRuntimeProbe.Find(configuration));
    }

    [Fact]
    public void RuntimeWhoseInfoPrintsAVersionIsHealthy()
    {
        // `echo info --format ...` exits 0 and prints a line, like a healthy engine.
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["ASPIRE_CONTAINER_RUNTIME"] = "echo" })
            .Build();

        Assert.Equal("echo", ContainerRuntimeProbe.Find(configuration));
    }
}
