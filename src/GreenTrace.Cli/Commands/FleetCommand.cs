using System.CommandLine;
using System.Globalization;
using GreenTrace.FirmwareSim;

namespace GreenTrace.Cli.Commands;

/// <summary>
/// <c>greentrace fleet create | registry | iot-hub-devices</c>: the fleet file a rehearsal runs from (private keys and
/// meter state), and what operators hand to the systems that must know the meters.
/// </summary>
public static class FleetCommand
{
    public static Command Create(CliConsole console) =>
        new("fleet", "Create a fleet of simulated meters and export what the gateway, the ledger or an IoT hub must know about it.")
        {
            CreateCommand(console),
            RegistryCommand(console),
            IotHubDevicesCommand(console),
        };

    private static Command CreateCommand(CliConsole console)
    {
        var meters = new Option<int>("--meters") { Description = "Number of meters", Required = true };
        var seed = new Option<ulong>("--seed") { Description = "Seed for everything but the keys: sites, profiles, weather, fault timing (default 1)", DefaultValueFactory = _ => 1 };
        var zones = new Option<string[]>("--zones")
        {
            Description = $"Grid zones to spread the meters over, comma-separated or repeated (default all: {string.Join(", ", GridZoneSpec.Defaults.Select(z => z.Code))})",
            AllowMultipleArgumentsPerToken = true,
        };
        var consumption = new Option<double?>("--consumption-share") { Description = "Share of consumption meters; the rest is 60 % solar, 40 % wind (default 0)" };
        var output = new Option<FileInfo>("--out") { Description = "Fleet file to write; it holds private keys and is made readable by the owner only", Required = true };
        var force = new Option<bool>("--force") { Description = "Overwrite an existing fleet file (its keys are lost)" };
        var command = new Command("create", "Generate a fleet file: meters with fresh P-256 keys, sites, generation or load profiles, and state.")
        {
            meters, seed, zones, consumption, output, force,
        };
        command.SetAction(parse => RunCreate(console, parse.GetValue(meters), parse.GetValue(seed), parse.GetValue(zones) ?? [], parse.GetValue(consumption),
            parse.GetValue(output)!, parse.GetValue(force)));
        return command;
    }

    public static int RunCreate(CliConsole console, int meters, ulong seed, string[] zoneCodes, double? consumptionShare, FileInfo output, bool force)
    {
        var known = GridZoneSpec.Defaults.ToDictionary(z => z.Code, StringComparer.OrdinalIgnoreCase);
        var requested = zoneCodes.SelectMany(z => z.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
        var unknown = requested.Where(z => !known.ContainsKey(z)).ToList();
        if (unknown.Count > 0)
            return Unusable(console, $"unknown zone(s) {string.Join(", ", unknown)}; known: {string.Join(", ", known.Keys)}");
        if (output.Exists && !force)
            return Unusable(console, $"{output.FullName} exists; it may hold the only copy of its meters' keys (use --force to replace it)");
        var spec = new FleetSpec
        {
            MeterCount = meters,
            Seed = seed,
            Zones = requested.Count == 0 ? GridZoneSpec.Defaults : [.. requested.Distinct(StringComparer.OrdinalIgnoreCase).Select(z => known[z])],
        };
        if (consumptionShare is { } share)
        {
            if (share is < 0 or > 1)
                return Unusable(console, "--consumption-share must be within 0..1");
            spec = spec with { SolarShare = 0.6 * (1 - share), WindShare = 0.4 * (1 - share), ConsumptionShare = share };
        }
        Fleet fleet;
        try
        {
            fleet = Fleet.Generate(spec);
        }
        catch (ArgumentException e)
        {
            return Unusable(console, e.Message);
        }
        using (fleet)
        {
            try
            {
                if (output.DirectoryName is { } directory)
                    Directory.CreateDirectory(directory);
                fleet.Save(output.FullName);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Unusable(console, $"cannot write {output.FullName}: {e.Message}");
            }
            var kinds = fleet.Registry.GroupBy(d => d.Direction == Core.Readings.EnergyDirection.Consumption ? "load" : d.EnergySource).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Count()} {g.Key}");
            var zones = fleet.Registry.Select(d => d.GridZone).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
            console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Wrote {output.FullName}: {fleet.Meters.Count} meters ({string.Join(", ", kinds)}) in {string.Join(", ", zones)}, {fleet.IntervalSeconds / 60}-minute readings, seed {fleet.Seed}."));
            console.Out.WriteLine("It holds the meters' private keys: keep it like a secret. Give the gateway and ledger 'greentrace fleet registry'.");
        }
        return ExitCodes.Ok;
    }

    private static Command RegistryCommand(CliConsole console)
    {
        var fleetOpt = new Option<FileInfo>("--fleet") { Description = "Fleet file", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "Registry file to write (public keys and device attributes only)", Required = true };
        var command = new Command("registry", "Write the fleet's public side: the device registry the gateway, aggregator and ledger read.")
        {
            fleetOpt, output,
        };
        command.SetAction(parse => Export(console, parse.GetValue(fleetOpt)!, parse.GetValue(output)!, secret: false, f => f.RegistryJson(),
            f => $"{f.Meters.Count} devices (public keys and attributes)"));
        return command;
    }

    private static Command IotHubDevicesCommand(CliConsole console)
    {
        var fleetOpt = new Option<FileInfo>("--fleet") { Description = "Fleet file", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "Device identities to write, one JSON object per line (IoT Hub's bulk-import devices.txt)", Required = true };
        var command = new Command("iot-hub-devices", "Write the fleet's IoT Hub device identities with their symmetric keys (derived from the meters' keys), for a hub's bulk import; `sim --iot-hub` signs SAS tokens with the same keys.")
        {
            fleetOpt, output,
        };
        command.SetAction(parse => Export(console, parse.GetValue(fleetOpt)!, parse.GetValue(output)!, secret: true, IotHub.DeviceImportLines,
            f => $"{f.Meters.Count} IoT Hub device identities with SAS keys; import them with an IoT Hub import job (the file is the job's devices.txt blob)"));
        return command;
    }

    private static int Export(CliConsole console, FileInfo fleetFile, FileInfo output, bool secret, Func<Fleet, string> content, Func<Fleet, string> what)
    {
        Fleet fleet;
        try
        {
            fleet = Fleet.Load(fleetFile.FullName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return Unusable(console, $"fleet {fleetFile.FullName}: {e.Message}");
        }
        using (fleet)
        {
            try
            {
                if (output.DirectoryName is { } directory)
                    Directory.CreateDirectory(directory);
                var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
                if (secret && !OperatingSystem.IsWindows())
                    options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                using (var writer = new StreamWriter(output.FullName, options))
                    writer.Write(content(fleet));
                // The create mode only applies to a new file; an old one keeps its mode unless told.
                if (secret && !OperatingSystem.IsWindows())
                    File.SetUnixFileMode(output.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Unusable(console, $"cannot write {output.FullName}: {e.Message}");
            }
            console.Out.WriteLine($"Wrote {output.FullName}: {what(fleet)}.");
        }
        return ExitCodes.Ok;
    }

    private static int Unusable(CliConsole console, string message)
    {
        console.Error.WriteLine($"error: {message}");
        return ExitCodes.Unusable;
    }
}
