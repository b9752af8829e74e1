namespace GreenTrace.FirmwareSim.Faults;

/// <summary>
/// How often each fault is injected: a probability per meter per interval, in [0, 1]. Bindable from
/// configuration (section <see cref="SectionName"/>); all zero by default.
/// </summary>
public sealed class FaultOptions
{
    public const string SectionName = "Simulator:Faults";

    public double TamperedPayload { get; set; }

    public double WrongKey { get; set; }

    public double Garbage { get; set; }

    public double Duplicate { get; set; }

    public double Replay { get; set; }

    public double MisalignedInterval { get; set; }

    public double WrongTopic { get; set; }

    /// <summary>Seeds which intervals get which faults; null uses the fleet's seed.</summary>
    public ulong? Seed { get; set; }

    public bool Any => FaultKinds.All.Any(k => RateOf(k) > 0);

    public double RateOf(FaultKind kind) => kind switch
    {
        FaultKind.TamperedPayload => TamperedPayload,
        FaultKind.WrongKey => WrongKey,
        FaultKind.Garbage => Garbage,
        FaultKind.Duplicate => Duplicate,
        FaultKind.Replay => Replay,
        FaultKind.MisalignedInterval => MisalignedInterval,
        FaultKind.WrongTopic => WrongTopic,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>Sets every fault to the same rate (handy for a chaos run).</summary>
    public static FaultOptions Uniform(double rate, ulong? seed = null) => new()
    {
        TamperedPayload = rate,
        WrongKey = rate,
        Garbage = rate,
        Duplicate = rate,
        Replay = rate,
        MisalignedInterval = rate,
        WrongTopic = rate,
        Seed = seed,
    };

    public void Validate()
    {
        foreach (var kind in FaultKinds.All)
        {
            var rate = RateOf(kind);
            if (rate is not (>= 0 and <= 1))
                throw new ArgumentException($"fault rate for '{kind.Code()}' must be in [0, 1], not {rate}");
        }
    }
}
