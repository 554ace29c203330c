using System.Diagnostics;
using System.Text.Json.Serialization;
using SocketRunnerAspire.ClientApp.Endpoints;
using SocketRunnerAspire.ClientApp.Errors;
using SocketRunnerAspire.Cluster;
using SocketRunnerAspire.Cluster.Hosting;
using SocketRunnerAspire.Cluster.Http;
using SocketRunnerAspire.Contracts;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();

// Client-only participant: reads the runner registry from the "storage" Redis connection and sends to
// entities over outgoing connections; hosts none. Endpoints send through the injected IEntityClient (orders
// start and steer the checkout workflow through IWorkflowClient), the entity proxies (MapEntityProxy) through Sharding.
builder.AddClusterClient("storage");

builder.Services.ConfigureHttpJsonOptions(options => options.SerializerOptions.Converters.Add(new JsonStringEnumConverter()));
builder.Services.AddOpenApi();
builder.Services.AddProblemDetails();
builder.Services.AddExceptionHandler<ClusterProblemDetails>();

var app = builder.Build();

app.UseExceptionHandler();

// Every response names its trace, so a request can be found in the dashboard's Traces page.
app.Use((context, next) =>
{
    if (Activity.Current is { } activity)
    {
        context.Response.Headers["trace-id"] = activity.TraceId.ToHexString();
    }

    return next(context);
});

app.MapDefaultEndpoints();
app.MapOpenApi();

app.MapGet("/", (Sharding sharding) => Results.Ok(new
{
    service = "clientapp",
    runners = sharding.Runners.Select(r => r.Runner.Address.ToString()).Order(StringComparer.Ordinal).ToArray(),
    openApi = "/openapi/v1.json",
})).ExcludeFromDescription();

app.MapCartEndpoints();
app.MapInventoryEndpoints();
app.MapOrderEndpoints();
app.MapEntityProxy<Counter>("/counters");
app.MapClusterEndpoints();

app.Run();
