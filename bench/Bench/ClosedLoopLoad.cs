using System.Diagnostics;

namespace SocketRunnerAspire.Bench;

/// <summary>
/// A closed-loop load generator: <c>concurrency</c> workers each send one request, wait for its reply and send
/// the next, until a fixed number of requests is done or the time bound passes. Every latency is kept
/// (preallocated, so the generator does not allocate per request) for exact percentiles. Allocation is read from
/// every process of the system just before and just after the measured part.
/// </summary>
public static class ClosedLoopLoad
{
    /// <summary>When set (`--alloc-profile`), each measured run prints where its allocations went (in-process mode).</summary>
    public static AllocationProfile? Profile { get; set; }

    public static async Task<LoadResult> RunAsync(
        MeasuredSystem system, string scenario, int concurrency, int requests, int warmup, TimeSpan timeBound, Func<int, ValueTask> call,
        TimeSpan? minWarmup = null)
    {
        // Warm up for the given count and at least two seconds (or minWarmup), so tiered JIT has compiled the hot path.
        var warming = Stopwatch.StartNew();
        do
        {
            await DriveAsync(concurrency, warmup, TimeSpan.FromSeconds(30), call, latencies: null);
        }
        while (warmup > 0 && warming.Elapsed < (minWarmup ?? TimeSpan.FromSeconds(2)));

        var latencies = new long[requests];
        Profile?.Start();
        var allocatedBefore = await system.Deployment.AllocatedBytesAsync();
        var started = Stopwatch.GetTimestamp();
        var (done, errors) = await DriveAsync(concurrency, requests, timeBound, call, latencies);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var allocated = await system.Deployment.AllocatedBytesAsync() - allocatedBefore;
        if (Profile is not null)
        {
            Console.WriteLine($"  allocations of {system.Name} {scenario} c={concurrency} (sampled):");
            Console.Write(Profile.Stop(Math.Max(done, 1)));
        }

        var measured = latencies.AsSpan(0, done);
        measured.Sort();
        return new LoadResult(system.Mode, system.Name, scenario, concurrency, done, seconds, done / seconds,
            Percentile(measured, 0.50), Percentile(measured, 0.99), Percentile(measured, 0.999), errors, done == 0 ? double.NaN : allocated / (double)done);
    }

    private static async Task<(int Done, int Errors)> DriveAsync(int concurrency, int requests, TimeSpan timeBound, Func<int, ValueTask> call, long[]? latencies)
    {
        var next = -1;
        var done = 0;
        var errors = 0;
        var deadline = Stopwatch.GetTimestamp() + (long)(timeBound.TotalSeconds * Stopwatch.Frequency);

        async Task WorkerAsync()
        {
            await Task.Yield();
            while (Stopwatch.GetTimestamp() < deadline)
            {
                var i = Interlocked.Increment(ref next);
                if (i >= requests)
                {
                    return;
                }

                var start = Stopwatch.GetTimestamp();
                try
                {
                    await call(i);
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref errors);
                }

                var slot = Interlocked.Increment(ref done) - 1;
                if (latencies is not null)
                {
                    latencies[slot] = Stopwatch.GetTimestamp() - start;
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => WorkerAsync()));
        return (done, errors);
    }

    private static double Percentile(ReadOnlySpan<long> sorted, double quantile)
    {
        if (sorted.IsEmpty)
        {
            return double.NaN;
        }

        var index = Math.Min(sorted.Length - 1, (int)Math.Ceiling(quantile * sorted.Length) - 1);
        return sorted[Math.Max(0, index)] * 1000.0 / Stopwatch.Frequency;
    }
}
