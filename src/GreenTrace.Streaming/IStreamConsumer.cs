namespace GreenTrace.Streaming;

/// <summary>Told when the group hands partitions to this member or takes them away (Kafka's rebalance callbacks).</summary>
public interface IPartitionListener
{
    /// <summary>Partitions now this member's; consumption resumes from the group's committed offsets.</summary>
    void OnAssigned(IReadOnlyCollection<TopicPartition> partitions);

    /// <summary>Partitions about to go to another member: commit what is durable for them now, then drop their state.</summary>
    void OnRevoked(IReadOnlyCollection<TopicPartition> partitions);

    /// <summary>
    /// Partitions already taken away (the member missed its session, Kafka's "lost" partitions):
    /// another member may own them now, so do NOT commit for them; drop their state. The default
    /// does nothing, which suits only a listener that keeps no state per partition.
    /// </summary>
    void OnLost(IReadOnlyCollection<TopicPartition> partitions)
    {
    }
}

/// <summary>
/// A member of a consumer group, with Kafka's semantics: each partition is read in order by one
/// member of the group; a committed offset is the next record to read, and after a restart or a
/// rebalance consumption resumes there.
/// </summary>
public interface IStreamConsumer : IDisposable
{
    void Subscribe(IReadOnlyCollection<string> topics, IPartitionListener? listener = null);

    /// <summary>The next record of the assigned partitions, or null if none arrives within <paramref name="timeout"/>.</summary>
    StreamRecord? Consume(TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>Commits, per partition, the offset of the next record to read.</summary>
    void Commit(IEnumerable<StreamPosition> nextOffsets);

    IReadOnlyCollection<TopicPartition> Assignment { get; }
}

/// <summary>Makes clients for one stream deployment (the embedded log or a Kafka cluster).</summary>
public interface IStreamClientFactory
{
    IStreamProducer CreateProducer();

    IStreamConsumer CreateConsumer(string groupId, string memberName);
}
