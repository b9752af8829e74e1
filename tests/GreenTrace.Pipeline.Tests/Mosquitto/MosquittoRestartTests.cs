using GreenTrace.Core.Readings;
using MQTTnet;

namespace GreenTrace.Pipeline.Tests.Mosquitto;

/// <summary>What a persistent gateway session keeps across a broker restart, each test on a private broker.</summary>
public sealed class MosquittoRestartTests
{
    private const uint SessionExpirySeconds = 3600;

    [Fact]
    public async Task A_graceful_restart_keeps_a_persistent_gateways_session_and_its_queued_QoS1_readings()
    {
        await using var broker = await MosquittoFixture.StartAsync();
        var meter = broker.Meter(0);
        var gatewayOptions = broker.GatewayOptions(1).WithCleanStart(false).WithSessionExpiryInterval(SessionExpirySeconds).Build();
        await using (var gateway = await broker.ConnectAsync(gatewayOptions))
        {
            Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, await gateway.SubscribeAsync(TopicRules.ReadingsFilter));
            await gateway.DisconnectAsync();
        }
        var sent = new List<byte[]>();
        await using (var client = await broker.ConnectMeterAsync(meter))
        {
            for (var i = 0; i < 3; i++)
            {
                var reading = MosquittoFixture.NextReading(meter);
                await client.PublishAcceptedAsync(TopicRules.ReadingsTopic(meter.Id), reading);
                sent.Add(reading);
            }
        }
        var before = broker.Broker.Pid;

        await broker.Broker.RestartAsync(cancellationToken: TestContext.Current.CancellationToken);
        await using var returning = await broker.ConnectAsync(gatewayOptions);
        await returning.WaitForCountAsync(sent.Count);
        await returning.BarrierAsync();

        Assert.NotEqual(before, broker.Broker.Pid);
        Assert.True(returning.ConnectResult!.IsSessionPresent);
        Assert.Equal(sent.Select(Convert.ToHexString), returning.Received.Select(r => Convert.ToHexString(r.Payload)));
        Assert.Equal(sent.Count, returning.PublishesOnWire);
    }

    [Fact]
    public async Task A_killed_broker_comes_back_with_its_last_save_and_the_readings_queued_since_are_lost()
    {
        // No autosave during the test: what a kill loses is then exactly what changed since the last graceful stop.
        await using var broker = await MosquittoFixture.StartAsync(configure: b => b.WithAutosaveInterval(86_400));
        var meter = broker.Meter(0);
        var gatewayOptions = broker.GatewayOptions(1).WithCleanStart(false).WithSessionExpiryInterval(SessionExpirySeconds).Build();
        await using (var gateway = await broker.ConnectAsync(gatewayOptions))
        {
            Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, await gateway.SubscribeAsync(TopicRules.ReadingsFilter));
            await gateway.DisconnectAsync();
        }
        await broker.Broker.RestartAsync(cancellationToken: TestContext.Current.CancellationToken); // saves the session, with nothing queued
        await using (var client = await broker.ConnectMeterAsync(meter))
        {
            for (var i = 0; i < 3; i++)
                await client.PublishAcceptedAsync(TopicRules.ReadingsTopic(meter.Id), MosquittoFixture.NextReading(meter));
        }

        await broker.Broker.KillAsync();
        await broker.Broker.RestartAsync(cancellationToken: TestContext.Current.CancellationToken);
        await using var returning = await broker.ConnectAsync(gatewayOptions);
        var marker = MosquittoFixture.NextReading(meter);
        await using (var client = await broker.ConnectMeterAsync(meter))
            await client.PublishAcceptedAsync(TopicRules.ReadingsTopic(meter.Id), marker);
        await returning.WaitForCountAsync(1);
        await returning.BarrierAsync();

        Assert.True(returning.ConnectResult!.IsSessionPresent);
        Assert.Equal(Convert.ToHexString(marker), Convert.ToHexString(Assert.Single(returning.Received).Payload));
        Assert.Equal(1, returning.PublishesOnWire);
    }
}
