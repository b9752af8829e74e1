using GreenTrace.Core.Readings;
using GreenTrace.Gateway;
using GreenTrace.Gateway.Forwarding;
using GreenTrace.Gateway.Store;
using GreenTrace.Pipeline.Tests.Support;
using GreenTrace.Streaming;
using GreenTrace.Streaming.InProcess;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GreenTrace.Pipeline.Tests.Gateway;

/// <summary>The gateway's outbox: every verdict in the store reaches the stream, in order, through stream failures and restarts.</summary>
public sealed class StreamForwarderTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly TestMeter _a = new("meter-a");
    private readonly TestMeter _b = new("meter-b");
    private readonly InProcessLog _log = new([new TopicSpec(Topics.Readings, 4), new TopicSpec(Topics.RejectedReadings, 1), new TopicSpec(Topics.Ledger, 1)]);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task EveryAcceptedAndRejectedRowReachesTheStreamOnceInMeterOrderAndARestartResumesAfterTheMark()
    {
        using var store = new SqliteGatewayStore(_dir.File("gateway.db"));
        var expected = await FillAsync(store, 30);
        await store.AppendRejectedAsync(new RejectedReading("signature-invalid", "forged", "gateway-1", "meters/meter-a/readings", "meter-a", 1, [1, 2, 3]), Ct);

        using (var producer = _log.CreateProducer())
            Assert.Equal(61, await Forwarder(store, batch: 7).ForwardOnceAsync(producer, Ct) + await DrainAsync(store, producer));

        // A new forwarder (a restart) finds nothing left to send.
        using (var producer = _log.CreateProducer())
            Assert.Equal(0, await Forwarder(store).ForwardOnceAsync(producer, Ct));

        Assert.Equal(expected, StreamReadings());
        var rejected = Assert.Single(_log.ReadAll(Topics.RejectedReadings));
        Assert.Equal("signature-invalid", RejectedReading.FromJson(rejected.Value.ToArray()).Reason);
    }

    [Fact]
    public async Task AStreamThatFailsKeepsTheRowsInTheStoreAndTheyAreSentOnceItIsBack()
    {
        using var store = new SqliteGatewayStore(_dir.File("gateway.db"));
        var expected = await FillAsync(store, 10);
        using var flaky = new FlakyProducer(_log.CreateProducer(), failures: 3);

        Assert.Equal(20, await Forwarder(store).ForwardOnceAsync(flaky, Ct));

        Assert.Equal(3, flaky.Failed);
        // Failed rounds may have put some rows on the stream before failing: a redelivery, never a loss.
        var onStream = StreamReadings();
        Assert.Equal(expected.ToHashSet(), onStream.ToHashSet());
        Assert.Equal(store.EndOffsets().Readings, store.ForwardedUpTo(StreamForwarder.ReadingsStream));
    }

    [Fact]
    public async Task OneGatewayProcessForwardsAStoreAtATimeAndAnotherTakesOverWhenItStops()
    {
        var path = _dir.File("gateway.db");
        using var storeA = new SqliteGatewayStore(path);
        using var storeB = new SqliteGatewayStore(path);
        var expected = await FillAsync(storeA, 20);
        var a = Forwarder(storeA, clientId: "gateway-1");
        var b = Forwarder(storeB, clientId: "gateway-2");

        await a.StartAsync(Ct);
        await Wait.Until(() => a.ReadingsForwarded == 40, "gateway-1 to forward everything");
        await b.StartAsync(Ct);
        await Wait.Until(() => !b.IsForwarding, "gateway-2 to see the lease taken");
        await a.StopAsync(Ct); // releases the lease
        var more = await FillAsync(storeB, 5, firstSequence: 21);
        await Wait.Until(() => b.ReadingsForwarded == 10, "gateway-2 to take over and forward the rest");
        await b.StopAsync(Ct);

        Assert.Equal(expected.Concat(more).Order().ToList(), StreamReadings().Order().ToList());
        a.Dispose();
        b.Dispose();
    }

    private StreamForwarder Forwarder(SqliteGatewayStore store, int batch = 5000, string clientId = "gateway-1") =>
        new(store, _log, Options.Create(new ForwarderOptions { Enabled = true, BatchSize = batch, IdlePollMilliseconds = 5, LeaseSeconds = 3 }),
            Options.Create(new GatewayOptions { ClientId = clientId }), NullLogger<StreamForwarder>.Instance);

    private async Task<int> DrainAsync(SqliteGatewayStore store, IStreamProducer producer)
    {
        var total = 0;
        var forwarder = Forwarder(store, batch: 7);
        while (await forwarder.ForwardOnceAsync(producer, Ct) is var n && n > 0)
            total += n;
        return total;
    }

    /// <summary>Accepts <paramref name="perMeter"/> readings of each meter, interleaved; returns (meter, sequence) in per-meter order.</summary>
    private async Task<List<(string, ulong)>> FillAsync(SqliteGatewayStore store, int perMeter, ulong firstSequence = 1)
    {
        var start = AggregatorRigStart + ((long)(firstSequence - 1) * 900);
        var series = new[] { new ReadingSeries(_a, start, firstSequence), new ReadingSeries(_b, start, firstSequence) };
        var accepted = new List<(string, ulong)>();
        for (var i = 0; i < perMeter; i++)
        {
            foreach (var s in series)
            {
                var decoded = ReadingCodec.Decode(s.Next(10).Encoded).Value;
                Assert.True(await store.TryAppendAcceptedAsync(decoded, store.LastAccepted(decoded.Reading.MeterId)?.Sequence, "gateway-1", Ct));
                accepted.Add((decoded.Reading.MeterId, decoded.Reading.Sequence));
            }
        }
        return accepted.OrderBy(r => r.Item1, StringComparer.Ordinal).ThenBy(r => r.Item2).ToList();
    }

    private const long AggregatorRigStart = 1_748_736_000; // 2025-06-01T00:00Z

    /// <summary>The readings on the stream, per meter in stream order (which must be sequence order).</summary>
    private List<(string, ulong)> StreamReadings() =>
        _log.ReadAll(Topics.Readings).Select(r => ReadingCodec.Decode(r.Value).Value.Reading)
            .GroupBy(r => r.MeterId).OrderBy(g => g.Key, StringComparer.Ordinal)
            .SelectMany(g => g.Select(r => (r.MeterId, r.Sequence))).ToList();

    /// <summary>A producer whose first rounds fail part-way, as a stream does when a broker goes away.</summary>
    private sealed class FlakyProducer(IStreamProducer inner, int failures) : IStreamProducer
    {
        private int _calls;

        public int Failed { get; private set; }

        public Task<StreamPosition> ProduceAsync(string topic, string key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
        {
            // Every 7th record of a failing round fails; the others reach the stream.
            if (Failed < failures && ++_calls % 7 == 0)
            {
                Failed++;
                return Task.FromException<StreamPosition>(new InvalidOperationException("broker unavailable"));
            }
            return inner.ProduceAsync(topic, key, value, cancellationToken);
        }

        public void Dispose() => inner.Dispose();
    }
}
