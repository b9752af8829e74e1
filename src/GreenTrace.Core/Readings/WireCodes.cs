namespace GreenTrace.Core.Readings;

/// <summary>The short codes the formats use for direction (<c>gen</c>/<c>con</c>) and quality (<c>m</c>/<c>e</c>), in one place.</summary>
public static class WireCodes
{
    public static string Of(EnergyDirection direction) => direction switch
    {
        EnergyDirection.Generation => "gen",
        EnergyDirection.Consumption => "con",
        _ => throw new ArgumentOutOfRangeException(nameof(direction), direction, "unknown energy direction"),
    };

    public static string Of(ReadingQuality quality) => quality switch
    {
        ReadingQuality.Measured => "m",
        ReadingQuality.Estimated => "e",
        _ => throw new ArgumentOutOfRangeException(nameof(quality), quality, "unknown reading quality"),
    };

    public static bool TryParseDirection(string? code, out EnergyDirection direction)
    {
        (var ok, direction) = code switch
        {
            "gen" => (true, EnergyDirection.Generation),
            "con" => (true, EnergyDirection.Consumption),
            _ => (false, default),
        };
        return ok;
    }

    public static bool TryParseQuality(string? code, out ReadingQuality quality)
    {
        (var ok, quality) = code switch
        {
            "m" => (true, ReadingQuality.Measured),
            "e" => (true, ReadingQuality.Estimated),
            _ => (false, default),
        };
        return ok;
    }
}
