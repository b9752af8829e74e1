using System.Buffers.Binary;
using System.Security.Cryptography;
using GreenTrace.Core.Certificates;
using GreenTrace.Core.Devices;

namespace GreenTrace.Core.Ledger;

public enum HoldingStatus
{
    Live,

    /// <summary>Consumed by a transfer or a split: its Wh live on in the holdings that entry made.</summary>
    Spent,

    /// <summary>Consumed by a claim: final, its Wh are used for good.</summary>
    Claimed,

    /// <summary>Consumed when the issuer withdrew the certificate.</summary>
    Withdrawn,
}

/// <summary>
/// A piece of a certificate: so many Wh owned by one P-256 key. A certificate starts as one holding
/// (id = certificate id); transfers and splits consume holdings and make new ones, a claim consumes one for good.
/// </summary>
/// <param name="Owner">SubjectPublicKeyInfo of the owner's key.</param>
/// <param name="CreatedBy">Log index of the entry that made it.</param>
/// <param name="ConsumedBy">Log index of the entry that consumed it, if any.</param>
public sealed record Holding(byte[] Id, byte[] CertificateId, ulong Wh, byte[] Owner, long CreatedBy, HoldingStatus Status = HoldingStatus.Live, long? ConsumedBy = null)
{
    public string IdHex => Hex.Encode(Id);

    public bool IsLive => Status == HoldingStatus.Live;
}

/// <summary>Holding ids derive from the entry that made them, so every node computes the same ones.</summary>
public static class HoldingIds
{
    private static readonly byte[] Domain = "greentrace/holding/v1"u8.ToArray();

    /// <summary>SHA-256("greentrace/holding/v1" ‖ entry id ‖ uint32 big-endian part index); a transfer's is part 0.</summary>
    public static byte[] Compute(ReadOnlySpan<byte> entryId, uint part)
    {
        Span<byte> buffer = stackalloc byte[Domain.Length + entryId.Length + 4];
        Domain.CopyTo(buffer);
        entryId.CopyTo(buffer[Domain.Length..]);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[^4..], part);
        return SHA256.HashData(buffer);
    }
}

/// <summary>A registered meter as the log has made it: its keys over time, its owner, its revocation.</summary>
public sealed class DeviceRecord
{
    private readonly List<(long From, byte[] PublicKey)> _keys = [];

    internal DeviceRecord(DeviceInfo device, string registeredBy, byte[]? owner, long entryIndex)
    {
        Device = device;
        RegisteredBy = registeredBy;
        Owner = owner;
        EntryIndex = entryIndex;
        // The registered key has no start: it signs everything until the first rotation.
        _keys.Add((long.MinValue, device.PublicKey));
    }

    public DeviceInfo Device { get; }

    public string RegisteredBy { get; }

    /// <summary>The plant owner's SPKI, or null when certificates start with the issuer.</summary>
    public byte[]? Owner { get; }

    public long EntryIndex { get; }

    /// <summary>Every key with the time it signs from (long.MinValue for the registered key), oldest first.</summary>
    public IReadOnlyList<(long From, byte[] PublicKey)> Keys => _keys;

    public long? RevokedFrom { get; private set; }

    public string? RevocationReason { get; private set; }

    public byte[] CurrentKey => _keys[^1].PublicKey;

    /// <summary>The key that signs readings taken at <paramref name="time"/>.</summary>
    public byte[] KeyAt(long time)
    {
        for (var i = _keys.Count - 1; i > 0; i--)
        {
            if (_keys[i].From <= time)
                return _keys[i].PublicKey;
        }
        return _keys[0].PublicKey;
    }

    internal void Rotate(long from, byte[] key) => _keys.Add((from, key));

    internal void Revoke(long from, string reason)
    {
        RevokedFrom = from;
        RevocationReason = reason;
    }
}

/// <summary>A certificate and what became of its Wh: live in holdings, claimed, or withdrawn.</summary>
public sealed class CertificateRecord
{
    private readonly List<long> _entries = [];

    internal CertificateRecord(GranularCertificate certificate, long entryIndex)
    {
        Certificate = certificate;
        _entries.Add(entryIndex);
        LiveWh = certificate.FaceValueWh;
    }

    public GranularCertificate Certificate { get; }

    public long EntryIndex => _entries[0];

    /// <summary>Log indexes of every entry about this certificate, issuance first.</summary>
    public IReadOnlyList<long> EntryIndexes => _entries;

    public ulong LiveWh { get; internal set; }

    public ulong ClaimedWh { get; internal set; }

    public ulong WithdrawnWh { get; internal set; }

    public bool Withdrawn { get; internal set; }

    internal HashSet<byte[]> LiveHoldings { get; } = new(ByteArrayComparer.Instance);

    internal void AddEntry(long index) => _entries.Add(index);
}

internal sealed class ByteArrayComparer : IEqualityComparer<byte[]>
{
    public static readonly ByteArrayComparer Instance = new();

    public bool Equals(byte[]? x, byte[]? y) => x is null ? y is null : y is not null && x.AsSpan().SequenceEqual(y);

    public int GetHashCode(byte[] obj)
    {
        var h = new HashCode();
        h.AddBytes(obj);
        return h.ToHashCode();
    }
}
