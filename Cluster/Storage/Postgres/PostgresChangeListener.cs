using Npgsql;

namespace SocketRunnerAspire.Cluster.Storage.Postgres;

/// <summary>
/// A dedicated connection that <c>LISTEN</c>s on a channel and hands each notification's payload to a callback, until
/// disposed. When the connection breaks it reconnects (every second, best effort: notifications are hints and nodes
/// poll anyway, so those sent meanwhile are simply missed).
/// </summary>
internal sealed class PostgresChangeListener : IAsyncDisposable
{
    private static readonly TimeSpan ReconnectDelay = TimeSpan.FromSeconds(1);
    private readonly NpgsqlDataSource _dataSource;
    private readonly string _channel;
    private readonly Action<string> _onPayload;
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    private PostgresChangeListener(NpgsqlDataSource dataSource, string channel, Action<string> onPayload)
    {
        _dataSource = dataSource;
        _channel = channel;
        _onPayload = onPayload;
    }

    /// <summary>Listens from now on: returns once the first LISTEN is in place (throws when it cannot be).</summary>
    public static async Task<PostgresChangeListener> StartAsync(NpgsqlDataSource dataSource, string channel, Action<string> onPayload, CancellationToken cancellationToken)
    {
        var listener = new PostgresChangeListener(dataSource, channel, onPayload);
        var connection = await listener.ListenAsync(cancellationToken).ConfigureAwait(false);
        listener._loop = listener.RunAsync(connection);
        return listener;
    }

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task<NpgsqlConnection> ListenAsync(CancellationToken cancellationToken)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            connection.Notification += (_, e) =>
            {
                if (!_stop.IsCancellationRequested)
                {
                    _onPayload(e.Payload);
                }
            };
            await using var command = new NpgsqlCommand($"LISTEN \"{_channel}\"", connection);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task RunAsync(NpgsqlConnection? connection)
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                connection ??= await ListenAsync(token).ConfigureAwait(false);
                await connection.WaitAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or InvalidOperationException or TimeoutException)
            {
                if (connection is not null)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                    connection = null;
                }

                try
                {
                    await Task.Delay(ReconnectDelay, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        if (connection is not null)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}
