using GreenTrace.Core.Certificates;
using GreenTrace.Core.Devices;

namespace GreenTrace.Core.Ledger;

/// <summary>What the rules need to know of the ledger so far.</summary>
public interface ILedgerView
{
    DeviceInfo? FindDevice(string meterId);

    bool HasCertificate(ReadOnlySpan<byte> certificateId);
}

/// <summary>
/// The rules every node enforces before it appends an entry. Pure: the same entry against the
/// same ledger gives the same verdict on every node, which is what lets nodes agree byte for byte.
/// </summary>
public static class LedgerRules
{
    public static Rejection? Check(LedgerEntry entry, TrustedKeys trust, ILedgerView ledger)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(trust);
        ArgumentNullException.ThrowIfNull(ledger);

        if (!trust.TryGetIssuer(entry.AuthorId, out var issuer, out var issuerKey))
            return new Rejection(LedgerReasons.IssuerUnknown, $"'{entry.AuthorId}' is not an issuer in the membership");
        if (!entry.VerifySignature(issuerKey))
            return new Rejection(LedgerReasons.EntrySignature, $"entry signature does not verify with issuer '{issuer.Id}''s key");

        return entry.Kind switch
        {
            EntryKind.DeviceRegistered => CheckDevice(entry.Device!, issuer, ledger),
            EntryKind.CertificateIssued => CheckCertificate(entry.Certificate!, issuer, ledger),
            _ => new Rejection(LedgerReasons.EntryMalformed, $"entry kind {entry.Kind} is not handled"),
        };
    }

    private static Rejection? CheckDevice(DeviceInfo device, IssuerMember issuer, ILedgerView ledger)
    {
        if (!issuer.Zones.Contains(device.GridZone, StringComparer.Ordinal))
            return new Rejection(LedgerReasons.IssuerZone, $"issuer '{issuer.Id}' may not register meters in zone '{device.GridZone}'");
        if (ledger.FindDevice(device.MeterId) is not null)
            return new Rejection(LedgerReasons.DeviceDuplicate, $"meter '{device.MeterId}' is already registered");
        if (device.CapacityW <= 0 || string.IsNullOrEmpty(device.EnergySource) || string.IsNullOrEmpty(device.Technology) || string.IsNullOrEmpty(device.Country))
            return new Rejection(LedgerReasons.DeviceInvalid, $"meter '{device.MeterId}' needs a positive capacity, a source, a technology and a country");
        if (device.LatitudeMicrodegrees is < -90_000_000 or > 90_000_000 || device.LongitudeMicrodegrees is < -180_000_000 or > 180_000_000)
            return new Rejection(LedgerReasons.DeviceInvalid, $"meter '{device.MeterId}' has a location off the globe");
        if (!DeviceKeys.TryImportPublicKey(device.PublicKey, out var key))
            return new Rejection(LedgerReasons.DeviceKeyInvalid, $"meter '{device.MeterId}' has no valid P-256 public key");
        key!.Dispose();
        return null;
    }

    private static Rejection? CheckCertificate(GranularCertificate c, IssuerMember issuer, ILedgerView ledger)
    {
        if (!issuer.Zones.Contains(c.GridZone, StringComparer.Ordinal))
            return new Rejection(LedgerReasons.IssuerZone, $"issuer '{issuer.Id}' may not issue in zone '{c.GridZone}'");
        if (c.IssuingBody != issuer.Id)
            return new Rejection(LedgerReasons.CertificateAttributes, $"issuing body '{c.IssuingBody}' is not the signer '{issuer.Id}'");
        if (ledger.FindDevice(c.MeterId) is not { } device)
            return new Rejection(LedgerReasons.DeviceUnknown, $"meter '{c.MeterId}' is not registered");
        if (!CertificateId.Compute(c.MeterId, c.PeriodStart, c.PeriodEnd, c.Part).AsSpan().SequenceEqual(c.Id))
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
        if (ledger.HasCertificate(c.Id))
            return new Rejection(LedgerReasons.CertificateDuplicate, $"certificate {c.IdHex} is already issued");
        return null;
    }
}
