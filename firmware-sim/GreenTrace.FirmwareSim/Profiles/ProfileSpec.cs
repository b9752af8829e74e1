using System.Text.Json.Serialization;

namespace GreenTrace.FirmwareSim.Profiles;

/// <summary>
/// The saved description of a meter's profile: kind, parameters and seeds. With the same spec, capacity
/// and location a profile produces the same energy for the same interval, which is what makes a saved
/// fleet reproduce its readings.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(SolarProfileSpec), "solar")]
[JsonDerivedType(typeof(WindProfileSpec), "wind")]
[JsonDerivedType(typeof(ConsumptionProfileSpec), "consumption")]
public abstract record ProfileSpec
{
    /// <summary>Seeds the site's own variation (local clouds, turbulence, household noise).</summary>
    public ulong Seed { get; init; }

    /// <summary>Seeds the weather shared by every site in a zone, so zone totals vary the way real ones do.</summary>
    public ulong WeatherSeed { get; init; }

    /// <summary>How much of the weather variation is shared with the zone, in [0, 1].</summary>
    public double SharedWeatherWeight { get; init; } = 0.7;

    public abstract IEnergyProfile Create(long capacityW, double latitudeDegrees, double longitudeDegrees);

    /// <exception cref="ArgumentException">A parameter is outside its meaningful range.</exception>
    public virtual void Validate()
    {
        Require(SharedWeatherWeight is >= 0 and <= 1, nameof(SharedWeatherWeight), "must be in [0, 1]");
    }

    protected static void Require(bool condition, string parameter, string problem)
    {
        if (!condition)
            throw new ArgumentException($"profile parameter '{parameter}' {problem}", parameter);
    }

    protected static bool IsPersistence(double value) => value is >= 0 and < 1;
}

/// <summary>PV plant: clear-sky output from the sun's elevation, times a cloud factor.</summary>
public sealed record SolarProfileSpec : ProfileSpec
{
    /// <summary>AC output per unit of plane irradiance over STC; 0.75–0.9 for real plants (inverter, temperature, soiling).</summary>
    public double PerformanceRatio { get; init; } = 0.85;

    /// <summary>Median fraction of clear-sky irradiance that gets through clouds (northern Europe ≈ 0.5–0.6).</summary>
    public double MedianClearness { get; init; } = 0.7;

    /// <summary>Fraction that still arrives under thick overcast (diffuse light).</summary>
    public double OvercastClearness { get; init; } = 0.12;

    /// <summary>Spread of the cloud process on the logit scale; 0 gives a constant cloud factor.</summary>
    public double CloudVariability { get; init; } = 1.6;

    /// <summary>AR(1) coefficient per hour of the cloud process: how long a cloudy spell lasts.</summary>
    public double CloudPersistencePerHour { get; init; } = 0.85;

    public override IEnergyProfile Create(long capacityW, double latitudeDegrees, double longitudeDegrees) =>
        new SolarProfile(this, capacityW, latitudeDegrees, longitudeDegrees);

    public override void Validate()
    {
        base.Validate();
        Require(PerformanceRatio is > 0 and <= 1, nameof(PerformanceRatio), "must be in (0, 1]");
        Require(OvercastClearness is >= 0 and < 1, nameof(OvercastClearness), "must be in [0, 1)");
        Require(MedianClearness > OvercastClearness && MedianClearness < 1, nameof(MedianClearness), "must lie between OvercastClearness and 1");
        Require(CloudVariability is >= 0 and <= 10, nameof(CloudVariability), "must be in [0, 10]");
        Require(IsPersistence(CloudPersistencePerHour), nameof(CloudPersistencePerHour), "must be in [0, 1)");
    }
}

/// <summary>Wind turbine or park: a mean-reverting hub-height wind speed through a power curve.</summary>
public sealed record WindProfileSpec : ProfileSpec
{
    public double MeanSpeed { get; init; } = 8.0;

    public double SpeedStdDev { get; init; } = 3.5;

    /// <summary>AR(1) coefficient per hour of the speed anomaly; wind regimes last many hours.</summary>
    public double PersistencePerHour { get; init; } = 0.93;

    public double CutInSpeed { get; init; } = 3.0;

    public double RatedSpeed { get; init; } = 12.0;

    public double CutOutSpeed { get; init; } = 25.0;

    /// <summary>Expected gust fronts per day; each adds up to <see cref="GustBoost"/> m/s for 15–60 minutes.</summary>
    public double GustsPerDay { get; init; } = 0.5;

    public double GustBoost { get; init; } = 9.0;

    /// <summary>Expected calm spells per day; each cuts the speed by up to 85 % for 1–6 hours.</summary>
    public double CalmsPerDay { get; init; } = 0.15;

    /// <summary>Minute-scale turbulence as a fraction of the speed.</summary>
    public double Turbulence { get; init; } = 0.08;

    /// <summary>Availability and electrical losses between the rotor and the meter.</summary>
    public double Availability { get; init; } = 0.95;

    public override IEnergyProfile Create(long capacityW, double latitudeDegrees, double longitudeDegrees) =>
        new WindProfile(this, capacityW);

    public override void Validate()
    {
        base.Validate();
        Require(MeanSpeed is > 0 and < 40, nameof(MeanSpeed), "must be in (0, 40) m/s");
        Require(SpeedStdDev is >= 0 and < 20, nameof(SpeedStdDev), "must be in [0, 20) m/s");
        Require(IsPersistence(PersistencePerHour), nameof(PersistencePerHour), "must be in [0, 1)");
        Require(CutInSpeed > 0 && CutInSpeed < RatedSpeed && RatedSpeed < CutOutSpeed, nameof(RatedSpeed), "must satisfy 0 < cut-in < rated < cut-out");
        Require(GustsPerDay is >= 0 and <= 96, nameof(GustsPerDay), "must be in [0, 96]");
        Require(GustBoost is >= 0 and <= 30, nameof(GustBoost), "must be in [0, 30] m/s");
        Require(CalmsPerDay is >= 0 and <= 96, nameof(CalmsPerDay), "must be in [0, 96]");
        Require(Turbulence is >= 0 and <= 0.5, nameof(Turbulence), "must be in [0, 0.5]");
        Require(Availability is > 0 and <= 1, nameof(Availability), "must be in (0, 1]");
    }
}

/// <summary>A consumer: daily and weekly load shape (morning and evening peaks) with noise.</summary>
public sealed record ConsumptionProfileSpec : ProfileSpec
{
    /// <summary>The evening peak of an average weekday as a fraction of the connection capacity.</summary>
    public double PeakFraction { get; init; } = 0.1;

    /// <summary>The remaining terms are relative to that peak.</summary>
    public double BaseLoad { get; init; } = 0.15;

    public double MorningWeight { get; init; } = 0.45;

    public double MorningHour { get; init; } = 7.25;

    public double MiddayWeight { get; init; } = 0.1;

    public double EveningWeight { get; init; } = 0.85;

    public double EveningHour { get; init; } = 19.0;

    /// <summary>Scales the daytime activity on Saturdays and Sundays (offices: small; homes: about 1).</summary>
    public double WeekendActivity { get; init; } = 1.0;

    /// <summary>Extra midday load at weekends (people at home).</summary>
    public double WeekendMiddayWeight { get; init; } = 0.3;

    /// <summary>How much later the weekend morning peak comes.</summary>
    public double WeekendMorningShiftHours { get; init; } = 1.5;

    /// <summary>Winter demand above the annual mean, as a fraction (heating, lighting).</summary>
    public double SeasonalAmplitude { get; init; } = 0.2;

    /// <summary>Log-normal noise level of the load.</summary>
    public double Noise { get; init; } = 0.2;

    public double NoisePersistencePerHour { get; init; } = 0.6;

    /// <summary>Standard-time offset of the local clock people live by (CET = 1).</summary>
    public int UtcOffsetHours { get; init; } = 1;

    /// <summary>Whether the EU summer-time rule applies (last Sunday of March to last Sunday of October).</summary>
    public bool EuropeanSummerTime { get; init; } = true;

    public override IEnergyProfile Create(long capacityW, double latitudeDegrees, double longitudeDegrees) =>
        new ConsumptionProfile(this, capacityW);

    public override void Validate()
    {
        base.Validate();
        Require(PeakFraction is > 0 and <= 1, nameof(PeakFraction), "must be in (0, 1]");
        Require(BaseLoad is >= 0 and <= 1, nameof(BaseLoad), "must be in [0, 1]");
        Require(MorningWeight is >= 0 and <= 2, nameof(MorningWeight), "must be in [0, 2]");
        Require(MiddayWeight is >= 0 and <= 2, nameof(MiddayWeight), "must be in [0, 2]");
        Require(EveningWeight is >= 0 and <= 2, nameof(EveningWeight), "must be in [0, 2]");
        Require(MorningHour is >= 0 and < 24, nameof(MorningHour), "must be in [0, 24)");
        Require(EveningHour is >= 0 and < 24, nameof(EveningHour), "must be in [0, 24)");
        Require(WeekendActivity is >= 0 and <= 3, nameof(WeekendActivity), "must be in [0, 3]");
        Require(WeekendMiddayWeight is >= 0 and <= 2, nameof(WeekendMiddayWeight), "must be in [0, 2]");
        Require(WeekendMorningShiftHours is >= -6 and <= 6, nameof(WeekendMorningShiftHours), "must be in [-6, 6]");
        Require(SeasonalAmplitude is >= 0 and < 1, nameof(SeasonalAmplitude), "must be in [0, 1)");
        Require(Noise is >= 0 and <= 2, nameof(Noise), "must be in [0, 2]");
        Require(IsPersistence(NoisePersistencePerHour), nameof(NoisePersistencePerHour), "must be in [0, 1)");
        Require(UtcOffsetHours is >= -12 and <= 14, nameof(UtcOffsetHours), "must be in [-12, 14]");
    }
}
