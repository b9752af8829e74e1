using System.Buffers;
using GreenTrace.Pipeline.Tests.Support;
using MQTTnet;
using MQTTnet.Diagnostics.PacketInspection;
using MQTTnet.Protocol;

namespace GreenTrace.Pipeline.Tests.Mosquitto;

/// <summary>An MQTTnet client that records every message it receives, in order.</summary>
public sealed class MqttTestClient : IAsyncDisposable
{
    private const int PublishPacketType = 3;

    private readonly List<(string Topic, byte[] Payload)> _received = [];
    private readonly Lock _gate = new();
    private int _publishesOnWire;

    public MqttTestClient()
    {
        Client = new MqttClientFactory().CreateMqttClient();
        Client.ApplicationMessageReceivedAsync += e =>
        {
            lock (_gate)
                _received.Add((e.ApplicationMessage.Topic, e.ApplicationMessage.Payload.ToArray()));
            return Task.CompletedTask;
        };
        // MQTTnet hands PUBLISH packets to the handler above on a task of their own, so a round trip
        // does not prove the handler has run; packet inspection runs in the receive loop, in order.
        Client.InspectPacketAsync += e =>
        {
            if (e.Direction == MqttPacketFlowDirection.Inbound && e.Buffer.Length > 0 && e.Buffer[0] >> 4 == PublishPacketType)
                Interlocked.Increment(ref _publishesOnWire);
            return Task.CompletedTask;
        };
    }

    public IMqttClient Client { get; }

    public MqttClientConnectResult? ConnectResult { get; private set; }

    public bool IsConnected => Client.IsConnected;

    public IReadOnlyList<(string Topic, byte[] Payload)> Received
    {
        get
        {
            lock (_gate)
                return [.. _received];
        }
    }

    /// <summary>PUBLISH packets that arrived from the broker, whether or not the handler has recorded them yet.</summary>
    public int PublishesOnWire => Volatile.Read(ref _publishesOnWire);

    public async Task<MqttClientConnectResult> ConnectAsync(MqttClientOptions options)
    {
        ConnectResult = await Client.ConnectAsync(options, TestContext.Current.CancellationToken);
        return ConnectResult;
    }

    public async Task<MqttClientSubscribeResultCode> SubscribeAsync(string filter)
    {
        var result = await Client.SubscribeAsync(
            new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce).Build(),
            TestContext.Current.CancellationToken);
        return Assert.Single(result.Items).ResultCode;
    }

    /// <summary>QoS 1, returning the broker's PUBACK.</summary>
    public Task<MqttClientPublishResult> PublishAsync(string topic, byte[] payload) =>
        Client.PublishAsync(
            new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(),
            TestContext.Current.CancellationToken);

    public async Task PublishAcceptedAsync(string topic, byte[] payload)
    {
        var result = await PublishAsync(topic, payload);
        Assert.True(result.IsSuccess, $"PUBACK {result.ReasonCode} for {topic}");
    }

    /// <summary>
    /// A round trip to the broker: every PUBLISH the broker sent this client before its PINGRESP is
    /// counted in <see cref="PublishesOnWire"/> when this returns, because one connection delivers in
    /// order. To know a message was never sent, send something after it and then call this.
    /// </summary>
    public Task BarrierAsync() => Client.PingAsync(TestContext.Current.CancellationToken);

    public Task WaitForCountAsync(int count) =>
        Wait.Until(() => Received.Count >= count, $"{count} message(s) (have {Received.Count})");

    public async Task DisconnectAsync()
    {
        if (Client.IsConnected)
            await Client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (Client.IsConnected)
                await Client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), CancellationToken.None);
        }
        catch (MQTTnet.Exceptions.MqttCommunicationException)
        {
            // The broker may already be gone (a test stopped it); nothing is left to close.
        }
        Client.Dispose();
    }
}
