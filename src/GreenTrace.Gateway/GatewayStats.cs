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
    private static readonly Counter<long> LostRaceCounter = Meter.CreateCounter<long>("greentrace.gateway.handoff.lost_races", description: "Appends refused because another gateway accepted a reading of the same meter first");
    private static readonly Histogram<double> VerifyLatency = Meter.CreateHistogram<double>("greentrace.gateway.verify.duration", "ms", "Decode, signature and rule checks of one message");
    private static readonly Histogram<int> FlushBatch = Meter.CreateHistogram<int>("greentrace.gateway.flush.verdicts", "{verdict}", "Verdicts made durable by one flush (group commit)");
    private static readonly Histogram<double> HandOffLatency = Meter.CreateHistogram<double>("greentrace.gateway.handoff.duration", "ms", "From receipt to the verdict being durable, just before the PUBACK");

    private readonly ConcurrentDictionary<string, long> _rejectedByReason = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _acceptedWhByMeter = new(StringComparer.Ordinal);
    private long _received, _accepted, _duplicates, _acceptedWh, _lostRaces;

    public long Received => Interlocked.Read(ref _received);

    public long Accepted => Interlocked.Read(ref _accepted);

    public long Duplicates => Interlocked.Read(ref _duplicates);

    public long Rejected => _rejectedByReason.Values.Sum();

    public long AcceptedWh => Interlocked.Read(ref _acceptedWh);

    /// <summary>Appends that another gateway beat to the same meter; each was validated again.</summary>
    public long LostRaces => Interlocked.Read(ref _lostRaces);

    public IReadOnlyDictionary<string, long> RejectedByReason => new Dictionary<string, long>(_rejectedByReason);

    public IReadOnlyDictionary<string, long> AcceptedWhByMeter => new Dictionary<string, long>(_acceptedWhByMeter);

    internal void Verified(double milliseconds) => VerifyLatency.Record(milliseconds);

    internal void Flushed(int verdicts) => FlushBatch.Record(verdicts);

    internal void LostRace()
    {
        Interlocked.Increment(ref _lostRaces);
        LostRaceCounter.Add(1);
    }

    internal void Count(ValidationOutcome outcome, double handOffMilliseconds)
    {
        Interlocked.Increment(ref _received);
        HandOffLatency.Record(handOffMilliseconds);
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
