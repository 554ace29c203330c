using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SocketRunnerAspire.Cluster.Transport.Sockets;

/// <summary>
/// The TLS settings of one transport, resolved once: the loaded certificate, the server options, and the
/// validation a client applies to the certificate a runner presents.
/// </summary>
internal sealed class RunnerTls
{
    private readonly X509Certificate2? _certificate;
    private readonly HashSet<string> _pinned;
    private SslServerAuthenticationOptions? _server;

    private RunnerTls(X509Certificate2? certificate, IEnumerable<string> allowedThumbprints)
    {
        _certificate = certificate;
        _pinned = new HashSet<string>(allowedThumbprints.Select(Normalize), StringComparer.Ordinal);
        if (certificate is not null)
        {
            _pinned.Add(Thumbprint(certificate));
        }
    }

    /// <summary>The resolved settings, or null when TLS is off. Throws a clear error for a certificate that cannot be loaded.</summary>
    public static RunnerTls? From(RunnerTlsOptions options)
    {
        if (!options.Enabled)
        {
            return null;
        }

        return new RunnerTls(options.Certificate ?? Load(options), options.AllowedThumbprints);
    }

    /// <summary>Options for serving; throws when this node has no certificate to serve with.</summary>
    public SslServerAuthenticationOptions ServerOptions() => _server ??= new()
    {
        ServerCertificate = _certificate
            ?? throw new InvalidOperationException("Cluster:Socket:Tls is enabled but no certificate is configured (Certificate or CertificatePath); a runner needs one to serve TLS."),
        ClientCertificateRequired = false,
    };

    /// <summary>Options for connecting to the runner at <paramref name="host"/>.</summary>
    public SslClientAuthenticationOptions ClientOptions(string host) => new()
    {
        TargetHost = host,
        RemoteCertificateValidationCallback = Validate,
    };

    /// <summary>Upper-case hex SHA-256 of the certificate.</summary>
    public static string Thumbprint(X509Certificate certificate) => Convert.ToHexString(SHA256.HashData(certificate.GetRawCertData()));

    private bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors) =>
        errors == SslPolicyErrors.None || (certificate is not null && _pinned.Contains(Thumbprint(certificate)));

    private static string Normalize(string thumbprint) => thumbprint.Replace(":", string.Empty, StringComparison.Ordinal).Trim().ToUpperInvariant();

    private static X509Certificate2? Load(RunnerTlsOptions options)
    {
        if (string.IsNullOrEmpty(options.CertificatePath))
        {
            return null; // a client-only node may validate by trust store or thumbprints alone
        }

        try
        {
            var path = options.CertificatePath;
            var extension = Path.GetExtension(path);
            if (options.KeyPath is not null || extension.Equals(".pem", StringComparison.OrdinalIgnoreCase) || extension.Equals(".crt", StringComparison.OrdinalIgnoreCase))
            {
                using var pem = options.CertificatePassword is null
                    ? X509Certificate2.CreateFromPemFile(path, options.KeyPath)
                    : X509Certificate2.CreateFromEncryptedPemFile(path, options.CertificatePassword, options.KeyPath);
                // A PEM key is ephemeral; SslStream needs it in a key store on some platforms, so round-trip it through PKCS#12.
                return pem.HasPrivateKey ? X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null) : X509CertificateLoader.LoadCertificate(pem.RawData);
            }

            return X509CertificateLoader.LoadPkcs12FromFile(path, options.CertificatePassword);
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"Cluster:Socket:Tls: cannot load the certificate '{options.CertificatePath}': {ex.Message}", ex);
        }
    }
}
