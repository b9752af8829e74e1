namespace GreenTrace.FirmwareSim.Faults;

/// <summary>
/// The ways a meter, a man in the middle or a confused device can send something other than its next genuine reading.
/// New kinds go at the end: the injector draws once per kind in this order, so appending keeps earlier kinds' decisions.
/// </summary>
public enum FaultKind
{
    /// <summary>A numeric field of the signed payload altered after signing; the message still decodes, only the signature tells.</summary>
    TamperedPayload,

    /// <summary>The genuine payload signed with a key that is not the meter's.</summary>
    WrongKey,

    /// <summary>Random bytes, not COSE at all.</summary>
    Garbage,

    /// <summary>The genuine reading's exact bytes published a second time.</summary>
    Duplicate,

    /// <summary>An old genuine reading of the same meter (older than <see cref="FaultOptions.ReplayMinAge"/> readings) published again.</summary>
    Replay,

    /// <summary>A validly signed reading whose interval start is off the interval grid.</summary>
    MisalignedInterval,

    /// <summary>The genuine reading published on another meter's topic.</summary>
    WrongTopic,

    /// <summary>
    /// A validly signed reading dated at least a day ahead of the wall clock, as from a meter whose clock jumped; its
    /// sequence number is far ahead too (<see cref="FaultInjector.ClockSkewSequenceLead"/>).
    /// </summary>
    ClockSkew,

    /// <summary>
    /// A validly signed next reading whose register fell below the energy of its own interval, as after a register reset:
    /// inconsistent with any earlier reading of the meter.
    /// </summary>
    CounterRollback,

    /// <summary>A message past the gateway's size limit (4 KiB by default) and well inside a broker's (256 KiB for IoT Hub).</summary>
    Oversized,
}

/// <summary>What happens to a fault message at the broker or the gateway.</summary>
public enum FaultDisposition
{
    /// <summary>The gateway refuses it with a reason code and puts it on the rejected-readings stream.</summary>
    Rejected,

    /// <summary>The gateway recognises a reading it already accepted and drops it (counted as a duplicate, not an error).</summary>
    DroppedAsDuplicate,

    /// <summary>The broker's topic rules refuse the publish (a PUBACK failure code, or IoT Hub closing the connection); no gateway sees it.</summary>
    RefusedByBroker,
}

/// <param name="Reason">The gateway's reason code; for <see cref="FaultDisposition.RefusedByBroker"/>, the code a gateway would give if a broker without topic rules let it through.</param>
/// <param name="ConcurrentReason">
/// The other reason gateways working in parallel may give: one that has already taken the genuine reading with the
/// fault's sequence number refuses the fault as a conflict. Null when the outcome does not depend on such races.
/// </param>
public sealed record FaultOutcome(FaultDisposition Disposition, string? Reason, string? ConcurrentReason = null);

public static class FaultKinds
{
    public static IReadOnlyList<FaultKind> All { get; } = Enum.GetValues<FaultKind>();

    /// <summary>Short stable names for logs, option names and progress displays.</summary>
    public static string Code(this FaultKind kind) => kind switch
    {
        FaultKind.TamperedPayload => "tampered",
        FaultKind.WrongKey => "wrong-key",
        FaultKind.Garbage => "garbage",
        FaultKind.Duplicate => "duplicate",
        FaultKind.Replay => "replay",
        FaultKind.MisalignedInterval => "misaligned",
        FaultKind.WrongTopic => "wrong-topic",
        FaultKind.ClockSkew => "clock-skew",
        FaultKind.CounterRollback => "counter-rollback",
        FaultKind.Oversized => "oversized",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>
    /// What a gateway with default settings does with each fault, whatever it accepted before. The reason codes are
    /// the gateway's (GatewayReasons, ReadingReasons); the firmware simulator does not depend on the gateway, so a
    /// test pins them to the gateway's constants. docs/simulator.md explains each, and what changes when several
    /// gateways share one meter's messages.
    /// </summary>
    public static FaultOutcome ExpectedGatewayOutcome(this FaultKind kind) => kind switch
    {
        // The payload still decodes (only a low bit of seq, wh or reg changed), so the signature is what fails.
        FaultKind.TamperedPayload => new(FaultDisposition.Rejected, "signature-invalid"),
        FaultKind.WrongKey => new(FaultDisposition.Rejected, "signature-invalid"),
        // The first byte is never a CBOR array or tag, so the bytes cannot even start a COSE_Sign1.
        FaultKind.Garbage => new(FaultDisposition.Rejected, "cose-malformed"),
        FaultKind.Duplicate => new(FaultDisposition.DroppedAsDuplicate, null),
        // Older than the gateway's duplicate window, so it is not mistaken for a redelivery.
        FaultKind.Replay => new(FaultDisposition.Rejected, "sequence-replay"),
        // Caught while decoding, before any per-meter state is consulted.
        FaultKind.MisalignedInterval => new(FaultDisposition.Rejected, "interval-misaligned"),
        FaultKind.WrongTopic => new(FaultDisposition.RefusedByBroker, "topic-mismatch"),
        FaultKind.ClockSkew => new(FaultDisposition.Rejected, "timestamp-future"),
        // Gateways racing each other may take the genuine reading with the same sequence number first.
        FaultKind.CounterRollback => new(FaultDisposition.Rejected, "register-inconsistent", ConcurrentReason: "sequence-conflict"),
        // The size check is the gateway's first.
        FaultKind.Oversized => new(FaultDisposition.Rejected, "size-limit"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}
