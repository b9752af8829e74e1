using System.Globalization;
using GreenTrace.Aggregator;
using GreenTrace.Core.Certificates;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Readings;
using GreenTrace.Pipeline.Tests.Aggregator;
using GreenTrace.Pipeline.Tests.Support;
using GreenTrace.Streaming;
using GreenTrace.Streaming.InProcess;
using GreenTrace.TimeSeries;
using Microsoft.Extensions.Options;

namespace GreenTrace.Pipeline.Tests.TimeSeries;

/// <summary>
/// The sink between the in-process log and a real VictoriaMetrics, read back through its export
/// API: what arrives, what an outage and a replay do to it, and that it never holds up the
/// certificate path.
/// </summary>
public sealed class TimeSeriesSinkTests : IDisposable
{
    private const string Group = "gt-timeseries";

    // Recent, whole hours: VictoriaMetrics silently drops points more than two days in the future,
    // and recent points are what a real deployment writes.
    private static readonly long Hour = (DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 3600 * 3600) - (6 * 3600);

    private readonly TestMeter _solar = new("meter-solar");
    private readonly TestMeter _load = new("meter-load", EnergyDirection.Consumption);
    private readonly TestMeter _stranger = new("meter-unregistered");
    private readonly LedgerFixture _ledger = new();
    private readonly DeviceDirectory _directory;
    private readonly InProcessLog _log = new([new TopicSpec(Topics.Readings, 2), new TopicSpec(Topics.RejectedReadings, 1), new TopicSpec(Topics.Ledger, 1)]);
    private readonly IStreamProducer _producer;
    private readonly List<string> _expected = [];
    private readonly List<(TimeSeriesService Service, IPointWriter Writer)> _sinks = [];
    private readonly CapturingLogger<TimeSeriesService> _sinkLog = new();

    public TimeSeriesSinkTests()
    {
        _directory = new DeviceDirectory([_solar.Device, _load.Device]);
        _producer = _log.CreateProducer();
    }

    [Fact]
    public async Task Readings_and_certificates_arrive_with_exact_values_tags_and_timestamps()
    {
        await using var server = await VictoriaMetricsFixture.StartAsync();
        await ProduceAsync(_producer, registrations: true);
        var sink = await StartSinkAsync(server.Url);

        await Wait.Until(AllCommitted, "the sink to commit both streams to their end");

        Assert.Equal(Expected(), await ExportedAsync(server));
        var stats = sink.Stats;
        Assert.Equal(8, stats.UnknownMeters);
        Assert.Equal(1, stats.RecordsSkipped); // the registration entry: not a certificate
        Assert.Equal(0, stats.PointsDropped);
        Assert.Equal(8 + 8 + 8 + 2, stats.PointsWritten);
    }

    [Fact]
    public async Task A_server_outage_costs_lag_not_data_and_nothing_is_committed_past_what_was_written()
    {
        await using var server = await VictoriaMetricsFixture.StartAsync();
        var sink = await StartSinkAsync(server.Url);
        await ProduceAsync(_producer, firstHour: Hour);
        await Wait.Until(AllCommitted, "the first hour to be written and committed");
        var writtenBefore = sink.Stats.PointsWritten;
        var committedBefore = Commits();

        await server.StopAsync();
        await ProduceAsync(_producer, firstHour: Hour + 7200);
        var retriesBefore = sink.Stats.WriteRetries;
        await Wait.Until(() => sink.Stats.WriteRetries >= retriesBefore + 3, "the sink to retry against the stopped server");

        Assert.Equal(committedBefore, Commits());
        Assert.Equal(writtenBefore, sink.Stats.PointsWritten);
        Assert.True(sink.Stats.RecordsConsumed > committedBefore.Sum(c => c.Offset ?? 0), "the sink took the new records and holds them");

        await server.RestartAsync();
        await Wait.Until(AllCommitted, "the sink to catch up after the restart");

        Assert.Equal(Expected(), await ExportedAsync(server));
    }

    [Fact]
    public async Task A_replay_from_an_older_commit_overwrites_instead_of_duplicating()
    {
        await using var server = await VictoriaMetricsFixture.StartAsync();
        await ProduceAsync(_producer, registrations: true);
        var first = await StartSinkAsync(server.Url);
        await Wait.Until(AllCommitted, "the first pass to commit");
        var pointsPerPass = first.Stats.PointsWritten;
        await StopSinkAsync(first);

        // As after a crash that lost the commits: the group resumes from the start of both streams.
        RewindGroup();
        var second = await StartSinkAsync(server.Url);
        await Wait.Until(() => AllCommitted() && second.Stats.PointsWritten == pointsPerPass, "the replay to write everything again");

        Assert.Equal(Expected(), await ExportedAsync(server));
    }

    [Fact]
    public async Task An_unreachable_server_never_holds_up_the_aggregator_or_the_readings_producer()
    {
        using var other = new TestMeter("meter-solar-2");
        using var rig = new AggregatorRig(900, _solar, other);
        var nobodyListens = $"http://127.0.0.1:{VictoriaMetricsFixture.FreePort()}";
        var metrics = new TimeSeriesMetrics();
        var sink = NewSink(rig.Log, rig.Directory, nobodyListens, metrics);
        await sink.Service.StartAsync(TestContext.Current.CancellationToken);
        foreach (var meter in new[] { _solar, other })
        {
            foreach (var reading in LedgerFixture.HourOfReadings(meter, AggregatorRig.H))
                await rig.ProduceAsync(reading);
        }
        await Wait.Until(() => metrics.Snapshot().WriteRetries >= 3, "the sink to be stuck retrying");

        // The certificate path runs to the end while the sink is stuck, and the readings producer never waits.
        var engine = rig.NewEngine();
        using (var aggregator = rig.NewConsumer("aggregator-1"))
        {
            Assert.Equal(8, await rig.PumpAsync(engine, aggregator));
            await rig.DrainAsync(engine, aggregator);
        }
        foreach (var reading in LedgerFixture.HourOfReadings(_solar, AggregatorRig.H + 3600, firstSequence: 5))
            await rig.ProduceAsync(reading);

        Assert.Equal(2, rig.LedgerCertificates().Count);
        Assert.All(PartitionsOf(rig.Log).Where(tp => tp.Topic == Topics.Readings), tp => Assert.Equal(EndBefore(rig, tp), rig.Log.CommittedOffset(AggregatorRig.Group, tp) ?? 0));
        Assert.All(PartitionsOf(rig.Log), tp => Assert.Null(rig.Log.CommittedOffset(Group, tp)));
        Assert.Equal(0, metrics.Snapshot().PointsWritten);
        Assert.True(metrics.Snapshot().RecordsConsumed > 0, "the sink took records and holds them");
        await StopSinkAsync(sink.Service);
    }

    public void Dispose()
    {
        // What the sink said explains a failed wait; the test output shows it only for failures worth reading.
        foreach (var line in _sinkLog.Messages.TakeLast(40))
            TestContext.Current.TestOutputHelper?.WriteLine(line);
        foreach (var (service, _) in _sinks)
            TestContext.Current.TestOutputHelper?.WriteLine($"sink: {service.Stats}");
        TestContext.Current.TestOutputHelper?.WriteLine($"commits: {string.Join(", ", Commits().Select(c => $"{c.Partition}={c.Offset?.ToString(CultureInfo.InvariantCulture) ?? "none"}/{_log.EndOffset(c.Partition)}"))}");
        foreach (var (service, writer) in _sinks)
        {
            service.Dispose();
            (writer as IDisposable)?.Dispose();
        }
        _producer.Dispose();
        _directory.Dispose();
        _ledger.Dispose();
        _solar.Dispose();
        _load.Dispose();
        _stranger.Dispose();
    }

    /// <summary>The aggregator committed each readings partition up to what it had before the last hour was produced.</summary>
    private static long EndBefore(AggregatorRig rig, TopicPartition tp) =>
        rig.Produced.Where(p => p.Position.TopicPartition == tp && p.Reading.Start < AggregatorRig.H + 3600).Select(p => p.Position.Offset + 1).DefaultIfEmpty(0).Max();

    /// <summary>
    /// Two hours of readings from each meter (the consumption and the unregistered one too), the
    /// solar meter's certificate for the first hour plus a supplementary one, and optionally
    /// the registrations; each with its expected exported samples.
    /// </summary>
    private async Task ProduceAsync(IStreamProducer producer, long? firstHour = null, bool registrations = false)
    {
        var hour = firstHour ?? Hour;
        var ct = TestContext.Current.CancellationToken;
        if (registrations)
            await producer.ProduceAsync(Topics.Ledger, _solar.Id, _ledger.Registration(_solar.Device), ct);
        var sequence = (ulong)((hour - Hour) / 900) + 1;
        foreach (var meter in new[] { _solar, _load, _stranger })
        {
            var series = new ReadingSeries(meter, hour, sequence, register: 50_000 + (ulong)(hour - Hour));
            var signed = new List<byte[]>();
            for (var i = 0; i < 8; i++)
            {
                var (reading, encoded) = series.Next(wh: (ulong)(100 + (i * 7) + meter.Id.Length));
                await producer.ProduceAsync(Topics.Readings, meter.Id, encoded, ct);
                ExpectReading(reading, _directory.Find(meter.Id));
                signed.Add(encoded);
            }
            // Only registered generation meters earn certificates.
            if (meter != _solar)
                continue;
            var certificate = LedgerFixture.Issue(meter, signed.Take(4), part: 0, issuedAt: hour + 3600 + 120).Certificate;
            await producer.ProduceAsync(Topics.Ledger, meter.Id, _ledger.CertificateEntry(certificate), ct);
            ExpectCertificate(certificate);
            var supplementary = LedgerFixture.Issue(meter, signed.Take(1), part: 1, issuedAt: hour + 3600 + 1800).Certificate;
            await producer.ProduceAsync(Topics.Ledger, meter.Id, _ledger.CertificateEntry(supplementary), ct);
            ExpectCertificate(supplementary);
        }
    }

    // The expectations are spelled out here rather than derived through TimeSeriesPoints, so a
    // mapping mistake cannot hide in both.
    private void ExpectReading(Reading reading, DeviceInfo? device)
    {
        var labels = $"dir={(reading.Direction == EnergyDirection.Generation ? "gen" : "con")},meter={reading.MeterId},quality=m,source={device?.EnergySource ?? "unknown"},tech={device?.Technology ?? "unknown"},zone={device?.GridZone ?? "unknown"}";
        Expect("reading_wh", labels, reading.Start, (long)reading.EnergyWh);
        Expect("reading_register_wh", labels, reading.Start, (long)reading.RegisterWh);
        Expect("reading_interval_s", labels, reading.Start, 900);
        Expect("reading_seq", labels, reading.Start, (long)reading.Sequence);
    }

    private void ExpectCertificate(GranularCertificate c)
    {
        var labels = $"issuer={LedgerFixture.IssuerId},meter={c.MeterId},part={c.Part},source=solar,tech=photovoltaic,zone={TestMeter.Zone}";
        Expect("certificate_face_value_wh", labels, c.PeriodStart, (long)c.FaceValueWh);
        Expect("certificate_reading_count", labels, c.PeriodStart, c.ReadingCount);
        Expect("certificate_measured_wh", labels, c.PeriodStart, (long)c.Quality.MeasuredWh);
        Expect("certificate_estimated_wh", labels, c.PeriodStart, (long)c.Quality.EstimatedWh);
        Expect("certificate_issue_delay_s", labels, c.PeriodStart, c.IssuedAt - c.PeriodEnd);
    }

    private void Expect(string name, string labels, long seconds, long value) =>
        _expected.Add(string.Create(CultureInfo.InvariantCulture, $"{name}{{{labels}}} @{seconds * 1000} = {value}"));

    private List<string> Expected() => [.. _expected.Order(StringComparer.Ordinal)];

    /// <summary>Every exported sample as one line, so a duplicate, a missing sample or a wrong label shows.</summary>
    private static async Task<List<string>> ExportedAsync(VictoriaMetricsFixture server)
    {
        var samples = new List<string>();
        foreach (var series in await server.ExportAsync("(reading|certificate)_.*"))
        {
            for (var i = 0; i < series.Values.Count; i++)
                samples.Add(string.Create(CultureInfo.InvariantCulture, $"{series.Key} @{series.TimestampsMs[i]} = {series.Values[i]}"));
        }
        return [.. samples.Order(StringComparer.Ordinal)];
    }

    private static IEnumerable<TopicPartition> PartitionsOf(InProcessLog log) =>
        log.Topics.Where(t => t.Name is Topics.Readings or Topics.Ledger).SelectMany(t => Enumerable.Range(0, t.Partitions).Select(p => new TopicPartition(t.Name, p)));

    private List<(TopicPartition Partition, long? Offset)> Commits() => [.. PartitionsOf(_log).Select(tp => (tp, _log.CommittedOffset(Group, tp)))];

    // An empty partition has nothing to commit: no commit is as good as offset 0 there.
    private bool AllCommitted() => PartitionsOf(_log).All(tp => (_log.CommittedOffset(Group, tp) ?? 0) == _log.EndOffset(tp));

    /// <summary>Commits offset 0 for the sink's group on every partition, as a member of it.</summary>
    private void RewindGroup()
    {
        using var member = _log.CreateConsumer(Group, "rewinder");
        member.Subscribe([Topics.Readings, Topics.Ledger]);
        // Nothing is left to read (the group is at the end); the call only joins and claims the partitions.
        Assert.Null(member.Consume(TimeSpan.Zero, TestContext.Current.CancellationToken));
        Assert.Equal(3, member.Assignment.Count);
        member.Commit(member.Assignment.Select(tp => new StreamPosition(tp.Topic, tp.Partition, 0)));
    }

    private async Task<TimeSeriesService> StartSinkAsync(string url)
    {
        var sink = NewSink(_log, _directory, url, new TimeSeriesMetrics());
        await sink.Service.StartAsync(TestContext.Current.CancellationToken);
        return sink.Service;
    }

    private (TimeSeriesService Service, TimeSeriesMetrics Metrics) NewSink(IStreamClientFactory streams, IDeviceDirectory devices, string url, TimeSeriesMetrics metrics)
    {
        var options = new TimeSeriesOptions
        {
            Url = url,
            Token = "test-token",
            Org = "greentrace",
            Bucket = "greentrace",
            GroupId = Group,
            // Small batches, so a run holds several and commits between them.
            BatchSize = 7,
            FlushIntervalMs = 50,
            RetryBaseDelayMs = 20,
            RetryMaxDelayMs = 200,
            AttemptTimeoutMs = 5000,
            CircuitBreakMs = 500,
        };
        var writer = new InfluxPointWriter(options);
        var service = new TimeSeriesService(streams, devices, writer, Options.Create(options), metrics, _sinkLog);
        _sinks.Add((service, writer));
        return (service, metrics);
    }

    private static async Task StopSinkAsync(TimeSeriesService service) => await service.StopAsync(TestContext.Current.CancellationToken);
}
