namespace SocketRunnerAspire.Bench;

/// <summary>
/// One measured run: what was called, how hard, and what came back. <paramref name="AllocatedBytesPerRequest"/> is the
/// managed memory this process allocated during the run (every node of the system under test, and the load generator's
/// own awaiting, the same for every system) divided by the requests.
/// </summary>
public sealed record LoadResult(string System, string Scenario, int Concurrency, int Requests, double Seconds, double Throughput, double P50Ms, double P99Ms, double P999Ms, int Errors,
    double AllocatedBytesPerRequest);
