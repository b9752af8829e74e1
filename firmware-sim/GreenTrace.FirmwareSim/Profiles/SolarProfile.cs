using GreenTrace.FirmwareSim.Randomness;

namespace GreenTrace.FirmwareSim.Profiles;

/// <summary>
/// PV output: clear-sky global irradiance (Haurwitz model) from the solar elevation, scaled by capacity
/// and performance ratio, times a cloud factor driven by a mean-reverting process. Zero at night.
/// </summary>
public sealed class SolarProfile : EnergyProfile
{
    private readonly SolarProfileSpec _spec;
    private readonly double _latitude;
    private readonly double _longitude;
    private readonly CachedWeather _clouds;
    private readonly double _logitMedian;

    public SolarProfile(SolarProfileSpec spec, long capacityW, double latitudeDegrees, double longitudeDegrees)
        : base(capacityW)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        if (latitudeDegrees is < -90 or > 90)
            throw new ArgumentOutOfRangeException(nameof(latitudeDegrees), latitudeDegrees, "latitude must be within ±90°");
        if (longitudeDegrees is < -180 or > 180)
            throw new ArgumentOutOfRangeException(nameof(longitudeDegrees), longitudeDegrees, "longitude must be within ±180°");
        _spec = spec;
        _latitude = latitudeDegrees;
        _longitude = longitudeDegrees;
        _clouds = new CachedWeather(
            new WeatherProcess(Mix.Hash(spec.WeatherSeed, "solar-clouds"), spec.CloudPersistencePerHour),
            new WeatherProcess(Mix.Hash(spec.Seed, "solar-clouds"), spec.CloudPersistencePerHour),
            spec.SharedWeatherWeight);
        var m = (spec.MedianClearness - spec.OvercastClearness) / (1 - spec.OvercastClearness);
        _logitMedian = Math.Log(m / (1 - m));
    }

    /// <summary>Output under a cloudless sky, in watts.</summary>
    public double ClearSkyPowerW(double unixSeconds)
    {
        var elevation = SolarGeometry.ElevationDegrees(_latitude, _longitude, unixSeconds);
        if (elevation <= 0)
            return 0;
        var cosZenith = Math.Sin(elevation * Math.PI / 180.0);
        var ghi = 1098.0 * cosZenith * Math.Exp(-0.057 / cosZenith);
        return Math.Min(CapacityW, CapacityW * _spec.PerformanceRatio * ghi / 1000.0);
    }

    /// <summary>Fraction of clear-sky output that gets through the clouds, in [OvercastClearness, 1).</summary>
    public double CloudFactor(double unixSeconds)
    {
        var z = _clouds.At(unixSeconds);
        var clear = 1.0 / (1.0 + Math.Exp(-(_logitMedian + (_spec.CloudVariability * z))));
        return _spec.OvercastClearness + ((1 - _spec.OvercastClearness) * clear);
    }

    protected override double RawPowerW(double unixSeconds)
    {
        var clearSky = ClearSkyPowerW(unixSeconds);
        return clearSky <= 0 ? 0 : clearSky * CloudFactor(unixSeconds);
    }
}
