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

/// <summary>The faults to publish around one genuine reading.</summary>
/// <param name="Before">Published just before the genuine reading (a rollback claims the sequence number the genuine reading is about to take).</param>
/// <param name="After">Published just after it.</param>
public sealed record InjectedFaults(IReadOnlyList<MeterMessage> Before, IReadOnlyList<MeterMessage> After)
{
    public static InjectedFaults None { get; } = new([], []);

    public int Count => Before.Count + After.Count;

    public IEnumerable<MeterMessage> All => Before.Concat(After);
}

/// <summary>
/// Decides, per meter and interval, which faults to add next to the genuine reading, and builds them.
/// Decisions are a pure function of (seed, meter id, interval start), so a run is reproducible whatever
/// the publishing concurrency, and faults never touch the meter's own sequence or register.
/// </summary>
/// <remarks>
/// Every fault is built so that a gateway refuses it for one reason whatever it accepted before
/// (<see cref="FaultKinds.ExpectedGatewayOutcome"/>), and no fault is ever accepted, so none can make a later
/// genuine reading look like a conflict or a replay. A rollback takes the sequence number of the genuine reading it
/// is published just before; gateways that race each other may take that reading first and refuse the rollback as
/// a sequence conflict instead (<see cref="FaultOutcome.ConcurrentReason"/>).
/// </remarks>
public sealed class FaultInjector : IDisposable
{
    /// <summary>A skewed clock is at least this far ahead: far beyond any gateway's tolerance for drift (default 300 s).</summary>
    public static readonly TimeSpan MinClockSkew = TimeSpan.FromDays(1);

    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromDays(30);

    /// <summary>Rollbacks start after a meter's first readings (sequence numbers up to this one).</summary>
    public const ulong RollbackMinSequence = 16;

    /// <summary>How far ahead of the genuine reading a skewed reading's sequence number is (2^32: never reached by a real meter).</summary>
    public const ulong ClockSkewSequenceLead = 1UL << 32;

    private readonly FaultOptions _options;
    private readonly ulong _seed;
    private readonly string[] _meterIds;
    private readonly TimeProvider _time;
    private readonly ECDsa _impostorKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly Lock _impostorGate = new();

    /// <param name="time">The wall clock a skewed reading is dated against (the publisher's).</param>
    public FaultInjector(FaultOptions options, ulong defaultSeed, IEnumerable<string> meterIds, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(meterIds);
        options.Validate();
        _options = options;
        _seed = Mix.Hash(options.Seed ?? defaultSeed, "faults");
        _meterIds = [.. meterIds];
        _time = time ?? TimeProvider.System;
    }

    public FaultOptions Options => _options;

    /// <summary>A history to pass to <see cref="Inject"/> for one meter, sized for these options' replays.</summary>
    public FaultHistory NewHistory() => new(_options.ReplayMinAge);

    /// <summary>
    /// The fault messages to publish around <paramref name="genuine"/> (which is not included). Call
    /// <see cref="FaultHistory.Remember"/> with the genuine reading afterwards.
    /// </summary>
    public InjectedFaults Inject(VirtualMeter meter, SignedReading genuine, FaultHistory history)
    {
        ArgumentNullException.ThrowIfNull(meter);
        ArgumentNullException.ThrowIfNull(genuine);
        ArgumentNullException.ThrowIfNull(history);
        if (!_options.Any)
            return InjectedFaults.None;

        var rng = new SimRandom(Mix.Hash(_seed, Mix.HashString(meter.Id), unchecked((ulong)genuine.Reading.Start)));
        List<MeterMessage>? before = null, after = null;
        foreach (var kind in FaultKinds.All)
        {
            // One draw per kind whatever the rates, so changing one rate does not reshuffle the others.
            var draw = rng.NextDouble();
            var detail = new SimRandom(rng.NextUInt64());
            if (draw >= _options.RateOf(kind))
                continue;
            var message = Build(kind, meter, genuine, history, detail);
            if (message is null)
                continue;
            if (kind == FaultKind.CounterRollback)
                (before ??= []).Add(message);
            else
                (after ??= []).Add(message);
        }
        return before is null && after is null ? InjectedFaults.None : new InjectedFaults(before ?? [], after ?? []);
    }

    private MeterMessage? Build(FaultKind kind, VirtualMeter meter, SignedReading genuine, FaultHistory history, SimRandom rng)
    {
        var id = meter.Id;
        var reading = genuine.Reading;
        switch (kind)
        {
            case FaultKind.TamperedPayload:
                {
                    // Flipping the lowest bit of an unsigned integer never changes the length of its CBOR encoding, so the
                    // altered payload stays canonical and fits where the signed one was; start and end are left alone
                    // because an odd second would be caught as misaligned before the signature is checked.
                    var altered = rng.NextInt(3) switch
                    {
                        0 => reading with { EnergyWh = reading.EnergyWh ^ 1 },
                        1 => reading with { RegisterWh = reading.RegisterWh ^ 1 },
                        _ => reading with { Sequence = reading.Sequence ^ 1 },
                    };
                    var signed = ReadingCodec.EncodePayload(reading);
                    var replacement = ReadingCodec.EncodePayload(altered);
                    var bytes = (byte[])genuine.Encoded.Clone();
                    var at = bytes.AsSpan().IndexOf(signed);
                    if (at < 0 || replacement.Length != signed.Length)
                        throw new InvalidOperationException("the signed payload is not embedded in the reading's COSE bytes");
                    replacement.CopyTo(bytes, at);
                    return new MeterMessage(id, id, bytes, kind, altered);
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
                    // A first byte of CBOR major type 4 (array) or 6 (tag) could begin a COSE_Sign1 and, by a long
                    // chance, decode far enough to fail for another reason; any other type cannot.
                    while ((bytes[0] >> 5) is 4 or 6)
                        bytes[0] = (byte)rng.NextUInt64();
                    return new MeterMessage(id, id, bytes, kind, null);
                }
            case FaultKind.Duplicate:
                return new MeterMessage(id, id, genuine.Encoded, kind, reading);
            case FaultKind.Replay:
                {
                    var old = history.ReplayCandidate(reading.Sequence);
                    return old is null ? null : new MeterMessage(id, id, old.Encoded, kind, old.Reading);
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
            case FaultKind.ClockSkew:
                {
                    // A reading from a meter whose clock (and counter) jumped: correct energy and register, dated days
                    // ahead. Its sequence number is far beyond anything the meter will reach, so no gateway can compare
                    // it with a genuine reading of the same or a later number, whatever order gateways sharing the
                    // meter take its messages in (one that had already taken the next genuine reading would otherwise
                    // call it a sequence conflict, or an overlap): only the clock check can refuse it.
                    var length = meter.IntervalSeconds;
                    var range = (long)(MaxClockSkew - MinClockSkew).TotalSeconds;
                    var ahead = _time.GetUtcNow().ToUnixTimeSeconds() + (long)MinClockSkew.TotalSeconds + (long)(rng.NextDouble() * range);
                    // Aligned up, so the interval starts at least the minimum skew ahead and nothing but the clock is wrong.
                    var start = ahead + ((length - (ahead % length)) % length);
                    var skewed = reading with
                    {
                        Sequence = reading.Sequence + ClockSkewSequenceLead,
                        Start = start,
                        End = start + length,
                        RegisterWh = reading.RegisterWh + reading.EnergyWh,
                    };
                    return new MeterMessage(id, id, meter.SignDetached(skewed), kind, skewed);
                }
            case FaultKind.CounterRollback:
                {
                    // Built against the previous genuine reading and published before this one: it claims the interval
                    // and sequence number right after the previous reading, which has ended (so the clock check passes
                    // even in real time), with a register below its own interval's energy. No earlier reading of any
                    // meter is consistent with that, so the register check fails whatever the gateway last accepted.
                    // Not among a meter's first readings: a gateway can only refuse a rollback against an earlier
                    // reading of the meter, and gateways racing each other on a fresh store could otherwise meet the
                    // rollback before any of them has recorded one.
                    if (history.Previous is not { } previous || reading.Sequence <= RollbackMinSequence)
                        return null;
                    var last = previous.Reading;
                    var energy = Math.Max(1UL, reading.EnergyWh);
                    var rolledBack = new Reading(id, last.Sequence + 1, last.End, last.End + meter.IntervalSeconds, energy,
                        rng.NextUInt64() % energy, reading.Direction, ReadingQuality.Measured);
                    return new MeterMessage(id, id, meter.SignDetached(rolledBack), kind, rolledBack);
                }
            case FaultKind.Oversized:
                {
                    // The genuine envelope with filler after it: past the size limit, and not a decodable reading even
                    // where the limit is raised, so it can never be accepted.
                    var size = _options.OversizedMinBytes + rng.NextInt(_options.OversizedMaxBytes - _options.OversizedMinBytes + 1);
                    var bytes = new byte[Math.Max(size, genuine.Encoded.Length + 1)];
                    genuine.Encoded.CopyTo(bytes, 0);
                    for (var i = genuine.Encoded.Length; i < bytes.Length; i++)
                        bytes[i] = (byte)rng.NextUInt64();
                    return new MeterMessage(id, id, bytes, kind, null);
                }
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
    }

    public void Dispose() => _impostorKey.Dispose();
}
