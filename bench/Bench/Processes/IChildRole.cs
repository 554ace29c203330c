namespace SocketRunnerAspire.Bench.Processes;

/// <summary>The node a child process runs (<see cref="ChildRoleHost"/>); disposing it stops the node gracefully.</summary>
public interface IChildRole : IAsyncDisposable
{
    /// <summary>The one-line reply to a command only this role knows.</summary>
    ValueTask<string> AnswerAsync(string command);
}
