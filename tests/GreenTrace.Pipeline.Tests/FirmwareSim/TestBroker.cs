using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace GreenTrace.Pipeline.Tests.FirmwareSim;

/// <summary>A real MQTTnet broker on 127.0.0.1 and a free port, recording every publish it receives.</summary>
internal sealed class TestBroker : IAsyncDisposable
{
    private TestBroker(MqttServer server, int port)
    {
        Server = server;
        Port = port;
    }

    public MqttServer Server { get; }

    public int Port { get; }

    /// <summary>Every PUBLISH as the broker received it, in arrival order, before any rule decided on it.</summary>
    public ConcurrentQueue<(string ClientId, string Topic, byte[] Payload)> Received { get; } = new();

    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <param name="rule">Optional broker policy, e.g. a topic ACL that refuses with a PUBACK reason code.</param>
    public static async Task<TestBroker> StartAsync(Action<InterceptingPublishEventArgs>? rule = null, int? port = null)
    {
        for (var attempt = 0; ; attempt++)
        {
            var chosen = port ?? FreePort();
            var options = new MqttServerOptionsBuilder()
                .WithDefaultEndpoint()
                .WithDefaultEndpointBoundIPAddress(IPAddress.Loopback)
                // IPAddress.None (not IPv6None) is what switches MQTTnet's IPv6 listener off.
                .WithDefaultEndpointBoundIPV6Address(IPAddress.None)
                .WithDefaultEndpointPort(chosen)
                .WithPersistentSessions()
                .Build();
            var server = new MqttServerFactory().CreateMqttServer(options);
            var broker = new TestBroker(server, chosen);
            server.InterceptingPublishAsync += e =>
            {
                broker.Received.Enqueue((e.ClientId, e.ApplicationMessage.Topic, e.ApplicationMessage.Payload.ToArray()));
                rule?.Invoke(e);
                return Task.CompletedTask;
            };
            try
            {
                await server.StartAsync();
                return broker;
            }
            catch (SocketException) when (port is null && attempt < 5)
            {
                // Another process took the port between probing and binding; try another.
                server.Dispose();
            }
        }
    }

    /// <summary>A topic ACL like a production broker's: a meter may publish only on its own topic.</summary>
    public static void OwnTopicOnly(InterceptingPublishEventArgs e)
    {
        var parts = e.ApplicationMessage.Topic.Split('/');
        if (parts.Length != 3 || parts[0] != "meters" || parts[2] != "readings" || parts[1] != e.ClientId)
        {
            e.ProcessPublish = false;
            e.Response.ReasonCode = MqttPubAckReasonCode.NotAuthorized;
            e.Response.ReasonString = "meters publish only on their own topic";
        }
    }

    /// <summary>Waits until the broker has seen every client but <paramref name="except"/> disconnect.</summary>
    public async Task WaitForNoClientsAsync(string? except, CancellationToken cancellationToken)
    {
        while ((await Server.GetClientsAsync()).Any(c => c.Id != except))
            await Task.Delay(10, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await Server.StopAsync();
        Server.Dispose();
    }
}

/// <summary>A QoS 1 subscriber that acknowledges manually, after it has recorded the message (as a gateway would after a durable write).</summary>
internal sealed class TestSubscriber : IAsyncDisposable
{
    private readonly IMqttClient _client;
    private readonly List<(string Topic, byte[] Payload)> _received = [];
    private readonly Lock _gate = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private TestSubscriber(IMqttClient client) => _client = client;

    public IReadOnlyList<(string Topic, byte[] Payload)> Received
    {
        get
        {
            lock (_gate)
                return [.. _received];
        }
    }

    public static async Task<TestSubscriber> ConnectAsync(int port, CancellationToken cancellationToken, string filter = "meters/+/readings")
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var subscriber = new TestSubscriber(client);
        client.ApplicationMessageReceivedAsync += async e =>
        {
            e.AutoAcknowledge = false;
            subscriber.Record(e.ApplicationMessage.Topic, e.ApplicationMessage.Payload.ToArray());
            await e.AcknowledgeAsync(CancellationToken.None);
        };
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", port)
            .WithClientId("test-subscriber")
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(false)
            .WithSessionExpiryInterval(600)
            .Build();
        await client.ConnectAsync(options, cancellationToken);
        await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce).Build(), cancellationToken);
        return subscriber;
    }

    public async Task WaitForCountAsync(int count, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_received.Count >= count)
                    return;
                changed = _changed.Task;
            }
            await changed.WaitAsync(cancellationToken);
        }
    }

    private void Record(string topic, byte[] payload)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            _received.Add((topic, payload));
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.SetResult();
    }

    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected)
            await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build());
        _client.Dispose();
    }
}
