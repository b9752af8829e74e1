using GreenTrace.Core.Certificates;
using GreenTrace.Core.Devices;

namespace GreenTrace.Core.Ledger;

/// <summary>The rules every node enforces before it applies an entry; each refusal has a stable code in <see cref="LedgerReasons"/>.</summary>
public sealed partial class LedgerState
{
    private const int MaxBeneficiaryLength = 256;

    /// <summary>
    /// Checks an entry's signature(s) against a membership and nothing else. Owner entries need no
    /// state (the kid is the key), so a node may run this for a whole batch in parallel; issuer
    /// entries need the membership's issuer keys, membership changes its node keys and quorum.
    /// </summary>
    public static Rejection? VerifySignature(LedgerEntry entry, TrustedKeys trust)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(trust);
        switch (entry.Authority)
        {
            case EntryAuthority.Owner:
                {
                    // Decoding has checked that the kid is a valid key, so the cache holds it.
                    var key = PublicKeyCache.Get(entry.SignerKey!);
                    return key is not null && entry.VerifySignature(key) ? null
                        : new Rejection(LedgerReasons.EntrySignature, $"entry signature does not verify with the key in its kid ({entry.AuthorId})");
                }
            case EntryAuthority.Issuer:
                if (!trust.TryGetIssuer(entry.AuthorId, out var issuer, out var issuerKey))
                    return new Rejection(LedgerReasons.IssuerUnknown, $"'{entry.AuthorId}' is not an issuer in the membership");
                return entry.VerifySignature(issuerKey) ? null
                    : new Rejection(LedgerReasons.EntrySignature, $"entry signature does not verify with issuer '{issuer.Id}''s key");
            default:
                return VerifyNodeSignatures(entry, trust);
        }
    }

    private static Rejection? VerifyNodeSignatures(LedgerEntry entry, TrustedKeys trust)
    {
        var signers = new HashSet<string>(StringComparer.Ordinal);
        foreach (var signature in entry.NodeSignatures())
        {
            if (!trust.TryGetNodeKey(signature.NodeName, out var key))
                return new Rejection(LedgerReasons.MembershipSigner, $"'{signature.NodeName}' is not a ledger node with a governance key in the current membership");
            if (!signers.Add(signature.NodeName))
                return new Rejection(LedgerReasons.MembershipSignerDuplicate, $"node '{signature.NodeName}' signed the membership change twice");
            if (!LedgerEntry.VerifyNodeSignature(signature, key))
                return new Rejection(LedgerReasons.EntrySignature, $"node '{signature.NodeName}''s signature on the membership change does not verify");
        }
        var quorum = trust.Membership.Quorum;
        return signers.Count >= quorum ? null
            : new Rejection(LedgerReasons.MembershipQuorum, $"a membership change needs {quorum} distinct node signatures, it has {signers.Count}");
    }

    private IssuerMember Issuer(LedgerEntry entry)
    {
        Trust.TryGetIssuer(entry.AuthorId, out var issuer, out _);
        return issuer ?? throw new InvalidOperationException($"issuer '{entry.AuthorId}' vanished between signature check and rules");
    }

    private Rejection? CheckDevice(LedgerEntry entry)
    {
        var device = entry.Device!;
        var issuer = Issuer(entry);
        if (!issuer.Zones.Contains(device.GridZone, StringComparer.Ordinal))
            return new Rejection(LedgerReasons.IssuerZone, $"issuer '{issuer.Id}' may not register meters in zone '{device.GridZone}'");
        if (_devices.ContainsKey(device.MeterId))
            return new Rejection(LedgerReasons.DeviceDuplicate, $"meter '{device.MeterId}' is already registered");
        if (device.CapacityW <= 0 || string.IsNullOrEmpty(device.EnergySource) || string.IsNullOrEmpty(device.Technology) || string.IsNullOrEmpty(device.Country))
            return new Rejection(LedgerReasons.DeviceInvalid, $"meter '{device.MeterId}' needs a positive capacity, a source, a technology and a country");
        if (device.LatitudeMicrodegrees is < -90_000_000 or > 90_000_000 || device.LongitudeMicrodegrees is < -180_000_000 or > 180_000_000)
            return new Rejection(LedgerReasons.DeviceInvalid, $"meter '{device.MeterId}' has a location off the globe");
        if (!IsValidKey(device.PublicKey))
            return new Rejection(LedgerReasons.DeviceKeyInvalid, $"meter '{device.MeterId}' has no valid P-256 public key");
        if (entry.DeviceOwner is { } owner && !IsValidKey(owner))
            return new Rejection(LedgerReasons.OwnerKeyInvalid, $"meter '{device.MeterId}' names an owner without a valid P-256 public key");
        return null;
    }

    /// <summary>Device entries after registration: only an issuer of the meter's zone may write them, and never after revocation.</summary>
    private Rejection? CheckDeviceAuthority(LedgerEntry entry, string meterId, out DeviceRecord device)
    {
        device = _devices.GetValueOrDefault(meterId)!;
        if (device is null)
            return new Rejection(LedgerReasons.DeviceUnknown, $"meter '{meterId}' is not registered");
        var issuer = Issuer(entry);
        if (!issuer.Zones.Contains(device.Device.GridZone, StringComparer.Ordinal))
            return new Rejection(LedgerReasons.IssuerZone, $"issuer '{issuer.Id}' is not an issuer of meter '{meterId}''s zone '{device.Device.GridZone}'");
        if (device.RevokedFrom is { } from)
            return new Rejection(LedgerReasons.DeviceRevoked, $"meter '{meterId}' was revoked from {from}");
        return null;
    }

    private Rejection? CheckRotation(LedgerEntry entry)
    {
        var r = entry.KeyRotation!;
        if (CheckDeviceAuthority(entry, r.MeterId, out var device) is { } why)
            return why;
        if (!IsValidKey(r.PublicKey))
            return new Rejection(LedgerReasons.DeviceKeyInvalid, $"the new key of meter '{r.MeterId}' is no valid P-256 public key");
        var previous = device.Keys[^1].From;
        if (r.From <= previous || r.From < 0)
            return new Rejection(LedgerReasons.DeviceRotationOrder, $"a new key of meter '{r.MeterId}' must start after {Math.Max(previous, -1)}, not at {r.From}");
        return null;
    }

    private Rejection? CheckRevocation(LedgerEntry entry)
    {
        var r = entry.Revocation!;
        if (CheckDeviceAuthority(entry, r.MeterId, out _) is { } why)
            return why;
        if (string.IsNullOrWhiteSpace(r.Reason) || r.Reason.Length > 1024)
            return new Rejection(LedgerReasons.DeviceInvalid, "a revocation needs a reason of at most 1024 characters");
        return null;
    }

    private Rejection? CheckCertificate(LedgerEntry entry)
    {
        var c = entry.Certificate!;
        var issuer = Issuer(entry);
        if (!issuer.Zones.Contains(c.GridZone, StringComparer.Ordinal))
            return new Rejection(LedgerReasons.IssuerZone, $"issuer '{issuer.Id}' may not issue in zone '{c.GridZone}'");
        if (c.IssuingBody != issuer.Id)
            return new Rejection(LedgerReasons.CertificateAttributes, $"issuing body '{c.IssuingBody}' is not the signer '{issuer.Id}'");
        if (_devices.GetValueOrDefault(c.MeterId) is not { } record)
            return new Rejection(LedgerReasons.DeviceUnknown, $"meter '{c.MeterId}' is not registered");
        var device = record.Device;
        if (!GreenTrace.Core.Certificates.CertificateId.Compute(c.MeterId, c.PeriodStart, c.PeriodEnd, c.Part).AsSpan().SequenceEqual(c.Id))
            return new Rejection(LedgerReasons.CertificateId, "certificate id does not derive from (meter, period, part)");
        if (c.Part < 0 || c.PeriodEnd <= c.PeriodStart || c.PeriodEnd - c.PeriodStart > HourlyAggregation.Hour || c.PeriodStart % HourlyAggregation.Hour != 0)
            return new Rejection(LedgerReasons.CertificatePeriod, "period must be one aligned UTC hour at most");
        if (c.ExpiresAt <= c.PeriodEnd)
            return new Rejection(LedgerReasons.CertificatePeriod, "certificate expires before its period ends");
        if (c.IssuedAt < c.PeriodEnd)
            return new Rejection(LedgerReasons.CertificatePeriod, "certificate issued before its period ended");
        if (device.Direction != Readings.EnergyDirection.Generation)
            return new Rejection(LedgerReasons.CertificateAttributes, $"meter '{c.MeterId}' is registered for consumption; only generation is certified");
        if (c.EnergyCarrier != GranularCertificate.Electricity || c.GridZone != device.GridZone || c.Country != device.Country
            || c.EnergySource != device.EnergySource || c.Technology != device.Technology)
            return new Rejection(LedgerReasons.CertificateAttributes, "certificate attributes differ from the registered meter's");
        if (c.ReadingCount <= 0 || c.Quality.MeasuredCount < 0 || c.Quality.EstimatedCount < 0
            || c.Quality.MeasuredCount + c.Quality.EstimatedCount != c.ReadingCount)
            return new Rejection(LedgerReasons.CertificateReadings, "reading count and quality summary disagree");
        var maxWh = (decimal)device.CapacityW * (c.PeriodEnd - c.PeriodStart) / 3600m;
        if (c.FaceValueWh > maxWh || (decimal)c.Quality.MeasuredWh + c.Quality.EstimatedWh != c.FaceValueWh)
            return new Rejection(LedgerReasons.CertificateFaceValue, $"face value {c.FaceValueWh} Wh exceeds capacity or disagrees with its quality summary");
        if (record.RevokedFrom is { } revokedFrom && c.PeriodEnd > revokedFrom)
            return new Rejection(LedgerReasons.DeviceRevoked, $"meter '{c.MeterId}' was revoked from {revokedFrom}; the period ends at {c.PeriodEnd}");
        // Subtraction, not addition: an ExpiresAt near long.MaxValue must not wrap around.
        if (c.ExpiresAt - c.PeriodEnd > Membership.CertificateValiditySeconds)
            return new Rejection(LedgerReasons.CertificateValidity, $"certificate may live at most {Membership.CertificateValiditySeconds} s after its period ends");
        if (_certificates.ContainsKey(c.Id))
            return new Rejection(LedgerReasons.CertificateDuplicate, $"certificate {c.IdHex} is already issued");
        var hour = _hours.GetValueOrDefault((c.MeterId, c.PeriodStart));
        if (c.Part != hour.NextPart)
            return new Rejection(LedgerReasons.CertificatePart, $"the next certificate of meter '{c.MeterId}' for hour {c.PeriodStart} is part {hour.NextPart}, not {c.Part}");
        if ((decimal)hour.Wh + c.FaceValueWh > device.CapacityW)
            return new Rejection(LedgerReasons.CertificateCapacity, $"all parts of meter '{c.MeterId}''s hour {c.PeriodStart} together would exceed {device.CapacityW} Wh");
        return null;
    }

    private Rejection? CheckWithdrawal(LedgerEntry entry)
    {
        var w = entry.Withdrawal!;
        if (_certificates.GetValueOrDefault(w.CertificateId) is not { } record)
            return new Rejection(LedgerReasons.CertificateUnknown, $"certificate {Hex.Encode(w.CertificateId)} is not on the ledger");
        if (record.Certificate.IssuingBody != entry.AuthorId)
            return new Rejection(LedgerReasons.NotIssuingBody, $"only '{record.Certificate.IssuingBody}' may withdraw certificate {record.Certificate.IdHex}");
        if (record.Withdrawn)
            return new Rejection(LedgerReasons.CertificateWithdrawn, $"certificate {record.Certificate.IdHex} is already withdrawn");
        if (record.ClaimedWh > 0)
            return new Rejection(LedgerReasons.CertificateClaimed, $"certificate {record.Certificate.IdHex} has claimed Wh; a claim is final");
        return null;
    }

    private Rejection? CheckOwnerEntry(LedgerEntry entry)
    {
        var (certificateId, holdingId) = entry.Kind switch
        {
            EntryKind.Transferred => (entry.Transfer!.CertificateId, entry.Transfer.HoldingId),
            EntryKind.Split => (entry.Split!.CertificateId, entry.Split.HoldingId),
            _ => (entry.Claim!.CertificateId, entry.Claim.HoldingId),
        };
        if (_certificates.GetValueOrDefault(certificateId) is not { } record)
            return new Rejection(LedgerReasons.CertificateUnknown, $"certificate {Hex.Encode(certificateId)} is not on the ledger");
        if (record.Withdrawn)
            return new Rejection(LedgerReasons.CertificateWithdrawn, $"certificate {record.Certificate.IdHex} was withdrawn");
        if (_holdings.GetValueOrDefault(holdingId) is not { } holding)
            return new Rejection(LedgerReasons.HoldingUnknown, $"holding {Hex.Encode(holdingId)} does not exist");
        if (!holding.CertificateId.AsSpan().SequenceEqual(certificateId))
            return new Rejection(LedgerReasons.HoldingCertificate, $"holding {holding.IdHex} is not of certificate {record.Certificate.IdHex}");
        if (holding.Status == HoldingStatus.Claimed)
            return new Rejection(LedgerReasons.HoldingClaimed, $"holding {holding.IdHex} was claimed at entry {holding.ConsumedBy}; a claim is final");
        if (!holding.IsLive)
            return new Rejection(LedgerReasons.HoldingSpent, $"holding {holding.IdHex} was already spent at entry {holding.ConsumedBy}");
        if (!holding.Owner.AsSpan().SequenceEqual(entry.SignerKey))
            return new Rejection(LedgerReasons.NotOwner, $"{entry.AuthorId} does not own holding {holding.IdHex}");
        if (entry.AuthoredAt < LedgerTime - Membership.MaxClockSkewSeconds)
            return new Rejection(LedgerReasons.EntryStale, $"entry time {entry.AuthoredAt} is more than {Membership.MaxClockSkewSeconds} s before ledger time {LedgerTime}");
        if (Math.Max(LedgerTime, entry.AuthoredAt) >= record.Certificate.ExpiresAt)
            return new Rejection(LedgerReasons.CertificateExpired, $"certificate {record.Certificate.IdHex} expired at {record.Certificate.ExpiresAt}");

        switch (entry.Kind)
        {
            case EntryKind.Transferred:
                if (!IsValidKey(entry.Transfer!.To))
                    return new Rejection(LedgerReasons.OwnerKeyInvalid, "a transfer's recipient must be a P-256 SubjectPublicKeyInfo");
                return null;
            case EntryKind.Split:
                return CheckSplit(entry.Split!, holding);
            default:
                return CheckClaim(entry.Claim!, record.Certificate);
        }
    }

    private static Rejection? CheckSplit(Split split, Holding holding)
    {
        if (split.Parts.Count < 2)
            return new Rejection(LedgerReasons.SplitParts, $"a split makes at least two parts, not {split.Parts.Count}");
        ulong sum = 0;
        foreach (var part in split.Parts)
        {
            if (part.Wh == 0)
                return new Rejection(LedgerReasons.SplitParts, "every part of a split holds at least 1 Wh");
            if (!IsValidKey(part.Owner))
                return new Rejection(LedgerReasons.OwnerKeyInvalid, "every part's owner must be a P-256 SubjectPublicKeyInfo");
            // Parts that wrap around 2^64 to the holding's Wh would mint energy; overflow is a refusal, not a sum.
            if (ulong.MaxValue - sum < part.Wh)
                return new Rejection(LedgerReasons.SplitSum, "the parts' Wh overflow 64 bits");
            sum += part.Wh;
        }
        return sum == holding.Wh ? null
            : new Rejection(LedgerReasons.SplitSum, $"the parts sum to {sum} Wh, the holding has {holding.Wh} Wh");
    }

    private static Rejection? CheckClaim(Claim claim, GranularCertificate certificate)
    {
        if (string.IsNullOrWhiteSpace(claim.Beneficiary) || claim.Beneficiary.Length > MaxBeneficiaryLength || claim.Beneficiary.Any(char.IsControl))
            return new Rejection(LedgerReasons.ClaimInvalid, $"a claim names a beneficiary of 1 to {MaxBeneficiaryLength} printable characters");
        // Granular matching: the consumption claimed for must include the hour the energy was made in.
        if (claim.PeriodStart >= claim.PeriodEnd || claim.PeriodStart > certificate.PeriodStart || claim.PeriodEnd < certificate.PeriodEnd)
            return new Rejection(LedgerReasons.ClaimInvalid, $"the consumption period [{claim.PeriodStart}, {claim.PeriodEnd}) must be non-empty and include the certificate's [{certificate.PeriodStart}, {certificate.PeriodEnd})");
        return null;
    }

    private Rejection? CheckMembershipChange(LedgerEntry entry)
    {
        var change = entry.MembershipChange!;
        if (!change.Previous.AsSpan().SequenceEqual(Membership.Digest()))
            return new Rejection(LedgerReasons.MembershipPrevious, "the change does not name the current membership as its previous one");
        var next = change.Membership;
        if (next.Origin != Membership.Origin)
            return new Rejection(LedgerReasons.MembershipInvalid, "a membership change may not change the log's origin");
        // A membership too few of whose nodes can sign could never be changed again.
        if (next.Nodes.Count(n => n.PublicKey is not null) < next.Quorum)
            return new Rejection(LedgerReasons.MembershipInvalid, $"the new membership needs at least {next.Quorum} nodes with governance keys");
        return null;
    }
}
