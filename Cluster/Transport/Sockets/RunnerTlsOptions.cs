using System.Security.Cryptography.X509Certificates;

namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>
/// TLS on the runner protocol (configuration section <c>Cluster:Socket:Tls</c>). Every runner serves with
/// <see cref="Certificate"/> (or the file at <see cref="CertificatePath"/>); a connecting node accepts a
/// runner's certificate when the machine trusts it for the runner's host name, when it is the node's own
/// configured certificate (one certificate for the whole cluster, self-signed is fine), or when its SHA-256
/// thumbprint is in <see cref="AllowedThumbprints"/>.
/// </summary>
public sealed class RunnerTlsOptions
{
    /// <summary>Turns TLS on for both serving and connecting. Every node of a cluster must agree. Default false.</summary>
    public bool Enabled { get; set; }

    /// <summary>The certificate with private key a runner serves with; takes precedence over <see cref="CertificatePath"/>.</summary>
    public X509Certificate2? Certificate { get; set; }

    /// <summary>A PKCS#12 file (<c>.pfx</c>/<c>.p12</c>), or a PEM certificate (with its key in the same file or in <see cref="KeyPath"/>).</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The PEM private key of <see cref="CertificatePath"/>, when it is a separate file.</summary>
    public string? KeyPath { get; set; }

    /// <summary>Password of the PKCS#12 file or of an encrypted PEM key.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>SHA-256 thumbprints (hex) of further runner certificates to accept, e.g. during a certificate rollover.</summary>
    public List<string> AllowedThumbprints { get; set; } = [];
}
