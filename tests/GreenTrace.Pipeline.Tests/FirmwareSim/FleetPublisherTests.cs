using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.Cose;
using GreenTrace.Core.Readings;
using GreenTrace.FirmwareSim;
using GreenTrace.FirmwareSim.Faults;

namespace GreenTrace.Pipeline.Tests.FirmwareSim;

/// <summary>The publisher against a real in-process MQTTnet broker on loopback.</summary>
public class FleetPublisherTests
{
    private static readonly DateTimeOffset Day = new(2025, 6, 21, 0, 0, 0, TimeSpan.Zero);

    private static CancellationToken Guard()
    {
        // Only a guard against a hang; nothing here asserts on elapsed time.
        var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromMinutes(2));
        return cts.Token;
    }

    private static SimulatorOptions Options(int port) => new()
    {
        Host = "127.0.0.1",
        Port = port,
        MaxConcurrentPublishes = 4,
        ReconnectBaseDelayMilliseconds = 10,
        ReconnectMaxDelayMilliseconds = 100,
        ConnectTimeoutSeconds = 10,
    };

    private static string TopicMeter(string topic) => topic.Split('/')[1];

    [Fact]
    public async Task Every_reading_arrives_exactly_once_in_order_and_the_counters_agree()
    {
        var ct = Guard();
        const int meters = 5, intervals = 6;
        await using var broker = await TestBroker.StartAsync();
        await using var subscriber = await TestSubscriber.ConnectAsync(broker.Port, ct);
        using var fleet = Fleet.Generate(new FleetSpec { MeterCount = meters, Seed = 21 });
        var publisher = new FleetPublisher(fleet, Options(broker.Port));
        var events = new ConcurrentQueue<PublishedMessage>();
        publisher.MessagePublished += events.Enqueue;
        await using (publisher)
        {
            await publisher.RunAsync(new RunPlan(Day, intervals), ct);
            Assert.Equal(meters, publisher.Stats.MetersOnline);
            Assert.Equal(meters, (await broker.Server.GetClientsAsync()).Count(c => c.Id != "test-subscriber"));
            await publisher.DisconnectAsync(ct);
            Assert.Equal(0, publisher.Stats.MetersOnline);
        }
        await broker.WaitForNoClientsAsync(except: "test-subscriber", ct);
        // Persistent sessions outlive the connections (clean start false, session expiry set).
        Assert.Equal(meters, (await broker.Server.GetSessionsAsync()).Count(s => s.Id != "test-subscriber"));

        await subscriber.WaitForCountAsync(meters * intervals, ct);
        var received = subscriber.Received;
        Assert.Equal(meters * intervals, received.Count);

        var keys = fleet.Registry.ToDictionary(d => d.MeterId, d => d.ImportPublicKey());
        var byMeter = new Dictionary<string, List<Reading>>();
        foreach (var (topic, payload) in received)
        {
            var meterId = TopicMeter(topic);
            var decoded = ReadingCodec.DecodeAndVerify(payload, keys[meterId]);
            Assert.True(decoded.IsOk, decoded.ToString());
            Assert.Equal(meterId, decoded.Value.Reading.MeterId);
            if (!byMeter.TryGetValue(meterId, out var list))
                byMeter[meterId] = list = [];
            list.Add(decoded.Value.Reading);
        }
        Assert.Equal(meters, byMeter.Count);
        foreach (var (_, readings) in byMeter)
        {
            Assert.Equal(Enumerable.Range(1, intervals).Select(i => (ulong)i), readings.Select(r => r.Sequence));
            Assert.Equal(Enumerable.Range(0, intervals).Select(i => Day.ToUnixTimeSeconds() + (i * 900L)), readings.Select(r => r.Start));
        }

        // Interval t went out for every meter before interval t+1 (the broker saw starts never go back).
        var starts = broker.Received.Select(r => ReadingCodec.Decode(r.Payload).Value.Reading.Start).ToList();
        Assert.Equal(starts.Order(), starts);

        var stats = publisher.Stats.Snapshot();
        Assert.Equal(meters * intervals, stats.ReadingsGenerated);
        Assert.Equal(meters * intervals, stats.ReadingsSent);
        Assert.Equal(meters * intervals, stats.MessagesSent);
        Assert.Equal(meters * intervals, stats.Acknowledged);
        Assert.Equal(0, stats.RefusedByBroker);
        Assert.Equal(0, stats.Buffered);
        Assert.Equal(intervals, stats.IntervalsCompleted);
        Assert.Equal(0, stats.FaultsInjected.Values.Sum());
        Assert.Equal(meters * intervals, events.Count);
        Assert.All(events, e => Assert.Equal(PublishOutcome.Acknowledged, e.Outcome));
        Assert.Equal(meters * intervals, broker.Received.Count);
        Assert.All(broker.Received, r => Assert.Equal(r.ClientId, TopicMeter(r.Topic)));
        foreach (var key in keys.Values)
            key.Dispose();
    }

    [Fact]
    public async Task Injected_faults_reach_the_subscriber_as_counted_and_leave_the_genuine_stream_intact()
    {
        var ct = Guard();
        // Long enough for rollbacks, which wait for a meter's first readings.
        const int meters = 6, intervals = 24;
        await using var broker = await TestBroker.StartAsync();
        await using var subscriber = await TestSubscriber.ConnectAsync(broker.Port, ct);
        using var fleet = Fleet.Generate(new FleetSpec { MeterCount = meters, Seed = 22 });
        var faults = FaultOptions.Uniform(0.2, seed: 3);
        faults.ReplayMinAge = 2;
        var publisher = new FleetPublisher(fleet, Options(broker.Port), faults);
        await using (publisher)
            await publisher.RunAsync(new RunPlan(Day, intervals), ct);

        var stats = publisher.Stats.Snapshot();
        await subscriber.WaitForCountAsync((int)stats.MessagesSent, ct);
        var received = subscriber.Received;
        Assert.Equal(stats.MessagesSent, received.Count);
        Assert.Equal(stats.MessagesSent, stats.Acknowledged);
        Assert.Equal(meters * intervals + stats.FaultsInjected.Values.Sum(), stats.MessagesSent);

        var devices = fleet.Registry.ToDictionary(d => d.MeterId);
        var keys = devices.ToDictionary(d => d.Key, d => d.Value.ImportPublicKey());
        var seen = FaultKinds.All.ToDictionary(k => k, _ => 0L);
        var genuine = new Dictionary<string, List<Reading>>();
        foreach (var (topic, payload) in received)
        {
            var kind = Classify(TopicMeter(topic), payload, keys, genuine);
            if (kind is { } fault)
                seen[fault]++;
        }

        Assert.Equal(stats.FaultsInjected, seen);
        Assert.All(FaultKinds.All, k => Assert.True(seen[k] > 0, $"no {k.Code()} fault was injected; pick another seed"));
        // The genuine stream is untouched: every interval exactly once, dense sequence, register chaining.
        Assert.Equal(meters, genuine.Count);
        foreach (var (meterId, readings) in genuine)
        {
            Assert.Equal(Enumerable.Range(1, intervals).Select(i => (ulong)i), readings.Select(r => r.Sequence));
            for (var i = 1; i < readings.Count; i++)
                Assert.Equal(readings[i - 1].RegisterWh + readings[i].EnergyWh, readings[i].RegisterWh);
            Assert.Equal(new MeterState(intervals + 1UL, readings[^1].RegisterWh, readings[^1].End), fleet.Find(meterId)!.State);
        }
        foreach (var key in keys.Values)
            key.Dispose();
    }

    /// <summary>Classifies a received message the way a gateway would have to, knowing only the registry.</summary>
    private static FaultKind? Classify(string topicMeter, byte[] payload, Dictionary<string, ECDsa> keys, Dictionary<string, List<Reading>> genuine)
    {
        if (payload.Length > 4096)
            return FaultKind.Oversized;
        CoseSign1Message message;
        try
        {
            message = CoseMessage.DecodeSign1(payload);
        }
        catch (CryptographicException)
        {
            return FaultKind.Garbage;
        }
        var decoded = ReadingCodec.Decode(payload);
        if (!message.VerifyEmbedded(keys[topicMeter]) && !(decoded.IsOk && keys.TryGetValue(decoded.Value.Reading.MeterId, out var k) && message.VerifyEmbedded(k)))
        {
            // Not signed by the meter: the untouched genuine payload means a wrong key, anything else tampering.
            var payloadReading = ReadingCodec.DecodePayload(message.Content!.Value);
            Assert.True(payloadReading.IsOk, "tampering leaves a payload that decodes");
            var known = genuine.GetValueOrDefault(payloadReading.Value.MeterId);
            // The wrong-key copy follows its genuine reading; a tampered one differs from every genuine reading.
            return known?.Contains(payloadReading.Value) == true ? FaultKind.WrongKey : FaultKind.TamperedPayload;
        }
        if (decoded.Error?.Code == ReadingReasons.IntervalMisaligned)
            return FaultKind.MisalignedInterval;
        Assert.True(decoded.IsOk, decoded.ToString());
        var reading = decoded.Value.Reading;
        if (reading.MeterId != topicMeter)
            return FaultKind.WrongTopic;
        if (reading.RegisterWh < reading.EnergyWh)
            return FaultKind.CounterRollback;
        if (reading.Start > DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeSeconds() - 900)
            return FaultKind.ClockSkew;
        if (!genuine.TryGetValue(reading.MeterId, out var list))
            genuine[reading.MeterId] = list = [];
        var last = list.Count == 0 ? 0UL : list[^1].Sequence;
        if (reading.Sequence == last + 1)
        {
            list.Add(reading);
            return null;
        }
        Assert.Contains(reading, list);
        return reading.Sequence == last ? FaultKind.Duplicate : FaultKind.Replay;
    }

    [Fact]
    public async Task A_refusal_by_the_broker_is_counted_and_not_retried()
    {
        var ct = Guard();
        const int meters = 4, intervals = 8;
        await using var broker = await TestBroker.StartAsync(TestBroker.OwnTopicOnly);
        await using var subscriber = await TestSubscriber.ConnectAsync(broker.Port, ct);
        using var fleet = Fleet.Generate(new FleetSpec { MeterCount = meters, Seed = 23 });
        var publisher = new FleetPublisher(fleet, Options(broker.Port), new FaultOptions { WrongTopic = 0.5, Seed = 2 });
        var refusals = new ConcurrentQueue<PublishedMessage>();
        publisher.MessagePublished += e =>
        {
            if (e.Outcome == PublishOutcome.RefusedByBroker)
                refusals.Enqueue(e);
        };
        await using (publisher)
            await publisher.RunAsync(new RunPlan(Day, intervals), ct);

        var stats = publisher.Stats.Snapshot();
        var wrongTopic = stats.FaultsInjected[FaultKind.WrongTopic];
        Assert.True(wrongTopic > 0);
        Assert.Equal(wrongTopic, stats.RefusedByBroker);
        Assert.Equal(meters * intervals, stats.Acknowledged);
        Assert.Equal(0, stats.Retries);
        Assert.Equal(wrongTopic, refusals.Count);
        Assert.All(refusals, r =>
        {
            Assert.Equal(MQTTnet.MqttClientPublishReasonCode.NotAuthorized, r.ReasonCode);
            Assert.Equal(FaultKind.WrongTopic, r.Message.Fault);
        });
        // Each refused message reached the broker once: refusals are final, not retried.
        Assert.Equal(meters * intervals + wrongTopic, broker.Received.Count);
        Assert.Equal(wrongTopic, broker.Received.Count(r => TopicMeter(r.Topic) != r.ClientId));

        await subscriber.WaitForCountAsync(meters * intervals, ct);
        Assert.Equal(meters * intervals, subscriber.Received.Count);
        Assert.All(subscriber.Received, r => Assert.Equal(TopicMeter(r.Topic), ReadingCodec.Decode(r.Payload).Value.Reading.MeterId));
    }

    [Fact]
    public async Task Meters_buffer_while_the_broker_is_down_and_deliver_in_order_once_it_is_up()
    {
        var ct = Guard();
        const int meters = 3;
        var port = TestBroker.FreePort();
        using var fleet = Fleet.Generate(new FleetSpec { MeterCount = meters, Seed = 24 });
        var publisher = new FleetPublisher(fleet, Options(port));
        await using (publisher)
        {
            await publisher.RunAsync(new RunPlan(Day, 2), ct);
            Assert.Equal(0, publisher.Stats.ReadingsSent);
            Assert.Equal(meters * 2, publisher.Stats.Buffered);
            Assert.True(publisher.Stats.ConnectFailures > 0);
            Assert.Equal(0, publisher.Stats.MetersOnline);

            await using var broker = await TestBroker.StartAsync(port: port);
            await publisher.RunAsync(new RunPlan(Day.AddMinutes(30), 2), ct);
            Assert.Equal(0, publisher.Stats.Buffered);
            Assert.Equal(meters * 4, publisher.Stats.Acknowledged);

            // The broker's own record: each meter's readings arrived in sequence, the buffered ones first.
            foreach (var group in broker.Received.GroupBy(r => r.ClientId))
                Assert.Equal([1UL, 2, 3, 4], group.Select(r => ReadingCodec.Decode(r.Payload).Value.Reading.Sequence));
            Assert.Equal(meters * 4, broker.Received.Count);
        }
    }

    [Fact]
    public async Task A_broker_that_refuses_the_connection_leaves_meters_offline_with_their_readings_buffered()
    {
        var ct = Guard();
        await using var broker = await TestBroker.StartAsync();
        broker.Server.ValidatingConnectionAsync += e =>
        {
            if (e.ClientId != "test-subscriber")
                e.ReasonCode = MQTTnet.Protocol.MqttConnectReasonCode.NotAuthorized;
            return Task.CompletedTask;
        };
        using var fleet = Fleet.Generate(new FleetSpec { MeterCount = 2, Seed = 27 });
        await using var publisher = new FleetPublisher(fleet, Options(broker.Port));
        await publisher.RunAsync(new RunPlan(Day, 3), ct);

        var stats = publisher.Stats.Snapshot();
        Assert.Equal(0, stats.MetersOnline);
        Assert.True(stats.ConnectFailures >= 2);
        Assert.Equal(6, stats.ReadingsGenerated);
        Assert.Equal(0, stats.MessagesSent);
        Assert.Equal(6, stats.Buffered);
        Assert.Empty(broker.Received);
    }

    [Fact]
    public async Task Cancellation_stops_a_paced_run_and_disposal_disconnects_every_meter()
    {
        var ct = Guard();
        await using var broker = await TestBroker.StartAsync();
        using var fleet = Fleet.Generate(new FleetSpec { MeterCount = 3, Seed = 25 });
        var publisher = new FleetPublisher(fleet, Options(broker.Port));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        await using (publisher)
        {
            // Real-time pace: the first reading would be due in fifteen minutes.
            var run = publisher.RunAsync(new RunPlan(Day, 96, Speed: 1), stop.Token);
            while (publisher.Stats.MetersOnline < 3)
                await Task.Delay(10, ct);
            await stop.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
            Assert.Equal(0, publisher.Stats.ReadingsSent);
        }
        Assert.Equal(0, publisher.Stats.MetersOnline);
        await broker.WaitForNoClientsAsync(except: null, ct);
        Assert.Empty(broker.Received);
    }

    [Fact]
    public async Task A_run_cannot_start_before_what_the_meters_already_read()
    {
        var ct = Guard();
        await using var broker = await TestBroker.StartAsync();
        using var fleet = Fleet.Generate(new FleetSpec { MeterCount = 2, Seed = 26 });
        await using var publisher = new FleetPublisher(fleet, Options(broker.Port));
        await publisher.RunAsync(new RunPlan(Day, 2), ct);
        await Assert.ThrowsAsync<ArgumentException>(() => publisher.RunAsync(new RunPlan(Day.AddMinutes(15), 2), ct));
        await publisher.RunAsync(new RunPlan(Day.AddMinutes(30), 1), ct);
        Assert.Equal(6, publisher.Stats.Acknowledged);
    }
}
