using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace GreenTrace.Cli;

/// <summary>The Generic Host every long-running command builds on: the command's configuration, and logs on stderr.</summary>
internal static class CliHost
{
    public static HostApplicationBuilder CreateBuilder(IConfiguration configuration)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            ContentRootPath = AppContext.BaseDirectory,
            DisableDefaults = true,
        });
        builder.Configuration.AddConfiguration(configuration);
        builder.Logging.AddConfiguration(configuration.GetSection("Logging"));
        // Logs go to stderr so progress displays and summaries own stdout.
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        return builder;
    }

    /// <summary>OpenTelemetry metrics for the given meters, printed to the console when Telemetry:ConsoleExporter is set.</summary>
    public static void AddMetrics(IServiceCollection services, IConfiguration configuration, params string[] meters) =>
        services.AddOpenTelemetry().WithMetrics(m =>
        {
            m.AddMeter(meters);
            if (configuration.GetValue<bool>("Telemetry:ConsoleExporter"))
                m.AddConsoleExporter();
        });

    /// <summary>
    /// Starts the host and waits until it stops or <paramref name="ct"/> is cancelled (then stops it). Unlike RunAsync it
    /// leaves the host undisposed, so the caller can still read the services' counts for its summary.
    /// </summary>
    public static async Task RunUntilStoppedAsync(IHost host, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(host);
        try
        {
            await host.StartAsync(ct).ConfigureAwait(false);
            await host.WaitForShutdownAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }
}
