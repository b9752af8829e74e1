using GreenTrace.Ledger.Checkpoints;
using GreenTrace.Streaming;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GreenTrace.Ledger;

/// <summary>
/// Feeds a <see cref="LedgerNode"/> from the ordered entry stream (one partition: the total order
/// every node agrees on) and exchanges checkpoint signatures with the other nodes on the
/// checkpoints stream through a <see cref="CheckpointCosigner"/>. Each stream is read by a consumer
/// group of this node's own, from the earliest offset, so a node that starts late or restarts
/// catches up; offsets are committed only once the store has what the records carry.
/// </summary>
public sealed class LedgerNodeService : BackgroundService
{
    private readonly IStreamClientFactory _streams;
    private readonly LedgerNode _node;
    private readonly LedgerOptions _options;
    private readonly ILogger<LedgerNodeService> _logger;
    private readonly StreamCheckpointPublisher _publisher;
    private long _consumed, _appended, _rejected, _signatures;

    public LedgerNodeService(IStreamClientFactory streams, LedgerNode node, IOptions<LedgerOptions> options, ILogger<LedgerNodeService> logger)
    {
        _streams = streams;
        _node = node;
        _options = options.Value;
        _logger = logger;
        _publisher = new StreamCheckpointPublisher(streams, _options.CheckpointsTopic);
        Cosigner = new CheckpointCosigner(node, _publisher, _options.CheckpointEveryEntries, logger);
    }

    public CheckpointCosigner Cosigner { get; }

    public long Consumed => Interlocked.Read(ref _consumed);

    public long Appended => Interlocked.Read(ref _appended);

    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>Checkpoint signatures read from the checkpoints stream (this node's own included).</summary>
    public long SignaturesRead => Interlocked.Read(ref _signatures);

    public override void Dispose()
    {
        base.Dispose();
        _publisher.Dispose();
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => Run(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken ct)
    {
        _publisher.Cancellation = ct;
        using var entries = _streams.CreateConsumer(_options.GroupId, _options.NodeName);
        using var checkpoints = _streams.CreateConsumer(_options.CheckpointsGroupId, _options.NodeName);
        entries.Subscribe([_options.EntriesTopic]);
        checkpoints.Subscribe([_options.CheckpointsTopic]);
        var batch = new List<StreamRecord>(_options.BatchSize);
        var idle = TimeSpan.FromMilliseconds(_options.CheckpointWhenIdleMilliseconds);
        var signedIdle = false;
        try
        {
            // Multiples a crash left unsigned (appended and committed, not yet signed).
            Cosigner.OnAppended();
            while (!ct.IsCancellationRequested)
            {
                // Only a wait of the full idle time that brings nothing means the stream is quiet; an
                // empty zero-time poll just ends a batch, and signing there would sign at every trickle.
                var waited = batch.Count == 0;
                var record = entries.Consume(waited ? idle : TimeSpan.Zero, ct);
                if (record is not null)
                {
                    batch.Add(record);
                    if (batch.Count < _options.BatchSize)
                        continue;
                }

                if (batch.Count > 0)
                {
                    Submit(batch);
                    var last = batch[^1];
                    entries.Commit([new StreamPosition(last.Topic, last.Partition, last.Offset + 1)]);
                    batch.Clear();
                    Cosigner.OnAppended();
                    signedIdle = false;
                }

                ExchangeSignatures(checkpoints, ct);

                if (record is null && waited && !signedIdle)
                {
                    Cosigner.OnIdle();
                    signedIdle = true;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private void Submit(List<StreamRecord> batch)
    {
        var outcomes = _node.Submit(batch.Select(r => r.Value).ToList());
        for (var i = 0; i < outcomes.Count; i++)
        {
            if (outcomes[i].Rejection is { } why)
            {
                _logger.LogWarning("Refused entry at {Position}: {Reason}", batch[i].Position, why);
                Interlocked.Increment(ref _rejected);
            }
            else
            {
                Interlocked.Increment(ref _appended);
            }
        }
        Interlocked.Add(ref _consumed, batch.Count);
    }

    /// <summary>Takes what the other nodes signed since the last round; commits up to the first signature still held for a size this node has not reached.</summary>
    private void ExchangeSignatures(IStreamConsumer checkpoints, CancellationToken ct)
    {
        StreamRecord? last = null;
        for (var i = 0; i < _options.BatchSize && checkpoints.Consume(TimeSpan.Zero, ct) is { } record; i++)
        {
            Cosigner.Receive(record.Value.Span, record.Offset);
            Interlocked.Increment(ref _signatures);
            last = record;
        }
        if (last is null)
            return;
        var next = Math.Min(Cosigner.EarliestHeldPosition ?? long.MaxValue, last.Offset + 1);
        checkpoints.Commit([new StreamPosition(last.Topic, last.Partition, next)]);
    }
}
