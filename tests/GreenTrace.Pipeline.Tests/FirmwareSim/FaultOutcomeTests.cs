using System.Reflection;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Readings;
using GreenTrace.FirmwareSim;
using GreenTrace.FirmwareSim.Faults;
using GreenTrace.Gateway;
using GreenTrace.Gateway.Store;
using GreenTrace.Pipeline.Tests.Support;

namespace GreenTrace.Pipeline.Tests.FirmwareSim;

/// <summary>
/// Every injected fault meets the real gateway validator (default options) and gets the outcome
/// <see cref="FaultKinds.ExpectedGatewayOutcome"/> promises, after whatever came before it, and never poisons the
/// meter's later genuine readings.
/// </summary>
public sealed class FaultOutcomeTests : IDisposable
{
    private static readonly DateTimeOffset Day = new(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly ManualTime Now = new(Day.AddDays(10));
    private const int Intervals = 220;

    private readonly Fleet _fleet = Fleet.Generate(new FleetSpec { MeterCount = 3, Seed = 5, ConsumptionShare = 0.3 });
    private readonly DeviceDirectory _devices;
    private readonly IReadOnlyList<Published> _stream;

    public FaultOutcomeTests()
    {
        _devices = new DeviceDirectory(_fleet.Registry);
        _stream = Publish(_fleet, FaultOptions.Uniform(0.12, seed: 8));
    }

    public void Dispose()
    {
        _devices.Dispose();
        _fleet.Dispose();
    }

    /// <summary>One message in publishing order, and the genuine reading it travels with.</summary>
    private sealed record Published(MeterMessage Message, Reading Genuine)
    {
        public FaultKind? Fault => Message.Fault;

        public string Topic => TopicRules.ReadingsTopic(Message.TopicMeterId);
    }

    /// <summary>What the publisher queues, meter by meter, interval by interval: the faults before, the genuine reading, the faults after.</summary>
    private static List<Published> Publish(Fleet fleet, FaultOptions options)
    {
        using var injector = new FaultInjector(options, fleet.Seed, fleet.Meters.Select(m => m.Id), Now);
        var histories = fleet.Meters.ToDictionary(m => m.Id, _ => injector.NewHistory());
        var stream = new List<Published>();
        for (var i = 0; i < Intervals; i++)
        {
            foreach (var meter in fleet.Meters)
            {
                var genuine = meter.NextSignedReading(Day.ToUnixTimeSeconds() + (i * 900L));
                var faults = injector.Inject(meter, genuine, histories[meter.Id]);
                stream.AddRange(faults.Before.Select(f => new Published(f, genuine.Reading)));
                stream.Add(new Published(new MeterMessage(meter.Id, meter.Id, genuine.Encoded, null, genuine.Reading), genuine.Reading));
                stream.AddRange(faults.After.Select(f => new Published(f, genuine.Reading)));
                histories[meter.Id].Remember(genuine);
            }
        }
        return stream;
    }

    private (ReadingValidator Validator, InMemoryMeterHistory History) NewGateway()
    {
        var options = new GatewayOptions();
        var history = new InMemoryMeterHistory(options.DuplicateWindow);
        return (new ReadingValidator(_devices, options, history, Now), history);
    }

    private static ValidationOutcome Deliver((ReadingValidator Validator, InMemoryMeterHistory History) gateway, Published message)
    {
        var outcome = gateway.Validator.Validate(message.Topic, message.Message.Payload);
        if (outcome.Verdict == Verdict.Accepted)
            Assert.True(gateway.History.TryRecord(outcome.Reading!.Reading, outcome.LastSequence));
        return outcome;
    }

    private static string Describe(Published p, ValidationOutcome outcome) =>
        $"{p.Fault?.Code() ?? "genuine"} of {p.Message.PublisherId} seq {p.Genuine.Sequence}: {outcome.Verdict} {outcome.Rejection}";

    private static void AssertExpected(Published p, ValidationOutcome outcome)
    {
        var expected = p.Fault!.Value.ExpectedGatewayOutcome();
        switch (expected.Disposition)
        {
            case FaultDisposition.DroppedAsDuplicate:
                Assert.True(outcome.Verdict == Verdict.Duplicate, Describe(p, outcome));
                break;
            default:
                // A broker without topic rules would let a wrong-topic message through: the gateway still refuses it.
                Assert.True(outcome.Verdict == Verdict.Rejected && outcome.Rejection!.Code == expected.Reason, Describe(p, outcome));
                break;
        }
    }

    [Fact]
    public void The_stream_has_every_kind_of_fault()
    {
        var counts = _stream.Where(p => p.Fault is not null).GroupBy(p => p.Fault!.Value).ToDictionary(g => g.Key, g => g.Count());
        Assert.All(FaultKinds.All, k => Assert.True(counts.GetValueOrDefault(k) >= 3, $"only {counts.GetValueOrDefault(k)} {k.Code()} faults; pick another seed"));
        Assert.Equal(Intervals * _fleet.Meters.Count, _stream.Count(p => p.Fault is null));
    }

    [Fact]
    public void Every_expected_reason_is_a_gateway_reason_code()
    {
        var codes = typeof(GatewayReasons).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Concat(typeof(ReadingReasons).GetFields(BindingFlags.Public | BindingFlags.Static))
            .Select(f => (string)f.GetRawConstantValue()!)
            .ToHashSet();
        foreach (var kind in FaultKinds.All)
        {
            var expected = kind.ExpectedGatewayOutcome();
            Assert.True(expected.Reason is null ? expected.Disposition == FaultDisposition.DroppedAsDuplicate : codes.Contains(expected.Reason), kind.Code());
        }
        Assert.Equal(GatewayReasons.TimestampFuture, FaultKind.ClockSkew.ExpectedGatewayOutcome().Reason);
        Assert.Equal(GatewayReasons.RegisterInconsistent, FaultKind.CounterRollback.ExpectedGatewayOutcome().Reason);
        Assert.Equal(GatewayReasons.SizeLimit, FaultKind.Oversized.ExpectedGatewayOutcome().Reason);
        Assert.Equal(GatewayReasons.SequenceReplay, FaultKind.Replay.ExpectedGatewayOutcome().Reason);
        Assert.Equal(GatewayReasons.TopicMismatch, FaultKind.WrongTopic.ExpectedGatewayOutcome().Reason);
    }

    [Fact]
    public void One_gateway_refuses_every_fault_for_its_expected_reason_and_accepts_every_genuine_reading()
    {
        var gateway = NewGateway();
        foreach (var p in _stream)
        {
            var outcome = Deliver(gateway, p);
            if (p.Fault is null)
                Assert.True(outcome.Verdict == Verdict.Accepted, Describe(p, outcome));
            else
                AssertExpected(p, outcome);
        }
    }

    [Fact]
    public void Faults_before_or_after_their_genuine_reading_are_never_accepted()
    {
        // Each genuine reading swaps places with the faults around it: those published after it now arrive first.
        var gateway = NewGateway();
        var groups = _stream.GroupBy(p => (p.Message.PublisherId, p.Genuine.Sequence));
        foreach (var group in groups)
        {
            var genuine = group.Single(p => p.Fault is null);
            var reordered = group.Where(p => p.Fault is not null && !IsBefore(p)).Append(genuine).Concat(group.Where(IsBefore)).ToList();
            var acceptedCopies = 0;
            foreach (var p in reordered)
            {
                var outcome = Deliver(gateway, p);
                if (outcome.Verdict == Verdict.Accepted)
                {
                    // Only the genuine reading, or an identical copy of it arriving first, ever gets in, and only once.
                    Assert.True(p.Fault is null or FaultKind.Duplicate, Describe(p, outcome));
                    Assert.Equal(genuine.Genuine, outcome.Reading!.Reading);
                    acceptedCopies++;
                }
                else if (p.Fault == FaultKind.CounterRollback)
                {
                    // After its genuine reading, the rollback's sequence number is taken: a conflict, still a refusal.
                    Assert.True(outcome.Rejection?.Code == GatewayReasons.SequenceConflict, Describe(p, outcome));
                }
                else if (p.Fault is { } kind && kind != FaultKind.Duplicate)
                {
                    AssertExpected(p, outcome);
                }
            }
            Assert.Equal(1, acceptedCopies);
        }

        static bool IsBefore(Published p) => p.Fault == FaultKind.CounterRollback;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Two_gateways_sharing_one_store_refuse_every_fault_for_its_stated_reason_whichever_takes_it(int split)
    {
        // Like MQTT shared subscriptions: each message goes to one gateway at random. Both validate against one
        // history, as gateways sharing a store do (GatewayStoreContractTests pins the store's side of that).
        var options = new GatewayOptions();
        var history = new InMemoryMeterHistory(options.DuplicateWindow);
        var gateways = new[] { (new ReadingValidator(_devices, options, history, Now), history), (new ReadingValidator(_devices, options, history, Now), history) };
        var rng = new Random(split);
        foreach (var p in _stream)
        {
            var outcome = Deliver(gateways[rng.Next(2)], p);
            if (p.Fault is null)
                Assert.True(outcome.Verdict == Verdict.Accepted, Describe(p, outcome));
            else
                AssertExpected(p, outcome);
        }
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    [InlineData(14)]
    [InlineData(15)]
    public void Two_gateways_racing_each_other_on_one_store_never_accept_a_fault_and_give_only_its_stated_reasons(int seed)
    {
        // What a real shared subscription does (scripts/rehearse on Mosquitto shows it): each message goes to one
        // gateway, each gateway takes its share in order, but the two progress at their own pace, so one may take a
        // meter's next genuine reading before the other has taken the fault published just before it.
        var options = new GatewayOptions();
        var history = new InMemoryMeterHistory(options.DuplicateWindow);
        var gateways = new[] { (new ReadingValidator(_devices, options, history, Now), history), (new ReadingValidator(_devices, options, history, Now), history) };
        var rng = new Random(seed);
        var shares = new[] { new Queue<Published>(), new Queue<Published>() };
        foreach (var p in _stream)
            shares[rng.Next(2)].Enqueue(p);
        var accepted = new Dictionary<(string, ulong), int>();
        var reasons = FaultKinds.All.ToDictionary(k => k, _ => new HashSet<string>());
        while (shares[0].Count + shares[1].Count > 0)
        {
            // A gateway runs ahead for a while, then the other catches up.
            var g = shares[0].Count == 0 ? 1 : shares[1].Count == 0 ? 0 : rng.Next(2);
            for (var burst = 1 + rng.Next(8); burst > 0 && shares[g].Count > 0; burst--)
            {
                var p = shares[g].Dequeue();
                var outcome = Deliver(gateways[g], p);
                if (outcome.Verdict == Verdict.Accepted)
                {
                    // Only a genuine reading, or its identical copy taken first, and each only once.
                    Assert.True(p.Fault is null or FaultKind.Duplicate, Describe(p, outcome));
                    Assert.Equal(p.Genuine, outcome.Reading!.Reading);
                    var key = (p.Message.PublisherId, p.Genuine.Sequence);
                    accepted[key] = accepted.GetValueOrDefault(key) + 1;
                    continue;
                }
                if (outcome.Verdict == Verdict.Duplicate)
                {
                    // A duplicate, or the genuine reading after its copy got in first (the count above says which).
                    Assert.True(p.Fault is null or FaultKind.Duplicate, Describe(p, outcome));
                    continue;
                }
                Assert.True(p.Fault is not null, Describe(p, outcome));
                var kind = p.Fault!.Value;
                var expected = kind.ExpectedGatewayOutcome();
                var code = outcome.Rejection!.Code;
                Assert.True(code == expected.Reason || code == expected.ConcurrentReason, Describe(p, outcome));
                reasons[kind].Add(code);
            }
        }
        Assert.Equal(Intervals * _fleet.Meters.Count, accepted.Count);
        Assert.All(accepted.Values, n => Assert.Equal(1, n));
        // The races did happen: some rollbacks met the genuine reading with their sequence number first.
        Assert.Equal(["register-inconsistent", "sequence-conflict"], reasons[FaultKind.CounterRollback].Order());
        // The faults that carry no sequence number of a genuine reading are refused one way only, race or not.
        foreach (var kind in FaultKinds.All.Where(k => k.ExpectedGatewayOutcome() is { Disposition: FaultDisposition.Rejected, ConcurrentReason: null }))
            Assert.Equal([kind.ExpectedGatewayOutcome().Reason!], reasons[kind]);
    }

    [Fact]
    public void A_gateway_that_never_saw_the_meter_cannot_tell_a_rollback_from_a_first_reading()
    {
        // The documented limit: the register check needs an earlier reading to compare with, so a store that
        // knows nothing of the meter (a gateway's first sight of it) cannot tell.
        var rollback = _stream.First(p => p.Fault == FaultKind.CounterRollback);
        var fresh = NewGateway();
        Assert.Equal(Verdict.Accepted, fresh.Validator.Validate(rollback.Topic, rollback.Message.Payload).Verdict);
        // One that saw any earlier reading of the meter refuses it.
        var seen = NewGateway();
        Deliver(seen, _stream.First(p => p.Fault is null && p.Message.PublisherId == rollback.Message.PublisherId));
        Assert.Equal(GatewayReasons.RegisterInconsistent, seen.Validator.Validate(rollback.Topic, rollback.Message.Payload).Rejection?.Code);
    }
}
