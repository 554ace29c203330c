namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>
/// A persisted stream request handed to a resume-aware binding together with where it resumes; built by
/// <see cref="RpcBinding.ResumeAt"/> and unwrapped by the binding, so the instance passes it on like any request.
/// </summary>
internal sealed record ResumedStreamRequest(object Request, object Resume);
