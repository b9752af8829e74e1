using GreenTrace.Streaming;
using GreenTrace.Streaming.Kafka;

namespace GreenTrace.Pipeline.Tests.Kafka;

/// <summary>pipelines/topics.json onto clusters: as kafka-topics.sh commands run against the real 0.9 broker.</summary>
[Collection(KafkaCollection.Name)]
public sealed class KafkaTopicsOn09Tests(KafkaFixture kafka)
{
    [Fact]
    public void ThePrintedCommandsCreateTheCatalogsTopicsWithTheirPartitionsAndRetention()
    {
        // The catalog's own shape under test-unique names, so the shared broker can take it whatever ran before.
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var shipped = TopicCatalog.Parse(File.ReadAllText(Path.Combine(RepositoryRoot(), "pipelines", TopicCatalog.FileName)));
        var catalog = new TopicCatalog([.. shipped.Topics, .. shipped.Topics.Select(t => t with { Name = $"{t.Name}-{suffix}" })]);
        var commands = new KafkaTopics(catalog).CreateCommands(kafka.Kafka.ZooKeeperConnect)
            .Where(c => c.Contains($"-{suffix} ", StringComparison.Ordinal))
            .ToList();
        Assert.Equal(shipped.Topics.Count, commands.Count);

        foreach (var command in commands)
        {
            var words = command.Split(' ');
            Assert.Equal("kafka-topics.sh", words[0]);
            var (code, output) = kafka.Kafka.RunTool(words[0], words[1..]);
            Assert.True(code == 0 && output.Contains("Created topic", StringComparison.Ordinal), output);
        }

        foreach (var topic in shipped.Topics)
        {
            var (code, description) = kafka.Kafka.RunTool("kafka-topics.sh", ["--zookeeper", kafka.Kafka.ZooKeeperConnect, "--describe", "--topic", $"{topic.Name}-{suffix}"]);
            Assert.Equal(0, code);
            Assert.Contains($"PartitionCount:{topic.Partitions}", description, StringComparison.Ordinal);
            Assert.Contains($"retention.ms={KafkaTopics.RetentionMs(topic.RetentionHours)}", description, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void RetentionIsHoursInMillisecondsAndNegativeMeansForever()
    {
        Assert.Equal(604_800_000L, KafkaTopics.RetentionMs(168));
        Assert.Equal(-1L, KafkaTopics.RetentionMs(-1));
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "GreenTrace.sln")))
                return dir.FullName;
        }
        throw new DirectoryNotFoundException("no GreenTrace.sln above the test binaries");
    }
}

/// <summary>
/// The AdminClient's reading of a cluster, on the mock cluster. Creating through the AdminClient is
/// not tested here: the 0.9 broker has no CreateTopics, and librdkafka's mock cluster names no
/// controller, so the AdminClient gives up waiting for one ("Failed while waiting for controller").
/// </summary>
public sealed class KafkaTopicsOnMockClusterTests : IDisposable
{
    private readonly MockCluster _cluster = new(brokers: 3);

    public void Dispose() => _cluster.Dispose();

    [Fact]
    public async Task ApplyReportsTopicsThatExistAndTheOnesWhosePartitionCountDiffers()
    {
        var catalog = TopicCatalog.Parse("""
            { "topics": [
              { "name": "gt.readings", "partitions": 8, "retentionHours": 168 },
              { "name": "gt.readings.rejected", "partitions": 2, "retentionHours": 720 },
              { "name": "gt.ledger", "partitions": 1, "retentionHours": -1 } ] }
            """);
        _cluster.CreateTopic("gt.readings", 8);
        _cluster.CreateTopic("gt.readings.rejected", 3);
        _cluster.CreateTopic("gt.ledger", 1);

        var results = await new KafkaTopics(catalog).ApplyAsync(new KafkaOptions { BootstrapServers = _cluster.BootstrapServers });

        Assert.Equal(
            [
                new TopicProvisioning("gt.readings", 8, TopicProvisioningOutcome.AlreadyExists),
                new TopicProvisioning("gt.readings.rejected", 3, TopicProvisioningOutcome.PartitionMismatch, "has 3 partitions, the catalog says 2"),
                new TopicProvisioning("gt.ledger", 1, TopicProvisioningOutcome.AlreadyExists),
            ],
            results);
    }
}
