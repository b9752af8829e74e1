using System.Text;

namespace GreenTrace.FirmwareSim.Randomness;

/// <summary>
/// Counter-based randomness: every draw is a pure function of (seed, counter), so a value never depends
/// on how many draws happened before it, on thread scheduling, or on the .NET version's System.Random.
/// </summary>
internal static class Mix
{
    private const double TwoPi = 2 * Math.PI;

    public static ulong SplitMix(ulong x)
    {
        unchecked
        {
            x += 0x9E3779B97F4A7C15UL;
            x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
            x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
            return x ^ (x >> 31);
        }
    }

    public static ulong Hash(ulong seed, ulong a) => SplitMix(seed ^ SplitMix(a));

    public static ulong Hash(ulong seed, ulong a, ulong b) => Hash(Hash(seed, a), b);

    public static ulong Hash(ulong seed, long a) => Hash(seed, unchecked((ulong)a));

    public static ulong Hash(ulong seed, string label) => Hash(seed, HashString(label));

    /// <summary>FNV-1a over UTF-8, stable across runs and platforms unlike string.GetHashCode.</summary>
    public static ulong HashString(string s)
    {
        var hash = 0xCBF29CE484222325UL;
        foreach (var b in Encoding.UTF8.GetBytes(s))
        {
            hash ^= b;
            hash = unchecked(hash * 0x100000001B3UL);
        }
        return hash;
    }

    /// <summary>A double in [0, 1) from the top 53 bits.</summary>
    public static double Unit(ulong h) => (h >> 11) * (1.0 / (1UL << 53));

    public static double Unit(ulong seed, long counter) => Unit(Hash(seed, counter));

    /// <summary>A standard normal draw (Box–Muller) for (seed, counter).</summary>
    public static double Gaussian(ulong seed, long counter)
    {
        var h = Hash(seed, counter);
        var u1 = 1.0 - Unit(h); // (0, 1], so the log is finite
        var u2 = Unit(SplitMix(h));
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(TwoPi * u2);
    }
}

/// <summary>A small sequential generator (SplitMix64 stream) for one-off choices such as building a fleet.</summary>
internal sealed class SimRandom(ulong seed)
{
    private ulong _state = seed;

    public ulong NextUInt64()
    {
        _state = unchecked(_state + 0x9E3779B97F4A7C15UL);
        return Mix.SplitMix(_state);
    }

    public double NextDouble() => Mix.Unit(NextUInt64());

    /// <summary>Uniform in [0, maxExclusive).</summary>
    public int NextInt(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        return (int)(NextDouble() * maxExclusive);
    }

    public double NextDouble(double min, double max) => min + ((max - min) * NextDouble());

    /// <summary>Log-uniform, because plant sizes span orders of magnitude within a class.</summary>
    public double NextLogUniform(double min, double max) => Math.Exp(NextDouble(Math.Log(min), Math.Log(max)));

    public double NextGaussian()
    {
        var u1 = 1.0 - NextDouble();
        var u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
