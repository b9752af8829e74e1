using GreenTrace.Core.Certificates;
using GreenTrace.Core.Devices;

namespace GreenTrace.Core.Ledger;

/// <summary>
/// What every node derives from the log: meters, certificates, live holdings, the membership in
/// force. Pure and deterministic (no clock, no I/O): the same entries in the same order give the same
/// state and the same verdicts on every node, which is what lets nodes agree byte for byte.
/// Not thread-safe: one writer applies entries in log order.
/// </summary>
public sealed partial class LedgerState : IDisposable
{
    private readonly Dictionary<string, DeviceRecord> _devices = new(StringComparer.Ordinal);
    private readonly Dictionary<byte[], CertificateRecord> _certificates = new(ByteArrayComparer.Instance);
    private readonly Dictionary<byte[], Holding> _holdings = new(ByteArrayComparer.Instance);
    private readonly Dictionary<byte[], HashSet<byte[]>> _liveByOwner = new(ByteArrayComparer.Instance);
    private readonly Dictionary<(string Meter, long HourStart), (int NextPart, ulong Wh)> _hours = [];
    private readonly HashSet<byte[]> _seen = new(ByteArrayComparer.Instance);
    private readonly List<(long FromSize, TrustedKeys Trust)> _memberships = [];

    public LedgerState(Membership genesis)
    {
        ArgumentNullException.ThrowIfNull(genesis);
        _memberships.Add((0, new TrustedKeys(genesis)));
    }

    /// <summary>How many entries have been applied: the index the next one gets.</summary>
    public long Size { get; private set; }

    /// <summary>The greatest <c>at</c> of the issuer- and node-authored entries so far: the ledger's only clock.</summary>
    public long LedgerTime { get; private set; }

    /// <summary>The keys of the membership in force now. A change makes a new instance; old ones stay valid until disposal of the state.</summary>
    public TrustedKeys Trust => _memberships[^1].Trust;

    public Membership Membership => Trust.Membership;

    /// <summary>Every membership with the log size from which it is in force (genesis from 0).</summary>
    public IReadOnlyList<(long FromSize, Membership Membership)> MembershipHistory => _memberships.Select(m => (m.FromSize, m.Trust.Membership)).ToList();

    public int DeviceCount => _devices.Count;

    public int CertificateCount => _certificates.Count;

    /// <summary>The membership in force when the log had <paramref name="size"/> entries (what must sign a checkpoint of that size).</summary>
    public TrustedKeys TrustAt(long size)
    {
        for (var i = _memberships.Count - 1; i > 0; i--)
        {
            if (_memberships[i].FromSize <= size)
                return _memberships[i].Trust;
        }
        return _memberships[0].Trust;
    }

    public DeviceRecord? FindDevice(string meterId) => _devices.GetValueOrDefault(meterId);

    public CertificateRecord? FindCertificate(ReadOnlySpan<byte> certificateId) => _certificates.GetValueOrDefault(certificateId.ToArray());

    public bool HasCertificate(ReadOnlySpan<byte> certificateId) => _certificates.ContainsKey(certificateId.ToArray());

    public Holding? FindHolding(ReadOnlySpan<byte> holdingId) => _holdings.GetValueOrDefault(holdingId.ToArray());

    public bool HasSeen(ReadOnlySpan<byte> entryId) => _seen.Contains(entryId.ToArray());

    /// <summary>The live holdings owned by a key (SPKI), in no particular order.</summary>
    public IReadOnlyList<Holding> HoldingsOf(ReadOnlySpan<byte> ownerKey) =>
        _liveByOwner.TryGetValue(ownerKey.ToArray(), out var ids) ? ids.Select(id => _holdings[id]).ToList() : [];

    /// <summary>Every holding a certificate has had, live or consumed, in the order they were made.</summary>
    public IReadOnlyList<Holding> HoldingsOfCertificate(ReadOnlySpan<byte> certificateId)
    {
        var id = certificateId.ToArray();
        return _holdings.Values.Where(h => h.CertificateId.AsSpan().SequenceEqual(id)).OrderBy(h => h.CreatedBy).ThenBy(h => h.IdHex, StringComparer.Ordinal).ToList();
    }

    public IEnumerable<CertificateRecord> Certificates => _certificates.Values;

    /// <summary>
    /// Checks every rule and applies the entry only if all pass. <paramref name="signatureAlreadyVerified"/>
    /// says the caller has already run <see cref="VerifySignature"/> against <see cref="Trust"/> as it is now.
    /// </summary>
    public Rejection? TryApply(LedgerEntry entry, bool signatureAlreadyVerified = false)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (_seen.Contains(entry.Id))
            return new Rejection(LedgerReasons.EntryDuplicate, $"entry {entry.IdHex} is already on the ledger");
        if (!signatureAlreadyVerified && VerifySignature(entry, Trust) is { } badSignature)
            return badSignature;

        var rejection = entry.Kind switch
        {
            EntryKind.DeviceRegistered => CheckDevice(entry),
            EntryKind.DeviceKeyRotated => CheckRotation(entry),
            EntryKind.DeviceRevoked => CheckRevocation(entry),
            EntryKind.CertificateIssued => CheckCertificate(entry),
            EntryKind.Withdrawn => CheckWithdrawal(entry),
            EntryKind.Transferred or EntryKind.Split or EntryKind.Claimed => CheckOwnerEntry(entry),
            EntryKind.MembershipChanged => CheckMembershipChange(entry),
            _ => new Rejection(LedgerReasons.EntryMalformed, $"entry kind {entry.Kind} is not handled"),
        };
        if (rejection is not null)
            return rejection;

        Apply(entry);
        return null;
    }

    public void Dispose()
    {
        foreach (var (_, trust) in _memberships)
            trust.Dispose();
    }

    private void Apply(LedgerEntry entry)
    {
        var index = Size;
        switch (entry.Kind)
        {
            case EntryKind.DeviceRegistered:
                _devices.Add(entry.Device!.MeterId, new DeviceRecord(entry.Device, entry.AuthorId, entry.DeviceOwner, index));
                break;
            case EntryKind.DeviceKeyRotated:
                _devices[entry.KeyRotation!.MeterId].Rotate(entry.KeyRotation.From, entry.KeyRotation.PublicKey);
                break;
            case EntryKind.DeviceRevoked:
                _devices[entry.Revocation!.MeterId].Revoke(entry.Revocation.From, entry.Revocation.Reason);
                break;
            case EntryKind.CertificateIssued:
                ApplyCertificate(entry.Certificate!, index);
                break;
            case EntryKind.Withdrawn:
                ApplyWithdrawal(entry.Withdrawal!, index);
                break;
            case EntryKind.Transferred:
                {
                    var t = entry.Transfer!;
                    var (record, spent) = Consume(t.CertificateId, t.HoldingId, HoldingStatus.Spent, index);
                    Create(record, HoldingIds.Compute(entry.Id, 0), spent.Wh, t.To, index);
                    break;
                }
            case EntryKind.Split:
                {
                    var s = entry.Split!;
                    var (record, _) = Consume(s.CertificateId, s.HoldingId, HoldingStatus.Spent, index);
                    for (var i = 0; i < s.Parts.Count; i++)
                        Create(record, HoldingIds.Compute(entry.Id, (uint)i), s.Parts[i].Wh, s.Parts[i].Owner, index);
                    break;
                }
            case EntryKind.Claimed:
                {
                    var c = entry.Claim!;
                    var (record, claimed) = Consume(c.CertificateId, c.HoldingId, HoldingStatus.Claimed, index);
                    record.ClaimedWh += claimed.Wh;
                    break;
                }
            case EntryKind.MembershipChanged:
                // In force from the next entry on: the change itself was judged by the old membership.
                _memberships.Add((index + 1, new TrustedKeys(entry.MembershipChange!.Membership)));
                break;
        }
        if (entry.CertificateId is { } certificateId && entry.Kind != EntryKind.CertificateIssued)
            _certificates[certificateId].AddEntry(index);
        if (entry.Authority != EntryAuthority.Owner)
            LedgerTime = Math.Max(LedgerTime, entry.AuthoredAt);
        _seen.Add(entry.Id);
        Size++;
    }

    private void ApplyCertificate(GranularCertificate c, long index)
    {
        var record = new CertificateRecord(c, index);
        _certificates.Add(c.Id, record);
        var device = _devices[c.MeterId];
        var owner = device.Owner ?? IssuerKeyOf(c.IssuingBody);
        var hour = (c.MeterId, c.PeriodStart);
        var sofar = _hours.GetValueOrDefault(hour);
        _hours[hour] = (sofar.NextPart + 1, sofar.Wh + c.FaceValueWh);
        // The first holding carries the certificate's own id, so a certificate that never moved is found by either.
        Create(record, c.Id, c.FaceValueWh, owner, index, countLive: false);
    }

    private void ApplyWithdrawal(Withdrawal w, long index)
    {
        var record = _certificates[w.CertificateId];
        foreach (var id in record.LiveHoldings.ToList())
        {
            var h = _holdings[id];
            SetConsumed(h, HoldingStatus.Withdrawn, index);
            record.WithdrawnWh += h.Wh;
        }
        record.LiveHoldings.Clear();
        record.LiveWh = 0;
        record.Withdrawn = true;
    }

    private (CertificateRecord Record, Holding Consumed) Consume(byte[] certificateId, byte[] holdingId, HoldingStatus status, long index)
    {
        var record = _certificates[certificateId];
        var holding = _holdings[holdingId];
        SetConsumed(holding, status, index);
        record.LiveHoldings.Remove(holdingId);
        record.LiveWh -= holding.Wh;
        return (record, holding);
    }

    private void SetConsumed(Holding holding, HoldingStatus status, long index)
    {
        _holdings[holding.Id] = holding with { Status = status, ConsumedBy = index };
        if (_liveByOwner.TryGetValue(holding.Owner, out var ids))
        {
            ids.Remove(holding.Id);
            if (ids.Count == 0)
                _liveByOwner.Remove(holding.Owner);
        }
    }

    private void Create(CertificateRecord record, byte[] id, ulong wh, byte[] owner, long index, bool countLive = true)
    {
        _holdings.Add(id, new Holding(id, record.Certificate.Id, wh, owner, index));
        record.LiveHoldings.Add(id);
        if (countLive)
            record.LiveWh += wh;
        if (!_liveByOwner.TryGetValue(owner, out var ids))
            _liveByOwner[owner] = ids = new HashSet<byte[]>(ByteArrayComparer.Instance);
        ids.Add(id);
    }

    private byte[] IssuerKeyOf(string issuerId) =>
        Trust.Membership.Issuers.First(i => i.Id == issuerId).PublicKey;

    private static bool IsValidKey(byte[] subjectPublicKeyInfo) => PublicKeyCache.IsValid(subjectPublicKeyInfo);
}
