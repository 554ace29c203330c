using System.Globalization;
using Garnet;

namespace SocketRunnerAspire.Bench.Processes;

/// <summary>The storage this runtime's runners coordinate through (<see cref="BenchGarnet"/>), in its own process.</summary>
public sealed class GarnetRole(GarnetServer garnet) : IChildRole
{
    public const string Name = "garnet";
    private const string PortArgument = "--port";

    public static string[] Arguments(int port) => [PortArgument, port.ToString(CultureInfo.InvariantCulture)];

    public static GarnetRole Start(IReadOnlyList<string> args) => new(BenchGarnet.Start(CommandLineValues.RequiredInt(args, PortArgument)));

    public ValueTask<string> AnswerAsync(string command) => ValueTask.FromResult($"unknown command '{command}'");

    public ValueTask DisposeAsync()
    {
        garnet.Dispose();
        return ValueTask.CompletedTask;
    }
}
