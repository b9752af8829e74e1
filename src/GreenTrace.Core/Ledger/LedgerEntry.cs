using System.Security.Cryptography;
using System.Security.Cryptography.Cose;
using GreenTrace.Core.Certificates;
using GreenTrace.Core.Devices;

namespace GreenTrace.Core.Ledger;

// Stored as the member name (text) by every store: never rename a member, only add.
public enum EntryKind
{
    DeviceRegistered,
    CertificateIssued,
    DeviceKeyRotated,
    DeviceRevoked,
    Transferred,
    Split,
    Claimed,
    Withdrawn,
    MembershipChanged,
}

/// <summary>Who may author an entry kind: it decides what the COSE kid means and which key checks the signature.</summary>
public enum EntryAuthority
{
    Issuer,
    Owner,
    Nodes,
}

/// <summary>A new signing key for a meter, valid for readings from <see cref="From"/> (unix seconds) on.</summary>
public sealed record DeviceKeyRotation(string MeterId, byte[] PublicKey, long From);

/// <summary>The end of a meter: no certificate for energy after <see cref="From"/>, and nothing more for it.</summary>
public sealed record DeviceRevocation(string MeterId, long From, string Reason);

/// <param name="To">SubjectPublicKeyInfo of the new owner's P-256 key.</param>
public sealed record Transfer(byte[] CertificateId, byte[] HoldingId, byte[] To);

public sealed record SplitPart(ulong Wh, byte[] Owner);

public sealed record Split(byte[] CertificateId, byte[] HoldingId, IReadOnlyList<SplitPart> Parts);

/// <summary>A final claim: the holding's Wh are used for <see cref="Beneficiary"/>'s consumption in the period.</summary>
public sealed record Claim(byte[] CertificateId, byte[] HoldingId, string Beneficiary, long PeriodStart, long PeriodEnd);

public sealed record Withdrawal(byte[] CertificateId, string Reason);

/// <param name="Document">The canonical UTF-8 JSON of <see cref="Membership"/>, exactly as signed.</param>
/// <param name="Previous">SHA-256 of the canonical JSON of the membership it replaces.</param>
public sealed record MembershipChange(Membership Membership, byte[] Document, byte[] Previous);

/// <summary>One node signature on a membership change, as carried in the COSE_Sign message.</summary>
public sealed record NodeSignature(string NodeName, CoseSignature Signature);

/// <summary>
/// One decoded ledger entry. The log's leaf is <see cref="Encoded"/>, the exact signed bytes,
/// and the entry id is their SHA-256, so an entry cannot be altered without changing both.
/// Exactly one body property is set, the one of its <see cref="Kind"/>.
/// </summary>
public sealed class LedgerEntry
{
    internal LedgerEntry(EntryKind kind, string authorId, long authoredAt, ReadOnlyMemory<byte> encoded, CoseMessage message, object body, byte[]? signerKey = null, DeviceInfo? device = null)
    {
        Kind = kind;
        AuthorId = authorId;
        AuthoredAt = authoredAt;
        Encoded = encoded;
        Message = message;
        Body = body;
        SignerKey = signerKey;
        Device = device ?? body as DeviceInfo;
        Id = SHA256.HashData(encoded.Span);
    }

    public EntryKind Kind { get; }

    public EntryAuthority Authority => AuthorityOf(Kind);

    /// <summary>
    /// Who signed it: an issuer id for issuer entries, "owner:" + hex SHA-256 of the SPKI for owner
    /// entries, <see cref="LedgerEntryCodec.MembershipAuthor"/> for membership changes.
    /// </summary>
    public string AuthorId { get; }

    public long AuthoredAt { get; }

    public ReadOnlyMemory<byte> Encoded { get; }

    public byte[] Id { get; }

    public string IdHex => Hex.Encode(Id);

    /// <summary>For owner entries, the signer's SubjectPublicKeyInfo (the COSE kid).</summary>
    public byte[]? SignerKey { get; }

    public DeviceInfo? Device { get; }

    /// <summary>For a registration, the plant owner's SPKI, if given: the certificates of the meter start with them.</summary>
    public byte[]? DeviceOwner { get; init; }

    public GranularCertificate? Certificate => Body as GranularCertificate;

    public DeviceKeyRotation? KeyRotation => Body as DeviceKeyRotation;

    public DeviceRevocation? Revocation => Body as DeviceRevocation;

    public Transfer? Transfer => Body as Transfer;

    public Split? Split => Body as Split;

    public Claim? Claim => Body as Claim;

    public Withdrawal? Withdrawal => Body as Withdrawal;

    public MembershipChange? MembershipChange => Body as MembershipChange;

    /// <summary>The meter the entry concerns (device entries and certificates), as stores index it.</summary>
    public string? MeterId => Device?.MeterId ?? Certificate?.MeterId ?? KeyRotation?.MeterId ?? Revocation?.MeterId;

    /// <summary>The certificate the entry concerns, as stores index it.</summary>
    public byte[]? CertificateId => Certificate?.Id ?? Transfer?.CertificateId ?? Split?.CertificateId ?? Claim?.CertificateId ?? Withdrawal?.CertificateId;

    internal object Body { get; }

    internal CoseMessage Message { get; }

    public static EntryAuthority AuthorityOf(EntryKind kind) => kind switch
    {
        EntryKind.Transferred or EntryKind.Split or EntryKind.Claimed => EntryAuthority.Owner,
        EntryKind.MembershipChanged => EntryAuthority.Nodes,
        _ => EntryAuthority.Issuer,
    };

    /// <summary>The author id of an owner key: what logs and stores show instead of a whole SPKI.</summary>
    public static string OwnerId(ReadOnlySpan<byte> subjectPublicKeyInfo) => "owner:" + Hex.Encode(SHA256.HashData(subjectPublicKeyInfo));

    /// <summary>Verifies a single-signer entry (issuer or owner) with the given key.</summary>
    public bool VerifySignature(ECDsa authorKey)
    {
        ArgumentNullException.ThrowIfNull(authorKey);
        if (Message is not CoseSign1Message sign1)
            return false;
        try
        {
            return sign1.VerifyEmbedded(authorKey);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>The node signatures of a membership change, in message order (empty for other kinds).</summary>
    public IReadOnlyList<NodeSignature> NodeSignatures()
    {
        if (Message is not CoseMultiSignMessage multi)
            return [];
        var list = new List<NodeSignature>(multi.Signatures.Count);
        foreach (var s in multi.Signatures)
        {
            var name = s.ProtectedHeaders.TryGetValue(CoseHeaderLabel.KeyIdentifier, out var kid)
                ? LedgerEntryCodec.StrictUtf8.GetString(kid.GetValueAsBytes())
                : "";
            list.Add(new NodeSignature(name, s));
        }
        return list;
    }

    /// <summary>Verifies one node signature of a membership change.</summary>
    public static bool VerifyNodeSignature(NodeSignature signature, ECDsa nodeKey)
    {
        ArgumentNullException.ThrowIfNull(signature);
        ArgumentNullException.ThrowIfNull(nodeKey);
        try
        {
            return signature.Signature.VerifyEmbedded(nodeKey);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}
