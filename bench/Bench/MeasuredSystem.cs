namespace SocketRunnerAspire.Bench;

/// <summary>A system's name and deployment as the load generator reports them on each result row.</summary>
public sealed record MeasuredSystem(string Mode, string Name, ISystemUnderTest Deployment);
