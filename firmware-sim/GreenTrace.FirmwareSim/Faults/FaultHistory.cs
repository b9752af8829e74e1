namespace GreenTrace.FirmwareSim.Faults;

/// <summary>
/// What the injector remembers of one meter's genuine readings: the previous one (a rollback is built against it)
/// and a few old ones to replay. Only readings generated in this process count; it is not persisted.
/// </summary>
public sealed class FaultHistory
{
    private readonly Queue<SignedReading> _stock = new();
    private readonly int _minAge;
    private readonly int _step;

    /// <param name="replayMinAge">A replay candidate is at least this many readings older than the reading it follows.</param>
    public FaultHistory(int replayMinAge)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(replayMinAge, 1);
        _minAge = replayMinAge;
        // Keeping every reading until it is old enough would cost a few hundred bytes per reading per meter; a
        // sample every quarter of the age keeps at most five, and a replay need not be of one particular reading.
        _step = Math.Max(1, replayMinAge / 4);
    }

    /// <summary>The meter's last genuine reading before the one being published now, if this process saw it.</summary>
    public SignedReading? Previous { get; private set; }

    /// <summary>Records a genuine reading once it has been queued for publishing.</summary>
    public void Remember(SignedReading reading)
    {
        ArgumentNullException.ThrowIfNull(reading);
        Previous = reading;
        if (reading.Reading.Sequence % (ulong)_step == 0)
            _stock.Enqueue(reading);
        // Drop stock that a younger candidate has made redundant: keep one reading at or past the age, and those younger.
        while (_stock.Count >= 2 && Age(_stock.ElementAt(1), reading.Reading.Sequence) >= (ulong)_minAge)
            _stock.Dequeue();
    }

    /// <summary>The youngest remembered reading at least the minimum age older than <paramref name="sequence"/>, if any.</summary>
    public SignedReading? ReplayCandidate(ulong sequence)
    {
        SignedReading? candidate = null;
        foreach (var old in _stock)
        {
            if (old.Reading.Sequence < sequence && Age(old, sequence) >= (ulong)_minAge)
                candidate = old;
        }
        return candidate;
    }

    private static ulong Age(SignedReading old, ulong sequence) => sequence - old.Reading.Sequence;
}
