using GreenTrace.Broker;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Readings;
using GreenTrace.Gateway;
using GreenTrace.Gateway.Store;
using GreenTrace.Streaming;
using GreenTrace.Streaming.InProcess;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace GreenTrace.Pipeline.Tests.Support;

/// <summary>
/// The real front of the pipeline on loopback: MQTTnet's in-process broker with GreenTrace's
/// rules on a free port of 127.0.0.1, a gateway subscribed to it, and the in-process log behind it.
/// </summary>
public sealed class GatewayHarness : IAsyncDisposable
{
    public const string GatewayClientId = "gateway-test";

    private readonly List<IMqttClient> _clients = [];

    private GatewayHarness(DeviceDirectory directory, EmbeddedBroker broker, InProcessLog log, GatewayOptions options, GatewayService gateway)
    {
        Directory = directory;
        Broker = broker;
        Log = log;
        Options = options;
        Gateway = gateway;
    }

    public DeviceDirectory Directory { get; }

    public EmbeddedBroker Broker { get; }

    public InProcessLog Log { get; }

    public GatewayOptions Options { get; }

    public GatewayService Gateway { get; }

    public GatewayStats Stats => Gateway.Stats;

    public IReadOnlyList<StreamRecord> Readings => Log.ReadAll(Topics.Readings);

    public IReadOnlyList<RejectedReading> Rejected => Log.ReadAll(Topics.RejectedReadings).Select(r => RejectedReading.FromJson(r.Value.Span)).ToList();

    public static async Task<GatewayHarness> StartAsync(IEnumerable<TestMeter> meters, Action<GatewayOptions>? configure = null, ILogger<GatewayService>? logger = null, bool waitUntilSubscribed = true, Func<InProcessLog, IStreamClientFactory>? streams = null)
    {
        var directory = new DeviceDirectory(meters.Select(m => m.Device));
        var broker = new EmbeddedBroker(Microsoft.Extensions.Options.Options.Create(new EmbeddedBrokerOptions { Host = "127.0.0.1", Port = 0 }), directory, NullLogger<EmbeddedBroker>.Instance);
        await broker.StartAsync(TestContext.Current.CancellationToken);
        var log = new InProcessLog([new TopicSpec(Topics.Readings, 4), new TopicSpec(Topics.RejectedReadings, 2)]);
        var options = new GatewayOptions { BrokerHost = "127.0.0.1", BrokerPort = broker.Port, ClientId = GatewayClientId };
        configure?.Invoke(options);
        var store = new StreamGatewayStore(streams?.Invoke(log) ?? log, options.DuplicateWindow);
        var gateway = new GatewayService(Microsoft.Extensions.Options.Options.Create(options), new ReadingValidator(directory, options, store), store, logger ?? NullLogger<GatewayService>.Instance);
        var harness = new GatewayHarness(directory, broker, log, options, gateway);
        await gateway.StartAsync(TestContext.Current.CancellationToken);
        if (waitUntilSubscribed)
            await Wait.Until(() => gateway.IsSubscribed, "the gateway to connect and subscribe");
        return harness;
    }

    /// <summary>Connects an MQTT 5 client as a meter does: client id = meter id.</summary>
    public async Task<IMqttClient> ConnectAsync(string clientId)
    {
        var (client, result) = await TryConnectAsync(clientId);
        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        return client;
    }

    public async Task<(IMqttClient Client, MqttClientConnectResult Result)> TryConnectAsync(string clientId)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        _clients.Add(client);
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer(Broker.Host, Broker.Port)
            .WithClientId(clientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(true)
            .WithTimeout(Wait.SafetyNet)
            .Build();
        var result = await client.ConnectAsync(options, TestContext.Current.CancellationToken);
        return (client, result);
    }

    public static Task<MqttClientPublishResult> PublishAsync(IMqttClient client, string topic, byte[] payload) =>
        client.PublishAsync(
            new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(),
            TestContext.Current.CancellationToken);

    /// <summary>Publishes as the meter on its own topic and expects the broker's PUBACK to be a success.</summary>
    public static async Task PublishAcceptedAsync(IMqttClient client, string topic, byte[] payload)
    {
        var result = await PublishAsync(client, topic, payload);
        Assert.True(result.IsSuccess, $"PUBACK {result.ReasonCode}");
    }

    /// <summary>Waits until the gateway has handled (and acknowledged) this many messages in all.</summary>
    public Task HandledAsync(long messages) => Wait.Until(() => Stats.Received >= messages, $"the gateway to handle {messages} messages (handled {Stats.Received})");

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            if (client.IsConnected)
                await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), CancellationToken.None);
            client.Dispose();
        }
        await Gateway.StopAsync(CancellationToken.None);
        Gateway.Dispose();
        await Broker.DisposeAsync();
        Directory.Dispose();
    }
}

/// <summary>Keeps what a component logs, so a test can wait for a logged event.</summary>
public sealed class CapturingLogger<T> : ILogger<T>
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _messages = new();

    public IReadOnlyCollection<string> Messages => _messages;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _messages.Enqueue(formatter(state, exception));
}
