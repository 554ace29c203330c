using System.Diagnostics;
using Microsoft.Extensions.Configuration;

namespace SocketRunnerAspire.AppHost.Storage;

/// <summary>Asks the container runtime Aspire would use whether its engine is up.</summary>
public static class ContainerRuntimeProbe
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>The runtime's name when <c>RUNTIME info</c> succeeds in time; otherwise null.</summary>
    public static string? Find(IConfiguration configuration)
    {
        var runtime = configuration["ASPIRE_CONTAINER_RUNTIME"] ?? configuration["DOTNET_ASPIRE_CONTAINER_RUNTIME"] ?? "docker";
        try
        {
            using var process = Process.Start(new ProcessStartInfo(runtime, "info --format {{.ServerVersion}}")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (process is null)
            {
                return null;
            }

            // Drain both pipes so a chatty runtime cannot block on a full buffer.
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(Timeout))
            {
                process.Kill(entireProcessTree: true);
                return null;
            }

            Task.WaitAll(stdout, stderr);
            return process.ExitCode == 0 && !string.IsNullOrWhiteSpace(stdout.Result) ? runtime : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // the runtime's CLI is not installed
        }
    }
}
