using System.Collections.Concurrent;
using GreenTrace.Core;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Readings;

namespace GreenTrace.Gateway;

public enum Verdict
{
    Accepted,
    Rejected,

    /// <summary>A reading already accepted, delivered again (QoS 1 redelivery, a meter resending): dropped and counted, not an error.</summary>
    Duplicate,
}

public sealed record ValidationOutcome(Verdict Verdict, string? MeterId, DecodedReading? Reading, Rejection? Rejection)
{
    public static ValidationOutcome Reject(string code, string message, string? meterId = null) =>
        new(Verdict.Rejected, meterId, null, new Rejection(code, message));

    public static ValidationOutcome Reject(Rejection rejection, string? meterId = null) =>
        new(Verdict.Rejected, meterId, null, rejection);
}

/// <summary>
/// Every check a reading passes before it enters the pipeline, in a fixed order so the reason
/// code is predictable: size, decoding, known meter, topic = kid = meter, signature, sequence,
/// interval, clock, energy, register. Validation does not change state; <see cref="Commit"/>
/// does, once the reading is durably on the stream, so a reading whose hand-off failed is not
/// mistaken for a duplicate when the broker redelivers it.
/// </summary>
public sealed class ReadingValidator
{
    private readonly IDeviceDirectory _devices;
    private readonly GatewayOptions _options;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, MeterHistory> _history = new(StringComparer.Ordinal);

    public ReadingValidator(IDeviceDirectory devices, GatewayOptions options, TimeProvider? time = null)
    {
        _devices = devices ?? throw new ArgumentNullException(nameof(devices));
        _options = options ?? throw new ArgumentNullException(nameof(options));
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

        var history = _history.GetOrAdd(reading.MeterId, _ => new MeterHistory());
        lock (history)
        {
            if (history.Recent.TryGetValue(reading.Sequence, out var earlier))
            {
                return earlier == reading
                    ? new ValidationOutcome(Verdict.Duplicate, reading.MeterId, decoded.Value, null)
                    : ValidationOutcome.Reject(GatewayReasons.SequenceConflict, $"sequence {reading.Sequence} was already accepted with other content", reading.MeterId);
            }
            var last = history.Last;
            if (last is not null && reading.Sequence <= last.Sequence)
                return ValidationOutcome.Reject(GatewayReasons.SequenceReplay, $"sequence {reading.Sequence} is not after the last accepted {last.Sequence}", reading.MeterId);

            if (Array.IndexOf(_options.AllowedIntervalSeconds, (int)reading.IntervalSeconds) < 0)
                return ValidationOutcome.Reject(GatewayReasons.IntervalLength, $"interval of {reading.IntervalSeconds}s is not one of {string.Join(", ", _options.AllowedIntervalSeconds)}", reading.MeterId);
            if (last is not null && reading.Start < last.End)
                return ValidationOutcome.Reject(GatewayReasons.IntervalOverlap, $"interval starts at {reading.Start}, before the previous reading ended at {last.End}", reading.MeterId);
            var now = _time.GetUtcNow().ToUnixTimeSeconds();
            if (reading.End > now + _options.MaxClockSkewSeconds)
                return ValidationOutcome.Reject(GatewayReasons.TimestampFuture, $"interval ends {reading.End - now}s in the future", reading.MeterId);

            if (reading.Direction != device.Direction)
                return ValidationOutcome.Reject(GatewayReasons.DirectionMismatch, $"meter is registered for {device.Direction}, reading says {reading.Direction}", reading.MeterId);
            var maxWh = device.CapacityW * (reading.IntervalSeconds / 3600.0) * _options.CapacityHeadroom;
            if (reading.EnergyWh > maxWh)
                return ValidationOutcome.Reject(GatewayReasons.EnergyImplausible, $"{reading.EnergyWh} Wh in {reading.IntervalSeconds}s exceeds what {device.CapacityW} W can deliver", reading.MeterId);
            if (last is not null)
            {
                // Consecutive readings must add up exactly; across a gap the register may only have grown by at least this interval's energy.
                var expected = (decimal)last.RegisterWh + reading.EnergyWh;
                var consistent = reading.Sequence == last.Sequence + 1 ? reading.RegisterWh == expected : reading.RegisterWh >= expected;
                if (!consistent)
                    return ValidationOutcome.Reject(GatewayReasons.RegisterInconsistent, $"register {reading.RegisterWh} Wh after {last.RegisterWh} Wh and {reading.EnergyWh} Wh this interval", reading.MeterId);
            }
        }
        return new ValidationOutcome(Verdict.Accepted, reading.MeterId, decoded.Value, null);
    }

    /// <summary>Records an accepted reading as the meter's latest, once it is durably on the stream.</summary>
    public void Commit(ValidationOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        if (outcome.Verdict != Verdict.Accepted || outcome.Reading is null)
            return;
        var reading = outcome.Reading.Reading;
        var history = _history.GetOrAdd(reading.MeterId, _ => new MeterHistory());
        lock (history)
        {
            if (history.Last is null || reading.Sequence > history.Last.Sequence)
                history.Last = reading;
            history.Recent[reading.Sequence] = reading;
            while (history.Recent.Count > _options.DuplicateWindow)
                history.Recent.Remove(history.Recent.Keys.First());
        }
    }

    private sealed class MeterHistory
    {
        public Reading? Last { get; set; }

        public SortedDictionary<ulong, Reading> Recent { get; } = [];
    }
}
