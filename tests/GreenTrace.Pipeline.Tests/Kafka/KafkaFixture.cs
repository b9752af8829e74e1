using GreenTrace.Pipeline.Tests.Support;
using GreenTrace.Streaming;
using GreenTrace.Streaming.Kafka;

namespace GreenTrace.Pipeline.Tests.Kafka;

/// <summary>
/// One real Kafka 0.9.0.1 broker (with ZooKeeper) for every test in the <see cref="KafkaCollection"/>,
/// on free ports of 127.0.0.1 in a temp directory, stopped by PID on dispose. Tests that stop,
/// kill or restart the broker use it too (the collection runs its tests one at a time) and must
/// leave it running. If Java or the distribution is missing, starting fails (never skips) and
/// says to run scripts/install-test-deps.
/// </summary>
public sealed class KafkaFixture : IAsyncLifetime
{
    private readonly TempDirectory _temp = new();
    private KafkaProcess? _kafka;

    public KafkaProcess Kafka => _kafka ?? throw new InvalidOperationException("the Kafka fixture is not started");

    public string BootstrapServers => Kafka.BootstrapServers;

    public async ValueTask InitializeAsync() => _kafka = await KafkaProcess.StartAsync(_temp.File("kafka"));

    /// <summary>Options for this broker: the 0.9 profile, plus <paramref name="configure"/>'s pass-through settings.</summary>
    public KafkaOptions Options(Action<KafkaOptions>? configure = null)
    {
        var options = new KafkaOptions { BootstrapServers = BootstrapServers, BrokerProfile = KafkaBrokerProfile.Kafka09 };
        // librdkafka's own debug contexts (e.g. "cgrp,consumer"), written where GREENTRACE_KAFKA_TEST_LOG points.
        if (Environment.GetEnvironmentVariable("GREENTRACE_KAFKA_TEST_DEBUG") is { Length: > 0 } debug)
            options.Client["debug"] = debug;
        configure?.Invoke(options);
        return options;
    }

    public KafkaStreamClientFactory Factory(Action<KafkaOptions>? configure = null) =>
        new(Options(configure), KafkaTestLog.Factory);

    public void CreateTopics(IEnumerable<TopicSpec> topics)
    {
        ArgumentNullException.ThrowIfNull(topics);
        // A test that stopped the broker and failed before starting it again must not fail the next ones too.
        if (!Kafka.BrokerRunning)
            Kafka.StartBrokerAsync().GetAwaiter().GetResult();
        var list = topics.ToList();
        foreach (var topic in list)
            Kafka.CreateTopic(topic.Name, topic.Partitions);
        // ZooKeeper has the topic now; the broker serves it a moment later, and a consumer that
        // subscribes before then would not look again for minutes.
        using var admin = KafkaTopics.CreateAdminClient(Options());
        KafkaTopics.WaitUntilServed(admin, list.Select(t => (t.Name, t.Partitions)), TimeSpan.FromSeconds(60));
    }

    public Task StopBrokerAsync() => Kafka.StopBrokerAsync();

    public Task KillBrokerAsync() => Kafka.KillBrokerAsync();

    public Task StartBrokerAsync() => Kafka.StartBrokerAsync();

    public async ValueTask DisposeAsync()
    {
        if (_kafka is not null)
            await _kafka.DisposeAsync();
        _temp.Dispose();
    }
}

/// <summary>The tests that share the one 0.9 broker; xunit runs a collection's tests one after another.</summary>
[CollectionDefinition(Name)]
public sealed class KafkaCollection : ICollectionFixture<KafkaFixture>
{
    public const string Name = "kafka-0.9";
}
