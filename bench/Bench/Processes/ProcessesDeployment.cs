using System.Diagnostics;
using SocketRunnerAspire.Bench.Orleans;
using SocketRunnerAspire.Bench.RawEcho;
using SocketRunnerAspire.Bench.SocketRunner;

namespace SocketRunnerAspire.Bench.Processes;

/// <summary>
/// Every runner, silo and echo server, and Garnet, in its own OS process (this executable started with <c>--role</c>,
/// so with the same runtime settings); the benchmark's process is the load generator and holds only the clients.
/// </summary>
public sealed class ProcessesDeployment : IBenchDeployment
{
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(30);

    public string Mode => "processes";

    public async Task<IRawEchoUnderTest> StartRawEchoAsync(int servers, int entities) => await RawEchoProcesses.StartAsync(servers, entities);

    public async Task<ISocketRunnerUnderTest> StartSocketRunnerAsync(int runners) => await SocketRunnerProcesses.StartAsync(runners);

    public async Task<IOrleansUnderTest> StartOrleansAsync(int silos) => await OrleansProcesses.StartAsync(silos);

    /// <summary>
    /// Waits (at most <see cref="SettleTimeout"/>) until the children together use under a tenth of a core: each process
    /// JIT-compiles what its first calls ran, in the background, and on a small machine that work would otherwise land on
    /// another system's measured run.
    /// </summary>
    public async Task SettleAsync()
    {
        var settling = Stopwatch.StartNew();
        var window = TimeSpan.FromMilliseconds(500);
        var used = ChildProcess.ProcessorTimeOfAll();
        double cores;
        do
        {
            await Task.Delay(window);
            var now = ChildProcess.ProcessorTimeOfAll();
            cores = (now - used) / window;
            used = now;
        }
        while (cores > 0.1 && settling.Elapsed < SettleTimeout);

        Console.WriteLine($"Settled for {settling.Elapsed.TotalSeconds:N1} s (the server processes last used {cores:N2} cores)");
    }

    public ValueTask DisposeAsync()
    {
        // Each system kills its own children; this catches any a failure left behind.
        ChildProcess.KillAll();
        return ValueTask.CompletedTask;
    }
}
