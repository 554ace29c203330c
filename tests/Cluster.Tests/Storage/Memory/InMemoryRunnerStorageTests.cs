using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Storage.Memory;

namespace SocketRunnerAspire.Cluster.Tests.Storage.Memory;

public sealed class InMemoryRunnerStorageTests : RunnerStorageConformanceTests
{
    protected override IRunnerStorage CreateStorage() => new InMemoryRunnerStorage(Lease);
}
