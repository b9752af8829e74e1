using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using GreenTrace.Core.Readings;

namespace GreenTrace.Core.Devices;

/// <summary>
/// The device registry file that the gateway and the ledger read: which meters exist, their public
/// keys and the attributes their certificates inherit. Strings only; callers own the file I/O.
/// </summary>
/// <remarks>
/// Shape: <c>{"version":1,"devices":[{"meterId":…,"publicKey":"&lt;base64 SPKI DER&gt;","direction":"gen"|"con",
/// "energySource":…,"technology":…,"capacityW":…,"gridZone":…,"country":"DK","latitudeMicrodegrees":…,
/// "longitudeMicrodegrees":…}]}</c>. Reading is strict: a registry decides whose signatures count, so an
/// entry that is half understood must stop the load rather than register a meter with a guessed attribute.
/// </remarks>
public static class DeviceRegistryJson
{
    public const int FormatVersion = 1;

    private const int MaxMicrodegreesLatitude = 90_000_000;
    private const int MaxMicrodegreesLongitude = 180_000_000;

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        PropertyNameCaseInsensitive = false,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        WriteIndented = true,
    };

    public static string Serialize(IEnumerable<DeviceInfo> devices)
    {
        ArgumentNullException.ThrowIfNull(devices);
        var entries = new List<DeviceEntry?>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var device in devices)
        {
            ArgumentNullException.ThrowIfNull(device, nameof(devices));
            var entry = new DeviceEntry
            {
                MeterId = device.MeterId,
                PublicKey = device.PublicKey is null ? null : Convert.ToBase64String(device.PublicKey),
                Direction = WireCodes.Of(device.Direction),
                EnergySource = device.EnergySource,
                Technology = device.Technology,
                CapacityW = device.CapacityW,
                GridZone = device.GridZone,
                Country = device.Country,
                LatitudeMicrodegrees = device.LatitudeMicrodegrees,
                LongitudeMicrodegrees = device.LongitudeMicrodegrees,
            };
            // Writing a registry that Deserialize would refuse only moves the failure to another program.
            try
            {
                ToDevice(entry, entries.Count, seen);
            }
            catch (FormatException e)
            {
                throw new ArgumentException(e.Message, nameof(devices), e);
            }
            entries.Add(entry);
        }
        return JsonSerializer.Serialize(new RegistryDocument { Version = FormatVersion, Devices = entries }, Options);
    }

    /// <exception cref="FormatException">The JSON is malformed or an entry is invalid; the message names the entry.</exception>
    public static IReadOnlyList<DeviceInfo> Deserialize(string json)
    {
        if (string.IsNullOrWhiteSpace(json))
            throw new FormatException("device registry is empty");

        RegistryDocument? document;
        try
        {
            document = JsonSerializer.Deserialize<RegistryDocument>(json, Options);
        }
        catch (JsonException e)
        {
            // The path (e.g. $.devices[3].capacityW) names the entry; not every JsonException message includes it.
            throw new FormatException($"device registry is not valid at {e.Path ?? "$"}: {e.Message}", e);
        }
        if (document is null)
            throw new FormatException("device registry must be a JSON object");
        if (document.Version != FormatVersion)
            throw new FormatException($"device registry version {document.Version} is not supported (expected {FormatVersion})");
        if (document.Devices is null)
            throw new FormatException("device registry has no 'devices' array");

        var devices = new List<DeviceInfo>(document.Devices.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < document.Devices.Count; i++)
            devices.Add(ToDevice(document.Devices[i], i, seen));
        return devices;
    }

    private static DeviceInfo ToDevice(DeviceEntry? entry, int index, HashSet<string> seen)
    {
        if (entry is null)
            throw new FormatException($"device registry entry devices[{index}] is null");

        var name = entry.MeterId is null ? $"devices[{index}]" : $"devices[{index}] (meter '{entry.MeterId}')";
        FormatException Bad(string problem) => new($"device registry entry {name}: {problem}");

        if (!MeterId.IsValid(entry.MeterId))
            throw Bad("meterId must be 1-64 characters of A-Za-z0-9._-");
        if (!seen.Add(entry.MeterId!))
            throw Bad("duplicate meterId; a meter may be registered only once");

        if (string.IsNullOrEmpty(entry.PublicKey))
            throw Bad("publicKey is missing");
        byte[] publicKey;
        try
        {
            publicKey = Convert.FromBase64String(entry.PublicKey);
        }
        catch (FormatException)
        {
            throw Bad("publicKey is not base64");
        }
        try
        {
            using var key = DeviceKeys.ImportPublicKey(publicKey);
        }
        catch (CryptographicException e)
        {
            throw Bad($"publicKey is not a P-256 SubjectPublicKeyInfo: {e.Message}");
        }

        if (entry.Direction is null)
            throw Bad("direction is missing");
        if (!WireCodes.TryParseDirection(entry.Direction, out var direction))
            throw Bad($"direction must be 'gen' or 'con', not '{entry.Direction}'");
        if (string.IsNullOrWhiteSpace(entry.EnergySource))
            throw Bad("energySource is missing");
        if (string.IsNullOrWhiteSpace(entry.Technology))
            throw Bad("technology is missing");
        if (entry.CapacityW is not { } capacity)
            throw Bad("capacityW is missing");
        // Capacity bounds what a reading may plausibly claim, so zero or negative would make every reading suspect.
        if (capacity <= 0)
            throw Bad($"capacityW must be positive, not {capacity}");
        if (string.IsNullOrWhiteSpace(entry.GridZone))
            throw Bad("gridZone is missing");
        if (entry.Country is not { Length: 2 } country || !char.IsAsciiLetterUpper(country[0]) || !char.IsAsciiLetterUpper(country[1]))
            throw Bad("country must be an ISO 3166-1 alpha-2 code such as 'DK'");
        if (entry.LatitudeMicrodegrees is not { } latitude)
            throw Bad("latitudeMicrodegrees is missing");
        if (latitude is < -MaxMicrodegreesLatitude or > MaxMicrodegreesLatitude)
            throw Bad($"latitudeMicrodegrees {latitude} is outside ±90°");
        if (entry.LongitudeMicrodegrees is not { } longitude)
            throw Bad("longitudeMicrodegrees is missing");
        if (longitude is < -MaxMicrodegreesLongitude or > MaxMicrodegreesLongitude)
            throw Bad($"longitudeMicrodegrees {longitude} is outside ±180°");

        return new DeviceInfo(entry.MeterId!, publicKey, direction, entry.EnergySource, entry.Technology, capacity,
            entry.GridZone, country, latitude, longitude);
    }

    private sealed class RegistryDocument
    {
        public int Version { get; set; } = FormatVersion;

        public List<DeviceEntry?>? Devices { get; set; }
    }

    // Every member nullable so that a missing field reaches ToDevice and gets a message naming the entry.
    private sealed class DeviceEntry
    {
        public string? MeterId { get; set; }

        public string? PublicKey { get; set; }

        public string? Direction { get; set; }

        public string? EnergySource { get; set; }

        public string? Technology { get; set; }

        public long? CapacityW { get; set; }

        public string? GridZone { get; set; }

        public string? Country { get; set; }

        public int? LatitudeMicrodegrees { get; set; }

        public int? LongitudeMicrodegrees { get; set; }
    }
}
