using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace SocketRunnerAspire.TestSupport;

/// <summary>
/// A loopback TCP proxy to a server on <c>targetPort</c>, for network faults:
/// <list type="bullet">
/// <item><see cref="StopAsync"/> cuts every connection and refuses new ones until <see cref="Start"/> (on the same
/// port), which simulates the server being unreachable while its data survives;</item>
/// <item><see cref="Blackhole"/> drops all traffic while keeping the connections open (a half-open network path);</item>
/// <item>with a latency range, every chunk is held for a random latency in [min, max] in each direction before it is
/// passed on (order kept, chunks in flight pipelined as on a slow network): slow storage;</item>
/// <item><see cref="Traffic"/> records everything clients sent (to look for plaintext on the wire) and
/// <see cref="Chunks"/> counts the chunks passed on.</item>
/// </list>
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly int _targetPort;
    private readonly TimeSpan _minLatency;
    private readonly TimeSpan _maxLatency;
    private readonly List<TcpClient> _connections = [];
    private readonly MemoryStream _traffic = new();
    private volatile bool _blackhole;
    private long _chunks;
    private TcpListener? _listener;
    private CancellationTokenSource? _running;
    private Task _accepting = Task.CompletedTask;

    /// <summary>A proxy that passes bytes on as soon as they arrive.</summary>
    public TcpProxy(int targetPort)
        : this(targetPort, TimeSpan.Zero, TimeSpan.Zero)
    {
    }

    /// <summary>A proxy that holds every chunk for a random latency in [<paramref name="min"/>, <paramref name="max"/>] each way.</summary>
    public TcpProxy(int targetPort, TimeSpan min, TimeSpan max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(min, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, min);
        _targetPort = targetPort;
        _minLatency = min;
        _maxLatency = max;
    }

    public int Port { get; } = FreePort.Next();

    /// <summary>A StackExchange.Redis connection string through the proxy (timeouts well above any added latency).</summary>
    public string ConnectionString => $"127.0.0.1:{Port},abortConnect=false,connectTimeout=5000,syncTimeout=5000,asyncTimeout=5000";

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

    /// <summary>Chunks passed on so far (both directions).</summary>
    public long Chunks => Interlocked.Read(ref _chunks);

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
                await server.ConnectAsync(IPAddress.Loopback, _targetPort, cancellationToken);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException)
            {
                client.Dispose();
                server.Dispose();
                continue;
            }

            client.NoDelay = server.NoDelay = true;
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
        // With latency, a writer passes chunks on when they are due, so reading goes on meanwhile (pipelined).
        var delayed = _maxLatency > TimeSpan.Zero
            ? Channel.CreateUnbounded<(long Due, byte[] Bytes)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true })
            : null;
        var writing = delayed is null ? Task.CompletedTask : WriteWhenDueAsync(delayed.Reader, to, cancellationToken);
        try
        {
            var buffer = new byte[64 * 1024];
            var source = from.GetStream();
            var target = to.GetStream();
            var lastDue = 0L;
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

                if (delayed is null)
                {
                    await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    Interlocked.Increment(ref _chunks);
                    continue;
                }

                var latency = _minLatency + (_maxLatency - _minLatency) * Random.Shared.NextDouble();
                lastDue = Math.Max(lastDue, Stopwatch.GetTimestamp() + (long)(latency.TotalSeconds * Stopwatch.Frequency));
                delayed.Writer.TryWrite((lastDue, buffer.AsSpan(0, read).ToArray()));
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or SocketException or InvalidOperationException)
        {
        }
        finally
        {
            delayed?.Writer.TryComplete();
            await writing;
            if (!_blackhole)
            {
                // A black hole forwards no close either; StopAsync disposes what is left.
                from.Dispose();
                to.Dispose();
            }
        }
    }

    private async Task WriteWhenDueAsync(ChannelReader<(long Due, byte[] Bytes)> chunks, TcpClient to, CancellationToken cancellationToken)
    {
        try
        {
            var stream = to.GetStream();
            await foreach (var (due, bytes) in chunks.ReadAllAsync(cancellationToken))
            {
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, cancellationToken);
                }

                await stream.WriteAsync(bytes, cancellationToken);
                Interlocked.Increment(ref _chunks);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or SocketException or InvalidOperationException)
        {
        }
    }
}
