using System.Runtime.InteropServices;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GreenTrace.Streaming.Kafka;

/// <summary>
/// A Kafka producer whose <see cref="ProduceAsync"/> completes only once the broker has
/// persisted the record (acks=all). Thread-safe; many calls may be in flight at once, and
/// librdkafka batches them.
/// </summary>
public sealed class KafkaStreamProducer : IStreamProducer
{
    private readonly IProducer<string, byte[]> _producer;
    private readonly ILogger _logger;
    private volatile Error? _fatal;
    private bool _disposed;

    public KafkaStreamProducer(ProducerConfig config, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        _logger = logger ?? NullLogger.Instance;
        _producer = new ProducerBuilder<string, byte[]>(config)
            .SetErrorHandler((_, error) => OnError(error))
            .SetLogHandler((_, message) => KafkaLog.Write(_logger, message))
            .Build();
    }

    /// <summary>The librdkafka handle's name (e.g. "rdkafka#producer-1"), for diagnostics.</summary>
    public string Name => _producer.Name;

    public async Task<StreamPosition> ProduceAsync(string topic, string key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentNullException.ThrowIfNull(key);
        if (_fatal is { } fatal)
            throw new KafkaStreamException($"the producer failed fatally earlier and must be recreated: {fatal.Reason} ({fatal.Code})");
        // librdkafka copies the payload when the call returns, so a whole array can go as it is.
        var bytes = MemoryMarshal.TryGetArray(value, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length ? segment.Array : value.ToArray();
        DeliveryResult<string, byte[]> result;
        try
        {
            // Cancellation only stops the wait: the record may still be written (Kafka cannot take it back).
            result = await _producer.ProduceAsync(topic, new Message<string, byte[]> { Key = key, Value = bytes }, cancellationToken).ConfigureAwait(false);
        }
        catch (ProduceException<string, byte[]> e)
        {
            throw new KafkaStreamException($"record for key '{key}' was not delivered to {topic}: {e.Error.Reason} ({e.Error.Code}); persistence status {e.DeliveryResult?.Status}", e);
        }
        catch (KafkaException e)
        {
            throw new KafkaStreamException($"record for key '{key}' could not be produced to {topic}: {e.Error.Reason} ({e.Error.Code})", e);
        }
        if (result.Status != PersistenceStatus.Persisted)
            throw new KafkaStreamException($"record for key '{key}' on {topic} is {result.Status}, not persisted: it may or may not be in the stream");
        return new StreamPosition(result.Topic, result.Partition.Value, result.Offset.Value);
    }

    /// <summary>Waits for records still in flight, up to <paramref name="timeout"/>; returns how many are still not delivered.</summary>
    public int Flush(TimeSpan timeout) => _producer.Flush(timeout);

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        // Every ProduceAsync a caller still awaits gets its delivery report first; callers that
        // awaited nothing lose nothing they were told was durable.
        var left = _producer.Flush(TimeSpan.FromSeconds(30));
        if (left > 0)
            _logger.LogWarning("Producer {Name} closed with {Count} records undelivered; their ProduceAsync calls fail", _producer.Name, left);
        _producer.Dispose();
    }

    private void OnError(Error error)
    {
        if (error.IsFatal)
        {
            _fatal = error;
            _logger.LogCritical("Kafka producer {Name} failed fatally: {Reason} ({Code})", _producer.Name, error.Reason, error.Code);
        }
        else
        {
            // librdkafka retries these itself (broker down, connection reset, …); a record it gives up on fails its ProduceAsync.
            _logger.LogWarning("Kafka producer {Name}: {Reason} ({Code})", _producer.Name, error.Reason, error.Code);
        }
    }
}
