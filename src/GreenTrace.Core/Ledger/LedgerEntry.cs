using System.Security.Cryptography;
using System.Security.Cryptography.Cose;
using GreenTrace.Core.Certificates;
using GreenTrace.Core.Devices;

namespace GreenTrace.Core.Ledger;

public enum EntryKind
{
    DeviceRegistered,
    CertificateIssued,
}

/// <summary>
/// One decoded ledger entry. The log's leaf is <see cref="Encoded"/>, the exact signed bytes,
/// and the entry id is their SHA-256, so an entry cannot be altered without changing both.
/// </summary>
public sealed class LedgerEntry
{
    internal LedgerEntry(EntryKind kind, string authorId, long authoredAt, ReadOnlyMemory<byte> encoded, CoseSign1Message message, DeviceInfo? device, GranularCertificate? certificate)
    {
        Kind = kind;
        AuthorId = authorId;
        AuthoredAt = authoredAt;
        Encoded = encoded;
        Message = message;
        Device = device;
        Certificate = certificate;
        Id = SHA256.HashData(encoded.Span);
    }

    public EntryKind Kind { get; }

    /// <summary>Who signed it: an issuer id for registrations and issuance.</summary>
    public string AuthorId { get; }

    public long AuthoredAt { get; }

    public ReadOnlyMemory<byte> Encoded { get; }

    public byte[] Id { get; }

    public string IdHex => Hex.Encode(Id);

    public DeviceInfo? Device { get; }

    public GranularCertificate? Certificate { get; }

    internal CoseSign1Message Message { get; }

    public bool VerifySignature(ECDsa authorKey)
    {
        try
        {
            return Message.VerifyEmbedded(authorKey);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}
