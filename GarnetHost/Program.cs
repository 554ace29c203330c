using SocketRunnerAspire.GarnetHost;

// Garnet (Microsoft's Redis-protocol server) hosted as a plain .NET process, so the local cluster
// has Redis-compatible storage on machines without a container runtime.
var builder = Host.CreateApplicationBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddOptions<GarnetHostOptions>()
    .Bind(builder.Configuration.GetSection(GarnetHostOptions.SectionName))
    .ValidateDataAnnotations()
    .ValidateOnStart();
builder.Services.AddHostedService<GarnetService>();
builder.Build().Run();
