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
    /// Records a certificate and its readings atomically, before the certificate is submitted, so
    /// nothing on the ledger lacks its evidence. Storing the same certificate again is a no-op;
    /// a reading already in another certificate is a bug and throws.
    /// </summary>
    void Store(GranularCertificate certificate, IReadOnlyList<DecodedReading> readings);

    /// <summary>The readings of a certificate in tree order, or null if it is unknown.</summary>
    IReadOnlyList<byte[]>? Load(ReadOnlySpan<byte> certificateId);

    bool IsCertified(string meterId, ulong sequence);

    /// <summary>The part number the next certificate for this meter and hour gets (0 if none was issued).</summary>
    int NextPart(string meterId, long hourStart);
}
