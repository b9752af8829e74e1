using System.Security.Cryptography;
using GreenTrace.Core.Readings;
using GreenTrace.FirmwareSim.Randomness;

namespace GreenTrace.FirmwareSim.Faults;

/// <summary>One message a meter's client publishes: whose topic it goes to, the bytes, and what fault (if any) it carries.</summary>
/// <param name="PublisherId">The meter whose MQTT client sends it (client id).</param>
/// <param name="TopicMeterId">The meter id in the topic it is published to.</param>
/// <param name="Fault">Null for the genuine reading.</param>
/// <param name="Reading">The reading the bytes encode, when they encode one.</param>
public sealed record MeterMessage(string PublisherId, string TopicMeterId, byte[] Payload, FaultKind? Fault, Reading? Reading);

/// <summary>
/// Decides, per meter and interval, which faults to add next to the genuine reading, and builds them.
/// Decisions are a pure function of (seed, meter id, interval start), so a run is reproducible whatever
/// the publishing concurrency, and faults never touch the meter's own sequence or register.
/// </summary>
public sealed class FaultInjector : IDisposable
{
    private readonly FaultOptions _options;
    private readonly ulong _seed;
    private readonly string[] _meterIds;
    private readonly ECDsa _impostorKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly Lock _impostorGate = new();

    public FaultInjector(FaultOptions options, ulong defaultSeed, IEnumerable<string> meterIds)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(meterIds);
        options.Validate();
        _options = options;
        _seed = Mix.Hash(options.Seed ?? defaultSeed, "faults");
        _meterIds = [.. meterIds];
    }

    /// <summary>
    /// The fault messages to publish after <paramref name="genuine"/> (which is not included).
    /// </summary>
    /// <param name="earlier">This meter's earlier genuine readings, oldest first, for replays.</param>
    public IReadOnlyList<MeterMessage> Inject(VirtualMeter meter, SignedReading genuine, IReadOnlyList<SignedReading> earlier)
    {
        ArgumentNullException.ThrowIfNull(meter);
        ArgumentNullException.ThrowIfNull(genuine);
        ArgumentNullException.ThrowIfNull(earlier);
        if (!_options.Any)
            return [];

        var rng = new SimRandom(Mix.Hash(_seed, Mix.HashString(meter.Id), unchecked((ulong)genuine.Reading.Start)));
        var messages = new List<MeterMessage>();
        foreach (var kind in FaultKinds.All)
        {
            // One draw per kind whatever the rates, so changing one rate does not reshuffle the others.
            var draw = rng.NextDouble();
            var detail = new SimRandom(rng.NextUInt64());
            if (draw >= _options.RateOf(kind))
                continue;
            var message = Build(kind, meter, genuine, earlier, detail);
            if (message is not null)
                messages.Add(message);
        }
        return messages;
    }

    private MeterMessage? Build(FaultKind kind, VirtualMeter meter, SignedReading genuine, IReadOnlyList<SignedReading> earlier, SimRandom rng)
    {
        var id = meter.Id;
        var reading = genuine.Reading;
        switch (kind)
        {
            case FaultKind.TamperedPayload:
                {
                    var bytes = (byte[])genuine.Encoded.Clone();
                    var payload = ReadingCodec.EncodePayload(reading);
                    var at = bytes.AsSpan().IndexOf(payload);
                    // Flip a bit inside the signed payload, so the COSE envelope still parses and only the signature can tell.
                    var index = at >= 0 ? at + rng.NextInt(payload.Length) : rng.NextInt(bytes.Length);
                    bytes[index] ^= (byte)(1 << rng.NextInt(8));
                    return new MeterMessage(id, id, bytes, kind, null);
                }
            case FaultKind.WrongKey:
                {
                    byte[] bytes;
                    lock (_impostorGate)
                        bytes = ReadingCodec.Sign(reading, _impostorKey);
                    return new MeterMessage(id, id, bytes, kind, reading);
                }
            case FaultKind.Garbage:
                {
                    var bytes = new byte[1 + rng.NextInt(256)];
                    for (var i = 0; i < bytes.Length; i++)
                        bytes[i] = (byte)rng.NextUInt64();
                    return new MeterMessage(id, id, bytes, kind, null);
                }
            case FaultKind.Duplicate:
                return new MeterMessage(id, id, genuine.Encoded, kind, reading);
            case FaultKind.Replay:
                {
                    if (earlier.Count == 0)
                        return null;
                    var old = earlier[rng.NextInt(earlier.Count)];
                    return new MeterMessage(id, id, old.Encoded, kind, old.Reading);
                }
            case FaultKind.MisalignedInterval:
                {
                    if (meter.IntervalSeconds < 2)
                        return null;
                    var shift = 1 + rng.NextInt(meter.IntervalSeconds - 1);
                    var misaligned = reading with { Start = reading.Start + shift, End = reading.End + shift };
                    return new MeterMessage(id, id, meter.SignDetached(misaligned), kind, misaligned);
                }
            case FaultKind.WrongTopic:
                {
                    if (_meterIds.Length < 2)
                        return null;
                    var other = _meterIds[rng.NextInt(_meterIds.Length)];
                    if (other == id)
                        other = _meterIds[(Array.IndexOf(_meterIds, other) + 1) % _meterIds.Length];
                    return new MeterMessage(id, other, genuine.Encoded, kind, reading);
                }
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
    }

    public void Dispose() => _impostorKey.Dispose();
}
