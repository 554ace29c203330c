namespace SocketRunnerAspire.Bench.Orleans;

/// <summary>Orleans silos, in this process or in their own, and the external client calling them.</summary>
public interface IOrleansUnderTest : ISystemUnderTest
{
    IClusterClient Client { get; }
}
