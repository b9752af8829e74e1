using GreenTrace.FirmwareSim.Profiles;

namespace GreenTrace.Pipeline.Tests.FirmwareSim;

public class ProfileTests
{
    // Central Jutland (DK1).
    private const double Latitude = 56.2;
    private const double Longitude = 9.0;
    private const int Interval = 900;

    private static long DayStart(int year, int month, int day) => new DateTimeOffset(year, month, day, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();

    private static ulong[] Series(IEnergyProfile profile, long start, int intervals, int intervalSeconds = Interval) =>
        [.. Enumerable.Range(0, intervals).Select(i => profile.EnergyWh(start + ((long)i * intervalSeconds), intervalSeconds))];

    [Fact]
    public void Solar_is_zero_at_night_and_peaks_near_local_solar_noon()
    {
        // No cloud variation, so the daily shape is the sun's alone.
        var profile = new SolarProfileSpec { Seed = 1, WeatherSeed = 2, CloudVariability = 0 }.Create(10_000, Latitude, Longitude);
        var day = new DateOnly(2025, 6, 21);
        var start = DayStart(2025, 6, 21);
        var series = Series(profile, start, 96);

        for (var i = 0; i < 96; i++)
        {
            var t0 = start + (i * Interval);
            var sunUp = SolarGeometry.ElevationDegrees(Latitude, Longitude, t0) > 0
                || SolarGeometry.ElevationDegrees(Latitude, Longitude, t0 + Interval) > 0;
            if (!sunUp)
                Assert.Equal(0UL, series[i]);
        }
        Assert.Equal(0UL, series[0]); // 00:00 UTC is the middle of the night in Denmark, even at midsummer

        var peak = Array.IndexOf(series, series.Max());
        var peakMid = DateTimeOffset.FromUnixTimeSeconds(start + (peak * Interval) + (Interval / 2));
        var noon = SolarGeometry.SolarNoonUtc(Longitude, day);
        Assert.InRange((peakMid - noon).Duration(), TimeSpan.Zero, TimeSpan.FromMinutes(30));
        // Solar noon at 9°E is about 11:24 UTC: 36 minutes of longitude, a couple of minutes of equation of time.
        Assert.InRange(noon.TimeOfDay, new TimeSpan(11, 15, 0), new TimeSpan(11, 35, 0));
    }

    [Fact]
    public void Solar_with_clouds_is_still_zero_at_night()
    {
        var profile = new SolarProfileSpec { Seed = 7, WeatherSeed = 8 }.Create(5_000_000, Latitude, Longitude);
        var start = DayStart(2025, 3, 10);
        var series = Series(profile, start, 96 * 7);
        for (var i = 0; i < series.Length; i++)
        {
            var t0 = start + (i * Interval);
            if (SolarGeometry.ElevationDegrees(Latitude, Longitude, t0) <= 0 && SolarGeometry.ElevationDegrees(Latitude, Longitude, t0 + Interval) <= 0)
                Assert.Equal(0UL, series[i]);
        }
        Assert.Contains(series, wh => wh > 0);
    }

    [Fact]
    public void Solar_produces_more_in_a_northern_summer_week_than_in_a_winter_week()
    {
        var profile = new SolarProfileSpec { Seed = 3, WeatherSeed = 4 }.Create(10_000, Latitude, Longitude);
        var summer = Series(profile, DayStart(2025, 6, 18), 96 * 7).Aggregate(0UL, (a, b) => a + b);
        var winter = Series(profile, DayStart(2025, 12, 18), 96 * 7).Aggregate(0UL, (a, b) => a + b);
        Assert.True(summer > 3 * winter, $"summer {summer} Wh vs winter {winter} Wh");
    }

    [Fact]
    public void Solar_elevation_matches_known_values()
    {
        // At the June solstice at local solar noon the sun stands 90° − latitude + 23.44° high.
        var noon = SolarGeometry.SolarNoonUtc(Longitude, new DateOnly(2025, 6, 21));
        Assert.InRange(SolarGeometry.ElevationDegrees(Latitude, Longitude, noon), 57.0, 57.5);
        // At the December solstice: 90° − latitude − 23.44°.
        var winterNoon = SolarGeometry.SolarNoonUtc(Longitude, new DateOnly(2025, 12, 21));
        Assert.InRange(SolarGeometry.ElevationDegrees(Latitude, Longitude, winterNoon), 10.1, 10.6);
    }

    [Fact]
    public void Wind_stays_within_zero_and_capacity_and_uses_the_whole_curve()
    {
        const long capacity = 3_600_000;
        var profile = new WindProfileSpec { Seed = 11, WeatherSeed = 12, MeanSpeed = 8, SpeedStdDev = 3.6 }.Create(capacity, Latitude, Longitude);
        var series = Series(profile, DayStart(2025, 1, 1), 96 * 90);
        var max = (ulong)(capacity * Interval / 3600);
        Assert.All(series, wh => Assert.InRange(wh, 0UL, max));
        // A quarter of a year of wind has still air and full-power hours.
        Assert.Contains(series, wh => wh == 0);
        Assert.Contains(series, wh => wh > max * 9 / 10);
        var meanCapacityFactor = series.Average(wh => (double)wh) / max;
        Assert.InRange(meanCapacityFactor, 0.15, 0.6);
    }

    [Fact]
    public void Wind_power_curve_has_cut_in_rated_and_cut_out()
    {
        var profile = (WindProfile)new WindProfileSpec { CutInSpeed = 3, RatedSpeed = 12, CutOutSpeed = 25 }.Create(1_000_000, Latitude, Longitude);
        Assert.Equal(0, profile.PowerCurve(0));
        Assert.Equal(0, profile.PowerCurve(2.9));
        Assert.InRange(profile.PowerCurve(7), 0.1, 0.3);
        Assert.Equal(1, profile.PowerCurve(12));
        Assert.Equal(1, profile.PowerCurve(24.9));
        Assert.Equal(0, profile.PowerCurve(25));
        var previous = 0.0;
        for (var v = 3.0; v <= 12; v += 0.25)
        {
            Assert.True(profile.PowerCurve(v) >= previous);
            previous = profile.PowerCurve(v);
        }
    }

    [Fact]
    public void Consumption_has_morning_and_evening_peaks_over_a_night_trough()
    {
        var profile = new ConsumptionProfileSpec { Seed = 5, WeatherSeed = 6 }.Create(14_000, Latitude, Longitude);
        // Four weeks of November (standard time, CET = UTC+1), weekdays only.
        var start = DayStart(2025, 11, 3);
        var byLocalHour = new double[24];
        var days = 0;
        for (var d = 0; d < 28; d++)
        {
            var dayStart = start + (d * 86400L);
            var weekday = DateTimeOffset.FromUnixTimeSeconds(dayStart).DayOfWeek;
            if (weekday is DayOfWeek.Saturday or DayOfWeek.Sunday)
                continue;
            days++;
            for (var i = 0; i < 96; i++)
            {
                var t = dayStart + (i * Interval);
                var localHour = (int)(((t + 3600) % 86400) / 3600);
                byLocalHour[localHour] += profile.EnergyWh(t, Interval);
            }
        }
        var night = byLocalHour[3];
        Assert.True(byLocalHour[19] > 2.5 * night, $"evening {byLocalHour[19] / days} vs night {night / days}");
        Assert.True(byLocalHour[7] > 1.5 * night, $"morning {byLocalHour[7] / days} vs night {night / days}");
        Assert.True(byLocalHour[19] > byLocalHour[13], "the evening peak is the day's highest");
        Assert.All(byLocalHour, wh => Assert.True(wh > 0));
    }

    [Fact]
    public void Profiles_are_deterministic_for_a_seed_and_differ_between_seeds()
    {
        ProfileSpec[] specs =
        [
            new SolarProfileSpec { Seed = 21, WeatherSeed = 22 },
            new WindProfileSpec { Seed = 21, WeatherSeed = 22 },
            new ConsumptionProfileSpec { Seed = 21, WeatherSeed = 22 },
        ];
        var start = DayStart(2025, 5, 1);
        foreach (var spec in specs)
        {
            var a = Series(spec.Create(2_000_000, Latitude, Longitude), start, 96 * 2);
            var b = Series(spec.Create(2_000_000, Latitude, Longitude), start, 96 * 2);
            Assert.Equal(a, b);

            // Evaluating in another order (a resumed meter, a mid-day start) gives the same values.
            var c = spec.Create(2_000_000, Latitude, Longitude);
            for (var i = (96 * 2) - 1; i >= 0; i--)
                Assert.Equal(a[i], c.EnergyWh(start + (i * Interval), Interval));

            var other = Series((spec with { Seed = 99, WeatherSeed = 98 }).Create(2_000_000, Latitude, Longitude), start, 96 * 2);
            Assert.NotEqual(a, other);
        }
    }

    [Fact]
    public void Energy_never_exceeds_capacity_times_interval_for_any_interval_length()
    {
        var profile = new SolarProfileSpec { Seed = 1, WeatherSeed = 1, PerformanceRatio = 1, MedianClearness = 0.99, CloudVariability = 0 }
            .Create(1_000, 0, 0);
        foreach (var seconds in new[] { 60, 300, 900, 3600 })
        {
            var start = DayStart(2025, 3, 20);
            foreach (var wh in Series(profile, start, 86400 / seconds, seconds))
                Assert.InRange(wh, 0UL, (ulong)(1_000 * seconds / 3600));
        }
    }

    [Fact]
    public void Invalid_parameters_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new WindProfileSpec { CutInSpeed = 13, RatedSpeed = 12 }.Create(1_000, 0, 0));
        Assert.Throws<ArgumentException>(() => new SolarProfileSpec { PerformanceRatio = 1.5 }.Create(1_000, 0, 0));
        Assert.Throws<ArgumentException>(() => new ConsumptionProfileSpec { Noise = -1 }.Create(1_000, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SolarProfileSpec().Create(0, 0, 0));
    }
}
