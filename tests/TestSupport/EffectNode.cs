using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;

namespace SocketRunnerAspire.TestSupport;

/// <summary>
/// One Node.js process running a script of <c>tests/Interop/effect</c> (Effect's own TypeScript cluster runtime: a
/// runner or a client-only node, see its README): started with the given environment, its stdout read as JSON lines
/// (<see cref="NextLineAsync"/>), its stderr kept for failure messages (<see cref="Log"/>), the process tree killed at
/// <see cref="DisposeAsync"/>. <see cref="SkipReason"/> tells when it cannot run: no <c>node</c> on PATH (or in
/// <c>EFFECT_INTEROP_NODE</c>), no script directory, or the npm packages not installed and <c>npm ci</c> failing.
/// The packages are installed once per test run, with <c>npm ci</c>, when <c>node_modules</c> is missing, unless
/// <c>EFFECT_INTEROP_NO_INSTALL=1</c> says they are installed (or must not be installed) by someone else, as CI's
/// <c>.ci/run</c> does.
/// </summary>
public sealed class EffectNode : IAsyncDisposable
{
    private static readonly Lazy<string?> Installed = new(Install, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly Process _process;
    private readonly Channel<JsonElement> _lines = Channel.CreateUnbounded<JsonElement>();
    private readonly BoundedLog _log = new(400);

    private EffectNode(Process process, string script)
    {
        _process = process;
        Script = script;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                _lines.Writer.TryComplete();
                return;
            }

            _log.Add(script, e.Data);
            try
            {
                using var document = JsonDocument.Parse(e.Data);
                _lines.Writer.TryWrite(document.RootElement.Clone());
            }
            catch (JsonException)
            {
                // Not a result line: kept in the log only.
            }
        };
        process.ErrorDataReceived += (_, e) => _log.Add(script + "!", e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>The directory of the scripts and their <c>package.json</c>; null when not found above the test's base directory.</summary>
    public static string? Directory { get; } = FindDirectory();

    /// <summary>The node executable; null when there is none.</summary>
    public static string? NodePath { get; } = FindOnPath(Environment.GetEnvironmentVariable("EFFECT_INTEROP_NODE") is { Length: > 0 } node ? node : "node");

    /// <summary>Why Effect nodes cannot run here (installing the npm packages first if needed); null when they can.</summary>
    public static string? SkipReason =>
        NodePath is null ? "Node.js is not installed (no 'node' on PATH); the Effect interop tests need it (CI: apt-get install nodejs npm)."
        : TooOld.Value is { } old ? old
        : Directory is null ? "The Effect interop scripts (tests/Interop/effect/package.json) were not found above the test's directory."
        : Installed.Value;

    // Effect 4.1 runs on Node 20 (checked with 20.20; @effect/platform-node asks for 22.19); an older node fails to start the scripts.
    private static readonly Lazy<string?> TooOld = new(() =>
    {
        try
        {
            using var version = Process.Start(new ProcessStartInfo(NodePath!, "--version") { RedirectStandardOutput = true, UseShellExecute = false })!;
            var text = version.StandardOutput.ReadToEnd().Trim();
            version.WaitForExit();
            return Version.TryParse(text.TrimStart('v'), out var parsed) && parsed.Major >= 20
                ? null
                : $"Node.js {text} is older than 20, which the Effect interop scripts (effect 4.1.0) need.";
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return $"Node.js at {NodePath} does not run: {ex.Message}";
        }
    });

    public string Script { get; }

    /// <summary>The script's recent stdout and stderr lines, for failure messages.</summary>
    public string Log => _log.ToString();

    public bool HasExited => _process.HasExited;

    /// <summary>Starts <paramref name="script"/> (e.g. <c>runner.mjs</c>) with <paramref name="environment"/> added to this process's environment.</summary>
    public static EffectNode Start(string script, IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        if (SkipReason is { } reason)
        {
            throw new InvalidOperationException(reason);
        }

        var info = new ProcessStartInfo(NodePath!)
        {
            WorkingDirectory = Directory!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(script);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        return new EffectNode(Process.Start(info)!, script);
    }

    /// <summary>The next JSON line the script printed on stdout; fails with the log when it exits or stays silent for <paramref name="timeout"/>.</summary>
    public async Task<JsonElement> NextLineAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            return await _lines.Reader.ReadAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Script} printed no JSON line within {timeout.TotalSeconds} s.\n{Log}");
        }
        catch (ChannelClosedException)
        {
            await WaitForExitAsync(TimeSpan.FromSeconds(5));
            throw new InvalidOperationException($"{Script} ended its output (exit code {ExitCodeText()}) before the next JSON line.\n{Log}");
        }
    }

    /// <summary>Waits for the process to exit and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Script} did not exit within {timeout.TotalSeconds} s.\n{Log}");
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await WaitForExitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        catch (TimeoutException)
        {
            // Killed; nothing more to do.
        }

        _process.Dispose();
    }

    private string ExitCodeText() => _process.HasExited ? _process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : "still running";

    private static string? Install()
    {
        if (NodePath is null || Directory is null)
        {
            return null;
        }

        var modules = Path.Combine(Directory, "node_modules");
        if (File.Exists(Path.Combine(modules, "effect", "package.json")))
        {
            return null;
        }

        if (Environment.GetEnvironmentVariable("EFFECT_INTEROP_NO_INSTALL") == "1")
        {
            return $"The npm packages of {Directory} are not installed (EFFECT_INTEROP_NO_INSTALL=1 forbids installing them here; run npm ci there).";
        }

        var npm = FindOnPath("npm") ?? (Path.GetDirectoryName(NodePath) is { } bin && File.Exists(Path.Combine(bin, "npm")) ? Path.Combine(bin, "npm") : null);
        if (npm is null)
        {
            return $"The npm packages of {Directory} are not installed and there is no npm to install them.";
        }

        var info = new ProcessStartInfo(npm)
        {
            WorkingDirectory = Directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])["ci", "--no-audit", "--no-fund"])
        {
            info.ArgumentList.Add(argument);
        }

        var log = new BoundedLog(100);
        using var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) => log.Add("npm", e.Data);
        process.ErrorDataReceived += (_, e) => log.Add("npm!", e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            return $"npm ci in {Directory} did not finish within 5 minutes.\n{log}";
        }

        return process.ExitCode == 0 ? null : $"npm ci in {Directory} failed (exit code {process.ExitCode}).\n{log}";
    }

    private static string? FindDirectory()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "tests", "Interop", "effect");
            if (File.Exists(Path.Combine(candidate, "package.json")))
            {
                return candidate;
            }
        }

        return null;
    }

    private static string? FindOnPath(string name)
    {
        if (Path.IsPathRooted(name))
        {
            return File.Exists(name) ? name : null;
        }

        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
