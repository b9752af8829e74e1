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

    /// <summary>A clock whose wall time and monotonic timestamp move only when the test says.</summary>
    private sealed class SteppedTime(DateTimeOffset now) : TimeProvider
    {
        private long _ticks;

        public DateTimeOffset Now { get; private set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;

        public override long GetTimestamp() => _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public void Advance(TimeSpan by)
        {
            Now += by;
            _ticks += by.Ticks;
        }
    }

    [Fact]
    public void A_real_time_run_releases_each_interval_when_it_has_really_ended()
    {
        // Seven minutes into the 12:00 interval: it is due at 12:15, eight minutes from now.
        var time = new SteppedTime(new DateTimeOffset(2025, 1, 1, 12, 7, 0, TimeSpan.Zero));
        var start = RunPlan.AlignDown(time.GetUtcNow(), 900);
        var clock = new SimulationClock(RunPlan.RealTime(start, 8), 900, time);
        clock.Start();
        Assert.True(clock.WaitUntilDueAsync(0, TestContext.Current.CancellationToken) is { IsCompleted: false });
        time.Advance(TimeSpan.FromMinutes(8));
        Assert.True(clock.WaitUntilDueAsync(0, TestContext.Current.CancellationToken).IsCompletedSuccessfully);
        Assert.Equal(TimeSpan.Zero, clock.Lag(0));

        // Started two hours late, it catches up at once and reports how far behind it is.
        var late = new SimulationClock(RunPlan.RealTime(start.AddHours(-2), 12), 900, time);
        late.Start();
        Assert.True(late.WaitUntilDueAsync(0, TestContext.Current.CancellationToken).IsCompletedSuccessfully);
        Assert.Equal(TimeSpan.FromMinutes(120 + 15 - 15), late.Lag(0));
        Assert.Throws<ArgumentException>(() => new SimulationClock(new RunPlan(start, 4, Speed: 60) { FollowsWallClock = true }, 900));
    }
}
