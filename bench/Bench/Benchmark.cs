using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Text.Json;
using SocketRunnerAspire.Bench.Orleans;
using SocketRunnerAspire.Bench.RawEcho;
using SocketRunnerAspire.Bench.SocketRunner;

namespace SocketRunnerAspire.Bench;

/// <summary>
/// Side-by-side benchmark on loopback: this runtime (3 runners + a client-only node) vs Orleans (3 silos + an external
/// client) vs a raw echo over the same transport, the same workload whichever <see cref="IBenchDeployment"/> runs the nodes.
/// </summary>
public static class Benchmark
{
    /// <summary>0 for a fixed heap count (Bench.csproj says why), 1 for DATAS.</summary>
    private static string DynamicAdaptationMode => AppContext.GetData("System.GC.DynamicAdaptationMode")?.ToString() ?? "default";

    public static async Task RunAsync(BenchOptions options, IBenchDeployment deployment)
    {
        const int Entities = BenchOptions.Entities;
        const int Nodes = BenchOptions.Nodes;
        var mode = deployment.Mode;
        Console.WriteLine($"SocketRunnerAspire benchmark: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}, " +
            $"server GC {GCSettings.IsServerGC} (dynamic adaptation mode {DynamicAdaptationMode}), {options.Size} run, {mode}");

        var results = new List<LoadResult>();
        var extras = new Dictionary<string, double>();
        var total = Stopwatch.StartNew();

        var systems = new List<(MeasuredSystem System, Func<int, ValueTask> Call)>();
        await using var echo = options.Runs("raw-echo") ? await deployment.StartRawEchoAsync(Nodes, Entities) : null;
        if (echo is not null)
        {
            // No async lambdas: each would allocate a state machine per request, charged to the system it calls.
            var increment = new Increment(1);
            systems.Add((new MeasuredSystem(mode, "raw-echo", echo), i => new ValueTask(echo.IncrementAsync(i % Entities, increment).AsTask())));
        }

        await using var cluster = options.Runs("socketrunner") ? await deployment.StartSocketRunnerAsync(Nodes) : null;
        var one = new Increment(1);
        var counters = cluster is null ? [] : Enumerable.Range(0, Entities).Select(i => cluster.Client.GetEntity<BenchCounter>(i.ToString(CultureInfo.InvariantCulture))).ToArray();
        var socketRunnerSystem = cluster is null ? null : new MeasuredSystem(mode, "socketrunner", cluster);
        if (socketRunnerSystem is not null)
        {
            systems.Add((socketRunnerSystem, i => new ValueTask(counters[i % Entities].AskAsync(one))));
        }

        await using var orleans = options.Runs("orleans") ? await deployment.StartOrleansAsync(Nodes) : null;
        var orleansSystem = orleans is null ? null : new MeasuredSystem(mode, "orleans", orleans);
        if (orleansSystem is not null)
        {
            var grains = Enumerable.Range(0, Entities).Select(i => orleans!.Client.GetGrain<ICounterGrain>(i.ToString(CultureInfo.InvariantCulture))).ToArray();
            systems.Add((orleansSystem, i => new ValueTask(grains[i % Entities].Increment(1))));
        }

        foreach (var (system, call) in systems)
        {
            await EveryEntityAnswersAsync(system, call);
        }

        await deployment.SettleAsync();

        // Request/response: the three systems run side by side, interleaved per concurrency and repeated for `rounds`
        // rounds, so that a drifting machine (these are shared VMs) affects all three alike; each cell reports the
        // run with the median throughput.
        var allRuns = new List<LoadResult>();
        for (var round = 1; options.RunsRequestResponse && round <= options.Rounds; round++)
        {
            Console.WriteLine($"Round {round} of {options.Rounds}");
            foreach (var c in BenchOptions.Concurrencies)
            {
                foreach (var (system, call) in systems)
                {
                    var run = await ClosedLoopLoad.RunAsync(system, "Increment", c, options.Requests(c), options.Warmup(c), options.TimeBound, call);
                    allRuns.Add(run);
                    Console.WriteLine(run.ToConsoleLine());
                }
            }
        }

        foreach (var group in allRuns.GroupBy(r => (r.System, r.Concurrency)))
        {
            var sorted = group.OrderBy(r => r.Throughput).ToArray();
            results.Add(sorted[sorted.Length / 2]);
        }

        if (cluster is not null && options.RunsPersisted)
        {
            // Persisted request/reply through Garnet: saved, delivered, reply saved, answered. Warmed up for longer: with
            // two seconds, tiered JIT was still compiling Garnet's and the persisted path's code during the measured
            // part (a fifth of the CPU in a profile), halving the throughput measured.
            var persisted = new PersistedIncrement(1);
            var persistedRun = await ClosedLoopLoad.RunAsync(socketRunnerSystem!, "PersistedIncrement", 64, options.PersistedRequests, 1_000, options.TimeBound,
                i => new ValueTask(counters[i % Entities].AskAsync(persisted)), minWarmup: TimeSpan.FromSeconds(8));
            results.Add(persistedRun);
            Console.WriteLine(persistedRun.ToConsoleLine());
        }

        if (cluster is not null && (options.Only is null || options.RebalanceOnly))
        {
            // Activation: one message to each of many new entities; managed memory per idle entity afterwards.
            var (seconds, bytes) = await MeasureActivationAsync(socketRunnerSystem!, i => cluster.Client.GetEntity<BenchCounter>($"a{i}").AskAsync(one));
            extras["socketrunner.activation.seconds"] = seconds;
            extras["socketrunner.activation.bytesPerEntity"] = bytes;
            Console.WriteLine($"  socketrunner  activated {options.Activations:N0} entities in {seconds:N2} s, {bytes:N0} bytes each");

            // Rebalancing with the default lease settings: a runner joins, then leaves gracefully.
            var joined = Stopwatch.StartNew();
            await cluster.AddRunnerAsync();
            var joinStarted = joined.Elapsed;   // the new runner is up (in --processes mode, its process started) and registered
            await cluster.WaitUntilStableAsync(TimeSpan.FromMinutes(2));
            joined.Stop();
            extras["socketrunner.rebalance.joinSeconds"] = joined.Elapsed.TotalSeconds;
            var left = Stopwatch.StartNew();
            await cluster.StopAddedRunnerAsync();
            await cluster.WaitUntilStableAsync(TimeSpan.FromMinutes(2));
            left.Stop();
            extras["socketrunner.rebalance.leaveSeconds"] = left.Elapsed.TotalSeconds;
            Console.WriteLine($"  socketrunner  rebalance: join {joined.Elapsed.TotalSeconds:N2} s, leave {left.Elapsed.TotalSeconds:N2} s (until every shard is held by its new owner; " +
                $"the joining runner was up after {joinStarted.TotalSeconds:N2} s of the join)");
        }

        if (orleans is not null && options.Only is null)
        {
            var (seconds, bytes) = await MeasureActivationAsync(orleansSystem!, i => orleans.Client.GetGrain<ICounterGrain>($"a{i}").Increment(1));
            extras["orleans.activation.seconds"] = seconds;
            extras["orleans.activation.bytesPerEntity"] = bytes;
            Console.WriteLine($"  orleans       activated {options.Activations:N0} grains in {seconds:N2} s, {bytes:N0} bytes each");
        }

        // Before anything is measured, each system answers for each entity (its first calls may fail while a client is
        // still learning where entities live), so that a failed request in a measured run is a failure, not a start-up.
        static async Task EveryEntityAnswersAsync(MeasuredSystem system, Func<int, ValueTask> call)
        {
            var deadline = Stopwatch.StartNew();
            for (var i = 0; i < Entities; i++)
            {
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        await call(i);
                        break;
                    }
                    catch (Exception e) when (deadline.Elapsed < TimeSpan.FromSeconds(60))
                    {
                        if (attempt == 1)
                        {
                            Console.WriteLine($"  {system.Name} entity {i} not answering yet ({e.GetType().Name}: {e.Message}); retrying");
                        }

                        await Task.Delay(100);
                    }
                }
            }
        }

        async Task<(double Seconds, double BytesPerEntity)> MeasureActivationAsync(MeasuredSystem system, Func<int, Task<int>> activate)
        {
            var before = await system.Deployment.ManagedBytesAsync();
            var activation = Stopwatch.StartNew();
            await ClosedLoopLoad.RunAsync(system, "Activate", 256, options.Activations, 0, TimeSpan.FromMinutes(2), async i => await activate(i));
            activation.Stop();
            return (activation.Elapsed.TotalSeconds, (await system.Deployment.ManagedBytesAsync() - before) / (double)options.Activations);
        }

        Console.WriteLine();
        Console.WriteLine(SummaryTable.Render(results, extras));
        Console.WriteLine($"Total {total.Elapsed.TotalMinutes:N1} min.");

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(options.Output))!);
        await File.WriteAllTextAsync(options.Output, JsonSerializer.Serialize(new
        {
            machine = new { cores = Environment.ProcessorCount, os = RuntimeInformation.OSDescription, dotnet = Environment.Version.ToString(), serverGc = GCSettings.IsServerGC, gcDynamicAdaptationMode = DynamicAdaptationMode },
            mode = options.Size,
            processMode = mode,
            entities = Entities,
            nodes = Nodes,
            rounds = options.Rounds,
            results,
            allRuns,
            extras,
            ratios = SummaryTable.Ratios(results),
        }, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"Wrote {options.Output}");
    }
}
