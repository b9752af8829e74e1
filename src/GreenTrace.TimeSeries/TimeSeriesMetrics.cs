using System.Diagnostics.Metrics;

namespace GreenTrace.TimeSeries;

/// <summary>What the sink has done so far; a snapshot of <see cref="TimeSeriesMetrics"/>.</summary>
public sealed record TimeSeriesStats(
    long RecordsConsumed,
    long PointsWritten,
    long BatchesWritten,
    long WriteRetries,
    long PointsDropped,
    long RecordsSkipped,
    long UnknownMeters,
    long CommitsFailed);

/// <summary>
/// The sink's instruments (meter <see cref="MeterName"/>, for OpenTelemetry's
/// <c>AddMeter</c>) and the same counts as plain numbers for health checks and tests.
/// </summary>
public sealed class TimeSeriesMetrics : IDisposable
{
    public const string MeterName = "GreenTrace.TimeSeries";

    private readonly Meter _meter;
    private readonly Counter<long> _consumed;
    private readonly Counter<long> _written;
    private readonly Counter<long> _batches;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _skipped;
    private readonly Counter<long> _unknownMeters;
    private readonly Counter<long> _commitsFailed;
    private readonly Histogram<double> _batchSeconds;
    private long _consumedCount, _writtenCount, _batchCount, _retryCount, _droppedCount, _skippedCount, _unknownCount, _commitFailedCount;
    private long _pendingRecords;
    private long _oldestPendingUnixMs;

    public TimeSeriesMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _consumed = _meter.CreateCounter<long>("greentrace.timeseries.records_consumed", "{record}", "Stream records taken by the sink's consumer group");
        _written = _meter.CreateCounter<long>("greentrace.timeseries.points_written", "{point}", "Points the time-series server confirmed");
        _batches = _meter.CreateCounter<long>("greentrace.timeseries.batches_written", "{batch}", "Batches confirmed and committed");
        _retries = _meter.CreateCounter<long>("greentrace.timeseries.write_retries", "{attempt}", "Write attempts that failed and were retried");
        _dropped = _meter.CreateCounter<long>("greentrace.timeseries.points_dropped", "{point}", "Points the server refused on their own (tag: reason)");
        _skipped = _meter.CreateCounter<long>("greentrace.timeseries.records_skipped", "{record}", "Records that make no point (tag: reason)");
        _unknownMeters = _meter.CreateCounter<long>("greentrace.timeseries.unknown_meter_readings", "{reading}", "Readings written with unknown zone and source: the device directory lacks their meter");
        _commitsFailed = _meter.CreateCounter<long>("greentrace.timeseries.commits_failed", "{commit}", "Offset commits refused after a written batch (the partition moved; its next owner rewrites the same points)");
        _batchSeconds = _meter.CreateHistogram<double>("greentrace.timeseries.batch_duration", "s", "From a batch's write start to its confirmation, retries included");
        _meter.CreateObservableGauge("greentrace.timeseries.pending_records", () => Interlocked.Read(ref _pendingRecords), "{record}", "Records consumed but not yet confirmed written and committed");
        _meter.CreateObservableGauge("greentrace.timeseries.lag", ObserveLag, "s", "Age of the oldest consumed record not yet written and committed; grows while the server is down or full");
    }

    public TimeSeriesStats Snapshot() => new(
        Interlocked.Read(ref _consumedCount),
        Interlocked.Read(ref _writtenCount),
        Interlocked.Read(ref _batchCount),
        Interlocked.Read(ref _retryCount),
        Interlocked.Read(ref _droppedCount),
        Interlocked.Read(ref _skippedCount),
        Interlocked.Read(ref _unknownCount),
        Interlocked.Read(ref _commitFailedCount));

    internal void Consumed()
    {
        Interlocked.Increment(ref _consumedCount);
        _consumed.Add(1);
    }

    internal void Written(int points, TimeSpan took)
    {
        Interlocked.Add(ref _writtenCount, points);
        Interlocked.Increment(ref _batchCount);
        _written.Add(points);
        _batches.Add(1);
        _batchSeconds.Record(took.TotalSeconds);
    }

    internal void Retried()
    {
        Interlocked.Increment(ref _retryCount);
        _retries.Add(1);
    }

    internal void Dropped(string reason)
    {
        Interlocked.Increment(ref _droppedCount);
        _dropped.Add(1, new KeyValuePair<string, object?>("reason", reason));
    }

    internal void Skipped(string reason)
    {
        Interlocked.Increment(ref _skippedCount);
        _skipped.Add(1, new KeyValuePair<string, object?>("reason", reason));
    }

    internal void UnknownMeter()
    {
        Interlocked.Increment(ref _unknownCount);
        _unknownMeters.Add(1);
    }

    internal void CommitFailed()
    {
        Interlocked.Increment(ref _commitFailedCount);
        _commitsFailed.Add(1);
    }

    internal void Pending(int records, DateTimeOffset? oldest)
    {
        Interlocked.Exchange(ref _pendingRecords, records);
        Interlocked.Exchange(ref _oldestPendingUnixMs, oldest?.ToUnixTimeMilliseconds() ?? 0);
    }

    private double ObserveLag()
    {
        var oldest = Interlocked.Read(ref _oldestPendingUnixMs);
        return oldest == 0 ? 0 : Math.Max(0, (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - oldest) / 1000.0);
    }

    public void Dispose() => _meter.Dispose();
}
