namespace GreenTrace.FirmwareSim.Profiles;

/// <summary>What a meter measures: power over time, and whole watt-hours per interval.</summary>
public interface IEnergyProfile
{
    /// <summary>Nameplate (generation) or connection (consumption) capacity; no interval ever exceeds it.</summary>
    long CapacityW { get; }

    /// <summary>Instantaneous power in watts at a Unix time, in [0, <see cref="CapacityW"/>].</summary>
    double PowerW(double unixSeconds);

    /// <summary>
    /// Energy in [start, start + intervalSeconds) in whole Wh: never negative, never above
    /// capacity × interval. A pure function of the profile's parameters and the interval.
    /// </summary>
    ulong EnergyWh(long intervalStart, int intervalSeconds);
}

public abstract class EnergyProfile : IEnergyProfile
{
    // Five-minute sampling resolves a PV ramp at sunrise and the weather grid without costing much.
    private const int SampleSeconds = 300;

    protected EnergyProfile(long capacityW)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacityW);
        CapacityW = capacityW;
    }

    public long CapacityW { get; }

    public double PowerW(double unixSeconds)
    {
        var p = RawPowerW(unixSeconds);
        return double.IsNaN(p) ? 0 : Math.Clamp(p, 0, CapacityW);
    }

    public ulong EnergyWh(long intervalStart, int intervalSeconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(intervalSeconds);
        var steps = Math.Max(1, (int)Math.Ceiling(intervalSeconds / (double)SampleSeconds));
        var dt = intervalSeconds / (double)steps;
        var joules = 0.0;
        for (var i = 0; i < steps; i++)
            joules += PowerW(intervalStart + ((i + 0.5) * dt)) * dt;
        var wh = (ulong)Math.Round(joules / 3600.0, MidpointRounding.ToEven);
        // Rounding must not lift a full-power interval above what the nameplate allows.
        var max = (ulong)((UInt128)(ulong)CapacityW * (ulong)intervalSeconds / 3600);
        return Math.Min(wh, max);
    }

    /// <summary>Power before clamping to [0, capacity].</summary>
    protected abstract double RawPowerW(double unixSeconds);

    /// <summary>Combines a zone-wide and a site-specific process so nearby plants see correlated weather.</summary>
    protected static double Blend(double shared, double local, double sharedWeight) =>
        (Math.Sqrt(sharedWeight) * shared) + (Math.Sqrt(1 - sharedWeight) * local);
}
