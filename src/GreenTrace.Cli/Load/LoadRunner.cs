using System.Collections.Concurrent;
using System.Diagnostics;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Readings;
using GreenTrace.FirmwareSim;
using GreenTrace.Streaming;
using GreenTrace.Streaming.Kafka;

namespace GreenTrace.Cli.Load;

/// <summary>What a load run asks for.</summary>
/// <param name="SignAhead">Sign every reading before the run, as the meters' own chips would, so the machine under test spends nothing on it.</param>
public sealed record LoadRequest(Fleet Fleet, SimulatorOptions Simulator, KafkaOptions Kafka, double Rate, int DurationSeconds, int TailIntervals, DateTimeOffset Start, TimeSpan DrainTimeout, bool SignAhead = true);

/// <summary>What a load run measured. Times are seconds since the first reading was acknowledged.</summary>
public sealed record LoadReport(
    int Meters,
    double TargetRate,
    int DurationSeconds,
    bool SignedAhead,
    long ReadingsAcknowledged,
    long MeasuredReadings,
    double PublishSeconds,
    double AcknowledgedPerSecond,
    long CertifiedReadings,
    long Certificates,
    long SupplementaryCertificates,
    double CertifiedPerSecond,
    double SlowestTenSecondsPerSecond,
    double LatencyP50Ms,
    double LatencyP90Ms,
    double LatencyP99Ms,
    double LatencyMaxMs,
    IReadOnlyList<double> CertifiedPerTenSeconds,
    IReadOnlyList<string> Problems)
{
    public bool Balanced => Problems.Count == 0;
}

/// <summary>
/// <c>greentrace load</c>: drives the fleet through the real broker at a fixed rate while watching the
/// ledger topic, then balances the books hour by hour. A reading's latency runs from the broker's PUBACK
/// (the broker has it; a gateway may not yet) to the moment its certificate is on <c>gt.ledger</c>; an
/// hour's latency is its last reading's, since the hour cannot close before that one arrives. Offered
/// beyond capacity, the backlog waits in the broker and the latency grows with it: the certified rate is
/// the throughput, the acknowledged rate only what the broker took.
/// </summary>
public sealed class LoadRunner
{
    private readonly LoadRequest _request;
    private readonly ConcurrentDictionary<(string Meter, long Hour), HourBooks> _hours = new();
    private readonly ConcurrentQueue<(double At, long Readings, int Part, (string, long) Hour)> _certificates = new();
    private readonly Stopwatch _clock = new();
    private long _firstAckTicks = -1;
    private long _acknowledgedInRun;

    public LoadRunner(LoadRequest request) => _request = request;

    public long Acknowledged => _hours.Values.Sum(h => Volatile.Read(ref h.Readings));

    public long Certified => _certificates.Sum(c => c.Readings);

    public async Task<LoadReport> RunAsync(IProgress<string>? progress, CancellationToken ct)
    {
        var fleet = _request.Fleet;
        var meters = fleet.Meters.Count;
        var measuredIntervals = (int)Math.Ceiling(_request.Rate * _request.DurationSeconds / meters);
        var speed = _request.Rate * fleet.IntervalSeconds / meters;
        var plan = new RunPlan(_request.Start, measuredIntervals + _request.TailIntervals, speed);
        var measuredEnd = _request.Start.ToUnixTimeSeconds() + ((long)measuredIntervals * fleet.IntervalSeconds);
        // Only whole hours inside the measured part are booked: the tail exists to push the watermark past them.
        var lastMeasuredHour = (measuredEnd / 3600 * 3600) - 3600;

        if (_request.SignAhead)
        {
            var signing = Stopwatch.StartNew();
            Parallel.ForEach(fleet.Meters, meter => meter.SignAhead(_request.Start.ToUnixTimeSeconds(), plan.Intervals));
            progress?.Report($"signed {(long)fleet.Meters.Count * plan.Intervals} readings ahead in {signing.Elapsed.TotalSeconds:0.0} s (the meters' work, kept out of the measurement)");
        }

        var streams = new KafkaStreamClientFactory(_request.Kafka);
        using var probe = streams.CreateConsumer($"gt-load-probe-{Guid.NewGuid():N}", "load-probe");
        probe.Subscribe([Topics.Ledger]);
        using var stopProbe = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _clock.Start();
        var watcher = Task.Factory.StartNew(() => WatchLedger(probe, stopProbe.Token), stopProbe.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        await using var publisher = new FleetPublisher(fleet, _request.Simulator);
        publisher.MessagePublished += OnPublished;
        progress?.Report($"publishing {meters} meters × {plan.Intervals} intervals at {speed:0} simulated s per s ({_request.Rate:0} readings/s)");
        using (new Timer(_ => progress?.Report($"acknowledged by the broker {Acknowledged}, certified {Certified}"), null, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10)))
            await publisher.RunAsync(plan, ct).ConfigureAwait(false);
        var publishSeconds = Seconds(_clock.ElapsedTicks);
        _acknowledgedInRun = Acknowledged;

        var measured = _hours.Where(h => h.Key.Hour <= lastMeasuredHour).ToDictionary(h => h.Key, h => h.Value);
        var measuredReadings = measured.Values.Sum(h => h.Readings);
        progress?.Report($"published; waiting for the certificates of {measuredReadings} readings in {measured.Count} meter-hours");
        // Time goes on, as it does in service: the fleet keeps reading, an interval a second, so every partition's
        // watermark passes the windows that opened late, until the measured hours are certified. A backlog drains as
        // long as certificates keep coming; give up only after a quiet spell, not at a fixed time.
        var next = _request.Start.AddSeconds((double)plan.Intervals * fleet.IntervalSeconds);
        var (last, quietSince) = (-1L, _clock.Elapsed);
        while (measured.Values.Sum(h => Volatile.Read(ref h.CertifiedReadings)) is var certified && certified < measuredReadings && _clock.Elapsed - quietSince < _request.DrainTimeout)
        {
            if (certified != last)
            {
                (last, quietSince) = (certified, _clock.Elapsed);
                progress?.Report($"certified {certified} of {measuredReadings}");
            }
            await publisher.RunAsync(new RunPlan(next, 2, Speed: fleet.IntervalSeconds), ct).ConfigureAwait(false);
            next = next.AddSeconds(2 * fleet.IntervalSeconds);
        }
        await publisher.DisconnectAsync(ct).ConfigureAwait(false);
        await stopProbe.CancelAsync().ConfigureAwait(false);
        await watcher.ConfigureAwait(false);
        return Report(measured, measuredReadings, publishSeconds, lastMeasuredHour);
    }

    private void OnPublished(PublishedMessage message)
    {
        if (message.Outcome != PublishOutcome.Acknowledged || message.Message.Reading is not { } reading || message.Message.Fault is not null)
            return;
        var now = _clock.ElapsedTicks;
        Interlocked.CompareExchange(ref _firstAckTicks, now, -1);
        var books = _hours.GetOrAdd((reading.MeterId, reading.HourStart), _ => new HourBooks());
        lock (books)
        {
            books.Readings++;
            books.Wh += (long)reading.EnergyWh;
            books.LastAckTicks = Math.Max(books.LastAckTicks, now);
        }
    }

    private void WatchLedger(IStreamConsumer probe, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                if (probe.Consume(TimeSpan.FromMilliseconds(100), ct) is not { } record)
                    continue;
                var at = _clock.ElapsedTicks;
                var entry = LedgerEntryCodec.Decode(record.Value);
                if (!entry.IsOk || entry.Value.Certificate is not { } cert)
                    continue;
                _certificates.Enqueue((Seconds(at), cert.ReadingCount, cert.Part, (cert.MeterId, cert.PeriodStart)));
                var books = _hours.GetOrAdd((cert.MeterId, cert.PeriodStart), _ => new HourBooks());
                lock (books)
                {
                    books.CertifiedWh += (long)cert.FaceValueWh;
                    books.CertifiedReadings += cert.ReadingCount;
                    books.CertifiedAtTicks = Math.Max(books.CertifiedAtTicks, at);
                    if (!books.Ids.Add(Convert.ToHexStringLower(cert.Id)))
                        books.Repeated++;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private LoadReport Report(Dictionary<(string Meter, long Hour), HourBooks> measured, long measuredReadings, double publishSeconds, long lastMeasuredHour)
    {
        var problems = new List<string>();
        foreach (var ((meter, hour), b) in measured.OrderBy(h => h.Key.Meter, StringComparer.Ordinal).ThenBy(h => h.Key.Hour))
        {
            if (b.CertifiedWh != b.Wh || b.CertifiedReadings != b.Readings)
                problems.Add($"{meter} hour {DateTimeOffset.FromUnixTimeSeconds(hour):u}: {b.Readings} readings / {b.Wh} Wh acknowledged, {b.CertifiedReadings} / {b.CertifiedWh} Wh certified");
            if (b.Repeated > 0)
                problems.Add($"{meter} hour {DateTimeOffset.FromUnixTimeSeconds(hour):u}: a certificate id appeared {b.Repeated} more time(s) on the ledger topic");
            if (problems.Count > 50)
            {
                problems.Add("… and more");
                break;
            }
        }
        // Latency per reading = its hour's certificate arrival − the hour's last acknowledgement (all its readings wait for the last).
        var latencies = measured.Values.Where(b => b.CertifiedAtTicks > 0 && b.Readings > 0)
            .Select(b => TimeSpan.FromTicks((long)((b.CertifiedAtTicks - b.LastAckTicks) * (double)TimeSpan.TicksPerSecond / Stopwatch.Frequency)).TotalMilliseconds)
            .Order().ToArray();
        double Percentile(double p) => latencies.Length == 0 ? double.NaN : latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(p * latencies.Length) - 1)];

        var first = Seconds(Math.Max(0, Interlocked.Read(ref _firstAckTicks)));
        var inMeasured = _certificates.Where(c => c.Hour.Item2 <= lastMeasuredHour && measured.ContainsKey(c.Hour)).ToList();
        var lastCertificate = inMeasured.Count == 0 ? first : inMeasured.Max(c => c.At);
        var certified = inMeasured.Sum(c => c.Readings);
        // Certified readings per 10 s of wall clock, over the measured run (the first and last buckets are partial).
        var buckets = new double[Math.Max(1, (int)Math.Ceiling((lastCertificate - first) / 10))];
        foreach (var c in inMeasured)
            buckets[Math.Clamp((int)((c.At - first) / 10), 0, buckets.Length - 1)] += c.Readings / 10.0;
        var steady = buckets.Length > 2 ? buckets[1..^1] : buckets;
        return new LoadReport(
            _request.Fleet.Meters.Count, _request.Rate, _request.DurationSeconds, _request.SignAhead, _acknowledgedInRun, measuredReadings,
            Math.Round(publishSeconds - first, 1), Math.Round(_acknowledgedInRun / Math.Max(0.001, publishSeconds - first)),
            certified, inMeasured.Count, inMeasured.Count(c => c.Part > 0),
            Math.Round(certified / Math.Max(0.001, lastCertificate - first)), Math.Round(steady.DefaultIfEmpty(0).Min()),
            Math.Round(Percentile(0.50)), Math.Round(Percentile(0.90)), Math.Round(Percentile(0.99)), Math.Round(latencies.DefaultIfEmpty(double.NaN).Max()),
            buckets.Select(b => Math.Round(b)).ToList(), problems);
    }

    private static double Seconds(long ticks) => ticks / (double)Stopwatch.Frequency;

    private sealed class HourBooks
    {
        public long Readings;
        public long Wh;
        public long LastAckTicks;
        public long CertifiedReadings;
        public long CertifiedWh;
        public long CertifiedAtTicks;
        public int Repeated;
        public HashSet<string> Ids { get; } = new(StringComparer.Ordinal);
    }
}
