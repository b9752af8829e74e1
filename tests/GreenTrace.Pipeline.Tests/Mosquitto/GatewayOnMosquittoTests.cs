using GreenTrace.Core.Readings;
using GreenTrace.FirmwareSim;
using GreenTrace.FirmwareSim.Faults;
using GreenTrace.Gateway;
using GreenTrace.Gateway.Store;
using GreenTrace.Pipeline.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace GreenTrace.Pipeline.Tests.Mosquitto;

/// <summary>
/// The gateway against the real broker: Mosquitto with the project's TLS listener, per-meter credentials
/// and ACL, gateways in an MQTT 5 shared-subscription group writing to one SQLite store.
/// </summary>
public sealed class GatewayOnMosquittoTests
{
    private static readonly DateTimeOffset Day = new(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task AForgedReadingThatGetsPastTheBrokerIsRefusedByTheGateway()
    {
        await using var mosquitto = await MosquittoFixture.StartAsync(meters: 2, gateways: 1);
        using var temp = new TempDirectory();
        await using var gateway = await RunningGateway.StartAsync(mosquitto, 1, Path.Combine(temp.Path, "gateway.db"));

        var meter = mosquitto.Meter(0);
        var other = mosquitto.Meter(1);
        var genuine = MosquittoFixture.NextReading(meter);
        var reading = ReadingCodec.Decode(genuine).Value.Reading;
        using var impostor = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var forged = ReadingCodec.Sign(reading with { EnergyWh = reading.EnergyWh + 1, RegisterWh = reading.RegisterWh + 1 }, impostor);
        var othersReading = MosquittoFixture.NextReading(other);

        // The meter's credentials are good and the topic is its own: the broker lets all three through.
        var client = await mosquitto.ConnectMeterAsync(meter);
        foreach (var payload in new[] { forged, othersReading, genuine })
            await client.PublishAcceptedAsync(TopicRules.ReadingsTopic(meter.Id), payload);

        await Wait.Until(() => gateway.Store.Totals().Received == 3, "the gateway to record three verdicts");
        var totals = gateway.Store.Totals();
        Assert.Equal(1, totals.Accepted);
        Assert.Equal(1, totals.RejectedByReason[ReadingReasons.SignatureInvalid]);
        Assert.Equal(1, totals.RejectedByReason[GatewayReasons.TopicMismatch]);
        var rejected = gateway.Store.ReadRejected();
        Assert.Equal(forged, rejected.Single(r => r.Reason == ReadingReasons.SignatureInvalid).Payload);
        Assert.Equal(genuine, Assert.Single(gateway.Store.ReadAccepted(0, 10)).Payload);
    }

    [Fact]
    public async Task TwoGatewaysInOneSharedGroupSplitTheFleetAndAccountForEveryMessageExactlyOnce()
    {
        await using var mosquitto = await MosquittoFixture.StartAsync(meters: 30, gateways: 2);
        using var temp = new TempDirectory();
        var storePath = Path.Combine(temp.Path, "gateway.db");
        await using var one = await RunningGateway.StartAsync(mosquitto, 1, storePath, shareGroup: "gateways");
        await using var two = await RunningGateway.StartAsync(mosquitto, 2, storePath, shareGroup: "gateways");
        var faults = FaultOptions.Uniform(0.04, seed: 7);

        await using (var publisher = new FleetPublisher(mosquitto.Fleet, Simulator(mosquitto, temp), faults))
        {
            // 2 days: replays must be older than the gateway's 96-reading duplicate window.
            await publisher.RunAsync(new RunPlan(Day, 200), TestContext.Current.CancellationToken);
            var sim = publisher.Stats;
            Assert.Equal(0, sim.Buffered);
            await Wait.Until(() => one.Store.Totals().Received == sim.Acknowledged, "the gateways to record a verdict for every message the broker took");
            var totals = one.Store.Totals();

            // The books: every message sent is refused by the broker or has exactly one verdict.
            Assert.Equal(sim.MessagesSent, sim.Acknowledged + sim.RefusedByBroker);
            Assert.Equal(sim.Acknowledged, totals.Accepted + totals.Rejected + totals.Duplicates);
            // Every genuine reading accepted once, and nothing else; both gateways took a share.
            Assert.True(sim.ReadingsGenerated == totals.Accepted, $"{sim.ReadingsGenerated} genuine readings, {totals.Accepted} accepted; " + Explain(one.Store));
            Assert.Equal(2, totals.AcceptedByGateway.Count);
            Assert.All(totals.AcceptedByGateway.Values, n => Assert.True(n > 0));
            // Every fault refused, never accepted: by the broker (wrong topic) or by a gateway.
            Assert.All(FaultKinds.All, k => Assert.True(sim.FaultsInjected(k) > 0, $"no {k.Code()} fault was injected"));
            Assert.Equal(sim.FaultsInjected(FaultKind.WrongTopic), sim.RefusedByBroker);
            Assert.Equal(sim.FaultsTotal - sim.FaultsInjected(FaultKind.WrongTopic), totals.Rejected + totals.Duplicates);
            // Faults judged on the message alone get their stated reason whichever gateway takes them. The rest are
            // judged against the meter's history, and two gateways take a meter's messages in no fixed order: a clock-skew
            // or rollback fault may meet the genuine reading of its sequence number first (sequence-conflict), or
            // a later one (interval-overlap); a duplicate may reach a gateway lagging beyond the window (sequence-replay).
            var orderFree = new[] { FaultKind.TamperedPayload, FaultKind.WrongKey, FaultKind.Garbage, FaultKind.MisalignedInterval, FaultKind.Oversized };
            foreach (var reason in orderFree.Select(k => k.ExpectedGatewayOutcome().Reason!).Distinct())
                Assert.Equal(orderFree.Where(k => k.ExpectedGatewayOutcome().Reason == reason).Sum(sim.FaultsInjected), totals.RejectedByReason.GetValueOrDefault(reason));
            var historyBound = new[] { GatewayReasons.SequenceReplay, GatewayReasons.SequenceConflict, GatewayReasons.IntervalOverlap, GatewayReasons.TimestampFuture, GatewayReasons.RegisterInconsistent };
            Assert.Equal(new[] { FaultKind.Duplicate, FaultKind.Replay, FaultKind.ClockSkew, FaultKind.CounterRollback }.Sum(sim.FaultsInjected),
                totals.Duplicates + historyBound.Sum(r => totals.RejectedByReason.GetValueOrDefault(r)));
            Assert.Empty(totals.RejectedByReason.Keys.Except(orderFree.Select(k => k.ExpectedGatewayOutcome().Reason!)).Except(historyBound));
        }

        // The readings stream holds each meter's readings once, with no gaps.
        var stream = one.Store.ReadAccepted(0, 100_000);
        Assert.All(stream.GroupBy(r => r.MeterId), g => Assert.Equal(Enumerable.Range(1, 200).Select(i => (ulong)i), g.Select(r => r.Sequence).Order()));
    }

    [Fact]
    public async Task ABrokerRestartInTheMiddleOfARunLosesNoAcceptedReading()
    {
        await using var mosquitto = await MosquittoFixture.StartAsync(meters: 20, gateways: 1);
        using var temp = new TempDirectory();
        await using var gateway = await RunningGateway.StartAsync(mosquitto, 1, Path.Combine(temp.Path, "gateway.db"));
        await using var publisher = new FleetPublisher(mosquitto.Fleet, Simulator(mosquitto, temp));
        const int intervals = 96;

        var run = publisher.RunAsync(new RunPlan(Day, intervals), TestContext.Current.CancellationToken);
        await Wait.Until(() => publisher.Stats.Acknowledged >= 300 || run.IsCompleted, "the run to get going");
        Assert.False(run.IsCompleted, "the run ended before the broker could be restarted in its middle");
        var pid = mosquitto.Broker.Pid;
        // SIGTERM: Mosquitto writes its persistence file, with the gateway's queued QoS 1 readings, on the way down.
        await mosquitto.Broker.RestartAsync(cancellationToken: TestContext.Current.CancellationToken);
        Assert.NotEqual(pid, mosquitto.Broker.Pid);
        await run;
        await publisher.FlushAsync(TestContext.Current.CancellationToken);
        Assert.Equal(0, publisher.Stats.Buffered);

        var generated = publisher.Stats.ReadingsGenerated;
        Assert.Equal(20 * intervals, generated);
        await Wait.Until(() => gateway.Store.Totals().Accepted == generated, "every reading the meters generated to be accepted");
        var stream = gateway.Store.ReadAccepted(0, 100_000);
        Assert.All(stream.GroupBy(r => r.MeterId), g => Assert.Equal(Enumerable.Range(1, intervals).Select(i => (ulong)i), g.Select(r => r.Sequence).Order()));
        // Whatever was in flight across the restart arrived again and was recognised, not accepted twice.
        Assert.Equal(0, gateway.Store.Totals().Rejected);
    }

    /// <summary>The refusals of genuine-looking readings, for a failure message: what each was checked against.</summary>
    private static string Explain(SqliteGatewayStore store) => string.Join(" | ", store.ReadRejected()
        .Select(r => (r, d: ReadingCodec.Decode(r.Payload)))
        .Where(x => x.d.IsOk && x.r.Reason is not (ReadingReasons.SignatureInvalid or GatewayReasons.TimestampFuture))
        .Take(10)
        .Select(x => $"{x.r.Reason} at {x.r.RejectedBy}: {x.d.Value.Reading.MeterId} seq {x.d.Value.Reading.Sequence}, register {x.d.Value.Reading.RegisterWh}: {x.r.Message}"));

    private static SimulatorOptions Simulator(MosquittoFixture mosquitto, TempDirectory temp) => new()
    {
        Host = mosquitto.Host,
        Port = mosquitto.TlsPort,
        CaFile = mosquitto.Directory.CaCertificate,
        BufferDirectory = Path.Combine(temp.Path, "outbox"),
        // Small delays: the restart test wants meters back quickly; the backoff shape is tested elsewhere.
        ReconnectBaseDelayMilliseconds = 50,
        ReconnectMaxDelayMilliseconds = 500,
    };
}

/// <summary>A <see cref="GatewayService"/> on Mosquitto's TLS listener with a gateway credential, writing to a SQLite store.</summary>
internal sealed class RunningGateway : IAsyncDisposable
{
    private readonly Core.Devices.DeviceDirectory _devices;

    private RunningGateway(GatewayService service, SqliteGatewayStore store, Core.Devices.DeviceDirectory devices)
    {
        Service = service;
        Store = store;
        _devices = devices;
    }

    public GatewayService Service { get; }

    public SqliteGatewayStore Store { get; }

    public static async Task<RunningGateway> StartAsync(MosquittoFixture mosquitto, int number, string storePath, string? shareGroup = null)
    {
        var credential = mosquitto.Gateway(number);
        var options = new GatewayOptions
        {
            BrokerHost = mosquitto.Host,
            BrokerPort = mosquitto.TlsPort,
            UseTls = true,
            CaFile = mosquitto.Directory.CaCertificate,
            ClientId = credential.Username,
            Username = credential.Username,
            Password = credential.Password,
            SharedSubscriptionGroup = shareGroup,
            StorePath = storePath,
        };
        var store = new SqliteGatewayStore(storePath);
        var devices = new Core.Devices.DeviceDirectory(mosquitto.Fleet.Registry);
        var service = new GatewayService(Microsoft.Extensions.Options.Options.Create(options), new ReadingValidator(devices, options, store), store, NullLogger<GatewayService>.Instance);
        await service.StartAsync(TestContext.Current.CancellationToken);
        await Wait.Until(() => service.IsSubscribed, $"{credential.Username} to subscribe");
        return new RunningGateway(service, store, devices);
    }

    public async ValueTask DisposeAsync()
    {
        await Service.StopAsync(CancellationToken.None);
        Service.Dispose();
        Store.Dispose();
        _devices.Dispose();
    }
}
