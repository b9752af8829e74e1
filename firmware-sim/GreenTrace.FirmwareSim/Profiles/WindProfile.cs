using GreenTrace.FirmwareSim.Randomness;

namespace GreenTrace.FirmwareSim.Profiles;

/// <summary>
/// Wind generation: hub-height speed as a mean-reverting process around the site mean, with occasional
/// gust fronts and calm spells and minute-scale turbulence, through a turbine power curve.
/// </summary>
public sealed class WindProfile : EnergyProfile
{
    private readonly WindProfileSpec _spec;
    private readonly CachedWeather _anomaly;
    private readonly EventProcess _gusts;
    private readonly EventProcess _calms;
    private readonly ulong _turbulenceSeed;

    public WindProfile(WindProfileSpec spec, long capacityW)
        : base(capacityW)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        _spec = spec;
        _anomaly = new CachedWeather(
            new WeatherProcess(Mix.Hash(spec.WeatherSeed, "wind-speed"), spec.PersistencePerHour),
            new WeatherProcess(Mix.Hash(spec.Seed, "wind-speed"), spec.PersistencePerHour),
            spec.SharedWeatherWeight);
        // Fronts and calms are synoptic, so they come from the zone's weather, not the site's.
        _gusts = new EventProcess(Mix.Hash(spec.WeatherSeed, "wind-gusts"), spec.GustsPerDay, 1, 4);
        _calms = new EventProcess(Mix.Hash(spec.WeatherSeed, "wind-calms"), spec.CalmsPerDay, 4, 24);
        _turbulenceSeed = Mix.Hash(spec.Seed, "wind-turbulence");
    }

    /// <summary>Hub-height wind speed in m/s.</summary>
    public double WindSpeed(double unixSeconds)
    {
        var cell = WeatherProcess.Cell(unixSeconds);
        var speed = _spec.MeanSpeed + (_spec.SpeedStdDev * _anomaly.AtCell(cell));
        speed *= 1 - (0.85 * _calms.IntensityAtCell(cell));
        speed += _spec.GustBoost * _gusts.IntensityAtCell(cell);
        var minute = (long)Math.Floor(unixSeconds / 60);
        speed *= 1 + (_spec.Turbulence * Mix.Gaussian(_turbulenceSeed, minute));
        return Math.Max(0, speed);
    }

    /// <summary>The power curve as a fraction of rated power: cubic from cut-in to rated, flat to cut-out, then stopped.</summary>
    public double PowerCurve(double speed)
    {
        if (speed < _spec.CutInSpeed || speed >= _spec.CutOutSpeed)
            return 0;
        if (speed >= _spec.RatedSpeed)
            return 1;
        var cutIn3 = Math.Pow(_spec.CutInSpeed, 3);
        return (Math.Pow(speed, 3) - cutIn3) / (Math.Pow(_spec.RatedSpeed, 3) - cutIn3);
    }

    protected override double RawPowerW(double unixSeconds) =>
        CapacityW * _spec.Availability * PowerCurve(WindSpeed(unixSeconds));
}
