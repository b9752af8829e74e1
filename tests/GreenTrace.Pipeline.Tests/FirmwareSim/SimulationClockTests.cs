using GreenTrace.FirmwareSim;

namespace GreenTrace.Pipeline.Tests.FirmwareSim;

public class SimulationClockTests
{
    [Fact]
    public void A_day_plan_has_96_aligned_quarter_hours()
    {
        var plan = RunPlan.ForDay(new DateOnly(2025, 6, 21));
        var clock = new SimulationClock(plan, 900);
        Assert.Equal(96, plan.Intervals);
        Assert.Equal(new DateTimeOffset(2025, 6, 21, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds(), clock.IntervalStart(0));
        Assert.Equal(clock.IntervalStart(0) + (95 * 900), clock.IntervalStart(95));
        Assert.Equal(clock.IntervalStart(0) + 86400, clock.EndOfRun);
        Assert.Throws<ArgumentOutOfRangeException>(() => clock.IntervalStart(96));
    }

    [Fact]
    public void Speed_maps_interval_ends_to_real_time()
    {
        var start = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var paced = new SimulationClock(new RunPlan(start, 4, Speed: 900), 900);
        Assert.Equal(TimeSpan.FromSeconds(1), paced.DueAfter(0));
        Assert.Equal(TimeSpan.FromSeconds(4), paced.DueAfter(3));

        var realTime = new SimulationClock(new RunPlan(start, 4, Speed: 1), 900);
        Assert.Equal(TimeSpan.FromMinutes(15), realTime.DueAfter(0));

        var unpaced = new SimulationClock(new RunPlan(start, 4), 900);
        Assert.Equal(TimeSpan.Zero, unpaced.DueAfter(3));
        unpaced.Start();
        Assert.True(unpaced.WaitUntilDueAsync(3, TestContext.Current.CancellationToken).IsCompletedSuccessfully);
    }

    [Fact]
    public void Plans_must_be_aligned_and_sensible()
    {
        var aligned = new DateTimeOffset(2025, 1, 1, 10, 15, 0, TimeSpan.Zero);
        Assert.Throws<ArgumentException>(() => new SimulationClock(new RunPlan(aligned.AddMinutes(1), 4), 900));
        Assert.Throws<ArgumentException>(() => new SimulationClock(new RunPlan(aligned.AddMilliseconds(500), 4), 900));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SimulationClock(new RunPlan(aligned, 4, Speed: 0), 900));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SimulationClock(new RunPlan(aligned, 4), 700));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SimulationClock(new RunPlan(aligned, -1), 900));
        // An offset is just another way of writing the same instant.
        _ = new SimulationClock(new RunPlan(aligned.ToOffset(TimeSpan.FromHours(2)), 4), 900);
        Assert.Equal(aligned, RunPlan.AlignDown(aligned.AddSeconds(899), 900));
    }

    [Fact]
    public async Task A_paced_wait_can_be_cancelled()
    {
        var clock = new SimulationClock(new RunPlan(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero), 4, Speed: 1), 900);
        clock.Start();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var wait = clock.WaitUntilDueAsync(0, cts.Token);
        Assert.False(wait.IsCompleted);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait);
    }
}
