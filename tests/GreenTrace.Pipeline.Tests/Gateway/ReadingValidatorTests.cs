using GreenTrace.Core.Devices;
using GreenTrace.Core.Readings;
using GreenTrace.Gateway;
using GreenTrace.Gateway.Store;
using GreenTrace.Pipeline.Tests.Support;

namespace GreenTrace.Pipeline.Tests.Gateway;

public sealed class ReadingValidatorTests : IDisposable
{
    // 2025-06-01T12:00:00Z; readings of the morning are in the past.
    private static readonly DateTimeOffset Noon = DateTimeOffset.FromUnixTimeSeconds(1_748_779_200);
    private static readonly long H11 = Noon.ToUnixTimeSeconds() - 3600;

    private readonly TestMeter _a = new("meter-a"); // 4 kW generation: at most 1000 Wh × 1.1 per 15 minutes
    private readonly TestMeter _b = new("meter-b");
    private readonly TestMeter _consumer = new("meter-c", EnergyDirection.Consumption);
    private readonly TestMeter _unregistered = new("meter-z");
    private readonly DeviceDirectory _directory;
    private readonly GatewayOptions _options = new() { MaxReadingBytes = 1024, MaxClockSkewSeconds = 300, DuplicateWindow = 4 };
    private readonly ManualTime _time = new(Noon);
    private readonly InMemoryMeterHistory _history = new(4);
    private readonly ReadingValidator _validator;

    public ReadingValidatorTests()
    {
        _directory = new DeviceDirectory([_a.Device, _b.Device, _consumer.Device]);
        _validator = new ReadingValidator(_directory, _options, _history, _time);
    }

    public void Dispose()
    {
        _directory.Dispose();
        foreach (var m in new[] { _a, _b, _consumer, _unregistered })
            m.Dispose();
    }

    [Fact]
    public void AGoodReadingIsAcceptedWithItsMeterAndDecodedReading()
    {
        var reading = _a.Reading(1, H11, 250, 10_250);
        var encoded = _a.Sign(reading);

        var outcome = _validator.Validate(_a.Topic, encoded);

        Assert.Equal(Verdict.Accepted, outcome.Verdict);
        Assert.Null(outcome.Rejection);
        Assert.Equal("meter-a", outcome.MeterId);
        Assert.Equal(reading, outcome.Reading!.Reading);
        Assert.Equal(encoded, outcome.Reading.Encoded.ToArray());
    }

    [Fact]
    public void SizeLimitComesFirst()
    {
        var oversized = new byte[_options.MaxReadingBytes + 1];

        AssertRejected(GatewayReasons.SizeLimit, _validator.Validate(_a.Topic, oversized), "meter-a");
        AssertRejected(GatewayReasons.SizeLimit, _validator.Validate("not/a/readings/topic", oversized));
        // Exactly at the limit it is parsed (and found to be garbage).
        AssertRejected(ReadingReasons.CoseMalformed, _validator.Validate(_a.Topic, new byte[_options.MaxReadingBytes]), "meter-a");
    }

    [Theory]
    [InlineData("meters/meter-a/events")]
    [InlineData("devices/meter-a/messages/events/")]
    [InlineData("meters/meter a/readings")]
    [InlineData("meters//readings")]
    [InlineData("")]
    public void ATopicThatIsNotAReadingsTopicIsRefusedBeforeDecoding(string topic)
    {
        AssertRejected(GatewayReasons.TopicInvalid, _validator.Validate(topic, _a.Sign(_a.Reading(1, H11, 250, 10_250))));
        AssertRejected(GatewayReasons.TopicInvalid, _validator.Validate(topic, "garbage"u8.ToArray()));
    }

    [Fact]
    public void DecodingFailuresKeepTheFormatsReasonCode()
    {
        AssertRejected(ReadingReasons.CoseMalformed, _validator.Validate(_a.Topic, "not cbor at all"u8.ToArray()), "meter-a");
        AssertRejected(ReadingReasons.CoseMalformed, _validator.Validate(_a.Topic, ReadOnlyMemory<byte>.Empty), "meter-a");
        // kid says meter-b, the payload meter-a.
        var mismatched = ReadingCodec.SignPayload(ReadingCodec.EncodePayload(_a.Reading(1, H11, 250, 10_250)), "meter-b", _b.Key);
        AssertRejected(ReadingReasons.KidMismatch, _validator.Validate(_b.Topic, mismatched), "meter-b");
    }

    [Fact]
    public void AnUnregisteredMeterIsRefusedEvenOnARegisteredMetersTopic()
    {
        var reading = _unregistered.Sign(_unregistered.Reading(1, H11, 250, 10_250));

        AssertRejected(GatewayReasons.MeterUnknown, _validator.Validate(_unregistered.Topic, reading), "meter-z");
        AssertRejected(GatewayReasons.MeterUnknown, _validator.Validate(_a.Topic, reading), "meter-a");
    }

    [Fact]
    public void AReadingOnAnotherMetersTopicIsRefused()
    {
        var reading = _a.Sign(_a.Reading(1, H11, 250, 10_250));

        AssertRejected(GatewayReasons.TopicMismatch, _validator.Validate(_b.Topic, reading), "meter-b");
    }

    [Fact]
    public void AForgedReadingIsRefusedBeforeAnyOtherCheckOfItsContent()
    {
        var forged = _a.Forge(_a.Reading(1, H11, 250, 10_250));
        // Also future-dated and implausible: the signature is checked first.
        var forgedAndWrong = _a.Forge(_a.Reading(1, Noon.ToUnixTimeSeconds() + 3600, 99_999, 10_250));
        var signedByOtherMeter = ReadingCodec.Sign(_a.Reading(1, H11, 250, 10_250), _b.Key);

        AssertRejected(ReadingReasons.SignatureInvalid, _validator.Validate(_a.Topic, forged), "meter-a");
        AssertRejected(ReadingReasons.SignatureInvalid, _validator.Validate(_a.Topic, forgedAndWrong), "meter-a");
        AssertRejected(ReadingReasons.SignatureInvalid, _validator.Validate(_a.Topic, signedByOtherMeter), "meter-a");
    }

    [Fact]
    public void AnOlderSequenceNeverAcceptedIsAReplayWhenTheHistoryNoLongerReachesBackToIt()
    {
        // A window of 4: after five readings the first is forgotten, so nothing at or below it can be shown to be new.
        var series = new ReadingSeries(_a, H11 - (4 * 900), firstSequence: 10, register: 10_000);
        foreach (var (_, encoded) in Enumerable.Range(0, 5).Select(_ => series.Next(100)).ToList())
            AcceptAndCommit(encoded);

        AssertRejected(GatewayReasons.SequenceReplay, Validate(_a.Reading(9, H11 - (5 * 900), 100, 10_000)), "meter-a");
        AssertRejected(GatewayReasons.SequenceReplay, Validate(_a.Reading(10, H11 - (4 * 900), 100, 10_100)), "meter-a"); // accepted, then forgotten
    }

    [Fact]
    public void AReadingThatArrivesAfterLaterOnesIsAcceptedIfItFitsExactlyBetweenItsNeighbours()
    {
        // Two gateways sharing the load can take a meter's readings out of order: 1 and 3 first, then 2.
        AcceptAndCommit(_a.Reading(1, H11, 100, 10_100));
        AcceptAndCommit(_a.Reading(3, H11 + 1800, 100, 10_300));

        AssertRejected(GatewayReasons.RegisterInconsistent, Validate(_a.Reading(2, H11 + 900, 100, 10_150)), "meter-a"); // 10_100 + 100 ≠ 10_150
        AssertRejected(GatewayReasons.RegisterInconsistent, Validate(_a.Reading(2, H11 + 900, 150, 10_250)), "meter-a"); // 10_250 + 100 ≠ 10_300
        AssertRejected(GatewayReasons.IntervalOverlap, Validate(_a.Reading(2, H11 + 1800, 100, 10_200)), "meter-a"); // where 3 is
        var late = Validate(_a.Reading(2, H11 + 900, 100, 10_200));
        Assert.Equal(Verdict.Accepted, late.Verdict);
        Assert.Equal(3UL, late.LastSequence);
        Assert.True(_history.TryRecord(late.Reading!.Reading, late.LastSequence));
        Assert.Equal(Verdict.Duplicate, Validate(_a.Reading(2, H11 + 900, 100, 10_200)).Verdict);
        Assert.Equal(3UL, _history.LastAccepted("meter-a")!.Sequence);
    }

    [Fact]
    public void TheSameReadingAgainIsADuplicateButOtherContentUnderTheSameSequenceIsAConflict()
    {
        var reading = _a.Reading(1, H11, 250, 10_250);
        var first = _a.Sign(reading);
        AcceptAndCommit(first);

        var again = _validator.Validate(_a.Topic, first);
        Assert.Equal(Verdict.Duplicate, again.Verdict);
        Assert.Null(again.Rejection);
        Assert.Equal("meter-a", again.MeterId);
        // Signed again (ECDSA signatures differ each time), same content: still the same reading.
        Assert.Equal(Verdict.Duplicate, Validate(reading).Verdict);

        AssertRejected(GatewayReasons.SequenceConflict, Validate(reading with { EnergyWh = 251, RegisterWh = 10_251 }), "meter-a");
        AssertRejected(GatewayReasons.SequenceConflict, Validate(reading with { Quality = ReadingQuality.Estimated }), "meter-a");
    }

    [Fact]
    public void OnceOutOfTheDuplicateWindowAnOldReadingCountsAsAReplay()
    {
        var series = new ReadingSeries(_a, H11 - (6 * 900), register: 10_000);
        var readings = Enumerable.Range(0, 6).Select(_ => series.Next(100)).ToList();
        foreach (var (_, encoded) in readings)
            AcceptAndCommit(encoded);

        Assert.Equal(Verdict.Duplicate, _validator.Validate(_a.Topic, readings[2].Encoded).Verdict); // within the last 4
        AssertRejected(GatewayReasons.SequenceReplay, _validator.Validate(_a.Topic, readings[1].Encoded), "meter-a");
    }

    [Fact]
    public void IntervalsOfADisallowedLengthAreRefused()
    {
        // 5 minutes divides the hour (the format allows it) but this deployment takes only 15.
        AssertRejected(GatewayReasons.IntervalLength, Validate(_a.Reading(1, H11, 50, 10_050, intervalSeconds: 300)), "meter-a");
        AssertRejected(GatewayReasons.IntervalLength, Validate(_a.Reading(1, H11, 50, 10_050, intervalSeconds: 3600)), "meter-a");

        var lenient = new ReadingValidator(_directory, new GatewayOptions { AllowedIntervalSeconds = [300, 900] }, _history, _time);
        Assert.Equal(Verdict.Accepted, lenient.Validate(_a.Topic, _a.Sign(_a.Reading(1, H11, 50, 10_050, intervalSeconds: 300))).Verdict);
    }

    [Fact]
    public void AnIntervalStartingBeforeThePreviousEndedIsAnOverlap()
    {
        AcceptAndCommit(_a.Reading(1, H11, 250, 10_250));

        AssertRejected(GatewayReasons.IntervalOverlap, Validate(_a.Reading(2, H11, 250, 10_500)), "meter-a");
        AssertRejected(GatewayReasons.IntervalOverlap, Validate(_a.Reading(2, H11 - 900, 250, 10_500)), "meter-a");
        Assert.Equal(Verdict.Accepted, Validate(_a.Reading(2, H11 + 900, 250, 10_500)).Verdict);
    }

    [Fact]
    public void AReadingEndingBeyondTheClockAndItsSkewIsFromTheFuture()
    {
        var noon = Noon.ToUnixTimeSeconds();
        var endsAt1215 = _a.Reading(1, noon, 250, 10_250);

        AssertRejected(GatewayReasons.TimestampFuture, Validate(endsAt1215), "meter-a"); // 15 min ahead, 5 allowed
        _time.Now = Noon.AddMinutes(9); // 6 minutes ahead
        AssertRejected(GatewayReasons.TimestampFuture, Validate(endsAt1215), "meter-a");
        _time.Now = Noon.AddMinutes(10); // exactly the allowed skew
        Assert.Equal(Verdict.Accepted, Validate(endsAt1215).Verdict);
    }

    [Fact]
    public void TheDirectionMustBeTheRegisteredOne()
    {
        AssertRejected(GatewayReasons.DirectionMismatch, Validate(_a.Reading(1, H11, 250, 10_250, direction: EnergyDirection.Consumption)), "meter-a");
        AssertRejected(GatewayReasons.DirectionMismatch, _validator.Validate(_consumer.Topic, _consumer.Sign(_consumer.Reading(1, H11, 250, 10_250, direction: EnergyDirection.Generation))), "meter-c");
        Assert.Equal(Verdict.Accepted, _validator.Validate(_consumer.Topic, _consumer.Sign(_consumer.Reading(1, H11, 250, 10_250))).Verdict);
    }

    [Fact]
    public void EnergyBeyondCapacityWithHeadroomIsImplausible()
    {
        // 4000 W for 15 minutes is 1000 Wh; with 10 % headroom, 1100 Wh.
        AssertRejected(GatewayReasons.EnergyImplausible, Validate(_a.Reading(1, H11, 1101, 11_101)), "meter-a");
        Assert.Equal(Verdict.Accepted, Validate(_a.Reading(1, H11, 1100, 11_100)).Verdict);
        // Direction is checked before energy.
        AssertRejected(GatewayReasons.DirectionMismatch, Validate(_a.Reading(1, H11, 99_999, 109_999, direction: EnergyDirection.Consumption)), "meter-a");
    }

    [Fact]
    public void ConsecutiveReadingsMustAddUpExactly()
    {
        AcceptAndCommit(_a.Reading(1, H11, 100, 10_100));

        AssertRejected(GatewayReasons.RegisterInconsistent, Validate(_a.Reading(2, H11 + 900, 200, 10_299)), "meter-a");
        AssertRejected(GatewayReasons.RegisterInconsistent, Validate(_a.Reading(2, H11 + 900, 200, 10_301)), "meter-a");
        AssertRejected(GatewayReasons.RegisterInconsistent, Validate(_a.Reading(2, H11 + 900, 200, 9_000)), "meter-a"); // the counter went back
        Assert.Equal(Verdict.Accepted, Validate(_a.Reading(2, H11 + 900, 200, 10_300)).Verdict);
    }

    [Fact]
    public void AcrossAGapTheRegisterMayOnlyHaveGrownByAtLeastThisInterval()
    {
        AcceptAndCommit(_a.Reading(1, H11, 100, 10_100));

        // Seq 2 and 3 were lost; seq 4 covers 11:45–12:00.
        AssertRejected(GatewayReasons.RegisterInconsistent, Validate(_a.Reading(4, H11 + 2700, 200, 10_299)), "meter-a");
        AssertRejected(GatewayReasons.RegisterInconsistent, Validate(_a.Reading(4, H11 + 2700, 200, 10_000)), "meter-a"); // rolled back
        Assert.Equal(Verdict.Accepted, Validate(_a.Reading(4, H11 + 2700, 200, 10_300)).Verdict); // nothing produced in the gap
        Assert.Equal(Verdict.Accepted, Validate(_a.Reading(4, H11 + 2700, 200, 10_900)).Verdict); // energy produced in the gap
    }

    [Fact]
    public void ValidateAloneChangesNothing()
    {
        var first = _a.Sign(_a.Reading(1, H11, 100, 10_100));

        Assert.Equal(Verdict.Accepted, _validator.Validate(_a.Topic, first).Verdict);
        // Not committed (say the stream hand-off failed): the broker's redelivery is accepted again, not taken for a duplicate.
        Assert.Equal(Verdict.Accepted, _validator.Validate(_a.Topic, first).Verdict);
        // Nor is it the meter's latest: an unrelated reading is not checked against it.
        Assert.Equal(Verdict.Accepted, Validate(_a.Reading(7, H11 - 3600, 100, 5_000)).Verdict);

    }

    [Fact]
    public void AnAcceptedOutcomeNamesTheHistoryItWasCheckedAgainstSoAStaleOneCannotBeRecorded()
    {
        var first = _validator.Validate(_a.Topic, _a.Sign(_a.Reading(1, H11, 100, 10_100)));
        Assert.Null(first.LastSequence);
        var second = _validator.Validate(_a.Topic, _a.Sign(_a.Reading(2, H11 + 900, 100, 10_200)));
        Assert.Null(second.LastSequence);

        Assert.True(_history.TryRecord(first.Reading!.Reading, first.LastSequence));
        // Validated before seq 1 was recorded: another gateway won, so this one must validate again.
        Assert.False(_history.TryRecord(second.Reading!.Reading, second.LastSequence));
        var again = _validator.Validate(_a.Topic, second.Reading.Encoded);
        Assert.Equal(1UL, again.LastSequence);
        Assert.True(_history.TryRecord(again.Reading!.Reading, again.LastSequence));
    }

    [Fact]
    public void MetersHaveSeparateHistories()
    {
        AcceptAndCommit(_a.Reading(10, H11, 100, 10_100));

        Assert.Equal(Verdict.Accepted, _validator.Validate(_b.Topic, _b.Sign(_b.Reading(1, H11 - 900, 100, 500))).Verdict);
    }

    private ValidationOutcome Validate(Reading reading) => _validator.Validate(TopicRules.ReadingsTopic(reading.MeterId), Meter(reading.MeterId).Sign(reading));

    private void AcceptAndCommit(Reading reading) => AcceptAndCommit(Meter(reading.MeterId).Sign(reading));

    private void AcceptAndCommit(byte[] encoded)
    {
        var outcome = _validator.Validate(_a.Topic, encoded);
        Assert.Equal(Verdict.Accepted, outcome.Verdict);
        Assert.True(_history.TryRecord(outcome.Reading!.Reading, outcome.LastSequence));
    }

    private TestMeter Meter(string id) => new[] { _a, _b, _consumer, _unregistered }.Single(m => m.Id == id);

    private static void AssertRejected(string code, ValidationOutcome outcome, string? meterId = null)
    {
        Assert.Equal(Verdict.Rejected, outcome.Verdict);
        Assert.Equal(code, outcome.Rejection?.Code);
        Assert.False(string.IsNullOrWhiteSpace(outcome.Rejection!.Message));
        Assert.Null(outcome.Reading);
        Assert.Equal(meterId, outcome.MeterId);
    }
}
