namespace SocketRunnerAspire.Bench.Orleans;

/// <summary>The Orleans side of the benchmark: the same counter as <c>BenchCounter</c>.</summary>
public interface ICounterGrain : IGrainWithStringKey
{
    Task<int> Increment(int by);
}

public sealed class CounterGrain : Grain, ICounterGrain
{
    private int _value;

    public Task<int> Increment(int by) => Task.FromResult(_value += by);
}
