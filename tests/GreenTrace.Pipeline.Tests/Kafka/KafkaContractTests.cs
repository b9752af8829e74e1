using GreenTrace.Pipeline.Tests.Streaming;
using GreenTrace.Streaming;

namespace GreenTrace.Pipeline.Tests.Kafka;

/// <summary>The stream contract against the real Kafka 0.9.0.1 broker through the adapter's 0.9 profile.</summary>
[Collection(KafkaCollection.Name)]
public sealed class KafkaContractTests(KafkaFixture kafka) : StreamContractTests
{
    /// <summary>A rebalance on 0.9 takes a heartbeat or two (3 s apart) plus the sync; this is only the safety net.</summary>
    protected override TimeSpan Patience => TimeSpan.FromSeconds(90);

    protected override TimeSpan Poll => TimeSpan.FromMilliseconds(100);

    /// <summary>Long enough for a record in flight to arrive: librdkafka fetches in batches, waiting up to fetch.wait.max.ms (500 ms).</summary>
    protected override TimeSpan Quiet => TimeSpan.FromSeconds(1.5);

    protected override IStreamClientFactory CreateFactory(IReadOnlyList<TopicSpec> topics)
    {
        kafka.CreateTopics(topics);
        return kafka.Factory();
    }
}
