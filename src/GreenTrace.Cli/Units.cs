using System.Globalization;

namespace GreenTrace.Cli;

/// <summary>Energy and power the way operators read them: the largest unit that keeps a number above one.</summary>
internal static class Units
{
    public static string Energy(ulong wh) => Scale(wh, "Wh");

    public static string Power(long w) => Scale(w, "W");

    private static string Scale(double value, string unit)
    {
        string[] prefixes = ["", "k", "M", "G", "T"];
        var i = 0;
        while (Math.Abs(value) >= 1000 && i < prefixes.Length - 1)
        {
            value /= 1000;
            i++;
        }
        return string.Create(CultureInfo.InvariantCulture, $"{value:0.###} {prefixes[i]}{unit}");
    }
}
