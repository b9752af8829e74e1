using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace GreenTrace.Broker.Mosquitto;

/// <summary>
/// A throwaway certificate authority for a broker on one machine: a self-signed ECDSA P-256 CA and
/// server certificates it signs. Clients trust the CA certificate alone (never "accept any
/// certificate"), so the TLS they test is the TLS they would run against a real CA.
/// </summary>
public sealed class TestCertificateAuthority : IDisposable
{
    /// <summary>Certificates start this far in the past so a client whose clock runs behind still accepts them.</summary>
    private static readonly TimeSpan ClockSlack = TimeSpan.FromHours(1);

    private readonly ECDsa _key;

    private TestCertificateAuthority(X509Certificate2 certificate, ECDsa key)
    {
        Certificate = certificate;
        _key = key;
    }

    /// <summary>The CA certificate (public part only): the trust anchor clients are given.</summary>
    public X509Certificate2 Certificate { get; }

    public static TestCertificateAuthority Create(string commonName = "GreenTrace test CA", TimeSpan? validity = null, TimeProvider? time = null)
    {
        var now = (time ?? TimeProvider.System).GetUtcNow();
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        try
        {
            var request = new CertificateRequest(CommonName(commonName), key, HashAlgorithmName.SHA256);
            // Path length 0: this CA signs servers only, never another CA.
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            using var withKey = request.CreateSelfSigned(now - ClockSlack, now + (validity ?? TimeSpan.FromDays(3650)));
            var certificate = X509CertificateLoader.LoadCertificate(withKey.RawData);
            return new TestCertificateAuthority(certificate, key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A TLS server certificate with a fresh P-256 key, valid for the given names (subject
    /// alternative names: DNS and IP), for server authentication only.
    /// </summary>
    public X509Certificate2 IssueServerCertificate(IReadOnlyCollection<string> dnsNames, IReadOnlyCollection<IPAddress> addresses, TimeSpan? validity = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(dnsNames);
        ArgumentNullException.ThrowIfNull(addresses);
        if (dnsNames.Count + addresses.Count == 0)
            throw new ArgumentException("a server certificate needs at least one name or address");
        var now = (time ?? TimeProvider.System).GetUtcNow();
        var notAfter = now + (validity ?? TimeSpan.FromDays(825));
        if (notAfter > Certificate.NotAfter.ToUniversalTime())
            notAfter = Certificate.NotAfter.ToUniversalTime();

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var names = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames)
            names.AddDnsName(name);
        foreach (var address in addresses)
            names.AddIpAddress(address);
        var subject = dnsNames.FirstOrDefault() ?? addresses.First().ToString();
        var request = new CertificateRequest(CommonName(subject), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        // ECDHE-ECDSA suites sign the handshake with this key; nothing else is needed of it.
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication")], false));
        request.CertificateExtensions.Add(names.Build(critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));

        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // a positive serial, as RFC 5280 requires
        using var issued = request.Create(Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(_key), now - ClockSlack, notAfter, serial);
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>Writes <c>ca.crt</c>, <c>server.crt</c> and <c>server.key</c> (owner-only) for a server on the given names.</summary>
    public static CertificateFiles WriteBrokerCertificates(string directory, IReadOnlyCollection<string> dnsNames, IReadOnlyCollection<IPAddress> addresses)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        var files = new CertificateFiles(Path.Combine(directory, "ca.crt"), Path.Combine(directory, "server.crt"), Path.Combine(directory, "server.key"));
        using var ca = Create();
        using var server = ca.IssueServerCertificate(dnsNames, addresses);
        using var serverKey = server.GetECDsaPrivateKey() ?? throw new CryptographicException("the issued certificate has no private key");
        // The CA key is not written: rotating means generating a new CA, and no key on disk can sign a rogue broker.
        PrivateFile.WriteAllText(files.ServerKey, serverKey.ExportPkcs8PrivateKeyPem() + "\n");
        File.WriteAllText(files.ServerCertificate, server.ExportCertificatePem() + "\n");
        File.WriteAllText(files.CaCertificate, ca.Certificate.ExportCertificatePem() + "\n");
        return files;
    }

    public void Dispose()
    {
        _key.Dispose();
        Certificate.Dispose();
    }

    private static X500DistinguishedName CommonName(string name)
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.AddCommonName(name);
        return builder.Build();
    }
}

/// <summary>The PEM files a TLS listener needs.</summary>
public sealed record CertificateFiles(string CaCertificate, string ServerCertificate, string ServerKey);
