using System.Diagnostics;
using System.Text.Json.Serialization;
using SocketRunnerAspire.ClientApp.Endpoints;
using SocketRunnerAspire.ClientApp.Errors;
using SocketRunnerAspire.Cluster;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();

// Client-only participant: reads the runner registry from storage and sends to entities over
// outgoing connections; hosts none.
builder.AddClusterClient();

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
app.MapCounterEndpoints();
app.MapClusterEndpoints();

app.Run();
