using GreenTrace.Aggregator;
using GreenTrace.Core.Devices;
using GreenTrace.Ledger.Storage;
using GreenTrace.Streaming;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GreenTrace.Cli.Aggregator;

/// <summary>
/// The standalone aggregator: one member of the aggregator consumer group on Kafka, with the reading
/// archive every member of this host shares. Start more of them to split the partitions; stop one and
/// the others take its partitions over from the committed offsets.
/// </summary>
public static class AggregatorHost
{
    public static IHost Build(IConfiguration configuration, DeviceDirectory devices, IssuerSigners issuers)
    {
        var builder = CliHost.CreateBuilder(configuration);
        var s = builder.Services;
        s.AddSingleton<IDeviceDirectory>(devices);
        StreamDeployment.AddKafka(s, configuration);
        s.AddOptions<AggregatorOptions>().Bind(configuration.GetSection(AggregatorOptions.Section))
            .Validate(o => !string.IsNullOrWhiteSpace(o.ArchivePath), "the standalone aggregator needs Aggregator:ArchivePath (--archive)")
            .Validate(o => o.AllowedLatenessSeconds >= 0 && o.MaxBatchRecords > 0 && o.CommitEveryRecords > 0, "aggregator limits are out of range")
            .ValidateOnStart();
        s.AddSingleton(sp => new SqliteReadingArchive(sp.GetRequiredService<IOptions<AggregatorOptions>>().Value.ArchivePath!));
        s.AddSingleton(sp => new HourlyAggregator(devices, sp.GetRequiredService<SqliteReadingArchive>(), issuers, sp.GetRequiredService<IOptions<AggregatorOptions>>().Value));
        s.AddSingleton<AggregatorService>();
        s.AddHostedService(sp => sp.GetRequiredService<AggregatorService>());
        s.AddHostedService<AggregatorStatusReporter>();
        CliHost.AddMetrics(s, configuration, AggregatorStats.Meter.Name);
        return builder.Build();
    }
}

/// <summary>Logs this member's counts at a fixed period.</summary>
internal sealed class AggregatorStatusReporter(AggregatorService aggregator, IConfiguration configuration, ILogger<AggregatorStatusReporter> logger)
    : PeriodicStatusReporter(configuration, "Aggregator:StatusIntervalSeconds")
{
    protected override void Report()
    {
        var s = aggregator.Stats;
        logger.LogInformation("consumed {Consumed}, certificates {Certificates} ({Supplementary} supplementary), readings certified {Readings}, Wh {Wh}, already certified {Already}, rejected {Rejected}",
            s.Consumed, s.Certificates, s.SupplementaryCertificates, s.ReadingsCertified, s.WhCertified, s.AlreadyCertified, s.Rejected);
    }
}
