namespace GreenTrace.Core.Readings;

/// <summary>Interval rules every reading obeys, wherever it is checked.</summary>
public static class ReadingRules
{
    /// <summary>
    /// An interval must divide the hour so that no reading straddles two hourly certificates;
    /// 1, 5, 10, 15, 30 and 60 minutes are what meters actually use, but any divisor is valid.
    /// </summary>
    public static Rejection? CheckInterval(long start, long end)
    {
        if (start < 0 || end <= start)
            return new Rejection(ReadingReasons.IntervalOrder, $"interval end {end} is not after start {start}");
        var length = end - start;
        if (length > 3600 || 3600 % length != 0)
            return new Rejection(ReadingReasons.IntervalLength, $"interval length {length}s does not divide one hour");
        if (start % length != 0)
            return new Rejection(ReadingReasons.IntervalMisaligned, $"interval start {start} is not aligned to its length {length}s");
        return null;
    }
}
