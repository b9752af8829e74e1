using GreenTrace.Core.Readings;
using GreenTrace.Pipeline.Tests.Support;
using MQTTnet;
using MQTTnet.Protocol;

namespace GreenTrace.Pipeline.Tests.Broker;

/// <summary>The broker's topic rules, against MQTTnet's real in-process server on loopback with a gateway behind it.</summary>
public sealed class EmbeddedBrokerTests : IDisposable
{
    private readonly TestMeter _a = new("meter-a");
    private readonly TestMeter _b = new("meter-b");
    private readonly long _start = (DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 3600 * 3600) - 86_400;

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
    }

    [Fact]
    public async Task AMeterPublishingOnAnotherMetersTopicGetsNotAuthorizedAndNothingReachesTheGateway()
    {
        await using var pipeline = await GatewayHarness.StartAsync([_a, _b]);
        var meterA = await pipeline.ConnectAsync(_a.Id);
        var own = _a.Sign(_a.Reading(1, _start, 250, 10_250));

        var refused = await GatewayHarness.PublishAsync(meterA, _b.Topic, _b.Sign(_b.Reading(1, _start, 250, 10_250)));
        var refusedToo = await GatewayHarness.PublishAsync(meterA, "meters/meter-a/other", own);
        // Then one it may publish: it reaches the gateway after anything published before it would have.
        await GatewayHarness.PublishAcceptedAsync(meterA, _a.Topic, own);
        await pipeline.HandledAsync(1);

        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, refused.ReasonCode);
        Assert.False(refused.IsSuccess);
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, refusedToo.ReasonCode);
        Assert.Equal(2, pipeline.Broker.RefusedPublishes);
        Assert.Equal(1, pipeline.Stats.Received);
        Assert.Equal(own, Assert.Single(pipeline.Readings).Value.ToArray());
        Assert.Empty(pipeline.Rejected);
        Assert.True(meterA.IsConnected); // refused, not thrown out
    }

    [Fact]
    public async Task AGatewayMayNotPublishReadings()
    {
        await using var pipeline = await GatewayHarness.StartAsync([_a]);
        var impostor = await pipeline.ConnectAsync("gateway-2");
        var meterA = await pipeline.ConnectAsync(_a.Id);

        var refused = await GatewayHarness.PublishAsync(impostor, _a.Topic, _a.Sign(_a.Reading(1, _start, 250, 10_250)));
        await GatewayHarness.PublishAcceptedAsync(meterA, _a.Topic, _a.Sign(_a.Reading(2, _start + 900, 250, 10_500)));
        await pipeline.HandledAsync(1);

        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, refused.ReasonCode);
        Assert.Equal(1, pipeline.Stats.Received);
        Assert.Equal(2ul, TestMeter.Decode(Assert.Single(pipeline.Readings).Value.ToArray()).Reading.Sequence);
    }

    [Fact]
    public async Task AnUnknownClientIdIsRefusedAtConnect()
    {
        await using var pipeline = await GatewayHarness.StartAsync([_a]);

        var (unknown, result) = await pipeline.TryConnectAsync("meter-unregistered");

        Assert.Equal(MqttClientConnectResultCode.ClientIdentifierNotValid, result.ResultCode);
        Assert.False(unknown.IsConnected);
        Assert.Equal(1, pipeline.Broker.RefusedConnections);
        var known = await pipeline.ConnectAsync(_a.Id);
        Assert.True(known.IsConnected);
        Assert.Equal(1, pipeline.Broker.RefusedConnections);
    }

    [Theory]
    [InlineData(TopicRules.ReadingsFilter)]
    [InlineData("meters/meter-a/readings")]
    [InlineData("meters/meter-b/readings")]
    [InlineData("#")]
    public async Task AMeterMayNotSubscribe(string filter)
    {
        await using var pipeline = await GatewayHarness.StartAsync([_a, _b]);
        var meterA = await pipeline.ConnectAsync(_a.Id);

        var result = await meterA.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce).Build(), TestContext.Current.CancellationToken);

        Assert.Equal(MqttClientSubscribeResultCode.NotAuthorized, Assert.Single(result.Items).ResultCode);
    }

    [Fact]
    public async Task AGatewayMaySubscribeToTheReadings()
    {
        // Only the plain filter: MQTTnet's server answers every "$share/…" filter with SharedSubscriptionsNotSupported
        // (dotnet/MQTTnet#1404), so GatewayOptions.SharedSubscriptionGroup cannot work against the embedded broker.
        const string filter = TopicRules.ReadingsFilter;
        await using var pipeline = await GatewayHarness.StartAsync([_a]);
        var gateway = await pipeline.ConnectAsync("gateway-2");

        var result = await gateway.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce).Build(), TestContext.Current.CancellationToken);

        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, Assert.Single(result.Items).ResultCode);
    }
}
