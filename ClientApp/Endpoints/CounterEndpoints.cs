using SocketRunnerAspire.Cluster;
using SocketRunnerAspire.Contracts;

namespace SocketRunnerAspire.ClientApp.Endpoints;

/// <summary>The smallest entity: a counter per id.</summary>
public static class CounterEndpoints
{
    public sealed record CounterResponse(string Id, long Value, string Runner);

    public static IEndpointRouteBuilder MapCounterEndpoints(this IEndpointRouteBuilder app)
    {
        var counters = app.MapGroup("/counters/{id}").WithTags("Counters");

        counters.MapPost("/increment", async (string id, IEntityClient entities, CancellationToken cancellationToken, int by = 1) =>
            {
                var value = await entities.GetEntity<Counter>(id).AskAsync(new Increment(by), cancellationToken);
                return new CounterResponse(id, value.Value, value.Runner);
            })
            .WithName("IncrementCounter").WithSummary("Adds to a counter and returns its value and the runner holding it.");

        counters.MapGet("/", async (string id, IEntityClient entities, CancellationToken cancellationToken) =>
            {
                var value = await entities.GetEntity<Counter>(id).AskAsync(new GetValue(), cancellationToken);
                return new CounterResponse(id, value.Value, value.Runner);
            })
            .WithName("GetCounter").WithSummary("Reads a counter.");

        return app;
    }
}
