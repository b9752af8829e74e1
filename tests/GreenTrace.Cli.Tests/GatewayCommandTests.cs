using System.Security.Cryptography;
using System.Text.Json.Nodes;
using GreenTrace.Broker;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Readings;
using GreenTrace.Gateway.Store;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace GreenTrace.Cli.Tests;

public sealed class GatewayCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("greentrace-gateway-").FullName;
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public void Dispose()
    {
        _key.Dispose();
        Directory.Delete(_dir, true);
    }

    private DeviceInfo Device => new("meter-1", _key.ExportSubjectPublicKeyInfo(), EnergyDirection.Generation, "solar", "photovoltaic", 4000, "DE-LU", "DE", 52_520_000, 13_405_000);

    private string Registry()
    {
        var path = Path.Combine(_dir, "registry.json");
        File.WriteAllText(path, DeviceRegistryJson.Serialize([Device]));
        return path;
    }

    [Fact]
    public async Task AMissingRegistryIsUnusableInput()
    {
        var r = await CliRunner.RunAsync(null, "gateway", "--registry", Path.Combine(_dir, "nope.json"), "--store", Path.Combine(_dir, "g.db"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("device registry", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AClientIdTheBrokerRulesWouldRefuseIsRefusedUpFront()
    {
        var r = await CliRunner.RunAsync(null, "gateway", "--registry", Registry(), "--store", Path.Combine(_dir, "g.db"), "--client-id", "meter-1");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("must start with 'gateway'", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheGatewayRecordsEveryVerdictInItsStoreAndReportsTheBooks()
    {
        using var directory = new DeviceDirectory([Device]);
        await using var broker = new EmbeddedBroker(Microsoft.Extensions.Options.Options.Create(new EmbeddedBrokerOptions { Port = 0 }), directory, NullLogger<EmbeddedBroker>.Instance);
        await broker.StartAsync(TestContext.Current.CancellationToken);
        var store = Path.Combine(_dir, "gateway.db");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var output = new StringWriter();
        var error = new StringWriter();
        var run = CliApp.RunAsync(["gateway", "--registry", Registry(), "--store", store, "--host", "127.0.0.1", "--port", broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            new CliConsole(new StringReader(""), output, error), stop.Token);

        // A meter publishes two good readings, one twice, and a forgery.
        var start = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 900 * 900 - 7200;
        var first = new Reading("meter-1", 1, start, start + 900, 100, 10_100, EnergyDirection.Generation, ReadingQuality.Measured);
        var second = first with { Sequence = 2, Start = start + 900, End = start + 1800, RegisterWh = 10_200 };
        using var forger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[][] payloads = [ReadingCodec.Sign(first, _key), ReadingCodec.Sign(first, _key), ReadingCodec.Sign(second, forger), ReadingCodec.Sign(second, _key)];
        using var meter = new MqttClientFactory().CreateMqttClient();
        await meter.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", broker.Port).WithClientId("meter-1").WithProtocolVersion(MqttProtocolVersion.V500).Build(), TestContext.Current.CancellationToken);
        // Until the gateway has subscribed the broker has nobody to keep readings for: wait, or they are dropped.
        await WaitUntilAsync(() => broker.HasSubscribed("gateway-1"));
        foreach (var payload in payloads)
            await meter.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(TopicRules.ReadingsTopic("meter-1")).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), TestContext.Current.CancellationToken);

        await WaitUntilAsync(() =>
        {
            using var s = new SqliteGatewayStore(store);
            return s.Totals().Received == payloads.Length;
        });
        await stop.CancelAsync();
        Assert.True(await run == 0, error.ToString() + output);

        Assert.Contains("gateway-1: received 4, accepted 2, rejected 1, duplicates 1", output.ToString(), StringComparison.Ordinal);
        var report = await CliRunner.RunAsync(null, "gateway", "report", "--store", store, "--json");
        Assert.Equal(0, report.ExitCode);
        var json = JsonNode.Parse(report.Out)!;
        Assert.Equal(2, json["Accepted"]!.GetValue<long>());
        Assert.Equal(1, json["Duplicates"]!.GetValue<long>());
        Assert.Equal(1, json["RejectedByReason"]!["signature-invalid"]!.GetValue<long>());
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 600 && !condition(); i++)
            await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.True(condition(), "timed out waiting");
    }
}
