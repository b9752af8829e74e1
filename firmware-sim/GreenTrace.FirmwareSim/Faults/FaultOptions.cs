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

    public double ClockSkew { get; set; }

    public double CounterRollback { get; set; }

    public double Oversized { get; set; }

    /// <summary>Seeds which intervals get which faults; null uses the fleet's seed.</summary>
    public ulong? Seed { get; set; }

    /// <summary>
    /// How many readings old a replayed reading is at least. Keep it above the gateway's DuplicateWindow (96): a
    /// replay inside the window is indistinguishable from a QoS 1 redelivery and is dropped as a duplicate instead
    /// of refused as a replay. Replays start once a meter has published this many readings in the run.
    /// </summary>
    public int ReplayMinAge { get; set; } = 128;

    /// <summary>Smallest oversized message; keep it above the gateway's MaxReadingBytes (4096).</summary>
    public int OversizedMinBytes { get; set; } = 4097;

    /// <summary>Largest oversized message; well below the 256 KiB that IoT Hub and typical broker limits allow.</summary>
    public int OversizedMaxBytes { get; set; } = 64 * 1024;

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
        FaultKind.ClockSkew => ClockSkew,
        FaultKind.CounterRollback => CounterRollback,
        FaultKind.Oversized => Oversized,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    public void SetRate(FaultKind kind, double rate)
    {
        switch (kind)
        {
            case FaultKind.TamperedPayload:
                TamperedPayload = rate;
                break;
            case FaultKind.WrongKey:
                WrongKey = rate;
                break;
            case FaultKind.Garbage:
                Garbage = rate;
                break;
            case FaultKind.Duplicate:
                Duplicate = rate;
                break;
            case FaultKind.Replay:
                Replay = rate;
                break;
            case FaultKind.MisalignedInterval:
                MisalignedInterval = rate;
                break;
            case FaultKind.WrongTopic:
                WrongTopic = rate;
                break;
            case FaultKind.ClockSkew:
                ClockSkew = rate;
                break;
            case FaultKind.CounterRollback:
                CounterRollback = rate;
                break;
            case FaultKind.Oversized:
                Oversized = rate;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
    }

    /// <summary>Sets every fault to the same rate (handy for a chaos run).</summary>
    public static FaultOptions Uniform(double rate, ulong? seed = null)
    {
        var options = new FaultOptions { Seed = seed };
        foreach (var kind in FaultKinds.All)
            options.SetRate(kind, rate);
        return options;
    }

    public void Validate()
    {
        foreach (var kind in FaultKinds.All)
        {
            var rate = RateOf(kind);
            if (rate is not (>= 0 and <= 1))
                throw new ArgumentException($"fault rate for '{kind.Code()}' must be in [0, 1], not {rate}");
        }
        if (ReplayMinAge < 1)
            throw new ArgumentException($"replay minimum age {ReplayMinAge} must be at least one reading");
        if (OversizedMinBytes < 1 || OversizedMaxBytes < OversizedMinBytes || OversizedMaxBytes > 256 * 1024)
            throw new ArgumentException($"oversized messages must be 1 to 262144 bytes with min <= max, not {OversizedMinBytes}-{OversizedMaxBytes}");
    }
}
