using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text;
using SocketRunnerAspire.Cluster.Errors;

namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>
/// Mutual proof of the cluster secret before any RPC, in three frames:
/// server → <c>Challenge(ns)</c>; client → <c>Hello(nc ‖ HMAC(k, "client" ‖ ns ‖ nc))</c>;
/// server → <c>Welcome(HMAC(k, "server" ‖ nc ‖ ns))</c> or <c>Failure(Unauthorized)</c> and close.
/// Fresh 32-byte nonces on both sides defeat replay, the role labels defeat reflection, and the secret itself
/// never crosses the wire (TLS, when on, additionally hides the exchange).
/// </summary>
internal sealed class ClusterSecretHandshake(string secret)
{
    private const int NonceSize = 32;
    private const int ProofSize = 32;

    // Handshake frames are tiny: an unauthenticated peer must not make the server buffer a 4 MiB frame.
    private const int MaxHandshakeFrameSize = 256;

    private static readonly byte[] ClientLabel = "socketrunner/client"u8.ToArray();
    private static readonly byte[] ServerLabel = "socketrunner/server"u8.ToArray();

    private readonly byte[] _key = Encoding.UTF8.GetBytes(secret);

    /// <summary>The server's side; throws <see cref="ClusterAuthenticationException"/> when the peer does not prove the secret.</summary>
    public async Task AcceptAsync(IDuplexPipe pipe, string peer, CancellationToken cancellationToken)
    {
        var serverNonce = RandomNumberGenerator.GetBytes(NonceSize);
        await WriteAsync(pipe.Output, FrameKind.Challenge, serverNonce, cancellationToken).ConfigureAwait(false);

        using var hello = await ReadAsync(pipe.Input, cancellationToken).ConfigureAwait(false);
        var payload = hello.Payload.Span;
        if (hello.Kind != FrameKind.Hello || payload.Length != NonceSize + ProofSize
            || !CryptographicOperations.FixedTimeEquals(payload[NonceSize..], Proof(ClientLabel, serverNonce, payload[..NonceSize])))
        {
            var reason = hello.Kind == FrameKind.Hello
                ? $"{peer} did not prove the cluster secret."
                : $"{peer} sent {hello.Kind} before proving the cluster secret (is Cluster:Socket:ClusterSecret set on it?).";
            await WriteAsync(pipe.Output, FrameKind.Failure, default, cancellationToken, hello.RequestId, RemoteErrorCode.Unauthorized,
                "This runner requires the cluster secret (Cluster:Socket:ClusterSecret).").ConfigureAwait(false);
            throw new ClusterAuthenticationException(reason);
        }

        await WriteAsync(pipe.Output, FrameKind.Welcome, Proof(ServerLabel, payload[..NonceSize], serverNonce), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The client's side; throws <see cref="ClusterAuthenticationException"/> when the runner does not prove the secret or rejects ours.</summary>
    public async Task ConnectAsync(IDuplexPipe pipe, string runner, CancellationToken cancellationToken)
    {
        byte[] serverNonce;
        using (var challenge = await ReadAsync(pipe.Input, cancellationToken).ConfigureAwait(false))
        {
            if (challenge.Kind != FrameKind.Challenge || challenge.Payload.Length != NonceSize)
            {
                throw new ClusterAuthenticationException($"Runner {runner} did not ask for the cluster secret (it sent {challenge.Kind}); is Cluster:Socket:ClusterSecret set on it?");
            }

            serverNonce = challenge.Payload.ToArray();
        }

        var clientNonce = RandomNumberGenerator.GetBytes(NonceSize);
        var hello = new byte[NonceSize + ProofSize];
        clientNonce.CopyTo(hello, 0);
        Proof(ClientLabel, serverNonce, clientNonce).CopyTo(hello, NonceSize);
        await WriteAsync(pipe.Output, FrameKind.Hello, hello, cancellationToken).ConfigureAwait(false);

        using var welcome = await ReadAsync(pipe.Input, cancellationToken).ConfigureAwait(false);
        if (welcome.Kind == FrameKind.Failure)
        {
            throw new ClusterAuthenticationException($"Runner {runner} rejected this node's cluster secret: {welcome.Meta}");
        }

        if (welcome.Kind != FrameKind.Welcome || !CryptographicOperations.FixedTimeEquals(welcome.Payload.Span, Proof(ServerLabel, clientNonce, serverNonce)))
        {
            throw new ClusterAuthenticationException($"Runner {runner} did not prove the cluster secret.");
        }
    }

    private byte[] Proof(byte[] label, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _key);
        hmac.AppendData(label);
        hmac.AppendData(first);
        hmac.AppendData(second);
        return hmac.GetHashAndReset();
    }

    private static async Task<Frame> ReadAsync(PipeReader input, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            Frame frame;
            try
            {
                if (!FrameCodec.TryRead(ref buffer, MaxHandshakeFrameSize, out frame))
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                    if (result.IsCompleted)
                    {
                        throw new IOException("The connection closed during the cluster-secret handshake.");
                    }

                    continue;
                }
            }
            catch (MalformedFrameException)
            {
                input.AdvanceTo(buffer.Start);
                throw;
            }

            input.AdvanceTo(buffer.Start); // whatever follows the frame is the RPC stream's
            return frame;
        }
    }

    private static async Task WriteAsync(PipeWriter output, FrameKind kind, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken,
        long requestId = 0, RemoteErrorCode code = 0, string? meta = null)
    {
        FrameCodec.Write(output, new ArrayBufferWriter<byte>(128), kind, requestId, (byte)code, meta, payload.Span, hasPayload: !payload.IsEmpty);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
