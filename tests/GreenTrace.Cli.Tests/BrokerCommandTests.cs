using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using GreenTrace.Broker.Mosquitto;
using GreenTrace.FirmwareSim;

namespace GreenTrace.Cli.Tests;

public sealed class BrokerCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("greentrace-broker-").FullName;
    private readonly string _fleetFile;

    public BrokerCommandTests()
    {
        _fleetFile = Path.Combine(_dir, "fleet.json");
        using var fleet = Fleet.Generate(new FleetSpec { MeterCount = 3, Seed = 5 });
        fleet.Save(_fleetFile);
        MeterIds = [.. fleet.Meters.Select(m => m.Id)];
    }

    private IReadOnlyList<string> MeterIds { get; }

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public async Task MosquittoConfigWritesTheBrokerDirectoryForTheFleet()
    {
        var output = Path.Combine(_dir, "broker");

        var r = await CliRunner.RunAsync(null, "broker", "mosquitto-config", "--fleet", _fleetFile, "--out", output, "--tls-port", "18883", "--port", "11883", "--gateways", "2");

        Assert.Equal(0, r.ExitCode);
        Assert.Contains("3 meters and 2 gateway(s)", r.Out, StringComparison.Ordinal);
        var directory = MosquittoDirectory.Open(output);
        Assert.Equal([new MosquittoListener(18883, true), new MosquittoListener(11883, false)], directory.ReadListeners());
        var users = MosquittoPasswordFile.Parse(File.ReadAllText(directory.PasswordFile)).Select(e => e.Username);
        Assert.Equal([.. MeterIds, "gateway-1", "gateway-2"], users);
        var gateways = JsonNode.Parse(File.ReadAllText(directory.GatewaysFile))!["gateways"]!.AsArray();
        Assert.Equal(["gateway-1", "gateway-2"], gateways.Select(g => g!["username"]!.GetValue<string>()));
        Assert.All(MeterIds, id => Assert.Contains($"topic write meters/{id}/readings", File.ReadAllText(directory.AclFile), StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithoutAPortThereIsOnlyTheTlsListener()
    {
        var output = Path.Combine(_dir, "broker");

        var r = await CliRunner.RunAsync(null, "broker", "mosquitto-config", "--fleet", _fleetFile, "--out", output);

        Assert.Equal(0, r.ExitCode);
        Assert.Equal([new MosquittoListener(8883, true)], MosquittoDirectory.Open(output).ReadListeners());
        Assert.Single(MosquittoDirectory.Open(output).ReadGateways().Gateways);
    }

    [Theory]
    [InlineData("missing-fleet")]
    [InlineData("not-a-fleet")]
    [InlineData("--gateways", "0")]
    [InlineData("--tls-port", "0")]
    [InlineData("--tls-port", "70000")]
    [InlineData("--tls-port", "1883", "--port", "1883")]
    [InlineData("--gateways", "many")]
    public async Task UnusableInputExitsTwo(params string[] extra)
    {
        var fleet = _fleetFile;
        if (extra[0] == "missing-fleet")
            fleet = Path.Combine(_dir, "nowhere.json");
        if (extra[0] == "not-a-fleet")
        {
            fleet = Path.Combine(_dir, "other.json");
            File.WriteAllText(fleet, "{\"format\": \"something-else\"}");
        }
        var args = new List<string> { "broker", "mosquitto-config", "--fleet", fleet, "--out", Path.Combine(_dir, "broker") };
        args.AddRange(extra.Where(a => !a.StartsWith("missing", StringComparison.Ordinal) && !a.StartsWith("not-a", StringComparison.Ordinal)));

        var r = await CliRunner.RunAsync(null, [.. args]);

        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("error:", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunningWithoutAConfigurationExitsTwo()
    {
        var r = await CliRunner.RunAsync(null, "broker", "mosquitto", "--config-dir", Path.Combine(_dir, "empty"));

        Assert.Equal(2, r.ExitCode);
        Assert.Contains("mosquitto-config", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MosquittoRunsInTheForegroundUntilCancelledAndIsStoppedByItsPid()
    {
        var output = Path.Combine(_dir, "broker");
        var port = FreePort();
        Assert.Equal(0, (await CliRunner.RunAsync(null, "broker", "mosquitto-config", "--fleet", _fleetFile, "--out", output, "--tls-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture))).ExitCode);
        var directory = MosquittoDirectory.Open(output);
        using var stdout = new ConcurrentOutput();
        using var stderr = new ConcurrentOutput();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);

        var run = CliApp.RunAsync(["broker", "mosquitto", "--config-dir", output], new CliConsole(new StringReader(""), stdout, stderr), stop.Token);
        int pid, code;
        bool exited;
        try
        {
            await Until(() => stdout.ToString().Contains("listening on", StringComparison.Ordinal) || run.IsCompleted, "the broker to listen");
            Assert.False(run.IsCompleted, stderr.ToString());
            pid = int.Parse(File.ReadAllText(directory.PidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.Contains($"pid {pid}", stdout.ToString(), StringComparison.Ordinal);
            using (var client = new TcpClient())
                await client.ConnectAsync(IPAddress.Loopback, port, TestContext.Current.CancellationToken);
            using var process = Process.GetProcessById(pid);

            await stop.CancelAsync();
            code = await run;
            exited = process.HasExited;
        }
        finally
        {
            // However the test fails, the command must stop its broker rather than leave it running.
            await stop.CancelAsync();
            await run;
        }

        Assert.Equal(0, code);
        Assert.True(exited);
        Assert.Contains($"mosquitto (pid {pid}) stopped", stdout.ToString(), StringComparison.Ordinal);
        // The log was followed: Mosquitto's own lines, up to its exit, went to stdout.
        Assert.Matches(@"mosquitto version \S+ running", stdout.ToString());
        Assert.Contains("terminating", stdout.ToString(), StringComparison.Ordinal);
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>Output the test reads while the command is still writing it.</summary>
    private sealed class ConcurrentOutput : TextWriter
    {
        private readonly StringBuilder _text = new();
        private readonly Lock _gate = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            lock (_gate)
                _text.Append(value);
        }

        public override void Write(string? value)
        {
            lock (_gate)
                _text.Append(value);
        }

        public override string ToString()
        {
            lock (_gate)
                return _text.ToString();
        }
    }

    /// <summary>Polls; the deadline is only a safety net so a broken command fails instead of hanging.</summary>
    private static async Task Until(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(60))
                Assert.Fail($"gave up waiting for {what}");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}
