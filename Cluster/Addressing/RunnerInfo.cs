namespace SocketRunnerAspire.Cluster.Addressing;

/// <summary>A runner as registered in RunnerStorage: address, hosted shard groups and ring weight.</summary>
public sealed record RunnerInfo(RunnerAddress Address, IReadOnlyList<string> Groups, double Weight);
