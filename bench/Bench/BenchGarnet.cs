using System.Globalization;
using Garnet;

namespace SocketRunnerAspire.Bench;

/// <summary>The Redis-protocol storage this runtime's runners coordinate through, as the benchmark runs it on loopback.</summary>
public static class BenchGarnet
{
    public static GarnetServer Start(int port)
    {
        var console = Console.Out;
        Console.SetOut(TextWriter.Null);   // Garnet prints a banner
        try
        {
            var garnet = new GarnetServer(["--bind", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture), "--lua", "--memory", "512m", "--index", "64m"]);
            garnet.Start();
            return garnet;
        }
        finally
        {
            Console.SetOut(console);
        }
    }
}
