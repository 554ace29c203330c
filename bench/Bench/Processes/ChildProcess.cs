using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;

namespace SocketRunnerAspire.Bench.Processes;

/// <summary>
/// One node in its own OS process: this same benchmark executable started with <c>--role</c> (<see cref="ChildRoleHost"/>),
/// driven over its stdin and stdout, one command line answered by one reply line. Every child dies with the benchmark:
/// disposing kills it, the benchmark's exit and Ctrl+C kill every child still running, and a child whose stdin closes
/// (the benchmark died, however) exits by itself.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(60);
    private static readonly ConcurrentDictionary<ChildProcess, byte> Running = new();
    private readonly Process _process;
    private readonly Channel<string> _replies = Channel.CreateUnbounded<string>();
    private readonly Queue<string> _errors = new();
    private readonly SemaphoreSlim _oneCommandAtATime = new(1, 1);

    static ChildProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
        Console.CancelKeyPress += (_, _) => KillAll();
    }

    private ChildProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    /// <summary>A name for messages, e.g. "runner 2".</summary>
    public string Name { get; }

    /// <summary>Starts <c>--role <paramref name="role"/></c> with <paramref name="arguments"/> and returns once the child says it is ready.</summary>
    public static async Task<ChildProcess> StartAsync(string name, string role, params string[] arguments)
    {
        var host = Environment.ProcessPath ?? throw new InvalidOperationException("The benchmark's executable path is unknown.");
        var info = new ProcessStartInfo(host)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Started as `dotnet SocketRunnerAspire.Bench.dll`, the host is dotnet and needs the dll; the apphost needs nothing.
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            info.ArgumentList.Add(typeof(ChildProcess).Assembly.Location);
        }

        foreach (var argument in (string[])[ChildRoleHost.RoleArgument, role, .. arguments])
        {
            info.ArgumentList.Add(argument);
        }

        var child = new ChildProcess(name, new Process { StartInfo = info });
        child._process.ErrorDataReceived += (_, e) => child.KeepError(e.Data);
        child._process.Start();
        Running.TryAdd(child, 0);
        child._process.BeginErrorReadLine();
        _ = child.ReadRepliesAsync();
        try
        {
            var ready = await child.NextReplyAsync(ChildRoleHost.ReadyReply);
            if (ready != ChildRoleHost.ReadyReply)
            {
                throw new InvalidOperationException($"{name} said '{ready}' instead of '{ChildRoleHost.ReadyReply}'.");
            }
        }
        catch
        {
            await child.DisposeAsync();
            throw;
        }

        return child;
    }

    /// <summary>Sends one command and returns the child's one-line reply.</summary>
    public async Task<string> AskAsync(string command)
    {
        await _oneCommandAtATime.WaitAsync();
        try
        {
            await _process.StandardInput.WriteLineAsync(command);
            return await NextReplyAsync(command);
        }
        finally
        {
            _oneCommandAtATime.Release();
        }
    }

    /// <summary>The child's precise <see cref="GC.GetTotalAllocatedBytes(bool)"/>.</summary>
    public async Task<long> AllocatedBytesAsync() => long.Parse(await AskAsync(ChildRoleHost.AllocatedCommand), CultureInfo.InvariantCulture);

    /// <summary>The child's live managed bytes after a full collection.</summary>
    public async Task<long> ManagedBytesAsync() => long.Parse(await AskAsync(ChildRoleHost.ManagedCommand), CultureInfo.InvariantCulture);

    /// <summary>
    /// The precise <see cref="GC.GetTotalAllocatedBytes(bool)"/> of this process plus that of each of <paramref name="children"/>.
    /// The imprecise count includes the unused part of every thread's allocation buffer and is clamped never to go
    /// down, so buffers counted at one reading can hide allocations up to the next; the precise count subtracts them
    /// (it briefly suspends the process, outside the measured part of a run).
    /// </summary>
    public static async ValueTask<long> AllocatedBytesWithAsync(IEnumerable<ChildProcess> children) =>
        GC.GetTotalAllocatedBytes(precise: true) + (await Task.WhenAll(children.Select(c => c.AllocatedBytesAsync()))).Sum();

    /// <summary>Live managed bytes after a full collection, in this process plus in each of <paramref name="children"/>.</summary>
    public static async ValueTask<long> ManagedBytesWithAsync(IEnumerable<ChildProcess> children) =>
        ManagedMemory.AfterFullCollection() + (await Task.WhenAll(children.Select(c => c.ManagedBytesAsync()))).Sum();

    /// <summary>Asks the child to stop its node gracefully and waits for it to exit.</summary>
    public async Task StopAsync()
    {
        await AskAsync(ChildRoleHost.StopCommand);
        using var deadline = new CancellationTokenSource(ReplyTimeout);
        await _process.WaitForExitAsync(deadline.Token);
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        await _process.WaitForExitAsync();
        Running.TryRemove(this, out _);
        _process.Dispose();
    }

    /// <summary>The processor time every running child has used so far, summed.</summary>
    public static TimeSpan ProcessorTimeOfAll()
    {
        var total = TimeSpan.Zero;
        foreach (var child in Running.Keys)
        {
            try
            {
                child._process.Refresh();
                total += child._process.TotalProcessorTime;
            }
            catch (InvalidOperationException)
            {
                // Exited meanwhile.
            }
        }

        return total;
    }

    /// <summary>Kills every child this process started and has not disposed yet.</summary>
    public static void KillAll()
    {
        foreach (var child in Running.Keys)
        {
            child.Kill();
        }
    }

    private void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    private async Task<string> NextReplyAsync(string command)
    {
        using var deadline = new CancellationTokenSource(ReplyTimeout);
        try
        {
            return await _replies.Reader.ReadAsync(deadline.Token);
        }
        catch (ChannelClosedException)
        {
            var exit = _process.WaitForExit(TimeSpan.FromSeconds(5)) ? _process.ExitCode.ToString(CultureInfo.InvariantCulture) : "no exit code";
            throw new InvalidOperationException($"{Name} closed its output ({exit}) before answering '{command}':\n{Errors()}");
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Name} did not answer '{command}' within {ReplyTimeout}:\n{Errors()}");
        }
    }

    private async Task ReadRepliesAsync()
    {
        try
        {
            while (await _process.StandardOutput.ReadLineAsync() is { } line)
            {
                _replies.Writer.TryWrite(line);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The child was killed and disposed while its output was being read.
        }
        finally
        {
            _replies.Writer.TryComplete();
        }
    }

    private void KeepError(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_errors)
        {
            _errors.Enqueue(line);
            while (_errors.Count > 40)
            {
                _errors.Dequeue();
            }
        }
    }

    private string Errors()
    {
        lock (_errors)
        {
            return string.Join('\n', _errors);
        }
    }
}
