using System.Collections.Concurrent;
using GreenTrace.Core.Readings;

namespace GreenTrace.Gateway.Store;

/// <summary>
/// A bounded in-memory history: the latest reading and the last <c>window</c> sequence numbers per
/// meter. For a single gateway in one process (the embedded pipeline); it is lost on restart.
/// </summary>
public sealed class InMemoryMeterHistory : IMeterHistory
{
    private readonly int _window;
    private readonly ConcurrentDictionary<string, MeterHistory> _meters = new(StringComparer.Ordinal);

    public InMemoryMeterHistory(int window)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(window);
        _window = window;
    }

    public Reading? LastAccepted(string meterId)
    {
        if (!_meters.TryGetValue(meterId, out var history))
            return null;
        lock (history)
            return history.Last;
    }

    public Reading? FindAccepted(string meterId, ulong sequence)
    {
        if (!_meters.TryGetValue(meterId, out var history))
            return null;
        lock (history)
            return history.Recent.GetValueOrDefault(sequence);
    }

    public (Reading? Before, Reading? After) Neighbours(string meterId, ulong sequence)
    {
        if (!_meters.TryGetValue(meterId, out var history))
            return (null, null);
        lock (history)
        {
            Reading? before = null, after = null;
            foreach (var (seq, reading) in history.Recent)
            {
                if (seq < sequence)
                    before = reading;
                else if (seq > sequence)
                {
                    after = reading;
                    break;
                }
            }
            return (before, after);
        }
    }

    public ulong CompleteFrom(string meterId)
    {
        if (!_meters.TryGetValue(meterId, out var history))
            return 0;
        lock (history)
            return history.Evicted ? history.Recent.Keys.First() : 0;
    }

    /// <summary>Records <paramref name="reading"/> if the meter's last sequence is still <paramref name="expectedLastSequence"/>.</summary>
    public bool TryRecord(Reading reading, ulong? expectedLastSequence)
    {
        ArgumentNullException.ThrowIfNull(reading);
        var history = _meters.GetOrAdd(reading.MeterId, _ => new MeterHistory());
        lock (history)
        {
            if (history.Last?.Sequence != expectedLastSequence || history.Recent.ContainsKey(reading.Sequence))
                return false;
            // A late reading older than everything remembered would be evicted at once; the validator never accepts one.
            if (history.Last is null || reading.Sequence > history.Last.Sequence)
                history.Last = reading;
            history.Recent[reading.Sequence] = reading;
            while (history.Recent.Count > _window)
            {
                history.Recent.Remove(history.Recent.Keys.First());
                history.Evicted = true;
            }
            return true;
        }
    }

    private sealed class MeterHistory
    {
        public Reading? Last { get; set; }

        public bool Evicted { get; set; }

        public SortedDictionary<ulong, Reading> Recent { get; } = [];
    }
}
