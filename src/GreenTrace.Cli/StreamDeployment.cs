using GreenTrace.Streaming;
using GreenTrace.Streaming.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GreenTrace.Cli;

/// <summary>The stream deployment of the standalone services: Kafka, configured from the <c>Kafka</c> section.</summary>
internal static class StreamDeployment
{
    public static void AddKafka(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<KafkaOptions>().Bind(configuration.GetSection(KafkaOptions.SectionName))
            .Validate(o => !string.IsNullOrWhiteSpace(o.BootstrapServers), "Kafka:BootstrapServers is not set (--kafka HOST:PORT)")
            .ValidateOnStart();
        services.AddSingleton<IStreamClientFactory>(sp => new KafkaStreamClientFactory(sp.GetRequiredService<IOptions<KafkaOptions>>(), sp.GetRequiredService<ILoggerFactory>()));
    }

    /// <summary>Command-line overrides for the Kafka section.</summary>
    public static void Override(IDictionary<string, string?> overrides, string? bootstrap, string? profile)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        if (bootstrap is not null)
            overrides[$"{KafkaOptions.SectionName}:{nameof(KafkaOptions.BootstrapServers)}"] = bootstrap;
        if (profile is not null)
            overrides[$"{KafkaOptions.SectionName}:{nameof(KafkaOptions.BrokerProfile)}"] = profile;
    }
}
