namespace GreenTrace.Core.Matching;

/// <summary>One hour of a buyer's matching: what they consumed, what they claimed of that hour's production, and the overlap.</summary>
public sealed record MatchedHour(long Hour, long ConsumptionWh, long ClaimedWh, long MatchedWh)
{
    /// <summary>Claimed beyond the hour's consumption: it matches nothing, since another hour's surplus cannot cover this one.</summary>
    public long ExcessWh => ClaimedWh - MatchedWh;
}

/// <param name="Score">The 24/7 carbon-free score: matched Wh over consumed Wh, or null when nothing was consumed.</param>
public sealed record MatchingTotals(long ConsumptionWh, long ClaimedWh, long MatchedWh, double? Score);

public sealed record MatchingReport(IReadOnlyList<MatchedHour> Hours, MatchingTotals Totals);

/// <summary>
/// Hourly (24/7) matching, as EnergyTag and the 24/7 Carbon-Free Energy Compact define it: in each hour the
/// consumption counts as clean only up to the certificates claimed for that same hour of production. An hour's
/// surplus is not carried to another hour, which is what sets hourly matching apart from annual netting.
/// </summary>
public static class HourlyMatching
{
    public const long Hour = 3600;

    /// <summary>
    /// Matches per hour. Every hour must be aligned (a multiple of 3600 seconds since the epoch); amounts for the
    /// same hour are added up. Hours with consumption or claims appear, in order.
    /// </summary>
    public static Result<MatchingReport> Compute(IEnumerable<(long Hour, long Wh)> consumption, IEnumerable<(long Hour, long Wh)> claimed)
    {
        ArgumentNullException.ThrowIfNull(consumption);
        ArgumentNullException.ThrowIfNull(claimed);
        var hours = new SortedDictionary<long, (long Consumed, long Claimed)>();
        foreach (var (hour, wh) in consumption)
        {
            if (Invalid(hour, wh) is { } error)
                return Result<MatchingReport>.Fail("matching-input", $"consumption: {error}");
            var h = hours.GetValueOrDefault(hour);
            hours[hour] = (checked(h.Consumed + wh), h.Claimed);
        }
        foreach (var (hour, wh) in claimed)
        {
            if (Invalid(hour, wh) is { } error)
                return Result<MatchingReport>.Fail("matching-input", $"claims: {error}");
            var h = hours.GetValueOrDefault(hour);
            hours[hour] = (h.Consumed, checked(h.Claimed + wh));
        }
        var list = new List<MatchedHour>(hours.Count);
        long consumed = 0, claimedTotal = 0, matched = 0;
        foreach (var (hour, (c, g)) in hours)
        {
            var m = Math.Min(c, g);
            list.Add(new MatchedHour(hour, c, g, m));
            consumed = checked(consumed + c);
            claimedTotal = checked(claimedTotal + g);
            matched = checked(matched + m);
        }
        double? score = consumed == 0 ? null : (double)matched / consumed;
        return Result<MatchingReport>.Ok(new MatchingReport(list, new MatchingTotals(consumed, claimedTotal, matched, score)));
    }

    private static string? Invalid(long hour, long wh) =>
        hour % Hour != 0 ? $"hour {hour} is not aligned to a whole UTC hour"
        : wh < 0 ? $"negative energy {wh} Wh in hour {hour}"
        : null;
}
