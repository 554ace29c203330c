using System.Globalization;

namespace SocketRunnerAspire.Faults.Tests.Support;

/// <summary>A process's resident memory, threads and open file descriptors from <c>/proc</c> (Linux), plus its managed heap.</summary>
public sealed record ProcessSample(TimeSpan At, string Runner, long RssBytes, int Threads, int Handles, long ManagedBytes, long HeapAfterLastGcBytes)
{
    public static bool Supported => File.Exists("/proc/self/status");

    public static async Task<ProcessSample?> TakeAsync(TimeSpan at, RunnerProcess runner)
    {
        try
        {
            long rss = 0;
            var threads = 0;
            foreach (var line in await File.ReadAllLinesAsync($"/proc/{runner.Pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
                }
                else if (line.StartsWith("Threads:", StringComparison.Ordinal))
                {
                    threads = int.Parse(line.Split('\t', ' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
                }
            }

            var handles = Directory.GetFileSystemEntries($"/proc/{runner.Pid}/fd").Length;
            var status = await runner.StatusAsync();
            return new ProcessSample(at, runner.Name, rss, threads, handles, status?.ManagedBytes ?? -1, status?.HeapAfterLastGcBytes ?? -1);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;   // the process is gone
        }
    }

    public override string ToString() =>
        $"{At.TotalSeconds,7:0} s  {Runner,-9} rss {RssBytes / 1048576.0,7:0.0} MiB  threads {Threads,4}  handles {Handles,4}  managed {ManagedBytes / 1048576.0,6:0.0} MiB  heap@gc {HeapAfterLastGcBytes / 1048576.0,6:0.0} MiB";
}
