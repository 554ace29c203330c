using System.Diagnostics;
using System.Text;

namespace SocketRunnerAspire.Faults.Tests.Support;

/// <summary>
/// The processes carrying an environment variable with a given value: a process started with it and everything that
/// process started, however deep (children inherit the environment), even once their parent is gone. Linux only
/// (it reads <c>/proc/*/environ</c>); elsewhere it finds nothing.
/// </summary>
public static class MarkedProcesses
{
    public static IReadOnlyList<(int Pid, string CommandLine)> Find(string variable, string value)
    {
        if (!OperatingSystem.IsLinux())
        {
            return [];
        }

        var marker = Encoding.UTF8.GetBytes($"{variable}={value}\0");
        var found = new List<(int, string)>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                if (File.ReadAllBytes(Path.Combine(directory, "environ")).AsSpan().IndexOf(marker) >= 0)
                {
                    found.Add((pid, File.ReadAllText(Path.Combine(directory, "cmdline")).Replace('\0', ' ').Trim()));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Exited meanwhile, or not ours.
            }
        }

        return found;
    }

    /// <summary>Kills every process <see cref="Find"/> finds; returns what it killed.</summary>
    public static IReadOnlyList<(int Pid, string CommandLine)> KillAll(string variable, string value)
    {
        var found = Find(variable, value);
        foreach (var (pid, _) in found)
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                // Exited meanwhile.
            }
        }

        return found;
    }
}
