using GreenTrace.Core.Readings;

namespace GreenTrace.FirmwareSim;

/// <summary>A bidding zone meters are placed in, with the rough geography the profiles need.</summary>
/// <param name="Code">Grid / bidding zone code as certificates carry it, e.g. "DK1"; lower-cased it prefixes meter ids.</param>
/// <param name="Country">ISO 3166-1 alpha-2 country code.</param>
/// <param name="SpreadKm">Radius around the centre within which sites are scattered.</param>
/// <param name="MeanWindSpeed">Typical onshore hub-height mean wind speed in m/s.</param>
/// <param name="HasOffshoreWind">Whether offshore parks are plausible in the zone.</param>
public sealed record GridZoneSpec(
    string Code,
    string Country,
    double Latitude,
    double Longitude,
    double SpreadKm,
    double MeanWindSpeed,
    bool HasOffshoreWind)
{
    /// <summary>The demo zones: both Danish zones, Germany–Luxembourg, the Netherlands and central Sweden.</summary>
    public static IReadOnlyList<GridZoneSpec> Defaults { get; } =
    [
        new("DK1", "DK", 56.2, 9.0, 110, 7.6, true),
        new("DK2", "DK", 55.5, 11.9, 55, 7.0, true),
        new("DE-LU", "DE", 51.5, 10.2, 280, 6.5, true),
        new("NL", "NL", 52.3, 5.6, 90, 7.0, true),
        new("SE3", "SE", 59.0, 15.0, 200, 6.4, false),
    ];

    /// <summary>The lower-case prefix of meter ids in this zone, e.g. "de-lu".</summary>
    public string MeterIdPrefix => Code.ToLowerInvariant();

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Code) || !MeterId.IsValid(MeterIdPrefix) || MeterIdPrefix.Length > 40)
            throw new ArgumentException($"zone code '{Code}' must be 1-40 characters of A-Za-z0-9._- (it prefixes meter ids)");
        if (Country is not { Length: 2 } || !char.IsAsciiLetterUpper(Country[0]) || !char.IsAsciiLetterUpper(Country[1]))
            throw new ArgumentException($"zone '{Code}': country must be an ISO 3166-1 alpha-2 code such as 'DK'");
        if (Latitude is < -89 or > 89 || Longitude is < -180 or > 180)
            throw new ArgumentException($"zone '{Code}': coordinates out of range");
        if (SpreadKm is < 0 or > 2000)
            throw new ArgumentException($"zone '{Code}': spread must be within 0-2000 km");
        if (MeanWindSpeed is <= 0 or > 20)
            throw new ArgumentException($"zone '{Code}': mean wind speed must be within (0, 20] m/s");
    }
}

/// <summary>What fleet to generate. The defaults are the demo fleet: generation only, 60 % solar, 40 % wind.</summary>
public sealed record FleetSpec
{
    public int MeterCount { get; init; } = 20;

    /// <summary>Seeds everything random about the fleet except the signing keys, which are always fresh.</summary>
    public ulong Seed { get; init; } = 1;

    public double SolarShare { get; init; } = 0.6;

    public double WindShare { get; init; } = 0.4;

    public double ConsumptionShare { get; init; }

    public IReadOnlyList<GridZoneSpec> Zones { get; init; } = GridZoneSpec.Defaults;

    public int IntervalSeconds { get; init; } = 900;

    /// <summary>Share of readings a meter flags as estimated rather than measured.</summary>
    public double EstimatedRate { get; init; } = 0.005;

    public void Validate()
    {
        if (MeterCount is < 1 or > 1_000_000)
            throw new ArgumentException($"meter count {MeterCount} must be within 1-1000000");
        if (SolarShare < 0 || WindShare < 0 || ConsumptionShare < 0 || !double.IsFinite(SolarShare + WindShare + ConsumptionShare)
            || SolarShare + WindShare + ConsumptionShare <= 0)
            throw new ArgumentException("source shares must be non-negative and not all zero");
        if (Zones is null || Zones.Count == 0)
            throw new ArgumentException("at least one grid zone is needed");
        var prefixes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var zone in Zones)
        {
            ArgumentNullException.ThrowIfNull(zone);
            zone.Validate();
            if (!prefixes.Add(zone.MeterIdPrefix))
                throw new ArgumentException($"zone '{zone.Code}' appears twice");
        }
        if (IntervalSeconds <= 0 || IntervalSeconds > 3600 || 3600 % IntervalSeconds != 0)
            throw new ArgumentException($"interval {IntervalSeconds}s must divide one hour");
        if (EstimatedRate is not (>= 0 and <= 1))
            throw new ArgumentException("estimated rate must be within [0, 1]");
    }
}
