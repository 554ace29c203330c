using SocketRunnerAspire.Bench;
using SocketRunnerAspire.Bench.Processes;

// `dotnet run -c Release --project bench/Bench [--quick] [--processes] [--only <system>|rebalance] [--out <file>] [--alloc-profile]` (see BenchOptions);
// with `--role`, this is one node of a `--processes` run, started by the benchmark itself.
if (CommandLineValues.Has(args, ChildRoleHost.RoleArgument))
{
    return await ChildRoleHost.RunAsync(args);
}

var options = BenchOptions.Parse(args);
// `--alloc-profile` prints, after each measured run, the types its allocations went to (sampled; in this process only).
using var allocationProfile = CommandLineValues.Has(args, "--alloc-profile") ? new AllocationProfile() : null;
ClosedLoopLoad.Profile = allocationProfile;
await using IBenchDeployment deployment = options.Processes ? new ProcessesDeployment() : new InProcessDeployment();
await Benchmark.RunAsync(options, deployment);
return 0;
