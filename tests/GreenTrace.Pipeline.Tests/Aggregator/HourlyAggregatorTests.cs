using GreenTrace.Aggregator;
using GreenTrace.Core.Readings;
using GreenTrace.Pipeline.Tests.Support;
using GreenTrace.Streaming;

namespace GreenTrace.Pipeline.Tests.Aggregator;

public sealed class HourlyAggregatorTests : IDisposable
{
    private const long H = AggregatorRig.H;

    private readonly TestMeter _a; // _a and _b share a partition; _c is on the other
    private readonly TestMeter _b;
    private readonly TestMeter _c;

    public HourlyAggregatorTests()
    {
        var ids = AggregatorRig.MeterIds(together: 2, apart: 1);
        (_a, _b, _c) = (new TestMeter(ids[0]), new TestMeter(ids[1]), new TestMeter(ids[2]));
    }

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
        _c.Dispose();
    }

    [Fact]
    public async Task AWindowClosesOnlyOnceItsPartitionsWatermarkPassesTheHourEndPlusTheAllowedLateness()
    {
        using var rig = new AggregatorRig(1000, _a, _b, _c);
        var engine = rig.NewEngine();
        using var consumer = rig.NewConsumer("member-1");
        var partitionA = new TopicPartition(Topics.Readings, AggregatorRig.PartitionOf(_a.Id));
        var partitionC = new TopicPartition(Topics.Readings, AggregatorRig.PartitionOf(_c.Id));
        var a = new ReadingSeries(_a, H);
        var b = new ReadingSeries(_b, H + 3600);
        var c = new ReadingSeries(_c, H + (5 * 3600));

        async Task<IReadOnlyList<PendingCertificate>> Feed(ReadingSeries series, ulong wh)
        {
            await rig.ProduceAsync(series.Next(wh).Encoded);
            var record = consumer.Consume(Wait.SafetyNet, TestContext.Current.CancellationToken)!;
            Assert.Null(engine.Add(record));
            return engine.CloseDue(new TopicPartition(record.Topic, record.Partition));
        }

        for (var i = 0; i < 4; i++)
            Assert.Empty(await Feed(a, 100)); // watermark reaches H+1h, the end of the hour: not yet
        Assert.Empty(await Feed(c, 100)); // hours later, but on the other partition
        Assert.Empty(engine.CloseDue(partitionA));
        Assert.Empty(await Feed(b, 100)); // watermark H+1h15m: 900 s past the hour, lateness is 1000
        Assert.Equal(3, engine.OpenWindows);

        var due = await Feed(b, 100); // watermark H+1h30m: past hour end + lateness

        var closed = Assert.Single(due);
        Assert.Equal((_a.Id, H), closed.Window);
        Assert.Equal(partitionA, closed.Partition);
        Assert.Equal(0, closed.Certificate.Part);
        Assert.Equal(4, closed.Certificate.ReadingCount);
        Assert.Equal(400ul, closed.Certificate.FaceValueWh);
        Assert.Equal((H, H + 3600), (closed.Certificate.PeriodStart, closed.Certificate.PeriodEnd));
        Assert.Empty(engine.CloseDue(partitionC));
        Assert.Equal(3, engine.OpenWindows); // until the entry is durable, the window stays
        await rig.IssueAsync(engine, due);
        Assert.Equal(2, engine.OpenWindows);
        Assert.Equal(1, engine.Stats.Certificates);
        Assert.Empty(engine.CloseDue(partitionA)); // closed once only
    }

    [Fact]
    public async Task CloseAllDrainsEveryOpenWindow()
    {
        using var rig = new AggregatorRig(3600, _a, _b, _c);
        foreach (var meter in new[] { _a, _b, _c })
        {
            var series = new ReadingSeries(meter, H);
            for (var i = 0; i < 6; i++) // an hour and a half, within the hour of lateness
                await rig.ProduceAsync(series.Next(50).Encoded);
        }
        var engine = rig.NewEngine();
        using var consumer = rig.NewConsumer("member-1");
        await rig.PumpAsync(engine, consumer);
        Assert.Equal(6, engine.OpenWindows); // nothing is past its lateness: both hours of every meter are open

        await rig.DrainAsync(engine, consumer);

        Assert.Equal(0, engine.OpenWindows);
        Assert.Equal(6, rig.Issued.Count);
        Assert.Equal(6, rig.LedgerCertificates().Count);
        Assert.Equal(18, engine.Stats.ReadingsCertified);
        Assert.Empty(engine.CloseAll());
        // Everything is certified, so the group may commit the end of each partition.
        foreach (var p in Enumerable.Range(0, AggregatorRig.Partitions))
        {
            var tp = new TopicPartition(Topics.Readings, p);
            Assert.Equal(rig.Log.EndOffset(tp), rig.Log.CommittedOffset(AggregatorRig.Group, tp));
        }
    }

    [Fact]
    public async Task CommitPositionsNeverPassTheOldestReadingInAnOpenWindow()
    {
        using var rig = new AggregatorRig(900, _a, _b, _c);
        var series = new[] { _a, _b, _c }.Select(m => new ReadingSeries(m, H)).ToArray();
        for (var i = 0; i < 16; i++) // four hours of each, interleaved
        {
            foreach (var s in series)
                await rig.ProduceAsync(s.Next((ulong)(10 + i)).Encoded);
        }
        var engine = rig.NewEngine();
        using var consumer = rig.NewConsumer("member-1");
        var open = new Dictionary<int, SortedSet<long>>(); // partition -> offsets of readings in open windows
        var last = new Dictionary<int, long>();
        var sawOpenWindowHoldBack = false;

        while (consumer.Consume(TimeSpan.FromMilliseconds(20), TestContext.Current.CancellationToken) is { } record)
        {
            Assert.Null(engine.Add(record));
            open.TryAdd(record.Partition, []);
            open[record.Partition].Add(record.Offset);
            last[record.Partition] = record.Offset;
            var due = engine.CloseDue(new TopicPartition(record.Topic, record.Partition));
            await rig.IssueAsync(engine, due);
            foreach (var cert in due.Select(d => d.Certificate))
            {
                var certified = rig.Produced.Where(p => p.Meter == cert.MeterId && p.Reading.HourStart == cert.PeriodStart).Select(p => p.Position.Offset);
                open[record.Partition].ExceptWith(certified);
            }

            foreach (var position in engine.CommitPositions())
            {
                var expected = open[position.Partition].Count > 0 ? open[position.Partition].Min : last[position.Partition] + 1;
                Assert.Equal(expected, position.Offset);
                sawOpenWindowHoldBack |= position.Offset <= last[position.Partition];
            }
        }

        Assert.True(sawOpenWindowHoldBack);
        Assert.True(engine.Stats.Certificates > 0);
        await rig.DrainAsync(engine, consumer);
        Assert.All(engine.CommitPositions(), p => Assert.Equal(last[p.Partition] + 1, p.Offset));
    }

    [Fact]
    public async Task AReadingArrivingAfterItsHourClosedGoesIntoASupplementaryCertificate()
    {
        using var rig = new AggregatorRig(900, _a, _b);
        var a = new ReadingSeries(_a, H);
        var b = new ReadingSeries(_b, H);
        var early = new[] { a.Next(100), a.Next(110) }; // meter a then falls silent…
        foreach (var r in early)
            await rig.ProduceAsync(r.Encoded);
        for (var i = 0; i < 12; i++) // …while b, on the same partition, moves the watermark three hours on
            await rig.ProduceAsync(b.Next(200).Encoded);
        var late = new[] { a.Next(120), a.Next(130) }; // a's buffered rest of the hour
        foreach (var r in late)
            await rig.ProduceAsync(r.Encoded);

        var engine = rig.NewEngine();
        using var consumer = rig.NewConsumer("member-1");
        await rig.PumpAsync(engine, consumer);
        await rig.DrainAsync(engine, consumer);

        var ofA = rig.Issued.Where(c => c.MeterId == _a.Id).ToList();
        Assert.Equal(2, ofA[0].ReadingCount);
        Assert.Equal(0, ofA[0].Part);
        Assert.Equal(210ul, ofA[0].FaceValueWh);
        Assert.All(ofA, c => Assert.Equal(H, c.PeriodStart));
        Assert.True(ofA.Skip(1).All(c => c.Part > 0), "late readings go into supplementary parts");
        Assert.Equal(Enumerable.Range(0, ofA.Count), ofA.Select(c => c.Part)); // parts 0, 1, 2… in issue order
        Assert.Equal(ofA.Count, ofA.Select(c => c.IdHex).Distinct().Count());
        Assert.Equal(460ul, (ulong)ofA.Sum(c => (long)c.FaceValueWh)); // nothing dropped
        Assert.Equal(ofA.Count - 1, engine.Stats.SupplementaryCertificates);
        var archivedLate = ofA.Skip(1).SelectMany(c => rig.Archive.Load(c.Id)!).ToList();
        Assert.Equal(late.Select(r => r.Encoded), archivedLate);
    }

    [Fact]
    public async Task AReadingAlreadyCertifiedIsSkippedNotCountedAgain()
    {
        using var rig = new AggregatorRig(900, _a);
        var a = new ReadingSeries(_a, H);
        for (var i = 0; i < 4; i++)
            await rig.ProduceAsync(a.Next(100).Encoded);
        var first = rig.NewEngine();
        using (var consumer = rig.NewConsumer("member-1"))
        {
            await rig.PumpAsync(first, consumer);
            await rig.IssueAsync(first, first.CloseAll());
            // Crash before committing: the whole partition will be read again.
        }

        var second = rig.NewEngine();
        using var again = rig.NewConsumer("member-2");
        Assert.Equal(4, await rig.PumpAsync(second, again));

        Assert.Equal(4, second.Stats.AlreadyCertified);
        Assert.Equal(0, second.OpenWindows);
        Assert.Empty(second.CloseAll());
        Assert.Single(rig.LedgerCertificates());
        Assert.Equal(rig.Log.EndOffset(new TopicPartition(Topics.Readings, AggregatorRig.PartitionOf(_a.Id))), Assert.Single(second.CommitPositions()).Offset);
    }

    [Fact]
    public async Task ADuplicateInAWindowIsCountedAndCertifiedOnce()
    {
        using var rig = new AggregatorRig(900, _a);
        var a = new ReadingSeries(_a, H);
        var readings = Enumerable.Range(0, 4).Select(_ => a.Next(100)).ToList();
        await rig.ProduceAsync(readings[0].Encoded);
        await rig.ProduceAsync(readings[1].Encoded);
        await rig.ProduceAsync(readings[1].Encoded); // redelivered
        await rig.ProduceAsync(_a.Sign(readings[1].Reading)); // re-signed by the meter: other bytes, same reading
        await rig.ProduceAsync(readings[2].Encoded);
        await rig.ProduceAsync(readings[3].Encoded);

        var engine = rig.NewEngine();
        using var consumer = rig.NewConsumer("member-1");
        await rig.PumpAsync(engine, consumer);
        await rig.DrainAsync(engine, consumer);

        Assert.Equal(2, engine.Stats.Duplicates);
        var cert = Assert.Single(rig.Issued);
        Assert.Equal(4, cert.ReadingCount);
        Assert.Equal(400ul, cert.FaceValueWh);
        Assert.Equal(readings.Select(r => r.Encoded), rig.Archive.Load(cert.Id)); // the first copy is the one certified
    }

    [Fact]
    public async Task TheWhOfEachMetersCertificatesEqualsTheWhOfItsReadings()
    {
        using var rig = new AggregatorRig(900, _a, _b, _c);
        var random = new Random(20250601);
        var series = new[] { _a, _b, _c }.ToDictionary(m => m.Id, m => new ReadingSeries(m, H));
        for (var i = 0; i < 60; i++)
        {
            var meter = series.Keys.ElementAt(random.Next(3));
            await rig.ProduceAsync(series[meter].Next((ulong)random.Next(0, 1001)).Encoded);
        }

        var engine = rig.NewEngine();
        using var consumer = rig.NewConsumer("member-1");
        await rig.PumpAsync(engine, consumer);
        await rig.DrainAsync(engine, consumer);

        var totals = rig.Archive.TotalsByMeter();
        foreach (var meter in series.Keys)
        {
            var fed = rig.Produced.Where(p => p.Meter == meter).ToList();
            var certified = rig.LedgerCertificates().Where(c => c.MeterId == meter).ToList();
            Assert.Equal(fed.Sum(p => (long)p.Reading.EnergyWh), certified.Sum(c => (long)c.FaceValueWh));
            Assert.Equal(fed.Count, certified.Sum(c => c.ReadingCount));
            Assert.Equal((certified.Count, fed.Count, fed.Sum(p => (long)p.Reading.EnergyWh)), totals[meter]);
        }
        Assert.Equal(rig.Produced.Sum(p => (long)p.Reading.EnergyWh), engine.Stats.WhCertified);
    }

    [Fact]
    public async Task RecordsTheAggregatorCannotCertifyAreRejectedWithAReasonNotFatalAndConsumptionIsSkipped()
    {
        using var consumptionMeter = new TestMeter(_b.Id + "-con", EnergyDirection.Consumption);
        using var unregistered = new TestMeter("meter-unregistered");
        using var rig = new AggregatorRig(900, _a, consumptionMeter);
        var good = new ReadingSeries(_a, H);
        await rig.ProduceAsync(good.Next(100).Encoded);
        await rig.ProduceRawAsync(consumptionMeter.Id, consumptionMeter.Sign(consumptionMeter.Reading(1, H, 100, 1_000)));
        // Says "generation", but the meter is registered for consumption (the gateway would have refused it).
        await rig.ProduceRawAsync(consumptionMeter.Id, consumptionMeter.Sign(consumptionMeter.Reading(2, H + 900, 100, 1_100, direction: EnergyDirection.Generation)));
        await rig.ProduceRawAsync(unregistered.Id, unregistered.Sign(unregistered.Reading(1, H, 100, 1_000)));
        await rig.ProduceRawAsync(_a.Id, "garbage"u8.ToArray());
        await rig.ProduceAsync(good.Next(100).Encoded);

        var engine = rig.NewEngine();
        using var consumer = rig.NewConsumer("member-1");
        var codes = new List<string?>();
        while (consumer.Consume(TimeSpan.FromMilliseconds(20), TestContext.Current.CancellationToken) is { } record)
        {
            codes.Add(engine.Add(record)?.Code);
            await rig.IssueAsync(engine, engine.CloseDue(new TopicPartition(record.Topic, record.Partition)));
        }
        await rig.DrainAsync(engine, consumer);

        Assert.Equal(
            ["aggregator-direction-mismatch", "aggregator-meter-unknown", ReadingReasons.CoseMalformed],
            codes.OfType<string>().Order(StringComparer.Ordinal));
        Assert.Equal(3, codes.Count(c => c is null)); // two good readings and one consumption reading
        Assert.Equal(3, engine.Stats.Rejected);
        Assert.Equal(1, engine.Stats.Consumption);
        var cert = Assert.Single(rig.Issued);
        Assert.Equal(_a.Id, cert.MeterId);
        Assert.Equal(2, cert.ReadingCount);
    }

    [Fact]
    public async Task ConsumptionReadingsAreArchivedForMatchingBeforeTheirOffsetIsCommittedAndNeverTwice()
    {
        using var buyer = new TestMeter(_b.Id + "-con", EnergyDirection.Consumption);
        using var rig = new AggregatorRig(900, _a, buyer);
        var first = buyer.Sign(buyer.Reading(1, H, 120, 1_120));
        var second = buyer.Sign(buyer.Reading(2, H + 900, 80, 1_200));
        var third = buyer.Sign(buyer.Reading(3, H + 3600, 50, 1_250));
        foreach (var r in new[] { first, second, third })
            await rig.ProduceRawAsync(buyer.Id, r);

        var engine = rig.NewEngine();
        using (var consumer = rig.NewConsumer("member-1"))
        {
            Assert.Equal(3, await rig.PumpAsync(engine, consumer));
            // Taken, not yet durable: nothing is archived and nothing committed until the commit asks for positions.
            Assert.Null(rig.Archive.FindConsumption(buyer.Id, 1));
            consumer.Commit(engine.CommitPositions());
        }
        Assert.Equal(first, rig.Archive.FindConsumption(buyer.Id, 1));
        Assert.Equal([(H, 200L, 2), (H + 3600, 50L, 1)], rig.Archive.ConsumptionByHour(buyer.Id, long.MinValue, long.MaxValue));
        Assert.Equal(3, engine.Stats.Consumption);

        // A new member after a crash before the commit replays from the start: the same readings are duplicates, a
        // different reading under a used sequence number is refused, and a new one is archived once.
        var conflicting = buyer.Sign(buyer.Reading(2, H + 900, 999, 2_119));
        var fourth = buyer.Sign(buyer.Reading(4, H + 4500, 70, 1_320));
        foreach (var r in new[] { first, conflicting, fourth, fourth })
            await rig.ProduceRawAsync(buyer.Id, r);
        var again = rig.NewEngine();
        using var replay = rig.Log.CreateConsumer("replayer", "member-2");
        replay.Subscribe([Topics.Readings]);
        var codes = new List<string?>();
        while (replay.Consume(TimeSpan.FromMilliseconds(20), TestContext.Current.CancellationToken) is { } record)
            codes.Add(again.Add(record)?.Code);
        replay.Commit(again.CommitPositions());
        Assert.Equal([null, null, null, null, "aggregator-sequence-conflict", null, null], codes);
        Assert.Equal(1, again.Stats.Consumption);
        Assert.Equal(5, again.Stats.Duplicates);
        Assert.Equal([(H, 200L, 2), (H + 3600, 120L, 2)], rig.Archive.ConsumptionByHour(buyer.Id, long.MinValue, long.MaxValue));
        Assert.Equal((4L, 320L), rig.Archive.ConsumptionTotalsByMeter()[buyer.Id]);
        Assert.Empty(rig.Issued);
    }

    [Fact]
    public async Task LateReadingsOfOneHourShareOneSupplementaryCertificate()
    {
        using var rig = new AggregatorRig(900, _a, _b);
        var a = new ReadingSeries(_a, H);
        var b = new ReadingSeries(_b, H);
        await rig.ProduceAsync(a.Next(100).Encoded); // meter a goes offline after its first reading…
        for (var i = 0; i < 16; i++) // …while b moves the watermark four hours on
            await rig.ProduceAsync(b.Next(200).Encoded);
        for (var i = 0; i < 7; i++) // a's backlog: the rest of hour H and all of hour H+1
            await rig.ProduceAsync(a.Next(10).Encoded);

        var engine = rig.NewEngine();
        using var consumer = rig.NewConsumer("member-1");
        await rig.PumpAsync(engine, consumer);
        await rig.DrainAsync(engine, consumer);

        var ofA = rig.Issued.Where(c => c.MeterId == _a.Id).OrderBy(c => c.PeriodStart).ThenBy(c => c.Part).ToList();
        Assert.Equal([(H, 0, 1), (H, 1, 3), (H + 3600, 0, 4)], ofA.Select(c => (c.PeriodStart, c.Part, c.ReadingCount)));
        Assert.Equal(170ul, (ulong)ofA.Sum(c => (long)c.FaceValueWh));
    }

    [Fact]
    public async Task AReusedSequenceWithOtherContentIsRefusedWhereverTheFirstCopyIs()
    {
        using var rig = new AggregatorRig(900, _a);
        var a = new ReadingSeries(_a, H);
        var readings = Enumerable.Range(0, 8).Select(_ => a.Next(100)).ToList();
        foreach (var r in readings.Take(4))
            await rig.ProduceAsync(r.Encoded);
        var engine = rig.NewEngine();
        using var consumer = rig.NewConsumer("member-1");
        await rig.PumpAsync(engine, consumer);
        await rig.DrainAsync(engine, consumer); // hour H certified

        await rig.ProduceAsync(readings[4].Encoded); // hour H+1 opens
        // Same sequence numbers, other content: one against the certified hour, one against the open window, one in another hour.
        var forgedCertified = readings[1].Reading with { EnergyWh = 999, RegisterWh = readings[1].Reading.RegisterWh + 899 };
        var forgedOpen = readings[4].Reading with { EnergyWh = 5 };
        var forgedOtherHour = readings[4].Reading with { Start = H + (3 * 3600), End = H + (3 * 3600) + 900 };
        foreach (var forged in new[] { forgedCertified, forgedOpen, forgedOtherHour })
            await rig.ProduceAsync(_a.Sign(forged));
        foreach (var r in readings.Skip(5))
            await rig.ProduceAsync(r.Encoded);

        var rejections = new List<string>();
        while (consumer.Consume(TimeSpan.FromMilliseconds(20), TestContext.Current.CancellationToken) is { } record)
        {
            if (engine.Add(record) is { } why)
                rejections.Add(why.Code);
        }
        await rig.DrainAsync(engine, consumer);

        Assert.Equal(["aggregator-sequence-conflict", "aggregator-sequence-conflict", "aggregator-sequence-conflict"], rejections);
        Assert.Equal(2, rig.Issued.Count);
        Assert.Equal(800ul, (ulong)rig.Issued.Sum(c => (long)c.FaceValueWh));
        Assert.Equal(readings.Skip(4).Select(r => r.Encoded), rig.Archive.Load(rig.Issued[1].Id));
    }

    [Fact]
    public async Task ACertificateArchivedButNeverSentWaitsInTheOutboxAcrossACrash()
    {
        using var rig = new AggregatorRig(900, _a);
        var a = new ReadingSeries(_a, H);
        for (var i = 0; i < 4; i++)
            await rig.ProduceAsync(a.Next(100).Encoded);
        var first = rig.NewEngine();
        using (var consumer = rig.NewConsumer("member-1"))
        {
            await rig.PumpAsync(first, consumer);
            var due = first.CloseAll(); // archived and signed…
            Assert.Single(due);
            // …and the process dies before the entry reaches the ledger stream.
        }
        Assert.Empty(rig.LedgerCertificates());

        var second = rig.NewEngine();
        var pending = Assert.Single(second.Unsubmitted());
        await rig.Log.CreateProducer().ProduceAsync(Topics.Ledger, pending.MeterId, pending.Entry, TestContext.Current.CancellationToken);
        second.MarkSubmitted(pending);
        using var again = rig.NewConsumer("member-2");
        await rig.PumpAsync(second, again);

        Assert.Empty(second.Unsubmitted());
        Assert.Equal(4, second.Stats.AlreadyCertified); // replayed readings are not certified twice
        var onLedger = Assert.Single(rig.LedgerCertificates());
        Assert.Equal(400ul, onLedger.FaceValueWh);
    }

    [Fact]
    public async Task AReadingOverlappingAnotherOfItsHourIsRefusedNotCountedTwice()
    {
        using var rig = new AggregatorRig(900, _a);
        var a = new ReadingSeries(_a, H);
        var readings = Enumerable.Range(0, 4).Select(_ => a.Next(100)).ToList();
        await rig.ProduceAsync(readings[0].Encoded);
        await rig.ProduceAsync(readings[1].Encoded);
        // The second quarter again, under a new sequence number.
        await rig.ProduceAsync(_a.Sign(readings[1].Reading with { Sequence = 50, RegisterWh = readings[1].Reading.RegisterWh + 100 }));
        await rig.ProduceAsync(readings[2].Encoded);
        await rig.ProduceAsync(readings[3].Encoded);

        var engine = rig.NewEngine();
        using var consumer = rig.NewConsumer("member-1");
        var codes = new List<string>();
        while (consumer.Consume(TimeSpan.FromMilliseconds(20), TestContext.Current.CancellationToken) is { } record)
        {
            if (engine.Add(record) is { } why)
                codes.Add(why.Code);
        }
        await rig.DrainAsync(engine, consumer);

        Assert.Equal(["aggregator-interval-overlap"], codes);
        var cert = Assert.Single(rig.Issued);
        Assert.Equal((4, 400ul), (cert.ReadingCount, cert.FaceValueWh));
    }

    [Fact]
    public async Task AReadingForAnHourWhoseCertificateIsStillBeingSentGetsTheNextPartNotLost()
    {
        using var rig = new AggregatorRig(900, _a);
        var a = new ReadingSeries(_a, H);
        var hour = Enumerable.Range(0, 4).Select(_ => a.Next(100)).ToList();
        var engine = rig.NewEngine();
        using var consumer = rig.NewConsumer("member-1");
        foreach (var r in hour.Take(3))
            await rig.ProduceAsync(r.Encoded);
        await rig.PumpAsync(engine, consumer);
        var closing = Assert.Single(engine.CloseAll()); // archived, entry not yet durable

        await rig.ProduceAsync(hour[3].Encoded); // the hour's last quarter arrives in between
        await rig.PumpAsync(engine, consumer);
        var supplementary = Assert.Single(engine.CloseAll());
        await rig.IssueAsync(engine, [closing, supplementary]);

        Assert.Equal((0, 1), (closing.Certificate.Part, supplementary.Certificate.Part));
        Assert.Equal(400ul, (ulong)rig.LedgerCertificates().Sum(c => (long)c.FaceValueWh));
        Assert.Equal(0, engine.OpenWindows);
    }

    [Fact]
    public async Task TwoMembersSharingTheArchiveNeverCertifyAReadingTwiceWhenBothHoldAPartition()
    {
        // A partition moved while its old owner still worked (a "zombie"): both hold the same readings.
        using var rig = new AggregatorRig(900, _a);
        var a = new ReadingSeries(_a, H);
        var hour = Enumerable.Range(0, 4).Select(_ => a.Next(100 + (ulong)_a.Id.Length)).ToList();
        foreach (var r in hour)
            await rig.ProduceAsync(r.Encoded);
        var zombie = rig.NewEngine();
        var owner = rig.NewEngine();
        using var zombieConsumer = rig.Log.CreateConsumer("old-group", "zombie");
        zombieConsumer.Subscribe([Topics.Readings]);
        using var ownerConsumer = rig.NewConsumer("owner");

        // The zombie saw only the first three readings when it closed its window.
        for (var i = 0; i < 3; i++)
            Assert.Null(zombie.Add(zombieConsumer.Consume(Wait.SafetyNet, TestContext.Current.CancellationToken)!));
        // The owner read all four before either closed.
        await rig.PumpAsync(owner, ownerConsumer);
        var zombieCertificate = Assert.Single(zombie.CloseAll());

        Assert.Empty(owner.CloseAll()); // its part 0 is taken, three readings are certified: it keeps the fourth
        Assert.Equal(3, owner.Stats.RaceLost);
        var supplementary = Assert.Single(owner.CloseDue(new TopicPartition(Topics.Readings, AggregatorRig.PartitionOf(_a.Id))));
        await rig.IssueAsync(zombie, [zombieCertificate]);
        await rig.IssueAsync(owner, [supplementary]);

        Assert.Equal((3, 1), (zombieCertificate.Certificate.ReadingCount, supplementary.Certificate.ReadingCount));
        Assert.Equal(1, supplementary.Certificate.Part);
        Assert.Equal(hour.Sum(r => (long)r.Reading.EnergyWh), rig.LedgerCertificates().Sum(c => (long)c.FaceValueWh));
    }
}
