using System.Net;
using System.Net.Sockets;

namespace SocketRunnerAspire.Cluster.Tests.Support;

/// <summary>
/// A loopback TCP proxy to a server; <see cref="StopAsync"/> cuts every connection and refuses new ones until
/// <see cref="Start"/>, which simulates the server being unreachable while its data survives.
/// <see cref="Blackhole"/> drops all traffic while keeping the connections open (a half-open network path),
/// and <see cref="Traffic"/> records everything clients sent (to look for plaintext on the wire).
/// </summary>
public sealed class TcpProxy(int targetPort) : IAsyncDisposable
{
    private readonly List<TcpClient> _connections = [];
    private readonly MemoryStream _traffic = new();
    private volatile bool _blackhole;
    private TcpListener? _listener;
    private CancellationTokenSource? _running;
    private Task _accepting = Task.CompletedTask;

    public int Port { get; } = FreePort.Next();

    /// <summary>When true, bytes in both directions are read and dropped; no connection is closed.</summary>
    public bool Blackhole
    {
        get => _blackhole;
        set => _blackhole = value;
    }

    /// <summary>Every byte clients sent through the proxy so far.</summary>
    public byte[] Traffic
    {
        get
        {
            lock (_traffic)
            {
                return _traffic.ToArray();
            }
        }
    }

    public void Start()
    {
        _running = new CancellationTokenSource();
        _listener = new TcpListener(IPAddress.Loopback, Port);
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Start();
        _accepting = AcceptAsync(_listener, _running.Token);
    }

    public async Task StopAsync()
    {
        if (_running is null)
        {
            return;
        }

        await _running.CancelAsync();
        _listener!.Stop();
        lock (_connections)
        {
            foreach (var connection in _connections)
            {
                connection.Dispose();
            }

            _connections.Clear();
        }

        await _accepting;
        _running.Dispose();
        _running = null;
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task AcceptAsync(TcpListener listener, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            var server = new TcpClient();
            try
            {
                await server.ConnectAsync(IPAddress.Loopback, targetPort, cancellationToken);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException)
            {
                client.Dispose();
                server.Dispose();
                continue;
            }

            lock (_connections)
            {
                _connections.Add(client);
                _connections.Add(server);
            }

            _ = PumpAsync(client, server, _traffic, cancellationToken);
            _ = PumpAsync(server, client, null, cancellationToken);
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to, MemoryStream? record, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            var source = from.GetStream();
            var target = to.GetStream();
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
            {
                if (_blackhole)
                {
                    continue;
                }

                if (record is not null)
                {
                    lock (record)
                    {
                        record.Write(buffer, 0, read);
                    }
                }

                await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or SocketException or InvalidOperationException)
        {
        }
        finally
        {
            if (!_blackhole)
            {
                // A black hole forwards no close either; StopAsync disposes what is left.
                from.Dispose();
                to.Dispose();
            }
        }
    }
}
