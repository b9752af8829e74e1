using GreenTrace.FirmwareSim.Randomness;

namespace GreenTrace.FirmwareSim.Profiles;

/// <summary>
/// A unit-variance AR(1) (mean-reverting) process on a fixed 15-minute weather grid, evaluated as its
/// truncated moving-average form x_k = Σ w_j·ε_{k−j} with counter-based ε. The value at any time is
/// therefore a pure function of (seed, time): a meter resumed tomorrow, a replayed run and a run started
/// mid-day all see the same weather, and nothing a fault injector does can shift it.
/// </summary>
internal sealed class WeatherProcess
{
    public const int CellSeconds = 900;

    // Terms below this weight change the result by well under a watt-hour; the cap bounds the cost per draw.
    private const double NegligibleWeight = 1e-3;
    private const int MaxTerms = 4096;

    private readonly ulong _seed;
    private readonly double[] _weights;

    public WeatherProcess(ulong seed, double persistencePerHour)
    {
        if (!(persistencePerHour >= 0 && persistencePerHour < 1))
            throw new ArgumentOutOfRangeException(nameof(persistencePerHour), persistencePerHour, "persistence per hour must be in [0, 1)");
        _seed = seed;
        var phi = Math.Pow(persistencePerHour, CellSeconds / 3600.0);
        var terms = phi <= 0 ? 1 : (int)Math.Min(MaxTerms, Math.Ceiling(Math.Log(NegligibleWeight) / Math.Log(phi)));
        _weights = new double[Math.Max(1, terms)];
        var sumSquares = 0.0;
        for (var j = 0; j < _weights.Length; j++)
        {
            _weights[j] = Math.Pow(phi, j);
            sumSquares += _weights[j] * _weights[j];
        }
        // Rescaling after truncation keeps the marginal distribution exactly N(0, 1).
        var scale = 1.0 / Math.Sqrt(sumSquares);
        for (var j = 0; j < _weights.Length; j++)
            _weights[j] *= scale;
    }

    public static long Cell(double unixSeconds) => (long)Math.Floor(unixSeconds / CellSeconds);

    public double AtCell(long cell)
    {
        var sum = 0.0;
        for (var j = 0; j < _weights.Length; j++)
            sum += _weights[j] * Mix.Gaussian(_seed, cell - j);
        return sum;
    }

    public double At(double unixSeconds) => AtCell(Cell(unixSeconds));
}

/// <summary>
/// Rare events with a duration (gust fronts, calm spells) on the same grid, also a pure function of
/// (seed, time): an event starts in a cell with a fixed probability and lasts a random number of cells.
/// </summary>
internal sealed class EventProcess
{
    private readonly ulong _seed;
    private readonly double _startProbability;
    private readonly int _minCells;
    private readonly int _maxCells;

    public EventProcess(ulong seed, double eventsPerDay, int minCells, int maxCells)
    {
        if (!(eventsPerDay >= 0) || double.IsInfinity(eventsPerDay))
            throw new ArgumentOutOfRangeException(nameof(eventsPerDay), eventsPerDay, "events per day must be a non-negative number");
        ArgumentOutOfRangeException.ThrowIfLessThan(minCells, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCells, minCells);
        _seed = seed;
        _startProbability = Math.Min(1.0, eventsPerDay * WeatherProcess.CellSeconds / 86400.0);
        _minCells = minCells;
        _maxCells = maxCells;
    }

    /// <summary>The strength in [0, 1) of the event covering this cell, or 0 when none does.</summary>
    public double IntensityAtCell(long cell)
    {
        if (_startProbability <= 0)
            return 0;
        for (var back = 0; back < _maxCells; back++)
        {
            var start = cell - back;
            var h = Mix.Hash(_seed, start);
            if (Mix.Unit(h) >= _startProbability)
                continue;
            var duration = _minCells + (int)(Mix.SplitMix(h ^ 0xD1B54A32D192ED03UL) % (ulong)(_maxCells - _minCells + 1));
            if (back < duration)
                return 0.25 + (0.75 * Mix.Unit(Mix.SplitMix(h ^ 0x8CB92BA72F3D8DD7UL)));
        }
        return 0;
    }
}
