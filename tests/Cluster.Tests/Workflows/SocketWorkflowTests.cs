using SocketRunnerAspire.Cluster.Storage.Redis;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Transport.Sockets;

namespace SocketRunnerAspire.Cluster.Tests.Workflows;

/// <summary>Every <see cref="WorkflowTests"/> behaviour again, with each node on its own socket transport over loopback TCP and Redis storage on Garnet.</summary>
public sealed class SocketWorkflowTests(GarnetFixture garnet) : WorkflowTests, IClassFixture<GarnetFixture>
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(1.5);

    protected override Task<TestCluster> StartClusterAsync()
    {
        var name = $"wf{Guid.NewGuid():N}";
        Messages = new RecordingMessageStorage(new RedisMessageStorage(garnet.Connection, name, TimeSpan.FromMinutes(10)));
        return TestCluster.StartAsync(2, Configure,
            storage: new RedisRunnerStorage(garnet.Connection, name, Lease),
            transports: () => new SocketRunnerTransport(),
            addresses: _ => FreePort.Loopback(),
            messages: Messages,
            configure: cluster => TestWorkflows.Register(cluster, Probe));
    }
}
