using GreenTrace.Ledger;
using GreenTrace.Ledger.Storage;
using GreenTrace.Pipeline.Tests.Support;
using GreenTrace.Streaming;

namespace GreenTrace.Pipeline.Tests.Aggregator;

/// <summary>
/// Nothing lost, nothing counted twice across a crash: the aggregator dies part-way, a new one
/// (same archive, same consumer group) replays from the committed offsets.
/// </summary>
public sealed class CrashReplayTests : IDisposable
{
    private readonly TestMeter[] _meters;

    public CrashReplayTests()
    {
        // Two meters share a partition (so one's progress can make the other's readings late), one is alone.
        _meters = AggregatorRig.MeterIds(together: 2, apart: 1).Select(id => new TestMeter(id)).ToArray();
    }

    public void Dispose()
    {
        foreach (var m in _meters)
            m.Dispose();
    }

    public static TheoryData<int, int> CrashPoints()
    {
        var data = new TheoryData<int, int>();
        foreach (var crashAfter in new[] { 1, 7, 23, 40, 47, 52, 61, 71 })
        {
            data.Add(crashAfter, 5); // committing every 5 records
            data.Add(crashAfter, 1000); // never committed before the crash: the replay starts from the beginning
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(CrashPoints))]
    public async Task EveryReadingEndsInExactlyOneCertificate(int crashAfter, int commitEvery)
    {
        using var rig = new AggregatorRig(900, _meters);
        await ProduceDayWithAnOutage(rig);
        Assert.InRange(crashAfter, 1, rig.Produced.Count - 1);

        var first = rig.NewEngine();
        var beforeCrash = rig.NewConsumer("aggregator-1");
        Assert.Equal(crashAfter, await rig.PumpAsync(first, beforeCrash, limit: crashAfter, commitEvery: commitEvery));
        beforeCrash.Dispose(); // the crash: no goodbye, nothing committed since the last periodic commit

        // What the replay must read again, and which of those readings are already in a certificate.
        var committed = Enumerable.Range(0, AggregatorRig.Partitions).ToDictionary(p => p, p => rig.Log.CommittedOffset(AggregatorRig.Group, new TopicPartition(Topics.Readings, p)) ?? 0);
        var reread = rig.Produced.Where(p => p.Position.Offset >= committed[p.Position.Partition]).ToList();
        var certifiedBeforeCrash = rig.Issued.SelectMany(c => rig.Archive.Load(c.Id)!).Select(b => TestMeter.Decode(b).Reading).Select(r => (r.MeterId, r.Sequence)).ToHashSet();
        var issuedBeforeCrash = rig.Issued.Count;

        var second = rig.NewEngine();
        using var afterCrash = rig.NewConsumer("aggregator-2");
        await rig.PumpAsync(second, afterCrash, commitEvery: commitEvery);
        await rig.DrainAsync(second, afterCrash);

        Assert.Equal(reread.Count, second.Stats.Consumed);
        Assert.Equal(reread.Count(p => certifiedBeforeCrash.Contains((p.Meter, p.Reading.Sequence))), second.Stats.AlreadyCertified);
        Assert.Equal(0, second.Stats.Duplicates);
        if (commitEvery > crashAfter)
            Assert.Equal(certifiedBeforeCrash.Count, second.Stats.AlreadyCertified);
        var certificates = rig.LedgerCertificates();
        Assert.Equal(rig.Issued.Count, certificates.Count);
        Assert.True(issuedBeforeCrash <= certificates.Count);
        Assert.Equal(certificates.Count, certificates.Select(c => c.IdHex).Distinct().Count()); // no certificate twice

        // Each reading in exactly one certificate, byte for byte.
        var certifiedReadings = certificates.SelectMany(c => rig.Archive.Load(c.Id)!.Select(bytes => (Cert: c, Reading: TestMeter.Decode(bytes).Reading, Bytes: bytes))).ToList();
        Assert.Equal(rig.Produced.Count, certifiedReadings.Count);
        Assert.Equal(
            rig.Produced.Select(p => (p.Meter, p.Reading.Sequence)).Order(),
            certifiedReadings.Select(r => (r.Reading.MeterId, r.Reading.Sequence)).Order());
        Assert.All(certifiedReadings, r => Assert.Equal(rig.Produced.Single(p => p.Meter == r.Reading.MeterId && p.Reading.Sequence == r.Reading.Sequence).Encoded, r.Bytes));
        Assert.All(certifiedReadings, r => Assert.Equal(r.Cert.PeriodStart, r.Reading.HourStart));

        // The reconciliation an operator runs: certified Wh per meter = Wh of the readings.
        var totals = rig.Archive.TotalsByMeter();
        foreach (var meter in _meters)
        {
            var fed = rig.Produced.Where(p => p.Meter == meter.Id).ToList();
            Assert.Equal(fed.Sum(p => (long)p.Reading.EnergyWh), totals[meter.Id].Wh);
            Assert.Equal(fed.Count, totals[meter.Id].Readings);
            Assert.Equal(fed.Sum(p => (long)p.Reading.EnergyWh), certificates.Where(c => c.MeterId == meter.Id).Sum(c => (long)c.FaceValueWh));
        }

        // And the ledger takes every certificate: none refused as a duplicate or for its content.
        using var dir = new TempDirectory();
        using var node = new LedgerNode(new SqliteLedgerStore(dir.File("ledger.db")), rig.Ledger.Trust, rig.Ledger.Node);
        Assert.All(node.Submit(_meters.Select(m => (ReadOnlyMemory<byte>)rig.Ledger.Registration(m.Device)).ToList()), o => Assert.True(o.Accepted));
        var outcomes = node.Submit(rig.Log.ReadAll(Topics.Ledger).Select(r => r.Value).ToList());
        Assert.All(outcomes, o => Assert.True(o.Accepted, o.Rejection?.ToString()));
    }

    /// <summary>
    /// Six hours of 15-minute readings from each meter, interleaved by time; the first meter goes
    /// offline for two hours and then sends its buffer, so part of its readings arrive late.
    /// </summary>
    private async Task ProduceDayWithAnOutage(AggregatorRig rig)
    {
        var random = new Random(42);
        var series = _meters.Select(m => new ReadingSeries(m, AggregatorRig.H)).ToArray();
        var buffered = new List<byte[]>();
        for (var slot = 0; slot < 24; slot++)
        {
            for (var m = 0; m < series.Length; m++)
            {
                var (_, encoded) = series[m].Next((ulong)random.Next(0, 1001));
                if (m == 0 && slot is >= 6 and < 14)
                {
                    buffered.Add(encoded); // offline: kept in the meter
                    continue;
                }
                if (m == 0 && slot == 14)
                {
                    foreach (var b in buffered)
                        await rig.ProduceAsync(b);
                    buffered.Clear();
                }
                await rig.ProduceAsync(encoded);
            }
        }
        Assert.Empty(buffered);
        Assert.Equal(72, rig.Produced.Count);
    }
}
