using System.ComponentModel.DataAnnotations;

namespace SocketRunnerAspire.GarnetHost;

/// <summary>Where and how the hosted Garnet server listens (configuration section <c>Garnet</c>).</summary>
public sealed class GarnetHostOptions
{
    public const string SectionName = "Garnet";

    /// <summary>Address to bind; loopback by default so the store is never exposed by accident.</summary>
    [Required]
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>TCP port (the AppHost injects the one it allocated).</summary>
    [Range(1, 65535)]
    public int Port { get; set; } = 6379;

    /// <summary>Main log memory, Garnet syntax (e.g. <c>256m</c>).</summary>
    [Required]
    public string Memory { get; set; } = "256m";

    /// <summary>Hash index size, Garnet syntax (e.g. <c>16m</c>).</summary>
    [Required]
    public string Index { get; set; } = "16m";

    /// <summary>Optional password (Redis AUTH).</summary>
    public string? Password { get; set; }
}
