using Microsoft.Extensions.Logging;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Configuration;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Timing;
using SocketRunnerAspire.Cluster.Transport;

namespace SocketRunnerAspire.Cluster.Runners;

/// <summary>
/// Alive when the runner answers the transport's ping (Effect's <c>RunnerHealth.layerPing</c>): up to five attempts,
/// each bounded by <see cref="ShardingOptions.PingTimeout"/>, <see cref="ShardingOptions.PingRetryInterval"/> apart.
/// </summary>
internal sealed partial class PingRunnerHealth(ShardingOptions options, IRunnerTransport transport, TimeProvider time, ILogger logger) : IRunnerHealth
{
    private const int PingAttempts = 5;

    public async ValueTask<bool> IsAliveAsync(RunnerAddress runner, CancellationToken cancellationToken)
    {
        var backoff = new Backoff(options.PingRetryInterval, options.PingRetryInterval, factor: 1);
        for (var attempt = 1; attempt <= PingAttempts && !cancellationToken.IsCancellationRequested; attempt++)
        {
            try
            {
                using var timeout = TimeoutScope.Start(options.PingTimeout, time, cancellationToken);
                await transport.PingAsync(runner, timeout.Token).ConfigureAwait(false);
                return true;
            }
            catch (ClusterAuthenticationException ex)
            {
                // It answered the handshake, so it is alive; the secrets differ, which is a configuration error
                // that must not make this node mark every healthy runner unhealthy.
                LogAuthenticationFailed(logger, runner.ToString(), ex.Message);
                return true;
            }
            catch (Exception) when (attempt < PingAttempts)
            {
                await Task.Delay(backoff.Next(), time, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception)
            {
                transport.OnRunnerUnavailable(runner);
            }
        }

        cancellationToken.ThrowIfCancellationRequested();   // stopped, not dead
        return false;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Health check of runner {Runner}: {Reason}")]
    private static partial void LogAuthenticationFailed(ILogger logger, string runner, string reason);
}
