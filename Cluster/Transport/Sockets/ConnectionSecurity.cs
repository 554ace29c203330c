using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>
/// What a new runner connection goes through before its first RPC: TLS (when configured), then the
/// cluster-secret handshake (when configured), both within <see cref="RunnerSocketOptions.HandshakeTimeout"/>.
/// With neither, connections are used as accepted, at no cost.
/// </summary>
internal sealed class ConnectionSecurity
{
    private readonly RunnerTls? _tls;
    private readonly ClusterSecretHandshake? _secret;
    private readonly TimeSpan _timeout;

    public ConnectionSecurity(RunnerSocketOptions options)
    {
        _tls = RunnerTls.From(options.Tls);
        _secret = string.IsNullOrEmpty(options.ClusterSecret) ? null : new ClusterSecretHandshake(options.ClusterSecret);
        _timeout = options.HandshakeTimeout;
    }

    public bool UsesTls => _tls is not null;

    /// <summary>Whether connections must pass TLS or the cluster secret (which Effect's protocol cannot).</summary>
    public bool IsRequired => _tls is not null || _secret is not null;

    /// <summary>Fails fast, before binding, when TLS is on and this node has no certificate to serve with.</summary>
    public void EnsureCanServe() => _ = _tls?.ServerOptions();

    /// <summary>Secures an accepted connection; throws when the peer fails TLS or the secret, or takes too long.</summary>
    public async Task<IDuplexPipe> AcceptAsync(IDuplexPipe transport, string peer, CancellationToken cancellationToken)
    {
        if (_tls is null && _secret is null)
        {
            return transport;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        var pipe = transport;
        if (_tls is not null)
        {
            var tls = new SslStream(new DuplexPipeStream(transport));
            try
            {
                await tls.AuthenticateAsServerAsync(_tls.ServerOptions(), timeout.Token).ConfigureAwait(false);
            }
            catch
            {
                await tls.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            pipe = new StreamDuplexPipe(tls);
        }

        if (_secret is not null)
        {
            try
            {
                await _secret.AcceptAsync(pipe, peer, timeout.Token).ConfigureAwait(false);
            }
            catch when (pipe != transport)
            {
                await pipe.Input.CompleteAsync().ConfigureAwait(false);
                await pipe.Output.CompleteAsync().ConfigureAwait(false);
                throw;
            }
        }

        return pipe;
    }

    /// <summary>
    /// Secures a connected socket to <paramref name="runner"/>. A TLS or secret failure is a
    /// <see cref="ClusterAuthenticationException"/>; a connection lost on the way is a <see cref="RunnerUnavailableException"/>.
    /// </summary>
    public async Task<IDuplexPipe> ConnectAsync(Socket socket, SocketConnectionContextFactory factory, RunnerAddress runner, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        IDuplexPipe? pipe = null;
        try
        {
            if (_tls is not null)
            {
                var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
                pipe = new StreamDuplexPipe(tls);
                await tls.AuthenticateAsClientAsync(_tls.ClientOptions(runner.Host), timeout.Token).ConfigureAwait(false);
            }
            else
            {
                pipe = factory.Create(socket).Transport;
            }

            if (_secret is not null)
            {
                await _secret.ConnectAsync(pipe, runner.ToString(), timeout.Token).ConfigureAwait(false);
            }

            return pipe;
        }
        catch (Exception ex)
        {
            if (pipe is null)
            {
                socket.Dispose();
            }
            else
            {
                await pipe.Input.CompleteAsync().ConfigureAwait(false);
                await pipe.Output.CompleteAsync().ConfigureAwait(false);
            }

            Exception? mapped = ex switch
            {
                AuthenticationException => new ClusterAuthenticationException($"TLS with runner {runner} failed: {ex.Message}"),
                OperationCanceledException when !cancellationToken.IsCancellationRequested =>
                    new RunnerUnavailableException(runner.ToString(), $"the connection handshake took longer than {_timeout.TotalSeconds:0.#} s"),
                IOException or SocketException or MalformedFrameException => new RunnerUnavailableException(runner.ToString(), $"the connection handshake failed: {ex.Message}"),
                _ => null,
            };
            if (mapped is null)
            {
                throw;
            }

            throw mapped;
        }
    }
}
