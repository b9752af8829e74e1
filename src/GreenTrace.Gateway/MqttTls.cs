using System.Security.Cryptography.X509Certificates;
using MQTTnet;

namespace GreenTrace.Gateway;

/// <summary>TLS to a broker whose certificate a private CA issued: the chain is built against that CA alone.</summary>
public static class MqttTls
{
    /// <summary>
    /// Adds TLS to <paramref name="builder"/>. With a CA file only certificates that CA issued for
    /// <paramref name="serverName"/> are accepted (revocation is not checked: a private CA publishes no CRL);
    /// without one the system's roots decide.
    /// </summary>
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
            .WithTrustChain(anchors)
            .WithRevocationMode(X509RevocationMode.NoCheck));
    }
}
