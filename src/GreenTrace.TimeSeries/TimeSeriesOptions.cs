namespace GreenTrace.TimeSeries;

/// <summary>
/// Configuration section <c>TimeSeries</c>: where the sink writes (an InfluxDB 2.x server) and how
/// it batches and retries. The token belongs in an environment variable (<c>TimeSeries__Token</c>)
/// or a secret store, not in appsettings.json.
/// </summary>
public sealed class TimeSeriesOptions
{
    public const string Section = "TimeSeries";

    /// <summary>Registers the sink; if unset, a non-empty <see cref="Url"/> enables it.</summary>
    public bool? Enabled { get; set; }

    /// <summary>The InfluxDB 2.x base URL, e.g. https://influx.example.net:8086.</summary>
    public string Url { get; set; } = "";

    /// <summary>An API token with write permission on <see cref="Bucket"/>.</summary>
    public string Token { get; set; } = "";

    public string Org { get; set; } = "greentrace";

    public string Bucket { get; set; } = "greentrace";

    /// <summary>The sink's own consumer group: its lag never holds back the aggregators' group.</summary>
    public string GroupId { get; set; } = "gt-timeseries";

    /// <summary>Most points in one write request (InfluxDB's guidance: 5,000 lines per request).</summary>
    public int BatchSize { get; set; } = 5000;

    /// <summary>Longest a consumed record waits for its batch to fill before the batch is written anyway.</summary>
    public int FlushIntervalMs { get; set; } = 1000;

    /// <summary>First retry delay; later ones grow exponentially, with jitter, up to <see cref="RetryMaxDelayMs"/>.</summary>
    public int RetryBaseDelayMs { get; set; } = 200;

    public int RetryMaxDelayMs { get; set; } = 30_000;

    /// <summary>One write request's time limit; a slower answer counts as a failure and is retried.</summary>
    public int AttemptTimeoutMs { get; set; } = 10_000;

    /// <summary>The circuit opens once this many write attempts within <see cref="CircuitSamplingMs"/> have all failed.</summary>
    public int CircuitMinimumThroughput { get; set; } = 5;

    public int CircuitSamplingMs { get; set; } = 30_000;

    /// <summary>How long an open circuit refuses writes before one is let through to probe the server.</summary>
    public int CircuitBreakMs { get; set; } = 5_000;

    /// <summary>Tag value for readings whose meter the device directory does not know.</summary>
    public string UnknownTagValue { get; set; } = "unknown";

    public bool IsEnabled => Enabled ?? !string.IsNullOrWhiteSpace(Url);

    /// <summary>Every setting that cannot work, in words an operator can act on; empty if all is well.</summary>
    public IEnumerable<string> Problems()
    {
        foreach (var (name, value) in new[] { (nameof(Org), Org), (nameof(Bucket), Bucket), (nameof(GroupId), GroupId), (nameof(UnknownTagValue), UnknownTagValue) })
        {
            if (string.IsNullOrWhiteSpace(value))
                yield return $"{Section}:{name} must not be empty";
        }
        foreach (var (name, value, min, max) in new[]
        {
            (nameof(BatchSize), BatchSize, 1, 100_000),
            (nameof(FlushIntervalMs), FlushIntervalMs, 1, 600_000),
            (nameof(RetryBaseDelayMs), RetryBaseDelayMs, 1, 600_000),
            (nameof(RetryMaxDelayMs), RetryMaxDelayMs, 1, 3_600_000),
            (nameof(AttemptTimeoutMs), AttemptTimeoutMs, 1, 600_000),
            (nameof(CircuitMinimumThroughput), CircuitMinimumThroughput, 2, 10_000),
            (nameof(CircuitSamplingMs), CircuitSamplingMs, 500, 3_600_000),
            (nameof(CircuitBreakMs), CircuitBreakMs, 500, 3_600_000),
        })
        {
            if (value < min || value > max)
                yield return $"{Section}:{name} must be between {min} and {max} (got {value})";
        }
        if (!Uri.TryCreate(Url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            yield return $"{Section}:Url must be an absolute http or https URL (got '{Url}')";
        if (RetryMaxDelayMs < RetryBaseDelayMs)
            yield return $"{Section}:RetryMaxDelayMs ({RetryMaxDelayMs}) is below {Section}:RetryBaseDelayMs ({RetryBaseDelayMs})";
    }
}
