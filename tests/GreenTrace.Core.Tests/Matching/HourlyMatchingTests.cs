using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using GreenTrace.Core.Matching;

namespace GreenTrace.Core.Tests.Matching;

public sealed class HourlyMatchingTests
{
    private const long H = 1_700_002_800; // a whole UTC hour

    [Fact]
    public void EachHourMatchesOnlyItsOwnClaimsAndASurplusIsNotCarriedToAnotherHour()
    {
        var report = HourlyMatching.Compute(
            consumption: [(H, 1000), (H + 3600, 800), (H + 7200, 500)],
            claimed: [(H, 1500), (H + 3600, 300), (H + 10_800, 40)]).Value;

        Assert.Equal(
            [new MatchedHour(H, 1000, 1500, 1000), new MatchedHour(H + 3600, 800, 300, 300), new MatchedHour(H + 7200, 500, 0, 0), new MatchedHour(H + 10_800, 0, 40, 0)],
            report.Hours);
        Assert.Equal(500, report.Hours[0].ExcessWh);
        // Annual netting would call 1840 of 2300 Wh green (80%); hour by hour only 1300 are.
        Assert.Equal(new MatchingTotals(2300, 1840, 1300, 1300.0 / 2300), report.Totals);
    }

    [Fact]
    public void AmountsForTheSameHourAddUp()
    {
        var report = HourlyMatching.Compute([(H, 100), (H, 200)], [(H, 50), (H, 50), (H, 500)]).Value;

        Assert.Equal([new MatchedHour(H, 300, 600, 300)], report.Hours);
        Assert.Equal(1.0, report.Totals.Score);
    }

    [Fact]
    public void WithoutConsumptionThereIsNoScore()
    {
        var report = HourlyMatching.Compute([], [(H, 10)]).Value;

        Assert.Null(report.Totals.Score);
        Assert.Equal(new MatchingTotals(0, 10, 0, null), report.Totals);
        Assert.Empty(HourlyMatching.Compute([], []).Value.Hours);
    }

    [Fact]
    public void AnHourNotOnAWholeUtcHourOrANegativeAmountIsRefused()
    {
        var misaligned = HourlyMatching.Compute([(H + 900, 10)], []);
        var negative = HourlyMatching.Compute([], [(H, -1)]);

        Assert.Equal("matching-input", misaligned.Error?.Code);
        Assert.Contains("consumption", misaligned.Error!.Message, StringComparison.Ordinal);
        Assert.Equal("matching-input", negative.Error?.Code);
        Assert.Contains("claims", negative.Error!.Message, StringComparison.Ordinal);
    }

    [Property(MaxTest = 200)]
    public Property MatchedNeverExceedsEitherSideAndTheScoreIsAShare(NonNegativeInt[] consumed, NonNegativeInt[] claimed)
    {
        // Few distinct hours, so hours collide and amounts add up.
        var c = consumed.Select((wh, i) => (H + (i % 5 * 3600), (long)wh.Get)).ToList();
        var g = claimed.Select((wh, i) => (H + (i % 7 * 3600), (long)wh.Get)).ToList();
        var report = HourlyMatching.Compute(c, g).Value;
        var t = report.Totals;
        return (t.MatchedWh <= Math.Min(t.ConsumptionWh, t.ClaimedWh)
            && t.ConsumptionWh == c.Sum(x => x.Item2)
            && t.ClaimedWh == g.Sum(x => x.Item2)
            && report.Hours.All(h => h.MatchedWh == Math.Min(h.ConsumptionWh, h.ClaimedWh))
            && report.Hours.Select(h => h.Hour).SequenceEqual(report.Hours.Select(h => h.Hour).Order().Distinct())
            && (t.ConsumptionWh == 0 ? t.Score is null : t.Score is >= 0 and <= 1)).ToProperty();
    }
}
