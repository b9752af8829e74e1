using GreenTrace.Core.Ledger;

namespace GreenTrace.Ledger.Storage;

/// <summary>An appended entry with what the node indexes it by.</summary>
public sealed record StoredEntry(long Index, byte[] EntryId, EntryKind Kind, string Author, string? MeterId, byte[]? CertificateId, byte[] Encoded, byte[] LeafHash);

/// <summary>A checkpoint this node signed (its note may carry cosignatures later).</summary>
public sealed record StoredCheckpoint(long Size, byte[] Root, string Note, long SignedAt);

/// <summary>
/// Where a ledger node keeps its log. The log is append-only: there is no update or delete, and
/// an append of the wrong index fails, so two writers cannot interleave.
/// </summary>
public interface ILedgerStore : IDisposable
{
    long Count { get; }

    /// <summary>Appends atomically: all of <paramref name="entries"/> or none. Indexes must continue the log, else <see cref="LedgerAppendConflictException"/>.</summary>
    void Append(IReadOnlyList<StoredEntry> entries);

    IEnumerable<StoredEntry> ReadAll();

    /// <summary>Entries with <paramref name="fromIndex"/> &lt;= index &lt; <paramref name="toExclusive"/>, in log order.</summary>
    IEnumerable<StoredEntry> ReadRange(long fromIndex, long toExclusive);

    StoredEntry? Get(long index);

    StoredEntry? FindCertificate(ReadOnlySpan<byte> certificateId);

    StoredEntry? FindDevice(string meterId);

    void SaveCheckpoint(StoredCheckpoint checkpoint);

    StoredCheckpoint? LatestCheckpoint();

    /// <summary>Every checkpoint, smallest size first.</summary>
    IReadOnlyList<StoredCheckpoint> Checkpoints();

    void RecordRejection(ReadOnlySpan<byte> entryId, string code, string message, long at);
}
