using System.Globalization;

namespace SocketRunnerAspire.Bench.Processes;

/// <summary>
/// The child's side of <see cref="ChildProcess"/>: starts the node its <c>--role</c> names, writes <see cref="ReadyReply"/> on stdout, then
/// answers one line per command line on stdin until told to stop, or until stdin closes (the benchmark is gone).
/// </summary>
public static class ChildRoleHost
{
    public const string RoleArgument = "--role";
    public const string ReadyReply = "ready";
    public const string AllocatedCommand = "allocated";
    public const string ManagedCommand = "managed";
    public const string StopCommand = "stop";

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var replies = new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = true };
        // stdout carries the replies only: whatever a library prints (Garnet's banner) must not land between them.
        Console.SetOut(TextWriter.Null);
        var role = CommandLineValues.Required(args, RoleArgument);
        IChildRole node = role switch
        {
            GarnetRole.Name => GarnetRole.Start(args),
            RunnerRole.Name => await RunnerRole.StartAsync(args),
            SiloRole.Name => await SiloRole.StartAsync(args),
            EchoRole.Name => await EchoRole.StartAsync(args),
            _ => throw new ArgumentException($"Unknown role '{role}'."),
        };
        await replies.WriteLineAsync(ReadyReply);

        using var commands = new StreamReader(Console.OpenStandardInput());
        while (await commands.ReadLineAsync() is { } command)
        {
            switch (command)
            {
                case AllocatedCommand:
                    await replies.WriteLineAsync(GC.GetTotalAllocatedBytes(precise: true).ToString(CultureInfo.InvariantCulture));
                    break;
                case ManagedCommand:
                    await replies.WriteLineAsync(ManagedMemory.AfterFullCollection().ToString(CultureInfo.InvariantCulture));
                    break;
                case StopCommand:
                    await node.DisposeAsync();
                    await replies.WriteLineAsync("stopped");
                    return 0;
                default:
                    await replies.WriteLineAsync(await node.AnswerAsync(command));
                    break;
            }
        }

        // stdin closed without a stop: the benchmark has ended or died, and nobody waits for a graceful stop.
        return 0;
    }
}
