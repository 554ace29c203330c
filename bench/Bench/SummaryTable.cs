using System.Globalization;
using System.Text;

namespace SocketRunnerAspire.Bench;

/// <summary>
/// The results as a Markdown table (pasted into the README) and as ratios measured in the same run; rows are compared
/// only with rows of the same mode (in-process or processes).
/// </summary>
public static class SummaryTable
{
    public static IReadOnlyList<object> Ratios(IReadOnlyList<LoadResult> results) =>
        results.Where(r => r is { System: "socketrunner", Scenario: "Increment" }).Select(ours =>
        {
            var orleans = results.FirstOrDefault(r => r is { System: "orleans", Scenario: "Increment" } && r.Mode == ours.Mode && r.Concurrency == ours.Concurrency);
            var raw = results.FirstOrDefault(r => r is { System: "raw-echo", Scenario: "Increment" } && r.Mode == ours.Mode && r.Concurrency == ours.Concurrency);
            return (object)new
            {
                mode = ours.Mode,
                concurrency = ours.Concurrency,
                // null, not NaN, when a system was not run (`--only`): JSON has no NaN.
                throughputVsOrleans = orleans is null ? (double?)null : ours.Throughput / orleans.Throughput,
                p99VsOrleans = orleans is null ? (double?)null : ours.P99Ms / orleans.P99Ms,
                throughputVsRawEcho = raw is null ? (double?)null : ours.Throughput / raw.Throughput,
                allocatedVsOrleans = orleans is null ? (double?)null : ours.AllocatedBytesPerRequest / orleans.AllocatedBytesPerRequest,
            };
        }).ToArray();

    public static string Render(IReadOnlyList<LoadResult> results, IReadOnlyDictionary<string, double> extras)
    {
        var text = new StringBuilder();
        text.AppendLine("| system | RPC | concurrency | req/s | p50 ms | p99 ms | p99.9 ms | allocated B/req | vs Orleans | vs raw echo |");
        text.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            var orleans = results.FirstOrDefault(o => o.System == "orleans" && o.Mode == r.Mode && o.Scenario == r.Scenario && o.Concurrency == r.Concurrency);
            var raw = results.FirstOrDefault(o => o.System == "raw-echo" && o.Mode == r.Mode && o.Scenario == r.Scenario && o.Concurrency == r.Concurrency);
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.System} | {r.Scenario} | {r.Concurrency} | {r.Throughput:N0} | {r.P50Ms:N3} | {r.P99Ms:N3} | {r.P999Ms:N3} | {r.AllocatedBytesPerRequest:N0} | {Ratio(r, orleans)} | {Ratio(r, raw)} |");
        }

        text.AppendLine();
        foreach (var (key, value) in extras)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- {key}: {value:N2}");
        }

        return text.ToString();
    }

    private static string Ratio(LoadResult result, LoadResult? baseline) =>
        baseline is null || ReferenceEquals(result, baseline) ? "" : (result.Throughput / baseline.Throughput).ToString("N2", CultureInfo.InvariantCulture) + "×";
}
