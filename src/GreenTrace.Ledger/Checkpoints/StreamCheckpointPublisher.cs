using System.Text;
using GreenTrace.Streaming;

namespace GreenTrace.Ledger.Checkpoints;

/// <summary>Publishes a node's checkpoint signatures on the checkpoints topic, keyed by node name; the producer is made on first use.</summary>
public sealed class StreamCheckpointPublisher : ICheckpointPublisher, IDisposable
{
    private readonly IStreamClientFactory _streams;
    private readonly string _topic;
    private IStreamProducer? _producer;

    public StreamCheckpointPublisher(IStreamClientFactory streams, string topic)
    {
        ArgumentNullException.ThrowIfNull(streams);
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        _streams = streams;
        _topic = topic;
    }

    /// <summary>Ends a wait for the stream's acknowledgement, so a node stops even while the brokers are away.</summary>
    public CancellationToken Cancellation { get; set; }

    public void Publish(string nodeName, string signedNote)
    {
        _producer ??= _streams.CreateProducer();
        // Waited for: the cosigner stores the checkpoint as published only once the stream has it.
        _producer.ProduceAsync(_topic, nodeName, Encoding.UTF8.GetBytes(signedNote), Cancellation).GetAwaiter().GetResult();
    }

    public void Dispose() => _producer?.Dispose();
}
