using GreenTrace.Core.Readings;

namespace GreenTrace.Core.Certificates;

/// <summary>
/// The evidence behind every certificate: its signed readings in reading-tree order. It is also
/// the aggregator's memory of what is already certified, which is what makes replaying the
/// readings stream after a crash harmless: a reading already in a certificate is never counted
/// again, and a late one goes to the next supplementary part.
/// </summary>
public interface IReadingArchive
{
    /// <summary>
    /// Records a certificate, its readings and its signed ledger entry atomically, before the entry
    /// is sent, so nothing on the ledger lacks its evidence and nothing archived is left unsent
    /// (the entry waits in the archive, an outbox, until <see cref="MarkSubmitted"/>). Storing the
    /// same certificate again is a no-op; a reading already in another certificate is a bug and throws.
    /// </summary>
    void Store(GranularCertificate certificate, IReadOnlyList<DecodedReading> readings, ReadOnlyMemory<byte> ledgerEntry);

    /// <summary>
    /// Records many certificates in one transaction (one disk sync). Returns the ids of those it refused
    /// because another certificate already holds their (meter, hour, part) or one of their readings: in a
    /// consumer group that shares one archive, a member that lost a race. The rest are stored.
    /// </summary>
    IReadOnlyList<byte[]> Store(IReadOnlyList<ArchivedCertificate> certificates);

    /// <summary>The certificate's entry is durably on the ledger stream.</summary>
    void MarkSubmitted(ReadOnlySpan<byte> certificateId);

    /// <summary>These certificates' entries are durably on the ledger stream (one transaction).</summary>
    void MarkSubmitted(IReadOnlyCollection<byte[]> certificateIds);

    /// <summary>Entries archived but not yet known to be on the ledger stream (a crash came between), oldest first.</summary>
    IReadOnlyList<PendingSubmission> Unsubmitted();

    /// <summary>The readings of a certificate in tree order, or null if it is unknown.</summary>
    IReadOnlyList<byte[]>? Load(ReadOnlySpan<byte> certificateId);

    /// <summary>The certified reading with this meter and sequence (its COSE bytes), or null.</summary>
    byte[]? FindCertified(string meterId, ulong sequence);

    /// <summary>
    /// Records consumption readings (never certified, kept for buyers' hourly matching) in one transaction. A reading
    /// whose (meter, sequence) is already archived is left as it is: the caller checks content with <see cref="FindConsumption"/>.
    /// </summary>
    void StoreConsumption(IReadOnlyList<DecodedReading> readings);

    /// <summary>The archived consumption reading with this meter and sequence (its COSE bytes), or null.</summary>
    byte[]? FindConsumption(string meterId, ulong sequence);

    /// <summary>The part number the next certificate for this meter and hour gets (0 if none was issued).</summary>
    int NextPart(string meterId, long hourStart);
}

/// <summary>A signed certificate entry waiting to be sent to the ledger stream.</summary>
public sealed record PendingSubmission(byte[] CertificateId, string MeterId, byte[] Entry);

/// <summary>A certificate, its readings in tree order and its signed ledger entry, as archived together.</summary>
public sealed record ArchivedCertificate(GranularCertificate Certificate, IReadOnlyList<DecodedReading> Readings, byte[] LedgerEntry);
