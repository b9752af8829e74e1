namespace GreenTrace.Gateway;

/// <summary>Reason codes the gateway adds to the reading format's own (<see cref="Core.Readings.ReadingReasons"/>).</summary>
public static class GatewayReasons
{
    public const string SizeLimit = "size-limit";
    public const string TopicInvalid = "topic-invalid";
    public const string MeterUnknown = "meter-unknown";
    public const string TopicMismatch = "topic-mismatch";
    public const string SequenceReplay = "sequence-replay";
    public const string SequenceConflict = "sequence-conflict";
    public const string IntervalLength = "interval-length";
    public const string IntervalOverlap = "interval-overlap";
    public const string TimestampFuture = "timestamp-future";
    public const string DirectionMismatch = "direction-mismatch";
    public const string EnergyImplausible = "energy-implausible";
    public const string RegisterInconsistent = "register-inconsistent";
}
