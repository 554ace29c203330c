using System.Net;
using System.Net.Sockets;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.TestSupport;

/// <summary>Free loopback ports and fresh Unix socket paths for tests.</summary>
public static class FreePort
{
    /// <summary>A loopback TCP port nothing listens on now (the OS picks it; another process may still take it).</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A runner address on 127.0.0.1 and a free port.</summary>
    public static RunnerAddress Loopback() => new("127.0.0.1", Next());

    /// <summary>A runner address that is a new Unix socket path in the temp directory (short enough for sun_path).</summary>
    public static RunnerAddress UnixSocket() =>
        new(Path.Combine(Path.GetTempPath(), $"srat-{Guid.NewGuid():N}"[..24] + ".sock"), 0);
}
