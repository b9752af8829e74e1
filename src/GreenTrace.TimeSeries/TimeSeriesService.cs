using System.Diagnostics;
using GreenTrace.Core.Devices;
using GreenTrace.Streaming;
using InfluxDB.Client.Writes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GreenTrace.TimeSeries;

/// <summary>
/// The time-series sink: a member of its own consumer group (<see cref="TimeSeriesOptions.GroupId"/>)
/// on the readings and ledger streams, writing accepted readings and issued certificates as points.
/// Being a separate group is what keeps the time-series server off the certificate path: the
/// aggregators never wait for it, and when it is down or full only this group's lag grows.
/// Offsets are committed only after the batch behind them is confirmed written, so after a crash,
/// a rebalance or an outage the sink resumes from its commits and loses nothing; what it writes
/// twice lands on the same series and timestamp and overwrites itself.
/// </summary>
public sealed class TimeSeriesService : BackgroundService, IPartitionListener
{
    private static readonly TimeSpan IdlePoll = TimeSpan.FromMilliseconds(500);

    private readonly IStreamClientFactory _streams;
    private readonly IDeviceDirectory _devices;
    private readonly BatchWriter _writer;
    private readonly TimeSeriesOptions _options;
    private readonly TimeSeriesMetrics _metrics;
    private readonly ILogger<TimeSeriesService> _logger;
    private readonly string _memberName;
    private readonly Batch _batch = new();

    public TimeSeriesService(
        IStreamClientFactory streams,
        IDeviceDirectory devices,
        IPointWriter writer,
        IOptions<TimeSeriesOptions> options,
        TimeSeriesMetrics metrics,
        ILogger<TimeSeriesService> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _streams = streams ?? throw new ArgumentNullException(nameof(streams));
        _devices = devices ?? throw new ArgumentNullException(nameof(devices));
        _options = options.Value;
        _metrics = metrics ?? throw new ArgumentNullException(nameof(metrics));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _writer = new BatchWriter(writer, _options, metrics, logger);
        _memberName = $"timeseries-{Environment.MachineName}-{Guid.NewGuid():N}";
    }

    public TimeSeriesStats Stats => _metrics.Snapshot();

    void IPartitionListener.OnAssigned(IReadOnlyCollection<TopicPartition> partitions) =>
        _logger.LogInformation("Time-series sink assigned {Partitions}", string.Join(", ", partitions));

    void IPartitionListener.OnRevoked(IReadOnlyCollection<TopicPartition> partitions)
    {
        // Everything written is already committed (a batch commits as soon as it is confirmed), so
        // there is nothing to commit here; what is buffered unwritten is the next owner's to read again.
        var dropped = _batch.Forget(partitions);
        _metrics.Pending(_batch.RecordCount, _batch.Oldest);
        _logger.LogInformation("Time-series sink revoked {Partitions}; {Records} buffered records left for the next owner", string.Join(", ", partitions), dropped);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        // Consume blocks as Kafka's does, so the loop gets a thread of its own.
        Task.Factory.StartNew(() => RunAsync(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    private async Task RunAsync(CancellationToken ct)
    {
        using var consumer = _streams.CreateConsumer(_options.GroupId, _memberName);
        consumer.Subscribe([Topics.Readings, Topics.Ledger], this);
        var flushInterval = TimeSpan.FromMilliseconds(_options.FlushIntervalMs);
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var wait = _batch.IsEmpty ? IdlePoll : flushInterval - _batch.Age;
                var record = consumer.Consume(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, ct);
                if (record is not null)
                {
                    _metrics.Consumed();
                    Add(record);
                    _metrics.Pending(_batch.RecordCount, _batch.Oldest);
                    if (_batch.PointCount < _options.BatchSize && _batch.Age < flushInterval)
                        continue;
                }
                if (!_batch.IsEmpty && (record is null || _batch.PointCount >= _options.BatchSize || _batch.Age >= flushInterval))
                    await FlushAsync(consumer, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Unwritten records are not committed: the next start reads them again.
        }
        catch (Exception e)
        {
            // A host logs a failed background service too, but an embedding without one would not.
            _logger.LogCritical(e, "Time-series sink stopped; nothing it had not written is committed");
            throw;
        }
    }

    private void Add(StreamRecord record)
    {
        var mapped = TimeSeriesPoints.Map(record, _devices, _options.UnknownTagValue);
        if (mapped.Point is null)
        {
            _metrics.Skipped(mapped.SkipReason!);
            // A ledger stream carries registrations too; only the unexpected skips deserve a warning.
            if (mapped.SkipReason != TimeSeriesPoints.Reasons.NotACertificate)
                _logger.LogWarning("No time-series point for {Position} ({Reason}): {Detail}", record.Position, mapped.SkipReason, mapped.Detail);
        }
        else if (mapped.UnknownMeter)
        {
            _metrics.UnknownMeter();
            _logger.LogWarning("Reading at {Position} is from meter {Meter}, which the device directory does not know; written with zone and source '{Unknown}'", record.Position, record.Key, _options.UnknownTagValue);
        }
        _batch.Add(record, mapped.Point);
    }

    private async Task FlushAsync(IStreamConsumer consumer, CancellationToken ct)
    {
        var points = _batch.Points();
        if (points.Count > 0)
        {
            // Returns only when every point is stored or individually refused; an outage keeps it
            // here, retrying, and keeps this group from consuming further (its lag grows).
            await _writer.WriteAsync(points, ct).ConfigureAwait(false);
        }
        var commit = _batch.NextOffsets();
        try
        {
            consumer.Commit(commit);
        }
        // Any commit failure (Kafka's and the embedded log's differ) means the partition moved while
        // the batch was being written; its next owner reads from the older commit and rewrites the
        // same points, which overwrite themselves.
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _metrics.CommitFailed();
            _logger.LogWarning(e, "Could not commit {Positions} after writing them; the partitions' next owner writes them again", string.Join(", ", commit));
        }
        _batch.Clear();
        _metrics.Pending(0, null);
    }

    /// <summary>The records taken since the last commit, in consumption order, with their points.</summary>
    private sealed class Batch
    {
        private readonly List<(StreamRecord Record, PointData? Point)> _entries = [];
        private long _startedAt;

        public bool IsEmpty => _entries.Count == 0;

        public int RecordCount => _entries.Count;

        public int PointCount { get; private set; }

        public TimeSpan Age => IsEmpty ? TimeSpan.Zero : Stopwatch.GetElapsedTime(_startedAt);

        /// <summary>When the oldest record still unconfirmed was appended to its stream: the lag's start.</summary>
        public DateTimeOffset? Oldest { get; private set; }

        public void Add(StreamRecord record, PointData? point)
        {
            if (IsEmpty)
                _startedAt = Stopwatch.GetTimestamp();
            _entries.Add((record, point));
            if (Oldest is null || record.Timestamp < Oldest)
                Oldest = record.Timestamp;
            if (point is not null)
                PointCount++;
        }

        public List<PointData> Points() => _entries.Where(e => e.Point is not null).Select(e => e.Point!).ToList();

        /// <summary>Per partition, the offset after the last record taken: what a commit names.</summary>
        public List<StreamPosition> NextOffsets() =>
            _entries.GroupBy(e => e.Record.Position.TopicPartition)
                .Select(g => new StreamPosition(g.Key.Topic, g.Key.Partition, g.Max(e => e.Record.Offset) + 1))
                .ToList();

        public int Forget(IReadOnlyCollection<TopicPartition> partitions)
        {
            var removed = _entries.RemoveAll(e => partitions.Contains(e.Record.Position.TopicPartition));
            PointCount = _entries.Count(e => e.Point is not null);
            Oldest = IsEmpty ? null : _entries.Min(e => e.Record.Timestamp);
            return removed;
        }

        public void Clear()
        {
            _entries.Clear();
            PointCount = 0;
            Oldest = null;
        }
    }
}
