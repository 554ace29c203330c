using Microsoft.Extensions.Logging.Abstractions;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Runners;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Transport.Memory;

namespace SocketRunnerAspire.Cluster.Tests.Runners;

/// <summary>A runner is alive when it answers a ping within Effect's attempts; a stopped check is not a dead runner.</summary>
public sealed class PingRunnerHealthTests
{
    private static readonly RunnerAddress Listening = new("ping", 1);
    private static readonly RunnerAddress Gone = new("ping", 2);

    private static readonly ShardingOptions Options = new()
    {
        PingTimeout = TimeSpan.FromSeconds(1),
        PingRetryInterval = TimeSpan.FromMilliseconds(10),
    };

    [Fact]
    public async Task AListeningRunnerIsAliveAndAnUnknownOneIsNot()
    {
        var transport = new InMemoryRunnerTransport();
        await using var listener = await transport.ListenAsync(Listening, new EchoRpcHandler(), CancellationToken.None);
        var health = new PingRunnerHealth(Options, transport, TimeProvider.System, NullLogger.Instance);

        Assert.True(await health.IsAliveAsync(Listening, CancellationToken.None));
        Assert.False(await health.IsAliveAsync(Gone, CancellationToken.None));
    }

    [Fact]
    public async Task ACancelledCheckThrowsInsteadOfReportingTheRunnerDead()
    {
        var transport = new InMemoryRunnerTransport();
        var health = new PingRunnerHealth(Options, transport, TimeProvider.System, NullLogger.Instance);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await health.IsAliveAsync(Gone, cancelled.Token));
    }

    [Fact]
    public async Task NoopSaysEveryRunnerIsAlive() =>
        Assert.True(await NoopRunnerHealth.Instance.IsAliveAsync(Gone, CancellationToken.None));
}
