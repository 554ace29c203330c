using System.Net;
using System.Net.Sockets;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Tests.Support;

/// <summary>Loopback ports and Unix socket paths for tests.</summary>
public static class FreePort
{
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static RunnerAddress Loopback() => new("127.0.0.1", Next());

    public static RunnerAddress UnixSocket() =>
        new(Path.Combine(Path.GetTempPath(), $"srat-{Guid.NewGuid():N}"[..24] + ".sock"), 0);
}
