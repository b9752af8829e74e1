using GreenTrace.Core.Readings;
using GreenTrace.FirmwareSim;
using GreenTrace.FirmwareSim.Faults;
using GreenTrace.Pipeline.Tests.Support;
using MQTTnet.Protocol;

namespace GreenTrace.Pipeline.Tests.FirmwareSim;

/// <summary>The meters' on-disk store-and-forward buffer and their reconnects, against a real in-process broker.</summary>
public sealed class StoreAndForwardTests : IDisposable
{
    private static readonly DateTimeOffset Day = new(2025, 6, 21, 0, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static CancellationToken Guard()
    {
        // Only a guard against a hang; nothing here asserts on elapsed time.
        var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromMinutes(2));
        return cts.Token;
    }

    private SimulatorOptions Options(int port, int capacity = 10_000, int reconnectBaseMs = 10) => new()
    {
        Host = "127.0.0.1",
        Port = port,
        MaxConcurrentPublishes = 4,
        ReconnectBaseDelayMilliseconds = reconnectBaseMs,
        ReconnectMaxDelayMilliseconds = Math.Max(reconnectBaseMs, 100),
        ConnectTimeoutSeconds = 5,
        MaxBufferedPerMeter = capacity,
        BufferDirectory = _dir.File("buffer"),
    };

    private static Dictionary<string, List<ulong>> SequencesByMeter(TestBroker broker) =>
        broker.Received.GroupBy(r => r.ClientId).ToDictionary(g => g.Key, g => g.Select(r => ReadingCodec.Decode(r.Payload).Value.Reading.Sequence).ToList());

    private string[] BufferFiles() => Directory.Exists(_dir.File("buffer")) ? Directory.GetFiles(_dir.File("buffer")) : [];

    [Fact]
    public async Task What_a_meter_buffered_survives_a_restart_and_goes_out_oldest_first_before_new_readings()
    {
        var ct = Guard();
        var port = TestBroker.FreePort();
        using var fleet = Fleet.Generate(new FleetSpec { MeterCount = 3, Seed = 31 });
        await using (var offline = new FleetPublisher(fleet, Options(port)))
        {
            await offline.RunAsync(new RunPlan(Day, 3), ct);
            Assert.Equal(9, offline.Stats.Buffered);
            Assert.Equal(0, offline.Stats.Acknowledged);
        }
        Assert.Equal(3, BufferFiles().Length);
        Assert.All(fleet.Meters, m => Assert.Contains(BufferFiles(), f => Path.GetFileName(f).StartsWith(m.Id + ".", StringComparison.Ordinal)));

        await using var broker = await TestBroker.StartAsync(port: port);
        await using (var restarted = new FleetPublisher(fleet, Options(port)))
        {
            Assert.Equal(9, restarted.Stats.RecoveredFromBuffer);
            Assert.Equal(9, restarted.Stats.Buffered);
            await restarted.RunAsync(new RunPlan(Day.AddMinutes(45), 1), ct);
            Assert.Equal(0, restarted.Stats.Buffered);
            Assert.Equal(12, restarted.Stats.Acknowledged);
        }
        var received = SequencesByMeter(broker);
        Assert.Equal(3, received.Count);
        Assert.All(received.Values, seqs => Assert.Equal([1UL, 2, 3, 4], seqs));
        // Delivered messages leave the disk too.
        Assert.Empty(BufferFiles());
    }

    [Fact]
    public async Task A_restart_after_a_crash_continues_from_what_the_buffer_holds_not_from_the_stale_fleet_file()
    {
        var ct = Guard();
        var port = TestBroker.FreePort();
        string saved;
        using (var fleet = Fleet.Generate(new FleetSpec { MeterCount = 2, Seed = 32 }))
        {
            saved = fleet.ToJson();
            await using var offline = new FleetPublisher(fleet, Options(port));
            await offline.RunAsync(new RunPlan(Day, 3), ct);
            // The process dies here: the fleet file was never saved after the run.
        }

        using var reloaded = Fleet.FromJson(saved);
        await using var broker = await TestBroker.StartAsync(port: port);
        await using (var restarted = new FleetPublisher(reloaded, Options(port)))
        {
            Assert.All(reloaded.Meters, m => Assert.Equal(4UL, m.State.NextSequence));
            Assert.All(reloaded.Meters, m => Assert.Equal(Day.AddMinutes(45).ToUnixTimeSeconds(), m.State.LastIntervalEnd));
            await restarted.RunAsync(new RunPlan(Day.AddMinutes(45), 1), ct);
        }
        Assert.All(SequencesByMeter(broker).Values, seqs => Assert.Equal([1UL, 2, 3, 4], seqs));
    }

    [Fact]
    public async Task A_full_buffer_drops_its_oldest_messages_and_counts_them_also_across_a_restart()
    {
        var ct = Guard();
        var port = TestBroker.FreePort();
        using var fleet = Fleet.Generate(new FleetSpec { MeterCount = 2, Seed = 33 });
        await using (var offline = new FleetPublisher(fleet, Options(port, capacity: 3)))
        {
            await offline.RunAsync(new RunPlan(Day, 5), ct);
            Assert.Equal(6, offline.Stats.Buffered);
            Assert.Equal(4, offline.Stats.DroppedFromBuffer);
        }
        await using var broker = await TestBroker.StartAsync(port: port);
        // A smaller buffer after the restart drops more of the oldest, and says so.
        await using (var restarted = new FleetPublisher(fleet, Options(port, capacity: 2)))
        {
            Assert.Equal(2, restarted.Stats.DroppedFromBuffer);
            Assert.Equal(4, restarted.Stats.Buffered);
            await restarted.FlushAsync(ct);
            Assert.Equal(0, restarted.Stats.Buffered);
        }
        Assert.All(SequencesByMeter(broker).Values, seqs => Assert.Equal([4UL, 5], seqs));
    }

    [Fact]
    public async Task A_torn_record_at_the_end_of_the_buffer_is_cut_off_and_the_rest_recovered()
    {
        var ct = Guard();
        var port = TestBroker.FreePort();
        using var fleet = Fleet.Generate(new FleetSpec { MeterCount = 1, Seed = 34 });
        await using (var offline = new FleetPublisher(fleet, Options(port)))
            await offline.RunAsync(new RunPlan(Day, 2), ct);
        var file = Assert.Single(BufferFiles());
        var intact = new FileInfo(file).Length;
        // A crash in the middle of an append: a length prefix and part of a record.
        await File.AppendAllBytesAsync(file, [200, 0, 0, 0, 1, 0xFF, 7], ct);

        await using var broker = await TestBroker.StartAsync(port: port);
        await using (var restarted = new FleetPublisher(fleet, Options(port)))
        {
            Assert.Equal(2, restarted.Stats.RecoveredFromBuffer);
            Assert.Equal(intact, new FileInfo(file).Length);
            await restarted.FlushAsync(ct);
        }
        Assert.Equal([1UL, 2], Assert.Single(SequencesByMeter(broker).Values));
    }

    [Fact]
    public async Task Meters_reconnect_with_backoff_in_the_background_and_deliver_their_backlog_in_order()
    {
        var ct = Guard();
        var port = TestBroker.FreePort();
        using var fleet = Fleet.Generate(new FleetSpec { MeterCount = 3, Seed = 35 });
        await using var publisher = new FleetPublisher(fleet, Options(port), new FaultOptions { Duplicate = 0.5, Garbage = 0.5, Seed = 1 });
        await publisher.RunAsync(new RunPlan(Day, 4), ct);
        var buffered = publisher.Stats.Buffered;
        Assert.Equal(12 + publisher.Stats.FaultsTotal, buffered);

        // No new run: the reconnect loops notice the broker on their own.
        await using var broker = await TestBroker.StartAsync(port: port);
        while (publisher.Stats.Buffered > 0)
            await Task.Delay(10, ct);
        Assert.True(publisher.Stats.Retries > 0);
        Assert.Equal(buffered, publisher.Stats.Acknowledged);
        Assert.Equal(3, publisher.Stats.MetersOnline);
        foreach (var group in broker.Received.GroupBy(r => r.ClientId))
        {
            var readings = group.Select(r => ReadingCodec.Decode(r.Payload)).Where(d => d.IsOk).Select(d => d.Value.Reading.Sequence).ToList();
            Assert.Equal(readings.Order(), readings);
            Assert.Equal([1UL, 2, 3, 4], readings.Distinct());
        }
    }

    [Fact]
    public async Task A_message_leaves_the_buffer_only_once_the_broker_acknowledged_it()
    {
        var ct = Guard();
        // The broker drops each meter's connection on its first publish, before any PUBACK.
        var dropped = new HashSet<string>();
        await using var broker = await TestBroker.StartAsync(e =>
        {
            lock (dropped)
            {
                if (dropped.Add(e.ClientId))
                {
                    e.ProcessPublish = false;
                    e.CloseConnection = true;
                }
            }
        });
        using var fleet = Fleet.Generate(new FleetSpec { MeterCount = 2, Seed = 36 });
        await using var publisher = new FleetPublisher(fleet, Options(broker.Port));
        await publisher.RunAsync(new RunPlan(Day, 3), ct);
        while (publisher.Stats.Buffered > 0)
            await Task.Delay(10, ct);

        Assert.True(publisher.Stats.PublishFailures >= 2);
        Assert.Equal(6, publisher.Stats.Acknowledged);
        Assert.Equal(6, publisher.Stats.MessagesSent);
        // Each meter's first reading reached the broker twice: once unacknowledged, once again after the reconnect.
        Assert.All(SequencesByMeter(broker).Values, seqs => Assert.Equal([1UL, 1, 2, 3], seqs));
    }

    [Fact]
    public async Task A_meter_that_cannot_connect_does_not_hold_up_the_others()
    {
        var ct = Guard();
        await using var broker = await TestBroker.StartAsync();
        using var fleet = Fleet.Generate(new FleetSpec { MeterCount = 4, Seed = 37 });
        var shunned = fleet.Meters[0].Id;
        broker.Server.ValidatingConnectionAsync += e =>
        {
            if (e.ClientId == shunned)
                e.ReasonCode = MqttConnectReasonCode.NotAuthorized;
            return Task.CompletedTask;
        };
        // A long backoff: if the others waited for the shunned meter's retries, this run would not end within the guard.
        await using var publisher = new FleetPublisher(fleet, Options(broker.Port, reconnectBaseMs: 3_600_000));
        await publisher.RunAsync(new RunPlan(Day, 6), ct);

        Assert.Equal(18, publisher.Stats.Acknowledged);
        Assert.Equal(6, publisher.Stats.Buffered);
        Assert.Equal(3, publisher.Stats.MetersOnline);
        Assert.DoesNotContain(broker.Received, r => r.ClientId == shunned);
        Assert.All(SequencesByMeter(broker).Values, seqs => Assert.Equal([1UL, 2, 3, 4, 5, 6], seqs));
    }
}
