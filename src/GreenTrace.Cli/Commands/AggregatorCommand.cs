using System.CommandLine;
using System.Text.Json;
using GreenTrace.Aggregator;
using GreenTrace.Cli.Aggregator;
using GreenTrace.Core.Devices;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace GreenTrace.Cli.Commands;

/// <summary><c>greentrace aggregator</c>: a member of the aggregator consumer group on Kafka, issuing hourly certificates.</summary>
public static class AggregatorCommand
{
    public static Command Create(CliConsole console)
    {
        var registry = new Option<FileInfo>("--registry") { Description = "Device registry (JSON: `greentrace fleet registry`)", Required = true };
        var issuers = new Option<FileInfo>("--issuers") { Description = "Issuers' private keys by grid zone (`greentrace issuers create`)", Required = true };
        var archive = new Option<string?>("--archive") { Description = "SQLite reading archive shared by every aggregator of this host (default ./greentrace-aggregator/archive.db)" };
        var kafka = new Option<string?>("--kafka") { Description = "Kafka bootstrap servers HOST:PORT (or Kafka:BootstrapServers)" };
        var profile = new Option<string?>("--kafka-profile") { Description = "Modern (default) or Kafka09 for an Apache Kafka 0.9 broker" };
        var group = new Option<string?>("--group") { Description = "Consumer group (default gt-aggregator)" };
        var lateness = new Option<int?>("--lateness") { Description = "Seconds of event time an hour stays open after it ends (default 900)" };
        var command = new Command("aggregator", "Issue hourly certificates from the readings on Kafka, as one member of the aggregator consumer group. Runs until Ctrl+C.")
        {
            registry, issuers, archive, kafka, profile, group, lateness,
        };
        command.SetAction(async (parse, ct) =>
        {
            var overrides = new Dictionary<string, string?>();
            StreamDeployment.Override(overrides, parse.GetValue(kafka), parse.GetValue(profile));
            if (parse.GetValue(archive) is { } a)
                overrides[$"{AggregatorOptions.Section}:{nameof(AggregatorOptions.ArchivePath)}"] = a;
            if (parse.GetValue(group) is { } g)
                overrides[$"{AggregatorOptions.Section}:{nameof(AggregatorOptions.GroupId)}"] = g;
            if (parse.GetValue(lateness) is { } l)
                overrides[$"{AggregatorOptions.Section}:{nameof(AggregatorOptions.AllowedLatenessSeconds)}"] = l.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var configuration = new ConfigurationBuilder()
                .AddConfiguration(DemoCommand.LoadConfiguration())
                .AddInMemoryCollection(new Dictionary<string, string?>
                {
                    [$"{AggregatorOptions.Section}:{nameof(AggregatorOptions.ArchivePath)}"] = Path.Combine("greentrace-aggregator", "archive.db"),
                    ["Logging:LogLevel:GreenTrace"] = "Information",
                })
                .AddEnvironmentVariables()
                .AddEnvironmentVariables("GREENTRACE_")
                .AddInMemoryCollection(overrides)
                .Build();

            IReadOnlyList<DeviceInfo> devices;
            IReadOnlyDictionary<string, IssuerSigner> signers;
            try
            {
                devices = DeviceRegistryJson.Deserialize(await File.ReadAllTextAsync(parse.GetValue(registry)!.FullName, ct).ConfigureAwait(false));
                signers = IssuerKeysFile.Load(await File.ReadAllTextAsync(parse.GetValue(issuers)!.FullName, ct).ConfigureAwait(false));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or FormatException or ArgumentException)
            {
                return await FailAsync(console, e.Message).ConfigureAwait(false);
            }
            var archivePath = configuration[$"{AggregatorOptions.Section}:{nameof(AggregatorOptions.ArchivePath)}"];
            if (Path.GetDirectoryName(Path.GetFullPath(archivePath!)) is { } dir)
                Directory.CreateDirectory(dir);

            using var directory = new DeviceDirectory(devices);
            IHost host;
            try
            {
                host = AggregatorHost.Build(configuration, directory, new IssuerSigners(signers));
                _ = host.Services.GetRequiredService<IOptions<AggregatorOptions>>().Value;
            }
            catch (Exception e) when (e is OptionsValidationException or ArgumentException)
            {
                return await FailAsync(console, e.Message).ConfigureAwait(false);
            }
            using (host)
            {
                var aggregator = host.Services.GetRequiredService<AggregatorService>();
                try
                {
                    await CliHost.RunUntilStoppedAsync(host, ct).ConfigureAwait(false);
                }
                catch (OptionsValidationException e)
                {
                    return await FailAsync(console, e.Message).ConfigureAwait(false);
                }
                var s = aggregator.Stats;
                await console.Out.WriteLineAsync($"aggregator: consumed {s.Consumed}, certificates {s.Certificates} ({s.SupplementaryCertificates} supplementary), readings certified {s.ReadingsCertified}, Wh certified {s.WhCertified}, already certified {s.AlreadyCertified}, duplicates {s.Duplicates}, rejected {s.Rejected}").ConfigureAwait(false);
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static async Task<int> FailAsync(CliConsole console, string message)
    {
        await console.Error.WriteLineAsync($"error: {message}").ConfigureAwait(false);
        return ExitCodes.Unusable;
    }
}
