using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Transport.Sockets;

namespace SocketRunnerAspire.Cluster.Tests.Transport.Effect;

/// <summary>
/// What an Effect TS runner client with ndjson serialization sends and reads, written by hand: one JSON frame per line
/// each way over a plain loopback socket.
/// </summary>
internal sealed class EffectNdjsonClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly StreamReader _reader;
    private int _nextId;
    private Task<string?>? _pending;

    private EffectNdjsonClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = new StreamReader(_stream, new UTF8Encoding(false));
    }

    public static async Task<EffectNdjsonClient> ConnectAsync(RunnerAddress runner)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(SocketRunnerTransport.ToEndPoint(runner));
        return new EffectNdjsonClient(socket);
    }

    /// <summary>Sends one raw line (a newline is added).</summary>
    public async Task SendLineAsync(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line + "\n");
        await _stream.WriteAsync(bytes);
    }

    public Task SendAsync(JsonObject frame) => SendLineAsync(frame.ToJsonString());

    /// <summary>Sends an RPC request frame as Effect's client does (a number id from a counter); returns the id.</summary>
    public async Task<int> RequestAsync(string tag, JsonNode? payload)
    {
        var id = Interlocked.Increment(ref _nextId);
        await SendAsync(new JsonObject
        {
            ["_tag"] = "Request",
            ["id"] = id,
            ["tag"] = tag,
            ["payload"] = payload,
            ["headers"] = new JsonArray(),
        });
        return id;
    }

    /// <summary>An <c>Effect</c> or <c>Stream</c> RPC for an entity request; returns the RPC id.</summary>
    public Task<int> EntityRequestAsync(string rpc, long requestId, EntityAddress address, string tag, JsonNode? payload, bool persisted = false) =>
        RequestAsync(rpc, new JsonObject
        {
            ["request"] = PartialRequest(requestId, address, tag, payload),
            ["persisted"] = persisted,
        });

    public static JsonObject PartialRequest(long requestId, EntityAddress address, string tag, JsonNode? payload) => new()
    {
        ["_tag"] = "Request",
        ["requestId"] = requestId.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["address"] = Address(address),
        ["tag"] = tag,
        ["payload"] = payload,
        ["headers"] = new JsonObject(),
    };

    public static JsonObject Address(EntityAddress address) => new()
    {
        ["shardId"] = new JsonObject { ["group"] = address.ShardId.Group, ["id"] = address.ShardId.Id },
        ["entityType"] = address.EntityType,
        ["entityId"] = address.EntityId,
    };

    /// <summary>The next frame from the runner.</summary>
    public async Task<JsonObject> ReadAsync(TimeSpan? timeout = null)
    {
        var pending = _pending ?? _reader.ReadLineAsync();
        _pending = null;
        var line = await pending.WaitAsync(timeout ?? TimeSpan.FromSeconds(10)) ?? throw new EndOfStreamException("The runner closed the connection.");
        return JsonNode.Parse(line)!.AsObject();
    }

    /// <summary>Whether the runner sends nothing within <paramref name="wait"/> (a read started here is kept for the next <see cref="ReadAsync"/>).</summary>
    public async Task<bool> IsQuietAsync(TimeSpan wait)
    {
        _pending ??= _reader.ReadLineAsync();
        return await Task.WhenAny(_pending, Task.Delay(wait)) != _pending;
    }

    /// <summary>True when the runner closes the connection within 5 s.</summary>
    public async Task<bool> IsClosedByRunnerAsync()
    {
        try
        {
            var pending = _pending ?? _reader.ReadLineAsync();
            _pending = null;
            return await pending.WaitAsync(TimeSpan.FromSeconds(5)) is null;
        }
        catch (IOException)
        {
            return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Shutdown(SocketShutdown.Both);
        _reader.Dispose();
        await _stream.DisposeAsync();
    }
}
