using System.Globalization;
using SocketRunnerAspire.Bench.RawEcho;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Bench.Processes;

/// <summary>One raw echo server (<see cref="RawEchoServer"/>) in its own process.</summary>
public sealed class EchoRole(RawEchoServer server) : IChildRole
{
    public const string Name = "echo";
    private const string PortArgument = "--port";

    public static string[] Arguments(int port) => [PortArgument, port.ToString(CultureInfo.InvariantCulture)];

    public static async Task<EchoRole> StartAsync(IReadOnlyList<string> args) =>
        new(await RawEchoServer.StartAsync(new RunnerAddress("127.0.0.1", CommandLineValues.RequiredInt(args, PortArgument))));

    public ValueTask<string> AnswerAsync(string command) => ValueTask.FromResult($"unknown command '{command}'");

    public ValueTask DisposeAsync() => server.DisposeAsync();
}
