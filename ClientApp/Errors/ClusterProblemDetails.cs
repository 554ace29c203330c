using Microsoft.AspNetCore.Diagnostics;
using SocketRunnerAspire.Cluster.Http;
using SocketRunnerAspire.Contracts;

namespace SocketRunnerAspire.ClientApp.Errors;

/// <summary>
/// Answers the cluster's typed errors thrown by the hand-written endpoints with the same problem details as the
/// entity proxies (<see cref="ClusterProblems"/>): a broken business rule is 409, a full mailbox 429 (back off), a
/// runner or storage outage 503 (retry), a persisted request still waiting for its reply 504 (it will still be
/// processed), a node refused by the runners (cluster secret or TLS mismatch) 500 without the details.
/// </summary>
public sealed class ClusterProblemDetails : IExceptionHandler
{
    /// <summary>The status of a handler error by the exception the handler threw (the entity proxies in Endpoints/ say the same with <c>HandlerError&lt;DomainRuleException&gt;(409)</c>).</summary>
    public static int? HandlerErrorStatus(string errorType) =>
        errorType == typeof(DomainRuleException).FullName ? StatusCodes.Status409Conflict : null;

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (ClusterProblems.ToResult(exception, HandlerErrorStatus) is not { } problem)
        {
            return false;
        }

        await problem.ExecuteAsync(httpContext);
        return true;
    }
}
