using GreenTrace.Streaming;
using GreenTrace.Streaming.InProcess;

namespace GreenTrace.Pipeline.Tests.Streaming;

/// <summary>The stream contract against the embedded log.</summary>
public sealed class InProcessLogContractTests : StreamContractTests
{
    protected override IStreamClientFactory CreateFactory(IReadOnlyList<TopicSpec> topics) => new InProcessLog(topics);
}
