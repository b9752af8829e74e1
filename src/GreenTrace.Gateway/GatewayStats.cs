using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace GreenTrace.Gateway;

/// <summary>The gateway's accounting, exported as OpenTelemetry metrics and read by the demo's summary.</summary>
public sealed class GatewayStats
{
    public static readonly Meter Meter = new("GreenTrace.Gateway");
    private static readonly Counter<long> AcceptedCounter = Meter.CreateCounter<long>("greentrace.gateway.readings.accepted");
    private static readonly Counter<long> RejectedCounter = Meter.CreateCounter<long>("greentrace.gateway.readings.rejected");
    private static readonly Counter<long> DuplicateCounter = Meter.CreateCounter<long>("greentrace.gateway.readings.duplicate");
    private static readonly Histogram<double> ValidateLatency = Meter.CreateHistogram<double>("greentrace.gateway.validate.duration", "ms");

    private readonly ConcurrentDictionary<string, long> _rejectedByReason = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _acceptedWhByMeter = new(StringComparer.Ordinal);
    private long _received, _accepted, _duplicates, _acceptedWh;

    public long Received => Interlocked.Read(ref _received);

    public long Accepted => Interlocked.Read(ref _accepted);

    public long Duplicates => Interlocked.Read(ref _duplicates);

    public long Rejected => _rejectedByReason.Values.Sum();

    public long AcceptedWh => Interlocked.Read(ref _acceptedWh);

    public IReadOnlyDictionary<string, long> RejectedByReason => new Dictionary<string, long>(_rejectedByReason);

    public IReadOnlyDictionary<string, long> AcceptedWhByMeter => new Dictionary<string, long>(_acceptedWhByMeter);

    internal void Count(ValidationOutcome outcome, double validateMilliseconds)
    {
        Interlocked.Increment(ref _received);
        ValidateLatency.Record(validateMilliseconds);
        switch (outcome.Verdict)
        {
            case Verdict.Accepted:
                var wh = (long)outcome.Reading!.Reading.EnergyWh;
                Interlocked.Increment(ref _accepted);
                Interlocked.Add(ref _acceptedWh, wh);
                _acceptedWhByMeter.AddOrUpdate(outcome.MeterId!, wh, (_, v) => v + wh);
                AcceptedCounter.Add(1);
                break;
            case Verdict.Duplicate:
                Interlocked.Increment(ref _duplicates);
                DuplicateCounter.Add(1);
                break;
            default:
                _rejectedByReason.AddOrUpdate(outcome.Rejection!.Code, 1, (_, v) => v + 1);
                RejectedCounter.Add(1, new KeyValuePair<string, object?>("reason", outcome.Rejection.Code));
                break;
        }
    }
}
