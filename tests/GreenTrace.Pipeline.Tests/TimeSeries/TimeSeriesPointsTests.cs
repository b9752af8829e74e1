using GreenTrace.Core.Devices;
using GreenTrace.Core.Readings;
using GreenTrace.Pipeline.Tests.Support;
using GreenTrace.Streaming;
using GreenTrace.TimeSeries;

namespace GreenTrace.Pipeline.Tests.TimeSeries;

public sealed class TimeSeriesPointsTests : IDisposable
{
    // 2025-06-01T06:00Z
    private const long Hour = LedgerFixture.RegisteredAt + (6 * 3600);

    private readonly TestMeter _meter = new("meter-001");
    private readonly LedgerFixture _ledger = new();
    private readonly DeviceDirectory _directory;

    public TimeSeriesPointsTests() => _directory = new DeviceDirectory([_meter.Device]);

    [Fact]
    public void A_reading_of_a_registered_meter_has_its_registration_as_tags_and_its_interval_start_as_time()
    {
        var reading = _meter.Reading(7, Hour + 900, wh: 250, register: 1_000_250, quality: ReadingQuality.Estimated);

        var point = TimeSeriesPoints.Reading(reading, _meter.Device);

        Assert.NotNull(point);
        Assert.Equal(
            $"reading,dir=gen,meter=meter-001,quality=e,source=solar,tech=photovoltaic,zone=DE-LU interval_s=900i,register_wh=1000250i,seq=7i,wh=250i {Hour + 900}",
            point.ToLineProtocol());
    }

    [Fact]
    public void A_reading_of_an_unknown_meter_is_still_a_point_tagged_unknown()
    {
        var reading = _meter.Reading(1, Hour, wh: 10, register: 10, direction: EnergyDirection.Consumption);

        var point = TimeSeriesPoints.Reading(reading, device: null, unknownTag: "unregistered");

        Assert.Equal(
            $"reading,dir=con,meter=meter-001,quality=m,source=unregistered,tech=unregistered,zone=unregistered interval_s=900i,register_wh=10i,seq=1i,wh=10i {Hour}",
            point!.ToLineProtocol());
    }

    [Fact]
    public void Tag_values_with_spaces_commas_and_equals_signs_are_escaped_and_empty_ones_become_unknown()
    {
        var device = _meter.Device with { GridZone = "DE LU,north=1", EnergySource = "", Technology = " " };

        var line = TimeSeriesPoints.Reading(_meter.Reading(1, Hour, 1, 1), device)!.ToLineProtocol();

        Assert.Contains(@"zone=DE\ LU\,north\=1", line, StringComparison.Ordinal);
        Assert.Contains("source=unknown,tech=unknown", line, StringComparison.Ordinal);
    }

    [Fact]
    public void A_value_beyond_a_signed_64_bit_integer_makes_no_point()
    {
        var reading = _meter.Reading(1, Hour, wh: (ulong)long.MaxValue + 1, register: 1);

        Assert.Null(TimeSeriesPoints.Reading(reading, _meter.Device));
    }

    [Fact]
    public void A_certificate_is_a_point_at_its_period_start_with_its_part_as_a_tag()
    {
        var readings = LedgerFixture.HourOfReadings(_meter, Hour, wh: 250);
        var certificate = LedgerFixture.Issue(_meter, readings, part: 0, issuedAt: Hour + 3600 + 960).Certificate;
        var supplementary = LedgerFixture.Issue(_meter, readings.Take(1), part: 1, issuedAt: Hour + 7200).Certificate;

        var line = TimeSeriesPoints.Certificate(certificate)!.ToLineProtocol();
        var supplementaryLine = TimeSeriesPoints.Certificate(supplementary)!.ToLineProtocol();

        Assert.Equal(
            $"certificate,issuer={LedgerFixture.IssuerId},meter=meter-001,part=0,source=solar,tech=photovoltaic,zone=DE-LU estimated_wh=0i,face_value_wh=1000i,issue_delay_s=960i,measured_wh=1000i,reading_count=4i {Hour}",
            line);
        // Same meter and hour: without the part tag the supplementary certificate would overwrite the first.
        Assert.Equal(
            $"certificate,issuer={LedgerFixture.IssuerId},meter=meter-001,part=1,source=solar,tech=photovoltaic,zone=DE-LU estimated_wh=0i,face_value_wh=250i,issue_delay_s=3600i,measured_wh=250i,reading_count=1i {Hour}",
            supplementaryLine);
    }

    [Fact]
    public void The_same_record_always_maps_to_the_same_point_so_a_replay_overwrites()
    {
        var encoded = _meter.Sign(_meter.Reading(3, Hour, 100, 100));
        var first = Record(Topics.Readings, encoded, offset: 5);
        var replayed = first with { Offset = 9, Timestamp = first.Timestamp.AddHours(2) };

        Assert.Equal(
            TimeSeriesPoints.Map(first, _directory).Point!.ToLineProtocol(),
            TimeSeriesPoints.Map(replayed, _directory).Point!.ToLineProtocol());
    }

    [Fact]
    public void Map_reads_both_streams_and_says_why_a_record_makes_no_point()
    {
        var reading = TimeSeriesPoints.Map(Record(Topics.Readings, _meter.Sign(_meter.Reading(1, Hour, 5, 5))), _directory);
        var certificateEntry = _ledger.CertificateEntry(LedgerFixture.Issue(_meter, LedgerFixture.HourOfReadings(_meter, Hour)).Certificate);
        var certificate = TimeSeriesPoints.Map(Record(Topics.Ledger, certificateEntry), _directory);
        var registration = TimeSeriesPoints.Map(Record(Topics.Ledger, _ledger.Registration(_meter.Device)), _directory);
        var garbage = TimeSeriesPoints.Map(Record(Topics.Readings, [0xD2, 0x84, 0x00]), _directory);
        var badEntry = TimeSeriesPoints.Map(Record(Topics.Ledger, [1, 2, 3]), _directory);
        var otherTopic = TimeSeriesPoints.Map(Record(Topics.RejectedReadings, [1]), _directory);
        using var stranger = new TestMeter("meter-999");
        var unknown = TimeSeriesPoints.Map(Record(Topics.Readings, stranger.Sign(stranger.Reading(1, Hour, 5, 5))), _directory);

        Assert.StartsWith("reading,", reading.Point!.ToLineProtocol(), StringComparison.Ordinal);
        Assert.False(reading.UnknownMeter);
        Assert.StartsWith("certificate,", certificate.Point!.ToLineProtocol(), StringComparison.Ordinal);
        Assert.Equal((null, TimeSeriesPoints.Reasons.NotACertificate), (registration.Point, registration.SkipReason));
        Assert.Equal((null, TimeSeriesPoints.Reasons.ReadingMalformed), (garbage.Point, garbage.SkipReason));
        Assert.Equal((null, TimeSeriesPoints.Reasons.LedgerEntryMalformed), (badEntry.Point, badEntry.SkipReason));
        Assert.Equal((null, TimeSeriesPoints.Reasons.UnknownTopic), (otherTopic.Point, otherTopic.SkipReason));
        Assert.True(unknown.UnknownMeter);
        Assert.Contains("zone=unknown", unknown.Point!.ToLineProtocol(), StringComparison.Ordinal);
    }

    public void Dispose()
    {
        _directory.Dispose();
        _ledger.Dispose();
        _meter.Dispose();
    }

    private static StreamRecord Record(string topic, byte[] value, long offset = 0) =>
        new(topic, 0, offset, "meter-001", value, DateTimeOffset.UnixEpoch.AddSeconds(Hour));
}
