using Microsoft.AspNetCore.Diagnostics;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Contracts;

namespace SocketRunnerAspire.ClientApp.Errors;

/// <summary>
/// Turns the cluster's typed errors into problem details with a status a caller can act on: a broken
/// business rule is 409, a full mailbox 429 (back off), a runner or storage outage 503 (retry), a
/// persisted request still waiting for its reply 504 (it will still be processed), a node refused by the
/// runners (cluster secret or TLS mismatch) 500 without the details.
/// </summary>
public sealed class ClusterProblemDetails(IProblemDetailsService problemDetails) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title) = exception switch
        {
            EntityHandlerException { ErrorType: var type } when type == typeof(DomainRuleException).FullName =>
                (StatusCodes.Status409Conflict, "The request breaks a business rule."),
            MailboxFullException => (StatusCodes.Status429TooManyRequests, "The entity is busy; retry later."),
            RunnerUnavailableException or EntityNotAssignedToRunnerException or PersistenceException =>
                (StatusCodes.Status503ServiceUnavailable, "The cluster cannot serve this entity right now; retry later."),
            ClusterAuthenticationException =>
                (StatusCodes.Status500InternalServerError, "This node may not talk to the cluster's runners (cluster secret or TLS certificate mismatch); see its log."),
            PersistedReplyTimeoutException =>
                (StatusCodes.Status504GatewayTimeout, "The request is stored and will be processed, but no reply came in time."),
            _ => (0, ""),
        };
        if (status == 0)
        {
            return false;
        }

        httpContext.Response.StatusCode = status;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails =
            {
                Status = status,
                Title = title,
                // How authentication failed is for the operator's log, not for HTTP callers.
                Detail = exception is ClusterAuthenticationException ? null : exception.Message,
                Type = exception.GetType().Name,
            },
        });
    }
}
