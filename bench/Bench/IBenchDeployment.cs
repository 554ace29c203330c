using SocketRunnerAspire.Bench.Orleans;
using SocketRunnerAspire.Bench.RawEcho;
using SocketRunnerAspire.Bench.SocketRunner;

namespace SocketRunnerAspire.Bench;

/// <summary>Where the compared systems' nodes run: all in the benchmark's process, or each in its own OS process.</summary>
public interface IBenchDeployment : IAsyncDisposable
{
    /// <summary>"in-process" or "processes", as on the result rows.</summary>
    string Mode { get; }

    Task<IRawEchoUnderTest> StartRawEchoAsync(int servers, int entities);

    /// <summary>Starts the runners and the client-only node and returns once the cluster is stable.</summary>
    Task<ISocketRunnerUnderTest> StartSocketRunnerAsync(int runners);

    Task<IOrleansUnderTest> StartOrleansAsync(int silos);

    /// <summary>Returns once the started nodes have finished their start-up work, before anything is measured.</summary>
    Task SettleAsync();
}
