using System.CommandLine;
using System.Text.Json;
using GreenTrace.Cli.Gateway;
using GreenTrace.Core.Devices;
using GreenTrace.Gateway;
using GreenTrace.Gateway.Store;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace GreenTrace.Cli.Commands;

/// <summary><c>greentrace gateway</c>: takes meters' readings from a real MQTT broker, validates them, and keeps every verdict.</summary>
public static class GatewayCommand
{
    public static Command Create(CliConsole console)
    {
        var registry = new Option<FileInfo>("--registry") { Description = "Device registry (JSON, the public side of a fleet: `greentrace fleet registry`)", Required = true };
        var store = new Option<string?>("--store") { Description = "SQLite file of accepted, rejected and duplicate readings, shared by every gateway of this host (default ./greentrace-gateway/gateway.db)" };
        var host = new Option<string?>("--host") { Description = "MQTT broker host (default 127.0.0.1)" };
        var port = new Option<int?>("--port") { Description = "MQTT broker port (default 1883, or 8883 with --tls)" };
        var tls = new Option<bool>("--tls") { Description = "Connect over TLS" };
        var ca = new Option<FileInfo?>("--ca") { Description = "PEM CA certificate the broker's certificate must chain to (implies --tls)" };
        var clientId = new Option<string?>("--client-id") { Description = "MQTT client id, also the username unless --username is given; must start with 'gateway' (default gateway-1)" };
        var username = new Option<string?>("--username") { Description = "MQTT username (default: the client id)" };
        var passwordFile = new Option<FileInfo?>("--password-file") { Description = "File whose first line is the MQTT password (or set GREENTRACE_Gateway__Password)" };
        var group = new Option<string?>("--share-group") { Description = "MQTT 5 shared-subscription group: gateways in one group split the readings" };
        var kafka = new Option<string?>("--kafka") { Description = "Kafka bootstrap servers HOST:PORT: forward the store's readings and refusals to gt.readings and gt.readings.rejected" };
        var kafkaProfile = new Option<string?>("--kafka-profile") { Description = "Modern (default) or Kafka09 for an Apache Kafka 0.9 broker" };
        var command = new Command("gateway", "Validate meters' readings from an MQTT broker (Mosquitto or any MQTT 5 broker) and record every verdict durably before acknowledging it; with --kafka, forward them to Kafka. Runs until Ctrl+C.")
        {
            registry, store, host, port, tls, ca, clientId, username, passwordFile, group, kafka, kafkaProfile,
        };
        command.Subcommands.Add(CreateReport(console));
        command.SetAction(async (parse, ct) =>
        {
            var overrides = new Dictionary<string, string?>();
            void Set(string key, object? value)
            {
                if (value is not null)
                    overrides[$"{GatewayOptions.Section}:{key}"] = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture);
            }
            var caFile = parse.GetValue(ca);
            var useTls = parse.GetValue(tls) || caFile is not null;
            var id = parse.GetValue(clientId);
            Set(nameof(GatewayOptions.StorePath), parse.GetValue(store));
            Set(nameof(GatewayOptions.BrokerHost), parse.GetValue(host));
            Set(nameof(GatewayOptions.BrokerPort), parse.GetValue(port) ?? (useTls ? 8883 : null));
            if (useTls)
                Set(nameof(GatewayOptions.UseTls), true);
            Set(nameof(GatewayOptions.CaFile), caFile?.FullName);
            Set(nameof(GatewayOptions.ClientId), id);
            Set(nameof(GatewayOptions.Username), parse.GetValue(username) ?? id);
            Set(nameof(GatewayOptions.SharedSubscriptionGroup), parse.GetValue(group));
            if (parse.GetValue(kafka) is { } bootstrap)
            {
                StreamDeployment.Override(overrides, bootstrap, parse.GetValue(kafkaProfile));
                overrides[$"{GreenTrace.Gateway.Forwarding.ForwarderOptions.Section}:{nameof(GreenTrace.Gateway.Forwarding.ForwarderOptions.Enabled)}"] = "true";
            }
            if (parse.GetValue(passwordFile) is { } file)
            {
                if (!file.Exists)
                    return await FailAsync(console, $"password file '{file.FullName}' does not exist").ConfigureAwait(false);
                Set(nameof(GatewayOptions.Password), (await File.ReadAllLinesAsync(file.FullName, ct).ConfigureAwait(false)).FirstOrDefault()?.Trim() ?? "");
            }
            var configuration = new ConfigurationBuilder()
                .AddConfiguration(DemoCommand.LoadConfiguration())
                .AddInMemoryCollection(new Dictionary<string, string?>
                {
                    [$"{GatewayOptions.Section}:{nameof(GatewayOptions.StorePath)}"] = Path.Combine("greentrace-gateway", "gateway.db"),
                    ["Logging:LogLevel:GreenTrace"] = "Information",
                })
                // Environment wins over the built-in defaults above, the command line over everything.
                .AddEnvironmentVariables()
                .AddEnvironmentVariables("GREENTRACE_")
                .AddInMemoryCollection(overrides)
                .Build();
            return await RunAsync(console, parse.GetValue(registry)!, configuration, ct).ConfigureAwait(false);
        });
        return command;
    }

    public static async Task<int> RunAsync(CliConsole console, FileInfo registry, IConfiguration configuration, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(registry);
        IReadOnlyList<DeviceInfo> devices;
        try
        {
            devices = DeviceRegistryJson.Deserialize(await File.ReadAllTextAsync(registry.FullName, ct).ConfigureAwait(false));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or FormatException or ArgumentException)
        {
            return await FailAsync(console, $"cannot read the device registry '{registry.FullName}': {e.Message}").ConfigureAwait(false);
        }
        using var directory = new DeviceDirectory(devices);
        IHost host;
        GatewayOptions options;
        try
        {
            host = GatewayHost.Build(configuration, directory);
            options = host.Services.GetRequiredService<IOptions<GatewayOptions>>().Value;
        }
        catch (Exception e) when (e is OptionsValidationException or ArgumentException)
        {
            return await FailAsync(console, e.Message).ConfigureAwait(false);
        }
        using (host)
        {
            // RunAsync would dispose the services the summary below reads.
            var gateway = host.Services.GetRequiredService<GatewayService>();
            var store = host.Services.GetRequiredService<SqliteGatewayStore>();
            await CliHost.RunUntilStoppedAsync(host, ct).ConfigureAwait(false);
            var stats = gateway.Stats;
            var totals = store.Totals();
            var forwarder = host.Services.GetService<GreenTrace.Gateway.Forwarding.StreamForwarder>();
            await console.Out.WriteLineAsync($"{options.ClientId}: received {stats.Received}, accepted {stats.Accepted}, rejected {stats.Rejected}, duplicates {stats.Duplicates}" +
                (forwarder is null ? "" : $", forwarded to Kafka {forwarder.Forwarded}")).ConfigureAwait(false);
            await PrintTotalsAsync(console, options.StorePath!, totals).ConfigureAwait(false);
        }
        return ExitCodes.Ok;
    }

    private static Command CreateReport(CliConsole console)
    {
        var store = new Option<FileInfo>("--store") { Description = "The gateways' SQLite store", Required = true };
        var json = new Option<bool>("--json") { Description = "Print the totals as JSON" };
        var command = new Command("report", "Print the books of every gateway that writes to a store: accepted, rejected by reason, duplicates.") { store, json };
        command.SetAction(async (parse, ct) =>
        {
            var file = parse.GetValue(store)!;
            if (!file.Exists)
                return await FailAsync(console, $"store '{file.FullName}' does not exist").ConfigureAwait(false);
            using var opened = new SqliteGatewayStore(file.FullName);
            var totals = opened.Totals();
            if (parse.GetValue(json))
                await console.Out.WriteLineAsync(JsonSerializer.Serialize(totals, JsonDefaults.Indented)).ConfigureAwait(false);
            else
                await PrintTotalsAsync(console, file.FullName, totals).ConfigureAwait(false);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static async Task PrintTotalsAsync(CliConsole console, string path, GatewayTotals totals)
    {
        var w = console.Out;
        await w.WriteLineAsync($"store {path}: received {totals.Received} = accepted {totals.Accepted} + rejected {totals.Rejected} + duplicates {totals.Duplicates}").ConfigureAwait(false);
        if (totals.Forwarded is { } f)
            await w.WriteLineAsync($"  on the stream: readings up to {f.Readings} of {f.ReadingsEnd}, refusals up to {f.Rejected} of {f.RejectedEnd}").ConfigureAwait(false);
        foreach (var (gateway, count) in totals.AcceptedByGateway.OrderBy(p => p.Key, StringComparer.Ordinal))
            await w.WriteLineAsync($"  accepted by {gateway}: {count}").ConfigureAwait(false);
        foreach (var (reason, count) in totals.RejectedByReason)
            await w.WriteLineAsync($"  rejected {reason}: {count}").ConfigureAwait(false);
    }

    private static async Task<int> FailAsync(CliConsole console, string message)
    {
        await console.Error.WriteLineAsync($"error: {message}").ConfigureAwait(false);
        return ExitCodes.Unusable;
    }
}
