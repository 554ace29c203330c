using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Text.Json;
using Garnet;
using Microsoft.Extensions.DependencyInjection;
using SocketRunnerAspire.Bench;
using SocketRunnerAspire.Bench.Orleans;
using SocketRunnerAspire.Bench.RawEcho;
using SocketRunnerAspire.Bench.SocketRunner;
using SocketRunnerAspire.Cluster;
using StackExchange.Redis;

// Side-by-side benchmark on loopback: this runtime (3 runners + a client-only node) vs Orleans (3 silos + an
// external client) vs a raw echo over the same transport. `--quick` runs a tenth of the requests.
var quick = args.Contains("--quick");
// `--only <system>` (raw-echo, socketrunner or orleans) runs one system's request/response runs, e.g. under a profiler.
var only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault();
bool Runs(string system) => only is null || only == system;
var output = args.SkipWhile(a => a != "--out").Skip(1).FirstOrDefault() ?? Path.Combine("bench", "results", "latest.json");
const int Entities = 1_000;
const int Nodes = 3;
int[] concurrencies = [1, 64, 256];
int Requests(int concurrency) => (int)((concurrency == 1 ? 10_000 : 200_000) * (quick ? 0.1 : 1));
int Warmup(int concurrency) => Math.Max(1_000, Requests(concurrency) / 10);
var timeBound = TimeSpan.FromSeconds(quick ? 10 : 30);
var activations = quick ? 20_000 : 100_000;
var persistedRequests = quick ? 2_000 : 20_000;

Console.WriteLine($"SocketRunnerAspire benchmark: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}, " +
    $"server GC {GCSettings.IsServerGC}, {(quick ? "quick" : "full")} run");

var results = new List<LoadResult>();
var extras = new Dictionary<string, double>();
var total = Stopwatch.StartNew();

var garnetPort = FreePort.Next();
var console = Console.Out;
Console.SetOut(TextWriter.Null);   // Garnet prints a banner
using var garnet = new GarnetServer(["--bind", "127.0.0.1", "--port", garnetPort.ToString(CultureInfo.InvariantCulture), "--lua", "--memory", "512m", "--index", "64m"]);
garnet.Start();
Console.SetOut(console);
await using var redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{garnetPort},abortConnect=false");

void Report(LoadResult result)
{
    results.Add(result);
    Console.WriteLine($"  {result.System,-13} {result.Scenario,-19} c={result.Concurrency,-4} {result.Throughput,10:N0} req/s  p50 {result.P50Ms,7:N3} ms  p99 {result.P99Ms,7:N3} ms  p99.9 {result.P999Ms,7:N3} ms  errors {result.Errors}");
}

static long ManagedBytes()
{
    GC.Collect();
    GC.WaitForPendingFinalizers();
    GC.Collect();
    return GC.GetTotalMemory(forceFullCollection: true);
}

// (c) The practical limit: the same frames and serializer, answered by the frame handler.
if (Runs("raw-echo"))
{
    await using var echo = await RawEchoServers.StartAsync(Nodes);
    foreach (var c in concurrencies)
    {
        Report(await ClosedLoopLoad.RunAsync("raw-echo", "Increment", c, Requests(c), Warmup(c), timeBound,
            async i => await echo.IncrementAsync(i % Entities, 1)));
    }
}

// (a) This runtime.
if (Runs("socketrunner"))
{
    await using var cluster = await SocketRunnerBenchCluster.StartAsync(redis, Nodes);
    var counters = Enumerable.Range(0, Entities).Select(i => cluster.Client.GetEntity<BenchCounter>(i.ToString(CultureInfo.InvariantCulture))).ToArray();
    var one = new Increment(1);
    foreach (var c in concurrencies)
    {
        Report(await ClosedLoopLoad.RunAsync("socketrunner", "Increment", c, Requests(c), Warmup(c), timeBound,
            async i => await counters[i % Entities].AskAsync(one)));
    }

    if (only is not null)
    {
        return;
    }

    // (b) Persisted request/reply through Garnet: saved, delivered, reply saved, answered.
    var persisted = new PersistedIncrement(1);
    Report(await ClosedLoopLoad.RunAsync("socketrunner", "PersistedIncrement", 64, persistedRequests, 1_000, timeBound,
        async i => await counters[i % Entities].AskAsync(persisted)));

    // (c) Activation: one message to each of many new entities; managed memory per idle entity afterwards.
    var before = ManagedBytes();
    var activation = Stopwatch.StartNew();
    var fresh = Enumerable.Range(0, activations).Select(i => cluster.Client.GetEntity<BenchCounter>($"a{i}")).ToArray();
    await ClosedLoopLoad.RunAsync("socketrunner", "Activate", 256, activations, 0, TimeSpan.FromMinutes(2), async i => await fresh[i].AskAsync(one));
    activation.Stop();
    var perEntity = (ManagedBytes() - before) / (double)activations;
    extras["socketrunner.activation.seconds"] = activation.Elapsed.TotalSeconds;
    extras["socketrunner.activation.bytesPerEntity"] = perEntity;
    Console.WriteLine($"  socketrunner  activated {activations:N0} entities in {activation.Elapsed.TotalSeconds:N2} s, {perEntity:N0} bytes each");

    // (d) Rebalancing with the default lease settings: a runner joins, then leaves gracefully.
    var joined = Stopwatch.StartNew();
    var newcomer = await cluster.AddRunnerAsync();
    await cluster.WaitUntilStableAsync(TimeSpan.FromMinutes(2));
    joined.Stop();
    extras["socketrunner.rebalance.joinSeconds"] = joined.Elapsed.TotalSeconds;
    var left = Stopwatch.StartNew();
    await cluster.StopRunnerAsync(newcomer);
    await cluster.WaitUntilStableAsync(TimeSpan.FromMinutes(2));
    left.Stop();
    extras["socketrunner.rebalance.leaveSeconds"] = left.Elapsed.TotalSeconds;
    Console.WriteLine($"  socketrunner  rebalance: join {joined.Elapsed.TotalSeconds:N2} s, leave {left.Elapsed.TotalSeconds:N2} s (until every shard is held by its new owner)");
}

// (b) Orleans: 3 silos, an external client, the same counter logic.
if (Runs("orleans"))
{
    await using var orleans = await OrleansBenchCluster.StartAsync(Nodes);
    var grains = Enumerable.Range(0, Entities).Select(i => orleans.Client.GetGrain<ICounterGrain>(i.ToString(CultureInfo.InvariantCulture))).ToArray();
    foreach (var c in concurrencies)
    {
        Report(await ClosedLoopLoad.RunAsync("orleans", "Increment", c, Requests(c), Warmup(c), timeBound,
            async i => await grains[i % Entities].Increment(1)));
    }

    if (only is not null)
    {
        return;
    }

    var before = ManagedBytes();
    var activation = Stopwatch.StartNew();
    var fresh = Enumerable.Range(0, activations).Select(i => orleans.Client.GetGrain<ICounterGrain>($"a{i}")).ToArray();
    await ClosedLoopLoad.RunAsync("orleans", "Activate", 256, activations, 0, TimeSpan.FromMinutes(2), async i => await fresh[i].Increment(1));
    activation.Stop();
    var perGrain = (ManagedBytes() - before) / (double)activations;
    extras["orleans.activation.seconds"] = activation.Elapsed.TotalSeconds;
    extras["orleans.activation.bytesPerEntity"] = perGrain;
    Console.WriteLine($"  orleans       activated {activations:N0} grains in {activation.Elapsed.TotalSeconds:N2} s, {perGrain:N0} bytes each");
}

Console.WriteLine();
Console.WriteLine(SummaryTable.Render(results, extras));
Console.WriteLine($"Total {total.Elapsed.TotalMinutes:N1} min.");

Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
await File.WriteAllTextAsync(output, JsonSerializer.Serialize(new
{
    machine = new { cores = Environment.ProcessorCount, os = RuntimeInformation.OSDescription, dotnet = Environment.Version.ToString(), serverGc = GCSettings.IsServerGC },
    mode = quick ? "quick" : "full",
    entities = Entities,
    nodes = Nodes,
    results,
    extras,
    ratios = SummaryTable.Ratios(results),
}, new JsonSerializerOptions { WriteIndented = true }));
Console.WriteLine($"Wrote {output}");
