var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();

// Cluster storage (Redis protocol: Redis or Garnet). The component also registers a health check,
// so /health reports Unhealthy while storage is unreachable.
builder.AddRedisClient("storage");

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapGet("/", (IConfiguration configuration) => Results.Ok(new
{
    service = "runner",
    runnerPort = configuration["Cluster:RunnerAddress:Port"],
}));

app.Run();
