using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GreenTrace.Streaming.Kafka;

/// <summary>What applying the catalog did to one topic.</summary>
public sealed record TopicProvisioning(string Name, int Partitions, TopicProvisioningOutcome Outcome, string? Detail = null);

public enum TopicProvisioningOutcome
{
    Created,
    AlreadyExists,

    /// <summary>The topic exists with another partition count: keys would land elsewhere than <see cref="Partitioner"/> says. Not changed.</summary>
    PartitionMismatch,
}

/// <summary>
/// Puts pipelines/topics.json on a cluster: through the AdminClient on brokers that have
/// CreateTopics (0.10.1+), or as <c>kafka-topics.sh --zookeeper</c> commands for older ones.
/// </summary>
public sealed class KafkaTopics
{
    private readonly TopicCatalog _catalog;

    public KafkaTopics(TopicCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        _catalog = catalog;
    }

    /// <summary>Kafka's <c>retention.ms</c> for the catalog's retentionHours; -1 keeps records forever (the ledger).</summary>
    public static long RetentionMs(int retentionHours) => retentionHours < 0 ? -1 : retentionHours * 3_600_000L;

    /// <summary>One <c>kafka-topics.sh</c> command per topic, for clusters managed through ZooKeeper (Kafka before 2.2, and 0.9 has nothing else).</summary>
    public IReadOnlyList<string> CreateCommands(string zookeeper, int replicationFactor = 1, string script = "kafka-topics.sh")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(zookeeper);
        ArgumentOutOfRangeException.ThrowIfLessThan(replicationFactor, 1);
        return _catalog.Topics.Select(t => string.Join(' ',
            script, "--zookeeper", zookeeper, "--create", "--topic", t.Name,
            "--partitions", t.Partitions.ToString(CultureInfo.InvariantCulture),
            "--replication-factor", replicationFactor.ToString(CultureInfo.InvariantCulture),
            "--config", $"retention.ms={RetentionMs(t.RetentionHours).ToString(CultureInfo.InvariantCulture)}")).ToList();
    }

    /// <summary>
    /// Creates the catalog's missing topics and reports the rest. <paramref name="replicationFactor"/>
    /// null takes the broker's default.replication.factor (brokers 2.4+).
    /// </summary>
    public async Task<IReadOnlyList<TopicProvisioning>> ApplyAsync(KafkaOptions options, short? replicationFactor = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var admin = CreateAdminClient(options, logger);
        var timeout = TimeSpan.FromSeconds(30);
        var existing = admin.GetMetadata(timeout).Topics
            .Where(t => t.Error.Code == ErrorCode.NoError)
            .ToDictionary(t => t.Topic, t => t.Partitions.Count, StringComparer.Ordinal);
        var results = new List<TopicProvisioning>();
        var missing = new List<TopicSpecification>();
        foreach (var topic in _catalog.Topics)
        {
            if (existing.TryGetValue(topic.Name, out var partitions))
            {
                results.Add(partitions == topic.Partitions
                    ? new TopicProvisioning(topic.Name, partitions, TopicProvisioningOutcome.AlreadyExists)
                    : new TopicProvisioning(topic.Name, partitions, TopicProvisioningOutcome.PartitionMismatch, $"has {partitions} partitions, the catalog says {topic.Partitions}"));
                continue;
            }
            missing.Add(new TopicSpecification
            {
                Name = topic.Name,
                NumPartitions = topic.Partitions,
                ReplicationFactor = replicationFactor ?? -1,
                Configs = new Dictionary<string, string> { ["retention.ms"] = RetentionMs(topic.RetentionHours).ToString(CultureInfo.InvariantCulture) },
            });
        }
        if (missing.Count > 0)
        {
            try
            {
                await admin.CreateTopicsAsync(missing, new CreateTopicsOptions { RequestTimeout = timeout, OperationTimeout = timeout }).ConfigureAwait(false);
                results.AddRange(missing.Select(m => new TopicProvisioning(m.Name, m.NumPartitions, TopicProvisioningOutcome.Created)));
            }
            catch (CreateTopicsException e)
            {
                foreach (var r in e.Results)
                {
                    var spec = missing.First(m => m.Name == r.Topic);
                    if (r.Error.Code == ErrorCode.TopicAlreadyExists)
                        results.Add(new TopicProvisioning(r.Topic, spec.NumPartitions, TopicProvisioningOutcome.AlreadyExists, "created meanwhile by someone else"));
                    else if (r.Error.IsError)
                        throw new KafkaStreamException($"could not create topic {r.Topic}: {r.Error.Reason} ({r.Error.Code})", e);
                    else
                        results.Add(new TopicProvisioning(r.Topic, spec.NumPartitions, TopicProvisioningOutcome.Created));
                }
            }
            WaitUntilServed(admin, missing.Select(m => (m.Name, m.NumPartitions)), TimeSpan.FromSeconds(60));
        }
        return _catalog.Topics.Select(t => results.First(r => r.Name == t.Name)).ToList();
    }

    /// <summary>An AdminClient on <paramref name="options"/> whose librdkafka log goes to <paramref name="logger"/> rather than stderr.</summary>
    public static IAdminClient CreateAdminClient(KafkaOptions options, ILogger? logger = null)
    {
        var log = logger ?? NullLogger.Instance;
        return new AdminClientBuilder(KafkaClientConfig.Admin(options)).SetLogHandler((_, message) => KafkaLog.Write(log, message)).Build();
    }

    /// <summary>
    /// Waits until the cluster's metadata lists each topic with a leader for every partition. A
    /// consumer that subscribes before that may not look again until its next metadata refresh
    /// (topic.metadata.refresh.interval.ms, 5 minutes by default).
    /// </summary>
    public static void WaitUntilServed(IAdminClient admin, IEnumerable<(string Topic, int Partitions)> topics, TimeSpan patience)
    {
        ArgumentNullException.ThrowIfNull(admin);
        var wanted = topics.ToList();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var pending = wanted.Where(w =>
            {
                var metadata = admin.GetMetadata(w.Topic, TimeSpan.FromSeconds(10)).Topics.FirstOrDefault(t => t.Topic == w.Topic);
                return metadata is null || metadata.Error.IsError || metadata.Partitions.Count != w.Partitions || metadata.Partitions.Any(p => p.Leader < 0);
            }).ToList();
            if (pending.Count == 0)
                return;
            if (clock.Elapsed > patience)
                throw new KafkaStreamException($"topics not served by the cluster after {patience.TotalSeconds:0}s: {string.Join(", ", pending.Select(p => p.Topic))}");
            Thread.Sleep(100);
        }
    }
}
