namespace SocketRunnerAspire.Bench;

/// <summary>
/// What one benchmark run measures and how hard. <c>--quick</c> runs a tenth of the requests; <c>--only &lt;system&gt;</c>
/// (raw-echo, socketrunner or orleans) runs one system's request/response runs, e.g. under a profiler;
/// <c>--only persisted</c> only this runtime's persisted request/response run; <c>--only rebalance</c> only its
/// activation and join/leave rebalance measurements; <c>--processes</c>
/// puts every node in its own OS process; <c>--out &lt;file&gt;</c> says where the JSON results go.
/// </summary>
public sealed record BenchOptions(bool Quick, bool Processes, string? Only, string Output)
{
    public const int Entities = 1_000;
    public const int Nodes = 3;

    public static IReadOnlyList<int> Concurrencies { get; } = [1, 64, 256];

    /// <summary>"in-process" or "processes", on every result row.</summary>
    public string Mode => Processes ? "processes" : "in-process";

    /// <summary>"quick" or "full".</summary>
    public string Size => Quick ? "quick" : "full";

    public int Rounds => Quick ? 1 : 3;

    public TimeSpan TimeBound => TimeSpan.FromSeconds(Quick ? 10 : 30);

    public int Activations => Quick ? 20_000 : 100_000;

    public int PersistedRequests => Quick ? 2_000 : 20_000;

    public int Requests(int concurrency) => (int)((concurrency == 1 ? 10_000 : 200_000) * (Quick ? 0.1 : 1));

    public int Warmup(int concurrency) => Math.Max(1_000, Requests(concurrency) / 10);

    public bool Runs(string system) => Only is null || Only == system || ((Only == "persisted" || RebalanceOnly) && system == "socketrunner");

    /// <summary>The persisted request/response run happens (the full bench, or <c>--only persisted</c>).</summary>
    public bool RunsPersisted => Only is null || Only == "persisted";

    /// <summary>The plain request/response rounds happen (not with <c>--only persisted</c> or <c>--only rebalance</c>).</summary>
    public bool RunsRequestResponse => Only is not ("persisted" or "rebalance");

    /// <summary><c>--only rebalance</c>: no request/response runs, only activation and the join/leave rebalance.</summary>
    public bool RebalanceOnly => Only == "rebalance";

    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        var processes = CommandLineValues.Has(args, "--processes");
        var output = CommandLineValues.ValueOf(args, "--out") ?? Path.Combine("bench", "results", processes ? "latest-processes.json" : "latest.json");
        return new BenchOptions(CommandLineValues.Has(args, "--quick"), processes, CommandLineValues.ValueOf(args, "--only"), output);
    }
}
