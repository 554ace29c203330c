var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();

// Client-only participant: it reads the runner registry from storage and sends to entities,
// but hosts none.
builder.AddRedisClient("storage");

var app = builder.Build();

app.MapDefaultEndpoints();

// Runner endpoints reach this app through Aspire service discovery (services__runner-N__runner__0).
app.MapGet("/", (IConfiguration configuration) => Results.Ok(new
{
    service = "clientapp",
    runners = configuration.GetSection("services").GetChildren()
        .Where(service => service.GetSection("runner").Exists())
        .Select(service => new { name = service.Key, endpoint = service["runner:0"] })
        .OrderBy(runner => runner.name, StringComparer.Ordinal)
        .ToArray(),
}));

app.Run();
