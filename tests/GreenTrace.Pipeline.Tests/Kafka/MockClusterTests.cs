using System.Diagnostics;
using System.Text;
using GreenTrace.Pipeline.Tests.Streaming;
using GreenTrace.Streaming;
using GreenTrace.Streaming.Kafka;

namespace GreenTrace.Pipeline.Tests.Kafka;

/// <summary>
/// The production configuration (Modern profile: idempotent producer, acks=all, cooperative-sticky
/// consumers) against librdkafka's 3-broker mock cluster, which, unlike the real 0.9 broker here,
/// has idempotence and can lose a partition leader on demand.
/// </summary>
public sealed class MockClusterTests : IDisposable
{
    private readonly MockCluster _cluster = new(brokers: 3);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _cluster.Dispose();

    [Fact]
    public async Task TheLeaderGoingDownMidStreamLosesDuplicatesAndReordersNothing()
    {
        const string topic = "gt.readings";
        const int partitions = 4;
        _cluster.CreateTopic(topic, partitions);
        for (var p = 0; p < partitions; p++)
            _cluster.SetLeader(topic, p, 1);
        var factory = _cluster.Factory();
        var keys = Enumerable.Range(0, 24).Select(i => $"meter-{i:000}").ToArray();
        const int perKey = 150;

        // Pipelined, as the gateway does: the calls are made in order, their acknowledgements awaited later.
        var sent = new List<(string Key, string Value, Task<StreamPosition> Ack)>();
        using (var producer = factory.CreateProducer())
        {
            for (var i = 0; i < perKey; i++)
            {
                if (i == perKey / 3)
                    _cluster.BrokerDown(1);
                if (i == perKey / 2)
                {
                    // Leadership moves while the old leader is down (an election), and later it returns.
                    for (var p = 0; p < partitions; p++)
                        _cluster.SetLeader(topic, p, 2);
                }
                if (i == 2 * perKey / 3)
                    _cluster.BrokerUp(1);
                foreach (var key in keys)
                {
                    var value = $"{key}/{i}";
                    sent.Add((key, value, producer.ProduceAsync(topic, key, Encoding.UTF8.GetBytes(value), Ct)));
                }
                if (i % 10 == 0)
                    await Task.Delay(20, Ct); // let some batches go out before the failures land
            }
            await Task.WhenAll(sent.Select(s => s.Ack));
        }

        var acknowledged = sent.Select(s => (s.Key, s.Value, Position: s.Ack.Result)).ToList();
        Assert.All(acknowledged, a => Assert.Equal(Partitioner.PartitionFor(a.Key, partitions), a.Position.Partition));
        Assert.Equal(acknowledged.Count, acknowledged.Select(a => a.Position).Distinct().Count());

        using var consumer = factory.CreateConsumer($"check-{Guid.NewGuid():N}", "checker");
        consumer.Subscribe([topic]);
        var read = new List<StreamRecord>();
        var clock = Stopwatch.StartNew();
        while (read.Count < acknowledged.Count)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), $"read {read.Count} of {acknowledged.Count}");
            if (consumer.Consume(TimeSpan.FromMilliseconds(200), Ct) is { } record)
                read.Add(record);
        }
        Assert.Null(consumer.Consume(TimeSpan.FromSeconds(1), Ct));

        // Exactly once: every value once, nothing else; in order per key; at the offset the producer was told.
        Assert.Equal(acknowledged.Select(a => a.Value).Order(), read.Select(r => Encoding.UTF8.GetString(r.Value.Span)).Order());
        foreach (var key in keys)
        {
            Assert.Equal(Enumerable.Range(0, perKey).Select(i => $"{key}/{i}"), read.Where(r => r.Key == key).Select(r => Encoding.UTF8.GetString(r.Value.Span)));
        }
        var byPosition = read.ToDictionary(r => r.Position, r => Encoding.UTF8.GetString(r.Value.Span));
        Assert.All(acknowledged, a => Assert.Equal(a.Value, byPosition[a.Position]));
        foreach (var partition in read.GroupBy(r => r.Partition))
            Assert.Equal(Enumerable.Range(0, partition.Count()).Select(i => (long)i), partition.Select(r => r.Offset));
    }

    [Fact]
    public async Task ARecordThatCannotBeDeliveredFailsItsProduceInsteadOfReturning()
    {
        const string topic = "gt.readings";
        _cluster.CreateTopic(topic, 2);
        var factory = _cluster.Factory(o => o.Producer["message.timeout.ms"] = "2000");
        using var producer = factory.CreateProducer();
        var first = await producer.ProduceAsync(topic, "meter-1", "delivered"u8.ToArray(), Ct);
        Assert.Equal(0, first.Offset);

        for (var b = 1; b <= _cluster.Brokers; b++)
            _cluster.BrokerDown(b);
        var failed = await Assert.ThrowsAsync<KafkaStreamException>(() => producer.ProduceAsync(topic, "meter-1", "lost"u8.ToArray(), Ct));
        Assert.Contains("not delivered", failed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CooperativeRebalancingMovesOnlyThePartitionsTheJoiningMemberTakes()
    {
        const string topic = "gt.readings";
        _cluster.CreateTopic(topic, 4);
        await Rebalancing.JoinAndLeaveMoveOnlyWhatMustMove(_cluster.Factory(), topic);
    }
}

/// <summary>The stream contract on the mock cluster with the production (Modern) profile: the cooperative path.</summary>
public sealed class MockClusterContractTests : StreamContractTests
{
    private readonly MockCluster _cluster = new(brokers: 3);

    protected override TimeSpan Quiet => TimeSpan.FromSeconds(1);

    protected override TimeSpan Poll => TimeSpan.FromMilliseconds(100);

    protected override IStreamClientFactory CreateFactory(IReadOnlyList<TopicSpec> topics)
    {
        foreach (var topic in topics)
            _cluster.CreateTopic(topic.Name, topic.Partitions);
        return _cluster.Factory();
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
            _cluster.Dispose();
    }
}
