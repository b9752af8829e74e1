using System.Text.Json;
using System.Text.Json.Serialization;
using GreenTrace.FirmwareSim;
using GreenTrace.FirmwareSim.Faults;

namespace GreenTrace.Cli.Sim;

/// <summary>
/// The JSON a run writes with <c>--summary</c>: every counter of the run, and per fault kind how many were injected
/// and what the gateway is expected to do with them, so a rehearsal can reconcile the simulator's books with the
/// gateway's (accepted, rejected by reason, duplicates) and the broker's.
/// </summary>
public sealed record SimSummary(
    string Format,
    int Version,
    string Fleet,
    string Broker,
    DateTimeOffset Start,
    int? IntervalsPlanned,
    double? Speed,
    bool RealTime,
    string Outcome,
    double ElapsedSeconds,
    SimCounters Counters,
    IReadOnlyDictionary<string, FaultSummary> Faults,
    IReadOnlyDictionary<string, long> ExpectedAtGateway)
{
    public const string FormatName = "greentrace-sim-summary";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        WriteIndented = true,
    };

    public static SimSummary Create(string fleet, string broker, RunPlan plan, string outcome, TimeSpan elapsed, SimulatorStatsSnapshot s, FaultOptions rates)
    {
        var faults = FaultKinds.All.ToDictionary(k => k.Code(), k =>
        {
            var expected = k.ExpectedGatewayOutcome();
            return new FaultSummary(rates.RateOf(k), s.FaultsInjected[k], Disposition(expected.Disposition), expected.Reason);
        });
        // What the gateway's counters should show for the faults: rejections by reason code, duplicates dropped; broker refusals never reach it.
        var expectedAtGateway = FaultKinds.All
            .Where(k => s.FaultsInjected[k] > 0 && k.ExpectedGatewayOutcome().Disposition != FaultDisposition.RefusedByBroker)
            .GroupBy(k => k.ExpectedGatewayOutcome() is { Disposition: FaultDisposition.DroppedAsDuplicate } ? "duplicate" : k.ExpectedGatewayOutcome().Reason!)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(k => s.FaultsInjected[k]));
        var counters = new SimCounters(
            s.MetersTotal, s.MetersOnline, s.IntervalsCompleted,
            s.LastIntervalStart is { } last ? DateTimeOffset.FromUnixTimeSeconds(last) : null,
            s.ReadingsGenerated, s.ReadingsSent, s.MessagesSent, s.Acknowledged, s.RefusedByBroker, s.Retries, s.PublishFailures,
            s.ConnectFailures, s.Buffered, s.DroppedFromBuffer, s.RecoveredFromBuffer, s.Lag.TotalSeconds, s.FaultsInjected.Values.Sum());
        return new SimSummary(FormatName, 1, fleet, broker, plan.Start, plan.Intervals == int.MaxValue ? null : plan.Intervals, plan.Speed, plan.FollowsWallClock,
            outcome, elapsed.TotalSeconds, counters, faults, expectedAtGateway);
    }

    public static string ToJson(SimSummary summary) => JsonSerializer.Serialize(summary, Json);

    public static SimSummary? FromJson(string json) => JsonSerializer.Deserialize<SimSummary>(json, Json);

    private static string Disposition(FaultDisposition d) => d switch
    {
        FaultDisposition.Rejected => "rejected",
        FaultDisposition.DroppedAsDuplicate => "dropped-as-duplicate",
        _ => "refused-by-broker",
    };
}

/// <summary>Every counter of <see cref="SimulatorStatsSnapshot"/>; see <see cref="SimulatorStats"/> for their meaning.</summary>
public sealed record SimCounters(
    int MetersTotal,
    long MetersOnline,
    long IntervalsCompleted,
    DateTimeOffset? LastIntervalStart,
    long ReadingsGenerated,
    long ReadingsSent,
    long MessagesSent,
    long Acknowledged,
    long RefusedByBroker,
    long Retries,
    long PublishFailures,
    long ConnectFailures,
    long Buffered,
    long DroppedFromBuffer,
    long RecoveredFromBuffer,
    double LagSeconds,
    long FaultsInjected);

/// <param name="Reason">The gateway's reason code (for refused-by-broker: what a gateway would say if a broker let it through).</param>
public sealed record FaultSummary(double Rate, long Injected, string ExpectedOutcome, string? Reason);
