using Confluent.Kafka;

namespace GreenTrace.Streaming.Kafka;

/// <summary>
/// The librdkafka settings GreenTrace's clients run with: production defaults, then the broker
/// profile, then the operator's pass-through settings (<see cref="KafkaOptions.Client"/>, then
/// <see cref="KafkaOptions.Producer"/> or <see cref="KafkaOptions.Consumer"/>), later winning.
/// </summary>
public static class KafkaClientConfig
{
    public static ProducerConfig Producer(KafkaOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = Common(options);
        // Durable means every in-sync replica has it: a caller acknowledges its own input on this.
        settings["acks"] = "all";
        // Retries after a lost response then neither duplicate nor reorder a key's records.
        settings["enable.idempotence"] = "true";
        settings["max.in.flight.requests.per.connection"] = "5";
        // Small batches for a little latency; lz4 because 0.9 brokers read it too (snappy and gzip
        // as well, zstd not) and it costs the least CPU.
        settings["linger.ms"] = "5";
        settings["compression.type"] = "lz4";
        // CRC32 of the key for every key, empty ones included: exactly Partitioner.PartitionFor, so
        // the embedded log and Kafka put a meter on the same partition ("consistent_random",
        // librdkafka's default, would scatter empty keys at random).
        settings["partitioner"] = "consistent";
        if (options.BrokerProfile == KafkaBrokerProfile.Kafka09)
        {
            settings["enable.idempotence"] = "false";
            // Without idempotence a retried batch can overtake the one behind it; one request in
            // flight keeps a key's records in order. A retry can still duplicate a record, which
            // GreenTrace tolerates: ids derive from content (DESIGN.md).
            settings["max.in.flight.requests.per.connection"] = "1";
        }
        Apply(settings, options.Client);
        Apply(settings, options.Producer);
        return new ProducerConfig(settings);
    }

    public static ConsumerConfig Consumer(KafkaOptions options, string groupId, string memberName)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(groupId);
        ArgumentException.ThrowIfNullOrWhiteSpace(memberName);
        var settings = Common(options);
        settings["group.id"] = groupId;
        settings["client.id"] = memberName;
        // Offsets move only when the caller commits what it has made durable (DESIGN.md).
        settings["enable.auto.commit"] = "false";
        settings["enable.auto.offset.store"] = "false";
        settings["auto.offset.reset"] = "earliest";
        // A member joining or leaving moves only the partitions that must move; the others keep being read.
        settings["partition.assignment.strategy"] = "cooperative-sticky";
        if (options.BrokerProfile == KafkaBrokerProfile.Kafka09)
        {
            // librdkafka's default (45 s) is above 0.9's group.max.session.timeout.ms (30 s): JoinGroup would be refused.
            settings["session.timeout.ms"] = "10000";
        }
        Apply(settings, options.Client);
        Apply(settings, options.Consumer);
        return new ConsumerConfig(settings);
    }

    /// <summary>The settings an AdminClient (topic provisioning) runs with.</summary>
    public static AdminClientConfig Admin(KafkaOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = Common(options);
        Apply(settings, options.Client);
        return new AdminClientConfig(settings);
    }

    private static Dictionary<string, string> Common(KafkaOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.BootstrapServers) && !options.Client.ContainsKey("bootstrap.servers"))
            throw new InvalidOperationException($"{KafkaOptions.SectionName}:{nameof(KafkaOptions.BootstrapServers)} is not set: give the brokers as host:port[,host:port…]");
        var settings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["bootstrap.servers"] = options.BootstrapServers,
        };
        if (options.BrokerProfile == KafkaBrokerProfile.Kafka09)
        {
            // 0.9 brokers predate ApiVersionRequest (0.10) and close the connection on it; the
            // fallback tells librdkafka which protocol versions (no timestamps, no headers) to use.
            settings["api.version.request"] = "false";
            settings["broker.version.fallback"] = "0.9.0.1";
        }
        return settings;
    }

    private static void Apply(Dictionary<string, string> settings, Dictionary<string, string>? overrides)
    {
        if (overrides is null)
            return;
        foreach (var (key, value) in overrides)
            settings[key.Trim()] = value;
    }
}
