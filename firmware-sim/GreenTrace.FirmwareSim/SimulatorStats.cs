using GreenTrace.FirmwareSim.Faults;

namespace GreenTrace.FirmwareSim;

/// <summary>
/// Live counters of a simulator run, safe to read from any thread while it runs (a progress display
/// polls <see cref="Snapshot"/>). Message counters include fault messages; reading counters only genuine ones.
/// </summary>
public sealed class SimulatorStats
{
    private readonly long[] _faults = new long[FaultKinds.All.Count];
    private long _intervalsCompleted;
    private long _lastIntervalStart = -1;
    private long _readingsGenerated;
    private long _readingsSent;
    private long _messagesSent;
    private long _acknowledged;
    private long _refusedByBroker;
    private long _retries;
    private long _publishFailures;
    private long _connectFailures;
    private long _buffered;
    private long _droppedFromBuffer;
    private long _recoveredFromBuffer;
    private long _lagMilliseconds;

    private readonly Func<long> _metersOnline;

    /// <param name="metersOnline">Counts connected meters when asked, so the figure is never stale or drifted by missed events.</param>
    public SimulatorStats(int metersTotal, Func<long>? metersOnline = null)
    {
        MetersTotal = metersTotal;
        _metersOnline = metersOnline ?? (() => 0);
    }

    public int MetersTotal { get; }

    public long MetersOnline => _metersOnline();

    public long IntervalsCompleted => Interlocked.Read(ref _intervalsCompleted);

    /// <summary>Start (Unix seconds) of the last interval published for all meters, or null before the first.</summary>
    public long? LastIntervalStart => Interlocked.Read(ref _lastIntervalStart) is var v && v >= 0 ? v : null;

    /// <summary>Genuine readings the meters produced.</summary>
    public long ReadingsGenerated => Interlocked.Read(ref _readingsGenerated);

    /// <summary>Genuine readings published (at least once).</summary>
    public long ReadingsSent => Interlocked.Read(ref _readingsSent);

    /// <summary>All messages published (at least once): genuine readings and faults.</summary>
    public long MessagesSent => Interlocked.Read(ref _messagesSent);

    /// <summary>Messages the broker acknowledged with a success code (including "no matching subscribers").</summary>
    public long Acknowledged => Interlocked.Read(ref _acknowledged);

    /// <summary>Messages the broker answered with a failure reason code (e.g. NotAuthorized); never retried.</summary>
    public long RefusedByBroker => Interlocked.Read(ref _refusedByBroker);

    /// <summary>Reconnect attempts made, with backoff, after a meter lost the broker.</summary>
    public long Retries => Interlocked.Read(ref _retries);

    /// <summary>Times a meter lost the broker (connect failed, connection broke, no PUBACK in time) with messages to send.</summary>
    public long PublishFailures => Interlocked.Read(ref _publishFailures);

    public long ConnectFailures => Interlocked.Read(ref _connectFailures);

    /// <summary>Messages waiting in meters' buffers right now.</summary>
    public long Buffered => Interlocked.Read(ref _buffered);

    /// <summary>Messages lost because a meter's buffer overflowed while it was offline.</summary>
    public long DroppedFromBuffer => Interlocked.Read(ref _droppedFromBuffer);

    /// <summary>Messages an earlier run left in the on-disk buffer, found at start and sent before new readings.</summary>
    public long RecoveredFromBuffer => Interlocked.Read(ref _recoveredFromBuffer);

    /// <summary>How far a paced run is behind its schedule.</summary>
    public TimeSpan Lag => TimeSpan.FromMilliseconds(Interlocked.Read(ref _lagMilliseconds));

    public long FaultsInjected(FaultKind kind) => Interlocked.Read(ref _faults[(int)kind]);

    public long FaultsTotal => FaultKinds.All.Sum(FaultsInjected);

    public SimulatorStatsSnapshot Snapshot() => new(
        MetersTotal,
        MetersOnline,
        IntervalsCompleted,
        LastIntervalStart,
        ReadingsGenerated,
        ReadingsSent,
        MessagesSent,
        Acknowledged,
        RefusedByBroker,
        Retries,
        PublishFailures,
        ConnectFailures,
        Buffered,
        DroppedFromBuffer,
        RecoveredFromBuffer,
        Lag,
        FaultKinds.All.ToDictionary(k => k, FaultsInjected));

    internal void IntervalCompleted(long intervalStart)
    {
        Interlocked.Exchange(ref _lastIntervalStart, intervalStart);
        Interlocked.Increment(ref _intervalsCompleted);
    }

    internal void ReadingGenerated() => Interlocked.Increment(ref _readingsGenerated);

    internal void FaultInjected(FaultKind kind) => Interlocked.Increment(ref _faults[(int)kind]);

    internal void MessageSent(bool genuine)
    {
        Interlocked.Increment(ref _messagesSent);
        if (genuine)
            Interlocked.Increment(ref _readingsSent);
    }

    internal void MessageAcknowledged() => Interlocked.Increment(ref _acknowledged);

    internal void MessageRefused() => Interlocked.Increment(ref _refusedByBroker);

    internal void Retry() => Interlocked.Increment(ref _retries);

    internal void PublishFailed() => Interlocked.Increment(ref _publishFailures);

    internal void ConnectFailed() => Interlocked.Increment(ref _connectFailures);

    internal void BufferChanged(long delta) => Interlocked.Add(ref _buffered, delta);

    internal void BufferOverflow(long count = 1) => Interlocked.Add(ref _droppedFromBuffer, count);

    internal void BufferRecovered(long count)
    {
        Interlocked.Add(ref _recoveredFromBuffer, count);
        Interlocked.Add(ref _buffered, count);
    }

    internal void SetLag(TimeSpan lag) => Interlocked.Exchange(ref _lagMilliseconds, (long)lag.TotalMilliseconds);
}

/// <summary>A consistent-enough copy of the counters for display (each value is read atomically).</summary>
public sealed record SimulatorStatsSnapshot(
    int MetersTotal,
    long MetersOnline,
    long IntervalsCompleted,
    long? LastIntervalStart,
    long ReadingsGenerated,
    long ReadingsSent,
    long MessagesSent,
    long Acknowledged,
    long RefusedByBroker,
    long Retries,
    long PublishFailures,
    long ConnectFailures,
    long Buffered,
    long DroppedFromBuffer,
    long RecoveredFromBuffer,
    TimeSpan Lag,
    IReadOnlyDictionary<FaultKind, long> FaultsInjected);
