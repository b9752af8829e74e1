using System.Net;
using System.Net.Sockets;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Readings;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace GreenTrace.Broker;

/// <summary>
/// MQTTnet's in-process broker with GreenTrace's topic rules: the embedded default's MQTT. Meters
/// connect with their meter id as client id; only registered meters and gateways get in.
/// </summary>
public sealed class EmbeddedBroker : IHostedService, IAsyncDisposable
{
    private readonly EmbeddedBrokerOptions _options;
    private readonly IDeviceDirectory _devices;
    private readonly ILogger<EmbeddedBroker> _logger;
    private MqttServer? _server;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _subscribers = new(StringComparer.Ordinal);
    private long _refusedPublishes, _refusedConnections;

    public EmbeddedBroker(IOptions<EmbeddedBrokerOptions> options, IDeviceDirectory devices, ILogger<EmbeddedBroker> logger)
    {
        _options = options.Value;
        _devices = devices;
        _logger = logger;
    }

    public string Host => _options.Host;

    /// <summary>The port it listens on, known once started.</summary>
    public int Port { get; private set; }

    public long RefusedPublishes => Interlocked.Read(ref _refusedPublishes);

    public long RefusedConnections => Interlocked.Read(ref _refusedConnections);

    /// <summary>Whether the client has had a subscription granted: from then on the broker keeps readings for it.</summary>
    public bool HasSubscribed(string clientId) => _subscribers.ContainsKey(clientId);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var address = IPAddress.Parse(_options.Host);
        Port = _options.Port != 0 ? _options.Port : FreePort(address);
        var options = new MqttServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointBoundIPAddress(address)
            .WithDefaultEndpointBoundIPV6Address(IPAddress.None)
            .WithDefaultEndpointPort(Port)
            .WithPersistentSessions()
            .Build();
        _server = new MqttServerFactory().CreateMqttServer(options);
        _server.ValidatingConnectionAsync += e =>
        {
            if (!TopicRules.IsGateway(e.ClientId) && _devices.Find(e.ClientId) is null)
            {
                Interlocked.Increment(ref _refusedConnections);
                e.ReasonCode = MqttConnectReasonCode.ClientIdentifierNotValid;
            }
            return Task.CompletedTask;
        };
        _server.InterceptingPublishAsync += e =>
        {
            if (!TopicRules.MayPublish(e.ClientId, e.ApplicationMessage.Topic))
            {
                Interlocked.Increment(ref _refusedPublishes);
                e.ProcessPublish = false;
                e.Response.ReasonCode = MqttPubAckReasonCode.NotAuthorized;
            }
            return Task.CompletedTask;
        };
        _server.InterceptingSubscriptionAsync += e =>
        {
            if (!TopicRules.MaySubscribe(e.ClientId, e.TopicFilter.Topic))
            {
                e.ProcessSubscription = false;
                e.Response.ReasonCode = MqttSubscribeReasonCode.NotAuthorized;
            }
            return Task.CompletedTask;
        };
        _server.ClientSubscribedTopicAsync += e =>
        {
            _subscribers.TryAdd(e.ClientId, 0);
            return Task.CompletedTask;
        };
        await _server.StartAsync().ConfigureAwait(false);
        _logger.LogInformation("Embedded MQTT broker on {Host}:{Port}", _options.Host, Port);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is not null)
            await _server.StopAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await StopAsync(CancellationToken.None).ConfigureAwait(false);
            _server.Dispose();
            _server = null;
        }
    }

    private static int FreePort(IPAddress address)
    {
        using var probe = new TcpListener(address, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }
}
