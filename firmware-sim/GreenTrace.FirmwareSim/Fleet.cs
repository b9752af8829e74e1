using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Readings;
using GreenTrace.FirmwareSim.Profiles;
using GreenTrace.FirmwareSim.Randomness;

namespace GreenTrace.FirmwareSim;

/// <summary>
/// A set of virtual meters sharing one interval length. The fleet file (<see cref="ToJson"/>) holds
/// private keys, profile parameters and meter state, so a saved fleet reproduces its readings and a
/// fleet saved after a run resumes where it stopped; <see cref="Registry"/> is the public side.
/// </summary>
public sealed class Fleet : IDisposable
{
    public const string FileFormat = "greentrace-fleet";
    public const int FileVersion = 1;

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowOutOfOrderMetadataProperties = true,
        WriteIndented = true,
    };

    private readonly Dictionary<string, VirtualMeter> _byId;

    /// <param name="meters">The fleet takes ownership of the meters and disposes them.</param>
    public Fleet(ulong seed, int intervalSeconds, IEnumerable<VirtualMeter> meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        Seed = seed;
        IntervalSeconds = intervalSeconds;
        Meters = [.. meters];
        _byId = new Dictionary<string, VirtualMeter>(StringComparer.Ordinal);
        foreach (var meter in Meters)
        {
            ArgumentNullException.ThrowIfNull(meter, nameof(meters));
            if (meter.IntervalSeconds != intervalSeconds)
                throw new ArgumentException($"meter '{meter.Id}' reads every {meter.IntervalSeconds}s, the fleet every {intervalSeconds}s", nameof(meters));
            if (!_byId.TryAdd(meter.Id, meter))
                throw new ArgumentException($"meter id '{meter.Id}' appears twice", nameof(meters));
        }
        Registry = [.. Meters.Select(m => m.Device)];
    }

    /// <summary>The seed the fleet was generated from; fault injection defaults to it.</summary>
    public ulong Seed { get; }

    public int IntervalSeconds { get; }

    public IReadOnlyList<VirtualMeter> Meters { get; }

    /// <summary>The public side: what the issuing body registers (see <see cref="DeviceRegistryJson"/>).</summary>
    public IReadOnlyList<DeviceInfo> Registry { get; }

    public VirtualMeter? Find(string meterId) => _byId.GetValueOrDefault(meterId);

    /// <summary>The registry file the gateway and ledger read.</summary>
    public string RegistryJson() => DeviceRegistryJson.Serialize(Registry);

    /// <summary>Generates a fleet. Everything but the keys is determined by <see cref="FleetSpec.Seed"/>.</summary>
    public static Fleet Generate(FleetSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        var rng = new SimRandom(Mix.Hash(spec.Seed, "fleet"));
        var kinds = Apportion(spec, rng);
        var counters = new Dictionary<string, int>(StringComparer.Ordinal);
        var meters = new List<VirtualMeter>(spec.MeterCount);
        try
        {
            for (var i = 0; i < kinds.Length; i++)
            {
                var zone = spec.Zones[i % spec.Zones.Count];
                var kind = kinds[i];
                var prefix = $"{zone.MeterIdPrefix}-{KindName(kind)}";
                var n = counters[prefix] = counters.GetValueOrDefault(prefix) + 1;
                meters.Add(CreateMeter($"{prefix}-{n:D4}", kind, zone, spec, rng));
            }
            return new Fleet(spec.Seed, spec.IntervalSeconds, meters);
        }
        catch
        {
            foreach (var meter in meters)
                meter.Dispose();
            throw;
        }
    }

    public string ToJson()
    {
        using var registry = JsonDocument.Parse(RegistryJson());
        var document = new FleetDocument
        {
            Format = FileFormat,
            Version = FileVersion,
            Seed = Seed,
            IntervalSeconds = IntervalSeconds,
            Registry = registry.RootElement.Clone(),
            Meters = [.. Meters.Select(m =>
            {
                var state = m.State;
                return new MeterEntry
                {
                    MeterId = m.Id,
                    PrivateKey = Convert.ToBase64String(m.ExportPrivateKeyPkcs8()),
                    Profile = m.ProfileSpec,
                    EstimatedRate = m.EstimatedRate,
                    QualitySeed = m.QualitySeed,
                    State = new MeterStateEntry { NextSequence = state.NextSequence, RegisterWh = state.RegisterWh, LastIntervalEnd = state.LastIntervalEnd },
                };
            })],
        };
        return JsonSerializer.Serialize(document, JsonOptions);
    }

    /// <exception cref="FormatException">The fleet file is malformed or inconsistent; the message names the meter.</exception>
    public static Fleet FromJson(string json)
    {
        if (string.IsNullOrWhiteSpace(json))
            throw new FormatException("fleet file is empty");
        FleetDocument? document;
        try
        {
            document = JsonSerializer.Deserialize<FleetDocument>(json, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new FormatException($"fleet file is not valid: {e.Message}", e);
        }
        if (document is null || document.Format != FileFormat)
            throw new FormatException($"not a fleet file (expected \"format\": \"{FileFormat}\")");
        if (document.Version != FileVersion)
            throw new FormatException($"fleet file version {document.Version} is not supported (expected {FileVersion})");
        if (document.Registry is not { } registryElement)
            throw new FormatException("fleet file has no registry");
        if (document.Meters is null)
            throw new FormatException("fleet file has no meters");

        var devices = DeviceRegistryJson.Deserialize(registryElement.GetRawText()).ToDictionary(d => d.MeterId, StringComparer.Ordinal);
        if (devices.Count != document.Meters.Count)
            throw new FormatException($"fleet file registers {devices.Count} devices but has {document.Meters.Count} meters");

        var meters = new List<VirtualMeter>(document.Meters.Count);
        try
        {
            for (var i = 0; i < document.Meters.Count; i++)
                meters.Add(ToMeter(document.Meters[i], i, devices, document.IntervalSeconds));
            return new Fleet(document.Seed, document.IntervalSeconds, meters);
        }
        catch (ArgumentException e)
        {
            foreach (var meter in meters)
                meter.Dispose();
            throw new FormatException($"fleet file is inconsistent: {e.Message}", e);
        }
        catch
        {
            foreach (var meter in meters)
                meter.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes the fleet file, readable by the owner only (it holds private keys), replacing any
    /// previous file atomically so an interrupted save never leaves half a fleet.
    /// </summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        var temp = full + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(temp, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(ToJson());
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, full, overwrite: true);
    }

    public static Fleet Load(string path) => FromJson(File.ReadAllText(path));

    public void Dispose()
    {
        foreach (var meter in Meters)
            meter.Dispose();
    }

    private static VirtualMeter ToMeter(MeterEntry? entry, int index, Dictionary<string, DeviceInfo> devices, int intervalSeconds)
    {
        if (entry is null)
            throw new FormatException($"fleet file meters[{index}] is null");
        var name = entry.MeterId is null ? $"meters[{index}]" : $"meters[{index}] (meter '{entry.MeterId}')";
        FormatException Bad(string problem) => new($"fleet file {name}: {problem}");

        if (entry.MeterId is null || !devices.TryGetValue(entry.MeterId, out var device))
            throw Bad("meterId is missing or not in the fleet's registry");
        if (entry.Profile is null)
            throw Bad("profile is missing");
        if (entry.State is null)
            throw Bad("state is missing");
        if (string.IsNullOrEmpty(entry.PrivateKey))
            throw Bad("privateKey is missing");

        ECDsa? key = null;
        try
        {
            key = ImportPrivateKey(entry.PrivateKey);
            entry.Profile.Validate();
            var state = new MeterState(entry.State.NextSequence, entry.State.RegisterWh, entry.State.LastIntervalEnd);
            var meter = new VirtualMeter(device, key, entry.Profile, intervalSeconds, state, entry.EstimatedRate, entry.QualitySeed);
            key = null;
            return meter;
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException or FormatException)
        {
            throw Bad(e.Message);
        }
        finally
        {
            key?.Dispose();
        }
    }

    private static ECDsa ImportPrivateKey(string base64)
    {
        byte[] der;
        try
        {
            der = Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            throw new FormatException("privateKey is not base64");
        }
        var key = ECDsa.Create();
        try
        {
            key.ImportPkcs8PrivateKey(der, out var read);
            if (read != der.Length)
                throw new CryptographicException("trailing bytes after the PKCS#8 key");
            if (key.ExportParameters(false).Curve.Oid.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
                throw new CryptographicException("privateKey is not on P-256");
            return key;
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    private enum SourceKind
    {
        Solar,
        Wind,
        Consumption,
    }

    private static string KindName(SourceKind kind) => kind switch
    {
        SourceKind.Solar => "solar",
        SourceKind.Wind => "wind",
        _ => "load",
    };

    /// <summary>Exact shares by largest remainder, then shuffled so zones get a mix of sources.</summary>
    private static SourceKind[] Apportion(FleetSpec spec, SimRandom rng)
    {
        var shares = new[] { spec.SolarShare, spec.WindShare, spec.ConsumptionShare };
        var total = shares.Sum();
        var exact = shares.Select(s => s / total * spec.MeterCount).ToArray();
        var counts = exact.Select(e => (int)Math.Floor(e)).ToArray();
        foreach (var k in Enumerable.Range(0, 3).OrderByDescending(k => exact[k] - counts[k]).ThenBy(k => k).Take(spec.MeterCount - counts.Sum()))
            counts[k]++;
        var kinds = new SourceKind[spec.MeterCount];
        var at = 0;
        for (var k = 0; k < 3; k++)
        {
            for (var c = 0; c < counts[k]; c++)
                kinds[at++] = (SourceKind)k;
        }
        for (var i = kinds.Length - 1; i > 0; i--)
        {
            var j = rng.NextInt(i + 1);
            (kinds[i], kinds[j]) = (kinds[j], kinds[i]);
        }
        return kinds;
    }

    private static VirtualMeter CreateMeter(string id, SourceKind kind, GridZoneSpec zone, FleetSpec spec, SimRandom rng)
    {
        // Uniform over a disc: the square root keeps sites from bunching at the centre.
        var distanceKm = zone.SpreadKm * Math.Sqrt(rng.NextDouble());
        var bearing = rng.NextDouble() * 2 * Math.PI;
        var latitude = zone.Latitude + (distanceKm * Math.Cos(bearing) / 111.0);
        var longitude = zone.Longitude + (distanceKm * Math.Sin(bearing) / (111.0 * Math.Cos(zone.Latitude * Math.PI / 180)));
        var weatherSeed = Mix.Hash(spec.Seed, "weather:" + zone.Code);
        var siteSeed = rng.NextUInt64();

        string source, technology;
        long capacityW;
        ProfileSpec profile;
        EnergyDirection direction = EnergyDirection.Generation;
        switch (kind)
        {
            case SourceKind.Solar:
                {
                    source = "solar";
                    technology = "photovoltaic";
                    var size = rng.NextDouble();
                    // Rooftops, commercial roofs and ground-mounted parks, in roughly the proportions of registered plants.
                    capacityW = size < 0.5 ? Round(rng.NextLogUniform(4e3, 15e3), 100)
                        : size < 0.8 ? Round(rng.NextLogUniform(50e3, 1e6), 1000)
                        : Round(rng.NextLogUniform(5e6, 60e6), 100_000);
                    profile = new SolarProfileSpec
                    {
                        Seed = siteSeed,
                        WeatherSeed = weatherSeed,
                        PerformanceRatio = Math.Round(rng.NextDouble(0.78, 0.88), 3),
                    };
                    break;
                }
            case SourceKind.Wind:
                {
                    source = "wind";
                    var size = rng.NextDouble();
                    var offshore = zone.HasOffshoreWind && size >= 0.9;
                    technology = offshore ? "wind-offshore" : "wind-onshore";
                    // Single turbines, onshore parks, and (where there is a coast) offshore parks.
                    capacityW = offshore ? Round(rng.NextLogUniform(200e6, 900e6), 1_000_000)
                        : size < 0.65 ? Round(rng.NextDouble(2.0e6, 4.5e6), 50_000)
                        : Round(rng.NextLogUniform(10e6, 100e6), 100_000);
                    var mean = zone.MeanWindSpeed + (offshore ? 1.5 : 0) + rng.NextDouble(-0.6, 0.6);
                    profile = new WindProfileSpec
                    {
                        Seed = siteSeed,
                        WeatherSeed = weatherSeed,
                        SharedWeatherWeight = 0.8,
                        MeanSpeed = Math.Round(mean, 2),
                        SpeedStdDev = Math.Round(0.45 * mean, 2),
                        Availability = offshore ? 0.93 : 0.95,
                    };
                    break;
                }
            default:
                {
                    source = "grid";
                    technology = "consumption";
                    direction = EnergyDirection.Consumption;
                    var household = rng.NextDouble() < 0.75;
                    // Connection capacity: a household's main fuse, or a business's contracted capacity.
                    capacityW = household ? Round(rng.NextDouble(11e3, 17.3e3), 100) : Round(rng.NextLogUniform(50e3, 800e3), 1000);
                    profile = household
                        ? new ConsumptionProfileSpec { Seed = siteSeed, WeatherSeed = weatherSeed, SharedWeatherWeight = 0.2 }
                        : new ConsumptionProfileSpec
                        {
                            Seed = siteSeed,
                            WeatherSeed = weatherSeed,
                            SharedWeatherWeight = 0.2,
                            PeakFraction = 0.5,
                            BaseLoad = 0.3,
                            MorningWeight = 0.6,
                            MorningHour = 9,
                            MiddayWeight = 0.8,
                            EveningWeight = 0.2,
                            EveningHour = 17.5,
                            WeekendActivity = 0.3,
                            WeekendMiddayWeight = 0,
                            WeekendMorningShiftHours = 0,
                            Noise = 0.1,
                        };
                    break;
                }
        }

        // A meter that has run for a while: somewhere between weeks and decades of typical output.
        var registerWh = (ulong)Math.Round(capacityW * rng.NextLogUniform(50, 40_000) * (direction == EnergyDirection.Consumption ? 0.1 : 1));
        var qualitySeed = rng.NextUInt64();

        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        try
        {
            var device = new DeviceInfo(id, key.ExportSubjectPublicKeyInfo(), direction, source, technology, capacityW, zone.Code, zone.Country,
                (int)Math.Round(Math.Clamp(latitude, -90, 90) * 1e6), (int)Math.Round(Math.Clamp(longitude, -180, 180) * 1e6));
            return new VirtualMeter(device, key, profile, spec.IntervalSeconds, MeterState.Initial(registerWh), spec.EstimatedRate, qualitySeed);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    private static long Round(double value, long step) => Math.Max(step, (long)Math.Round(value / step) * step);

    private sealed class FleetDocument
    {
        public string? Format { get; set; }

        public int Version { get; set; }

        public ulong Seed { get; set; }

        public int IntervalSeconds { get; set; }

        /// <summary>Exactly the registry document <see cref="DeviceRegistryJson"/> writes, so it is validated the same way.</summary>
        public JsonElement? Registry { get; set; }

        public List<MeterEntry?>? Meters { get; set; }
    }

    private sealed class MeterEntry
    {
        public string? MeterId { get; set; }

        /// <summary>PKCS#8 DER, base64.</summary>
        public string? PrivateKey { get; set; }

        public ProfileSpec? Profile { get; set; }

        public double EstimatedRate { get; set; }

        public ulong QualitySeed { get; set; }

        public MeterStateEntry? State { get; set; }
    }

    private sealed class MeterStateEntry
    {
        public ulong NextSequence { get; set; }

        public ulong RegisterWh { get; set; }

        public long? LastIntervalEnd { get; set; }
    }
}
