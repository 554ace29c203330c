using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using SocketRunnerAspire.Cluster.Errors;

namespace SocketRunnerAspire.Cluster.Http;

/// <summary>
/// How HTTP answers the cluster's errors (the entity proxy's, and any endpoint's that uses <see cref="ToResult"/>): one
/// stable problem <c>type</c>, title and status per error, so callers can tell "fix the request" (4xx) from "retry
/// later" (429, 503 with Retry-After) from "it is stored and still running" (504).
/// </summary>
/// <remarks>
/// <list type="table">
/// <item><term>400 urn:cluster:malformed-message</term><description>bad JSON, or a message the cluster cannot serialize</description></item>
/// <item><term>400 urn:cluster:invalid-idempotency-key</term><description>an empty or too long key, or a key on an RPC that is not persisted</description></item>
/// <item><term>404 urn:cluster:unknown-rpc</term><description>no such RPC on the entity (route), or the runner has no such entity type or RPC</description></item>
/// <item><term>409 urn:cluster:already-processing</term><description>a persisted message with this id is being processed</description></item>
/// <item><term>415 urn:cluster:unsupported-media-type</term><description>a body that is not <c>application/json</c> (or none, for an RPC whose message has parameters)</description></item>
/// <item><term>422 urn:cluster:handler-error</term><description>the handler threw (status configurable per exception type); <c>errorType</c> names the exception</description></item>
/// <item><term>429 urn:cluster:mailbox-full</term><description>the entity's mailbox is full; Retry-After: 1</description></item>
/// <item><term>503 urn:cluster:unavailable</term><description>no runner could take the message within the send timeout; Retry-After: 1</description></item>
/// <item><term>503 urn:cluster:persistence-error</term><description>message storage failed; nothing is assumed delivered; Retry-After: 1</description></item>
/// <item><term>504 urn:cluster:reply-timeout</term><description>a persisted request is stored and will run, but its reply did not come in time</description></item>
/// <item><term>500 urn:cluster:authentication</term><description>this node may not talk to the runners (no detail: it is for the operator's log)</description></item>
/// </list>
/// </remarks>
public static class ClusterProblems
{
    /// <summary>Bad JSON, or a message the cluster cannot serialize (400).</summary>
    public const string MalformedMessage = "urn:cluster:malformed-message";
    /// <summary>An empty or too long Idempotency-Key, or one on an RPC that is not persisted (400).</summary>
    public const string InvalidIdempotencyKey = "urn:cluster:invalid-idempotency-key";
    /// <summary>No such RPC on the entity, or no such entity type on the runner (404).</summary>
    public const string UnknownRpc = "urn:cluster:unknown-rpc";
    /// <summary>A body that is not JSON (415).</summary>
    public const string UnsupportedMediaType = "urn:cluster:unsupported-media-type";
    /// <summary>A persisted message with this id is being processed (409).</summary>
    public const string AlreadyProcessing = "urn:cluster:already-processing";
    /// <summary>The entity's handler threw; the <c>errorType</c> extension names the exception (422 unless configured).</summary>
    public const string HandlerError = "urn:cluster:handler-error";
    /// <summary>The entity's mailbox is full (429, Retry-After).</summary>
    public const string MailboxFull = "urn:cluster:mailbox-full";
    /// <summary>No runner could take the message within the send timeout (503, Retry-After).</summary>
    public const string Unavailable = "urn:cluster:unavailable";
    /// <summary>Message storage failed (503, Retry-After).</summary>
    public const string PersistenceError = "urn:cluster:persistence-error";
    /// <summary>A persisted request is stored and will run, but its reply did not come in time (504).</summary>
    public const string ReplyTimeout = "urn:cluster:reply-timeout";
    /// <summary>This node may not talk to the runners (500, no detail).</summary>
    public const string Authentication = "urn:cluster:authentication";
    /// <summary>Any other cluster error (500).</summary>
    public const string ClusterError = "urn:cluster:error";

    /// <summary>Every status the proxy's operations can answer with a problem, for the OpenAPI description.</summary>
    internal static readonly int[] Statuses = [400, 404, 409, 415, 422, 429, 503, 504];

    private const int RetryAfterSeconds = 1;

    internal static EntityProxyProblem Malformed(string detail) =>
        Problem(StatusCodes.Status400BadRequest, MalformedMessage, "The request body is not a valid message for this RPC.", detail);

    internal static EntityProxyProblem BadIdempotencyKey(string detail) =>
        Problem(StatusCodes.Status400BadRequest, InvalidIdempotencyKey, "The Idempotency-Key header cannot be used here.", detail);

    internal static EntityProxyProblem NoSuchRpc(string entityType, string rpc, IEnumerable<string> known) =>
        Problem(StatusCodes.Status404NotFound, UnknownRpc, "The entity has no such RPC.",
            $"Entity type '{entityType}' has no RPC '{rpc}' here; it has: {string.Join(", ", known)}.");

    internal static EntityProxyProblem NotJson(string entityType, string rpc, string? contentType) =>
        Problem(StatusCodes.Status415UnsupportedMediaType, UnsupportedMediaType, "The message must be sent as application/json.",
            $"{entityType}.{rpc} takes a JSON body (Content-Type: application/json), not {contentType ?? "no content type"}.");

    /// <summary>
    /// The problem response for <paramref name="exception"/>, or null when it is not one of the cluster's errors (left
    /// to the app). <paramref name="handlerErrorStatus"/> may give a handler error another status than 422, by the full
    /// name of the exception type the handler threw (<see cref="EntityHandlerException.ErrorType"/>).
    /// </summary>
    public static IResult? ToResult(Exception exception, Func<string, int?>? handlerErrorStatus = null) =>
        For(exception, handlerErrorStatus ?? (static _ => null));

    internal static EntityProxyProblem? For(Exception exception, Func<string, int?> handlerErrorStatus) => exception switch
    {
        MalformedMessageException => Problem(StatusCodes.Status400BadRequest, MalformedMessage, "The message could not be serialized for the cluster.", exception.Message),
        UnknownEntityTypeException => Problem(StatusCodes.Status404NotFound, UnknownRpc, "The entity has no such RPC.", exception.Message),
        AlreadyProcessingMessageException => Problem(StatusCodes.Status409Conflict, AlreadyProcessing, "The entity is already processing this message.", exception.Message),
        EntityHandlerException handler => HandlerFailed(handler, handlerErrorStatus(handler.ErrorType) ?? StatusCodes.Status422UnprocessableEntity),
        MailboxFullException => Problem(StatusCodes.Status429TooManyRequests, MailboxFull, "The entity is busy; retry later.", exception.Message, RetryAfterSeconds),
        RunnerUnavailableException or EntityNotAssignedToRunnerException or RunnerNotRegisteredException =>
            Problem(StatusCodes.Status503ServiceUnavailable, Unavailable, "The cluster cannot serve this entity right now; retry later.", exception.Message, RetryAfterSeconds),
        PersistenceException => Problem(StatusCodes.Status503ServiceUnavailable, PersistenceError, "Message storage failed; retry later.", exception.Message, RetryAfterSeconds),
        PersistedReplyTimeoutException or TimeoutException =>
            Problem(StatusCodes.Status504GatewayTimeout, ReplyTimeout, "No reply came in time; a persisted request is stored and will still be processed.", exception.Message),
        ClusterAuthenticationException => Problem(StatusCodes.Status500InternalServerError, Authentication,
            "This node may not talk to the cluster's runners (cluster secret or TLS certificate mismatch); see its log.", null),
        ClusterException => Problem(StatusCodes.Status500InternalServerError, ClusterError, "The cluster failed to handle the request.", exception.Message),
        _ => null,
    };

    private static EntityProxyProblem HandlerFailed(EntityHandlerException exception, int status)
    {
        var problem = Problem(status, HandlerError, "The entity refused the request.", exception.Message);
        problem.Details.Extensions["errorType"] = exception.ErrorType;
        return problem;
    }

    private static EntityProxyProblem Problem(int status, string type, string title, string? detail, int? retryAfter = null) =>
        new(new ProblemDetails { Status = status, Type = type, Title = title, Detail = detail }, retryAfter);
}
