using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Devices;

namespace GreenTrace.Core.Ledger;

/// <summary>
/// A ledger node: its checkpoint-signing key as a C2SP note verifier key (name+keyid+base64) and
/// its governance key (ES256 SubjectPublicKeyInfo) with which it signs membership changes. The
/// two are separate so checkpoints stay verifiable by any C2SP witness (Ed25519 only) while every
/// ledger entry is ES256. A node without a governance key cosigns checkpoints but cannot vote.
/// </summary>
public sealed record NodeMember(string Name, string VerifierKey, byte[]? PublicKey = null)
{
    public bool Equals(NodeMember? other) =>
        other is not null && Name == other.Name && VerifierKey == other.VerifierKey
        && (PublicKey is null ? other.PublicKey is null : other.PublicKey is not null && PublicKey.AsSpan().SequenceEqual(other.PublicKey));

    public override int GetHashCode() => HashCode.Combine(Name, VerifierKey);
}

/// <summary>An issuing body: its ES256 key (SubjectPublicKeyInfo) and the grid zones it may issue for.</summary>
public sealed record IssuerMember(string Id, byte[] PublicKey, IReadOnlyList<string> Zones);

/// <summary>
/// Who is trusted for what: the ledger nodes and the quorum of them that must cosign a
/// checkpoint, and the issuers with their zones. It is all a verifier needs (trust.json).
/// </summary>
public sealed record Membership(string Origin, int Quorum, IReadOnlyList<NodeMember> Nodes, IReadOnlyList<IssuerMember> Issuers)
{
    public const long DefaultCertificateValiditySeconds = 365L * 24 * 3600;
    public const long DefaultMaxClockSkewSeconds = 3600;

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    // Compact, declaration-ordered, base64 keys: the one byte form a membership change signs and hashes.
    private static readonly JsonSerializerOptions CanonicalOptions = new(JsonOptions) { WriteIndented = false };

    /// <summary>The longest a certificate may live after its period ends (ExpiresAt - PeriodEnd).</summary>
    public long CertificateValiditySeconds { get; init; } = DefaultCertificateValiditySeconds;

    /// <summary>How far before ledger time an owner entry's own time may lie before it is refused as stale.</summary>
    public long MaxClockSkewSeconds { get; init; } = DefaultMaxClockSkewSeconds;

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>The canonical UTF-8 JSON a membership change carries and <see cref="Digest"/> hashes.</summary>
    public byte[] ToCanonicalJson() => JsonSerializer.SerializeToUtf8Bytes(this, CanonicalOptions);

    /// <summary>SHA-256 of <see cref="ToCanonicalJson"/>: what a membership change names as its predecessor.</summary>
    public byte[] Digest() => SHA256.HashData(ToCanonicalJson());

    /// <summary>Parses and validates; throws <see cref="FormatException"/> naming what is wrong.</summary>
    public static Membership FromJson(string json)
    {
        Membership? m;
        try
        {
            m = JsonSerializer.Deserialize<Membership>(json, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new FormatException($"membership is not valid JSON: {e.Message}", e);
        }
        if (m is null)
            throw new FormatException("membership is empty");
        m.Validate();
        return m;
    }

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Origin) || Origin.Contains('\n'))
            throw new FormatException("membership origin must be a non-empty single line");
        if (Nodes is null || Nodes.Count == 0)
            throw new FormatException("membership names no ledger node");
        if (Quorum < 1 || Quorum > Nodes.Count)
            throw new FormatException($"quorum {Quorum} must be between 1 and the {Nodes.Count} nodes");
        foreach (var node in Nodes)
        {
            if (node is null)
                throw new FormatException("membership lists a null node");
            if (!NoteVerifier.TryParse(node.VerifierKey, out var v) || v!.Name != node.Name)
                throw new FormatException($"node '{node.Name}' has an invalid verifier key");
        }
        if (Nodes.Select(n => n.Name).Distinct(StringComparer.Ordinal).Count() != Nodes.Count)
            throw new FormatException("node names must be distinct");
        foreach (var node in Nodes.Where(n => n.PublicKey is not null))
        {
            if (!DeviceKeys.TryImportPublicKey(node.PublicKey, out var key))
                throw new FormatException($"node '{node.Name}' has no valid P-256 governance key");
            key!.Dispose();
        }
        var governanceKeys = Nodes.Where(n => n.PublicKey is not null).Select(n => Convert.ToBase64String(n.PublicKey!)).ToList();
        if (governanceKeys.Distinct(StringComparer.Ordinal).Count() != governanceKeys.Count)
            throw new FormatException("node governance keys must be distinct");
        if (CertificateValiditySeconds <= 0)
            throw new FormatException("certificateValiditySeconds must be positive");
        if (MaxClockSkewSeconds < 0)
            throw new FormatException("maxClockSkewSeconds must not be negative");
        foreach (var issuer in Issuers ?? [])
        {
            if (issuer is null)
                throw new FormatException("membership lists a null issuer");
            if (string.IsNullOrEmpty(issuer.Id) || issuer.Zones is null || issuer.Zones.Count == 0)
                throw new FormatException($"issuer '{issuer.Id}' needs an id and at least one zone");
            if (!DeviceKeys.TryImportPublicKey(issuer.PublicKey, out var key))
                throw new FormatException($"issuer '{issuer.Id}' has no valid P-256 public key");
            key!.Dispose();
        }
        if ((Issuers ?? []).Select(i => i.Id).Distinct(StringComparer.Ordinal).Count() != (Issuers ?? []).Count)
            throw new FormatException("issuer ids must be distinct");
    }
}

/// <summary>
/// A membership with its keys imported once: importing a key costs more than verifying with it,
/// and every entry and checkpoint is checked against these.
/// </summary>
public sealed class TrustedKeys : IDisposable
{
    private readonly Dictionary<string, (IssuerMember Member, ECDsa Key)> _issuers;
    private readonly Dictionary<string, ECDsa> _nodeKeys;

    public TrustedKeys(Membership membership)
    {
        ArgumentNullException.ThrowIfNull(membership);
        membership.Validate();
        Membership = membership;
        Nodes = membership.Nodes.Select(n => NoteVerifier.Parse(n.VerifierKey)).ToArray();
        _issuers = (membership.Issuers ?? []).ToDictionary(i => i.Id, i => (i, DeviceKeys.ImportPublicKey(i.PublicKey)), StringComparer.Ordinal);
        _nodeKeys = membership.Nodes.Where(n => n.PublicKey is not null).ToDictionary(n => n.Name, n => DeviceKeys.ImportPublicKey(n.PublicKey), StringComparer.Ordinal);
    }

    public Membership Membership { get; }

    public IReadOnlyCollection<NoteVerifier> Nodes { get; }

    public bool TryGetIssuer(string id, out IssuerMember member, out ECDsa key)
    {
        if (_issuers.TryGetValue(id, out var found))
        {
            (member, key) = found;
            return true;
        }
        (member, key) = (null!, null!);
        return false;
    }

    /// <summary>A node's governance key (ES256), for membership changes; false for non-members and nodes without one.</summary>
    public bool TryGetNodeKey(string name, out ECDsa key)
    {
        if (_nodeKeys.TryGetValue(name, out var found))
        {
            key = found;
            return true;
        }
        key = null!;
        return false;
    }

    public void Dispose()
    {
        foreach (var (_, key) in _issuers.Values)
            key.Dispose();
        foreach (var key in _nodeKeys.Values)
            key.Dispose();
    }
}
