namespace GreenTrace.Streaming;

public readonly record struct TopicPartition(string Topic, int Partition)
{
    public override string ToString() => $"{Topic}[{Partition}]";
}

/// <summary>Where a record sits: Kafka's (topic, partition, offset).</summary>
public readonly record struct StreamPosition(string Topic, int Partition, long Offset)
{
    public TopicPartition TopicPartition => new(Topic, Partition);
}

/// <summary>
/// A record as a consumer sees it. Everything that matters is in <see cref="Key"/> and
/// <see cref="Value"/>: no headers, no transactions (DESIGN.md), so any Kafka-protocol broker works.
/// </summary>
public sealed record StreamRecord(string Topic, int Partition, long Offset, string Key, ReadOnlyMemory<byte> Value, DateTimeOffset Timestamp)
{
    public StreamPosition Position => new(Topic, Partition, Offset);
}

/// <summary>A topic as the pipeline declares it.</summary>
public sealed record TopicSpec(string Name, int Partitions);

/// <summary>The topic names every stage agrees on.</summary>
public static class Topics
{
    public const string Readings = "gt.readings";
    public const string RejectedReadings = "gt.readings.rejected";
    public const string Ledger = "gt.ledger";

    /// <summary>Ledger nodes' signatures of checkpoints, one node's signature per record, exchanged until k of n cosign.</summary>
    public const string Checkpoints = "gt.checkpoints";
}
