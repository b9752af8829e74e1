using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Readings;
using GreenTrace.Gateway;
using GreenTrace.Gateway.Store;

namespace GreenTrace.Benchmarks;

/// <summary>
/// Hot path 1 as the gateway runs it: <see cref="ReadingValidator.Validate"/> on one core, every check in order
/// (size, topic, decode, registered meter, topic = kid = meter, ES256 signature, sequence against the meter's
/// history, interval, clock, direction, capacity, register). 1,000 meters each send their next reading; the
/// history holds each meter's previous one, so the register and sequence checks do real work. Validation
/// does not change the history, so every operation sees the same state.
/// </summary>
[MemoryDiagnoser]
public class GatewayBenchmarks
{
    private const int Meters = 1000;
    private const long Start = 1_767_225_600; // 2026-01-01T00:00:00Z

    private readonly List<ECDsa> keys = [];
    private DeviceDirectory directory = null!;
    private ReadingValidator validator = null!;
    private (string Topic, ReadOnlyMemory<byte> Payload)[] messages = [];
    private int next;

    [GlobalSetup]
    public void Setup()
    {
        var devices = new List<DeviceInfo>();
        var history = new InMemoryMeterHistory(96);
        var pending = new List<(string, ReadOnlyMemory<byte>)>();
        for (var i = 0; i < Meters; i++)
        {
            var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            keys.Add(key);
            var id = $"NL-ZH-PV-{i:D6}";
            devices.Add(new DeviceInfo(id, key.ExportSubjectPublicKeyInfo(), EnergyDirection.Generation, "solar", "photovoltaic", 10_000, "NL", "NL", 52_000_000, 4_300_000));
            var previous = new Reading(id, 35_040, Start - 900, Start, 1_800, 48_212_143, EnergyDirection.Generation, ReadingQuality.Measured);
            if (!history.TryRecord(previous, null))
                throw new InvalidOperationException("history setup failed");
            var reading = previous with { Sequence = 35_041, Start = Start, End = Start + 900, EnergyWh = 1_834, RegisterWh = 48_213_977 };
            pending.Add((TopicRules.ReadingsTopic(id), ReadingCodec.Sign(reading, key)));
        }
        directory = new DeviceDirectory(devices);
        validator = new ReadingValidator(directory, new GatewayOptions(), history, new FixedTime(DateTimeOffset.FromUnixTimeSeconds(Start + 3600)));
        messages = [.. pending];

        // Refuse to benchmark a rejection path: every message must pass every check.
        foreach (var (topic, payload) in messages)
        {
            var outcome = validator.Validate(topic, payload);
            if (outcome.Verdict != Verdict.Accepted)
                throw new InvalidOperationException($"benchmark reading not accepted: {outcome.Rejection}");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        directory.Dispose();
        foreach (var key in keys)
            key.Dispose();
    }

    [Benchmark(Description = "ReadingValidator.Validate (all checks, 1,000 meters)")]
    public Verdict Validate()
    {
        var (topic, payload) = messages[next];
        next = next + 1 == messages.Length ? 0 : next + 1;
        return validator.Validate(topic, payload).Verdict;
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
