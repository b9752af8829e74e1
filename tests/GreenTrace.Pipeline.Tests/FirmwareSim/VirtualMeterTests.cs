using System.Security.Cryptography;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Readings;
using GreenTrace.FirmwareSim;
using GreenTrace.FirmwareSim.Profiles;

namespace GreenTrace.Pipeline.Tests.FirmwareSim;

public class VirtualMeterTests
{
    private static readonly long Start = new DateTimeOffset(2025, 6, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();

    internal static VirtualMeter CreateMeter(string id = "dk1-solar-0001", double estimatedRate = 0, ulong register = 1_234_567, int intervalSeconds = 900)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var device = new DeviceInfo(id, key.ExportSubjectPublicKeyInfo(), EnergyDirection.Generation, "solar", "photovoltaic", 250_000,
            "DK1", "DK", 56_200_000, 9_000_000);
        return new VirtualMeter(device, key, new SolarProfileSpec { Seed = 1, WeatherSeed = 2 }, intervalSeconds, MeterState.Initial(register),
            estimatedRate, qualitySeed: 3);
    }

    [Fact]
    public void Readings_verify_with_the_registered_key_and_chain_sequence_and_register()
    {
        using var meter = CreateMeter();
        using var publicKey = meter.Device.ImportPublicKey();
        var previousRegister = meter.State.RegisterWh;
        ulong previousSequence = 0;
        long? previousEnd = null;
        for (var i = 0; i < 96; i++)
        {
            var bytes = meter.NextReading(Start + (i * 900L));
            var decoded = ReadingCodec.DecodeAndVerify(bytes, publicKey);
            Assert.True(decoded.IsOk, decoded.ToString());
            var reading = decoded.Value.Reading;

            Assert.Equal(meter.Id, reading.MeterId);
            Assert.Equal(previousSequence + 1, reading.Sequence);
            Assert.Equal(previousRegister + reading.EnergyWh, reading.RegisterWh);
            Assert.Null(ReadingRules.CheckInterval(reading.Start, reading.End));
            Assert.Equal(0, reading.Start % 900);
            Assert.Equal(900, reading.IntervalSeconds);
            if (previousEnd is { } end)
                Assert.Equal(end, reading.Start);
            Assert.Equal(EnergyDirection.Generation, reading.Direction);
            Assert.Equal(ReadingQuality.Measured, reading.Quality);
            Assert.InRange(reading.EnergyWh, 0UL, 250_000UL / 4);

            previousSequence = reading.Sequence;
            previousRegister = reading.RegisterWh;
            previousEnd = reading.End;
        }
        Assert.Equal(new MeterState(97, previousRegister, Start + (96 * 900L)), meter.State);
    }

    [Fact]
    public void The_first_sequence_is_one_and_gaps_in_time_keep_the_sequence_dense()
    {
        using var meter = CreateMeter();
        var first = ReadingCodec.Decode(meter.NextReading(Start)).Value.Reading;
        var afterOutage = ReadingCodec.Decode(meter.NextReading(Start + (10 * 900))).Value.Reading;
        Assert.Equal(1UL, first.Sequence);
        Assert.Equal(2UL, afterOutage.Sequence);
        Assert.Equal(first.RegisterWh + afterOutage.EnergyWh, afterOutage.RegisterWh);
    }

    [Fact]
    public void A_meter_refuses_misaligned_or_past_intervals_without_changing_state()
    {
        using var meter = CreateMeter();
        meter.NextReading(Start + 900);
        var state = meter.State;
        Assert.Throws<ArgumentException>(() => meter.NextReading(Start + 1800 + 7));
        Assert.Throws<InvalidOperationException>(() => meter.NextReading(Start + 900));
        Assert.Throws<InvalidOperationException>(() => meter.NextReading(Start));
        Assert.Equal(state, meter.State);
    }

    [Fact]
    public void The_estimated_rate_controls_the_quality_flag_deterministically()
    {
        using var always = CreateMeter(estimatedRate: 1);
        using var never = CreateMeter(estimatedRate: 0);
        using var sometimes = CreateMeter(estimatedRate: 0.2);
        using var sometimesAgain = CreateMeter(estimatedRate: 0.2);
        var s1 = new List<ReadingQuality>();
        var s2 = new List<ReadingQuality>();
        for (var i = 0; i < 200; i++)
        {
            var t = Start + (i * 900L);
            Assert.Equal(ReadingQuality.Estimated, always.NextSignedReading(t).Reading.Quality);
            Assert.Equal(ReadingQuality.Measured, never.NextSignedReading(t).Reading.Quality);
            s1.Add(sometimes.NextSignedReading(t).Reading.Quality);
            s2.Add(sometimesAgain.NextSignedReading(t).Reading.Quality);
        }
        Assert.Equal(s1, s2);
        Assert.InRange(s1.Count(q => q == ReadingQuality.Estimated), 10, 80);
    }

    [Fact]
    public void A_private_key_that_does_not_match_the_device_is_refused()
    {
        using var meter = CreateMeter();
        var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        try
        {
            Assert.Throws<ArgumentException>(() => new VirtualMeter(meter.Device, other, meter.ProfileSpec, 900, MeterState.Initial(0)));
        }
        finally
        {
            other.Dispose();
        }
    }

    [Fact]
    public void Readings_signed_ahead_are_the_readings_signed_live_and_a_run_elsewhere_signs_as_usual()
    {
        using var live = CreateMeter();
        using var ahead = CreateMeter();
        using var publicKey = ahead.Device.ImportPublicKey();
        ahead.SignAhead(Start, 8);

        for (var i = 0; i < 10; i++) // two beyond what was signed ahead
        {
            var expected = live.NextSignedReading(Start + (i * 900L)).Reading;
            var bytes = ahead.NextReading(Start + (i * 900L));
            var decoded = ReadingCodec.DecodeAndVerify(bytes, publicKey);
            Assert.True(decoded.IsOk, decoded.ToString());
            Assert.Equal(expected, decoded.Value.Reading);
        }
        Assert.Equal(live.State, ahead.State);

        // Signed ahead from one start, asked for a later one: the queue is dropped, the reading made fresh.
        ahead.SignAhead(Start + (10 * 900L), 4);
        var skipped = ahead.NextSignedReading(Start + (12 * 900L)).Reading;
        Assert.Equal((11ul, Start + (12 * 900L)), (skipped.Sequence, skipped.Start));
    }
}
