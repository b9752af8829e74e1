using GreenTrace.Core;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Readings;
using GreenTrace.Gateway.Store;

namespace GreenTrace.Gateway;

public enum Verdict
{
    Accepted,
    Rejected,

    /// <summary>A reading already accepted, delivered again (QoS 1 redelivery, a meter resending): dropped and counted, not an error.</summary>
    Duplicate,
}

/// <param name="LastSequence">For an accepted reading, the meter's last accepted sequence it was checked against (null: none yet).</param>
public sealed record ValidationOutcome(Verdict Verdict, string? MeterId, DecodedReading? Reading, Rejection? Rejection, ulong? LastSequence = null)
{
    public static ValidationOutcome Reject(string code, string message, string? meterId = null) =>
        new(Verdict.Rejected, meterId, null, new Rejection(code, message));

    public static ValidationOutcome Reject(Rejection rejection, string? meterId = null) =>
        new(Verdict.Rejected, meterId, null, rejection);
}

/// <summary>
/// Every check a reading passes before it enters the pipeline, in a fixed order so the reason
/// code is predictable: size, decoding, known meter, topic = kid = meter, signature, sequence,
/// interval, clock, energy, register. Validation reads the meter's history and changes nothing: the
/// store records an accepted reading only once it is durable, and only if the history is still the one
/// validated against (<see cref="ValidationOutcome.LastSequence"/>), so a reading whose hand-off failed
/// is not mistaken for a duplicate when redelivered, and two gateways cannot both accept one reading.
/// A reading accepted within the last <see cref="GatewayOptions.DuplicateWindow"/> sequence numbers
/// that arrives again is a duplicate; an older one is a replay. A reading never accepted that is older
/// than the meter's latest arrived late, and is accepted if it fits between its accepted neighbours.
/// </summary>
public sealed class ReadingValidator
{
    private readonly IDeviceDirectory _devices;
    private readonly GatewayOptions _options;
    private readonly IMeterHistory _history;
    private readonly TimeProvider _time;

    public ReadingValidator(IDeviceDirectory devices, GatewayOptions options, IMeterHistory history, TimeProvider? time = null)
    {
        _devices = devices ?? throw new ArgumentNullException(nameof(devices));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _history = history ?? throw new ArgumentNullException(nameof(history));
        _time = time ?? TimeProvider.System;
    }

    public ValidationOutcome Validate(string topic, ReadOnlyMemory<byte> payload)
    {
        var topicMeter = TopicRules.MeterOfTopic(topic);
        if (payload.Length > _options.MaxReadingBytes)
            return ValidationOutcome.Reject(GatewayReasons.SizeLimit, $"{payload.Length} bytes exceeds the {_options.MaxReadingBytes}-byte limit", topicMeter);
        if (topicMeter is null)
            return ValidationOutcome.Reject(GatewayReasons.TopicInvalid, $"'{topic}' is not a readings topic");

        var decoded = ReadingCodec.Decode(payload);
        if (!decoded.IsOk)
            return ValidationOutcome.Reject(decoded.Error, topicMeter);
        var reading = decoded.Value.Reading;

        var device = _devices.Find(reading.MeterId);
        var key = _devices.FindKey(reading.MeterId);
        if (device is null || key is null)
            return ValidationOutcome.Reject(GatewayReasons.MeterUnknown, $"meter '{reading.MeterId}' is not registered", topicMeter);
        if (reading.MeterId != topicMeter)
            return ValidationOutcome.Reject(GatewayReasons.TopicMismatch, $"reading of meter '{reading.MeterId}' published on the topic of '{topicMeter}'", topicMeter);

        var bad = decoded.Value.VerifySignature(key);
        if (bad is not null)
            return ValidationOutcome.Reject(bad, reading.MeterId);

        var last = _history.LastAccepted(reading.MeterId);
        // The accepted readings this one must follow and precede: normally the meter's last and none. A reading
        // older than the last that was never accepted arrived late (gateways sharing a meter's messages take them in
        // any order, and one may lag far behind another): it is accepted if it fits exactly between its neighbours,
        // provided the history reaches back far enough to know them.
        Reading? before = last, after = null;
        if (last is not null && reading.Sequence <= last.Sequence)
        {
            var earlier = _history.FindAccepted(reading.MeterId, reading.Sequence);
            if (earlier is not null && earlier != reading)
                return ValidationOutcome.Reject(GatewayReasons.SequenceConflict, $"sequence {reading.Sequence} was already accepted with other content", reading.MeterId);
            if (earlier is not null)
            {
                return last.Sequence - reading.Sequence < (ulong)_options.DuplicateWindow
                    ? new ValidationOutcome(Verdict.Duplicate, reading.MeterId, decoded.Value, null)
                    : ValidationOutcome.Reject(GatewayReasons.SequenceReplay, $"sequence {reading.Sequence} was accepted {last.Sequence - reading.Sequence} readings ago", reading.MeterId);
            }
            if (reading.Sequence <= _history.CompleteFrom(reading.MeterId))
                return ValidationOutcome.Reject(GatewayReasons.SequenceReplay, $"sequence {reading.Sequence} is older than the history this gateway keeps (last accepted {last.Sequence})", reading.MeterId);
            (before, after) = _history.Neighbours(reading.MeterId, reading.Sequence);
        }

        if (Array.IndexOf(_options.AllowedIntervalSeconds, (int)reading.IntervalSeconds) < 0)
            return ValidationOutcome.Reject(GatewayReasons.IntervalLength, $"interval of {reading.IntervalSeconds}s is not one of {string.Join(", ", _options.AllowedIntervalSeconds)}", reading.MeterId);
        if (before is not null && reading.Start < before.End)
            return ValidationOutcome.Reject(GatewayReasons.IntervalOverlap, $"interval starts at {reading.Start}, before the previous reading ended at {before.End}", reading.MeterId);
        if (after is not null && reading.End > after.Start)
            return ValidationOutcome.Reject(GatewayReasons.IntervalOverlap, $"interval ends at {reading.End}, after the next reading (sequence {after.Sequence}) started at {after.Start}", reading.MeterId);
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        if (reading.End > now + _options.MaxClockSkewSeconds)
            return ValidationOutcome.Reject(GatewayReasons.TimestampFuture, $"interval ends {reading.End - now}s in the future", reading.MeterId);

        if (reading.Direction != device.Direction)
            return ValidationOutcome.Reject(GatewayReasons.DirectionMismatch, $"meter is registered for {device.Direction}, reading says {reading.Direction}", reading.MeterId);
        var maxWh = device.CapacityW * (reading.IntervalSeconds / 3600.0) * _options.CapacityHeadroom;
        if (reading.EnergyWh > maxWh)
            return ValidationOutcome.Reject(GatewayReasons.EnergyImplausible, $"{reading.EnergyWh} Wh in {reading.IntervalSeconds}s exceeds what {device.CapacityW} W can deliver", reading.MeterId);
        if (before is not null && !RegisterFollows(before, reading))
            return ValidationOutcome.Reject(GatewayReasons.RegisterInconsistent, $"register {reading.RegisterWh} Wh after {before.RegisterWh} Wh and {reading.EnergyWh} Wh this interval", reading.MeterId);
        if (after is not null && !RegisterFollows(reading, after))
            return ValidationOutcome.Reject(GatewayReasons.RegisterInconsistent, $"register {reading.RegisterWh} Wh does not lead to the next reading's {after.RegisterWh} Wh", reading.MeterId);
        return new ValidationOutcome(Verdict.Accepted, reading.MeterId, decoded.Value, null, last?.Sequence);
    }

    /// <summary>Consecutive readings must add up exactly; across a gap the register may only have grown by at least the later interval's energy.</summary>
    private static bool RegisterFollows(Reading earlier, Reading later)
    {
        var expected = (decimal)earlier.RegisterWh + later.EnergyWh;
        return later.Sequence == earlier.Sequence + 1 ? later.RegisterWh == expected : later.RegisterWh >= expected;
    }
}
