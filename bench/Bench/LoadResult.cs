namespace SocketRunnerAspire.Bench;

/// <summary>One measured run: what was called, how hard, and what came back.</summary>
public sealed record LoadResult(string System, string Scenario, int Concurrency, int Requests, double Seconds, double Throughput, double P50Ms, double P99Ms, double P999Ms, int Errors);
