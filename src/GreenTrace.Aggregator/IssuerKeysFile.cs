using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using GreenTrace.Core.Devices;

namespace GreenTrace.Aggregator;

/// <summary>
/// The issuing bodies' private keys, as the standalone aggregator loads them: which issuer signs
/// certificates for which grid zones. A secret (mode 0600 on disk); the public halves go into the
/// ledger's membership.
/// </summary>
public static class IssuerKeysFile
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>One issuer per grid zone of the registry, each with a fresh P-256 key.</summary>
    public static string Create(IEnumerable<DeviceInfo> devices)
    {
        ArgumentNullException.ThrowIfNull(devices);
        var zones = devices.Select(d => d.GridZone).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        var issuers = zones.Select(zone =>
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            return new IssuerEntry($"issuer-{zone.ToLowerInvariant()}", [zone], Convert.ToBase64String(key.ExportPkcs8PrivateKey()), Convert.ToBase64String(key.ExportSubjectPublicKeyInfo()));
        }).ToList();
        return JsonSerializer.Serialize(new FileShape(issuers), Json);
    }

    /// <summary>Reads the file into signers by zone; a zone claimed by two issuers or a key that is not P-256 is refused.</summary>
    public static IReadOnlyDictionary<string, IssuerSigner> Load(string json)
    {
        FileShape file;
        try
        {
            file = JsonSerializer.Deserialize<FileShape>(json, Json) ?? throw new FormatException("issuer keys file is empty");
        }
        catch (JsonException e)
        {
            throw new FormatException($"issuer keys file is not valid JSON: {e.Message}", e);
        }
        var byZone = new Dictionary<string, IssuerSigner>(StringComparer.Ordinal);
        foreach (var issuer in file.Issuers ?? throw new FormatException("issuer keys file has no 'issuers'"))
        {
            if (string.IsNullOrWhiteSpace(issuer.Id) || issuer.Zones is not { Count: > 0 } || string.IsNullOrEmpty(issuer.PrivateKeyPkcs8))
                throw new FormatException("every issuer needs an id, at least one zone and privateKeyPkcs8");
            var key = ECDsa.Create();
            try
            {
                key.ImportPkcs8PrivateKey(Convert.FromBase64String(issuer.PrivateKeyPkcs8), out _);
            }
            catch (Exception e) when (e is CryptographicException or FormatException)
            {
                key.Dispose();
                throw new FormatException($"issuer '{issuer.Id}': privateKeyPkcs8 is not a PKCS#8 EC key", e);
            }
            if (key.KeySize != 256)
            {
                key.Dispose();
                throw new FormatException($"issuer '{issuer.Id}': ES256 needs a P-256 key");
            }
            var signer = new IssuerSigner(issuer.Id, key);
            foreach (var zone in issuer.Zones)
            {
                if (!byZone.TryAdd(zone, signer))
                    throw new FormatException($"zone '{zone}' has two issuers ('{byZone[zone].IssuerId}' and '{issuer.Id}')");
            }
        }
        return byZone;
    }

    private sealed record FileShape([property: JsonPropertyName("issuers")] List<IssuerEntry>? Issuers);

    private sealed record IssuerEntry(string Id, List<string> Zones, string PrivateKeyPkcs8, string? PublicKeySpki = null);
}
