using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;

namespace GreenTrace.Gateway;

/// <summary>TLS to a broker whose certificate a private CA issued: the chain is built against that CA alone.</summary>
public static class MqttTls
{
    /// <summary>Adds TLS to <paramref name="builder"/>; with a CA file, only certificates that CA issued for <paramref name="serverName"/> are accepted.</summary>
    public static MqttClientOptionsBuilder WithBrokerTls(this MqttClientOptionsBuilder builder, string serverName, string? caFile)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(serverName);
        if (caFile is null)
            return builder.WithTlsOptions(tls => tls.UseTls().WithTargetHost(serverName));
        var anchors = new X509Certificate2Collection();
        anchors.ImportFromPemFile(caFile);
        if (anchors.Count == 0)
            throw new ArgumentException($"'{caFile}' holds no PEM certificate");
        return builder.WithTlsOptions(tls => tls
            .UseTls()
            .WithTargetHost(serverName)
            .WithCertificateValidationHandler(context => Validate(context.Certificate, context.SslPolicyErrors, anchors)));
    }

    /// <summary>Name and chain both checked; the chain must end in one of <paramref name="anchors"/>.</summary>
    public static bool Validate(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2Collection anchors)
    {
        ArgumentNullException.ThrowIfNull(anchors);
        // A name mismatch or a missing certificate is never forgiven; chain errors are, because the chain
        // is rebuilt below against the private CA instead of the system's roots.
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
            return false;
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(anchors);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(leaf);
    }
}
