using System.Security.Cryptography;
using System.Text.Json;
using GreenTrace.Aggregator;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Ledger;

namespace GreenTrace.Cli.Demo;

/// <summary>
/// The demo's consortium and market: one issuing body per grid zone of the fleet, one ledger node, a plant
/// owner and a buyer. Keys
/// are made fresh for every run and saved beside the ledger (keys.json) so later tools can use it.
/// </summary>
public sealed class DemoIdentities : IDisposable
{
    private DemoIdentities(Membership membership, IReadOnlyDictionary<string, IssuerSigner> issuersByZone, NoteSigner node, ECDsa nodeGovernanceKey)
    {
        Membership = membership;
        IssuersByZone = issuersByZone;
        Node = node;
        NodeGovernanceKey = nodeGovernanceKey;
    }

    /// <summary>The owner of every generation meter: its certificates start with this key.</summary>
    public ECDsa PlantOwner { get; } = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>The buyer: owns the consumption meters, buys certificates and claims them.</summary>
    public ECDsa Buyer { get; } = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public Membership Membership { get; }

    public IReadOnlyDictionary<string, IssuerSigner> IssuersByZone { get; }

    public NoteSigner Node { get; }

    /// <summary>The node's ES256 key for signing membership changes (its Ed25519 key signs checkpoints).</summary>
    public ECDsa NodeGovernanceKey { get; }

    public static DemoIdentities Create(string origin, IEnumerable<DeviceInfo> devices, string nodeName)
    {
        var zones = devices.Select(d => d.GridZone).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var issuers = zones.ToDictionary(z => z, z => new IssuerSigner($"issuer-{z.ToLowerInvariant()}", ECDsa.Create(ECCurve.NamedCurves.nistP256)), StringComparer.Ordinal);
        var node = NoteSigner.Generate(nodeName);
        var governance = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var membership = new Membership(
            origin,
            Quorum: 1,
            Nodes: [new NodeMember(node.Name, node.Verifier.VerifierKey, governance.ExportSubjectPublicKeyInfo())],
            Issuers: issuers.Select(kv => new IssuerMember(kv.Value.IssuerId, kv.Value.Key.ExportSubjectPublicKeyInfo(), [kv.Key])).ToList());
        membership.Validate();
        return new DemoIdentities(membership, issuers, node, governance);
    }

    /// <summary>The private side, for the operator's eyes only.</summary>
    public string SecretsJson() => JsonSerializer.Serialize(new
    {
        warning = "Demo keys. Private: never use them outside this demo.",
        node = new { name = Node.Name, privateKey = Node.PrivateKeyString, governanceKeyPkcs8 = Convert.ToBase64String(NodeGovernanceKey.ExportPkcs8PrivateKey()) },
        issuers = IssuersByZone.Values.Select(i => new { id = i.IssuerId, privateKeyPkcs8 = Convert.ToBase64String(i.Key.ExportPkcs8PrivateKey()) }),
    }, JsonDefaults.Indented);

    public void Dispose()
    {
        foreach (var issuer in IssuersByZone.Values)
            issuer.Key.Dispose();
        Node.Dispose();
        NodeGovernanceKey.Dispose();
        PlantOwner.Dispose();
        Buyer.Dispose();
    }
}
