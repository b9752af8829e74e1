using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace GreenTrace.Pipeline.Tests.FirmwareSim;

/// <summary>A throwaway CA and a broker certificate it issued for 127.0.0.1 and localhost.</summary>
internal sealed class TestPki : IDisposable
{
    public TestPki(string commonName = "GreenTrace test CA")
    {
        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest($"CN={commonName}", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        Ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var issued = request.Create(Ca, now.AddHours(-1), now.AddDays(7), RandomNumberGenerator.GetBytes(8));
        using var withKey = issued.CopyWithPrivateKey(serverKey);
        // SslStream on Linux wants a key it can use from a PKCS#12 round trip, not an ephemeral one.
        Server = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12, ""), "");
    }

    public X509Certificate2 Ca { get; }

    public X509Certificate2 Server { get; }

    public string WriteCaPem(string path)
    {
        File.WriteAllText(path, Ca.ExportCertificatePem());
        return path;
    }

    public void Dispose()
    {
        Ca.Dispose();
        Server.Dispose();
    }
}

/// <summary>
/// An MQTTnet broker on 127.0.0.1 over TLS that holds devices to Azure IoT Hub's MQTT rules, written from the hub's
/// documentation rather than from the simulator: MQTT 3.1.1 only; client id = a registered device id; user name
/// "{hub}/{deviceId}/?api-version=…"; a SAS token whose resource is the device, whose expiry is in the future and
/// whose signature it recomputes from the device key; publishes only to devices/{deviceId}/messages/events/ (with
/// an optional property bag) at QoS 0 or 1 and up to 256 KiB; anything else closes the connection, as the hub does.
/// </summary>
internal sealed class FakeIotHub : IAsyncDisposable
{
    private readonly Dictionary<string, byte[]> _deviceKeys;

    private FakeIotHub(MqttServer server, int port, string hostName, Dictionary<string, byte[]> deviceKeys)
    {
        Server = server;
        Port = port;
        HostName = hostName;
        _deviceKeys = deviceKeys;
    }

    public MqttServer Server { get; }

    public int Port { get; }

    public string HostName { get; }

    /// <summary>Accepted device-to-cloud messages, in arrival order.</summary>
    public ConcurrentQueue<(string DeviceId, string Topic, byte[] Payload)> Received { get; } = new();

    /// <summary>Why connections and publishes were refused.</summary>
    public ConcurrentQueue<string> Refusals { get; } = new();

    /// <summary>Whether each accepted connection asked for a persistent session (clean session = false).</summary>
    public ConcurrentQueue<bool> PersistentSessions { get; } = new();

    /// <param name="deviceImport">The hub's device registrations: IoT Hub bulk-import lines, as `greentrace fleet iot-hub-devices` writes them.</param>
    public static async Task<FakeIotHub> StartAsync(TestPki pki, string deviceImport, string hostName = "gt-rehearsal.azure-devices.net")
    {
        var keys = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var line in deviceImport.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var device = JsonDocument.Parse(line);
            var root = device.RootElement;
            Assert.Equal("sas", root.GetProperty("authentication").GetProperty("type").GetString());
            keys.Add(root.GetProperty("id").GetString()!, Convert.FromBase64String(root.GetProperty("authentication").GetProperty("symmetricKey").GetProperty("primaryKey").GetString()!));
        }
        for (var attempt = 0; ; attempt++)
        {
            var port = TestBroker.FreePort();
            var options = new MqttServerOptionsBuilder()
                .WithoutDefaultEndpoint()
                .WithEncryptedEndpoint()
                .WithEncryptedEndpointBoundIPAddress(IPAddress.Loopback)
                .WithEncryptedEndpointBoundIPV6Address(IPAddress.None)
                .WithEncryptedEndpointPort(port)
                .WithEncryptionCertificate(pki.Server)
                .WithEncryptionSslProtocol(SslProtocols.Tls12 | SslProtocols.Tls13)
                .WithPersistentSessions()
                .Build();
            var server = new MqttServerFactory().CreateMqttServer(options);
            var hub = new FakeIotHub(server, port, hostName, keys);
            server.ValidatingConnectionAsync += hub.ValidateConnection;
            server.InterceptingPublishAsync += hub.InterceptPublish;
            try
            {
                await server.StartAsync();
                return hub;
            }
            catch (SocketException) when (attempt < 5)
            {
                server.Dispose();
            }
        }
    }

    private Task ValidateConnection(ValidatingConnectionEventArgs e)
    {
        var problem = ConnectionProblem(e);
        if (problem is not null)
        {
            Refusals.Enqueue($"connect {e.ClientId}: {problem}");
            e.ReasonCode = problem == "protocol" ? MqttConnectReasonCode.UnsupportedProtocolVersion : MqttConnectReasonCode.NotAuthorized;
        }
        else
        {
            PersistentSessions.Enqueue(e.CleanSession == false);
        }
        return Task.CompletedTask;
    }

    private string? ConnectionProblem(ValidatingConnectionEventArgs e)
    {
        if (e.ProtocolVersion != MqttProtocolVersion.V311)
            return "protocol";
        if (!e.IsSecureConnection)
            return "not TLS";
        if (!_deviceKeys.TryGetValue(e.ClientId, out var key))
            return "unknown device";
        if (e.UserName != $"{HostName}/{e.ClientId}/?api-version=2021-04-12")
            return $"user name '{e.UserName}'";
        const string scheme = "SharedAccessSignature ";
        if (e.Password is not { } password || !password.StartsWith(scheme, StringComparison.Ordinal))
            return "password is not a SAS token";
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in password[scheme.Length..].Split('&'))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || !fields.TryAdd(pair[..eq], pair[(eq + 1)..]))
                return "malformed SAS token";
        }
        if (!fields.TryGetValue("sr", out var sr) || !fields.TryGetValue("sig", out var sig) || !fields.TryGetValue("se", out var se) || !long.TryParse(se, out var expiry))
            return "SAS token lacks sr, sig or se";
        var resource = Uri.UnescapeDataString(sr);
        if (!string.Equals(resource, $"{HostName}/devices/{e.ClientId}", StringComparison.OrdinalIgnoreCase))
            return $"SAS token for '{resource}'";
        if (expiry <= DateTimeOffset.UtcNow.ToUnixTimeSeconds())
            return "SAS token expired";
        var expected = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(Uri.EscapeDataString(resource) + "\n" + se));
        byte[] presented;
        try
        {
            presented = Convert.FromBase64String(Uri.UnescapeDataString(sig));
        }
        catch (FormatException)
        {
            return "SAS signature is not base64";
        }
        return CryptographicOperations.FixedTimeEquals(expected, presented) ? null : "SAS signature does not verify";
    }

    private Task InterceptPublish(InterceptingPublishEventArgs e)
    {
        var message = e.ApplicationMessage;
        var own = $"devices/{e.ClientId}/messages/events/";
        var problem = !message.Topic.StartsWith(own, StringComparison.Ordinal) || message.Topic[own.Length..].Contains('/', StringComparison.Ordinal) ? $"topic '{message.Topic}'"
            : message.QualityOfServiceLevel > MqttQualityOfServiceLevel.AtLeastOnce ? "QoS 2"
            : message.Payload.Length > 256 * 1024 ? "message over 256 KiB"
            : null;
        if (problem is null)
        {
            Received.Enqueue((e.ClientId, message.Topic, message.Payload.ToArray()));
            return Task.CompletedTask;
        }
        Refusals.Enqueue($"publish {e.ClientId}: {problem}");
        e.ProcessPublish = false;
        e.CloseConnection = true;
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await Server.StopAsync();
        Server.Dispose();
    }
}
