using GreenTrace.Core.Ledger;

namespace GreenTrace.Ledger.Storage;

/// <summary>
/// An appended entry with what the node indexes it by. <see cref="CertificateId"/> is the certificate the entry
/// concerns (issued, transferred, split, claimed, withdrawn); <see cref="MeterId"/> the meter (device entries and
/// issuance). The store does not interpret <see cref="Encoded"/>.
/// </summary>
public sealed record StoredEntry(long Index, byte[] EntryId, EntryKind Kind, string Author, string? MeterId, byte[]? CertificateId, byte[] Encoded, byte[] LeafHash);

/// <summary>
/// A checkpoint of the log. <see cref="SignatureCount"/> is how many trusted node signatures <see cref="Note"/>
/// carries; the node counts them before saving, the store only compares the numbers.
/// </summary>
/// <summary>A refusal as the node recorded it: the entry's id (SHA-256 of the bytes submitted) and the ledger's reason.</summary>
public sealed record StoredRejection(byte[] EntryId, string Code, string Message, long At);

public sealed record StoredCheckpoint(long Size, byte[] Root, string Note, long SignedAt, int SignatureCount = 1);

/// <summary>
/// Where a ledger node keeps its log. The log is append-only: there is no update or delete, and an append that
/// does not continue the log fails, so two writers cannot interleave. Every implementation passes the same
/// contract suite (tests/GreenTrace.Pipeline.Tests/Ledger/LedgerStoreContract.cs).
/// </summary>
public interface ILedgerStore : IDisposable
{
    /// <summary>How many entries the store holds now (read from the store: another writer may have appended).</summary>
    long Count { get; }

    /// <summary>
    /// Appends atomically: all of <paramref name="entries"/> or none. Indexes must be contiguous and
    /// entries[0].Index must equal <see cref="Count"/>; if it does not, another writer got there first and this
    /// throws <see cref="LedgerAppendConflictException"/> (the caller reloads). Any other refusal (indexes not
    /// contiguous within the batch, an entry id already in the log) is an <see cref="InvalidOperationException"/>.
    /// </summary>
    void Append(IReadOnlyList<StoredEntry> entries);

    /// <summary>Every entry in log order, read page by page (no connection is held between pages).</summary>
    IEnumerable<StoredEntry> ReadAll();

    /// <summary>Entries with fromIndex &lt;= index &lt; toExclusive, in log order; a range past the end yields what exists.</summary>
    IEnumerable<StoredEntry> ReadRange(long fromIndex, long toExclusive);

    StoredEntry? Get(long index);

    /// <summary>The CertificateIssued entry of the certificate.</summary>
    StoredEntry? FindCertificate(ReadOnlySpan<byte> certificateId);

    /// <summary>The DeviceRegistered entry of the meter.</summary>
    StoredEntry? FindDevice(string meterId);

    /// <summary>Every entry naming the certificate, in log order.</summary>
    IReadOnlyList<StoredEntry> FindByCertificate(ReadOnlySpan<byte> certificateId);

    /// <summary>Every entry naming the meter, in log order.</summary>
    IReadOnlyList<StoredEntry> FindByMeter(string meterId);

    /// <summary>
    /// Upsert by size: a later save for the same size replaces the note unless it carries fewer signatures than
    /// the stored one (cosignatures only accumulate). A different root for a size already stored throws
    /// <see cref="InvalidOperationException"/>: that would be a fork.
    /// </summary>
    void SaveCheckpoint(StoredCheckpoint checkpoint);

    StoredCheckpoint? GetCheckpoint(long size);

    /// <summary>The checkpoint of the largest size among those with at least <paramref name="minSignatures"/> signatures.</summary>
    StoredCheckpoint? LatestCheckpoint(int minSignatures = 1);

    /// <summary>Every checkpoint, by size.</summary>
    IReadOnlyList<StoredCheckpoint> Checkpoints();

    void RecordRejection(ReadOnlySpan<byte> entryId, string code, string message, long at);

    /// <summary>The entry with this id (SHA-256 of its bytes), if the log holds it.</summary>
    StoredEntry? FindEntry(ReadOnlySpan<byte> entryId);

    /// <summary>Every refusal recorded for this entry id, oldest first: how a submitter learns the verdict of a node it does not run.</summary>
    IReadOnlyList<StoredRejection> FindRejections(ReadOnlySpan<byte> entryId);
}
