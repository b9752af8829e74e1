namespace GreenTrace.Streaming;

public interface IStreamProducer : IDisposable
{
    /// <summary>
    /// Appends a record, partitioned by <paramref name="key"/>. Completes only when the record is
    /// durable in the stream (Kafka: acknowledged by all in-sync replicas), so a caller may then
    /// acknowledge its own input.
    /// </summary>
    Task<StreamPosition> ProduceAsync(string topic, string key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default);
}
