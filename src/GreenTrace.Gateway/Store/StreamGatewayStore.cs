using GreenTrace.Core.Readings;
using GreenTrace.Streaming;

namespace GreenTrace.Gateway.Store;

/// <summary>
/// The embedded pipeline's store: verdicts go straight onto the stream, the history lives in memory.
/// Right for one gateway; gateways sharing the load need a shared store such as <see cref="SqliteGatewayStore"/>.
/// Appends for one meter are serialised so the history check and the produce cannot interleave.
/// </summary>
public sealed class StreamGatewayStore : IGatewayStore, IDisposable
{
    private readonly IStreamProducer _producer;
    private readonly InMemoryMeterHistory _history;
    private readonly SemaphoreSlim _appendGate = new(1, 1);

    public StreamGatewayStore(IStreamClientFactory streams, int duplicateWindow)
    {
        ArgumentNullException.ThrowIfNull(streams);
        _history = new InMemoryMeterHistory(duplicateWindow);
        _producer = streams.CreateProducer();
    }

    public Reading? LastAccepted(string meterId) => _history.LastAccepted(meterId);

    public Reading? FindAccepted(string meterId, ulong sequence) => _history.FindAccepted(meterId, sequence);

    public (Reading? Before, Reading? After) Neighbours(string meterId, ulong sequence) => _history.Neighbours(meterId, sequence);

    public ulong CompleteFrom(string meterId) => _history.CompleteFrom(meterId);

    public async Task<bool> TryAppendAcceptedAsync(DecodedReading reading, ulong? expectedLastSequence, string gatewayId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reading);
        await _appendGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var r = reading.Reading;
            if (LastAccepted(r.MeterId)?.Sequence != expectedLastSequence || FindAccepted(r.MeterId, r.Sequence) is not null)
                return false;
            // Produce first: a reading is remembered only once the stream has it, so a failed hand-off is
            // not later mistaken for a duplicate when the broker redelivers it.
            await _producer.ProduceAsync(Topics.Readings, r.MeterId, reading.Encoded, cancellationToken).ConfigureAwait(false);
            return _history.TryRecord(r, expectedLastSequence);
        }
        finally
        {
            _appendGate.Release();
        }
    }

    public Task AppendRejectedAsync(RejectedReading rejected, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rejected);
        return _producer.ProduceAsync(Topics.RejectedReadings, rejected.MeterId ?? rejected.SourceTopic ?? "", rejected.ToJsonBytes(), cancellationToken);
    }

    public Task RecordDuplicateAsync(Reading reading, string gatewayId, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Nothing to do: a produce completes only once the stream has the record durably.</summary>
    public Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        _producer.Dispose();
        _appendGate.Dispose();
    }
}
