using GreenTrace.Core.Readings;
using GreenTrace.Gateway.Store;
using GreenTrace.Pipeline.Tests.Support;

namespace GreenTrace.Pipeline.Tests.Gateway;

/// <summary>What the shared SQLite store adds to the contract: several gateways on one file, and durability.</summary>
public sealed class SqliteGatewayStoreTests : IDisposable
{
    private static readonly long H10 = 1_748_772_000;
    private readonly TempDirectory _dir = new();
    private readonly TestMeter _a = new("meter-a");

    private string File => Path.Combine(_dir.Path, "gateway.db");

    public void Dispose()
    {
        _a.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task TwoGatewaysRacingOnEveryReadingOfAMeterAcceptEachExactlyOnce()
    {
        using var one = new SqliteGatewayStore(File);
        using var two = new SqliteGatewayStore(File);
        var series = new ReadingSeries(_a, H10);
        var readings = Enumerable.Range(0, 40).Select(_ => ReadingCodec.Decode(series.Next(10).Encoded).Value).ToList();
        var ct = TestContext.Current.CancellationToken;

        // Each gateway offers every reading in order, as a gateway would after validating it against the
        // history it last saw; a refused append re-reads the history, as GatewayService does.
        async Task<int> OfferAllAsync(SqliteGatewayStore store, string gateway)
        {
            var won = 0;
            foreach (var reading in readings)
            {
                while (true)
                {
                    var last = store.LastAccepted("meter-a")?.Sequence;
                    if (last >= reading.Reading.Sequence)
                        break; // the other gateway has it: a duplicate here
                    if (await store.TryAppendAcceptedAsync(reading, last, gateway, ct))
                    {
                        won++;
                        break;
                    }
                }
            }
            return won;
        }

        var wins = await Task.WhenAll(Task.Run(() => OfferAllAsync(one, "gateway-1"), ct), Task.Run(() => OfferAllAsync(two, "gateway-2"), ct));

        Assert.Equal(readings.Count, wins.Sum());
        var stream = one.ReadAccepted(0, 1000);
        Assert.Equal(readings.Select(r => r.Reading.Sequence), stream.Select(r => r.Sequence));
        var totals = two.Totals();
        Assert.Equal(readings.Count, totals.Accepted);
        Assert.Equal(wins[0], totals.AcceptedByGateway.GetValueOrDefault("gateway-1"));
    }

    [Fact]
    public async Task WhatWasAcceptedSurvivesReopeningTheFile()
    {
        var (reading, encoded) = new ReadingSeries(_a, H10).Next(100);
        var ct = TestContext.Current.CancellationToken;
        using (var store = new SqliteGatewayStore(File))
        {
            Assert.True(await store.TryAppendAcceptedAsync(ReadingCodec.Decode(encoded).Value, null, "gateway-1", ct));
            await store.RecordDuplicateAsync(reading, "gateway-1", ct);
            await store.AppendRejectedAsync(new RejectedReading("garbage", "x", "gateway-1", null, null, H10, [1]), ct);
        }

        using var reopened = new SqliteGatewayStore(File);
        Assert.Equal(reading, reopened.LastAccepted("meter-a"));
        var totals = reopened.Totals();
        Assert.Equal((1, 1, 1, 3), (totals.Accepted, totals.Rejected, totals.Duplicates, totals.Received));
        Assert.Equal(1, totals.RejectedByReason["garbage"]);
    }

    [Fact]
    public async Task ReadingTheStreamPagesByOffset()
    {
        using var store = new SqliteGatewayStore(File);
        var series = new ReadingSeries(_a, H10);
        ulong? last = null;
        for (var i = 0; i < 5; i++)
        {
            var decoded = ReadingCodec.Decode(series.Next(1).Encoded).Value;
            Assert.True(await store.TryAppendAcceptedAsync(decoded, last, "gateway-1", TestContext.Current.CancellationToken));
            last = decoded.Reading.Sequence;
        }

        var page = store.ReadAccepted(0, 2);
        Assert.Equal([1UL, 2UL], page.Select(r => r.Sequence));
        Assert.Equal([3UL, 4UL, 5UL], store.ReadAccepted(page[^1].Offset, 10).Select(r => r.Sequence));
    }
}
