using System.Buffers.Text;
using System.Text;

namespace SocketRunnerAspire.Cluster.Workflows;

/// <summary>
/// A value a workflow execution waits for durably (Effect's <c>DurableDeferred</c>): the body awaits it with
/// <see cref="WorkflowContext.AwaitAsync{T}(DurableDeferred{T})"/>, which suspends the execution until someone completes
/// it with <see cref="IWorkflowClient.CompleteDeferredAsync{T}(DurableDeferred{T}, T, CancellationToken)"/> (or through
/// its <see cref="Token"/>). The first completion wins; later ones are ignored.
/// </summary>
public sealed class DurableDeferred<T>
{
    internal DurableDeferred(string workflowName, string executionId, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(executionId);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        WorkflowName = workflowName;
        ExecutionId = executionId;
        Name = name;
    }

    /// <summary>The workflow whose execution waits for it.</summary>
    public string WorkflowName { get; }

    /// <summary>The execution that waits for it.</summary>
    public string ExecutionId { get; }

    /// <summary>Its name within the execution.</summary>
    public string Name { get; }

    /// <summary>An opaque, URL-safe token naming this deferred, to hand to whoever completes it (e.g. in a callback URL).</summary>
    public string Token => DeferredToken.Format(WorkflowName, ExecutionId, Name);
}

/// <summary>The token of a durable deferred: base64url of its workflow name, execution id and name.</summary>
public static class DeferredToken
{
    private const char Separator = '\n';

    /// <summary>The token of deferred <paramref name="name"/> of execution <paramref name="executionId"/> of <paramref name="workflowName"/>.</summary>
    public static string Format(string workflowName, string executionId, string name) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes(string.Join(Separator, workflowName, executionId, name)));

    /// <summary>Reads a token made by <see cref="Format"/>.</summary>
    /// <exception cref="FormatException">Not such a token.</exception>
    public static (string WorkflowName, string ExecutionId, string Name) Parse(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        string text;
        try
        {
            text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token));
        }
        catch (FormatException ex)
        {
            throw new FormatException("Not a durable deferred token.", ex);
        }

        var parts = text.Split(Separator);
        return parts.Length == 3 && parts.All(p => p.Length > 0)
            ? (parts[0], parts[1], parts[2])
            : throw new FormatException("Not a durable deferred token.");
    }
}
