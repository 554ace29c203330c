using System.Diagnostics;
using System.Text;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Faults.Tests.Support;

/// <summary>
/// A redis-server, N runner processes and a client-only node, all on loopback, under a cluster name of their own.
/// Disposing kills every process it started, whatever happened.
/// </summary>
public sealed class RunnerCluster : IAsyncDisposable
{
    public const int Shards = 300;

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private readonly List<RunnerProcess> _runners = [];
    private readonly ITestOutputHelper _output;

    private RunnerCluster(ITestOutputHelper output, RedisServer redis, string name)
    {
        _output = output;
        Redis = redis;
        Name = name;
    }

    public string Name { get; }

    public RedisServer Redis { get; }

    /// <summary>
    /// The shard groups every node knows and every runner is assigned, each of <see cref="Shards"/> shards: the sample
    /// Runner hosts the checkout workflow, which lives in <c>workflow</c> (it does not start without it).
    /// </summary>
    public static IReadOnlyList<string> ShardGroups { get; } = [ShardId.DefaultGroup, "workflow"];

    public IReadOnlyList<RunnerProcess> Runners => _runners;

    public IEnumerable<RunnerProcess> LiveRunners => _runners.Where(r => !r.HasExited);

    public ClientNode? Client { get; private set; }

    /// <summary>
    /// Starts redis-server (durable: append-only, fsync always), <paramref name="runners"/> runners and the client.
    /// <paramref name="storageFor"/> gives the connection string of a process (<c>runner-N</c> or <c>client</c>) from
    /// redis-server's port, e.g. through a proxy; by default they connect to redis-server directly. <paramref name="runnerSettings"/>
    /// is more configuration of the runners.
    /// </summary>
    public static async Task<RunnerCluster> StartAsync(ITestOutputHelper output, int runners, bool durable = false, Func<string, int, string>? storageFor = null,
        IReadOnlyDictionary<string, string>? runnerSettings = null)
    {
        var redis = new RedisServer(RedisServerKind.Process, durable: durable, commandTimeout: TimeSpan.FromSeconds(3));
        var cluster = new RunnerCluster(output, redis, $"faults-{Guid.NewGuid():N}"[..15]);
        try
        {
            await redis.StartAsync();
            string Storage(string process) => storageFor?.Invoke(process, redis.Port) ?? redis.ConnectionString;
            var started = Stopwatch.StartNew();
            var groups = GroupSettings();
            var runnerConfiguration = groups.Concat(runnerSettings ?? new Dictionary<string, string>()).ToDictionary();
            for (var i = 1; i <= runners; i++)
            {
                cluster._runners.Add(RunnerProcess.Start($"runner-{i}", Storage($"runner-{i}"), cluster.Name, runnerConfiguration));
            }

            await Task.WhenAll(cluster._runners.Select(r => r.WaitReadyAsync(StartTimeout)));
            cluster.Client = await ClientNode.StartAsync(Storage("client"), cluster.Name, groups);
            await cluster.WaitUntilAllShardsOwnedAsync(StartTimeout);
            output.WriteLine($"cluster {cluster.Name}: redis on {redis.Port}, runners {string.Join(", ", cluster._runners.Select(r => $"{r.Name}={r.Address} (pid {r.Pid}, http {r.HttpPort})"))}; ready after {started.Elapsed.TotalSeconds:0.0} s");
            return cluster;
        }
        catch
        {
            cluster.WriteLogs();
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Shards owned per live runner (null where a runner does not answer).</summary>
    public async Task<int?[]> ShardsOwnedAsync() =>
        (await Task.WhenAll(LiveRunners.Select(r => r.StatusAsync()))).Select(s => s?.ShardsOwned).ToArray();

    /// <summary>True when the live runners together own every shard and the client routes every shard to one of them.</summary>
    public async Task<bool> AllShardsOwnedAsync()
    {
        var owned = await ShardsOwnedAsync();
        if (owned.Any(o => o is null) || owned.Sum() != Shards * ShardGroups.Count)
        {
            return false;
        }

        var live = LiveRunners.Select(r => r.Address).ToHashSet(StringComparer.Ordinal);
        var client = Client!.Sharding;
        return ShardGroups.All(group => Enumerable.Range(1, Shards).All(shard =>
            client.GetOwner(new ShardId(group, shard)) is { } owner && live.Contains(owner.ToString())));
    }

    public Task WaitUntilAllShardsOwnedAsync(TimeSpan timeout) =>
        Eventually.True(AllShardsOwnedAsync, timeout,
            () => $"the live runners own all {Shards} shards of {string.Join(", ", ShardGroups)} and the client routes to them", TimeSpan.FromMilliseconds(100));

    /// <summary>The live runner that, as the client sees it, owns the most shards of <paramref name="group"/>, and how many.</summary>
    public (RunnerProcess Runner, int Shards) BusiestRunner(string group)
    {
        var client = Client!.Sharding;
        var owners = Enumerable.Range(1, Shards).Select(shard => client.GetOwner(new ShardId(group, shard))?.ToString()).ToList();
        return LiveRunners.Select(r => (r, owners.Count(o => o == r.Address))).MaxBy(x => x.Item2);
    }

    // Lists bound from configuration append to the defaults; the cluster removes the duplicates.
    private static Dictionary<string, string> GroupSettings() => ShardGroups
        .SelectMany((group, i) => new[]
        {
            KeyValuePair.Create($"Cluster:AvailableShardGroups:{i}", group),
            KeyValuePair.Create($"Cluster:AssignedShardGroups:{i}", group),
        })
        .ToDictionary();

    /// <summary>Writes every process's captured output to the test output (call when a test fails).</summary>
    public void WriteLogs()
    {
        var text = new StringBuilder();
        foreach (var runner in _runners)
        {
            text.AppendLine($"---- {runner.Name} (pid {runner.Pid}{(runner.HasExited ? ", exited" : "")}) ----").Append(runner.Log);
        }

        if (Client is not null)
        {
            text.AppendLine("---- client ----").Append(Client.Log);
        }

        text.AppendLine("---- redis-server ----").Append(Redis.Log);
        _output.WriteLine(text.ToString());
    }

    public async ValueTask DisposeAsync()
    {
        if (Client is not null)
        {
            await Client.DisposeAsync();
        }

        await Task.WhenAll(_runners.Select(r => r.DisposeAsync().AsTask()));
        await Redis.DisposeAsync();
    }
}
