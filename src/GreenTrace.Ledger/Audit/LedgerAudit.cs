using GreenTrace.Core;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Merkle;
using GreenTrace.Ledger.Storage;

namespace GreenTrace.Ledger.Audit;

/// <summary>Why the audit stopped, beyond the ledger's own rule codes (<see cref="LedgerReasons"/>, <see cref="CheckpointVerificationErrors"/>).</summary>
public static class AuditReasons
{
    public const string Index = "audit-index";
    public const string LeafHash = "audit-leaf-hash";
    public const string EntryId = "audit-entry-id";
    public const string Columns = "audit-columns";
    public const string CheckpointSize = "audit-checkpoint-size";
    public const string CheckpointRoot = "audit-checkpoint-root";
    public const string CheckpointNote = "audit-checkpoint-note";
    public const string CheckpointConsistency = "audit-checkpoint-consistency";
}

public enum AuditSubject
{
    Entry,
    Checkpoint,
}

/// <summary>The first thing found wrong: an entry (by log index) or a checkpoint (by tree size).</summary>
public sealed record AuditFinding(AuditSubject Subject, long Index, byte[]? EntryId, string Code, string Message)
{
    public override string ToString() => Subject == AuditSubject.Entry
        ? $"entry {Index}{(EntryId is null ? "" : $" ({Hex.Encode(EntryId)})")}: {Code}: {Message}"
        : $"checkpoint of size {Index}: {Code}: {Message}";
}

/// <param name="Entries">Entries that passed every check (all of them when <see cref="Ok"/>).</param>
/// <param name="Checkpoints">Checkpoints that passed every check.</param>
public sealed record AuditReport(long Entries, int Checkpoints, int Devices, int Certificates, byte[] Root, AuditFinding? FirstProblem)
{
    public bool Ok => FirstProblem is null;
}

/// <summary>
/// Replays a ledger from nothing but its store and the genesis membership, trusting none of the
/// store's own bookkeeping, and names the first entry or checkpoint that is wrong. It uses only
/// <see cref="ILedgerStore"/>, so it audits any store kind the same way.
/// </summary>
public static class LedgerAudit
{
    public static AuditReport Run(ILedgerStore store, Membership genesis, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(genesis);
        using var state = new LedgerState(genesis);
        var log = new MerkleLog();

        AuditReport Report(AuditFinding? finding, int checkpoints = 0) =>
            new(log.Size, checkpoints, state.DeviceCount, state.CertificateCount, log.Root(), finding);

        foreach (var e in store.ReadAll())
        {
            ct.ThrowIfCancellationRequested();
            if (CheckEntry(e, log.Size, state) is { } finding)
                return Report(finding);
            log.AppendLeafHash(e.LeafHash);
        }

        var passed = 0;
        StoredCheckpoint? previous = null;
        foreach (var cp in store.Checkpoints().OrderBy(c => c.Size))
        {
            ct.ThrowIfCancellationRequested();
            if (CheckCheckpoint(cp, previous, log, state, genesis.Origin) is { } why)
                return Report(new AuditFinding(AuditSubject.Checkpoint, cp.Size, null, why.Code, why.Message), passed);
            previous = cp;
            passed++;
        }
        return Report(null, passed);
    }

    private static AuditFinding? CheckEntry(StoredEntry e, long expectedIndex, LedgerState state)
    {
        AuditFinding Bad(string code, string message) => new(AuditSubject.Entry, expectedIndex, e.EntryId, code, message);

        if (e.Index != expectedIndex)
            return Bad(AuditReasons.Index, $"the store holds entry {e.Index} where entry {expectedIndex} belongs (a row is missing or out of order)");
        if (!MerkleHash.Leaf(e.Encoded).AsSpan().SequenceEqual(e.LeafHash))
            return Bad(AuditReasons.LeafHash, "the stored leaf hash is not the RFC 9162 leaf hash of the stored entry bytes");
        var id = System.Security.Cryptography.SHA256.HashData(e.Encoded);
        if (!id.AsSpan().SequenceEqual(e.EntryId))
            return Bad(AuditReasons.EntryId, "the stored entry id is not the SHA-256 of the stored entry bytes");
        var decoded = LedgerEntryCodec.Decode(e.Encoded);
        if (!decoded.IsOk)
            return Bad(decoded.Error.Code, decoded.Error.Message);
        var entry = decoded.Value;
        if (ColumnMismatch(e, entry) is { } column)
            return Bad(AuditReasons.Columns, $"the stored {column} column disagrees with the entry itself");
        return state.TryApply(entry, signatureAlreadyVerified: false) is { } why ? Bad(why.Code, why.Message) : null;
    }

    private static string? ColumnMismatch(StoredEntry e, LedgerEntry entry)
    {
        if (e.Kind != entry.Kind)
            return "kind";
        if (e.Author != entry.AuthorId)
            return "author";
        if (e.MeterId != entry.MeterId)
            return "meter";
        var certificate = entry.CertificateId;
        if (certificate is null ? e.CertificateId is not null : e.CertificateId is null || !certificate.AsSpan().SequenceEqual(e.CertificateId))
            return "certificate";
        return null;
    }

    private static Rejection? CheckCheckpoint(StoredCheckpoint cp, StoredCheckpoint? previous, MerkleLog log, LedgerState state, string origin)
    {
        if (cp.Size < 0 || cp.Size > log.Size)
            return new Rejection(AuditReasons.CheckpointSize, $"checkpoint covers {cp.Size} entries, the log has {log.Size}");
        var root = log.Root(cp.Size);
        if (!root.AsSpan().SequenceEqual(cp.Root))
            return new Rejection(AuditReasons.CheckpointRoot, $"stored root is not the log's root at size {cp.Size}");
        var trust = state.TrustAt(cp.Size);
        var verified = CheckpointVerifier.Verify(cp.Note, origin, trust.Nodes, trust.Membership.Quorum);
        if (!verified.Success)
            return new Rejection(verified.Error!, verified.ErrorDetail ?? verified.Error!);
        var note = verified.Checkpoint!;
        if (note.Size != cp.Size || !note.RootHash.AsSpan().SequenceEqual(cp.Root))
            return new Rejection(AuditReasons.CheckpointNote, $"the signed note is for size {note.Size}, not the stored size {cp.Size} and root");
        if (previous is not null && previous.Size > 0)
        {
            var proof = log.ConsistencyProof(previous.Size, cp.Size);
            if (!MerkleProof.VerifyConsistency(previous.Size, cp.Size, previous.Root, note.RootHash, proof))
                return new Rejection(AuditReasons.CheckpointConsistency, $"checkpoint {cp.Size} is not consistent with checkpoint {previous.Size}");
        }
        return null;
    }
}
