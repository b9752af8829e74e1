namespace GreenTrace.Cli.Tests;

/// <summary><c>greentrace kafka topics</c> without a cluster (the cluster paths are in GreenTrace.Pipeline.Tests.Kafka).</summary>
public sealed class KafkaCommandTests
{
    [Fact]
    public async Task PrintCommandsRendersOneKafkaTopicsLinePerCatalogTopic()
    {
        var r = await CliRunner.RunAsync(null, "kafka", "topics", "--zookeeper", "127.0.0.1:2181", "--print-commands", "--replication-factor", "3");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(
            [
                "kafka-topics.sh --zookeeper 127.0.0.1:2181 --create --topic gt.readings --partitions 8 --replication-factor 3 --config retention.ms=604800000",
                "kafka-topics.sh --zookeeper 127.0.0.1:2181 --create --topic gt.readings.rejected --partitions 2 --replication-factor 3 --config retention.ms=2592000000",
                "kafka-topics.sh --zookeeper 127.0.0.1:2181 --create --topic gt.ledger --partitions 1 --replication-factor 3 --config retention.ms=-1",
                "kafka-topics.sh --zookeeper 127.0.0.1:2181 --create --topic gt.checkpoints --partitions 1 --replication-factor 3 --config retention.ms=-1",
            ],
            r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    [Theory]
    [InlineData("--print-commands")]
    [InlineData("--apply")]
    public async Task AModeWithoutItsAddressIsUnusableInput(string mode)
    {
        var r = await CliRunner.RunAsync(null, "kafka", "topics", mode);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(mode == "--apply" ? "--bootstrap" : "--zookeeper", r.Error, StringComparison.Ordinal);
    }
}
