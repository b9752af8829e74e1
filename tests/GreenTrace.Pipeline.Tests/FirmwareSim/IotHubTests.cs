using GreenTrace.Core.Readings;
using GreenTrace.FirmwareSim;
using GreenTrace.FirmwareSim.Faults;
using GreenTrace.Pipeline.Tests.Support;
using MQTTnet;
using MQTTnet.Formatter;

namespace GreenTrace.Pipeline.Tests.FirmwareSim;

/// <summary>IoT Hub mode against a broker that plays the hub, and TLS trust anchored on a CA file.</summary>
public sealed class IotHubTests : IDisposable
{
    private static readonly DateTimeOffset Day = new(2025, 6, 21, 0, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _dir = new();
    private readonly TestPki _pki = new();

    public void Dispose()
    {
        _pki.Dispose();
        _dir.Dispose();
    }

    private static CancellationToken Guard()
    {
        // Only a guard against a hang; nothing here asserts on elapsed time.
        var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromMinutes(2));
        return cts.Token;
    }

    [Fact]
    public void The_sas_token_matches_one_computed_by_hand()
    {
        // Computed with OpenSSL: printf 'myhub.azure-devices.net%2Fdevices%2Fdk1-solar-0001\n1700000000' |
        //   openssl dgst -sha256 -mac HMAC -macopt hexkey:000102…1f -binary | base64
        var key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var token = IotHub.SasToken(IotHub.ResourceUri(IotHub.HostName("myhub"), "dk1-solar-0001"), key, 1_700_000_000);
        Assert.Equal(
            "SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fdk1-solar-0001&sig=Q8qS%2BxJbpNcY%2BSGtHTJ6%2BODg0kyFZdwLXY%2BV1LPhqPo%3D&se=1700000000",
            token);
    }

    [Fact]
    public void Names_follow_the_hubs_conventions()
    {
        Assert.Equal("myhub.azure-devices.net", IotHub.HostName("myhub"));
        Assert.Equal("myhub.azure-devices.cn", IotHub.HostName("myhub.azure-devices.cn"));
        Assert.Equal("myhub.azure-devices.net/dk1-solar-0001/?api-version=2021-04-12", IotHub.UserName("myhub.azure-devices.net", "dk1-solar-0001"));
        Assert.Equal("devices/dk1-solar-0001/messages/events/", IotHub.EventsTopic("dk1-solar-0001"));
        var options = new SimulatorOptions { IotHub = "myhub" };
        Assert.Equal("myhub.azure-devices.net", options.BrokerHost);
        Assert.Equal(8883, options.BrokerPort);
        Assert.True(options.IsTls);
        Assert.Equal("devices/m-1/messages/events/%24.ct=application%2Fcose%3B%20cose-type%3D%22cose-sign1%22", options.Topic("m-1"));
    }

    [Fact]
    public void Device_keys_derive_from_the_meter_key_and_survive_the_fleet_file()
    {
        using var fleet = Fleet.Generate(new FleetSpec { MeterCount = 2, Seed = 41 });
        using var reloaded = Fleet.FromJson(fleet.ToJson());
        var meter = fleet.Meters[0];
        Assert.Equal(32, meter.IotHubDeviceKey().Length);
        Assert.Equal(meter.IotHubDeviceKey(), reloaded.Meters[0].IotHubDeviceKey());
        Assert.NotEqual(meter.IotHubDeviceKey(), meter.IotHubSecondaryDeviceKey());
        Assert.NotEqual(meter.IotHubDeviceKey(), fleet.Meters[1].IotHubDeviceKey());
        Assert.Equal(IotHub.DeviceImportLines(fleet), IotHub.DeviceImportLines(reloaded));
        Assert.Equal(2, IotHub.DeviceImportLines(fleet).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task A_fleet_publishes_to_iot_hub_as_its_devices_and_the_hub_refuses_only_the_wrong_topics()
    {
        var ct = Guard();
        using var fleet = Fleet.Generate(new FleetSpec { MeterCount = 3, Seed = 42 });
        await using var hub = await FakeIotHub.StartAsync(_pki, IotHub.DeviceImportLines(fleet));
        var options = new SimulatorOptions
        {
            IotHub = hub.HostName,
            Host = "127.0.0.1",
            Port = hub.Port,
            CaFile = _pki.WriteCaPem(_dir.File("ca.pem")),
            ReconnectBaseDelayMilliseconds = 10,
            ReconnectMaxDelayMilliseconds = 100,
        };
        const int intervals = 8;
        var faults = new FaultOptions { WrongTopic = 0.3, Duplicate = 0.2, Oversized = 0.2, Seed = 4 };
        await using (var publisher = new FleetPublisher(fleet, options, faults))
        {
            await publisher.RunAsync(new RunPlan(Day, intervals), ct);
            var stats = publisher.Stats.Snapshot();
            var wrongTopic = stats.FaultsInjected[FaultKind.WrongTopic];
            Assert.True(wrongTopic > 0 && stats.FaultsInjected[FaultKind.Oversized] > 0);
            Assert.Equal(0, stats.Buffered);
            Assert.Equal(wrongTopic, stats.RefusedByBroker);
            Assert.Equal(stats.MessagesSent - wrongTopic, stats.Acknowledged);
            Assert.Equal(wrongTopic, hub.Refusals.Count);
            Assert.All(hub.Refusals, r => Assert.Contains(": topic 'devices/", r, StringComparison.Ordinal));
            Assert.Equal(stats.Acknowledged, hub.Received.Count);
        }

        Assert.All(hub.PersistentSessions, Assert.True);
        var property = "%24.ct=application%2Fcose%3B%20cose-type%3D%22cose-sign1%22";
        Assert.All(hub.Received, r => Assert.Equal($"devices/{r.DeviceId}/messages/events/{property}", r.Topic));
        foreach (var meter in fleet.Meters)
        {
            var readings = hub.Received.Where(r => r.DeviceId == meter.Id).Select(r => ReadingCodec.Decode(r.Payload)).Where(d => d.IsOk).Select(d => d.Value.Reading).ToList();
            Assert.All(readings, r => Assert.Equal(meter.Id, r.MeterId));
            Assert.Equal(Enumerable.Range(1, intervals).Select(i => (ulong)i), readings.Select(r => r.Sequence).Distinct());
        }
    }

    [Fact]
    public async Task The_fake_hub_holds_clients_to_the_hubs_rules()
    {
        var ct = Guard();
        using var fleet = Fleet.Generate(new FleetSpec { MeterCount = 2, Seed = 43 });
        await using var hub = await FakeIotHub.StartAsync(_pki, IotHub.DeviceImportLines(fleet));
        var meter = fleet.Meters[0];
        var resource = IotHub.ResourceUri(hub.HostName, meter.Id);
        var valid = IotHub.SasToken(resource, meter.IotHubDeviceKey(), DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds());

        async Task<bool> Connects(string clientId, string user, string password, MqttProtocolVersion version = MqttProtocolVersion.V311)
        {
            using var client = new MqttClientFactory().CreateMqttClient();
            var options = new MqttClientOptionsBuilder()
                .WithTcpServer("127.0.0.1", hub.Port)
                .WithClientId(clientId)
                .WithProtocolVersion(version)
                .WithCredentials(user, password)
                .WithTlsOptions(t => t.UseTls().WithTargetHost("127.0.0.1").WithCertificateValidationHandler(_ => true))
                .Build();
            try
            {
                var result = await client.ConnectAsync(options, ct);
                return result.ResultCode == MqttClientConnectResultCode.Success;
            }
            catch (MQTTnet.Adapter.MqttConnectingFailedException)
            {
                return false;
            }
        }

        var user = IotHub.UserName(hub.HostName, meter.Id);
        Assert.True(await Connects(meter.Id, user, valid));
        Assert.False(await Connects(meter.Id, user, valid, MqttProtocolVersion.V500));
        Assert.False(await Connects(fleet.Meters[1].Id, user, valid));
        Assert.False(await Connects(meter.Id, $"{hub.HostName}/{meter.Id}", valid));
        Assert.False(await Connects(meter.Id, user, IotHub.SasToken(resource, fleet.Meters[1].IotHubDeviceKey(), DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds())));
        Assert.False(await Connects(meter.Id, user, IotHub.SasToken(resource, meter.IotHubDeviceKey(), DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds())));
        Assert.False(await Connects(meter.Id, user, meter.MqttPassword()));
        Assert.Equal(6, hub.Refusals.Count);
    }

    [Fact]
    public async Task Tls_trusts_the_given_ca_and_nothing_else()
    {
        var ct = Guard();
        using var fleet = Fleet.Generate(new FleetSpec { MeterCount = 1, Seed = 44 });
        await using var hub = await FakeIotHub.StartAsync(_pki, IotHub.DeviceImportLines(fleet));
        using var stranger = new TestPki("Some other CA");

        SimulatorOptions Options(string? caFile) => new()
        {
            IotHub = hub.HostName,
            Host = "127.0.0.1",
            Port = hub.Port,
            CaFile = caFile,
            BufferDirectory = _dir.File("buffer"),
            ReconnectBaseDelayMilliseconds = 10,
            ReconnectMaxDelayMilliseconds = 100,
        };

        await using (var untrusted = new FleetPublisher(fleet, Options(stranger.WriteCaPem(_dir.File("other.pem")))))
        {
            await untrusted.RunAsync(new RunPlan(Day, 1), ct);
            Assert.Equal(0, untrusted.Stats.Acknowledged);
            Assert.Equal(1, untrusted.Stats.Buffered);
        }
        await using (var system = new FleetPublisher(fleet, Options(null)))
        {
            // Without a CA file only the system's trust store counts, and it has never heard of the test CA.
            await system.RunAsync(new RunPlan(Day.AddMinutes(15), 1), ct);
            Assert.Equal(0, system.Stats.Acknowledged);
            Assert.Equal(2, system.Stats.Buffered);
        }
        await using (var trusted = new FleetPublisher(fleet, Options(_pki.WriteCaPem(_dir.File("ca.pem")))))
        {
            await trusted.RunAsync(new RunPlan(Day.AddMinutes(30), 1), ct);
            Assert.Equal(3, trusted.Stats.Acknowledged);
        }
        Assert.Empty(hub.Refusals);
        Assert.Equal([1UL, 2, 3], hub.Received.Select(r => ReadingCodec.Decode(r.Payload).Value.Reading.Sequence));
    }

    [Fact]
    public void A_missing_or_empty_ca_file_is_refused_up_front()
    {
        using var fleet = Fleet.Generate(new FleetSpec { MeterCount = 1, Seed = 45 });
        Assert.Throws<ArgumentException>(() => new FleetPublisher(fleet, new SimulatorOptions { CaFile = _dir.File("missing.pem") }));
        File.WriteAllText(_dir.File("empty.pem"), "not a certificate\n");
        Assert.Throws<ArgumentException>(() => new FleetPublisher(fleet, new SimulatorOptions { CaFile = _dir.File("empty.pem") }));
        Assert.Throws<ArgumentException>(() => new FleetPublisher(fleet, new SimulatorOptions { CaFile = _dir.File("empty.pem"), AllowUntrustedCertificates = true }));
    }
}
