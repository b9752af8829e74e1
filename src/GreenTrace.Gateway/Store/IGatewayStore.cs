using GreenTrace.Core.Readings;

namespace GreenTrace.Gateway.Store;

/// <summary>What the gateway has accepted of each meter: the basis of the duplicate, replay and register checks.</summary>
public interface IMeterHistory
{
    /// <summary>The meter's accepted reading with the highest sequence number, or null before its first.</summary>
    Reading? LastAccepted(string meterId);

    /// <summary>The accepted reading with this sequence number, or null if none is remembered.</summary>
    Reading? FindAccepted(string meterId, ulong sequence);

    /// <summary>
    /// The accepted readings just below and just above <paramref name="sequence"/> (either may be null): what a
    /// reading that arrives late, after later ones were accepted, must fit between.
    /// </summary>
    (Reading? Before, Reading? After) Neighbours(string meterId, ulong sequence);

    /// <summary>
    /// The lowest sequence number from which this history is complete for the meter: below it, readings may have
    /// been accepted and forgotten, so a reading that old cannot be shown to be new. 0 for a complete history.
    /// </summary>
    ulong CompleteFrom(string meterId);
}

/// <summary>
/// Where the gateway's verdicts go: accepted readings onto the readings stream, refusals with their raw
/// bytes onto the rejected stream, duplicates into the books. Every gateway that shares the load must
/// share one store, so that two gateways cannot both accept one reading: an append succeeds only if
/// the meter's history is still what the gateway validated against (optimistic concurrency).
/// </summary>
public interface IGatewayStore : IMeterHistory
{
    /// <summary>
    /// Appends <paramref name="reading"/> if the meter's last accepted sequence is still
    /// <paramref name="expectedLastSequence"/>; returns false, appending nothing, if another gateway got
    /// there first (the caller validates again). Once it returns every gateway sees the reading; it is
    /// durable once a later <see cref="FlushAsync"/> completes.
    /// </summary>
    Task<bool> TryAppendAcceptedAsync(DecodedReading reading, ulong? expectedLastSequence, string gatewayId, CancellationToken cancellationToken);

    /// <summary>Durably records a refusal.</summary>
    Task AppendRejectedAsync(RejectedReading rejected, CancellationToken cancellationToken);

    /// <summary>Records that an already accepted reading arrived again (dropped, counted, not an error).</summary>
    Task RecordDuplicateAsync(Reading reading, string gatewayId, CancellationToken cancellationToken);

    /// <summary>
    /// Makes everything recorded so far durable. The gateway acknowledges messages to the broker only after
    /// this, so one flush (one disk sync) covers every verdict recorded while the previous one ran.
    /// </summary>
    Task FlushAsync(CancellationToken cancellationToken);
}
