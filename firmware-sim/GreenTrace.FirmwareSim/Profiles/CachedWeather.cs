namespace GreenTrace.FirmwareSim.Profiles;

/// <summary>
/// A blended (zone + site) weather value per 15-minute cell, remembering the last cell: consecutive
/// samples within an interval hit the same cell, and a weather value costs a few hundred draws.
/// </summary>
internal sealed class CachedWeather(WeatherProcess shared, WeatherProcess local, double sharedWeight)
{
    private readonly double _sharedScale = Math.Sqrt(sharedWeight);
    private readonly double _localScale = Math.Sqrt(1 - sharedWeight);

    // A reference swap is atomic, so concurrent callers at worst compute the same value twice.
    private Entry? _last;

    public double AtCell(long cell)
    {
        var last = _last;
        if (last is not null && last.Cell == cell)
            return last.Value;
        var value = (_sharedScale * shared.AtCell(cell)) + (_localScale * local.AtCell(cell));
        _last = new Entry(cell, value);
        return value;
    }

    public double At(double unixSeconds) => AtCell(WeatherProcess.Cell(unixSeconds));

    private sealed record Entry(long Cell, double Value);
}
