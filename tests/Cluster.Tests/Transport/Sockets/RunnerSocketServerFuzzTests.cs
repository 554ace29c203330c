using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Entities;
using SocketRunnerAspire.Cluster.Serialization;
using SocketRunnerAspire.Cluster.Storage;
using SocketRunnerAspire.Cluster.Tests.Support;
using SocketRunnerAspire.Cluster.Transport;
using SocketRunnerAspire.Cluster.Transport.Sockets;
using Xunit.Abstractions;
using SocketRunnerAspire.Cluster.Addressing;

namespace SocketRunnerAspire.Cluster.Tests.Transport.Sockets;

/// <summary>
/// A runner serving the runner protocol on loopback TCP gets many connections carrying random and mutated frame
/// streams while a well-behaved client keeps calling it. CI runs 4,000 garbage connections (1-4 random, mutated,
/// wrong-typed or valid frames each, then end of stream; about 10,000 frames) and 1,000 connections of 16 well-framed
/// requests whose envelopes and payloads are mutated (16,000 frames), all scaled by <c>FUZZ_ITERATIONS</c>.
/// Asserted: every garbage connection is closed by the server within <see cref="Prompt"/>; every well-framed request
/// is answered within it, failures only with typed error codes; the server logs nothing but the malformed-frame
/// closes; no unobserved task exception; the good client's answers stay right; no connection is left open and the
/// managed heap after the run is within <see cref="MemoryBound"/> of the heap after a warm-up.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class RunnerSocketServerFuzzTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int MaxFrameSize = 64 * 1024;
    private const int GarbageConnections = 4_000;
    private const int RequestConnections = 1_000;
    private const int RequestsPerConnection = 16;
    private const int Workers = 4;
    private const long MemoryBound = 8 * 1024 * 1024;

    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(10);

    /// <summary>Every RPC of the test entity that answers at once, one that does not exist, and none that waits on a gate (Hold).</summary>
    private static readonly string[] Tags = ["Increment", "WhereAmI", "Fail", "SetKeepAlive", "Reset", "Deposit", "CountTo", "Note", "Unserializable", "NoSuchRpc"];

    private static readonly FrameKind[] Kinds = Enum.GetValues<FrameKind>();

    private readonly ProblemLoggerProvider _serverLogs = new((level, message, exception) =>
        level == LogLevel.Error && message.StartsWith("Closing runner connection from", StringComparison.Ordinal));

    private readonly List<ListeningTransport> _transports = [];
    private readonly ConcurrentQueue<string> _failures = new();
    private readonly ConcurrentQueue<string> _unobserved = new();
    private readonly ConcurrentDictionary<RemoteErrorCode, int> _failureCodes = new();
    // The local end of every connection the fuzzer opened: none may stay open on the server.
    private readonly ConcurrentDictionary<string, byte> _fuzzPeers = new();
    private TestCluster _cluster = null!;
    private int _frames;
    private int _answered;
    private int _typedFailures;
    private int _closedGarbage;
    private int _clientConnections;
    private readonly TaskCompletionSource _goodClientConnected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private RunnerSocketServer Server => _transports.Select(t => t.Server).Single(s => s is not null)!;

    public async Task InitializeAsync() => _cluster = await TestCluster.StartAsync(1,
        transports: () =>
        {
            var transport = new ListeningTransport(new SocketRunnerTransport(new RunnerSocketOptions { MaxFrameSize = MaxFrameSize }, _serverLogs.CreateFactory()));
            _transports.Add(transport);
            return transport;
        },
        addresses: _ => FreePort.IsolatedLoopback());   // only this test's connections may reach it: it counts them

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task GarbageAndMutatedRequestsNeverCrashStickOrLeakAndAGoodClientIsServedThroughout()
    {
        var garbage = FuzzSettings.Count(GarbageConnections);
        var requests = FuzzSettings.Count(RequestConnections);
        output.WriteLine(FuzzSettings.Describe(nameof(RunnerSocketServerFuzzTests), garbage + requests) + $" {garbage:N0} garbage and {requests:N0} request connections.");
        var runner = _cluster.Runners[0];
        var endPoint = SocketRunnerTransport.ToEndPoint(runner.Address!.Value);

        // Tasks left behind by earlier test classes are finalized now, before watching for unobserved exceptions.
        HeapAfterFullCollection();
        EventHandler<UnobservedTaskExceptionEventArgs> onUnobserved = (_, e) => _unobserved.Enqueue(e.Exception.ToString());
        UnhandledExceptionEventHandler onUnhandled = (_, e) => _unobserved.Enqueue($"unhandled: {e.ExceptionObject}");
        TaskScheduler.UnobservedTaskException += onUnobserved;
        AppDomain.CurrentDomain.UnhandledException += onUnhandled;
        using var stopGood = new CancellationTokenSource();
        var good = GoodClientAsync(stopGood.Token);
        try
        {
            // The cluster's own client keeps its connection to the runner open: that one stays.
            await _goodClientConnected.Task.WaitAsync(Prompt);
            _clientConnections = Server.ConnectionCount;
            Assert.Equal(1, _clientConnections);

            // Warm-up: a tenth of the run, so pools, JIT and the entities' state exist before the baseline.
            var warmGarbage = garbage / 10;
            var warmRequests = requests / 10;
            await RunConnectionsAsync(endPoint, 0, warmGarbage, 0, warmRequests);
            await ConnectionsClosedAsync();
            var baseline = HeapAfterFullCollection();

            var watch = Stopwatch.StartNew();
            await RunConnectionsAsync(endPoint, warmGarbage, garbage, warmRequests, requests);
            await ConnectionsClosedAsync();
            var elapsed = watch.Elapsed;
            var after = HeapAfterFullCollection();

            await stopGood.CancelAsync();
            var goodCalls = await good;
            Assert.True(goodCalls > 0, "the good client got no answer");

            // ...and after the fuzzing, too.
            Assert.Equal(1, await _cluster.Client.GetEntity<CounterEntity>("good-after").AskAsync(new Increment(1)));

            output.WriteLine($"{_frames:N0} frames over {garbage + requests:N0} connections in {elapsed.TotalSeconds:0.0} s (after warm-up); " +
                $"{_closedGarbage:N0} garbage connections closed by the server ({Server.ConnectionCount} open now: the good client's), {_answered:N0} requests answered ({_typedFailures:N0} typed failures), " +
                $"{_serverLogs.Count(LogLevel.Error):N0} malformed-frame closes logged; good client: {goodCalls:N0} correct answers.");
            output.WriteLine("Failure frames by code: " + string.Join(", ", _failureCodes.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value:N0}")) + ".");
            output.WriteLine($"Managed heap after full GC: {baseline:N0} bytes after warm-up, {after:N0} bytes after the run ({after - baseline:+#,0;-#,0;0} bytes; bound {MemoryBound:N0}).");

            Assert.True(_failures.IsEmpty, $"{_failures.Count} connections misbehaved (seed {FuzzSettings.Seed}):\n" + string.Join("\n", _failures.Take(5)));
            Assert.True(_serverLogs.Problems.IsEmpty, "The server logged:\n" + string.Join("\n", _serverLogs.Problems.Take(5)));
            Assert.True(_unobserved.IsEmpty, "Unobserved exceptions:\n" + string.Join("\n", _unobserved.Take(5)));
            Assert.True(after - baseline < MemoryBound, $"the heap grew by {after - baseline:N0} bytes");
        }
        finally
        {
            await stopGood.CancelAsync();
            await good.ContinueWith(_ => { }, TaskScheduler.Default);
            TaskScheduler.UnobservedTaskException -= onUnobserved;
            AppDomain.CurrentDomain.UnhandledException -= onUnhandled;
        }
    }

    /// <summary>Increments its own counter and reads a short stream, checking every answer, until stopped.</summary>
    private async Task<int> GoodClientAsync(CancellationToken stop)
    {
        await Task.Yield();
        var counter = _cluster.Client.GetEntity<CounterEntity>("good");
        var calls = 0;
        while (!stop.IsCancellationRequested)
        {
            var value = await counter.AskAsync(new Increment(1), CancellationToken.None);
            if (value != calls + 1)
            {
                _failures.Enqueue($"good client: increment {calls + 1} answered {value}");
                return calls;
            }

            var items = new List<int>();
            await foreach (var item in counter.StreamAsync(new CountTo(3), CancellationToken.None))
            {
                items.Add(item);
            }

            if (!items.SequenceEqual([1, 2, 3]))
            {
                _failures.Enqueue($"good client: stream answered [{string.Join(", ", items)}]");
                return calls;
            }

            calls++;
            _goodClientConnected.TrySetResult();
        }

        return calls;
    }

    private async Task RunConnectionsAsync(System.Net.EndPoint endPoint, int garbageFrom, int garbageTo, int requestsFrom, int requestsTo)
    {
        var next = -1;
        var total = (garbageTo - garbageFrom) + (requestsTo - requestsFrom);
        await Task.WhenAll(Enumerable.Range(0, Workers).Select(_ => Task.Run(async () =>
        {
            for (var i = Interlocked.Increment(ref next); i < total; i = Interlocked.Increment(ref next))
            {
                // Interleave the two kinds; each connection has its own seeded Random, so any one replays alone.
                var garbageConnection = i % 5 != 4 && garbageFrom + i - (i / 5) < garbageTo || requestsFrom + i / 5 >= requestsTo;
                var index = garbageConnection ? garbageFrom + i - i / 5 : requestsFrom + i / 5;
                var random = new Random(unchecked((FuzzSettings.Seed * 397) ^ (index * 2 + (garbageConnection ? 0 : 1))));
                if (garbageConnection)
                {
                    await GarbageConnectionAsync(endPoint, random, index);
                }
                else
                {
                    await RequestConnectionAsync(endPoint, random, index);
                }
            }
        })));
    }

    /// <summary>Random, mutated, wrong-typed and valid frames, then end of stream: the server must close the connection promptly.</summary>
    private async Task GarbageConnectionAsync(System.Net.EndPoint endPoint, Random random, int index)
    {
        var frames = 1 + random.Next(4);
        var bytes = new List<byte>();
        for (var i = 0; i < frames; i++)
        {
            var valid = ValidClientFrame(random, i + 1);
            bytes.AddRange(random.Next(4) switch
            {
                0 => RandomBytesFrame(random),
                1 => ByteMutator.Mutate(random, valid),
                2 => WrongTypedFrame(random),
                _ => valid,
            });
        }

        Interlocked.Add(ref _frames, frames);
        var sent = bytes.ToArray();
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint);
        _fuzzPeers.TryAdd(socket.LocalEndPoint!.ToString()!, 0);
        try
        {
            await socket.SendAsync(sent);
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            // The server closed on an early malformed frame before everything was sent.
        }

        var (replies, closed) = await ReadRepliesAsync(socket, expected: int.MaxValue);
        if (!closed)
        {
            _failures.Enqueue(Describe("garbage", index, sent, $"the server did not close the connection within {Prompt.TotalSeconds} s"));
            return;
        }

        Interlocked.Increment(ref _closedGarbage);
        foreach (var reply in replies)
        {
            CheckReply(reply, "garbage", index, sent);
        }
    }

    /// <summary>Well-framed requests with mutated envelopes and payloads: every one must be answered promptly, failures typed.</summary>
    private async Task RequestConnectionAsync(System.Net.EndPoint endPoint, Random random, int index)
    {
        var bytes = new List<byte>();
        for (var id = 1; id <= RequestsPerConnection; id++)
        {
            var (kind, flags, payload) = random.Next(20) switch
            {
                < 15 => (FrameKind.Request, (byte)(random.Next(6) == 0 ? FrameFlags.Persisted : FrameFlags.None), MutatedEnvelope(random)),
                15 or 16 => (FrameKind.Notify, (byte)0, random.Next(2) == 0 ? ByteMutator.RandomBytes(random, 8) : ByteMutator.RandomBytes(random, random.Next(12))),
                17 or 18 => (FrameKind.Envelope, (byte)0, ByteMutator.Mutate(random, PersistedEnvelopeCodec.Encode(new PersistedEnvelope.AckChunk(random.NextInt64(), random.Next())))),
                _ => (FrameKind.Ping, (byte)0, null),
            };
            bytes.AddRange(Encode(kind, id, flags, payload));
        }

        Interlocked.Add(ref _frames, RequestsPerConnection);
        var sent = bytes.ToArray();
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint);
        _fuzzPeers.TryAdd(socket.LocalEndPoint!.ToString()!, 0);
        await socket.SendAsync(sent);
        var (replies, _) = await ReadRepliesAsync(socket, expected: RequestsPerConnection);
        var answered = replies.Select(r => r.RequestId).Distinct().Count();
        if (answered < RequestsPerConnection)
        {
            var missing = Enumerable.Range(1, RequestsPerConnection).Where(id => replies.All(r => r.RequestId != id));
            _failures.Enqueue(Describe("request", index, sent, $"{answered} of {RequestsPerConnection} requests answered within {Prompt.TotalSeconds} s (missing ids {string.Join(", ", missing)})"));
        }

        Interlocked.Add(ref _answered, answered);
        foreach (var reply in replies)
        {
            CheckReply(reply, "request", index, sent);
        }
    }

    /// <summary>What the server sent back must be server frames, and a failure must carry a typed error code.</summary>
    private void CheckReply(Reply reply, string what, int index, byte[] sent)
    {
        if (reply.Kind is not (FrameKind.Pong or FrameKind.Success or FrameKind.Failure or FrameKind.Chunk or FrameKind.StreamEnd))
        {
            _failures.Enqueue(Describe(what, index, sent, $"the server sent a {reply.Kind} frame"));
            return;
        }

        if (reply.Kind != FrameKind.Failure)
        {
            return;
        }

        Interlocked.Increment(ref _typedFailures);
        _failureCodes.AddOrUpdate((RemoteErrorCode)reply.Flags, 1, (_, n) => n + 1);
        var code = (RemoteErrorCode)reply.Flags;
        var typed = code switch
        {
            RemoteErrorCode.MalformedMessage or RemoteErrorCode.UnknownEntityType or RemoteErrorCode.EntityTypeNotRegistered or RemoteErrorCode.EntityNotAssignedToRunner
                or RemoteErrorCode.MailboxFull or RemoteErrorCode.AlreadyProcessingMessage => true,
            // A Hello frame (the cluster-secret handshake) sent to this runner, which has no secret.
            RemoteErrorCode.Unauthorized => reply.Meta?.Contains("does not use a cluster secret", StringComparison.Ordinal) == true,
            // The Fail RPC's own exception, or the test entity's handler rejecting a nil string member (MessagePack does
            // not enforce a record's non-nullable members). Anything else, such as a NullReferenceException from a nil
            // message that should never have reached the handler, is a deserializer bug.
            RemoteErrorCode.HandlerFailed =>
                reply.Meta?.StartsWith(typeof(InvalidOperationException).FullName + '\u001f', StringComparison.Ordinal) == true
                || reply.Meta?.StartsWith(typeof(ArgumentNullException).FullName + '\u001f', StringComparison.Ordinal) == true,
            _ => false,
        };
        if (!typed)
        {
            Interlocked.Decrement(ref _typedFailures);
            _failures.Enqueue(Describe(what, index, sent, $"request {reply.RequestId} failed with {code}: {reply.Meta}"));
        }
    }

    /// <summary>Reads frames until <paramref name="expected"/> distinct requests are answered, the server closes, or <see cref="Prompt"/> passes.</summary>
    private static async Task<(List<Reply> Replies, bool Closed)> ReadRepliesAsync(Socket socket, int expected)
    {
        var replies = new List<Reply>();
        var answered = new HashSet<long>();
        var buffer = new ArrayBufferWriter<byte>();
        using var timeout = new CancellationTokenSource(Prompt);
        try
        {
            while (answered.Count < expected)
            {
                var read = await socket.ReceiveAsync(buffer.GetMemory(4096), SocketFlags.None, timeout.Token);
                if (read == 0)
                {
                    return (replies, true);
                }

                buffer.Advance(read);
                var sequence = new ReadOnlySequence<byte>(buffer.WrittenMemory);
                while (FrameCodec.TryRead(ref sequence, int.MaxValue, out var frame))
                {
                    using (frame)
                    {
                        replies.Add(new Reply(frame.Kind, frame.RequestId, frame.Flags, frame.Meta));
                        if (frame.Kind is FrameKind.Success or FrameKind.Failure or FrameKind.Pong or FrameKind.StreamEnd)
                        {
                            answered.Add(frame.RequestId);
                        }
                    }
                }

                var rest = sequence.ToArray();
                buffer.ResetWrittenCount();
                buffer.Write(rest);
            }

            return (replies, false);
        }
        catch (OperationCanceledException)
        {
            return (replies, false);
        }
        catch (SocketException)
        {
            return (replies, true); // reset by the server: closed
        }
    }

    /// <summary>
    /// Every fuzz connection is closed on the server. (The cluster's own client may have reconnected meanwhile: under a
    /// starved CI machine its keep-alive can give up on a slow pong, which is by design, so its connections are not counted.)
    /// </summary>
    private async Task ConnectionsClosedAsync() =>
        await Eventually.True(() => !Server.OpenConnectionPeers.Any(IsFuzzPeer), Prompt,
            () => $"the server has no open fuzz connection (open: {string.Join(", ", Server.OpenConnectionPeers.Select(p => (IsFuzzPeer(p) ? "fuzz " : "other ") + p))})");

    private bool IsFuzzPeer(System.Net.EndPoint? peer) => peer is not null && _fuzzPeers.ContainsKey(peer.ToString()!);

    private static long HeapAfterFullCollection()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>A Counter request in an envelope; now and then its payload, its envelope or its RPC kind is wrong.</summary>
    private byte[] MutatedEnvelope(Random random)
    {
        var id = $"fuzz-{random.Next(50)}";
        var tag = Tags[random.Next(Tags.Length)];
        var message = random.Next(4) switch
        {
            0 => RandomMessagePack.Value(random),
            _ => tag switch
            {
                "Increment" => ClusterSerializer.Default.Serialize(new Increment(random.Next(-5, 5))),
                "WhereAmI" => ClusterSerializer.Default.Serialize(new WhereAmI()),
                "Fail" => ClusterSerializer.Default.Serialize(new Fail("fuzz")),
                "SetKeepAlive" => ClusterSerializer.Default.Serialize(new SetKeepAlive(false)),
                "Reset" => ClusterSerializer.Default.Serialize(new Reset()),
                "Deposit" => ClusterSerializer.Default.Serialize(new Deposit($"k-{random.Next()}", 1)),
                "CountTo" => ClusterSerializer.Default.Serialize(new CountTo(random.Next(4))),
                "Note" => ClusterSerializer.Default.Serialize(new Note($"n-{random.Next()}")),
                _ => RandomMessagePack.Value(random),
            },
        };
        if (random.Next(3) == 0)
        {
            message = ByteMutator.Mutate(random, message);
        }

        var kind = random.Next(5) == 0 ? (RpcKind)random.Next(4) : tag is "Reset" or "Note" ? RpcKind.Tell : RpcKind.Request;
        var envelope = EnvelopeCodec.Encode(new Envelope(random.NextInt64(), new EntityAddress("Counter", id, _cluster.Client.GetShardId(id)), tag, kind, message, null, null));
        return random.Next(4) == 0 ? ByteMutator.Mutate(random, envelope) : envelope;
    }

    private byte[] ValidClientFrame(Random random, long id) => random.Next(7) switch
    {
        0 => Encode(FrameKind.Ping, id, 0, null),
        1 => Encode(FrameKind.Cancel, random.Next(3), 0, null),
        2 => Encode(FrameKind.StreamRequest, id, 0, MutatedEnvelope(random)),
        3 => Encode(FrameKind.Credit, random.Next(3), (byte)random.Next(256), random.Next(8) == 0 ? ByteMutator.RandomBytes(random, random.Next(4)) : null),
        4 => Encode(Kinds[random.Next(Kinds.Length)], id, (byte)random.Next(256), random.Next(2) == 0 ? null : ByteMutator.RandomBytes(random, random.Next(30))),
        _ => Encode(FrameKind.Request, id, (byte)random.Next(2), MutatedEnvelope(random)),
    };

    private static byte[] RandomBytesFrame(Random random)
    {
        var bytes = ByteMutator.RandomBytes(random, random.Next(100));
        if (bytes.Length > FrameCodec.LengthPrefixSize && random.Next(2) == 0)
        {
            BinaryPrimitives.WriteInt32BigEndian(bytes, bytes.Length - FrameCodec.LengthPrefixSize);
        }

        return bytes;
    }

    private static byte[] WrongTypedFrame(Random random)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePack.MessagePackWriter(buffer);
        writer.WriteArrayHeader(5);
        writer.Write((byte)Kinds[random.Next(Kinds.Length)]);
        for (var i = 0; i < 4; i++)
        {
            RandomMessagePack.WriteValue(random, ref writer);
        }

        writer.Flush();
        var frame = new byte[FrameCodec.LengthPrefixSize + buffer.WrittenCount];
        BinaryPrimitives.WriteInt32BigEndian(frame, buffer.WrittenCount);
        buffer.WrittenSpan.CopyTo(frame.AsSpan(FrameCodec.LengthPrefixSize));
        return frame;
    }

    private static byte[] Encode(FrameKind kind, long id, byte flags, byte[]? payload)
    {
        var output = new ArrayBufferWriter<byte>();
        FrameCodec.Write(output, new ArrayBufferWriter<byte>(), kind, id, flags, null, payload, payload is not null);
        return output.WrittenSpan.ToArray();
    }

    private static string Describe(string what, int index, byte[] sent, string problem) =>
        $"{what} connection {index} (seed {FuzzSettings.Seed}): {problem}. Sent: {Convert.ToHexString(sent.AsSpan(0, Math.Min(sent.Length, 400)))}{(sent.Length > 400 ? "…" : "")}";

    private sealed record Reply(FrameKind Kind, long RequestId, byte Flags, string? Meta);
}
