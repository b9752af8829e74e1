using GreenTrace.Core.Readings;
using GreenTrace.FirmwareSim;
using GreenTrace.FirmwareSim.Faults;

namespace GreenTrace.Pipeline.Tests.FirmwareSim;

public class FaultInjectorTests
{
    private static readonly long Start = new DateTimeOffset(2025, 6, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();

    private static List<List<FaultKind>> Decisions(FaultOptions options, int intervals)
    {
        using var meter = VirtualMeterTests.CreateMeter();
        using var injector = new FaultInjector(options, 1, [meter.Id, "dk1-wind-0001"]);
        var history = new List<SignedReading>();
        var decisions = new List<List<FaultKind>>();
        for (var i = 0; i < intervals; i++)
        {
            var genuine = meter.NextSignedReading(Start + (i * 900L));
            decisions.Add([.. injector.Inject(meter, genuine, history).Select(f => f.Fault!.Value)]);
            history.Add(genuine);
        }
        return decisions;
    }

    [Fact]
    public void Fault_decisions_are_deterministic_for_a_seed()
    {
        var a = Decisions(FaultOptions.Uniform(0.3, seed: 4), 40);
        var b = Decisions(FaultOptions.Uniform(0.3, seed: 4), 40);
        var c = Decisions(FaultOptions.Uniform(0.3, seed: 5), 40);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.All(FaultKinds.All, kind => Assert.Contains(a, d => d.Contains(kind)));
    }

    [Fact]
    public void Each_fault_is_what_its_name_says_and_leaves_the_meter_alone()
    {
        using var meter = VirtualMeterTests.CreateMeter();
        using var other = VirtualMeterTests.CreateMeter("dk1-wind-0001");
        using var key = meter.Device.ImportPublicKey();
        using var injector = new FaultInjector(FaultOptions.Uniform(1, seed: 1), 1, [meter.Id, other.Id]);
        var older = meter.NextSignedReading(Start);
        var genuine = meter.NextSignedReading(Start + 900);
        var state = meter.State;

        var faults = injector.Inject(meter, genuine, [older]).ToDictionary(f => f.Fault!.Value);
        Assert.Equal(FaultKinds.All.Count, faults.Count);
        Assert.Equal(state, meter.State);

        Assert.Equal(ReadingReasons.CoseMalformed, ReadingCodec.Decode(faults[FaultKind.Garbage].Payload).Error?.Code);
        Assert.Equal(ReadingReasons.SignatureInvalid, ReadingCodec.DecodeAndVerify(faults[FaultKind.WrongKey].Payload, key).Error?.Code);
        Assert.Equal(genuine.Reading, ReadingCodec.Decode(faults[FaultKind.WrongKey].Payload).Value.Reading);
        Assert.False(ReadingCodec.DecodeAndVerify(faults[FaultKind.TamperedPayload].Payload, key).IsOk);
        Assert.Equal(genuine.Encoded.Length, faults[FaultKind.TamperedPayload].Payload.Length);
        Assert.Equal(genuine.Encoded, faults[FaultKind.Duplicate].Payload);
        Assert.Equal(older.Encoded, faults[FaultKind.Replay].Payload);
        Assert.Equal(other.Id, faults[FaultKind.WrongTopic].TopicMeterId);
        Assert.Equal(genuine.Encoded, faults[FaultKind.WrongTopic].Payload);

        var misaligned = ReadingCodec.Decode(faults[FaultKind.MisalignedInterval].Payload);
        Assert.Equal(ReadingReasons.IntervalMisaligned, misaligned.Error?.Code);
        Assert.NotNull(faults[FaultKind.MisalignedInterval].Reading);
        Assert.NotEqual(0, faults[FaultKind.MisalignedInterval].Reading!.Start % 900);
    }

    [Fact]
    public void Replays_need_history_and_wrong_topics_need_another_meter()
    {
        using var meter = VirtualMeterTests.CreateMeter();
        using var injector = new FaultInjector(FaultOptions.Uniform(1, seed: 1), 1, [meter.Id]);
        var faults = injector.Inject(meter, meter.NextSignedReading(Start), []).Select(f => f.Fault!.Value).ToList();
        Assert.DoesNotContain(FaultKind.Replay, faults);
        Assert.DoesNotContain(FaultKind.WrongTopic, faults);
        Assert.Contains(FaultKind.Duplicate, faults);
    }

    [Fact]
    public void Rates_outside_zero_to_one_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new FaultOptions { Replay = 1.5 }.Validate());
        Assert.Throws<ArgumentException>(() => new FaultOptions { Garbage = -0.1 }.Validate());
        Assert.Throws<ArgumentException>(() => new FaultOptions { Garbage = double.NaN }.Validate());
    }
}
