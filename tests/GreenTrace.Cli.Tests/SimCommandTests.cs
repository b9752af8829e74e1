using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using GreenTrace.Broker;
using GreenTrace.Cli.Commands;
using GreenTrace.Cli.Sim;
using GreenTrace.Core.Devices;
using GreenTrace.FirmwareSim;
using GreenTrace.FirmwareSim.Faults;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GreenTrace.Cli.Tests;

/// <summary><c>greentrace fleet</c> and <c>greentrace sim</c>, run in-process against the embedded broker.</summary>
public sealed class SimCommandTests : IDisposable
{
    private static readonly DateTimeOffset Day = new(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "greentrace-sim-tests-" + Guid.NewGuid().ToString("N"));

    public SimCommandTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    private async Task<string> CreateFleetAsync(int meters = 4)
    {
        var fleet = PathOf("fleet.json");
        var run = await CliRunner.RunAsync(null, "fleet", "create", "--meters", meters.ToString(System.Globalization.CultureInfo.InvariantCulture), "--seed", "5", "--out", fleet);
        Assert.True(run.ExitCode == 0, run.Error);
        return fleet;
    }

    /// <summary>The embedded broker with the fleet's meters registered (it refuses unknown client ids).</summary>
    private static async Task<(EmbeddedBroker Broker, DeviceDirectory Devices)> StartBrokerAsync(string fleetPath, int port = 0)
    {
        using var fleet = Fleet.Load(fleetPath);
        var devices = new DeviceDirectory(fleet.Registry);
        var broker = new EmbeddedBroker(Options.Create(new EmbeddedBrokerOptions { Port = port }), devices, NullLogger<EmbeddedBroker>.Instance);
        await broker.StartAsync(TestContext.Current.CancellationToken);
        return (broker, devices);
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static SimSummary ReadSummary(string path) => SimSummary.FromJson(File.ReadAllText(path))!;

    [Fact]
    public async Task Fleet_create_writes_a_private_fleet_and_registry_and_iot_hub_devices_export_its_public_and_hub_sides()
    {
        var fleetPath = PathOf("fleet.json");
        var create = await CliRunner.RunAsync(null, "fleet", "create", "--meters", "7", "--seed", "9", "--zones", "DK1,NL", "--out", fleetPath);
        Assert.True(create.ExitCode == 0, create.Error);
        Assert.Contains("7 meters", create.Out);
        using (var fleet = Fleet.Load(fleetPath))
        {
            Assert.Equal(7, fleet.Meters.Count);
            Assert.Equal(9UL, fleet.Seed);
            Assert.All(fleet.Registry, d => Assert.Contains(d.GridZone, new[] { "DK1", "NL" }));
        }
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(fleetPath));

        // Never silently replace the only copy of a fleet's keys.
        Assert.Equal(2, (await CliRunner.RunAsync(null, "fleet", "create", "--meters", "2", "--out", fleetPath)).ExitCode);
        Assert.Equal(0, (await CliRunner.RunAsync(null, "fleet", "create", "--meters", "2", "--out", PathOf("other.json"), "--zones", "SE3", "--consumption-share", "0.5")).ExitCode);
        Assert.Equal(2, (await CliRunner.RunAsync(null, "fleet", "create", "--meters", "2", "--out", PathOf("x.json"), "--zones", "Atlantis")).ExitCode);
        Assert.Equal(2, (await CliRunner.RunAsync(null, "fleet", "create", "--meters", "0", "--out", PathOf("y.json"))).ExitCode);

        var registry = await CliRunner.RunAsync(null, "fleet", "registry", "--fleet", fleetPath, "--out", PathOf("registry.json"));
        Assert.True(registry.ExitCode == 0, registry.Error);
        var registryText = await File.ReadAllTextAsync(PathOf("registry.json"), TestContext.Current.CancellationToken);
        Assert.Equal(7, DeviceRegistryJson.Deserialize(registryText).Count);
        Assert.DoesNotContain("privateKey", registryText, StringComparison.OrdinalIgnoreCase);

        var hub = await CliRunner.RunAsync(null, "fleet", "iot-hub-devices", "--fleet", fleetPath, "--out", PathOf("devices.txt"));
        Assert.True(hub.ExitCode == 0, hub.Error);
        var lines = (await File.ReadAllLinesAsync(PathOf("devices.txt"), TestContext.Current.CancellationToken)).Where(l => l.Length > 0).ToList();
        Assert.Equal(7, lines.Count);
        using var first = JsonDocument.Parse(lines[0]);
        Assert.Equal(32, Convert.FromBase64String(first.RootElement.GetProperty("authentication").GetProperty("symmetricKey").GetProperty("primaryKey").GetString()!).Length);

        Assert.Equal(2, (await CliRunner.RunAsync(null, "fleet", "registry", "--fleet", PathOf("missing.json"), "--out", PathOf("r.json"))).ExitCode);
    }

    [Fact]
    public async Task Sim_publishes_to_the_broker_writes_the_summary_and_the_next_run_resumes()
    {
        var fleetPath = await CreateFleetAsync(meters: 4);
        var (broker, devices) = await StartBrokerAsync(fleetPath);
        await using (broker)
        using (devices)
        {
            var port = broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var first = await CliRunner.RunAsync(null, "sim", "--fleet", fleetPath, "--host", "127.0.0.1", "--port", port, "--start", "2025-06-01",
                "--intervals", "6", "--fault-rate", "0.1", "--fault-seed", "3", "--replay", "0", "--summary", PathOf("s1.json"));
            Assert.True(first.ExitCode == 0, first.Out + first.Error);
            Assert.Contains("Run completed", first.Out);
            Assert.DoesNotContain("\u001b[", first.Out);

            var s1 = ReadSummary(PathOf("s1.json"));
            Assert.Equal(SimSummary.FormatName, s1.Format);
            Assert.Equal(24, s1.ReadingsGenerated);
            Assert.Equal(24, s1.ReadingsSent);
            Assert.Equal(0, s1.Buffered);
            Assert.Equal(s1.MessagesSent, s1.Acknowledged + s1.RefusedByBroker);
            Assert.Equal(24 + s1.FaultsTotal, s1.MessagesSent);
            Assert.Equal(s1.FaultsInjected.Values.Sum(), s1.FaultsTotal);
            Assert.Equal(FaultKinds.All.Select(k => k.Code()).Order(), s1.FaultsInjected.Keys.Order());
            // The embedded broker's topic rules refuse exactly the wrong-topic faults.
            Assert.Equal(s1.FaultsInjected["wrong-topic"], s1.RefusedByBroker);
            Assert.Equal(broker.RefusedPublishes, s1.RefusedByBroker);
            Assert.Equal(0, s1.FaultsInjected["replay"]);
            Assert.Equal(0.1, s1.Faults["clock-skew"].Rate);
            Assert.Equal("timestamp-future", s1.Faults["clock-skew"].Reason);
            Assert.Equal(s1.FaultsTotal - s1.FaultsInjected["wrong-topic"], s1.ExpectedAtGateway.Values.Sum());
            // Scripts read the counters at the top level of the document.
            using (var raw = JsonDocument.Parse(await File.ReadAllTextAsync(PathOf("s1.json"), TestContext.Current.CancellationToken)))
            {
                Assert.Equal(s1.Acknowledged, raw.RootElement.GetProperty("acknowledged").GetInt64());
                Assert.Equal(s1.FaultsInjected["garbage"], raw.RootElement.GetProperty("faultsInjected").GetProperty("garbage").GetInt64());
            }
            Assert.Equal(Day, s1.Start);

            using (var fleet = Fleet.Load(fleetPath))
                Assert.All(fleet.Meters, m => Assert.Equal(new MeterState(7, m.State.RegisterWh, Day.AddMinutes(90).ToUnixTimeSeconds()), m.State));

            // No --start: the fleet carries on where it stopped.
            var second = await CliRunner.RunAsync(null, "sim", "--fleet", fleetPath, "--host", "127.0.0.1", "--port", port, "--intervals", "2", "--summary", PathOf("s2.json"));
            Assert.True(second.ExitCode == 0, second.Out + second.Error);
            Assert.Equal(Day.AddMinutes(90), ReadSummary(PathOf("s2.json")).Start);
            using (var fleet = Fleet.Load(fleetPath))
                Assert.All(fleet.Meters, m => Assert.Equal(9UL, m.State.NextSequence));

            // Going back in time is refused: a meter cannot read its past again.
            Assert.Equal(2, (await CliRunner.RunAsync(null, "sim", "--fleet", fleetPath, "--port", port, "--start", "2025-06-01", "--intervals", "1")).ExitCode);
        }
    }

    [Fact]
    public async Task Sim_buffers_on_disk_while_the_broker_is_down_and_the_next_run_sends_the_backlog_first()
    {
        var fleetPath = await CreateFleetAsync(meters: 2);
        var beforeRun = await File.ReadAllTextAsync(fleetPath, TestContext.Current.CancellationToken);
        var port = FreePort();
        var portText = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var down = await CliRunner.RunAsync(null, "sim", "--fleet", fleetPath, "--host", "127.0.0.1", "--port", portText, "--start", "2025-06-01", "--intervals", "3", "--summary", PathOf("down.json"));
        Assert.True(down.ExitCode == 0, down.Out + down.Error);
        Assert.Contains("still buffered", down.Out);
        Assert.Equal(6, ReadSummary(PathOf("down.json")).Buffered);
        Assert.Equal(2, Directory.GetFiles(fleetPath + ".buffer").Length);
        // As if that run had died before saving the fleet: the buffer knows better than the fleet file.
        await File.WriteAllTextAsync(fleetPath, beforeRun, TestContext.Current.CancellationToken);

        var (broker, devices) = await StartBrokerAsync(fleetPath, port);
        await using (broker)
        using (devices)
        {
            var up = await CliRunner.RunAsync(null, "sim", "--fleet", fleetPath, "--host", "127.0.0.1", "--port", portText, "--intervals", "1", "--summary", PathOf("up.json"));
            Assert.True(up.ExitCode == 0, up.Out + up.Error);
            Assert.Contains("from an earlier run go out first", up.Out);
            var summary = ReadSummary(PathOf("up.json"));
            Assert.Equal(6, summary.RecoveredFromBuffer);
            Assert.Equal(0, summary.Buffered);
            Assert.Equal(8, summary.Acknowledged);
            Assert.Equal(Day.AddMinutes(45), summary.Start);
            Assert.Empty(Directory.GetFiles(fleetPath + ".buffer"));
            using var fleet = Fleet.Load(fleetPath);
            Assert.All(fleet.Meters, m => Assert.Equal(5UL, m.State.NextSequence));
        }
    }

    [Fact]
    public async Task Sim_prints_progress_lines_when_the_output_is_not_a_terminal()
    {
        var fleetPath = await CreateFleetAsync(meters: 2);
        var (broker, devices) = await StartBrokerAsync(fleetPath);
        await using (broker)
        using (devices)
        {
            var output = new StringWriter();
            var console = new CliConsole(new StringReader(""), output, new StringWriter());
            // Paced so that the run lasts a few of the (shortened) progress periods.
            var request = new SimCommand.Request
            {
                Fleet = new FileInfo(fleetPath),
                Host = "127.0.0.1",
                Port = broker.Port,
                Start = Day,
                Intervals = 8,
                Speed = 900 / 0.05,
                ProgressSeconds = 0.02,
            };
            var code = await SimCommand.RunAsync(console, request, DemoCommand.LoadConfiguration(), TimeProvider.System, TestContext.Current.CancellationToken);
            Assert.Equal(0, code);
            var lines = output.ToString().Split('\n');
            Assert.Contains(lines, l => l.StartsWith("sim 2025-06-01", StringComparison.Ordinal) && l.Contains("online 2/2", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("--intervals", "2", "--days", "1")]
    [InlineData("--realtime", "--speed", "10")]
    [InlineData("--start", "2025-06-01T00:07Z", "--intervals", "1")]
    [InlineData("--start", "yesterday-ish", "--intervals", "1")]
    [InlineData("--start", "2999-01-01", "--intervals", "1")]
    [InlineData("--fault-rate", "1.5", "--intervals", "1")]
    [InlineData("--oversized", "-0.1", "--intervals", "1")]
    [InlineData("--intervals", "0")]
    [InlineData("--ca", "/nonexistent/ca.pem", "--intervals", "1")]
    public async Task Sim_refuses_nonsense_options(params string[] options)
    {
        var fleetPath = await CreateFleetAsync(meters: 1);
        var run = await CliRunner.RunAsync(null, ["sim", "--fleet", fleetPath, "--port", "1", .. options]);
        Assert.True(run.ExitCode == 2, $"exit {run.ExitCode}: {run.Out}{run.Error}");
        Assert.Contains("error", run.Error);
    }

    [Fact]
    public async Task Sim_needs_a_readable_fleet()
    {
        Assert.Equal(2, (await CliRunner.RunAsync(null, "sim", "--fleet", PathOf("missing.json"))).ExitCode);
        await File.WriteAllTextAsync(PathOf("bad.json"), "{}", TestContext.Current.CancellationToken);
        Assert.Equal(2, (await CliRunner.RunAsync(null, "sim", "--fleet", PathOf("bad.json"))).ExitCode);
        Assert.Equal(2, (await CliRunner.RunAsync(null, "sim")).ExitCode);
    }

    [Fact]
    public async Task Every_fault_kind_has_its_own_rate_option()
    {
        var help = await CliRunner.RunAsync(null, "sim", "--help");
        Assert.Equal(0, help.ExitCode);
        foreach (var kind in FaultKinds.All)
            Assert.Contains("--" + kind.Code(), help.Out);
        foreach (var option in new[] { "--fleet", "--host", "--port", "--tls", "--ca", "--username", "--password", "--iot-hub", "--start", "--intervals", "--days", "--speed", "--realtime", "--fault-rate", "--buffer-dir", "--summary" })
            Assert.Contains(option, help.Out);
    }
}
