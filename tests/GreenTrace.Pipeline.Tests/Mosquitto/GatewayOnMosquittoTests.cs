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
