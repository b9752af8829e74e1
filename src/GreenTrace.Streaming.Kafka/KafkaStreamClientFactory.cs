using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GreenTrace.Streaming.Kafka;

/// <summary>
/// Makes GreenTrace's stream clients for a Kafka cluster (or a Kafka-protocol service): bind
/// <see cref="KafkaOptions"/> from the <c>Kafka</c> configuration section and register this as
/// the <see cref="IStreamClientFactory"/> in place of the embedded log.
/// </summary>
public sealed class KafkaStreamClientFactory : IStreamClientFactory
{
    private readonly KafkaOptions _options;
    private readonly ILoggerFactory _loggers;

    public KafkaStreamClientFactory(KafkaOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _loggers = loggerFactory ?? NullLoggerFactory.Instance;
        // Fail at start-up, not at the first record, when the configuration cannot work.
        _ = KafkaClientConfig.Producer(options);
    }

    public KafkaStreamClientFactory(IOptions<KafkaOptions> options, ILoggerFactory? loggerFactory = null)
        : this((options ?? throw new ArgumentNullException(nameof(options))).Value, loggerFactory)
    {
    }

    public KafkaOptions Options => _options;

    public IStreamProducer CreateProducer() => CreateKafkaProducer();

    public IStreamConsumer CreateConsumer(string groupId, string memberName) => CreateKafkaConsumer(groupId, memberName);

    public KafkaStreamProducer CreateKafkaProducer() =>
        new(KafkaClientConfig.Producer(_options), _loggers.CreateLogger<KafkaStreamProducer>());

    public KafkaStreamConsumer CreateKafkaConsumer(string groupId, string memberName) =>
        new(KafkaClientConfig.Consumer(_options, groupId, memberName), _loggers.CreateLogger<KafkaStreamConsumer>());
}
