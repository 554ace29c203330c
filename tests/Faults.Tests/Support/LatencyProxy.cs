using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace SocketRunnerAspire.Faults.Tests.Support;

/// <summary>
/// A loopback TCP proxy that holds every chunk for a random latency in [<paramref name="min"/>, <paramref name="max"/>]
/// in each direction before passing it on (order kept, chunks in flight pipelined as on a slow network): slow storage.
/// </summary>
public sealed class LatencyProxy(int targetPort, TimeSpan min, TimeSpan max) : IAsyncDisposable
{
    private readonly List<TcpClient> _connections = [];
    private readonly CancellationTokenSource _running = new();
    private TcpListener? _listener;
    private Task _accepting = Task.CompletedTask;

    public int Port { get; } = FreePort.Next();

    /// <summary>A StackExchange.Redis connection string through the proxy (timeouts well above the added latency).</summary>
    public string ConnectionString => $"127.0.0.1:{Port},abortConnect=false,connectTimeout=5000,syncTimeout=5000,asyncTimeout=5000";

    /// <summary>Chunks passed on so far (both directions).</summary>
    public long Chunks => Interlocked.Read(ref _chunks);

    private long _chunks;

    public void Start()
    {
        _listener = new TcpListener(IPAddress.Loopback, Port);
        _listener.Start();
        _accepting = AcceptAsync(_listener, _running.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _running.CancelAsync();
        _listener?.Stop();
        lock (_connections)
        {
            foreach (var connection in _connections)
            {
                connection.Dispose();
            }
        }

        await _accepting;
        _running.Dispose();
    }

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

            client.NoDelay = server.NoDelay = true;
            lock (_connections)
            {
                _connections.Add(client);
                _connections.Add(server);
            }

            _ = PumpAsync(client, server, cancellationToken);
            _ = PumpAsync(server, client, cancellationToken);
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to, CancellationToken cancellationToken)
    {
        var chunks = Channel.CreateUnbounded<(long Due, byte[] Bytes)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var writing = WriteAsync(chunks.Reader, to, cancellationToken);
        try
        {
            var buffer = new byte[64 * 1024];
            var stream = from.GetStream();
            var lastDue = 0L;
            var random = new Random();
            while (true)
            {
                var read = await stream.ReadAsync(buffer, cancellationToken);
                if (read == 0)
                {
                    break;
                }

                var latency = min + (max - min) * random.NextDouble();
                lastDue = Math.Max(lastDue, Stopwatch.GetTimestamp() + (long)(latency.TotalSeconds * Stopwatch.Frequency));
                chunks.Writer.TryWrite((lastDue, buffer.AsSpan(0, read).ToArray()));
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or SocketException or InvalidOperationException)
        {
        }
        finally
        {
            chunks.Writer.TryComplete();
            await writing;
            from.Dispose();
            to.Dispose();
        }
    }

    private async Task WriteAsync(ChannelReader<(long Due, byte[] Bytes)> chunks, TcpClient to, CancellationToken cancellationToken)
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
