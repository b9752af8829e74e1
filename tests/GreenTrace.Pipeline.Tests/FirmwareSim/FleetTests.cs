using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Readings;
using GreenTrace.FirmwareSim;
using GreenTrace.FirmwareSim.Profiles;

namespace GreenTrace.Pipeline.Tests.FirmwareSim;

public partial class FleetTests
{
    private static readonly long Start = new DateTimeOffset(2025, 4, 15, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();

    [GeneratedRegex("^(dk1|dk2|de-lu|nl|se3)-(solar|wind)-[0-9]{4}$")]
    private static partial Regex DemoId();

    [Fact]
    public void The_demo_fleet_is_generation_only_sixty_forty_across_the_zones()
    {
        using var fleet = Fleet.Generate(new FleetSpec { MeterCount = 50, Seed = 42 });
        Assert.Equal(50, fleet.Meters.Count);
        Assert.Equal(900, fleet.IntervalSeconds);
        Assert.Equal(30, fleet.Registry.Count(d => d.EnergySource == "solar"));
        Assert.Equal(20, fleet.Registry.Count(d => d.EnergySource == "wind"));
        Assert.All(fleet.Registry, d =>
        {
            Assert.Matches(DemoId(), d.MeterId);
            Assert.Equal(EnergyDirection.Generation, d.Direction);
            Assert.StartsWith(d.GridZone.ToLowerInvariant() + "-", d.MeterId, StringComparison.Ordinal);
            Assert.Equal(d.GridZone.StartsWith("DK", StringComparison.Ordinal) ? "DK" : d.GridZone[..2], d.Country);
            Assert.InRange(d.LatitudeMicrodegrees, 48_000_000, 62_000_000);
            Assert.InRange(d.LongitudeMicrodegrees, 2_000_000, 20_000_000);
            if (d.EnergySource == "solar")
                Assert.InRange(d.CapacityW, 4_000, 60_000_000);
            else
                Assert.InRange(d.CapacityW, 2_000_000, 900_000_000);
        });
        Assert.Equal(5, fleet.Registry.Select(d => d.GridZone).Distinct().Count());
        Assert.Equal(fleet.Meters.Select(m => m.Device), fleet.Registry);
        Assert.All(fleet.Meters, m => Assert.Equal(1UL, m.State.NextSequence));
    }

    [Fact]
    public void Generation_is_deterministic_for_a_seed_apart_from_the_keys()
    {
        using var a = Fleet.Generate(new FleetSpec { MeterCount = 12, Seed = 5, ConsumptionShare = 0.2 });
        using var b = Fleet.Generate(new FleetSpec { MeterCount = 12, Seed = 5, ConsumptionShare = 0.2 });
        Assert.Equal(a.Registry.Select(d => d with { PublicKey = [] }), b.Registry.Select(d => d with { PublicKey = [] }));
        Assert.Equal(a.Meters.Select(m => m.ProfileSpec), b.Meters.Select(m => m.ProfileSpec));
        Assert.Equal(a.Meters.Select(m => m.State), b.Meters.Select(m => m.State));
        Assert.Contains(a.Registry, d => d.Direction == EnergyDirection.Consumption);
        Assert.NotEqual(a.Registry[0].PublicKey, b.Registry[0].PublicKey);
    }

    [Fact]
    public void A_fleet_file_reproduces_identical_readings()
    {
        using var original = Fleet.Generate(new FleetSpec { MeterCount = 8, Seed = 9, ConsumptionShare = 0.25, EstimatedRate = 0.1 });
        var json = original.ToJson();
        using var copy = Fleet.FromJson(json);

        Assert.Equal(original.Registry, copy.Registry);
        for (var i = 0; i < 96; i++)
        {
            var t = Start + (i * 900L);
            for (var m = 0; m < original.Meters.Count; m++)
            {
                var a = original.Meters[m].NextSignedReading(t);
                var b = copy.Meters[m].NextSignedReading(t);
                Assert.Equal(a.Reading, b.Reading);
                // Same payload; the signatures differ because ECDSA signing is randomised.
                Assert.Equal(ReadingCodec.EncodePayload(a.Reading), ReadingCodec.EncodePayload(b.Reading));
                using var key = copy.Registry[m].ImportPublicKey();
                Assert.True(ReadingCodec.DecodeAndVerify(b.Encoded, key).IsOk);
            }
        }
    }

    [Fact]
    public void A_fleet_saved_after_a_run_resumes_where_it_stopped()
    {
        using var original = Fleet.Generate(new FleetSpec { MeterCount = 3, Seed = 10 });
        foreach (var meter in original.Meters)
        {
            for (var i = 0; i < 10; i++)
                meter.NextReading(Start + (i * 900L));
        }
        using var resumed = Fleet.FromJson(original.ToJson());
        for (var m = 0; m < 3; m++)
        {
            Assert.Equal(original.Meters[m].State, resumed.Meters[m].State);
            var next = Start + (10 * 900L);
            var a = original.Meters[m].NextSignedReading(next).Reading;
            var b = resumed.Meters[m].NextSignedReading(next).Reading;
            Assert.Equal(11UL, b.Sequence);
            Assert.Equal(a, b);
            Assert.Throws<InvalidOperationException>(() => resumed.Meters[m].NextReading(Start));
        }
    }

    [Fact]
    public void Save_and_load_round_trip_through_an_owner_only_file()
    {
        using var fleet = Fleet.Generate(new FleetSpec { MeterCount = 4, Seed = 11 });
        var path = Path.Combine(Path.GetTempPath(), $"fleet-{Guid.NewGuid():N}.json");
        try
        {
            fleet.Save(path);
            if (!OperatingSystem.IsWindows())
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            fleet.Save(path); // overwrite is atomic and allowed
            using var loaded = Fleet.Load(path);
            Assert.Equal(fleet.Registry, loaded.Registry);
            Assert.Equal(fleet.Meters.Select(m => m.ProfileSpec), loaded.Meters.Select(m => m.ProfileSpec));
            Assert.False(File.Exists(path + ".tmp"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_fleet_file_whose_private_key_does_not_match_its_registry_is_refused()
    {
        using var fleet = Fleet.Generate(new FleetSpec { MeterCount = 2, Seed = 12 });
        var root = JsonNode.Parse(fleet.ToJson())!;
        using var stranger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        root["meters"]![1]!["privateKey"] = Convert.ToBase64String(stranger.ExportPkcs8PrivateKey());
        var e = Assert.Throws<FormatException>(() => Fleet.FromJson(root.ToJsonString()));
        Assert.Contains(fleet.Meters[1].Id, e.Message, StringComparison.Ordinal);

        var unknownProfile = JsonNode.Parse(fleet.ToJson())!;
        unknownProfile["meters"]![0]!["profile"]!["kind"] = "tidal";
        Assert.Throws<FormatException>(() => Fleet.FromJson(unknownProfile.ToJsonString()));
        Assert.Throws<FormatException>(() => Fleet.FromJson("{}"));
        Assert.Throws<FormatException>(() => Fleet.FromJson("not json"));
    }

    [Fact]
    public void Profile_parameters_survive_the_fleet_file()
    {
        using var fleet = Fleet.Generate(new FleetSpec { MeterCount = 9, Seed = 13, SolarShare = 1, WindShare = 1, ConsumptionShare = 1 });
        using var copy = Fleet.FromJson(fleet.ToJson());
        Assert.Contains(copy.Meters, m => m.ProfileSpec is SolarProfileSpec);
        Assert.Contains(copy.Meters, m => m.ProfileSpec is WindProfileSpec);
        Assert.Contains(copy.Meters, m => m.ProfileSpec is ConsumptionProfileSpec);
        Assert.Equal(fleet.Meters.Select(m => m.ProfileSpec), copy.Meters.Select(m => m.ProfileSpec));
        Assert.Equal(fleet.Meters.Select(m => (m.EstimatedRate, m.QualitySeed)), copy.Meters.Select(m => (m.EstimatedRate, m.QualitySeed)));
    }
}
