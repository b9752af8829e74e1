namespace GreenTrace.FirmwareSim;

/// <summary>What to simulate: which intervals, and how fast.</summary>
/// <param name="Start">First interval start (UTC instant), aligned to the fleet's interval length.</param>
/// <param name="Intervals">How many consecutive intervals (one day of 15-minute intervals = 96).</param>
/// <param name="Speed">Simulated seconds per real second; null publishes as fast as the broker acknowledges.</param>
public sealed record RunPlan(DateTimeOffset Start, int Intervals, double? Speed = null)
{
    /// <summary>
    /// Simulated time is the wall clock: each interval is published when it has really ended. A start in the past
    /// catches up as fast as the broker takes it, then follows the clock.
    /// </summary>
    public bool FollowsWallClock { get; init; }

    /// <summary>A real-time run from <paramref name="start"/> (e.g. the current interval, <see cref="AlignDown"/> of now).</summary>
    public static RunPlan RealTime(DateTimeOffset start, int intervals) => new(start, intervals, Speed: 1) { FollowsWallClock = true };

    /// <summary>A whole UTC day.</summary>
    public static RunPlan ForDay(DateOnly day, int intervalSeconds = 900, double? speed = null) =>
        new(new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero), 86400 / intervalSeconds, speed);

    /// <summary>The start of the interval containing <paramref name="time"/>, e.g. to start a live run "now".</summary>
    public static DateTimeOffset AlignDown(DateTimeOffset time, int intervalSeconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(intervalSeconds);
        var seconds = time.ToUnixTimeSeconds();
        return DateTimeOffset.FromUnixTimeSeconds(seconds - (((seconds % intervalSeconds) + intervalSeconds) % intervalSeconds));
    }
}

/// <summary>
/// Maps a <see cref="RunPlan"/> onto real time. A reading exists only once its interval has ended, so
/// with a speed the clock releases interval t when simulated time passes its end; without one it never waits.
/// </summary>
public sealed class SimulationClock
{
    private readonly TimeProvider _time;
    private long _startedAt;

    public SimulationClock(RunPlan plan, int intervalSeconds, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (intervalSeconds <= 0 || intervalSeconds > 3600 || 3600 % intervalSeconds != 0)
            throw new ArgumentOutOfRangeException(nameof(intervalSeconds), intervalSeconds, "the interval must divide one hour");
        if (plan.Start.ToUnixTimeSeconds() < 0 || plan.Start.ToUnixTimeMilliseconds() % (intervalSeconds * 1000L) != 0)
            throw new ArgumentException($"run start {plan.Start:o} is not aligned to the {intervalSeconds}s interval", nameof(plan));
        ArgumentOutOfRangeException.ThrowIfNegative(plan.Intervals);
        if (plan.Speed is { } speed && !(double.IsFinite(speed) && speed > 0))
            throw new ArgumentOutOfRangeException(nameof(plan), speed, "speed must be a positive number of simulated seconds per real second");
        if (plan.FollowsWallClock && plan.Speed != 1)
            throw new ArgumentException("a run that follows the wall clock runs at speed 1", nameof(plan));
        Plan = plan;
        IntervalSeconds = intervalSeconds;
        _time = timeProvider ?? TimeProvider.System;
    }

    public RunPlan Plan { get; }

    public int IntervalSeconds { get; }

    public long FirstIntervalStart => Plan.Start.ToUnixTimeSeconds();

    /// <summary>The end of the last interval of the plan.</summary>
    public long EndOfRun => FirstIntervalStart + ((long)Plan.Intervals * IntervalSeconds);

    public long IntervalStart(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Plan.Intervals);
        return FirstIntervalStart + ((long)index * IntervalSeconds);
    }

    /// <summary>Real time after <see cref="Start"/> when interval <paramref name="index"/> has ended in simulated time.</summary>
    public TimeSpan DueAfter(int index) =>
        Plan.Speed is { } speed ? TimeSpan.FromSeconds((index + 1.0) * IntervalSeconds / speed) : TimeSpan.Zero;

    /// <summary>Marks the real-time origin of the run: now, or for a wall-clock run the moment the plan starts (which may be past).</summary>
    public void Start()
    {
        _startedAt = _time.GetTimestamp();
        if (Plan.FollowsWallClock)
        {
            var since = _time.GetUtcNow() - Plan.Start;
            _startedAt -= (long)(since.TotalSeconds * _time.TimestampFrequency);
        }
    }

    /// <summary>How far real time is behind schedule for an interval (zero when on time or unpaced).</summary>
    public TimeSpan Lag(int index)
    {
        if (Plan.Speed is null)
            return TimeSpan.Zero;
        var late = _time.GetElapsedTime(_startedAt) - DueAfter(index);
        return late > TimeSpan.Zero ? late : TimeSpan.Zero;
    }

    /// <summary>Waits until interval <paramref name="index"/> is due; returns at once when the plan has no speed.</summary>
    public async Task WaitUntilDueAsync(int index, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (Plan.Speed is null)
            return;
        var remaining = DueAfter(index) - _time.GetElapsedTime(_startedAt);
        if (remaining > TimeSpan.Zero)
            await Task.Delay(remaining, _time, cancellationToken).ConfigureAwait(false);
    }
}
