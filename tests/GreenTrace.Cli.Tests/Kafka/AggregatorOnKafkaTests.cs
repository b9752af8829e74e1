using System.Diagnostics;
using System.Runtime.InteropServices;
using GreenTrace.Aggregator;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Readings;
using GreenTrace.FirmwareSim;
using GreenTrace.Pipeline.Tests.Kafka;
using GreenTrace.Streaming;
using GreenTrace.Streaming.Kafka;

namespace GreenTrace.Cli.Tests.Kafka;

/// <summary>
/// The standalone aggregator (`greentrace aggregator`, a real process) on a real Kafka 0.9.0.1 with 8
/// readings partitions, through a SIGKILL in the middle of windows, a second member joining and leaving,
/// and the broker stopped and started mid-stream. After each, per meter and hour: the Wh in certificates
/// equals the Wh of the readings put on the stream, every reading is in exactly one certificate, and a
/// certificate id never stands for two different certificates.
/// </summary>
public sealed class AggregatorOnKafkaTests : IAsyncLifetime
{
    private const int Meters = 16;
    private const int HoursPerPart = 4;
    private static readonly DateTimeOffset Start = new(DateTime.UtcNow.Date.AddDays(-20), TimeSpan.Zero);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"greentrace-agg-kafka-{Guid.NewGuid():N}");
    private readonly List<Process> _aggregators = [];
    private readonly Dictionary<(string Meter, long Hour), (long Readings, long Wh)> _produced = [];
    private KafkaProcess _kafka = null!;
    private Fleet _fleet = null!;
    private int _nextInterval;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _kafka = await KafkaProcess.StartAsync(Path.Combine(_dir, "kafka"));
        var catalog = TopicCatalog.Parse(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "pipelines", TopicCatalog.FileName), Ct));
        foreach (var topic in catalog.Topics)
            _kafka.CreateTopic(topic.Name, topic.Partitions);
        _fleet = Fleet.Generate(new FleetSpec { MeterCount = Meters, Seed = 7 });
        await File.WriteAllTextAsync(Path.Combine(_dir, "registry.json"), _fleet.RegistryJson(), Ct);
        await File.WriteAllTextAsync(Path.Combine(_dir, "issuers.json"), IssuerKeysFile.Create(_fleet.Registry), Ct);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var p in _aggregators)
        {
            if (!p.HasExited)
                p.Kill();
            await p.WaitForExitAsync(CancellationToken.None);
            p.Dispose();
        }
        _fleet?.Dispose();
        if (_kafka is not null)
            await _kafka.DisposeAsync();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task AnAggregatorKilledMidWindowsAndRestartedCertifiesEveryWhExactlyOnce()
    {
        var first = StartAggregator("a");
        await ProduceHoursAsync(HoursPerPart);
        await WaitForCertifiedReadingsAsync(atLeast: 1);
        first.Kill(); // SIGKILL: no revoke, no commit, windows open
        await first.WaitForExitAsync(Ct);
        await ProduceHoursAsync(HoursPerPart);

        StartAggregator("b");
        await ProduceTailAndCheckBooksAsync();
    }

    [Fact]
    public async Task ASecondAggregatorJoiningAndLeavingMovesPartitionsWithoutLosingOrRepeatingAWh()
    {
        StartAggregator("a");
        // The first member's first join also makes Kafka create its offsets topic: wait for it, or the second joins first.
        await Wait(() => Log("a").Contains("Assigned gt.readings", StringComparison.Ordinal), "the first member to be assigned partitions");
        await ProduceHoursAsync(HoursPerPart);
        var second = StartAggregator("b");
        // The group settles when the first gives partitions up and the second takes them.
        await Wait(() => Log("a").Contains("Revoked gt.readings", StringComparison.Ordinal) && Log("b").Contains("Assigned gt.readings", StringComparison.Ordinal), "the group to rebalance");
        await ProduceHoursAsync(HoursPerPart);
        await WaitForCertifiedReadingsAsync(atLeast: 1);
        await StopAsync(second); // a clean leave: its partitions are revoked, committed, and go back to the first
        await ProduceHoursAsync(HoursPerPart);
        await ProduceTailAndCheckBooksAsync();
        Assert.Contains("Revoked gt.readings", Log("b"), StringComparison.Ordinal);
        Assert.DoesNotContain("BackgroundService failed", Log("a") + Log("b"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheBrokerStoppedAndRestartedMidStreamLosesNothing()
    {
        StartAggregator("a");
        await ProduceHoursAsync(HoursPerPart);
        await WaitForCertifiedReadingsAsync(atLeast: 1);
        await _kafka.StopBrokerAsync();
        await Task.Delay(TimeSpan.FromSeconds(3), Ct); // the aggregator keeps polling a broker that is gone
        await _kafka.StartBrokerAsync();
        await ProduceHoursAsync(HoursPerPart);
        await ProduceTailAndCheckBooksAsync();
    }

    private Process StartAggregator(string name)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "greentrace.dll"), "aggregator",
            "--registry", Path.Combine(_dir, "registry.json"), "--issuers", Path.Combine(_dir, "issuers.json"),
            "--archive", Path.Combine(_dir, "archive.db"), "--kafka", _kafka.BootstrapServers, "--kafka-profile", "Kafka09", "--lateness", "900",
        })
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment["GREENTRACE_Aggregator__StatusIntervalSeconds"] = "1";
        var process = new Process { StartInfo = info };
        var log = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _logs[name] = log;
        _aggregators.Add(process);
        return process;

        void Append(string? line)
        {
            if (line is null)
                return;
            lock (log)
                log.AppendLine(line);
        }
    }

    private readonly Dictionary<string, System.Text.StringBuilder> _logs = [];

    private string Log(string name)
    {
        var log = _logs[name];
        lock (log)
            return log.ToString();
    }

    private static async Task StopAsync(Process process)
    {
        // SIGTERM: the Generic Host stops the service, which leaves the group after committing.
        Assert.Equal(0, Kill(process.Id, 15));
        await process.WaitForExitAsync(Ct);
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>The next <paramref name="hours"/> hours of every meter, interval by interval across the fleet, as the gateways' forwarder would put them.</summary>
    private async Task ProduceHoursAsync(int hours, bool book = true)
    {
        var factory = new KafkaStreamClientFactory(new KafkaOptions { BootstrapServers = _kafka.BootstrapServers, BrokerProfile = KafkaBrokerProfile.Kafka09 });
        using var producer = factory.CreateProducer();
        var sends = new List<Task>();
        for (var i = 0; i < hours * 3600 / _fleet.IntervalSeconds; i++, _nextInterval++)
        {
            var start = Start.ToUnixTimeSeconds() + ((long)_nextInterval * _fleet.IntervalSeconds);
            foreach (var meter in _fleet.Meters)
            {
                var signed = meter.NextSignedReading(start);
                sends.Add(producer.ProduceAsync(Topics.Readings, meter.Id, signed.Encoded, Ct));
                if (book && signed.Reading.Direction == EnergyDirection.Generation)
                {
                    var key = (meter.Id, signed.Reading.HourStart);
                    var (n, wh) = _produced.GetValueOrDefault(key);
                    _produced[key] = (n + 1, wh + (long)signed.Reading.EnergyWh);
                }
            }
        }
        await Task.WhenAll(sends);
    }

    /// <summary>Pushes every partition's watermark past the booked hours, waits for their certificates, and balances the books.</summary>
    private async Task ProduceTailAndCheckBooksAsync()
    {
        await ProduceHoursAsync(2, book: false);
        var expected = _produced.Values.Sum(v => v.Readings);
        var ledger = await WaitForCertifiedReadingsAsync(expected);

        var byId = ledger.GroupBy(e => Convert.ToHexStringLower(e.Certificate!.Id)).ToList();
        Assert.All(byId, g => Assert.Single(g.Select(e => Convert.ToHexStringLower(e.Encoded.Span)).Distinct())); // a resent entry is the same entry
        var certified = byId.Select(g => g.First().Certificate!).Where(c => _produced.ContainsKey((c.MeterId, c.PeriodStart)))
            .GroupBy(c => (c.MeterId, c.PeriodStart)).ToDictionary(g => g.Key, g => (Readings: g.Sum(c => (long)c.ReadingCount), Wh: g.Sum(c => (long)c.FaceValueWh)));
        foreach (var (key, books) in _produced)
            Assert.Equal((key, books), (key, certified.GetValueOrDefault(key)));
        var perMeter = _produced.GroupBy(p => p.Key.Meter).ToDictionary(g => g.Key, g => g.Sum(p => p.Value.Wh));
        Assert.Equal(perMeter, certified.GroupBy(c => c.Key.MeterId).ToDictionary(g => g.Key, g => g.Sum(c => c.Value.Wh)));
    }

    /// <summary>Reads gt.ledger from the start until its certificates hold at least <paramref name="atLeast"/> readings of booked hours.</summary>
    private async Task<List<LedgerEntry>> WaitForCertifiedReadingsAsync(long atLeast)
    {
        var factory = new KafkaStreamClientFactory(new KafkaOptions { BootstrapServers = _kafka.BootstrapServers, BrokerProfile = KafkaBrokerProfile.Kafka09 });
        using var consumer = factory.CreateConsumer($"check-{Guid.NewGuid():N}", "check");
        consumer.Subscribe([Topics.Ledger]);
        var entries = new List<LedgerEntry>();
        var seen = new HashSet<string>();
        long readings = 0;
        var clock = Stopwatch.StartNew();
        while (readings < atLeast)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(3), $"gave up after {clock.Elapsed.TotalSeconds:0}s with certificates for {readings} of {atLeast} readings.\n{string.Join("\n", _logs.Select(l => $"--- aggregator {l.Key}:\n{Tail(Log(l.Key))}"))}");
            if (consumer.Consume(TimeSpan.FromMilliseconds(200), Ct) is not { } record)
                continue;
            var entry = LedgerEntryCodec.Decode(record.Value);
            Assert.True(entry.IsOk, entry.ToString());
            entries.Add(entry.Value);
            var c = entry.Value.Certificate!;
            if (seen.Add(Convert.ToHexStringLower(c.Id)) && _produced.ContainsKey((c.MeterId, c.PeriodStart)))
                readings += c.ReadingCount;
        }
        // Anything more that is already there (a certificate issued twice would be here by now).
        while (consumer.Consume(TimeSpan.FromSeconds(2), Ct) is { } more)
            entries.Add(LedgerEntryCodec.Decode(more.Value).Value);
        return entries;

        static string Tail(string log) => string.Join("\n", log.Split('\n').TakeLast(30));
    }

    private static async Task Wait(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), $"gave up waiting for {what}");
            await Task.Delay(100, Ct);
        }
    }
}
