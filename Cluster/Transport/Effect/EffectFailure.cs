namespace SocketRunnerAspire.Cluster.Transport.Effect;

/// <summary>The one reason of an Effect <c>Exit</c> failure: <c>Fail</c> (a typed error), <c>Die</c> (a defect) or <c>Interrupt</c>.</summary>
internal enum EffectFailureKind
{
    /// <summary><c>{_tag:"Fail", error}</c>.</summary>
    Fail,

    /// <summary><c>{_tag:"Die", defect}</c>.</summary>
    Die,

    /// <summary><c>{_tag:"Interrupt", fiberId:null}</c>.</summary>
    Interrupt,
}

/// <summary>
/// Why an RPC or an entity request failed, as one cause of an Effect <c>Exit</c>. A <c>Fail</c> carries the cluster error
/// (<see cref="EffectClusterErrors"/> writes it); a <c>Die</c> its defect.
/// </summary>
internal readonly record struct EffectFailure(EffectFailureKind Kind, Exception? Error, EffectDefect Defect)
{
    /// <summary>The request was interrupted.</summary>
    public static EffectFailure Interrupted { get; } = new(EffectFailureKind.Interrupt, null, default);

    /// <summary>A defect.</summary>
    public static EffectFailure Die(EffectDefect defect) => new(EffectFailureKind.Die, null, defect);

    /// <summary>
    /// What an exception becomes: a cluster routing error (<see cref="EffectClusterErrors.IsRoutingError"/>) is a typed
    /// <c>Fail</c>, a cancellation an <c>Interrupt</c>, anything else a <c>Die</c>.
    /// </summary>
    public static EffectFailure From(Exception exception) => exception switch
    {
        OperationCanceledException => Interrupted,
        _ when EffectClusterErrors.IsRoutingError(exception) => new(EffectFailureKind.Fail, exception, default),
        _ => Die(EffectDefect.From(exception)),
    };
}
