using GreenTrace.TimeSeries;
using InfluxDB.Client.Api.Domain;
using InfluxDB.Client.Writes;
using Microsoft.Extensions.Logging.Abstractions;

namespace GreenTrace.Pipeline.Tests.TimeSeries;

/// <summary>The batch writer against a scripted server: what it retries, what it splits, what it drops.</summary>
public sealed class BatchWriterTests
{
    private static readonly TimeSeriesOptions FastRetries = new()
    {
        Url = "http://127.0.0.1:1",
        RetryBaseDelayMs = 1,
        RetryMaxDelayMs = 5,
        CircuitMinimumThroughput = 100,
        CircuitBreakMs = 500,
    };

    [Fact]
    public async Task A_refused_point_is_isolated_and_dropped_and_every_other_point_is_written()
    {
        var server = new ScriptedWriter(points => points.Any(p => p.ToLineProtocol().Contains("bad", StringComparison.Ordinal))
            ? InfluxPointWriter.Classify(400, "unable to parse")
            : null);
        var metrics = new TimeSeriesMetrics();
        var points = Enumerable.Range(0, 37).Select(i => Point(i, i is 5 or 30 ? "bad" : "good")).ToList();

        var dropped = await new BatchWriter(server, FastRetries, metrics, NullLogger.Instance).WriteAsync(points, TestContext.Current.CancellationToken);

        Assert.Equal([5L, 30L], dropped.Select(d => Seq(d.Point)).Order());
        Assert.All(dropped, d => Assert.Equal("rejected", d.Reason));
        Assert.Equal(Enumerable.Range(0, 37).Where(i => i is not 5 and not 30).Select(i => (long)i), server.Stored.Select(Seq).Order());
        Assert.Equal((35L, 2L, 0L), (metrics.Snapshot().PointsWritten, metrics.Snapshot().PointsDropped, metrics.Snapshot().WriteRetries));
    }

    [Fact]
    public async Task A_request_too_large_is_split_until_it_fits()
    {
        var server = new ScriptedWriter(points => points.Count > 4 ? InfluxPointWriter.Classify(413, "request too large") : null);
        var points = Enumerable.Range(0, 19).Select(i => Point(i)).ToList();

        var dropped = await new BatchWriter(server, FastRetries, new TimeSeriesMetrics(), NullLogger.Instance).WriteAsync(points, TestContext.Current.CancellationToken);

        Assert.Empty(dropped);
        Assert.Equal(Enumerable.Range(0, 19).Select(i => (long)i), server.Stored.Select(Seq).Order());
        Assert.All(server.Accepted, batch => Assert.InRange(batch, 1, 4));
    }

    [Theory]
    [InlineData(503)]
    [InlineData(429)]
    [InlineData(401)]
    [InlineData(404)]
    [InlineData(0)]
    public async Task Outages_and_configuration_errors_are_retried_and_never_drop_a_point(int status)
    {
        var failures = 6;
        var server = new ScriptedWriter(_ => failures-- > 0 ? InfluxPointWriter.Classify(status, "not now") : null);
        var metrics = new TimeSeriesMetrics();
        var points = Enumerable.Range(0, 10).Select(i => Point(i)).ToList();

        var dropped = await new BatchWriter(server, FastRetries, metrics, NullLogger.Instance).WriteAsync(points, TestContext.Current.CancellationToken);

        Assert.Empty(dropped);
        Assert.Equal(10, server.Stored.Count);
        Assert.Equal(6, metrics.Snapshot().WriteRetries);
    }

    [Fact]
    public async Task An_open_circuit_holds_the_batch_until_the_server_answers_again()
    {
        var options = new TimeSeriesOptions { Url = "http://127.0.0.1:1", RetryBaseDelayMs = 1, RetryMaxDelayMs = 5, CircuitMinimumThroughput = 2, CircuitBreakMs = 500 };
        var failures = 5;
        var server = new ScriptedWriter(_ => failures-- > 0 ? InfluxPointWriter.Classify(500, "down") : null);
        var metrics = new TimeSeriesMetrics();

        var dropped = await new BatchWriter(server, options, metrics, NullLogger.Instance).WriteAsync([Point(1)], TestContext.Current.CancellationToken);

        Assert.Empty(dropped);
        Assert.Single(server.Stored);
        Assert.Equal(6, server.Calls);
        // Without the breaker every retry is a request (retries = calls - 1); with it, retries while
        // it is open are turned away before they reach the server.
        Assert.True(metrics.Snapshot().WriteRetries >= server.Calls, $"{metrics.Snapshot().WriteRetries} retries, {server.Calls} requests");
    }

    [Fact]
    public async Task Cancellation_ends_a_write_that_keeps_failing_without_reporting_it_written()
    {
        var server = new ScriptedWriter(_ => InfluxPointWriter.Classify(503, "down"));
        var metrics = new TimeSeriesMetrics();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var write = new BatchWriter(server, FastRetries, metrics, NullLogger.Instance).WriteAsync([Point(1)], stop.Token);
        await Support.Wait.Until(() => metrics.Snapshot().WriteRetries >= 3, "a few retries");

        await stop.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => write);
        Assert.Equal(0, metrics.Snapshot().PointsWritten);
    }

    [Theory]
    [InlineData(400, WriteFailureKind.Rejected)]
    [InlineData(422, WriteFailureKind.Rejected)]
    [InlineData(413, WriteFailureKind.TooLarge)]
    [InlineData(401, WriteFailureKind.Configuration)]
    [InlineData(403, WriteFailureKind.Configuration)]
    [InlineData(404, WriteFailureKind.Configuration)]
    [InlineData(405, WriteFailureKind.Configuration)]
    [InlineData(408, WriteFailureKind.Transient)]
    [InlineData(429, WriteFailureKind.Transient)]
    [InlineData(500, WriteFailureKind.Transient)]
    [InlineData(503, WriteFailureKind.Transient)]
    [InlineData(0, WriteFailureKind.Transient)]
    public void Http_statuses_are_classified_by_whose_fault_they_are(int status, WriteFailureKind kind) =>
        Assert.Equal(kind, InfluxPointWriter.Classify(status, "x").Kind);

    private static PointData Point(long seq, string quality = "good") =>
        PointData.Measurement("m").Tag("q", quality).Field("seq", seq).Timestamp(1_750_000_000 + seq, WritePrecision.S);

    private static long Seq(PointData point)
    {
        var line = point.ToLineProtocol();
        var start = line.IndexOf("seq=", StringComparison.Ordinal) + 4;
        return long.Parse(line[start..line.IndexOf('i', start)], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Answers each request as <c>answer</c> says: null stores the points, an exception refuses them all.</summary>
    private sealed class ScriptedWriter(Func<IReadOnlyList<PointData>, PointWriteException?> answer) : IPointWriter
    {
        public List<PointData> Stored { get; } = [];

        public List<int> Accepted { get; } = [];

        public int Calls { get; private set; }

        public Task WriteAsync(IReadOnlyList<PointData> points, CancellationToken cancellationToken)
        {
            Calls++;
            if (answer(points) is { } failure)
                throw failure;
            Stored.AddRange(points);
            Accepted.Add(points.Count);
            return Task.CompletedTask;
        }
    }
}
