using System.Diagnostics;
using System.Globalization;

namespace SocketRunnerAspire.TestSupport;

/// <summary>
/// A throw-away PostgreSQL server for tests: <c>initdb</c> into a temp directory, then <c>pg_ctl start</c> of a
/// <c>postgres</c> listening only on 127.0.0.1 and a free port (its Unix socket in that directory, <c>fsync=off</c>),
/// trust authentication for user <c>postgres</c>. <see cref="DisposeAsync"/> stops it (immediate shutdown) and deletes
/// the directory; <see cref="StopAsync"/> and <see cref="StartAsync"/> again restart it on the same port. PostgreSQL refuses to run as root: then the directory is given to the <c>postgres</c> user and the
/// binaries run as that user (<c>runuser -u postgres --</c>).
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);
    private readonly BoundedLog _log = new(200);
    private string? _directory;
    private bool _started;

    /// <summary>The directory of the installed PostgreSQL binaries (highest version under /usr/lib/postgresql), or null.</summary>
    public static string? BinDirectory { get; } = FindBinDirectory();

    /// <summary>Why <see cref="StartAsync"/> cannot work here; null when it can.</summary>
    public static string? SkipReason => BinDirectory is null
        ? "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb and postgres; CI installs it with apt-get install postgresql)."
        : RunsAsRoot && !UserExists("postgres")
            ? "Tests run as root and there is no 'postgres' user to run the PostgreSQL server as (initdb refuses root)."
            : null;

    public int Port { get; } = FreePort.Next();

    /// <summary>An Npgsql connection string for database <paramref name="database"/> (trust authentication, short timeouts).</summary>
    public string ConnectionString(string database = "postgres") => string.Create(CultureInfo.InvariantCulture,
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Timeout=5;Command Timeout=15;Maximum Pool Size=60");

    /// <summary>What initdb, pg_ctl and the server printed lately, for failure messages.</summary>
    public string Log => _log.ToString() + (_directory is not null && File.Exists(LogFile) ? File.ReadAllText(LogFile) : string.Empty);

    private static bool RunsAsRoot => Environment.UserName == "root";

    private string DataDirectory => Path.Combine(_directory!, "data");

    private string LogFile => Path.Combine(_directory!, "server.log");

    /// <summary>Creates the cluster and starts the server; returns once it accepts connections.</summary>
    public async Task StartAsync()
    {
        if (SkipReason is { } reason)
        {
            throw new InvalidOperationException(reason);
        }

        if (_started)
        {
            throw new InvalidOperationException($"The PostgreSQL server on port {Port} is already running.");
        }

        if (_directory is null)
        {
            _directory = Directory.CreateTempSubdirectory("srat-pg-").FullName;
            if (RunsAsRoot)
            {
                await RunAsync("chown", ["-R", "postgres:postgres", _directory], asPostgres: false);
            }

            await RunAsync(Path.Combine(BinDirectory!, "initdb"),
                ["-D", DataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"], asPostgres: RunsAsRoot);
        }

        var options = string.Create(CultureInfo.InvariantCulture,
            $"-k {_directory} -h 127.0.0.1 -p {Port} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300");
        await RunAsync(Path.Combine(BinDirectory!, "pg_ctl"),
            ["start", "-w", "-t", "30", "-D", DataDirectory, "-l", LogFile, "-o", options], asPostgres: RunsAsRoot);
        _started = true;
    }

    /// <summary>
    /// Stops the server: a fast shutdown (clients are disconnected, every commit is kept for the next
    /// <see cref="StartAsync"/>), or an immediate one, which with <c>synchronous_commit=off</c> may lose the latest
    /// commits. Nothing happens when it is not running.
    /// </summary>
    public async Task StopAsync(bool immediate = false)
    {
        if (_started)
        {
            _started = false;
            await RunAsync(Path.Combine(BinDirectory!, "pg_ctl"), ["stop", "-w", "-D", DataDirectory, "-m", immediate ? "immediate" : "fast"], asPostgres: RunsAsRoot);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync(immediate: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone: nothing left to stop.
        }

        if (_directory is not null)
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private async Task RunAsync(string file, string[] arguments, bool asPostgres)
    {
        var info = new ProcessStartInfo(asPostgres ? "runuser" : file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (asPostgres)
        {
            foreach (var argument in (string[])["-u", "postgres", "--", file])
            {
                info.ArgumentList.Add(argument);
            }
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var name = Path.GetFileName(file);
        using var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) => _log.Add(name, e.Data);
        process.ErrorDataReceived += (_, e) => _log.Add(name + "!", e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(CommandTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{name} did not finish within {CommandTimeout.TotalSeconds} s.\n{Log}");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{name} {string.Join(' ', arguments)} exited with code {process.ExitCode}.\n{Log}");
        }
    }

    private static string? FindBinDirectory()
    {
        const string root = "/usr/lib/postgresql";
        if (!Directory.Exists(root))
        {
            return null;
        }

        return Directory.GetDirectories(root)
            .Select(d => (Directory: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0))
            .Where(d => File.Exists(Path.Combine(d.Directory, "initdb")) && File.Exists(Path.Combine(d.Directory, "postgres")) && File.Exists(Path.Combine(d.Directory, "pg_ctl")))
            .OrderByDescending(d => d.Version)
            .Select(d => d.Directory)
            .FirstOrDefault();
    }

    private static bool UserExists(string user) =>
        File.Exists("/etc/passwd") && File.ReadLines("/etc/passwd").Any(line => line.StartsWith(user + ":", StringComparison.Ordinal));
}
