using System.Buffers;
using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Errors;

namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>The connection's loops: reading lines and handing each frame to its call, writing, and the keep-alive.</summary>
internal sealed partial class EffectClientConnection
{
    private async Task ReadLoopAsync()
    {
        await Task.Yield();
        var reason = "the runner closed the connection";
        try
        {
            while (true)
            {
                var result = await _input.ReadAsync(_closing.Token).ConfigureAwait(false);
                var buffer = result.Buffer;
                while (EffectJsonLine.TryRead(ref buffer, out var line))
                {
                    OnLine(line);
                }

                if (buffer.Length > _maxLine)
                {
                    reason = $"the runner sent a line longer than {_maxLine} bytes";
                    break;
                }

                _input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is IOException or EffectProtocolException or ObjectDisposedException)
        {
            reason = ex.Message;
        }
        finally
        {
            Close(reason);
            await _input.CompleteAsync().ConfigureAwait(false);
        }
    }

    private void OnLine(ReadOnlySequence<byte> line)
    {
        if (line.IsEmpty)
        {
            return;
        }

        var bytes = PooledBytes.CopyOf(line.IsSingleSegment ? line.FirstSpan : line.ToArray());
        EffectServerFrame frame;
        try
        {
            frame = EffectServerFrameDecoder.Decode(bytes.Memory);
        }
        catch
        {
            bytes.Dispose();
            throw;
        }

        switch (frame.Kind)
        {
            case EffectServerFrameKind.Pong:
                bytes.Dispose();
                _awaitingPong = false;
                break;
            case EffectServerFrameKind.Defect:
                // Effect's client fails every pending request on a defect; the connection itself goes on.
                var defect = System.Text.Encoding.UTF8.GetString(frame.Body.Span);
                bytes.Dispose();
                LogDefect(_logger, _runner.ToString(), defect);
                FailAll(new MalformedMessageException($"Runner {_runner} reported a protocol defect: {defect}"));
                break;
            default:
                var id = frame.RequestId.IsText ? -1 : frame.RequestId.Number;
                if (!_calls.TryGetValue(id, out var frames) || !frames.Writer.TryWrite((frame, bytes)))
                {
                    bytes.Dispose(); // a call that already gave up
                }

                break;
        }
    }

    private async Task WriteLoopAsync()
    {
        await Task.Yield();
        if (await _writer.RunAsync().ConfigureAwait(false) is { } reason)
        {
            Close(reason);
        }

        await _output.CompleteAsync().ConfigureAwait(false);
    }

    private async Task KeepAliveAsync(TimeSpan interval)
    {
        if (interval <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_closing.Token).ConfigureAwait(false))
            {
                if (_awaitingPong)
                {
                    Close("ping timeout");
                    return;
                }

                _awaitingPong = true;
                _writer.Send(PooledBytes.CopyOf(EffectClientRequests.KeepAlive.Span));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void FailAll(Exception error)
    {
        foreach (var (id, frames) in _calls)
        {
            if (_calls.TryRemove(id, out _))
            {
                frames.Writer.TryComplete(error);
            }
        }
    }

    private void Close(string reason)
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        LogClosed(_logger, _runner.ToString(), reason);
        FailAll(new RunnerUnavailableException(_runner.ToString(), reason));
        _writer.Complete();
        _writer.Abort();
        try
        {
            _closing.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        _socket.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Effect protocol connection to {Runner} closed: {Reason}")]
    private static partial void LogClosed(ILogger logger, string runner, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Runner {Runner} reported an Effect protocol defect: {Defect}")]
    private static partial void LogDefect(ILogger logger, string runner, string defect);
}
