using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SocketRunnerAspire.Cluster.Tests.Support;

/// <summary>Self-signed certificates for TLS tests, written as PKCS#12 or PEM files the way an operator would configure them.</summary>
public static class TestCertificates
{
    public static X509Certificate2 Create(string subject = "CN=cluster.test")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>Writes <paramref name="certificate"/> with its key as a password-protected .pfx file.</summary>
    public static string WritePfx(X509Certificate2 certificate, string password)
    {
        var path = Path.Combine(Path.GetTempPath(), $"runner-{Guid.NewGuid():N}.pfx");
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12, password));
        return path;
    }

    /// <summary>Writes the certificate and its key as two PEM files.</summary>
    public static (string CertificatePath, string KeyPath) WritePem(X509Certificate2 certificate)
    {
        var stem = Path.Combine(Path.GetTempPath(), $"runner-{Guid.NewGuid():N}");
        File.WriteAllText(stem + ".crt", certificate.ExportCertificatePem());
        File.WriteAllText(stem + ".key", certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        return (stem + ".crt", stem + ".key");
    }
}
