namespace SocketRunnerAspire.Bench;

/// <summary>
/// One measured run: how the system was deployed (<paramref name="Mode"/>: "in-process" or "processes"), what was called,
/// how hard, and what came back. <paramref name="AllocatedBytesPerRequest"/> is the managed memory allocated during the
/// run by every process of the system under test and by the load generator's process (in-process: that one process,
/// holding every node; processes: the client's process plus each server's), divided by the requests.
/// </summary>
public sealed record LoadResult(string Mode, string System, string Scenario, int Concurrency, int Requests, double Seconds, double Throughput, double P50Ms, double P99Ms, double P999Ms,
    int Errors, double AllocatedBytesPerRequest)
{
    public string ToConsoleLine() =>
        $"  {System,-13} {Scenario,-19} c={Concurrency,-4} {Throughput,10:N0} req/s  p50 {P50Ms,7:N3} ms  p99 {P99Ms,7:N3} ms  p99.9 {P999Ms,7:N3} ms  {AllocatedBytesPerRequest,7:N0} B/req  errors {Errors}";
}
