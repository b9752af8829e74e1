namespace GreenTrace.Cli.Demo;

/// <summary>The demo's knobs (section "Demo" of appsettings.json; the command line overrides them).</summary>
public sealed class DemoOptions
{
    public const string Section = "Demo";

    public int Meters { get; set; } = 100;

    public int Days { get; set; } = 1;

    /// <summary>First simulated day (UTC); default: the <see cref="Days"/> days up to and including yesterday.</summary>
    public DateOnly? StartDay { get; set; }

    public ulong Seed { get; set; } = 42;

    /// <summary>Share of the meters that measure consumption (the buyer's, for hourly matching); the rest are solar and wind.</summary>
    public double ConsumptionShare { get; set; } = 0.1;

    /// <summary>Rate of each injected fault kind, so the refusal paths show in the summary. 0 turns faults off.</summary>
    public double FaultRate { get; set; } = 0.005;

    /// <summary>Simulated seconds per real second; null runs as fast as the pipeline takes it.</summary>
    public double? Speed { get; set; }

    /// <summary>Where the ledger, the reading archive, the fleet and the keys are kept.</summary>
    public string DataDirectory { get; set; } = "greentrace-demo";

    /// <summary>Where bundle.json and trust.json go; default: the data directory.</summary>
    public string? OutputDirectory { get; set; }

    /// <summary>The log's origin line in checkpoints.</summary>
    public string Origin { get; set; } = "demo.greentrace.local/ledger";

    /// <summary>Safety net: give up (and say where things stalled) if the pipeline has not drained by then.</summary>
    public int TimeoutSeconds { get; set; } = 600;
}
