using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using GreenTrace.Broker.Mosquitto;
using GreenTrace.FirmwareSim;
using GreenTrace.Pipeline.Tests.Support;
using MQTTnet;
using MQTTnet.Formatter;

namespace GreenTrace.Pipeline.Tests.Mosquitto;

/// <summary>
/// A real Mosquitto broker run from the project's own generated configuration: a small fleet's
/// meters and a few gateways as users, TLS with a test CA, a plain listener, on free ports of
/// 127.0.0.1; stopped by its PID on dispose. Share it with <c>IClassFixture</c>, or start a private
/// one with <see cref="StartAsync"/> for tests that restart or kill it. If Mosquitto is not
/// installed, starting fails (never skips) and says to run scripts/install-test-deps.
/// </summary>
public sealed class MosquittoFixture : IAsyncLifetime
{
    public const int DefaultMeters = 4;
    public const int DefaultGateways = 3;

    /// <summary>Readings start here; each meter's next reading follows its last.</summary>
    private static readonly long FirstInterval = new DateTimeOffset(2025, 6, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();

    private readonly int _meterCount;
    private readonly int _gatewayCount;
    private readonly Action<MosquittoConfigBuilder>? _configure;
    private readonly TempDirectory _temp = new();
    private readonly List<MqttTestClient> _clients = [];
    private readonly Lock _clientsGate = new();
    private Fleet? _fleet;
    private MosquittoProcess? _broker;
    private X509Certificate2? _ca;
    private MosquittoConfig? _config;

    public MosquittoFixture()
        : this(DefaultMeters, DefaultGateways, null)
    {
    }

    /// <param name="configure">Changes to the project's configuration, applied before it is built.</param>
    private MosquittoFixture(int meters, int gateways, Action<MosquittoConfigBuilder>? configure)
    {
        _meterCount = meters;
        _gatewayCount = gateways;
        _configure = configure;
    }

    public Fleet Fleet => _fleet ?? throw NotStarted();

    public MosquittoProcess Broker => _broker ?? throw NotStarted();

    public MosquittoConfig Config => _config ?? throw NotStarted();

    public MosquittoDirectory Directory => Broker.Directory;

    /// <summary>The generated CA's certificate: the only trust anchor the clients are given.</summary>
    public X509Certificate2 CaCertificate => _ca ?? throw NotStarted();

    public string Host => Broker.Host;

    public int TlsPort => Broker.TlsPort;

    public int PlainPort => Broker.PlainPort ?? throw new InvalidOperationException("no plain listener");

    /// <summary>gateway-1 … gateway-N with their generated passwords.</summary>
    public IReadOnlyList<MqttCredential> Gateways => Config.Gateways;

    /// <summary>A started broker the caller disposes; for tests that stop, restart or kill it.</summary>
    public static async Task<MosquittoFixture> StartAsync(int meters = DefaultMeters, int gateways = DefaultGateways, Action<MosquittoConfigBuilder>? configure = null)
    {
        var fixture = new MosquittoFixture(meters, gateways, configure);
        try
        {
            await fixture.InitializeAsync();
            return fixture;
        }
        catch
        {
            await fixture.DisposeAsync();
            throw;
        }
    }

    public async ValueTask InitializeAsync()
    {
        _fleet = Fleet.Generate(new FleetSpec { MeterCount = _meterCount, Seed = 11 });
        for (var attempt = 1; ; attempt++)
        {
            var (tls, plain) = (FreePort(), FreePort());
            if (tls == plain)
                continue;
            var builder = new MosquittoConfigBuilder()
                .WithTlsPort(tls)
                .WithPlainPort(plain)
                .WithMeters(_fleet.Meters.Select(m => new MqttCredential(m.Id, m.MqttPassword())))
                .WithGateways(_gatewayCount);
            _configure?.Invoke(builder);
            _config = builder.Build();
            var directory = _config.Write(_temp.File("broker"));
            try
            {
                _broker = await MosquittoProcess.StartAsync(directory);
                break;
            }
            catch (MosquittoException) when (attempt < 3)
            {
                // Another process took a probed port before Mosquitto bound it: try other ports.
            }
        }
        _ca = X509CertificateLoader.LoadCertificateFromFile(_broker.Directory.CaCertificate);
    }

    public VirtualMeter Meter(int index) => Fleet.Meters[index];

    /// <param name="number">1 for gateway-1.</param>
    public MqttCredential Gateway(int number) => Gateways[number - 1];

    /// <summary>The meter's next signed reading (COSE_Sign1 bytes), one interval after its last.</summary>
    public static byte[] NextReading(VirtualMeter meter)
    {
        ArgumentNullException.ThrowIfNull(meter);
        return meter.NextReading(meter.State.LastIntervalEnd ?? FirstInterval);
    }

    /// <summary>
    /// MQTT 5 client options for a username and password: TLS on the TLS port, trusting only the
    /// generated CA (revocation not checked: a test CA publishes no CRL), or plain on the plain port.
    /// Clean start by default; add <c>WithCleanStart(false)</c> and a session expiry for a persistent session.
    /// </summary>
    public MqttClientOptionsBuilder ClientOptions(string username, string password, bool tls = true, string? clientId = null, string? host = null)
    {
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(host ?? Host, tls ? TlsPort : PlainPort)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithClientId(clientId ?? username)
            .WithCredentials(username, password)
            .WithCleanStart(true)
            .WithTimeout(Wait.SafetyNet);
        if (tls)
            builder.WithTlsOptions(o => o.UseTls().WithTrustChain([CaCertificate]).WithRevocationMode(X509RevocationMode.NoCheck));
        return builder;
    }

    public MqttClientOptionsBuilder MeterOptions(VirtualMeter meter, bool tls = true)
    {
        ArgumentNullException.ThrowIfNull(meter);
        return ClientOptions(meter.Id, meter.MqttPassword(), tls);
    }

    /// <param name="number">1 for gateway-1.</param>
    public MqttClientOptionsBuilder GatewayOptions(int number, bool tls = true)
    {
        var gateway = Gateway(number);
        return ClientOptions(gateway.Username, gateway.Password, tls);
    }

    /// <summary>Connects and returns the client whatever the broker answered; disposed with the fixture.</summary>
    public async Task<MqttTestClient> TryConnectAsync(MqttClientOptions options)
    {
        var client = new MqttTestClient();
        lock (_clientsGate)
            _clients.Add(client);
        await client.ConnectAsync(options);
        return client;
    }

    /// <summary>Connects and fails the test unless the broker accepted.</summary>
    public async Task<MqttTestClient> ConnectAsync(MqttClientOptions options)
    {
        var client = await TryConnectAsync(options);
        Assert.Equal(MqttClientConnectResultCode.Success, client.ConnectResult?.ResultCode);
        return client;
    }

    public Task<MqttTestClient> ConnectMeterAsync(VirtualMeter meter, bool tls = true) => ConnectAsync(MeterOptions(meter, tls).Build());

    public Task<MqttTestClient> ConnectGatewayAsync(int number, bool tls = true) => ConnectAsync(GatewayOptions(number, tls).Build());

    public async ValueTask DisposeAsync()
    {
        MqttTestClient[] clients;
        lock (_clientsGate)
            clients = [.. _clients];
        foreach (var client in clients)
            await client.DisposeAsync();
        if (_broker is not null)
            await _broker.DisposeAsync();
        _ca?.Dispose();
        _fleet?.Dispose();
        _temp.Dispose();
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static InvalidOperationException NotStarted() => new("the Mosquitto fixture is not started");
}
