using SocketRunnerAspire.Cluster.Transport;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Transport.Sockets;

namespace SocketRunnerAspire.Cluster.Tests.Transport.Sockets;

public sealed class SocketRunnerTransportTests
{
    private static readonly byte[] Payload = [1, 2, 3, 4];

    [Fact]
    public async Task AConnectionOpenedWhileItsRunnerIsMarkedUnavailableIsClosedNotLeaked()
    {
        var address = FreePort.Loopback();
        var secret = new RunnerSocketOptions { ClusterSecret = "s3cret-for-the-handshake", IdleConnectionTimeout = TimeSpan.FromMinutes(5) };
        await using var server = new SocketRunnerTransport(secret);
        var listening = (RunnerSocketServer)await server.ListenAsync(address, new EchoRpcHandler(), default);
        await using var _ = listening;
        // The handshake's round trips go through a slow path, so the runner is marked unavailable mid-connect.
        await using var proxy = new TcpProxy(address.Port, TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(300));
        proxy.Start();
        var viaProxy = new RunnerAddress("127.0.0.1", proxy.Port);
        await using var client = new SocketRunnerTransport(new RunnerSocketOptions { ClusterSecret = secret.ClusterSecret });

        var call = client.RequestAsync(viaProxy, Payload, false, default);
        await Eventually.True(() => listening.ConnectionCount == 1, TimeSpan.FromSeconds(5), "the connection reached the runner");
        client.OnRunnerUnavailable(viaProxy);

        var error = await Record.ExceptionAsync(() => call.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(error is null or RunnerUnavailableException, $"the call failed with {error}");
        await Eventually.True(() => listening.ConnectionCount == 0, TimeSpan.FromSeconds(10),
            () => $"the connection of the dropped peer is closed (the runner still has {listening.ConnectionCount})");
        Assert.Equal(Payload, (await client.RequestAsync(viaProxy, Payload, false, default)).ToArray());   // and a new one works
    }
}
