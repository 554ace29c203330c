namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>A call on a <see cref="RunnerClientConnection"/> awaiting its reply frames; exactly one end runs per use.</summary>
internal interface IPendingCall
{
    void Complete(Frame frame);
    void End();
    void Fail(Exception error);
    void Cancel(CancellationToken token);
}
