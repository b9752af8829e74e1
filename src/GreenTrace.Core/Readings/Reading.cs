namespace GreenTrace.Core.Readings;

/// <summary>Which way the energy flowed through the meter.</summary>
public enum EnergyDirection
{
    Generation,
    Consumption,
}

/// <summary>Whether the meter measured the value or had to estimate it (e.g. after a register fault).</summary>
public enum ReadingQuality
{
    Measured,
    Estimated,
}

/// <summary>
/// One interval reading as a meter signs it (DESIGN.md, "Reading"). Times are Unix seconds UTC;
/// energy values are whole watt-hours.
/// </summary>
public sealed record Reading(
    string MeterId,
    ulong Sequence,
    long Start,
    long End,
    ulong EnergyWh,
    ulong RegisterWh,
    EnergyDirection Direction,
    ReadingQuality Quality)
{
    public const int FormatVersion = 1;

    public long IntervalSeconds => End - Start;

    public DateTimeOffset StartTime => DateTimeOffset.FromUnixTimeSeconds(Start);

    public DateTimeOffset EndTime => DateTimeOffset.FromUnixTimeSeconds(End);

    /// <summary>The UTC hour the interval falls in; intervals never straddle an hour (see <see cref="ReadingRules"/>).</summary>
    public long HourStart => Start - (Start % 3600);
}
