using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text;
using SocketRunnerAspire.Cluster.Errors;

namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>
/// Mutual proof of the cluster secret before any RPC:
/// client → <c>Hello(nc)</c>; server → <c>Challenge(ns ‖ HMAC(k, "server" ‖ nc ‖ ns))</c>;
/// client → <c>Proof(HMAC(k, "client" ‖ ns ‖ nc))</c>; server → <c>Welcome</c>, or <c>Failure(Unauthorized)</c> and close.
/// Fresh 32-byte nonces on both sides defeat replay, the role labels defeat reflection, and the secret itself
/// never crosses the wire (TLS, when on, also hides the exchange). A runner without a secret answers
/// <c>Hello</c> with <c>Failure(Unauthorized)</c>, and one with a secret answers any other first frame so,
/// so every mismatch is a prompt, typed <see cref="ClusterAuthenticationException"/> on the connecting side.
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
        byte[] clientNonce;
        Frame first;
        try
        {
            first = await ReadAsync(pipe.Input, cancellationToken).ConfigureAwait(false);
        }
        catch (MalformedFrameException ex)
        {
            // Most likely a node without the secret sending a large request straight away.
            await RejectAsync(pipe.Output, 0, cancellationToken).ConfigureAwait(false);
            throw new ClusterAuthenticationException($"{peer} did not start the cluster-secret handshake ({ex.Message}).");
        }

        using (var hello = first)
        {
            if (hello.Kind != FrameKind.Hello || hello.Payload.Length != NonceSize)
            {
                await RejectAsync(pipe.Output, hello.RequestId, cancellationToken).ConfigureAwait(false);
                throw new ClusterAuthenticationException($"{peer} sent {hello.Kind} instead of the cluster-secret handshake (is Cluster:Socket:ClusterSecret set on it?).");
            }

            clientNonce = hello.Payload.ToArray();
        }

        var serverNonce = RandomNumberGenerator.GetBytes(NonceSize);
        var challenge = new byte[NonceSize + ProofSize];
        serverNonce.CopyTo(challenge, 0);
        Prove(ServerLabel, clientNonce, serverNonce, challenge.AsSpan(NonceSize));
        await WriteAsync(pipe.Output, FrameKind.Challenge, challenge, cancellationToken).ConfigureAwait(false);

        using var proof = await ReadAsync(pipe.Input, cancellationToken).ConfigureAwait(false);
        if (proof.Kind != FrameKind.Proof || !Verify(ClientLabel, serverNonce, clientNonce, proof.Payload.Span))
        {
            await RejectAsync(pipe.Output, proof.RequestId, cancellationToken).ConfigureAwait(false);
            throw new ClusterAuthenticationException($"{peer} did not prove the cluster secret.");
        }

        await WriteAsync(pipe.Output, FrameKind.Welcome, default, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The client's side; throws <see cref="ClusterAuthenticationException"/> when the runner does not prove the secret or rejects ours.</summary>
    public async Task ConnectAsync(IDuplexPipe pipe, string runner, CancellationToken cancellationToken)
    {
        var clientNonce = RandomNumberGenerator.GetBytes(NonceSize);
        await WriteAsync(pipe.Output, FrameKind.Hello, clientNonce, cancellationToken).ConfigureAwait(false);

        var proof = new byte[ProofSize];
        using (var challenge = await ReadAsync(pipe.Input, cancellationToken).ConfigureAwait(false))
        {
            ThrowIfRejected(challenge, runner);
            var payload = challenge.Payload.Span;
            if (challenge.Kind != FrameKind.Challenge || payload.Length != NonceSize + ProofSize)
            {
                throw new ClusterAuthenticationException($"Runner {runner} answered the cluster-secret handshake with {challenge.Kind}.");
            }

            if (!Verify(ServerLabel, clientNonce, payload[..NonceSize], payload[NonceSize..]))
            {
                throw new ClusterAuthenticationException($"Runner {runner} did not prove the cluster secret (the nodes' Cluster:Socket:ClusterSecret differ).");
            }

            Prove(ClientLabel, payload[..NonceSize], clientNonce, proof);
        }

        await WriteAsync(pipe.Output, FrameKind.Proof, proof, cancellationToken).ConfigureAwait(false);

        using var welcome = await ReadAsync(pipe.Input, cancellationToken).ConfigureAwait(false);
        ThrowIfRejected(welcome, runner);
        if (welcome.Kind != FrameKind.Welcome)
        {
            throw new ClusterAuthenticationException($"Runner {runner} answered the cluster-secret proof with {welcome.Kind}.");
        }
    }

    private static void ThrowIfRejected(in Frame frame, string runner)
    {
        if (frame.Kind == FrameKind.Failure)
        {
            throw new ClusterAuthenticationException($"Runner {runner} refused the connection: {frame.Meta}");
        }
    }

    private void Prove(byte[] label, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, Span<byte> destination)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _key);
        hmac.AppendData(label);
        hmac.AppendData(first);
        hmac.AppendData(second);
        hmac.GetHashAndReset(destination);
    }

    private bool Verify(byte[] label, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, ReadOnlySpan<byte> proof)
    {
        Span<byte> expected = stackalloc byte[ProofSize];
        Prove(label, first, second, expected);
        return proof.Length == ProofSize && CryptographicOperations.FixedTimeEquals(proof, expected);
    }

    private static Task RejectAsync(PipeWriter output, long requestId, CancellationToken cancellationToken) =>
        WriteAsync(output, FrameKind.Failure, default, cancellationToken, requestId, RemoteErrorCode.Unauthorized,
            "this runner requires the cluster secret (Cluster:Socket:ClusterSecret) and the connecting node did not prove it");

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
