using System.Security.Cryptography;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Readings;

namespace GreenTrace.Pipeline.Tests.Support;

/// <summary>A meter for tests: its own P-256 key, its registration, and readings signed as firmware signs them.</summary>
public sealed class TestMeter : IDisposable
{
    public const long DefaultCapacityW = 4000;
    public const string Zone = "DE-LU";

    public TestMeter(string id, EnergyDirection direction = EnergyDirection.Generation, long capacityW = DefaultCapacityW)
    {
        Id = id;
        Key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Device = new DeviceInfo(id, Key.ExportSubjectPublicKeyInfo(), direction, "solar", "photovoltaic", capacityW, Zone, "DE", 52_520_000, 13_405_000);
    }

    public string Id { get; }

    public ECDsa Key { get; }

    public DeviceInfo Device { get; }

    public string Topic => TopicRules.ReadingsTopic(Id);

    public Reading Reading(ulong sequence, long start, ulong wh, ulong register, long intervalSeconds = 900, EnergyDirection? direction = null, ReadingQuality quality = ReadingQuality.Measured) =>
        new(Id, sequence, start, start + intervalSeconds, wh, register, direction ?? Device.Direction, quality);

    public byte[] Sign(Reading reading) => ReadingCodec.Sign(reading, Key);

    /// <summary>Signs with a key that is not this meter's: a forgery that decodes cleanly.</summary>
    public byte[] Forge(Reading reading)
    {
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return ReadingCodec.Sign(reading, other);
    }

    public static DecodedReading Decode(byte[] encoded)
    {
        var decoded = ReadingCodec.Decode(encoded);
        Assert.True(decoded.IsOk, decoded.ToString());
        return decoded.Value;
    }

    public void Dispose() => Key.Dispose();
}

/// <summary>One meter's consecutive readings: sequence numbers, aligned intervals and a register that adds up.</summary>
public sealed class ReadingSeries(TestMeter meter, long firstStart, ulong firstSequence = 1, ulong register = 1_000_000, long intervalSeconds = 900)
{
    private long _nextStart = firstStart;
    private ulong _nextSequence = firstSequence;
    private ulong _register = register;

    public TestMeter Meter => meter;

    public (Reading Reading, byte[] Encoded) Next(ulong wh)
    {
        _register += wh;
        var reading = meter.Reading(_nextSequence++, _nextStart, wh, _register, intervalSeconds);
        _nextStart += intervalSeconds;
        return (reading, meter.Sign(reading));
    }
}
