using GreenTrace.Core.Readings;
using GreenTrace.FirmwareSim;
using GreenTrace.FirmwareSim.Faults;
using GreenTrace.Pipeline.Tests.Support;

namespace GreenTrace.Pipeline.Tests.FirmwareSim;

public class FaultInjectorTests
{
    private static readonly long Start = new DateTimeOffset(2025, 6, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();
    private static readonly ManualTime Clock = new(new DateTimeOffset(2025, 6, 3, 12, 7, 0, TimeSpan.Zero));

    private static List<List<FaultKind>> Decisions(FaultOptions options, int intervals)
    {
        using var meter = VirtualMeterTests.CreateMeter();
        using var injector = new FaultInjector(options, 1, [meter.Id, "dk1-wind-0001"], Clock);
        var history = injector.NewHistory();
        var decisions = new List<List<FaultKind>>();
        for (var i = 0; i < intervals; i++)
        {
            var genuine = meter.NextSignedReading(Start + (i * 900L));
            decisions.Add([.. injector.Inject(meter, genuine, history).All.Select(f => f.Fault!.Value)]);
            history.Remember(genuine);
        }
        return decisions;
    }

    [Fact]
    public void Fault_decisions_are_deterministic_for_a_seed()
    {
        var options = FaultOptions.Uniform(0.3, seed: 4);
        options.ReplayMinAge = 4;
        var a = Decisions(options, 40);
        var b = Decisions(options, 40);
        var c = Decisions(FaultOptions.Uniform(0.3, seed: 5), 40);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.All(FaultKinds.All, kind => Assert.Contains(a, d => d.Contains(kind)));
    }

    [Fact]
    public void Each_kind_is_injected_at_its_own_rate()
    {
        // A different rate per kind, so a mix-up between kinds would show.
        var options = new FaultOptions { Seed = 12, ReplayMinAge = 1 };
        foreach (var kind in FaultKinds.All)
            options.SetRate(kind, 0.04 + (0.03 * (int)kind));
        using var a = VirtualMeterTests.CreateMeter("dk1-solar-0001");
        using var b = VirtualMeterTests.CreateMeter("dk1-solar-0002");
        using var injector = new FaultInjector(options, 1, [a.Id, b.Id], Clock);
        var counts = FaultKinds.All.ToDictionary(k => k, _ => 0);
        const int intervals = 1000;
        foreach (var meter in new[] { a, b })
        {
            var history = injector.NewHistory();
            for (var i = 0; i < intervals; i++)
            {
                var genuine = meter.NextSignedReading(Start + (i * 900L));
                foreach (var fault in injector.Inject(meter, genuine, history).All)
                    counts[fault.Fault!.Value]++;
                history.Remember(genuine);
            }
        }
        foreach (var kind in FaultKinds.All)
        {
            // A replay needs an earlier reading; a rollback waits for the meter's first readings.
            var draws = 2 * (kind switch
            {
                FaultKind.Replay => intervals - 1,
                FaultKind.CounterRollback => intervals - (int)FaultInjector.RollbackMinSequence,
                _ => intervals,
            });
            var rate = options.RateOf(kind);
            var sigma = Math.Sqrt(draws * rate * (1 - rate));
            Assert.InRange(counts[kind], (draws * rate) - (5 * sigma), (draws * rate) + (5 * sigma));
        }
    }

    [Fact]
    public void Adding_kinds_keeps_the_decisions_of_the_older_ones()
    {
        // The kinds that existed before clock skew, rollback and oversized must be injected where they were.
        var older = FaultKinds.All.Where(k => k < FaultKind.ClockSkew).ToList();
        var some = new FaultOptions { Seed = 9 };
        foreach (var kind in older)
            some.SetRate(kind, 0.2);
        var all = FaultOptions.Uniform(0.2, seed: 9);
        Assert.Equal(Decisions(some, 60), Decisions(all, 60).Select(d => d.Where(older.Contains).ToList()).ToList());
    }

    [Fact]
    public void Each_fault_is_what_its_name_says_and_leaves_the_meter_alone()
    {
        using var meter = VirtualMeterTests.CreateMeter();
        using var other = VirtualMeterTests.CreateMeter("dk1-wind-0001");
        using var key = meter.Device.ImportPublicKey();
        var options = FaultOptions.Uniform(1, seed: 1);
        options.ReplayMinAge = 1;
        using var injector = new FaultInjector(options, 1, [meter.Id, other.Id], Clock);
        var history = injector.NewHistory();
        // Past the first readings, before which no rollback is made.
        SignedReading older = null!;
        for (var i = 0; i <= (int)FaultInjector.RollbackMinSequence; i++)
        {
            older = meter.NextSignedReading(Start + (i * 900L));
            history.Remember(older);
        }
        var genuine = meter.NextSignedReading(older.Reading.End);
        var state = meter.State;

        var injected = injector.Inject(meter, genuine, history);
        var faults = injected.All.ToDictionary(f => f.Fault!.Value);
        Assert.Equal(FaultKinds.All.Count, faults.Count);
        Assert.Equal(state, meter.State);
        Assert.Equal([FaultKind.CounterRollback], injected.Before.Select(f => f.Fault!.Value));

        Assert.Equal(ReadingReasons.CoseMalformed, ReadingCodec.Decode(faults[FaultKind.Garbage].Payload).Error?.Code);
        Assert.Equal(ReadingReasons.SignatureInvalid, ReadingCodec.DecodeAndVerify(faults[FaultKind.WrongKey].Payload, key).Error?.Code);
        Assert.Equal(genuine.Reading, ReadingCodec.Decode(faults[FaultKind.WrongKey].Payload).Value.Reading);
        Assert.Equal(ReadingReasons.SignatureInvalid, ReadingCodec.DecodeAndVerify(faults[FaultKind.TamperedPayload].Payload, key).Error?.Code);
        Assert.Equal(genuine.Encoded.Length, faults[FaultKind.TamperedPayload].Payload.Length);
        Assert.NotEqual(genuine.Reading, ReadingCodec.Decode(faults[FaultKind.TamperedPayload].Payload).Value.Reading);
        Assert.Equal(genuine.Encoded, faults[FaultKind.Duplicate].Payload);
        Assert.InRange(faults[FaultKind.Replay].Reading!.Sequence, 1UL, older.Reading.Sequence);
        Assert.Equal(faults[FaultKind.Replay].Reading, ReadingCodec.DecodeAndVerify(faults[FaultKind.Replay].Payload, key).Value.Reading);
        Assert.Equal(other.Id, faults[FaultKind.WrongTopic].TopicMeterId);
        Assert.Equal(genuine.Encoded, faults[FaultKind.WrongTopic].Payload);

        var misaligned = ReadingCodec.Decode(faults[FaultKind.MisalignedInterval].Payload);
        Assert.Equal(ReadingReasons.IntervalMisaligned, misaligned.Error?.Code);
        Assert.NotEqual(0, faults[FaultKind.MisalignedInterval].Reading!.Start % 900);

        var skewed = ReadingCodec.DecodeAndVerify(faults[FaultKind.ClockSkew].Payload, key).Value.Reading;
        Assert.Equal(genuine.Reading.Sequence + FaultInjector.ClockSkewSequenceLead, skewed.Sequence);
        Assert.Equal(0, skewed.Start % 900);
        Assert.InRange(skewed.Start - Clock.GetUtcNow().ToUnixTimeSeconds(), (long)FaultInjector.MinClockSkew.TotalSeconds, (long)FaultInjector.MaxClockSkew.TotalSeconds + 900);
        Assert.Equal(genuine.Reading.RegisterWh + skewed.EnergyWh, skewed.RegisterWh);

        var rolledBack = ReadingCodec.DecodeAndVerify(faults[FaultKind.CounterRollback].Payload, key).Value.Reading;
        Assert.Equal(older.Reading.Sequence + 1, rolledBack.Sequence);
        Assert.Equal(older.Reading.End, rolledBack.Start);
        Assert.True(rolledBack.RegisterWh < rolledBack.EnergyWh, "a rolled-back register is below its own interval's energy");
        Assert.True(rolledBack.RegisterWh < older.Reading.RegisterWh - older.Reading.EnergyWh);

        var oversized = faults[FaultKind.Oversized].Payload;
        Assert.InRange(oversized.Length, options.OversizedMinBytes, options.OversizedMaxBytes);
        // Even past a raised size limit it is not a reading.
        Assert.Equal(ReadingReasons.CoseMalformed, ReadingCodec.Decode(oversized).Error?.Code);
    }

    [Fact]
    public void Garbage_never_starts_like_a_cose_message()
    {
        using var meter = VirtualMeterTests.CreateMeter();
        using var injector = new FaultInjector(new FaultOptions { Garbage = 1, Seed = 3 }, 1, [meter.Id], Clock);
        var history = injector.NewHistory();
        for (var i = 0; i < 500; i++)
        {
            var genuine = meter.NextSignedReading(Start + (i * 900L));
            var garbage = Assert.Single(injector.Inject(meter, genuine, history).After).Payload;
            Assert.Equal(ReadingReasons.CoseMalformed, ReadingCodec.Decode(garbage).Error?.Code);
        }
    }

    [Fact]
    public void Replays_wait_for_old_enough_readings_and_rollbacks_for_a_previous_one()
    {
        using var meter = VirtualMeterTests.CreateMeter();
        var options = new FaultOptions { Replay = 1, CounterRollback = 1, WrongTopic = 1, ReplayMinAge = 10, Seed = 1 };
        using var injector = new FaultInjector(options, 1, [meter.Id], Clock);
        var history = injector.NewHistory();
        var stored = new List<SignedReading>();
        for (var i = 0; i < 40; i++)
        {
            var genuine = meter.NextSignedReading(Start + (i * 900L));
            var injected = injector.Inject(meter, genuine, history);
            // A single meter has no other meter's topic to publish to.
            Assert.DoesNotContain(injected.All, f => f.Fault == FaultKind.WrongTopic);
            Assert.Equal(genuine.Reading.Sequence > FaultInjector.RollbackMinSequence, injected.Before.Any(f => f.Fault == FaultKind.CounterRollback));
            var replay = injected.After.SingleOrDefault(f => f.Fault == FaultKind.Replay);
            if (genuine.Reading.Sequence <= 10)
            {
                Assert.Null(replay);
            }
            else if (replay is not null)
            {
                var age = genuine.Reading.Sequence - replay.Reading!.Sequence;
                Assert.InRange(age, 10UL, 10UL + 10);
                Assert.Contains(stored, s => s.Encoded.SequenceEqual(replay.Payload));
            }
            history.Remember(genuine);
            stored.Add(genuine);
        }
        Assert.Equal(new MeterState(41, stored[^1].Reading.RegisterWh, stored[^1].Reading.End), meter.State);
    }

    [Fact]
    public void Rates_outside_zero_to_one_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new FaultOptions { Replay = 1.5 }.Validate());
        Assert.Throws<ArgumentException>(() => new FaultOptions { Garbage = -0.1 }.Validate());
        Assert.Throws<ArgumentException>(() => new FaultOptions { Oversized = double.NaN }.Validate());
        Assert.Throws<ArgumentException>(() => new FaultOptions { ReplayMinAge = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new FaultOptions { OversizedMinBytes = 10_000, OversizedMaxBytes = 9_000 }.Validate());
        Assert.Throws<ArgumentException>(() => new FaultOptions { OversizedMaxBytes = 300_000 }.Validate());
    }
}
