using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace SocketRunnerAspire.Cluster.Http;

/// <summary>
/// An RFC 7807 problem answer of the HTTP proxy, with a <c>Retry-After</c> header when retrying later can succeed.
/// Written through the app's <c>IProblemDetailsService</c> when it has one.
/// </summary>
internal sealed class EntityProxyProblem(ProblemDetails details, int? retryAfterSeconds = null) : IResult
{
    /// <summary>The problem's body.</summary>
    public ProblemDetails Details { get; } = details;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        if (retryAfterSeconds is { } seconds)
        {
            httpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }

        return TypedResults.Problem(Details).ExecuteAsync(httpContext);
    }
}
