using GreenTrace.Core.Readings;
using GreenTrace.Gateway.Store;
using GreenTrace.Pipeline.Tests.Support;
using GreenTrace.Streaming;
using GreenTrace.Streaming.InProcess;

namespace GreenTrace.Pipeline.Tests.Gateway;

/// <summary>What every gateway store must do, whatever keeps it: the same tests run on each implementation.</summary>
public abstract class GatewayStoreContractTests : IDisposable
{
    protected static readonly long H10 = 1_748_772_000; // 2025-06-01T10:00:00Z

    private readonly TestMeter _a = new("meter-a");
    private readonly TestMeter _b = new("meter-b");

    protected abstract IGatewayStore Store { get; }

    /// <summary>The accepted readings as a consumer of the readings stream sees them, in order.</summary>
    protected abstract IReadOnlyList<(string MeterId, byte[] Payload)> Stream();

    protected abstract IReadOnlyList<RejectedReading> RejectedStream();

    public virtual void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task AnAppendedReadingBecomesTheMetersLastAndIsOnTheStream()
    {
        var series = new ReadingSeries(_a, H10);
        var (first, firstBytes) = series.Next(100);
        var (second, secondBytes) = series.Next(200);

        Assert.Null(Store.LastAccepted("meter-a"));
        Assert.True(await AppendAsync(firstBytes, null));
        Assert.True(await AppendAsync(secondBytes, first.Sequence));

        Assert.Equal(second, Store.LastAccepted("meter-a"));
        Assert.Equal(first, Store.FindAccepted("meter-a", first.Sequence));
        Assert.Null(Store.FindAccepted("meter-a", 99));
        Assert.Null(Store.LastAccepted("meter-b"));
        Assert.Equal([("meter-a", firstBytes), ("meter-a", secondBytes)], Stream().Select(r => (r.MeterId, r.Payload)));
    }

    [Fact]
    public async Task AnAppendValidatedAgainstAStaleHistoryIsRefusedAndLeavesNoTrace()
    {
        var series = new ReadingSeries(_a, H10);
        var (_, firstBytes) = series.Next(100);
        var (_, secondBytes) = series.Next(200);
        Assert.True(await AppendAsync(firstBytes, null));

        // Both were validated when the meter had nothing: only the first may land.
        Assert.False(await AppendAsync(secondBytes, null));
        // The same reading twice, each validated against the right history: the second is refused too.
        Assert.False(await AppendAsync(firstBytes, 1));

        Assert.Single(Stream());
        Assert.Equal(1UL, Store.LastAccepted("meter-a")!.Sequence);
    }

    [Fact]
    public async Task MetersDoNotShareAHistory()
    {
        var (_, a) = new ReadingSeries(_a, H10).Next(100);
        var (_, b) = new ReadingSeries(_b, H10, firstSequence: 50).Next(100);

        Assert.True(await AppendAsync(a, null));
        Assert.True(await AppendAsync(b, null));
        Assert.Equal(50UL, Store.LastAccepted("meter-b")!.Sequence);
    }

    [Fact]
    public async Task NeighboursAreTheAcceptedReadingsEitherSideOfASequence()
    {
        var series = new ReadingSeries(_a, H10);
        var readings = Enumerable.Range(0, 5).Select(_ => series.Next(10)).ToList();
        ulong? last = null;
        foreach (var i in new[] { 0, 1, 4 })
        {
            Assert.True(await AppendAsync(readings[i].Encoded, last));
            last = readings[i].Reading.Sequence;
        }

        Assert.Equal((readings[1].Reading, readings[4].Reading), Store.Neighbours("meter-a", readings[2].Reading.Sequence));
        Assert.Equal((readings[1].Reading, readings[4].Reading), Store.Neighbours("meter-a", readings[3].Reading.Sequence));
        Assert.Equal((null, readings[1].Reading), Store.Neighbours("meter-a", readings[0].Reading.Sequence));
        Assert.Equal((readings[4].Reading, null), Store.Neighbours("meter-a", 99));
        Assert.Equal((null, null), Store.Neighbours("meter-b", 1));

        // A late reading lands between them without changing the meter's last.
        Assert.True(await AppendAsync(readings[2].Encoded, readings[4].Reading.Sequence));
        Assert.Equal(readings[4].Reading, Store.LastAccepted("meter-a"));
        Assert.Equal((readings[2].Reading, readings[4].Reading), Store.Neighbours("meter-a", readings[3].Reading.Sequence));
    }

    [Fact]
    public async Task ARefusalKeepsItsReasonAndRawBytes()
    {
        var raw = new byte[] { 0xde, 0xad, 0xbe, 0xef };
        await Store.AppendRejectedAsync(new RejectedReading("cose-malformed", "not COSE", "gateway-1", "meters/meter-a/readings", "meter-a", H10, raw), TestContext.Current.CancellationToken);

        var rejected = Assert.Single(RejectedStream());
        Assert.Equal("cose-malformed", rejected.Reason);
        Assert.Equal(raw, rejected.Payload);
        Assert.Equal("gateway-1", rejected.RejectedBy);
        Assert.Empty(Stream());
    }

    private Task<bool> AppendAsync(byte[] encoded, ulong? expectedLast) =>
        Store.TryAppendAcceptedAsync(ReadingCodec.Decode(encoded).Value, expectedLast, "gateway-1", TestContext.Current.CancellationToken);
}

public sealed class StreamGatewayStoreContractTests : GatewayStoreContractTests
{
    private readonly InProcessLog _log = new([new TopicSpec(Topics.Readings, 4), new TopicSpec(Topics.RejectedReadings, 2)]);
    private readonly StreamGatewayStore _store;

    public StreamGatewayStoreContractTests() => _store = new StreamGatewayStore(_log, 96);

    protected override IGatewayStore Store => _store;

    protected override IReadOnlyList<(string MeterId, byte[] Payload)> Stream() =>
        [.. _log.ReadAll(Topics.Readings).OrderBy(r => r.Offset).Select(r => (r.Key, r.Value.ToArray()))];

    protected override IReadOnlyList<RejectedReading> RejectedStream() =>
        [.. _log.ReadAll(Topics.RejectedReadings).Select(r => RejectedReading.FromJson(r.Value.Span))];

    public override void Dispose()
    {
        _store.Dispose();
        base.Dispose();
    }
}

public sealed class SqliteGatewayStoreContractTests : GatewayStoreContractTests
{
    private readonly TempDirectory _dir = new();
    private readonly SqliteGatewayStore _store;

    public SqliteGatewayStoreContractTests() => _store = new SqliteGatewayStore(Path.Combine(_dir.Path, "gateway.db"));

    protected override IGatewayStore Store => _store;

    protected override IReadOnlyList<(string MeterId, byte[] Payload)> Stream() =>
        [.. _store.ReadAccepted(0, 10_000).Select(r => (r.MeterId, r.Payload))];

    protected override IReadOnlyList<RejectedReading> RejectedStream() => _store.ReadRejected();

    public override void Dispose()
    {
        _store.Dispose();
        _dir.Dispose();
        base.Dispose();
    }
}
