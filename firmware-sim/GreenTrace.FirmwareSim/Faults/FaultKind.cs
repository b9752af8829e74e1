namespace GreenTrace.FirmwareSim.Faults;

/// <summary>The ways a meter, a man in the middle or a confused device can send something other than its next genuine reading.</summary>
public enum FaultKind
{
    /// <summary>A byte of the signed payload flipped after signing.</summary>
    TamperedPayload,

    /// <summary>The genuine payload signed with a key that is not the meter's.</summary>
    WrongKey,

    /// <summary>Random bytes, not COSE at all.</summary>
    Garbage,

    /// <summary>The genuine reading's exact bytes published a second time.</summary>
    Duplicate,

    /// <summary>An older genuine reading of the same meter published again.</summary>
    Replay,

    /// <summary>A validly signed reading whose interval start is off the interval grid.</summary>
    MisalignedInterval,

    /// <summary>The genuine reading published on another meter's topic.</summary>
    WrongTopic,
}

public static class FaultKinds
{
    public static IReadOnlyList<FaultKind> All { get; } = Enum.GetValues<FaultKind>();

    /// <summary>Short stable names for logs and progress displays.</summary>
    public static string Code(this FaultKind kind) => kind switch
    {
        FaultKind.TamperedPayload => "tampered",
        FaultKind.WrongKey => "wrong-key",
        FaultKind.Garbage => "garbage",
        FaultKind.Duplicate => "duplicate",
        FaultKind.Replay => "replay",
        FaultKind.MisalignedInterval => "misaligned",
        FaultKind.WrongTopic => "wrong-topic",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}
