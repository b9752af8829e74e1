using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using GreenTrace.Broker.Mosquitto;
using GreenTrace.Core.Readings;
using GreenTrace.FirmwareSim;
using GreenTrace.Pipeline.Tests.Support;

namespace GreenTrace.Pipeline.Tests.Mosquitto;

/// <summary>The generated broker directory, file by file, and the test CA's certificates.</summary>
public sealed class MosquittoConfigTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly Fleet _fleet = Fleet.Generate(new FleetSpec { MeterCount = 5, Seed = 3 });

    public void Dispose()
    {
        _fleet.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public void The_directory_holds_every_file_with_the_secrets_owner_only()
    {
        var directory = Builder().WithGateways(2).Build().Write(_temp.File("broker"));

        foreach (var file in new[] { directory.ConfigFile, directory.AclFile, directory.CaCertificate, directory.ServerCertificate })
            Assert.True(File.Exists(file), file);
        foreach (var secret in new[] { directory.PasswordFile, directory.ServerKey, directory.GatewaysFile })
            Assert.Equal(FileModes.OwnerOnly, FileModes.Of(secret));
        Assert.Equal(FileModes.OwnerOnly | UnixFileMode.UserExecute, FileModes.Of(directory.PersistenceDirectory));
        Assert.False(File.Exists(Path.Combine(directory.Path, "ca.key")));
    }

    [Fact]
    public void Every_meter_and_gateway_has_a_password_line_that_verifies()
    {
        var config = Builder().WithGateways(3).Build();
        var directory = config.Write(_temp.File("broker"));

        var lines = MosquittoPasswordFile.Parse(File.ReadAllText(directory.PasswordFile)).ToDictionary(e => e.Username, e => e.HashField);
        var gateways = directory.ReadGateways();

        Assert.Equal(_fleet.Meters.Count + 3, lines.Count);
        Assert.All(_fleet.Meters, m => Assert.True(MosquittoPasswordFile.Verify(lines[m.Id], m.MqttPassword()), m.Id));
        Assert.Equal(["gateway-1", "gateway-2", "gateway-3"], gateways.Gateways.Select(g => g.Username));
        Assert.All(gateways.Gateways, g => Assert.True(MosquittoPasswordFile.Verify(lines[g.Username], g.Password), g.Username));
        Assert.Equal(3, gateways.Gateways.Select(g => g.Password).Distinct().Count());
        Assert.Equal(("127.0.0.1", 18883, (int?)11883, directory.CaCertificate), (gateways.Host, gateways.TlsPort, gateways.PlainPort, gateways.CaCertificate));
    }

    [Fact]
    public void The_ACL_gives_each_meter_its_own_topic_to_write_and_gateways_the_readings_to_read()
    {
        var acl = Builder().WithGateways(2).Build().AclText();

        var rules = acl.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var expected = _fleet.Meters.SelectMany(m => new[] { $"user {m.Id}", $"topic write meters/{m.Id}/readings" })
            .Concat(["user gateway-1", "topic read meters/+/readings", "user gateway-2", "topic read meters/+/readings"]);
        Assert.Equal(expected, rules);
        Assert.All(_fleet.Meters, m => Assert.Equal(TopicRules.ReadingsTopic(m.Id), $"meters/{m.Id}/readings"));
    }

    [Fact]
    public void The_configuration_binds_only_loopback_listeners_and_sets_the_limits()
    {
        var directory = Builder().WithGateways(1).Build().Write(_temp.File("broker"));
        var lines = File.ReadAllLines(directory.ConfigFile).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var firstListener = lines.FindIndex(l => l.StartsWith("listener ", StringComparison.Ordinal));

        Assert.Equal([new MosquittoListener(18883, true), new MosquittoListener(11883, false)], directory.ReadListeners());
        // Before the first listener only global options: a listener option there would open Mosquitto's default listener on every interface.
        Assert.DoesNotContain(lines.Take(firstListener), l => l.StartsWith("use_username_as_clientid", StringComparison.Ordinal) || l.StartsWith("port ", StringComparison.Ordinal));
        Assert.Equal(2, lines.Count(l => l == "use_username_as_clientid true"));
        foreach (var expected in new[]
        {
            "per_listener_settings false", "allow_anonymous false", "persistence true", "max_queued_messages 0",
            "max_inflight_messages 100", "max_packet_size 262144", "tls_version tlsv1.2",
            $"password_file {directory.PasswordFile}", $"acl_file {directory.AclFile}", $"persistence_location {directory.PersistenceDirectory}/",
            $"cafile {directory.CaCertificate}", $"certfile {directory.ServerCertificate}", $"keyfile {directory.ServerKey}",
            $"pid_file {directory.PidFile}", $"log_dest file {directory.LogFile}", $"user {Environment.UserName}",
        })
            Assert.Contains(expected, lines);
    }

    [Fact]
    public void A_TLS_only_configuration_has_one_listener()
    {
        var directory = new MosquittoConfigBuilder().WithTlsPort(18884).WithGateways(1).Build().Write(_temp.File("broker"));

        Assert.Equal([new MosquittoListener(18884, true)], directory.ReadListeners());
    }

    [Fact]
    public void A_hand_edited_configuration_that_listens_beyond_loopback_is_refused()
    {
        var directory = Builder().WithGateways(1).Build().Write(_temp.File("broker"));
        var original = File.ReadAllText(directory.ConfigFile);

        File.WriteAllText(directory.ConfigFile, original.Replace("listener 11883 127.0.0.1", "listener 11883 0.0.0.0", StringComparison.Ordinal));
        Assert.Throws<FormatException>(directory.ReadListeners);
        File.WriteAllText(directory.ConfigFile, original.Replace("listener 11883 127.0.0.1", "listener 11883", StringComparison.Ordinal));
        Assert.Throws<FormatException>(directory.ReadListeners);
        File.WriteAllText(directory.ConfigFile, "port 1883\n" + original);
        Assert.Throws<FormatException>(directory.ReadListeners);
    }

    [Fact]
    public void The_builder_refuses_what_would_break_the_topic_rules()
    {
        Assert.Throws<ArgumentException>(() => new MosquittoConfigBuilder().WithMeter("gateway-9", "pw"));
        Assert.Throws<ArgumentException>(() => new MosquittoConfigBuilder().WithMeter("a/b", "pw"));
        Assert.Throws<ArgumentException>(() => new MosquittoConfigBuilder().WithMeter("a", ""));
        Assert.Throws<ArgumentException>(() => new MosquittoConfigBuilder().WithGateway("meter-1", "pw"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MosquittoConfigBuilder().WithGateways(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MosquittoConfigBuilder().WithTlsPort(0));
        Assert.Throws<InvalidOperationException>(() => new MosquittoConfigBuilder().WithTlsPort(1883).WithPlainPort(1883).Build());
        Assert.Throws<InvalidOperationException>(() => new MosquittoConfigBuilder().WithMeter("a", "1").WithMeter("a", "2").Build());
        Assert.Equal(["gateway-1", "gateway-2", "gateway-3"], new MosquittoConfigBuilder().WithGateways(2).WithGateways(1).Build().Gateways.Select(g => g.Username));
    }

    [Fact]
    public void The_server_certificate_chains_to_the_CA_for_127_0_0_1_and_localhost_only_for_server_authentication()
    {
        var directory = Builder().WithGateways(1).Build().Write(_temp.File("broker"));
        using var ca = X509CertificateLoader.LoadCertificateFromFile(directory.CaCertificate);
        using var server = X509Certificate2.CreateFromPemFile(directory.ServerCertificate, directory.ServerKey);

        var caConstraints = Assert.Single(ca.Extensions.OfType<X509BasicConstraintsExtension>());
        Assert.True(caConstraints.CertificateAuthority && caConstraints.Critical);
        Assert.Equal(ca.SubjectName.Name, ca.IssuerName.Name);
        Assert.Equal(ECCurve.NamedCurves.nistP256.Oid.Value, ca.GetECDsaPublicKey()!.ExportParameters(false).Curve.Oid.Value);
        Assert.False(Assert.Single(server.Extensions.OfType<X509BasicConstraintsExtension>()).CertificateAuthority);
        Assert.Equal("1.3.6.1.5.5.7.3.1", Assert.Single(Assert.Single(server.Extensions.OfType<X509EnhancedKeyUsageExtension>()).EnhancedKeyUsages.Cast<Oid>()).Value);
        var names = Assert.Single(server.Extensions.OfType<X509SubjectAlternativeNameExtension>());
        Assert.Equal(["localhost"], names.EnumerateDnsNames());
        Assert.Equal([IPAddress.Loopback], names.EnumerateIPAddresses());
        Assert.True(server.HasPrivateKey);
        Assert.True(server.MatchesHostname("127.0.0.1") && server.MatchesHostname("localhost"));
        Assert.False(server.MatchesHostname("example.org"));
        Assert.True(Chains(server, ca));
        using var other = TestCertificateAuthority.Create("another CA");
        Assert.False(Chains(server, other.Certificate));
    }

    [Fact]
    public async Task Mosquitto_that_cannot_bind_its_port_fails_to_start_with_its_log_in_the_error()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var directory = new MosquittoConfigBuilder().WithTlsPort(port).WithGateways(1).Build().Write(_temp.File("broker"));

        var error = await Assert.ThrowsAsync<MosquittoException>(() => MosquittoProcess.StartAsync(directory, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains("exited with code", error.Message, StringComparison.Ordinal);
        Assert.Contains("Address already in use", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_directory_without_a_configuration_is_refused_before_anything_starts()
    {
        var error = await Assert.ThrowsAsync<FileNotFoundException>(() => MosquittoProcess.StartAsync(new MosquittoDirectory(_temp.Path), cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains("mosquitto-config", error.Message, StringComparison.Ordinal);
    }

    private MosquittoConfigBuilder Builder() =>
        new MosquittoConfigBuilder()
            .WithTlsPort(18883)
            .WithPlainPort(11883)
            .WithMeters(_fleet.Meters.Select(m => new MqttCredential(m.Id, m.MqttPassword())));

    private static bool Chains(X509Certificate2 leaf, X509Certificate2 root)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid("1.3.6.1.5.5.7.3.1"));
        return chain.Build(leaf);
    }
}
