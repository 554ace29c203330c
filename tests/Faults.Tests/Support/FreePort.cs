using System.Net;
using System.Net.Sockets;

namespace SocketRunnerAspire.Faults.Tests.Support;

/// <summary>Free loopback ports.</summary>
public static class FreePort
{
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
