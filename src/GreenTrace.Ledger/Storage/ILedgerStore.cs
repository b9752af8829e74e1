using GreenTrace.Core.Ledger;

namespace GreenTrace.Ledger.Storage;

/// <summary>An appended entry with what the node indexes it by.</summary>
public sealed record StoredEntry(long Index, byte[] EntryId, EntryKind Kind, string Author, string? MeterId, byte[]? CertificateId, byte[] Encoded, byte[] LeafHash);

/// <summary>
/// A checkpoint this node signed; its note gathers the other nodes' cosignatures as they arrive.
/// <paramref name="SignatureCount"/> is how many distinct trusted nodes' signatures the note carries
/// (the node counts them before saving), so the store can find the latest one with a quorum.
/// </summary>
public sealed record StoredCheckpoint(long Size, byte[] Root, string Note, long SignedAt, int SignatureCount = 1);

/// <summary>
/// Where a ledger node keeps its log. The log is append-only: there is no update or delete, and
/// an append of the wrong index fails, so two writers cannot interleave.
/// </summary>
public interface ILedgerStore : IDisposable
{
    long Count { get; }

    /// <summary>Appends atomically: all of <paramref name="entries"/> or none. Indexes must continue the log.</summary>
    void Append(IReadOnlyList<StoredEntry> entries);

    IEnumerable<StoredEntry> ReadAll();

    StoredEntry? Get(long index);

    StoredEntry? FindCertificate(ReadOnlySpan<byte> certificateId);

    StoredEntry? FindDevice(string meterId);

    /// <summary>Upserts by size: a later save for the same size replaces the note (more cosignatures);
    /// a different root for an existing size throws <see cref="InvalidOperationException"/>.</summary>
    void SaveCheckpoint(StoredCheckpoint checkpoint);

    StoredCheckpoint? GetCheckpoint(long size);

    /// <summary>The checkpoint of the largest size whose note carries at least <paramref name="minSignatures"/> node signatures.</summary>
    StoredCheckpoint? LatestCheckpoint(int minSignatures = 1);

    /// <summary>Every stored checkpoint, by size.</summary>
    IReadOnlyList<StoredCheckpoint> Checkpoints();

    void RecordRejection(ReadOnlySpan<byte> entryId, string code, string message, long at);
}
