using GreenTrace.Core.Devices;
using GreenTrace.Core.Merkle;
using GreenTrace.Core.Readings;

namespace GreenTrace.Core.Certificates;

/// <summary>A certificate together with the leaves of its reading tree, in tree order.</summary>
public sealed record CertificateWithReadings(GranularCertificate Certificate, IReadOnlyList<DecodedReading> Readings);

/// <summary>What the issuing body adds to every certificate it issues.</summary>
/// <param name="ValiditySeconds">How long after the end of its period a certificate may still be claimed.</param>
public sealed record IssuanceTerms(string IssuingBody, long IssuedAt, long ValiditySeconds)
{
    /// <summary>EU guarantees of origin expire 12 months after production; EnergyTag keeps that default.</summary>
    public const long DefaultValiditySeconds = 365L * 24 * 3600;
}

public static class AggregationReasons
{
    public const string Empty = "aggregation-empty";
    public const string MeterMismatch = "aggregation-meter";
    public const string HourMismatch = "aggregation-hour";
    public const string Direction = "aggregation-direction";
    public const string DuplicateSequence = "aggregation-duplicate-sequence";
    public const string Overlap = "aggregation-overlap";
    public const string Overflow = "aggregation-overflow";
}

/// <summary>
/// The hourly aggregation rule: the readings of one meter and one UTC hour become one
/// certificate whose face value is their sum and whose reading tree has their COSE bytes as
/// leaves in sequence order. Pure: callers supply verified readings and the issuance terms.
/// </summary>
public static class HourlyAggregation
{
    public const long Hour = 3600;

    public static Result<CertificateWithReadings> Issue(DeviceInfo device, IReadOnlyCollection<DecodedReading> readings, int part, IssuanceTerms terms)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(readings);
        ArgumentNullException.ThrowIfNull(terms);
        ArgumentOutOfRangeException.ThrowIfNegative(part);
        if (readings.Count == 0)
            return Result<CertificateWithReadings>.Fail(AggregationReasons.Empty, "a certificate needs at least one reading");

        var ordered = readings.OrderBy(r => r.Reading.Sequence).ToArray();
        var hourStart = ordered[0].Reading.HourStart;
        ulong total = 0, measuredWh = 0, estimatedWh = 0;
        int measured = 0, estimated = 0;
        for (var i = 0; i < ordered.Length; i++)
        {
            var r = ordered[i].Reading;
            if (r.MeterId != device.MeterId)
                return Result<CertificateWithReadings>.Fail(AggregationReasons.MeterMismatch, $"reading of meter '{r.MeterId}' in a certificate for '{device.MeterId}'");
            if (r.HourStart != hourStart || r.End > hourStart + Hour)
                return Result<CertificateWithReadings>.Fail(AggregationReasons.HourMismatch, $"reading {r.Sequence} is outside the hour starting {hourStart}");
            if (r.Direction != EnergyDirection.Generation || device.Direction != EnergyDirection.Generation)
                return Result<CertificateWithReadings>.Fail(AggregationReasons.Direction, "only generation readings of a generation meter are certified");
            if (i > 0 && ordered[i - 1].Reading.Sequence == r.Sequence)
                return Result<CertificateWithReadings>.Fail(AggregationReasons.DuplicateSequence, $"sequence {r.Sequence} appears twice");
            // Later sequence numbers cover later time: the same energy must not be counted under two numbers.
            if (i > 0 && r.Start < ordered[i - 1].Reading.End)
                return Result<CertificateWithReadings>.Fail(AggregationReasons.Overlap, $"reading {r.Sequence} starts before reading {ordered[i - 1].Reading.Sequence} ends");
            try
            {
                total = checked(total + r.EnergyWh);
                if (r.Quality == ReadingQuality.Measured)
                {
                    measured++;
                    measuredWh = checked(measuredWh + r.EnergyWh);
                }
                else
                {
                    estimated++;
                    estimatedWh = checked(estimatedWh + r.EnergyWh);
                }
            }
            catch (OverflowException)
            {
                return Result<CertificateWithReadings>.Fail(AggregationReasons.Overflow, "face value overflows 64 bits");
            }
        }

        var leaves = new byte[ordered.Length][];
        for (var i = 0; i < ordered.Length; i++)
            leaves[i] = ordered[i].Encoded.ToArray();
        var periodEnd = hourStart + Hour;
        var certificate = new GranularCertificate(
            Id: CertificateId.Compute(device.MeterId, hourStart, periodEnd, part),
            MeterId: device.MeterId,
            PeriodStart: hourStart,
            PeriodEnd: periodEnd,
            Part: part,
            FaceValueWh: total,
            EnergyCarrier: GranularCertificate.Electricity,
            EnergySource: device.EnergySource,
            Technology: device.Technology,
            GridZone: device.GridZone,
            Country: device.Country,
            IssuingBody: terms.IssuingBody,
            IssuedAt: terms.IssuedAt,
            ExpiresAt: periodEnd + terms.ValiditySeconds,
            ReadingCount: ordered.Length,
            ReadingRoot: MerkleTree.Root(leaves),
            Quality: new QualitySummary(measured, estimated, measuredWh, estimatedWh));
        return Result<CertificateWithReadings>.Ok(new CertificateWithReadings(certificate, ordered));
    }
}
