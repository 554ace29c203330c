using Microsoft.Extensions.Hosting;

namespace SocketRunnerAspire.Bench.Orleans;

/// <summary>
/// A host lifetime that leaves Ctrl+C and SIGTERM to the process. The default ConsoleLifetime cancels them to stop only
/// its host, so the benchmark (and a silo process) would run on without Orleans instead of ending.
/// </summary>
public sealed class ProcessOwnedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
