using SocketRunnerAspire.Bench.SocketRunner;
namespace SocketRunnerAspire.Bench.RawEcho;

/// <summary>The raw echo servers, in this process or in their own, and a client calling them.</summary>
public interface IRawEchoUnderTest : ISystemUnderTest
{
    ValueTask<int> IncrementAsync(int entity, Increment increment);
}
