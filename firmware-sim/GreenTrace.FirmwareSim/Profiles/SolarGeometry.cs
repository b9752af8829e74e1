namespace GreenTrace.FirmwareSim.Profiles;

/// <summary>
/// Sun position from the standard textbook formulas (Spencer 1971 declination and equation of time,
/// hour angle from apparent solar time): accurate to a fraction of a degree, plenty for simulated PV.
/// </summary>
public static class SolarGeometry
{
    private const double Deg = Math.PI / 180.0;

    /// <summary>Solar elevation above the horizon in degrees (negative at night).</summary>
    public static double ElevationDegrees(double latitudeDegrees, double longitudeDegrees, double unixSeconds)
    {
        var (declination, equationOfTimeMinutes) = DeclinationAndEquationOfTime(unixSeconds);
        var utcHours = PositiveModulo(unixSeconds, 86400) / 3600.0;
        var solarTimeHours = utcHours + (longitudeDegrees / 15.0) + (equationOfTimeMinutes / 60.0);
        var hourAngle = 15.0 * (solarTimeHours - 12.0) * Deg;
        var lat = latitudeDegrees * Deg;
        var sinElevation = (Math.Sin(lat) * Math.Sin(declination)) + (Math.Cos(lat) * Math.Cos(declination) * Math.Cos(hourAngle));
        return Math.Asin(Math.Clamp(sinElevation, -1.0, 1.0)) / Deg;
    }

    public static double ElevationDegrees(double latitudeDegrees, double longitudeDegrees, DateTimeOffset time) =>
        ElevationDegrees(latitudeDegrees, longitudeDegrees, time.ToUnixTimeMilliseconds() / 1000.0);

    /// <summary>UTC time of local solar noon (sun due south/north) on the given day.</summary>
    public static DateTimeOffset SolarNoonUtc(double longitudeDegrees, DateOnly day)
    {
        var midday = new DateTimeOffset(day.ToDateTime(new TimeOnly(12, 0)), TimeSpan.Zero);
        var (_, equationOfTimeMinutes) = DeclinationAndEquationOfTime(midday.ToUnixTimeSeconds());
        var noonHours = 12.0 - (longitudeDegrees / 15.0) - (equationOfTimeMinutes / 60.0);
        return new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).AddHours(noonHours);
    }

    /// <summary>Declination in radians and equation of time in minutes (Spencer's Fourier series).</summary>
    private static (double Declination, double EquationOfTimeMinutes) DeclinationAndEquationOfTime(double unixSeconds)
    {
        var days = Math.Floor(unixSeconds / 86400.0);
        var date = DateTime.UnixEpoch.AddDays(days);
        var dayOfYear = date.DayOfYear;
        var daysInYear = DateTime.IsLeapYear(date.Year) ? 366.0 : 365.0;
        var hours = PositiveModulo(unixSeconds, 86400) / 3600.0;
        var gamma = 2 * Math.PI / daysInYear * (dayOfYear - 1 + ((hours - 12) / 24.0));
        var declination = 0.006918 - (0.399912 * Math.Cos(gamma)) + (0.070257 * Math.Sin(gamma))
            - (0.006758 * Math.Cos(2 * gamma)) + (0.000907 * Math.Sin(2 * gamma))
            - (0.002697 * Math.Cos(3 * gamma)) + (0.00148 * Math.Sin(3 * gamma));
        var equationOfTime = 229.18 * (0.000075 + (0.001868 * Math.Cos(gamma)) - (0.032077 * Math.Sin(gamma))
            - (0.014615 * Math.Cos(2 * gamma)) - (0.040849 * Math.Sin(2 * gamma)));
        return (declination, equationOfTime);
    }

    private static double PositiveModulo(double value, double modulus)
    {
        var r = value % modulus;
        return r < 0 ? r + modulus : r;
    }
}
