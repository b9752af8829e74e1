namespace GreenTrace.Core.Certificates;

/// <summary>How much of the certified energy was measured and how much estimated.</summary>
public sealed record QualitySummary(int MeasuredCount, int EstimatedCount, ulong MeasuredWh, ulong EstimatedWh);

/// <summary>
/// A granular certificate with the EnergyTag attributes (DESIGN.md, "Certificate"). One per meter
/// and UTC hour; <see cref="Part"/> is 0 for the certificate issued when the hour closed and 1, 2, …
/// for supplementary certificates covering readings that arrived after it (never dropped).
/// </summary>
/// <param name="Id">32 bytes: <see cref="CertificateId.Compute"/> of (meter, period, part).</param>
/// <param name="ReadingRoot">RFC 9162 root over the readings' COSE bytes, in sequence order.</param>
public sealed record GranularCertificate(
    byte[] Id,
    string MeterId,
    long PeriodStart,
    long PeriodEnd,
    int Part,
    ulong FaceValueWh,
    string EnergyCarrier,
    string EnergySource,
    string Technology,
    string GridZone,
    string Country,
    string IssuingBody,
    long IssuedAt,
    long ExpiresAt,
    int ReadingCount,
    byte[] ReadingRoot,
    QualitySummary Quality)
{
    public const string Electricity = "electricity";

    public string IdHex => Hex.Encode(Id);

    public bool Equals(GranularCertificate? other) =>
        other is not null
        && Id.AsSpan().SequenceEqual(other.Id)
        && MeterId == other.MeterId
        && PeriodStart == other.PeriodStart
        && PeriodEnd == other.PeriodEnd
        && Part == other.Part
        && FaceValueWh == other.FaceValueWh
        && EnergyCarrier == other.EnergyCarrier
        && EnergySource == other.EnergySource
        && Technology == other.Technology
        && GridZone == other.GridZone
        && Country == other.Country
        && IssuingBody == other.IssuingBody
        && IssuedAt == other.IssuedAt
        && ExpiresAt == other.ExpiresAt
        && ReadingCount == other.ReadingCount
        && ReadingRoot.AsSpan().SequenceEqual(other.ReadingRoot)
        && Quality == other.Quality;

    public override int GetHashCode() => HashCode.Combine(MeterId, PeriodStart, Part);
}
