using System.Globalization;
using Microsoft.Extensions.Hosting;
using SocketRunnerAspire.Bench.Orleans;

namespace SocketRunnerAspire.Bench.Processes;

/// <summary>One Orleans silo (<see cref="OrleansHosts.Silo"/>) in its own process.</summary>
public sealed class SiloRole(IHost silo) : IChildRole
{
    public const string Name = "silo";
    private const string ClusterArgument = "--cluster-id";
    private const string SiloPortArgument = "--silo-port";
    private const string GatewayPortArgument = "--gateway-port";
    private const string PrimaryPortArgument = "--primary-port";

    public static string[] Arguments(string clusterId, int siloPort, int gatewayPort, int primarySiloPort) =>
    [
        ClusterArgument, clusterId,
        SiloPortArgument, siloPort.ToString(CultureInfo.InvariantCulture),
        GatewayPortArgument, gatewayPort.ToString(CultureInfo.InvariantCulture),
        PrimaryPortArgument, primarySiloPort.ToString(CultureInfo.InvariantCulture),
    ];

    public static async Task<SiloRole> StartAsync(IReadOnlyList<string> args)
    {
        var silo = OrleansHosts.Silo(CommandLineValues.Required(args, ClusterArgument), CommandLineValues.RequiredInt(args, SiloPortArgument),
            CommandLineValues.RequiredInt(args, GatewayPortArgument), CommandLineValues.RequiredInt(args, PrimaryPortArgument));
        await silo.StartAsync();
        return new SiloRole(silo);
    }

    public ValueTask<string> AnswerAsync(string command) => ValueTask.FromResult($"unknown command '{command}'");

    public async ValueTask DisposeAsync()
    {
        await silo.StopAsync();
        silo.Dispose();
    }
}
