using System.Diagnostics;
using System.Threading.Channels;

namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>
/// One message in an entity's mailbox and where its outcome goes. The instance ends each piece of work exactly once,
/// with <see cref="Complete"/>, <see cref="Fail"/> or <see cref="Cancel"/>, and does not touch it afterwards (a
/// pooled kind may then be reused for another message).
/// </summary>
internal abstract class EntityWork
{
    public RpcBinding Rpc { get; protected set; } = null!;

    public object Request { get; protected set; } = null!;

    public ActivityContext Parent { get; protected set; }

    /// <summary>The caller's cancellation (interrupts the handler).</summary>
    public CancellationToken Cancellation { get; protected set; }

    /// <summary>Runs of this work that ended in a defect (against <see cref="DefectRetryPolicy.MaxAttempts"/>).</summary>
    public int DefectAttempts { get; set; }

    /// <summary>Stream items already written: a run after a restart skips that many, so the stream resumes where it was.</summary>
    public int StreamItemsSent { get; set; }

    /// <summary>For stream RPCs: where the instance writes the items.</summary>
    public virtual Channel<object?>? Stream => null;

    /// <summary>The handler's reply (null for a tell, or a stream's end).</summary>
    public abstract void Complete(object? reply);

    public abstract void Fail(Exception exception);

    /// <summary>The caller cancelled before or while the handler ran.</summary>
    public abstract void Cancel(CancellationToken cancellation);
}
