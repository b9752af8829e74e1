using System.Diagnostics;
using InfluxDB.Client.Writes;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace GreenTrace.TimeSeries;

/// <summary>A point the server refused on its own, and why; it is logged and counted, never retried.</summary>
public sealed record DroppedPoint(PointData Point, string Reason, string Message);

/// <summary>
/// Writes a batch until the server has confirmed every point in it or refused individual points:
/// transient and configuration failures are retried (exponential backoff with jitter, a time limit
/// per attempt, a circuit breaker) for as long as it takes, because the points are fine and the
/// stream holds them; a refusal of the points themselves (400/422) or of the request size (413)
/// splits the batch in halves until the offending points stand alone, and only those are dropped.
/// So a bad point costs a few extra requests and never wedges the consumer, and an outage or a
/// revoked token costs lag, never data.
/// </summary>
public sealed class BatchWriter
{
    private readonly IPointWriter _writer;
    private readonly TimeSeriesMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _pipeline;

    public BatchWriter(IPointWriter writer, TimeSeriesOptions options, TimeSeriesMetrics metrics, ILogger logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _writer = writer ?? throw new ArgumentNullException(nameof(writer));
        _metrics = metrics ?? throw new ArgumentNullException(nameof(metrics));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        var worthRetrying = new PredicateBuilder()
            .Handle<PointWriteException>(e => e.Kind is WriteFailureKind.Transient or WriteFailureKind.Configuration)
            .Handle<TimeoutRejectedException>();
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = time ?? TimeProvider.System }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder()
                    .Handle<PointWriteException>(e => e.Kind is WriteFailureKind.Transient or WriteFailureKind.Configuration)
                    .Handle<TimeoutRejectedException>()
                    .Handle<BrokenCircuitException>(),
                // Never give up: the records stay uncommitted in the stream, so waiting costs lag, not data.
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(options.RetryBaseDelayMs),
                MaxDelay = TimeSpan.FromMilliseconds(options.RetryMaxDelayMs),
                // An overloaded server that says when to come back is believed (within our ceiling).
                DelayGenerator = args => ValueTask.FromResult(
                    args.Outcome.Exception is PointWriteException { RetryAfter: { } after }
                        ? (TimeSpan?)TimeSpan.FromMilliseconds(Math.Min(after.TotalMilliseconds, options.RetryMaxDelayMs))
                        : null),
                OnRetry = args =>
                {
                    _metrics.Retried();
                    LogRetry(args.AttemptNumber, args.RetryDelay, args.Outcome.Exception);
                    return ValueTask.CompletedTask;
                },
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = worthRetrying,
                FailureRatio = 1.0,
                MinimumThroughput = options.CircuitMinimumThroughput,
                SamplingDuration = TimeSpan.FromMilliseconds(options.CircuitSamplingMs),
                BreakDuration = TimeSpan.FromMilliseconds(options.CircuitBreakMs),
                OnOpened = args =>
                {
                    _logger.LogWarning("Time-series writes paused for {BreakSeconds:0.#} s: every recent attempt failed", args.BreakDuration.TotalSeconds);
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    _logger.LogInformation("Time-series server answers again");
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(TimeSpan.FromMilliseconds(options.AttemptTimeoutMs))
            .Build();
    }

    /// <summary>
    /// Returns once every point is stored or dropped (the dropped ones listed); throws only
    /// <see cref="OperationCanceledException"/>, when <paramref name="cancellationToken"/> fires.
    /// </summary>
    public async Task<IReadOnlyList<DroppedPoint>> WriteAsync(IReadOnlyList<PointData> points, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(points);
        var dropped = new List<DroppedPoint>();
        if (points.Count == 0)
            return dropped;
        var clock = Stopwatch.StartNew();
        var written = await WriteSplittingAsync(points.ToArray(), dropped, cancellationToken).ConfigureAwait(false);
        _metrics.Written(written, clock.Elapsed);
        return dropped;
    }

    private async Task<int> WriteSplittingAsync(ArraySegment<PointData> points, List<DroppedPoint> dropped, CancellationToken cancellationToken)
    {
        try
        {
            await _pipeline.ExecuteAsync(static async (state, ct) => await state.Writer.WriteAsync(state.Points, ct).ConfigureAwait(false), (Writer: _writer, Points: (IReadOnlyList<PointData>)points), cancellationToken).ConfigureAwait(false);
            return points.Count;
        }
        catch (PointWriteException e) when (e.Kind is WriteFailureKind.Rejected or WriteFailureKind.TooLarge)
        {
            if (points.Count == 1)
            {
                var reason = e.Kind == WriteFailureKind.TooLarge ? "too-large" : "rejected";
                dropped.Add(new DroppedPoint(points[0], reason, e.Message));
                _metrics.Dropped(reason);
                _logger.LogError("Dropped a point the time-series server refused ({Reason}): {Line} — {Message}", reason, points[0].ToLineProtocol(), e.Message);
                return 0;
            }
            // A server may have stored the good points of a refused batch (InfluxDB's partial
            // write); writing them again is harmless, as a point's series and time decide its slot.
            var half = points.Count / 2;
            return await WriteSplittingAsync(points[..half], dropped, cancellationToken).ConfigureAwait(false)
                + await WriteSplittingAsync(points[half..], dropped, cancellationToken).ConfigureAwait(false);
        }
    }

    private void LogRetry(int attempt, TimeSpan delay, Exception? failure)
    {
        // Configuration problems need a person; say so at error level, but not on every attempt.
        var level = failure is PointWriteException { Kind: WriteFailureKind.Configuration } ? LogLevel.Error
            : attempt < 3 ? LogLevel.Information : LogLevel.Warning;
        if (attempt < 3 || attempt % 10 == 0)
            _logger.Log(level, "Time-series write failed (attempt {Attempt}), retrying in {Delay:0.###} s: {Failure}", attempt + 1, delay.TotalSeconds, failure?.Message);
    }
}
