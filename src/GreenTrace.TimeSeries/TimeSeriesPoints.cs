using GreenTrace.Core.Certificates;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Readings;
using GreenTrace.Streaming;
using InfluxDB.Client.Api.Domain;
using InfluxDB.Client.Writes;

namespace GreenTrace.TimeSeries;

/// <summary>What one stream record becomes: a point, or nothing with the reason (a metric tag) and its detail (for the log).</summary>
public sealed record MappedRecord(PointData? Point, string? SkipReason, string? Detail = null, bool UnknownMeter = false)
{
    public static MappedRecord Skip(string reason, string? detail = null) => new(null, reason, detail);
}

/// <summary>
/// Stream records to points, as a pure function of the record (and the meter's registration):
/// the same record always gives the same point (series and timestamp), so a replay after a crash
/// or a rebalance overwrites what is there instead of adding to it.
/// </summary>
/// <remarks>
/// Tags are what dashboards group by, all of bounded cardinality (one series per meter and
/// quality at most). Integer fields keep Wh exact and their type stable; InfluxDB refuses a field
/// whose type changes within a shard. Timestamps are interval or period starts, in seconds.
/// </remarks>
public static class TimeSeriesPoints
{
    public const string ReadingMeasurement = "reading";
    public const string CertificateMeasurement = "certificate";

    public const string UnknownTag = "unknown";

    /// <summary>Skip reasons; each is a metric tag value.</summary>
    public static class Reasons
    {
        public const string ReadingMalformed = "reading-malformed";
        public const string LedgerEntryMalformed = "ledger-entry-malformed";
        public const string NotACertificate = "not-a-certificate";
        public const string ValueOutOfRange = "value-out-of-range";
        public const string UnknownTopic = "unknown-topic";
    }

    /// <summary>Maps a record of <see cref="Topics.Readings"/> or <see cref="Topics.Ledger"/>.</summary>
    public static MappedRecord Map(StreamRecord record, IDeviceDirectory devices, string unknownTag = UnknownTag)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(devices);
        switch (record.Topic)
        {
            case Topics.Readings:
                // The gateway verified the signature before producing; decoding is all that is left.
                var decoded = ReadingCodec.Decode(record.Value);
                if (!decoded.IsOk)
                    return MappedRecord.Skip(Reasons.ReadingMalformed, decoded.Error.ToString());
                var reading = decoded.Value.Reading;
                var device = devices.Find(reading.MeterId);
                var point = Reading(reading, device, unknownTag);
                return point is null ? MappedRecord.Skip(Reasons.ValueOutOfRange, "a value exceeds a signed 64-bit integer") : new MappedRecord(point, null, UnknownMeter: device is null);
            case Topics.Ledger:
                var entry = LedgerEntryCodec.Decode(record.Value);
                if (!entry.IsOk)
                    return MappedRecord.Skip(Reasons.LedgerEntryMalformed, entry.Error.ToString());
                if (entry.Value.Certificate is not { } certificate)
                    return MappedRecord.Skip(Reasons.NotACertificate, entry.Value.Kind.ToString());
                var certificatePoint = Certificate(certificate);
                return certificatePoint is null ? MappedRecord.Skip(Reasons.ValueOutOfRange, "a value exceeds a signed 64-bit integer") : new MappedRecord(certificatePoint, null);
            default:
                return MappedRecord.Skip(Reasons.UnknownTopic, record.Topic);
        }
    }

    /// <summary>
    /// Measurement <c>reading</c>: tags meter, zone, source, tech (from the registration, or
    /// <paramref name="unknownTag"/>), dir (gen/con) and quality (m/e) from the signed reading;
    /// fields wh, register_wh, interval_s, seq; time = interval start. Null if a value does not
    /// fit InfluxDB's signed 64-bit integer.
    /// </summary>
    public static PointData? Reading(Reading reading, DeviceInfo? device, string unknownTag = UnknownTag)
    {
        ArgumentNullException.ThrowIfNull(reading);
        if (reading.EnergyWh > long.MaxValue || reading.RegisterWh > long.MaxValue || reading.Sequence > long.MaxValue)
            return null;
        return PointData.Measurement(ReadingMeasurement)
            .Tag("meter", reading.MeterId)
            .Tag("zone", TagValue(device?.GridZone, unknownTag))
            .Tag("source", TagValue(device?.EnergySource, unknownTag))
            .Tag("tech", TagValue(device?.Technology, unknownTag))
            .Tag("dir", WireCodes.Of(reading.Direction))
            .Tag("quality", WireCodes.Of(reading.Quality))
            .Field("wh", (long)reading.EnergyWh)
            .Field("register_wh", (long)reading.RegisterWh)
            .Field("interval_s", reading.IntervalSeconds)
            .Field("seq", (long)reading.Sequence)
            .Timestamp(reading.Start, WritePrecision.S);
    }

    /// <summary>
    /// Measurement <c>certificate</c>: tags meter, zone, source, tech, issuer and part (0 for the
    /// hour's certificate, 1, 2, … for supplementary ones: a tag, so a supplementary certificate
    /// for the same hour is a point of its own instead of overwriting the first); fields
    /// face_value_wh, reading_count, measured_wh, estimated_wh, issue_delay_s (issuance after the
    /// period's end); time = period start.
    /// </summary>
    public static PointData? Certificate(GranularCertificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        if (certificate.FaceValueWh > long.MaxValue || certificate.Quality.MeasuredWh > long.MaxValue || certificate.Quality.EstimatedWh > long.MaxValue)
            return null;
        return PointData.Measurement(CertificateMeasurement)
            .Tag("meter", certificate.MeterId)
            .Tag("zone", TagValue(certificate.GridZone, UnknownTag))
            .Tag("source", TagValue(certificate.EnergySource, UnknownTag))
            .Tag("tech", TagValue(certificate.Technology, UnknownTag))
            .Tag("issuer", TagValue(certificate.IssuingBody, UnknownTag))
            .Tag("part", certificate.Part.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Field("face_value_wh", (long)certificate.FaceValueWh)
            .Field("reading_count", (long)certificate.ReadingCount)
            .Field("measured_wh", (long)certificate.Quality.MeasuredWh)
            .Field("estimated_wh", (long)certificate.Quality.EstimatedWh)
            .Field("issue_delay_s", certificate.IssuedAt - certificate.PeriodEnd)
            .Timestamp(certificate.PeriodStart, WritePrecision.S);
    }

    // InfluxDB drops a tag with an empty value, which would merge the point into another series.
    private static string TagValue(string? value, string unknownTag) => string.IsNullOrWhiteSpace(value) ? unknownTag : value;
}
