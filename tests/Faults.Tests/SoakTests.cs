using System.Diagnostics;
using System.Globalization;
using SocketRunnerAspire.Faults.Tests.Support;

namespace SocketRunnerAspire.Faults.Tests;

/// <summary>
/// Steady load against three runner processes for <c>SOAK_DURATION</c> (a TimeSpan such as <c>00:10:00</c>, or
/// seconds; 30 s by default, which CI runs), sampling each runner's memory, threads and open handles, which must
/// stay flat once warmed up.
/// </summary>
public sealed class SoakTests(ITestOutputHelper output)
{
    private static readonly TimeSpan DefaultDuration = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Flat means, per runner, comparing the last third of the run with the sample that ends the first third (JIT,
    /// thread pool, connection pools and GC budgets have settled by then): open handles and threads may vary by a
    /// little (a connection being re-established, the thread pool adding a worker under a noisy neighbour), resident
    /// memory by 25 % + 32 MiB (server GC sizes its budgets from the allocation rate, so RSS breathes), and the managed
    /// heap after a GC by 50 % + 16 MiB (gen0 budgets vary with what was allocated). A leak of a socket, a thread or an
    /// entity per request grows without bound and crosses these in a long run; a short CI run catches the fast ones.
    /// </summary>
    private const int HandleSlack = 16;
    private const int ThreadSlack = 12;
    private const double RssGrowth = 0.25;
    private const long RssSlack = 32L << 20;
    private const double HeapGrowth = 0.5;
    private const long HeapSlack = 16L << 20;

    [SkippableFact]
    [Trait("Category", "Soak")]
    public async Task UnderSteadyLoadRunnerMemoryThreadsAndHandlesStayFlat()
    {
        Skip.If(RedisServer.Executable is null, RedisServer.SkipReason);
        Skip.IfNot(ProcessSample.Supported, "Needs /proc (Linux) to sample the runner processes.");
        var duration = Duration();
        var every = TimeSpan.FromSeconds(Math.Clamp(duration.TotalSeconds / 40, 2, 15));
        var report = new Report(output, nameof(SoakTests));
        await using var cluster = await RunnerCluster.StartAsync(output, runners: 3);
        try
        {
            // Reservations are all released again, so the stock (and the inventories' order records) stay level.
            var load = new LoadGenerator(cluster.Client!.Sharding, new LoadOptions { ReleaseShare = 1.0, CheckoutShare = 0.02 });
            await load.ReadInitialStockAsync();
            report.Line($"soak for {duration} (SOAK_DURATION), sampling every {every.TotalSeconds:0} s; {8} workers, 40 ms between calls");
            using var stop = new CancellationTokenSource();
            load.Phase = "soak";
            var clock = Stopwatch.StartNew();
            var running = load.RunAsync(stop.Token);
            var samples = new List<ProcessSample>();
            while (clock.Elapsed < duration)
            {
                await Task.Delay(every);
                foreach (var runner in cluster.Runners)
                {
                    if (await ProcessSample.TakeAsync(clock.Elapsed, runner) is { } sample)
                    {
                        samples.Add(sample);
                        report.Line(sample.ToString());
                    }
                }
            }

            await stop.CancelAsync();
            await running.WaitAsync(ClusterTimings.PersistedCallBound + TimeSpan.FromSeconds(30));
            report.Line(load.Summary());
            var calls = load.Calls;
            report.Line($"{calls.Count} calls in {clock.Elapsed.TotalSeconds:0} s ({calls.Count / clock.Elapsed.TotalSeconds:0} /s)");

            Assert.All(calls, c => Assert.Equal(Outcome.Success, c.Outcome));
            Assert.All(cluster.Runners, r => Assert.False(r.HasExited, $"{r.Name} exited"));
            var stock = await load.ReadStockAsync();
            Assert.Equal(load.ExpectedStock(), stock);

            var failures = new List<string>();
            foreach (var runner in samples.GroupBy(s => s.Runner))
            {
                var series = runner.OrderBy(s => s.At).ToArray();
                var warm = series.Last(s => s.At <= duration / 3);
                var late = series.Where(s => s.At >= duration * 2 / 3).ToArray();
                Assert.NotEmpty(late);
                Check(failures, runner.Key, "handles", warm.Handles, late.Max(s => s.Handles), warm.Handles + HandleSlack);
                Check(failures, runner.Key, "threads", warm.Threads, late.Max(s => s.Threads), warm.Threads + ThreadSlack);
                Check(failures, runner.Key, "RSS MiB", warm.RssBytes >> 20, late.Max(s => s.RssBytes) >> 20, (long)(warm.RssBytes * (1 + RssGrowth) + RssSlack) >> 20);
                Check(failures, runner.Key, "heap@gc MiB", warm.HeapAfterLastGcBytes >> 20, late.Max(s => s.HeapAfterLastGcBytes) >> 20,
                    (long)(warm.HeapAfterLastGcBytes * (1 + HeapGrowth) + HeapSlack) >> 20);
            }

            Assert.True(failures.Count == 0, "Not flat after warm-up:\n" + string.Join("\n", failures));
        }
        catch
        {
            cluster.WriteLogs();
            throw;
        }
    }

    private void Check(List<string> failures, string runner, string what, long warm, long late, long bound)
    {
        output.WriteLine($"{runner} {what}: warm-up {warm}, last third max {late}, bound {bound}");
        if (late > bound)
        {
            failures.Add($"{runner} {what}: {late} in the last third, above {bound} (warm-up {warm})");
        }
    }

    private static TimeSpan Duration()
    {
        var value = Environment.GetEnvironmentVariable("SOAK_DURATION");
        if (string.IsNullOrWhiteSpace(value))
        {
            return DefaultDuration;
        }

        if (TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var span) && value.Contains(':', StringComparison.Ordinal))
        {
            return span;
        }

        return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
            ? TimeSpan.FromSeconds(seconds)
            : throw new FormatException($"SOAK_DURATION '{value}' is neither a TimeSpan (00:10:00) nor seconds.");
    }
}
