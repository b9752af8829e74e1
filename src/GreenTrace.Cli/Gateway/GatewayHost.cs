using GreenTrace.Core.Devices;
using GreenTrace.Gateway;
using GreenTrace.Gateway.Forwarding;
using GreenTrace.Gateway.Store;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GreenTrace.Cli.Gateway;

/// <summary>
/// The standalone gateway: one Generic Host with the gateway service, the shared SQLite store and a
/// periodic status line. Several of these on one host, in one shared-subscription group and with one
/// store file, split a fleet's readings between them.
/// </summary>
public static class GatewayHost
{
    public static IHost Build(IConfiguration configuration, DeviceDirectory devices)
    {
        var builder = CliHost.CreateBuilder(configuration);

        var s = builder.Services;
        s.AddSingleton<IDeviceDirectory>(devices);
        s.AddOptions<GatewayOptions>().Bind(configuration.GetSection(GatewayOptions.Section)).Validate(o =>
        {
            o.Validate();
            return o.StorePath is not null;
        }, "the standalone gateway needs Gateway:StorePath (--store)").ValidateOnStart();
        s.AddSingleton(sp => new SqliteGatewayStore(sp.GetRequiredService<IOptions<GatewayOptions>>().Value.StorePath!));
        s.AddSingleton<IGatewayStore>(sp => sp.GetRequiredService<SqliteGatewayStore>());
        s.AddSingleton(sp => new ReadingValidator(devices, sp.GetRequiredService<IOptions<GatewayOptions>>().Value, sp.GetRequiredService<IGatewayStore>()));
        s.AddSingleton<GatewayService>();
        s.AddHostedService(sp => sp.GetRequiredService<GatewayService>());
        s.AddHostedService<GatewayStatusReporter>();

        // With Kafka configured, the store is the outbox and this process may forward it (one per store at a time).
        var forward = configuration.GetSection(ForwarderOptions.Section);
        s.AddOptions<ForwarderOptions>().Bind(forward);
        if (forward.GetValue<bool>(nameof(ForwarderOptions.Enabled)))
        {
            StreamDeployment.AddKafka(s, configuration);
            s.AddSingleton<StreamForwarder>();
            s.AddHostedService(sp => sp.GetRequiredService<StreamForwarder>());
        }

        CliHost.AddMetrics(s, configuration, GatewayStats.Meter.Name, StreamForwarder.MeterName);
        return builder.Build();
    }
}

/// <summary>Logs this gateway's counts at a fixed period.</summary>
internal sealed class GatewayStatusReporter(GatewayService gateway, IConfiguration configuration, ILogger<GatewayStatusReporter> logger)
    : PeriodicStatusReporter(configuration, "Gateway:StatusIntervalSeconds")
{
    protected override void Report()
    {
        var stats = gateway.Stats;
        logger.LogInformation("{State}: received {Received}, accepted {Accepted}, rejected {Rejected}, duplicates {Duplicates}",
            gateway.IsSubscribed ? "subscribed" : "connecting", stats.Received, stats.Accepted, stats.Rejected, stats.Duplicates);
    }
}
