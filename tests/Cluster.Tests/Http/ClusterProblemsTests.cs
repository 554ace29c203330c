using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using SocketRunnerAspire.Cluster.Addressing;
using SocketRunnerAspire.Cluster.Errors;
using SocketRunnerAspire.Cluster.Http;

namespace SocketRunnerAspire.Cluster.Tests.Http;

public sealed class ClusterProblemsTests
{
    private static readonly EntityAddress Address = new("Counter", "c1", new ShardId(ShardId.DefaultGroup, 1));

    public static TheoryData<Exception, int, string, bool> Errors => new()
    {
        { new MalformedMessageException("bad"), 400, ClusterProblems.MalformedMessage, false },
        { new UnknownEntityTypeException("no such"), 404, ClusterProblems.UnknownRpc, false },
        { new AlreadyProcessingMessageException(Address, 7), 409, ClusterProblems.AlreadyProcessing, false },
        { new EntityHandlerException("System.InvalidOperationException", "no"), 422, ClusterProblems.HandlerError, false },
        { new MailboxFullException(Address), 429, ClusterProblems.MailboxFull, true },
        { new RunnerUnavailableException("runner:1"), 503, ClusterProblems.Unavailable, true },
        { new EntityNotAssignedToRunnerException(Address), 503, ClusterProblems.Unavailable, true },
        { new PersistenceException("down"), 503, ClusterProblems.PersistenceError, true },
        { new PersistedReplyTimeoutException(Address, 7, TimeSpan.FromSeconds(1)), 504, ClusterProblems.ReplyTimeout, false },
        { new ClusterAuthenticationException("secret mismatch"), 500, ClusterProblems.Authentication, false },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public async Task EachClusterErrorHasItsStatusTypeAndRetryAfter(Exception error, int status, string type, bool retryAfter)
    {
        var (response, problem) = await ExecuteAsync(ClusterProblems.ToResult(error)!);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal(type, problem.GetProperty("type").GetString());
        Assert.Equal(retryAfter, response.Headers.RetryAfter.Count > 0);
    }

    [Fact]
    public async Task AnAuthenticationFailureKeepsItsDetailForTheLog()
    {
        var (_, problem) = await ExecuteAsync(ClusterProblems.ToResult(new ClusterAuthenticationException("secret mismatch"))!);

        Assert.False(problem.TryGetProperty("detail", out var detail) && detail.ValueKind == JsonValueKind.String);
    }

    [Fact]
    public async Task AHandlerErrorsStatusCanBeChosenByItsExceptionType()
    {
        var error = new EntityHandlerException("Shop.DomainRuleException", "closed");

        var (response, problem) = await ExecuteAsync(ClusterProblems.ToResult(error, type => type == "Shop.DomainRuleException" ? 409 : null)!);

        Assert.Equal(409, response.StatusCode);
        Assert.Equal("Shop.DomainRuleException", problem.GetProperty("errorType").GetString());
    }

    [Fact]
    public void AnErrorThatIsNotTheClustersIsLeftToTheApp() =>
        Assert.Null(ClusterProblems.ToResult(new InvalidOperationException("app bug")));

    private static async Task<(HttpResponse Response, JsonElement Problem)> ExecuteAsync(IResult result)
    {
        var context = new DefaultHttpContext
        {
            RequestServices = new ServiceCollection().AddLogging().BuildServiceProvider(),
        };
        using var body = new MemoryStream();
        context.Response.Body = body;

        await result.ExecuteAsync(context);

        return (context.Response, JsonDocument.Parse(body.ToArray()).RootElement.Clone());
    }
}
