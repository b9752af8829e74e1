using System.Diagnostics;
using System.Text;
using GreenTrace.Streaming;

namespace GreenTrace.Pipeline.Tests.Streaming;

/// <summary>
/// What every <see cref="IStreamClientFactory"/> must do, tested only through the interfaces, so
/// the in-process log and a Kafka adapter are held to the same contract. Topic and group names
/// are unique per test, so a subclass may create the topics on a shared cluster.
/// </summary>
public abstract class StreamContractTests : IDisposable
{
    private readonly List<object> _created = [];

    /// <summary>A stream deployment that holds (at least) these empty topics.</summary>
    protected abstract IStreamClientFactory CreateFactory(IReadOnlyList<TopicSpec> topics);

    /// <summary>A safety net for things that must happen (a record arriving, a rebalance settling); never a pass condition.</summary>
    protected virtual TimeSpan Patience => TimeSpan.FromSeconds(60);

    /// <summary>How long one Consume call waits while a test polls.</summary>
    protected virtual TimeSpan Poll => TimeSpan.FromMilliseconds(50);

    /// <summary>How long a test waits to be sure nothing more arrives (the stream is quiet).</summary>
    protected virtual TimeSpan Quiet => TimeSpan.FromMilliseconds(200);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Disposes the clients a test made; a subclass then stops what it started for them.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (!disposing)
            return;
        foreach (var item in Enumerable.Reverse(_created))
            (item as IDisposable)?.Dispose();
    }

    [Fact]
    public async Task RecordsOfAKeyGoToOnePartitionInProduceOrderWithContiguousOffsets()
    {
        var topic = Name("orders");
        var factory = Factory(new TopicSpec(topic, 4));
        var keys = Enumerable.Range(0, 12).Select(i => $"meter-{i:00}").ToArray();
        var produced = new List<(string Key, string Value, StreamPosition Position)>();
        using (var producer = Track(factory.CreateProducer()))
        {
            for (var round = 0; round < 5; round++)
            {
                foreach (var key in keys)
                {
                    var value = $"{key}#{round}";
                    var position = await producer.ProduceAsync(topic, key, Encoding.UTF8.GetBytes(value), Ct);
                    produced.Add((key, value, position));
                }
            }
        }

        Assert.All(produced, p => Assert.Equal(topic, p.Position.Topic));
        foreach (var group in produced.GroupBy(p => p.Key))
        {
            // The partition Partitioner names: every deployment puts a meter on the same partition.
            Assert.Equal(Partitioner.PartitionFor(group.Key, 4), Assert.Single(group.Select(p => p.Position.Partition).Distinct()));
            var offsets = group.Select(p => p.Position.Offset).ToList();
            Assert.Equal(offsets.Order(), offsets); // later produce, later offset
        }
        foreach (var partition in produced.GroupBy(p => p.Position.Partition))
        {
            // Offsets of a partition: 0, 1, 2, … in the order the records were produced.
            Assert.Equal(Enumerable.Range(0, partition.Count()).Select(i => (long)i), partition.Select(p => p.Position.Offset));
        }
        Assert.True(produced.Select(p => p.Position.Partition).Distinct().Count() > 1, "12 keys over 4 partitions should use more than one");

        using var consumer = Member(factory, Name("group"), "member-a", topic);
        var read = ReadExactly(consumer, produced.Count);
        var expected = produced.ToDictionary(p => p.Position);
        foreach (var record in read)
        {
            var p = expected[record.Position];
            Assert.Equal(p.Key, record.Key);
            Assert.Equal(p.Value, Encoding.UTF8.GetString(record.Value.Span));
            Assert.Equal(topic, record.Topic);
        }
        foreach (var key in keys)
        {
            // Consumed in the order produced, key by key.
            Assert.Equal(produced.Where(p => p.Key == key).Select(p => p.Value), read.Where(r => r.Key == key).Select(r => Encoding.UTF8.GetString(r.Value.Span)));
        }
    }

    [Fact]
    public async Task TheStreamKeepsWhatWasProducedNotTheCallersBuffer()
    {
        var topic = Name("buffers");
        var factory = Factory(new TopicSpec(topic, 1));
        var buffer = Encoding.UTF8.GetBytes("original");
        using (var producer = Track(factory.CreateProducer()))
            await producer.ProduceAsync(topic, "k", buffer, Ct);
        Array.Fill(buffer, (byte)'X');

        using var consumer = Member(factory, Name("group"), "member-a", topic);
        var record = Assert.Single(ReadExactly(consumer, 1));
        Assert.Equal("original", Encoding.UTF8.GetString(record.Value.Span));
    }

    [Fact]
    public async Task AConsumerGroupReadsEveryRecordExactlyOnce()
    {
        var topic = Name("readings");
        var factory = Factory(new TopicSpec(topic, 3));
        var positions = await ProduceMany(factory, topic, keys: 9, perKey: 7);

        using var consumer = Member(factory, Name("group"), "member-a", topic);
        var read = ReadExactly(consumer, positions.Count);

        Assert.Equal(positions.Order(PositionOrder), read.Select(r => r.Position).Order(PositionOrder));
        Assert.Null(consumer.Consume(Quiet, Ct));
    }

    [Fact]
    public async Task ANewMemberResumesAfterTheCommittedOffsetAndUncommittedRecordsAreRedelivered()
    {
        var topic = Name("resume");
        var factory = Factory(new TopicSpec(topic, 2));
        var positions = await ProduceMany(factory, topic, keys: 10, perKey: 3);
        var byPartition = positions.GroupBy(p => p.Partition).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(2, byPartition.Count);
        var group = Name("group");

        var committedPartition = byPartition.Keys.Min();
        var otherPartition = byPartition.Keys.Max();
        var commitAt = byPartition[committedPartition] / 2;
        using (var first = Member(factory, group, "member-a", topic))
        {
            var read = ReadExactly(first, positions.Count);
            Assert.Equal(positions.Count, read.Count);
            // Only part of one partition is committed; the rest was read but not committed, as when a consumer crashes.
            first.Commit([new StreamPosition(topic, committedPartition, commitAt)]);
        }

        using var second = Member(factory, group, "member-b", topic);
        var again = ReadExactly(second, byPartition[committedPartition] - commitAt + byPartition[otherPartition]);
        Assert.Null(second.Consume(Quiet, Ct));

        var fromCommitted = again.Where(r => r.Partition == committedPartition).Select(r => r.Offset).ToList();
        Assert.Equal(Enumerable.Range(commitAt, byPartition[committedPartition] - commitAt).Select(i => (long)i), fromCommitted);
        var fromStart = again.Where(r => r.Partition == otherPartition).Select(r => r.Offset).ToList();
        Assert.Equal(Enumerable.Range(0, byPartition[otherPartition]).Select(i => (long)i), fromStart);
    }

    [Fact]
    public async Task TwoMembersSplitThePartitionsAndTheRevokedMemberCommitsInOnRevoked()
    {
        var topic = Name("split");
        var factory = Factory(new TopicSpec(topic, 4));
        var group = Name("group");
        var firstBatch = await ProduceMany(factory, topic, keys: 16, perKey: 2);
        Assert.Equal(4, firstBatch.Select(p => p.Partition).Distinct().Count());

        var listenerA = new RecordingListener();
        using var a = Track(factory.CreateConsumer(group, "member-a"));
        listenerA.Consumer = a;
        a.Subscribe([topic], listenerA);
        var readByA = new List<StreamRecord>();
        foreach (var record in ReadExactly(a, firstBatch.Count))
        {
            readByA.Add(record);
            listenerA.Processed(record);
        }
        Assert.Equal(4, a.Assignment.Count);
        Assert.Equal(AllPartitions(topic, 4), listenerA.Assigned.Order(PartitionOrder));

        // B joins; A commits, in OnRevoked, what it has processed of the partitions it loses.
        var listenerB = new RecordingListener();
        using var b = Track(factory.CreateConsumer(group, "member-b"));
        listenerB.Consumer = b;
        b.Subscribe([topic], listenerB);
        var secondBatch = await ProduceMany(factory, topic, keys: 16, perKey: 2, round: 1);

        var readByB = new List<StreamRecord>();
        var clock = Stopwatch.StartNew();
        while (readByA.Count + readByB.Count < firstBatch.Count + secondBatch.Count)
        {
            Assert.True(clock.Elapsed < Patience, $"A read {readByA.Count}, B {readByB.Count} of {firstBatch.Count + secondBatch.Count}");
            if (a.Consume(Poll, Ct) is { } fromA)
            {
                readByA.Add(fromA);
                listenerA.Processed(fromA);
            }
            if (b.Consume(Poll, Ct) is { } fromB)
            {
                readByB.Add(fromB);
                listenerB.Processed(fromB);
            }
        }
        // A rebalance completes asynchronously (on Kafka, at the members' next heartbeats and
        // JoinGroup round): A may have read everything before B got its share, so wait for it.
        Settle(topic, 4, a, b);
        Assert.Null(a.Consume(Quiet, Ct));
        Assert.Null(b.Consume(Quiet, Ct));

        // Each record read by exactly one member: nothing A processed was read again by B.
        var all = readByA.Concat(readByB).Select(r => r.Position).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.Equal(firstBatch.Concat(secondBatch).Order(PositionOrder), all.Order(PositionOrder));

        Assert.NotEmpty(a.Assignment);
        Assert.NotEmpty(b.Assignment);
        Assert.Empty(a.Assignment.Intersect(b.Assignment));
        Assert.Equal(AllPartitions(topic, 4), a.Assignment.Concat(b.Assignment).Order(PartitionOrder));
        Assert.NotEmpty(listenerA.Revoked);
        Assert.Empty(listenerB.Revoked);
        // B owns what A gave up (an eager rebalance may also revoke and reassign A's own).
        Assert.Subset(listenerA.Revoked.ToHashSet(), b.Assignment.ToHashSet());
        Assert.Subset(listenerB.Assigned.ToHashSet(), b.Assignment.ToHashSet());
        Assert.All(readByB, r => Assert.Contains(r.ToTopicPartition(), b.Assignment));
        Assert.Equal(0, listenerA.CommitFailures);
    }

    [Fact]
    public async Task WhenAMemberLeavesWithoutCommittingTheOtherTakesItsPartitionsFromTheCommittedOffset()
    {
        var topic = Name("leave");
        var factory = Factory(new TopicSpec(topic, 2));
        var group = Name("group");
        using var a = Member(factory, group, "member-a", topic);
        var b = Member(factory, group, "member-b", topic);
        Settle(topic, 2, a, b);

        var positions = await ProduceMany(factory, topic, keys: 10, perKey: 4);
        var bPartition = Assert.Single(b.Assignment).Partition;
        var aPartition = Assert.Single(a.Assignment).Partition;
        var inB = positions.Count(p => p.Partition == bPartition);
        var inA = positions.Count(p => p.Partition == aPartition);
        Assert.True(inB >= 2 && inA >= 1, "both partitions need records");

        // B reads all of its partition, commits only the first half, then crashes.
        var readByB = ReadExactly(b, inB);
        Assert.All(readByB, r => Assert.Equal(bPartition, r.Partition));
        var committed = inB / 2;
        b.Commit([new StreamPosition(topic, bPartition, committed)]);
        b.Dispose();

        var readByA = ReadExactly(a, inA + (inB - committed));
        Assert.Null(a.Consume(Quiet, Ct));
        Assert.Equal(Enumerable.Range(0, inA).Select(i => (long)i), readByA.Where(r => r.Partition == aPartition).Select(r => r.Offset));
        Assert.Equal(Enumerable.Range(committed, inB - committed).Select(i => (long)i), readByA.Where(r => r.Partition == bPartition).Select(r => r.Offset));
        Assert.Equal(AllPartitions(topic, 2), a.Assignment.Order(PartitionOrder));
    }

    [Fact]
    public async Task TwoGroupsEachReadEverything()
    {
        var topic = Name("fanout");
        var factory = Factory(new TopicSpec(topic, 3));
        var positions = await ProduceMany(factory, topic, keys: 6, perKey: 5);

        using var ledgerNode1 = Member(factory, Name("group-1"), "member", topic);
        using var ledgerNode2 = Member(factory, Name("group-2"), "member", topic);
        var one = ReadExactly(ledgerNode1, positions.Count);
        var two = ReadExactly(ledgerNode2, positions.Count);

        Assert.Equal(positions.Order(PositionOrder), one.Select(r => r.Position).Order(PositionOrder));
        Assert.Equal(positions.Order(PositionOrder), two.Select(r => r.Position).Order(PositionOrder));
    }

    [Fact]
    public void ConsumeReturnsNullWhenNothingArrivesInTime()
    {
        var topic = Name("empty");
        var factory = Factory(new TopicSpec(topic, 2));
        using var consumer = Member(factory, Name("group"), "member-a", topic);

        Assert.Null(consumer.Consume(Poll, Ct));
        Assert.Null(consumer.Consume(TimeSpan.Zero, Ct));
    }

    [Fact]
    public async Task ConsumeHonoursCancellationAndTheConsumerStillWorksAfterwards()
    {
        var topic = Name("cancel");
        var factory = Factory(new TopicSpec(topic, 1));
        using var consumer = Member(factory, Name("group"), "member-a", topic);

        using (var cancelled = new CancellationTokenSource())
        {
            cancelled.Cancel();
            Assert.ThrowsAny<OperationCanceledException>(() => consumer.Consume(Patience, cancelled.Token));
        }

        using (var cancelLater = CancellationTokenSource.CreateLinkedTokenSource(Ct))
        {
            // Waits far longer than the test may run, unless the cancellation ends it.
            var waiting = Task.Run(() => consumer.Consume(TimeSpan.FromHours(1), cancelLater.Token), Ct);
            await Task.Delay(Poll, Ct);
            cancelLater.Cancel();
            var finished = await Task.WhenAny(waiting, Task.Delay(Patience, Ct));
            Assert.Same(waiting, finished);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        }

        using (var producer = Track(factory.CreateProducer()))
            await producer.ProduceAsync(topic, "k", "after"u8.ToArray(), Ct);
        var record = Assert.Single(ReadExactly(consumer, 1));
        Assert.Equal("after", Encoding.UTF8.GetString(record.Value.Span));
    }

    [Fact]
    public async Task CommittingAPartitionNotAssignedThrowsAndCommitsNothing()
    {
        var topic = Name("fenced");
        var other = Name("other");
        var factory = Factory(new TopicSpec(topic, 2), new TopicSpec(other, 1));
        var group = Name("group");
        using var a = Member(factory, group, "member-a", topic);
        var b = Member(factory, group, "member-b", topic);
        Settle(topic, 2, a, b);
        var positions = await ProduceMany(factory, topic, keys: 10, perKey: 2);
        var bPartition = Assert.Single(b.Assignment);
        var inB = positions.Count(p => p.Partition == bPartition.Partition);

        Assert.ThrowsAny<InvalidOperationException>(() => a.Commit([new StreamPosition(topic, bPartition.Partition, inB)]));
        Assert.ThrowsAny<InvalidOperationException>(() => a.Commit([new StreamPosition(other, 0, 1)]));

        // B leaves without committing: had A's commit counted, A would now start B's partition at its end.
        b.Dispose();
        var read = ReadExactly(a, positions.Count);
        Assert.Equal(positions.Order(PositionOrder), read.Select(r => r.Position).Order(PositionOrder));
    }

    // ---- helpers a subclass gets for free ----

    protected static string Name(string what) => $"gt-test-{what}-{Guid.NewGuid():N}";

    private static readonly Comparer<StreamPosition> PositionOrder = Comparer<StreamPosition>.Create((x, y) =>
    {
        var c = string.CompareOrdinal(x.Topic, y.Topic);
        if (c == 0)
            c = x.Partition.CompareTo(y.Partition);
        return c != 0 ? c : x.Offset.CompareTo(y.Offset);
    });

    private static readonly Comparer<TopicPartition> PartitionOrder = Comparer<TopicPartition>.Create((x, y) =>
    {
        var c = string.CompareOrdinal(x.Topic, y.Topic);
        return c != 0 ? c : x.Partition.CompareTo(y.Partition);
    });

    private static TopicPartition[] AllPartitions(string topic, int count) =>
        Enumerable.Range(0, count).Select(p => new TopicPartition(topic, p)).ToArray();

    private IStreamClientFactory Factory(params TopicSpec[] topics) => Track(CreateFactory(topics));

    private T Track<T>(T item)
        where T : notnull
    {
        _created.Add(item);
        return item;
    }

    private IStreamConsumer Member(IStreamClientFactory factory, string group, string name, string topic)
    {
        var consumer = Track(factory.CreateConsumer(group, name));
        consumer.Subscribe([topic]);
        return consumer;
    }

    private async Task<List<StreamPosition>> ProduceMany(IStreamClientFactory factory, string topic, int keys, int perKey, int round = 0)
    {
        using var producer = Track(factory.CreateProducer());
        var positions = new List<StreamPosition>();
        for (var i = 0; i < perKey; i++)
        {
            for (var k = 0; k < keys; k++)
                positions.Add(await producer.ProduceAsync(topic, $"key-{k}", Encoding.UTF8.GetBytes($"{round}/{k}/{i}"), Ct));
        }
        return positions;
    }

    /// <summary>Reads exactly <paramref name="count"/> records; fails if they do not all arrive within <see cref="Patience"/>.</summary>
    private List<StreamRecord> ReadExactly(IStreamConsumer consumer, int count)
    {
        var read = new List<StreamRecord>(count);
        var clock = Stopwatch.StartNew();
        while (read.Count < count)
        {
            Assert.True(clock.Elapsed < Patience, $"read {read.Count} of {count} records");
            if (consumer.Consume(Poll, Ct) is { } record)
                read.Add(record);
        }
        return read;
    }

    /// <summary>Polls the members of a group (on an empty topic) until they hold disjoint shares covering every partition.</summary>
    private void Settle(string topic, int partitions, params IStreamConsumer[] members)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            foreach (var member in members)
                Assert.Null(member.Consume(Poll, Ct)); // the topic is still empty
            var assigned = members.SelectMany(m => m.Assignment).ToList();
            if (members.All(m => m.Assignment.Count > 0) && assigned.Count == partitions && assigned.Distinct().Count() == partitions)
                break;
            Assert.True(clock.Elapsed < Patience, $"the group did not settle: {string.Join(" | ", members.Select(m => string.Join(",", m.Assignment)))}");
        }
        Assert.Equal(AllPartitions(topic, partitions), members.SelectMany(m => m.Assignment).Order(PartitionOrder));
    }

    /// <summary>Records the rebalance callbacks and, like a real stage, commits its processed offsets for what it loses.</summary>
    private sealed class RecordingListener : IPartitionListener
    {
        private readonly Dictionary<TopicPartition, long> _next = [];

        public IStreamConsumer? Consumer { get; set; }

        public List<TopicPartition> Assigned { get; } = [];

        public List<TopicPartition> Revoked { get; } = [];

        public int CommitFailures { get; private set; }

        public void Processed(StreamRecord record) => _next[record.ToTopicPartition()] = record.Offset + 1;

        public List<TopicPartition> Lost { get; } = [];

        public void OnAssigned(IReadOnlyCollection<TopicPartition> partitions) => Assigned.AddRange(partitions);

        public void OnLost(IReadOnlyCollection<TopicPartition> partitions) => Lost.AddRange(partitions);

        public void OnRevoked(IReadOnlyCollection<TopicPartition> partitions)
        {
            Revoked.AddRange(partitions);
            try
            {
                Consumer!.Commit(partitions.Where(_next.ContainsKey).Select(tp => new StreamPosition(tp.Topic, tp.Partition, _next[tp])).ToList());
            }
            catch (InvalidOperationException)
            {
                CommitFailures++;
                throw;
            }
            foreach (var tp in partitions)
                _next.Remove(tp);
        }
    }
}

internal static class StreamRecordExtensions
{
    public static TopicPartition ToTopicPartition(this StreamRecord record) => new(record.Topic, record.Partition);
}
