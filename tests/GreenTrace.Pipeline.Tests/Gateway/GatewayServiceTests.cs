using GreenTrace.Core.Readings;
using GreenTrace.Gateway;
using GreenTrace.Pipeline.Tests.Support;
using GreenTrace.Streaming;

namespace GreenTrace.Pipeline.Tests.Gateway;

/// <summary>The gateway end to end: meters publish over MQTT to the real embedded broker; the gateway writes the stream.</summary>
public sealed class GatewayServiceTests : IDisposable
{
    private readonly TestMeter _a = new("meter-a");
    private readonly TestMeter _b = new("meter-b");

    // Yesterday, on the hour: readings in the past, whatever the test machine's clock says.
    private readonly long _start = (DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 3600 * 3600) - 86_400;

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
    }

    [Fact]
    public async Task GoodReadingsLandOnTheReadingsStreamKeyedByMeterInPublishOrder()
    {
        await using var pipeline = await GatewayHarness.StartAsync([_a, _b]);
        var meterA = await pipeline.ConnectAsync(_a.Id);
        var meterB = await pipeline.ConnectAsync(_b.Id);
        var seriesA = new ReadingSeries(_a, _start);
        var seriesB = new ReadingSeries(_b, _start, firstSequence: 100);
        var sentA = new List<(Reading Reading, byte[] Encoded)>();
        var sentB = new List<(Reading Reading, byte[] Encoded)>();
        for (var i = 0; i < 6; i++)
        {
            sentA.Add(seriesA.Next((ulong)(100 + i)));
            await GatewayHarness.PublishAcceptedAsync(meterA, _a.Topic, sentA[^1].Encoded);
            if (i % 2 == 0)
            {
                sentB.Add(seriesB.Next((ulong)(200 + i)));
                await GatewayHarness.PublishAcceptedAsync(meterB, _b.Topic, sentB[^1].Encoded);
            }
        }

        await pipeline.HandledAsync(sentA.Count + sentB.Count);

        var records = pipeline.Readings;
        Assert.Equal(sentA.Count + sentB.Count, records.Count);
        foreach (var (meter, sent) in new[] { (_a, sentA), (_b, sentB) })
        {
            var ofMeter = records.Where(r => r.Key == meter.Id).OrderBy(r => r.Offset).ToList();
            Assert.Single(ofMeter.Select(r => r.Partition).Distinct());
            Assert.Equal(Partitioner.PartitionFor(meter.Id, pipeline.Log.PartitionCount(Topics.Readings)), ofMeter[0].Partition);
            Assert.Equal(sent.Select(s => s.Encoded), ofMeter.Select(r => r.Value.ToArray())); // byte for byte, in order
            Assert.Equal(sent.Sum(s => (long)s.Reading.EnergyWh), pipeline.Stats.AcceptedWhByMeter[meter.Id]);
        }
        Assert.Empty(pipeline.Log.ReadAll(Topics.RejectedReadings));
        Assert.Equal(sentA.Count + sentB.Count, pipeline.Stats.Accepted);
        Assert.Equal(0, pipeline.Stats.Rejected);
    }

    [Fact]
    public async Task AForgedReadingGoesToTheRejectedStreamWithItsReasonAndItsRawBytes()
    {
        await using var pipeline = await GatewayHarness.StartAsync([_a]);
        var meter = await pipeline.ConnectAsync(_a.Id);
        var forged = _a.Forge(_a.Reading(1, _start, 250, 10_250));

        await GatewayHarness.PublishAcceptedAsync(meter, _a.Topic, forged);
        await pipeline.HandledAsync(1);

        var record = Assert.Single(pipeline.Log.ReadAll(Topics.RejectedReadings));
        Assert.Equal(_a.Id, record.Key);
        var rejected = RejectedReading.FromJson(record.Value.Span);
        Assert.Equal(ReadingReasons.SignatureInvalid, rejected.Reason);
        Assert.Equal(forged, rejected.Payload);
        Assert.Equal(_a.Id, rejected.MeterId);
        Assert.Equal(_a.Topic, rejected.SourceTopic);
        Assert.Equal(GatewayHarness.GatewayClientId, rejected.RejectedBy);
        Assert.False(string.IsNullOrWhiteSpace(rejected.Message));
        Assert.Empty(pipeline.Readings);
        Assert.Equal(1, pipeline.Stats.RejectedByReason[ReadingReasons.SignatureInvalid]);
    }

    [Fact]
    public async Task GarbageIsRejectedAsMalformedWithItsBytes()
    {
        await using var pipeline = await GatewayHarness.StartAsync([_a]);
        var meter = await pipeline.ConnectAsync(_a.Id);
        var garbage = "{\"wh\": 1000000}"u8.ToArray();

        await GatewayHarness.PublishAcceptedAsync(meter, _a.Topic, garbage);
        await GatewayHarness.PublishAcceptedAsync(meter, _a.Topic, []);
        await pipeline.HandledAsync(2);

        Assert.Equal([ReadingReasons.CoseMalformed, ReadingReasons.CoseMalformed], pipeline.Rejected.Select(r => r.Reason));
        Assert.Equal(garbage, pipeline.Rejected[0].Payload);
        Assert.Empty(pipeline.Rejected[1].Payload);
        Assert.Empty(pipeline.Readings);
    }

    [Fact]
    public async Task AnOversizedMessageIsRejectedKeepingOnlyItsFirstBytes()
    {
        await using var pipeline = await GatewayHarness.StartAsync([_a]);
        var meter = await pipeline.ConnectAsync(_a.Id);
        var oversized = Enumerable.Range(0, pipeline.Options.MaxReadingBytes + 1000).Select(i => (byte)i).ToArray();

        await GatewayHarness.PublishAcceptedAsync(meter, _a.Topic, oversized);
        await pipeline.HandledAsync(1);

        var rejected = Assert.Single(pipeline.Rejected);
        Assert.Equal(GatewayReasons.SizeLimit, rejected.Reason);
        Assert.Equal(_a.Id, rejected.MeterId);
        Assert.Equal(oversized[..pipeline.Options.MaxReadingBytes], rejected.Payload);
        Assert.Empty(pipeline.Readings);
    }

    [Fact]
    public async Task ADuplicatePublishIsCountedButGoesToNeitherStream()
    {
        await using var pipeline = await GatewayHarness.StartAsync([_a]);
        var meter = await pipeline.ConnectAsync(_a.Id);
        var reading = _a.Sign(_a.Reading(1, _start, 250, 10_250));

        await GatewayHarness.PublishAcceptedAsync(meter, _a.Topic, reading);
        await GatewayHarness.PublishAcceptedAsync(meter, _a.Topic, reading);
        await pipeline.HandledAsync(2);

        Assert.Equal(1, pipeline.Stats.Accepted);
        Assert.Equal(1, pipeline.Stats.Duplicates);
        Assert.Equal(0, pipeline.Stats.Rejected);
        Assert.Equal(reading, Assert.Single(pipeline.Readings).Value.ToArray());
        Assert.Empty(pipeline.Rejected);
        Assert.Equal(250, pipeline.Stats.AcceptedWh); // counted once
    }

    [Fact]
    public async Task MixedTrafficAddsUpAndEveryMessageIsOnExactlyOneStreamOrCountedAsDuplicate()
    {
        // A window of 2: meter a's first reading, sent again after its fifth, is a replay.
        await using var pipeline = await GatewayHarness.StartAsync([_a, _b], o => o.DuplicateWindow = 2);
        var meterA = await pipeline.ConnectAsync(_a.Id);
        var meterB = await pipeline.ConnectAsync(_b.Id);
        var seriesA = new ReadingSeries(_a, _start);
        var seriesB = new ReadingSeries(_b, _start);

        var good = new List<byte[]>();
        var expectedReasons = new List<string>();
        var duplicates = 0;
        for (var i = 0; i < 5; i++)
        {
            var a = seriesA.Next(100);
            good.Add(a.Encoded);
            await GatewayHarness.PublishAcceptedAsync(meterA, _a.Topic, a.Encoded);
            if (i % 2 == 1)
            {
                await GatewayHarness.PublishAcceptedAsync(meterA, _a.Topic, a.Encoded); // QoS 1 resend
                duplicates++;
            }
            var b = seriesB.Next(300);
            good.Add(b.Encoded);
            await GatewayHarness.PublishAcceptedAsync(meterB, _b.Topic, b.Encoded);
        }
        await GatewayHarness.PublishAcceptedAsync(meterA, _a.Topic, _a.Forge(_a.Reading(50, _start + 86_400, 1, 1)));
        expectedReasons.Add(ReadingReasons.SignatureInvalid);
        await GatewayHarness.PublishAcceptedAsync(meterB, _b.Topic, "junk"u8.ToArray());
        expectedReasons.Add(ReadingReasons.CoseMalformed);
        await GatewayHarness.PublishAcceptedAsync(meterA, _a.Topic, good[0]);
        expectedReasons.Add(GatewayReasons.SequenceReplay);
        await GatewayHarness.PublishAcceptedAsync(meterB, _b.Topic, _b.Sign(_b.Reading(6, _start + 4500, 5000, 1_006_500))); // 5 kWh in 15 min from 4 kW
        expectedReasons.Add(GatewayReasons.EnergyImplausible);
        var sent = good.Count + duplicates + expectedReasons.Count;

        await pipeline.HandledAsync(sent);

        var stats = pipeline.Stats;
        Assert.Equal(sent, stats.Received);
        Assert.Equal(stats.Received, stats.Accepted + stats.Rejected + stats.Duplicates);
        Assert.Equal(good.Count, stats.Accepted);
        Assert.Equal(duplicates, stats.Duplicates);
        Assert.Equal(expectedReasons.Count, stats.Rejected);
        Assert.Equal(good.Count, pipeline.Readings.Count);
        Assert.Equal(good.Order(ByteOrder), pipeline.Readings.Select(r => r.Value.ToArray()).Order(ByteOrder));
        Assert.Equal(expectedReasons.Order(), pipeline.Rejected.Select(r => r.Reason).Order());
        Assert.Equal(expectedReasons.GroupBy(r => r).ToDictionary(g => g.Key, g => (long)g.Count()).OrderBy(e => e.Key), stats.RejectedByReason.OrderBy(e => e.Key));
        Assert.Equal(5 * 100 + 5 * 300, stats.AcceptedWh);
    }

    [Fact]
    public async Task AGatewayWhoseSubscriptionIsRefusedDoesNotReportItselfConnected()
    {
        // MQTTnet's server refuses shared subscriptions, so this gateway connects but never subscribes.
        var log = new CapturingLogger<GatewayService>();
        await using var pipeline = await GatewayHarness.StartAsync([_a], o => o.SharedSubscriptionGroup = "gateways", log, waitUntilSubscribed: false);

        await Wait.Until(() => log.Messages.Any(m => m.Contains("refused the subscription", StringComparison.Ordinal)), "the refused subscription to be logged");

        Assert.False(pipeline.Gateway.IsSubscribed);
    }

    private static readonly Comparer<byte[]> ByteOrder = Comparer<byte[]>.Create((x, y) => x.AsSpan().SequenceCompareTo(y));

    [Fact]
    public async Task AFailedHandOffIsRedeliveredInOrderAfterAReconnectAndNothingIsLost()
    {
        await using var pipeline = await GatewayHarness.StartAsync([_a], streams: log => new FailingStreams(log, failOnProduce: 3));
        var meter = await pipeline.ConnectAsync(_a.Id);
        var series = new ReadingSeries(_a, _start);
        var sent = Enumerable.Range(0, 6).Select(i => series.Next((ulong)(100 + i))).ToList();
        foreach (var (_, encoded) in sent)
            await GatewayHarness.PublishAcceptedAsync(meter, _a.Topic, encoded);

        await pipeline.HandledAsync(sent.Count);

        // The third reading's hand-off failed; the gateway reconnected and the broker redelivered it and the rest.
        Assert.Equal(sent.Select(s => s.Encoded), pipeline.Readings.OrderBy(r => r.Offset).Select(r => r.Value.ToArray()));
        Assert.Equal(sent.Count, pipeline.Stats.Accepted);
        Assert.Equal(0, pipeline.Stats.Rejected);
        Assert.Equal(0, pipeline.Stats.Duplicates);
    }

    /// <summary>A stream whose producer fails once, on the n-th record: a broker hiccup at the worst moment.</summary>
    private sealed class FailingStreams(IStreamClientFactory inner, int failOnProduce) : IStreamClientFactory
    {
        private readonly int _failOn = failOnProduce;
        private int _produced;

        public IStreamProducer CreateProducer() => new Producer(this, inner.CreateProducer());

        public IStreamConsumer CreateConsumer(string groupId, string memberName) => inner.CreateConsumer(groupId, memberName);

        private sealed class Producer(FailingStreams owner, IStreamProducer inner) : IStreamProducer
        {
            public Task<StreamPosition> ProduceAsync(string topic, string key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default) =>
                Interlocked.Increment(ref owner._produced) == owner._failOn
                    ? throw new IOException("stream unavailable")
                    : inner.ProduceAsync(topic, key, value, cancellationToken);

            public void Dispose() => inner.Dispose();
        }
    }
}
