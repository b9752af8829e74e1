using GreenTrace.FirmwareSim.Randomness;

namespace GreenTrace.FirmwareSim.Profiles;

/// <summary>
/// Demand with a daily shape (base load, morning and evening peaks, weekend midday), a weekly rhythm,
/// a winter-high seasonal swing and log-normal noise, on the local clock people live by.
/// </summary>
public sealed class ConsumptionProfile : EnergyProfile
{
    private readonly ConsumptionProfileSpec _spec;
    private readonly CachedWeather _noise;

    public ConsumptionProfile(ConsumptionProfileSpec spec, long capacityW)
        : base(capacityW)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        _spec = spec;
        _noise = new CachedWeather(
            new WeatherProcess(Mix.Hash(spec.WeatherSeed, "load-noise"), spec.NoisePersistencePerHour),
            new WeatherProcess(Mix.Hash(spec.Seed, "load-noise"), spec.NoisePersistencePerHour),
            spec.SharedWeatherWeight);
    }

    /// <summary>The noiseless load as a fraction of the weekday evening peak.</summary>
    public double Shape(double unixSeconds)
    {
        var local = LocalClock.ToLocalSeconds(unixSeconds, _spec.UtcOffsetHours, _spec.EuropeanSummerTime);
        var hour = LocalClock.HourOfDay(local);
        var weekend = LocalClock.IsWeekend(local);
        var activity = weekend ? _spec.WeekendActivity : 1.0;
        var morningHour = _spec.MorningHour + (weekend ? _spec.WeekendMorningShiftHours : 0);
        var shape = _spec.BaseLoad
            + (activity * _spec.MorningWeight * Bump(hour, morningHour, 1.2))
            + (activity * _spec.MiddayWeight * Bump(hour, 13.0, 2.5))
            + (activity * _spec.EveningWeight * Bump(hour, _spec.EveningHour, 2.0))
            + (weekend ? _spec.WeekendMiddayWeight * Bump(hour, 13.0, 2.5) : 0);
        var dayOfYear = LocalClock.DayOfYear(local);
        var seasonal = 1 + (_spec.SeasonalAmplitude * Math.Cos(2 * Math.PI * (dayOfYear - 15) / 365.25));
        return shape * seasonal;
    }

    protected override double RawPowerW(double unixSeconds)
    {
        var z = _noise.At(unixSeconds);
        // exp(σz − σ²/2) has mean 1, so noise does not shift the average demand.
        var noise = Math.Exp((_spec.Noise * z) - (_spec.Noise * _spec.Noise / 2));
        return CapacityW * _spec.PeakFraction * Shape(unixSeconds) * noise;
    }

    /// <summary>A Gaussian bump in hours, wrapping around midnight.</summary>
    private static double Bump(double hour, double center, double width)
    {
        var d = Math.Abs(hour - center);
        d = Math.Min(d, 24 - d);
        return Math.Exp(-0.5 * (d / width) * (d / width));
    }
}

/// <summary>Local wall-clock arithmetic without the host's time-zone database, so every host computes the same loads.</summary>
internal static class LocalClock
{
    public static double ToLocalSeconds(double unixSeconds, int utcOffsetHours, bool europeanSummerTime)
    {
        var offset = utcOffsetHours * 3600.0;
        if (europeanSummerTime && IsEuropeanSummerTime(unixSeconds))
            offset += 3600;
        return unixSeconds + offset;
    }

    public static double HourOfDay(double localSeconds)
    {
        var r = localSeconds % 86400;
        return (r < 0 ? r + 86400 : r) / 3600.0;
    }

    public static bool IsWeekend(double localSeconds)
    {
        var day = DateTime.UnixEpoch.AddDays(Math.Floor(localSeconds / 86400)).DayOfWeek;
        return day is DayOfWeek.Saturday or DayOfWeek.Sunday;
    }

    public static int DayOfYear(double localSeconds) => DateTime.UnixEpoch.AddDays(Math.Floor(localSeconds / 86400)).DayOfYear;

    /// <summary>EU rule: summer time from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October.</summary>
    private static bool IsEuropeanSummerTime(double unixSeconds)
    {
        var utc = DateTime.UnixEpoch.AddSeconds(Math.Floor(unixSeconds));
        var start = LastSunday(utc.Year, 3).AddHours(1);
        var end = LastSunday(utc.Year, 10).AddHours(1);
        return utc >= start && utc < end;
    }

    private static DateTime LastSunday(int year, int month)
    {
        var last = new DateTime(year, month, DateTime.DaysInMonth(year, month), 0, 0, 0, DateTimeKind.Utc);
        return last.AddDays(-(int)last.DayOfWeek);
    }
}
