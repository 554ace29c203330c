using System.Globalization;
using SocketRunnerAspire.Bench.SocketRunner;
using SocketRunnerAspire.Cluster;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Transport.Sockets;
using StackExchange.Redis;

namespace SocketRunnerAspire.Bench.Processes;

/// <summary>One runner of this runtime (<see cref="BenchSharding"/>) in its own process; answers <see cref="ShardsCommand"/> with its <see cref="RunnerShardState"/>.</summary>
public sealed class RunnerRole : IChildRole
{
    public const string Name = "runner";
    public const string ShardsCommand = "shards";
    private const string GarnetPortArgument = "--garnet-port";
    private const string PortArgument = "--port";
    private const string ClusterArgument = "--name";
    private readonly ConnectionMultiplexer _redis;
    private readonly Sharding _node;
    private readonly SocketRunnerTransport _transport;

    private RunnerRole(ConnectionMultiplexer redis, Sharding node, SocketRunnerTransport transport) => (_redis, _node, _transport) = (redis, node, transport);

    public static string[] Arguments(int garnetPort, int port, string clusterName) =>
        [GarnetPortArgument, garnetPort.ToString(CultureInfo.InvariantCulture), PortArgument, port.ToString(CultureInfo.InvariantCulture), ClusterArgument, clusterName];

    public static async Task<RunnerRole> StartAsync(IReadOnlyList<string> args)
    {
        var redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{CommandLineValues.RequiredInt(args, GarnetPortArgument)},abortConnect=false");
        var (node, transport) = BenchSharding.Create(redis, CommandLineValues.Required(args, ClusterArgument), new RunnerAddress("127.0.0.1", CommandLineValues.RequiredInt(args, PortArgument)));
        await node.StartAsync();
        return new RunnerRole(redis, node, transport);
    }

    public ValueTask<string> AnswerAsync(string command) =>
        ValueTask.FromResult(command == ShardsCommand ? RunnerShardState.Of(_node).ToLine() : $"unknown command '{command}'");

    public async ValueTask DisposeAsync()
    {
        await _node.DisposeAsync();
        await _transport.DisposeAsync();
        await _redis.DisposeAsync();
    }
}
