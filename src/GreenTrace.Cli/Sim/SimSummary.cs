using System.Text.Json;
using GreenTrace.FirmwareSim;
using GreenTrace.FirmwareSim.Faults;

namespace GreenTrace.Cli.Sim;

/// <summary>
/// The JSON a run writes with <c>--summary</c>: what was run, every counter of <see cref="SimulatorStatsSnapshot"/> at
/// the top level (so scripts read <c>acknowledged</c> or <c>faultsInjected</c> directly), and per fault kind its rate
/// and what the gateway is expected to do with it, so a rehearsal can reconcile the simulator's books with the
/// gateway's (accepted, rejected by reason, duplicates) and the broker's.
/// </summary>
public sealed record SimSummary
{
    public const string FormatName = "greentrace-sim-summary";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
    };

    public string Format { get; init; } = FormatName;

    public int Version { get; init; } = 1;

    public required string Fleet { get; init; }

    public required string Broker { get; init; }

    public DateTimeOffset Start { get; init; }

    /// <summary>Null for a real-time run without an end.</summary>
    public int? IntervalsPlanned { get; init; }

    /// <summary>Simulated seconds per real second; null: as fast as the broker acknowledges.</summary>
    public double? Speed { get; init; }

    public bool RealTime { get; init; }

    /// <summary><c>completed</c>, or <c>stopped</c> by Ctrl+C.</summary>
    public required string Outcome { get; init; }

    public double ElapsedSeconds { get; init; }

    public int MetersTotal { get; init; }

    public long MetersOnline { get; init; }

    public long IntervalsCompleted { get; init; }

    public DateTimeOffset? LastIntervalStart { get; init; }

    public long ReadingsGenerated { get; init; }

    public long ReadingsSent { get; init; }

    public long MessagesSent { get; init; }

    public long Acknowledged { get; init; }

    public long RefusedByBroker { get; init; }

    public long Retries { get; init; }

    public long PublishFailures { get; init; }

    public long ConnectFailures { get; init; }

    public long Buffered { get; init; }

    public long DroppedFromBuffer { get; init; }

    public long RecoveredFromBuffer { get; init; }

    public double LagSeconds { get; init; }

    /// <summary>Injected faults by kind (<see cref="FaultKinds.Code"/>), every kind present.</summary>
    public IReadOnlyDictionary<string, long> FaultsInjected { get; init; } = new Dictionary<string, long>();

    public long FaultsTotal { get; init; }

    /// <summary>Per kind: its rate and expected outcome.</summary>
    public IReadOnlyDictionary<string, FaultSummary> Faults { get; init; } = new Dictionary<string, FaultSummary>();

    /// <summary>What the gateway's counters should show for the faults: rejections by reason code, and "duplicate" for dropped duplicates.</summary>
    public IReadOnlyDictionary<string, long> ExpectedAtGateway { get; init; } = new Dictionary<string, long>();

    public static SimSummary Create(string fleet, string broker, RunPlan plan, string outcome, TimeSpan elapsed, SimulatorStatsSnapshot s, FaultOptions rates) => new()
    {
        Fleet = fleet,
        Broker = broker,
        Start = plan.Start,
        IntervalsPlanned = plan.Intervals == int.MaxValue ? null : plan.Intervals,
        Speed = plan.Speed,
        RealTime = plan.FollowsWallClock,
        Outcome = outcome,
        ElapsedSeconds = elapsed.TotalSeconds,
        MetersTotal = s.MetersTotal,
        MetersOnline = s.MetersOnline,
        IntervalsCompleted = s.IntervalsCompleted,
        LastIntervalStart = s.LastIntervalStart is { } last ? DateTimeOffset.FromUnixTimeSeconds(last) : null,
        ReadingsGenerated = s.ReadingsGenerated,
        ReadingsSent = s.ReadingsSent,
        MessagesSent = s.MessagesSent,
        Acknowledged = s.Acknowledged,
        RefusedByBroker = s.RefusedByBroker,
        Retries = s.Retries,
        PublishFailures = s.PublishFailures,
        ConnectFailures = s.ConnectFailures,
        Buffered = s.Buffered,
        DroppedFromBuffer = s.DroppedFromBuffer,
        RecoveredFromBuffer = s.RecoveredFromBuffer,
        LagSeconds = s.Lag.TotalSeconds,
        FaultsInjected = FaultKinds.All.ToDictionary(k => k.Code(), k => s.FaultsInjected[k]),
        FaultsTotal = s.FaultsInjected.Values.Sum(),
        Faults = FaultKinds.All.ToDictionary(k => k.Code(), k =>
        {
            var expected = k.ExpectedGatewayOutcome();
            return new FaultSummary(rates.RateOf(k), Disposition(expected.Disposition), expected.Reason, expected.ConcurrentReason);
        }),
        // Broker refusals never reach a gateway, so they are not in its books.
        ExpectedAtGateway = FaultKinds.All
            .Where(k => s.FaultsInjected[k] > 0 && k.ExpectedGatewayOutcome().Disposition != FaultDisposition.RefusedByBroker)
            .GroupBy(k => k.ExpectedGatewayOutcome() is { Disposition: FaultDisposition.DroppedAsDuplicate } ? "duplicate" : k.ExpectedGatewayOutcome().Reason!)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(k => s.FaultsInjected[k])),
    };

    public static string ToJson(SimSummary summary) => JsonSerializer.Serialize(summary, Json);

    public static SimSummary? FromJson(string json) => JsonSerializer.Deserialize<SimSummary>(json, Json);

    private static string Disposition(FaultDisposition d) => d switch
    {
        FaultDisposition.Rejected => "rejected",
        FaultDisposition.DroppedAsDuplicate => "dropped-as-duplicate",
        _ => "refused-by-broker",
    };
}

/// <param name="ExpectedOutcome"><c>rejected</c>, <c>dropped-as-duplicate</c> or <c>refused-by-broker</c>.</param>
/// <param name="Reason">The gateway's reason code (for refused-by-broker: what a gateway would say if a broker let it through).</param>
/// <param name="ConcurrentReason">The reason gateways racing each other may give instead (see <see cref="FaultOutcome.ConcurrentReason"/>).</param>
public sealed record FaultSummary(double Rate, string ExpectedOutcome, string? Reason, string? ConcurrentReason);
