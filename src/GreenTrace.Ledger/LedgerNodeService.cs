using GreenTrace.Streaming;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GreenTrace.Ledger;

/// <summary>
/// Feeds a <see cref="LedgerNode"/> from the ordered entry stream (one partition: the total order
/// every node agrees on) and commits the stream offset only after the store has the batch.
/// </summary>
public sealed class LedgerNodeService : BackgroundService
{
    private readonly IStreamClientFactory _streams;
    private readonly LedgerNode _node;
    private readonly LedgerOptions _options;
    private readonly ILogger<LedgerNodeService> _logger;
    private long _consumed, _appended, _rejected;

    public LedgerNodeService(IStreamClientFactory streams, LedgerNode node, IOptions<LedgerOptions> options, ILogger<LedgerNodeService> logger)
    {
        _streams = streams;
        _node = node;
        _options = options.Value;
        _logger = logger;
    }

    public long Consumed => Interlocked.Read(ref _consumed);

    public long Appended => Interlocked.Read(ref _appended);

    public long Rejected => Interlocked.Read(ref _rejected);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => Run(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken ct)
    {
        using var consumer = _streams.CreateConsumer(_options.GroupId, _options.NodeName);
        consumer.Subscribe([Topics.Ledger]);
        var batch = new List<StreamRecord>(_options.BatchSize);
        var sinceCheckpoint = 0;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var record = consumer.Consume(batch.Count == 0 ? TimeSpan.FromMilliseconds(_options.CheckpointWhenIdleMilliseconds) : TimeSpan.Zero, ct);
                if (record is not null)
                {
                    batch.Add(record);
                    if (batch.Count < _options.BatchSize)
                        continue;
                }

                if (batch.Count > 0)
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
                            sinceCheckpoint++;
                        }
                    }
                    Interlocked.Add(ref _consumed, batch.Count);
                    var last = batch[^1];
                    consumer.Commit([new StreamPosition(last.Topic, last.Partition, last.Offset + 1)]);
                    batch.Clear();
                }

                if (sinceCheckpoint >= _options.CheckpointEveryEntries || (record is null && sinceCheckpoint > 0))
                {
                    var cp = _node.SignCheckpoint();
                    _logger.LogInformation("Checkpoint {Origin} size {Size}", _node.Origin, cp.Size);
                    sinceCheckpoint = 0;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }
}
