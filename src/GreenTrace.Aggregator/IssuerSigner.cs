using System.Security.Cryptography;

namespace GreenTrace.Aggregator;

/// <summary>An issuing body's identity and ES256 key, with which the aggregator signs certificates.</summary>
public sealed record IssuerSigner(string IssuerId, ECDsa Key);

/// <summary>Issuers are per grid zone (DESIGN.md): the aggregator signs each certificate as its meter's zone's issuer.</summary>
public sealed class IssuerSigners
{
    private readonly Dictionary<string, IssuerSigner> _byZone;

    public IssuerSigners(IReadOnlyDictionary<string, IssuerSigner> byZone)
    {
        ArgumentNullException.ThrowIfNull(byZone);
        _byZone = new Dictionary<string, IssuerSigner>(byZone, StringComparer.Ordinal);
    }

    public IssuerSigner? ForZone(string zone) => _byZone.GetValueOrDefault(zone);
}
