namespace SocketRunnerAspire.Bench;

internal static class ManagedMemory
{
    /// <summary>This process's live managed bytes once everything collectable is collected.</summary>
    public static long AfterFullCollection()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
