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
// `--alloc-profile` prints, after each measured run, the types its allocations went to (sampled).
using var allocationProfile = args.Contains("--alloc-profile") ? new AllocationProfile() : null;
ClosedLoopLoad.Profile = allocationProfile;
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

void Print(LoadResult result)
{
    Console.WriteLine($"  {result.System,-13} {result.Scenario,-19} c={result.Concurrency,-4} {result.Throughput,10:N0} req/s  p50 {result.P50Ms,7:N3} ms  p99 {result.P99Ms,7:N3} ms  p99.9 {result.P999Ms,7:N3} ms  {result.AllocatedBytesPerRequest,7:N0} B/req  errors {result.Errors}");
}

static long ManagedBytes()
{
    GC.Collect();
    GC.WaitForPendingFinalizers();
    GC.Collect();
    return GC.GetTotalMemory(forceFullCollection: true);
}

// Request/response: the three systems run side by side, interleaved per concurrency and repeated for `rounds`
// rounds, so that a drifting machine (these are shared VMs) affects all three alike; each cell reports the
// run with the median throughput.
var rounds = quick ? 1 : 3;
var systems = new List<(string Name, Func<int, ValueTask> Call)>();
await using var echo = Runs("raw-echo") ? await RawEchoServers.StartAsync(Nodes, Entities) : null;
if (echo is not null)
{
    var increment = new Increment(1);
    systems.Add(("raw-echo", i => new ValueTask(echo.IncrementAsync(i % Entities, increment))));
}

await using var cluster = Runs("socketrunner") ? await SocketRunnerBenchCluster.StartAsync(redis, Nodes) : null;
var one = new Increment(1);
var counters = cluster is null ? [] : Enumerable.Range(0, Entities).Select(i => cluster.Client.GetEntity<BenchCounter>(i.ToString(CultureInfo.InvariantCulture))).ToArray();
if (cluster is not null)
{
    // No async lambdas: each would allocate a state machine per request, charged to the system it calls.
    systems.Add(("socketrunner", i => new ValueTask(counters[i % Entities].AskAsync(one))));
}

await using var orleans = Runs("orleans") ? await OrleansBenchCluster.StartAsync(Nodes) : null;
if (orleans is not null)
{
    var grains = Enumerable.Range(0, Entities).Select(i => orleans.Client.GetGrain<ICounterGrain>(i.ToString(CultureInfo.InvariantCulture))).ToArray();
    systems.Add(("orleans", i => new ValueTask(grains[i % Entities].Increment(1))));
}

var allRuns = new List<LoadResult>();
for (var round = 1; round <= rounds; round++)
{
    Console.WriteLine($"Round {round} of {rounds}");
    foreach (var c in concurrencies)
    {
        foreach (var (name, call) in systems)
        {
            var run = await ClosedLoopLoad.RunAsync(name, "Increment", c, Requests(c), Warmup(c), timeBound, call);
            allRuns.Add(run);
            Print(run);
        }
    }
}

foreach (var group in allRuns.GroupBy(r => (r.System, r.Concurrency)))
{
    var sorted = group.OrderBy(r => r.Throughput).ToArray();
    results.Add(sorted[sorted.Length / 2]);
}

if (cluster is not null && only is null)
{
    // Persisted request/reply through Garnet: saved, delivered, reply saved, answered.
    var persisted = new PersistedIncrement(1);
    var persistedRun = await ClosedLoopLoad.RunAsync("socketrunner", "PersistedIncrement", 64, persistedRequests, 1_000, timeBound,
        i => new ValueTask(counters[i % Entities].AskAsync(persisted)));
    results.Add(persistedRun);
    Print(persistedRun);

    // Activation: one message to each of many new entities; managed memory per idle entity afterwards.
    var (seconds, bytes) = await MeasureActivationAsync(i => cluster.Client.GetEntity<BenchCounter>($"a{i}").AskAsync(one));
    extras["socketrunner.activation.seconds"] = seconds;
    extras["socketrunner.activation.bytesPerEntity"] = bytes;
    Console.WriteLine($"  socketrunner  activated {activations:N0} entities in {seconds:N2} s, {bytes:N0} bytes each");

    // Rebalancing with the default lease settings: a runner joins, then leaves gracefully.
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

if (orleans is not null && only is null)
{
    var (seconds, bytes) = await MeasureActivationAsync(i => orleans.Client.GetGrain<ICounterGrain>($"a{i}").Increment(1));
    extras["orleans.activation.seconds"] = seconds;
    extras["orleans.activation.bytesPerEntity"] = bytes;
    Console.WriteLine($"  orleans       activated {activations:N0} grains in {seconds:N2} s, {bytes:N0} bytes each");
}

async Task<(double Seconds, double BytesPerEntity)> MeasureActivationAsync(Func<int, Task<int>> activate)
{
    var before = ManagedBytes();
    var activation = Stopwatch.StartNew();
    await ClosedLoopLoad.RunAsync("activation", "Activate", 256, activations, 0, TimeSpan.FromMinutes(2), async i => await activate(i));
    activation.Stop();
    return (activation.Elapsed.TotalSeconds, (ManagedBytes() - before) / (double)activations);
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
    rounds,
    results,
    allRuns,
    extras,
    ratios = SummaryTable.Ratios(results),
}, new JsonSerializerOptions { WriteIndented = true }));
Console.WriteLine($"Wrote {output}");
