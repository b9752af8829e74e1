using InfluxDB.Client;
using InfluxDB.Client.Core.Exceptions;
using InfluxDB.Client.Writes;

namespace GreenTrace.TimeSeries;

/// <summary>How a write failed, which decides what happens to the batch.</summary>
public enum WriteFailureKind
{
    /// <summary>The server is down, slow, overloaded (5xx, 429) or unreachable: retry, the points are fine.</summary>
    Transient,

    /// <summary>
    /// Wrong token, organization, bucket or URL (401, 403, 404, other 4xx): not the points' fault, and
    /// dropping them would lose everything until someone notices. Retried, loudly, until fixed.
    /// </summary>
    Configuration,

    /// <summary>The server refused the points themselves (400, 422): split the batch to find the bad ones.</summary>
    Rejected,

    /// <summary>The request body was too large (413): split the batch.</summary>
    TooLarge,
}

/// <summary>A write failed; <see cref="Kind"/> says whether retrying, splitting or fixing the configuration helps.</summary>
public sealed class PointWriteException : Exception
{
    public PointWriteException()
        : this(WriteFailureKind.Transient, "write failed", null)
    {
    }

    public PointWriteException(string message)
        : this(WriteFailureKind.Transient, message, null)
    {
    }

    public PointWriteException(string message, Exception innerException)
        : this(WriteFailureKind.Transient, message, innerException)
    {
    }

    public PointWriteException(WriteFailureKind kind, string message, Exception? innerException = null, int status = 0, TimeSpan? retryAfter = null)
        : base(message, innerException)
    {
        Kind = kind;
        Status = status;
        RetryAfter = retryAfter;
    }

    public WriteFailureKind Kind { get; }

    /// <summary>The HTTP status, or 0 if there was no answer.</summary>
    public int Status { get; }

    /// <summary>The server's Retry-After, if it sent one (429, 503).</summary>
    public TimeSpan? RetryAfter { get; }
}

/// <summary>One attempt to write points; succeeds only once the server has accepted all of them.</summary>
public interface IPointWriter
{
    /// <exception cref="PointWriteException">The write failed; nothing is known to be stored.</exception>
    Task WriteAsync(IReadOnlyList<PointData> points, CancellationToken cancellationToken);
}

/// <summary>
/// Writes through InfluxDB.Client's <see cref="IWriteApiAsync"/>: one HTTP request per call,
/// completing when the server has answered 204. The library's background <c>WriteApi</c> is not
/// used because it acknowledges nothing to the caller: it batches, retries and finally drops on
/// its own schedule and reports only through events, so the service could not know when a batch
/// is durable and therefore when it may commit the stream offsets behind it.
/// </summary>
public sealed class InfluxPointWriter : IPointWriter, IDisposable
{
    private readonly InfluxDBClient _client;
    private readonly IWriteApiAsync _writeApi;
    private readonly string _bucket;
    private readonly string _org;

    public InfluxPointWriter(TimeSeriesOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _bucket = options.Bucket;
        _org = options.Org;
        _client = new InfluxDBClient(new InfluxDBClientOptions(options.Url)
        {
            Token = string.IsNullOrEmpty(options.Token) ? null : options.Token,
            Org = options.Org,
            Bucket = options.Bucket,
            // The resilience pipeline times each attempt; the client's own limit is only a backstop.
            Timeout = TimeSpan.FromMilliseconds(options.AttemptTimeoutMs) + TimeSpan.FromSeconds(5),
        });
        _writeApi = _client.GetWriteApiAsync();
    }

    public async Task WriteAsync(IReadOnlyList<PointData> points, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(points);
        try
        {
            await _writeApi.WritePointsAsync(points as List<PointData> ?? [.. points], _bucket, _org, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (HttpException e)
        {
            throw Classify(e.Status, e.Message, e, e.RetryAfter is int seconds and > 0 ? TimeSpan.FromSeconds(seconds) : null);
        }
        catch (InfluxException e)
        {
            throw Classify(e.Status, e.Message, e, null);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TimeoutException or OperationCanceledException)
        {
            // No answer at all (refused, reset, the client's own timeout): the server may be down.
            throw new PointWriteException(WriteFailureKind.Transient, $"no answer from the time-series server: {e.Message}", e);
        }
    }

    /// <summary>What an HTTP status means for the points that were sent.</summary>
    public static PointWriteException Classify(int status, string message, Exception? inner = null, TimeSpan? retryAfter = null)
    {
        var kind = status switch
        {
            0 or 408 or 429 or >= 500 => WriteFailureKind.Transient,
            400 or 422 => WriteFailureKind.Rejected,
            413 => WriteFailureKind.TooLarge,
            _ => WriteFailureKind.Configuration,
        };
        // InfluxDB.Client reports a refused or reset connection as status 0.
        var what = status == 0 ? $"no answer from the time-series server: {message}" : $"time-series server answered {status}: {message}";
        return new PointWriteException(kind, what, inner, status, retryAfter);
    }

    public void Dispose() => _client.Dispose();
}
