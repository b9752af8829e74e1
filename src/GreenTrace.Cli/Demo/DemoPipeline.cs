using GreenTrace.Aggregator;
using GreenTrace.Broker;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Ledger;
using GreenTrace.Gateway;
using GreenTrace.Gateway.Store;
using GreenTrace.Ledger;
using GreenTrace.Ledger.Storage;
using GreenTrace.Streaming;
using GreenTrace.Streaming.InProcess;
using GreenTrace.TimeSeries;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GreenTrace.Cli.Demo;

/// <summary>
/// The embedded deployment: every stage in one Generic Host, on MQTTnet's in-process broker, the
/// in-process partitioned log and SQLite. The stages are the same classes a server deployment
/// runs; only the adapters behind their interfaces differ.
/// </summary>
public static class DemoPipeline
{
    public sealed record Paths(string LedgerDatabase, string ArchiveDatabase);

    public static IHost Build(IConfiguration configuration, DeviceDirectory devices, DemoIdentities identities, Paths paths, int brokerPort)
    {
        var builder = CliHost.CreateBuilder(configuration);

        var s = builder.Services;
        var catalog = TopicCatalog.LoadDefault();
        s.AddSingleton(catalog);
        s.AddSingleton(_ => new InProcessLog(catalog.Specs));
        s.AddSingleton<IStreamClientFactory>(sp => sp.GetRequiredService<InProcessLog>());
        s.AddSingleton<IDeviceDirectory>(devices);

        s.AddOptions<EmbeddedBrokerOptions>().Bind(configuration.GetSection(EmbeddedBrokerOptions.Section)).PostConfigure(o => o.Port = brokerPort);
        s.AddSingleton<EmbeddedBroker>();
        s.AddHostedService(sp => sp.GetRequiredService<EmbeddedBroker>());

        s.AddOptions<GatewayOptions>().Bind(configuration.GetSection(GatewayOptions.Section)).PostConfigure(o =>
        {
            o.BrokerHost = "127.0.0.1";
            o.BrokerPort = brokerPort;
        });
        s.AddSingleton<IGatewayStore>(sp => new StreamGatewayStore(sp.GetRequiredService<IStreamClientFactory>(), sp.GetRequiredService<IOptions<GatewayOptions>>().Value.DuplicateWindow));
        s.AddSingleton(sp => new ReadingValidator(devices, sp.GetRequiredService<IOptions<GatewayOptions>>().Value, sp.GetRequiredService<IGatewayStore>()));
        s.AddSingleton<GatewayService>();
        s.AddHostedService(sp => sp.GetRequiredService<GatewayService>());

        s.AddOptions<AggregatorOptions>().Bind(configuration.GetSection(AggregatorOptions.Section));
        s.AddSingleton(_ => new SqliteReadingArchive(paths.ArchiveDatabase));
        s.AddSingleton(sp => new HourlyAggregator(devices, sp.GetRequiredService<SqliteReadingArchive>(), new IssuerSigners(identities.IssuersByZone), sp.GetRequiredService<IOptions<AggregatorOptions>>().Value));
        s.AddSingleton<AggregatorService>();
        s.AddHostedService(sp => sp.GetRequiredService<AggregatorService>());

        s.AddOptions<LedgerOptions>().Bind(configuration.GetSection(LedgerOptions.Section)).PostConfigure(o => o.NodeName = identities.Node.Name);
        s.AddSingleton(_ => new TrustedKeys(identities.Membership));
        s.AddSingleton(sp => new LedgerNode(new SqliteLedgerStore(paths.LedgerDatabase), sp.GetRequiredService<TrustedKeys>(), identities.Node));
        s.AddSingleton<LedgerNodeService>();
        s.AddHostedService(sp => sp.GetRequiredService<LedgerNodeService>());

        // Only when TimeSeries:Url (or Enabled) is configured: its own consumer group on the embedded log.
        s.AddTimeSeriesSink(configuration);

        CliHost.AddMetrics(s, configuration, GatewayStats.Meter.Name, AggregatorStats.Meter.Name, LedgerNode.Meter.Name, TimeSeries.TimeSeriesMetrics.MeterName);
        return builder.Build();
    }
}
