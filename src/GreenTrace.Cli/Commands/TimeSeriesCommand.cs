using System.CommandLine;
using System.Text.Json;
using GreenTrace.Core.Devices;
using GreenTrace.TimeSeries;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace GreenTrace.Cli.Commands;

/// <summary>
/// <c>greentrace timeseries</c>: the time-series sink as its own Kafka consumer group, writing accepted
/// readings and issued certificates to InfluxDB 2.x. Its own group, so a slow or absent server only grows
/// its lag and never holds up a certificate.
/// </summary>
public static class TimeSeriesCommand
{
    public static Command Create(CliConsole console)
    {
        var registry = new Option<FileInfo>("--registry") { Description = "Device registry (JSON), for the zone and source tags", Required = true };
        var kafka = new Option<string?>("--kafka") { Description = "Kafka bootstrap servers HOST:PORT (or Kafka:BootstrapServers)" };
        var profile = new Option<string?>("--kafka-profile") { Description = "Modern (default) or Kafka09" };
        var url = new Option<string?>("--url") { Description = "InfluxDB 2.x URL (or TimeSeries:Url), e.g. http://127.0.0.1:8086" };
        var org = new Option<string?>("--org") { Description = "InfluxDB organisation (default greentrace)" };
        var bucket = new Option<string?>("--bucket") { Description = "InfluxDB bucket (default greentrace)" };
        var command = new Command("timeseries", "Write accepted readings and issued certificates from Kafka to InfluxDB 2.x (token from TimeSeries__Token). Runs until Ctrl+C.")
        {
            registry, kafka, profile, url, org, bucket,
        };
        command.SetAction(async (parse, ct) =>
        {
            var overrides = new Dictionary<string, string?> { [$"{TimeSeriesOptions.Section}:{nameof(TimeSeriesOptions.Enabled)}"] = "true" };
            StreamDeployment.Override(overrides, parse.GetValue(kafka), parse.GetValue(profile));
            void Set(string key, string? value)
            {
                if (value is not null)
                    overrides[$"{TimeSeriesOptions.Section}:{key}"] = value;
            }
            Set(nameof(TimeSeriesOptions.Url), parse.GetValue(url));
            Set(nameof(TimeSeriesOptions.Org), parse.GetValue(org));
            Set(nameof(TimeSeriesOptions.Bucket), parse.GetValue(bucket));
            var configuration = new ConfigurationBuilder()
                .AddConfiguration(DemoCommand.LoadConfiguration())
                .AddInMemoryCollection(new Dictionary<string, string?> { ["Logging:LogLevel:GreenTrace"] = "Information" })
                .AddEnvironmentVariables()
                .AddEnvironmentVariables("GREENTRACE_")
                .AddInMemoryCollection(overrides)
                .Build();
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
            using var directory = new DeviceDirectory(devices);
            var builder = CliHost.CreateBuilder(configuration);
            builder.Services.AddSingleton<IDeviceDirectory>(directory);
            StreamDeployment.AddKafka(builder.Services, configuration);
            builder.Services.AddTimeSeriesSink(configuration);
            builder.Services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(TimeSeriesMetrics.MeterName));
            using var host = builder.Build();
            try
            {
                await host.RunAsync(ct).ConfigureAwait(false);
            }
            catch (OptionsValidationException e)
            {
                await console.Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
                return ExitCodes.Unusable;
            }
            return ExitCodes.Ok;
        });
        return command;
    }
}
