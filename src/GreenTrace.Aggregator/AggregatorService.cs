using GreenTrace.Core.Readings;
using GreenTrace.Streaming;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GreenTrace.Aggregator;

/// <summary>
/// Runs an <see cref="HourlyAggregator"/> as a member of the aggregator consumer group: readings
/// in, certificate entries out to the ledger stream, offsets committed only behind durable work.
/// </summary>
public sealed class AggregatorService : BackgroundService, IPartitionListener
{
    private readonly IStreamClientFactory _streams;
    private readonly HourlyAggregator _engine;
    private readonly AggregatorOptions _options;
    private readonly ILogger<AggregatorService> _logger;
    private readonly string _memberName;
    private IStreamConsumer? _consumer;
    private volatile bool _drainRequested;
    private long _idleSince;

    public AggregatorService(IStreamClientFactory streams, HourlyAggregator engine, IOptions<AggregatorOptions> options, ILogger<AggregatorService> logger)
    {
        _streams = streams;
        _engine = engine;
        _options = options.Value;
        _logger = logger;
        _memberName = $"aggregator-{Environment.MachineName}-{Guid.NewGuid():N}";
    }

    public AggregatorStats Stats => _engine.Stats;

    /// <summary>True once the member has found nothing to read and has no window left open.</summary>
    public bool IsIdle => Interlocked.Read(ref _idleSince) != 0 && _engine.OpenWindows == 0;

    /// <summary>Close every open window at the next idle moment: the end of a finite run.</summary>
    public void RequestDrain() => _drainRequested = true;

    void IPartitionListener.OnAssigned(IReadOnlyCollection<TopicPartition> partitions) =>
        _logger.LogInformation("Assigned {Partitions}", string.Join(", ", partitions));

    void IPartitionListener.OnRevoked(IReadOnlyCollection<TopicPartition> partitions)
    {
        // Commit what is durable for the partitions we lose, then forget them; the next owner replays the rest.
        TryCommit(_consumer!, _engine.CommitPositions().Where(p => partitions.Contains(p.TopicPartition)).ToList());
        _engine.Drop(partitions);
        _logger.LogInformation("Revoked {Partitions}", string.Join(", ", partitions));
    }

    void IPartitionListener.OnLost(IReadOnlyCollection<TopicPartition> partitions)
    {
        // Another member may already own these and have committed past us: a commit now could move
        // its offsets back (or forward over work we never made durable). Forget them; it replays.
        _engine.Drop(partitions);
        _logger.LogWarning("Lost {Partitions} without a revoke (session expired); dropped their state uncommitted", string.Join(", ", partitions));
    }

    /// <summary>
    /// A commit the group refuses (it is rebalancing, or the partitions went elsewhere) is not an error: the
    /// records behind it are read again by whoever owns them next and skipped as already certified.
    /// </summary>
    private void TryCommit(IStreamConsumer consumer, IReadOnlyList<StreamPosition> positions)
    {
        try
        {
            consumer.Commit(positions);
        }
        catch (InvalidOperationException e)
        {
            _logger.LogWarning("Offset commit refused ({Reason}); the next owner reads those records again", e.Message);
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        // Consume blocks like Kafka's does, so the loop gets a thread of its own.
        Task.Factory.StartNew(() => RunAsync(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    private async Task RunAsync(CancellationToken ct)
    {
        var consumer = _streams.CreateConsumer(_options.GroupId, _memberName);
        using var producer = _streams.CreateProducer();
        _consumer = consumer;
        consumer.Subscribe([Topics.Readings], this);
        var sinceCommit = 0;
        var completedSinceCommit = false;
        try
        {
            // The outbox first: entries a crash kept from the ledger stream. The ledger refuses a
            // certificate id twice, so resending one that did arrive is harmless.
            foreach (var pending in _engine.Unsubmitted())
            {
                await producer.ProduceAsync(Topics.Ledger, pending.MeterId, pending.Entry, ct).ConfigureAwait(false);
                _engine.MarkSubmitted(pending);
                _logger.LogWarning("Resent certificate {Certificate} for {Meter}, archived before a crash but not known to be on the ledger stream", Convert.ToHexStringLower(pending.CertificateId), pending.MeterId);
            }

            var sends = new List<Task>();
            var lastCommit = Environment.TickCount64;
            var touched = new HashSet<TopicPartition>();
            while (!ct.IsCancellationRequested)
            {
                // Take what is there, up to a batch: closing, archiving (one disk sync) and producing then
                // cover the whole batch, and the ledger produces overlap instead of waiting one by one.
                var taken = 0;
                var record = consumer.Consume(TimeSpan.FromMilliseconds(100), ct);
                // A batch gathers for a few milliseconds at most: big enough that one archive sync and one round of
                // ledger acknowledgements serve many certificates, short enough to keep certificates prompt.
                var gatherUntil = Environment.TickCount64 + _options.BatchWindowMilliseconds;
                while (record is not null)
                {
                    taken++;
                    var rejection = _engine.Add(record);
                    if (rejection is not null)
                    {
                        var rejected = new RejectedReading(rejection.Code, rejection.Message, "aggregator", record.Topic, record.Key, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), record.Value.ToArray());
                        sends.Add(producer.ProduceAsync(Topics.RejectedReadings, record.Key, rejected.ToJsonBytes(), ct));
                    }
                    touched.Add(new TopicPartition(record.Topic, record.Partition));
                    if (taken >= _options.MaxBatchRecords)
                        break;
                    record = consumer.Consume(TimeSpan.FromMilliseconds(Math.Max(0, gatherUntil - Environment.TickCount64)), ct);
                }
                if (taken > 0)
                    Interlocked.Exchange(ref _idleSince, 0);

                var due = taken > 0 ? _engine.CloseDue(touched) : [];
                touched.Clear();
                if (taken == 0 && _drainRequested)
                {
                    due = _engine.CloseAll();
                    _drainRequested = false;
                }
                foreach (var pending in due)
                    sends.Add(producer.ProduceAsync(Topics.Ledger, pending.Certificate.MeterId, pending.Entry, ct));
                // Every rejection and entry durable before anything behind it is committed.
                await Task.WhenAll(sends).ConfigureAwait(false);
                sends.Clear();
                _engine.Complete(due);

                // A commit is a round trip to the group coordinator: by count or time, not per batch. What is not yet
                // committed is read again after a crash and skipped as already certified.
                sinceCommit += taken;
                completedSinceCommit |= due.Count > 0;
                if ((sinceCommit > 0 || completedSinceCommit) && (sinceCommit >= _options.CommitEveryRecords || taken == 0 || Environment.TickCount64 - lastCommit >= _options.CommitIntervalMilliseconds))
                {
                    TryCommit(consumer, _engine.CommitPositions());
                    (sinceCommit, completedSinceCommit, lastCommit) = (0, false, Environment.TickCount64);
                }
                if (taken == 0 && due.Count == 0)
                    Interlocked.CompareExchange(ref _idleSince, Environment.TickCount64, 0);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            // Leaving the group runs OnRevoked, which commits through _consumer: dispose before forgetting it.
            consumer.Dispose();
            _consumer = null;
        }
    }
}
