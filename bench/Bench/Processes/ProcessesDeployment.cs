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
    public string Mode => "processes";

    public async Task<IRawEchoUnderTest> StartRawEchoAsync(int servers, int entities) => await RawEchoProcesses.StartAsync(servers, entities);

    public async Task<ISocketRunnerUnderTest> StartSocketRunnerAsync(int runners) => await SocketRunnerProcesses.StartAsync(runners);

    public async Task<IOrleansUnderTest> StartOrleansAsync(int silos) => await OrleansProcesses.StartAsync(silos);

    public ValueTask DisposeAsync()
    {
        // Each system kills its own children; this catches any a failure left behind.
        ChildProcess.KillAll();
        return ValueTask.CompletedTask;
    }
}
