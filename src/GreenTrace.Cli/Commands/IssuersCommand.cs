using System.CommandLine;
using System.Text.Json;
using GreenTrace.Aggregator;
using GreenTrace.Core.Devices;

namespace GreenTrace.Cli.Commands;

/// <summary><c>greentrace issuers create</c>: an issuing body per grid zone of a registry, with fresh keys.</summary>
public static class IssuersCommand
{
    public static Command Create(CliConsole console)
    {
        var registry = new Option<FileInfo>("--registry") { Description = "Device registry (JSON)", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "Where to write the issuers' keys (private: written with mode 0600)", Required = true };
        var force = new Option<bool>("--force") { Description = "Overwrite an existing file" };
        var create = new Command("create", "Make one issuer per grid zone of the registry, each with a new ES256 key, for `greentrace aggregator --issuers`.") { registry, output, force };
        create.SetAction(async (parse, ct) =>
        {
            var file = parse.GetValue(output)!;
            if (file.Exists && !parse.GetValue(force))
            {
                await console.Error.WriteLineAsync($"error: '{file.FullName}' exists; pass --force to replace its keys").ConfigureAwait(false);
                return ExitCodes.Unusable;
            }
            IReadOnlyList<DeviceInfo> devices;
            try
            {
                devices = DeviceRegistryJson.Deserialize(await File.ReadAllTextAsync(parse.GetValue(registry)!.FullName, ct).ConfigureAwait(false));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or FormatException or ArgumentException)
            {
                await console.Error.WriteLineAsync($"error: cannot read the registry: {e.Message}").ConfigureAwait(false);
                return ExitCodes.Unusable;
            }
            var json = IssuerKeysFile.Create(devices);
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            await using (var stream = new FileStream(file.FullName, options))
            await using (var writer = new StreamWriter(stream))
                await writer.WriteAsync(json).ConfigureAwait(false);
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(file.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            var zones = devices.Select(d => d.GridZone).Distinct(StringComparer.Ordinal).Count();
            await console.Out.WriteLineAsync($"wrote {zones} issuer(s) to {file.FullName}").ConfigureAwait(false);
            return ExitCodes.Ok;
        });
        return new Command("issuers", "Issuing bodies' keys.") { create };
    }
}
