using System.Security.Cryptography;
using System.Text.Json.Nodes;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Readings;
using GreenTrace.FirmwareSim;

namespace GreenTrace.Pipeline.Tests.FirmwareSim;

public class DeviceRegistryJsonTests
{
    private static IReadOnlyList<DeviceInfo> SampleDevices()
    {
        using var fleet = Fleet.Generate(new FleetSpec { MeterCount = 6, Seed = 3, ConsumptionShare = 0.3 });
        return fleet.Registry;
    }

    private static string Mutate(Action<JsonObject> change)
    {
        var root = JsonNode.Parse(DeviceRegistryJson.Serialize(SampleDevices()))!.AsObject();
        change(root);
        return root.ToJsonString();
    }

    private static JsonObject Entry(JsonObject root, int index) => root["devices"]![index]!.AsObject();

    [Fact]
    public void Round_trip_preserves_every_attribute()
    {
        var devices = SampleDevices();
        var json = DeviceRegistryJson.Serialize(devices);
        Assert.Equal(devices, DeviceRegistryJson.Deserialize(json));

        var first = JsonNode.Parse(json)!["devices"]![0]!;
        Assert.Equal(devices[0].MeterId, (string)first["meterId"]!);
        Assert.Equal(Convert.ToBase64String(devices[0].PublicKey), (string)first["publicKey"]!);
        Assert.Contains((string)first["direction"]!, new[] { "gen", "con" });
        Assert.Contains(DeviceRegistryJson.Deserialize(json), d => d.Direction == EnergyDirection.Consumption);
    }

    [Fact]
    public void An_empty_registry_round_trips()
    {
        Assert.Empty(DeviceRegistryJson.Deserialize(DeviceRegistryJson.Serialize([])));
    }

    [Theory]
    [InlineData("meterId", "bad id!", "meterId")]
    [InlineData("publicKey", "not base64 ***", "base64")]
    [InlineData("publicKey", "AAECAwQ=", "P-256")]
    [InlineData("direction", "sideways", "direction")]
    [InlineData("country", "Denmark", "country")]
    [InlineData("gridZone", "", "gridZone")]
    public void An_invalid_entry_is_a_FormatException_naming_it(string field, string value, string expected)
    {
        var json = Mutate(root => Entry(root, 2)[field] = value);
        var e = Assert.Throws<FormatException>(() => DeviceRegistryJson.Deserialize(json));
        Assert.Contains("devices[2]", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_on_the_wrong_curve_is_refused()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var json = Mutate(root => Entry(root, 1)["publicKey"] = Convert.ToBase64String(p384.ExportSubjectPublicKeyInfo()));
        var e = Assert.Throws<FormatException>(() => DeviceRegistryJson.Deserialize(json));
        Assert.Contains("devices[1]", e.Message, StringComparison.Ordinal);
        Assert.Contains("P-256", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_duplicate_meter_id_is_refused()
    {
        var devices = SampleDevices();
        var json = Mutate(root => Entry(root, 4)["meterId"] = devices[1].MeterId);
        var e = Assert.Throws<FormatException>(() => DeviceRegistryJson.Deserialize(json));
        Assert.Contains("duplicate", e.Message, StringComparison.Ordinal);
        Assert.Contains(devices[1].MeterId, e.Message, StringComparison.Ordinal);

        Assert.Throws<ArgumentException>(() => DeviceRegistryJson.Serialize([devices[0], devices[0]]));
    }

    [Fact]
    public void Missing_fields_unknown_fields_and_broken_json_are_refused()
    {
        var missing = Mutate(root => Entry(root, 0).Remove("capacityW"));
        Assert.Contains("capacityW", Assert.Throws<FormatException>(() => DeviceRegistryJson.Deserialize(missing)).Message, StringComparison.Ordinal);

        var unknown = Mutate(root => Entry(root, 3)["colour"] = "green");
        Assert.Contains("devices[3]", Assert.Throws<FormatException>(() => DeviceRegistryJson.Deserialize(unknown)).Message, StringComparison.Ordinal);

        var wrongType = Mutate(root => Entry(root, 0)["capacityW"] = "lots");
        Assert.Throws<FormatException>(() => DeviceRegistryJson.Deserialize(wrongType));

        var futureVersion = Mutate(root => root["version"] = 2);
        Assert.Throws<FormatException>(() => DeviceRegistryJson.Deserialize(futureVersion));

        Assert.Throws<FormatException>(() => DeviceRegistryJson.Deserialize(""));
        Assert.Throws<FormatException>(() => DeviceRegistryJson.Deserialize("[]"));
        Assert.Throws<FormatException>(() => DeviceRegistryJson.Deserialize("{\"devices\": [null]}"));
        Assert.Throws<FormatException>(() => DeviceRegistryJson.Deserialize("{\"devices\": [{}"));
        Assert.Throws<FormatException>(() => DeviceRegistryJson.Deserialize("{\"version\": 1}"));
    }
}
