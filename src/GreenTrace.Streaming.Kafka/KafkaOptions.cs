namespace GreenTrace.Streaming.Kafka;

/// <summary>Which broker generation the clients must speak to.</summary>
public enum KafkaBrokerProfile
{
    /// <summary>Kafka 0.11 or later, or a Kafka-protocol service (Confluent Cloud, Event Hubs, Redpanda): idempotent producer, cooperative rebalancing.</summary>
    Modern,

    /// <summary>
    /// Apache Kafka 0.9.x: no ApiVersions request (the broker would close the connection), no
    /// idempotent producer, so one request in flight to keep a key's records in order on retry,
    /// and a session timeout inside 0.9's default group.max.session.timeout.ms (30 s).
    /// </summary>
    Kafka09,
}

/// <summary>
/// Configuration section <c>Kafka</c>. Everything beyond <see cref="BootstrapServers"/> and
/// <see cref="BrokerProfile"/> is raw librdkafka settings (https://github.com/confluentinc/librdkafka/blob/master/CONFIGURATION.md)
/// passed through unchanged and applied after GreenTrace's defaults, so an operator can add
/// SASL/TLS, point at Confluent Cloud or Event Hubs' Kafka endpoint, or override any default.
/// </summary>
public sealed class KafkaOptions
{
    public const string SectionName = "Kafka";

    /// <summary>librdkafka's <c>bootstrap.servers</c>: comma-separated host:port.</summary>
    public string BootstrapServers { get; set; } = "";

    public KafkaBrokerProfile BrokerProfile { get; set; } = KafkaBrokerProfile.Modern;

    /// <summary>Settings for producers and consumers alike (security.protocol, sasl.*, ssl.*, client.id, …).</summary>
    public Dictionary<string, string> Client { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Producer-only settings, applied after <see cref="Client"/>.</summary>
    public Dictionary<string, string> Producer { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Consumer-only settings, applied after <see cref="Client"/>.</summary>
    public Dictionary<string, string> Consumer { get; set; } = new(StringComparer.Ordinal);
}
