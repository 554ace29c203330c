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

    /// <summary>
    /// A runner address on a loopback address of its own (127.x.y.z, Linux routes all of 127/8 to the loopback
    /// interface) and a free port there: a server that must see only its own test's connections is out of reach of
    /// every other test process on the machine, whose nodes keep reconnecting to 127.0.0.1 ports they once knew (a
    /// killed runner's port is free again at once). Falls back to 127.0.0.1 where only that address is configured.
    /// </summary>
    public static RunnerAddress IsolatedLoopback()
    {
        var address = new IPAddress([127, (byte)Random.Shared.Next(1, 255), (byte)Random.Shared.Next(0, 256), (byte)Random.Shared.Next(1, 255)]);
        try
        {
            using var listener = new TcpListener(address, 0);
            listener.Start();
            return new RunnerAddress(address.ToString(), ((IPEndPoint)listener.LocalEndpoint).Port);
        }
        catch (SocketException)
        {
            return Loopback();
        }
    }

    /// <summary>A runner address that is a new Unix socket path in the temp directory (short enough for sun_path).</summary>
    public static RunnerAddress UnixSocket() =>
        new(Path.Combine(Path.GetTempPath(), $"srat-{Guid.NewGuid():N}"[..24] + ".sock"), 0);
}
