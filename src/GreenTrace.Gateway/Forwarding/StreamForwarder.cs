using System.Diagnostics.Metrics;
using GreenTrace.Gateway.Store;
using GreenTrace.Streaming;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace GreenTrace.Gateway.Forwarding;

public sealed class ForwarderOptions
{
    public const string Section = "Gateway:Forward";

    /// <summary>Put the store's readings and refusals on the stream deployment (Kafka); off leaves them in the store only.</summary>
    public bool Enabled { get; set; }

    /// <summary>Most rows taken from each table per round; their produces are in flight together.</summary>
    public int BatchSize { get; set; } = 5000;

    /// <summary>How often an idle forwarder looks for new rows (other gateway processes write the same store).</summary>
    public int IdlePollMilliseconds { get; set; } = 20;

    /// <summary>How long the forwarder lease lasts unrenewed: how soon another gateway of the host takes over from a dead one.</summary>
    public int LeaseSeconds { get; set; } = 15;
}

/// <summary>
/// The gateway's outbox: takes what the gateways of a host recorded in their shared store and puts it on
/// the stream deployment (readings onto <c>gt.readings</c> keyed by meter, refusals onto
/// <c>gt.readings.rejected</c>), then records how far it got. A verdict is durable in the store before
/// its PUBACK, so the broker and the stream never have to agree in one transaction, which Kafka 0.9 could
/// not give anyway. A crash between a produce and its mark sends the rows again on restart: the
/// aggregator takes a (meter, sequence) once and skips an identical copy, so redelivery is harmless.
/// One gateway process per store forwards at a time (a lease in the store), so rows keep their order.
/// </summary>
public sealed class StreamForwarder : BackgroundService
{
    public const string ReadingsStream = "readings";
    public const string RejectedStream = "rejected";

    public const string MeterName = "GreenTrace.Gateway.Forwarder";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> ForwardedCounter = Meter.CreateCounter<long>("greentrace.gateway.forwarded");
    private static readonly Counter<long> RetriesCounter = Meter.CreateCounter<long>("greentrace.gateway.forward.retries");

    private readonly SqliteGatewayStore _store;
    private readonly IStreamClientFactory _streams;
    private readonly ForwarderOptions _options;
    private readonly ILogger<StreamForwarder> _logger;
    private readonly string _holder;
    private readonly ResiliencePipeline _retry;
    private long _readings, _rejected;
    // How far each table is on the stream, read from the store once per lease: while this process holds the lease
    // nobody else moves the marks, so an idle round costs two reads of new rows, not four queries.
    private long? _readingsMark, _rejectedMark;

    public StreamForwarder(SqliteGatewayStore store, IStreamClientFactory streams, IOptions<ForwarderOptions> options, IOptions<GatewayOptions> gateway, ILogger<StreamForwarder> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(gateway);
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _streams = streams ?? throw new ArgumentNullException(nameof(streams));
        _options = options.Value;
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _holder = $"{gateway.Value.ClientId}@{Environment.MachineName}/{Environment.ProcessId}";
        // A stream that is down holds the rows in the store, never drops them: retry until it is back or we stop.
        _retry = new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not OperationCanceledException),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(200),
            MaxDelay = TimeSpan.FromSeconds(10),
            OnRetry = args =>
            {
                RetriesCounter.Add(1);
                _logger.LogWarning(args.Outcome.Exception, "Forwarding to the stream failed (attempt {Attempt}); the rows stay in the store and are sent again", args.AttemptNumber + 1);
                return ValueTask.CompletedTask;
            },
        }).Build();
    }

    /// <summary>Rows put on the stream by this process.</summary>
    public long Forwarded => Interlocked.Read(ref _readings) + Interlocked.Read(ref _rejected);

    public long ReadingsForwarded => Interlocked.Read(ref _readings);

    /// <summary>True while this process holds the store's forwarder lease.</summary>
    public bool IsForwarding { get; private set; }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => RunAsync(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    private async Task RunAsync(CancellationToken ct)
    {
        using var producer = _streams.CreateProducer();
        var lease = TimeSpan.FromSeconds(Math.Max(2, _options.LeaseSeconds));
        var idle = TimeSpan.FromMilliseconds(Math.Max(1, _options.IdlePollMilliseconds));
        long renewedAt = 0;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                // Renew at a third of the lease, so a busy round never lets it lapse under us.
                var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                if (now - renewedAt > lease.TotalMilliseconds / 3)
                {
                    var held = _store.TryHoldForwarderLease(_holder, now, now + (long)lease.TotalMilliseconds);
                    if (held && !IsForwarding)
                        (_readingsMark, _rejectedMark) = (null, null); // another gateway may have forwarded meanwhile
                    if (held != IsForwarding)
                        _logger.LogInformation(held ? "Forwarding the store {Store} to the stream as {Holder}" : "Another gateway forwards the store {Store}; standing by", _store.Path, _holder);
                    IsForwarding = held;
                    renewedAt = held ? now : 0;
                    if (!held)
                    {
                        await Task.Delay(lease / 3, ct).ConfigureAwait(false);
                        continue;
                    }
                }

                var moved = await ForwardOnceAsync(producer, ct).ConfigureAwait(false);
                if (moved == 0)
                    await Task.Delay(idle, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            if (IsForwarding)
                _store.ReleaseForwarderLease(_holder);
            IsForwarding = false;
        }
    }

    /// <summary>One round: the next rows of both tables produced together, then marked. Returns how many moved.</summary>
    public async Task<int> ForwardOnceAsync(IStreamProducer producer, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(producer);
        _readingsMark ??= _store.ForwardedUpTo(ReadingsStream);
        _rejectedMark ??= _store.ForwardedUpTo(RejectedStream);
        var readings = _store.ReadAccepted(_readingsMark.Value, _options.BatchSize);
        var rejected = _store.ReadRejected(_rejectedMark.Value, _options.BatchSize);
        if (readings.Count == 0 && rejected.Count == 0)
            return 0;
        await _retry.ExecuteAsync(async token =>
        {
            var sends = new List<Task>(readings.Count + rejected.Count);
            foreach (var r in readings)
                sends.Add(producer.ProduceAsync(Topics.Readings, r.MeterId, r.Payload, token));
            foreach (var (_, r) in rejected)
                sends.Add(producer.ProduceAsync(Topics.RejectedReadings, r.MeterId ?? r.SourceTopic ?? "", r.ToJsonBytes(), token));
            await Task.WhenAll(sends).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);
        if (readings.Count > 0)
            _store.MarkForwarded(ReadingsStream, (_readingsMark = readings[^1].Offset).Value);
        if (rejected.Count > 0)
            _store.MarkForwarded(RejectedStream, (_rejectedMark = rejected[^1].Offset).Value);
        Interlocked.Add(ref _readings, readings.Count);
        Interlocked.Add(ref _rejected, rejected.Count);
        ForwardedCounter.Add(readings.Count, new KeyValuePair<string, object?>("stream", Topics.Readings));
        ForwardedCounter.Add(rejected.Count, new KeyValuePair<string, object?>("stream", Topics.RejectedReadings));
        return readings.Count + rejected.Count;
    }
}
