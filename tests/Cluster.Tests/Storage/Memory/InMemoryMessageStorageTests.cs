using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Storage.Memory;

namespace SocketRunnerAspire.Cluster.Tests.Storage.Memory;

public sealed class InMemoryMessageStorageTests : MessageStorageConformanceTests
{
    protected override IMessageStorage CreateStorage() => new InMemoryMessageStorage();
}
