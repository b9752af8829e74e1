using System.Text;
using System.Text.Json;
using GreenTrace.Core;
using GreenTrace.Core.Certificates;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Merkle;
using GreenTrace.Ledger;
using GreenTrace.Ledger.Checkpoints;
using GreenTrace.Ledger.Storage;
using Microsoft.Extensions.Options;

namespace GreenTrace.Api;

/// <summary>A certificate on the ledger with the log index of its issuance.</summary>
public sealed record IndexedCertificate(GranularCertificate Certificate, long EntryIndex);

/// <summary>
/// The ledger as the API serves it: an embedded <see cref="LedgerNode"/> (the only writer in this process; it
/// catches up when another writer appended) plus the indexes the node does not keep (certificates by meter,
/// zone and period; owner ids to keys). Submissions are serialized here so that an entry and the checkpoint
/// signed after it stay together.
/// </summary>
public sealed partial class LedgerReadModel : IDisposable
{
    private static readonly JsonSerializerOptions KeyFileJson = new() { PropertyNameCaseInsensitive = true };

    private readonly LedgerNode _node;
    private readonly IReadOnlyList<NoteSigner> _signers;
    private readonly SqliteReadingArchive? _archive;
    private readonly object _gate = new();
    private readonly List<IndexedCertificate> _certificates = [];
    private readonly Dictionary<string, byte[]> _ownerKeys = new(StringComparer.Ordinal);
    private long _indexed;

    public LedgerReadModel(ILedgerStore store, Membership genesis, IReadOnlyList<NoteSigner> signers, SqliteReadingArchive? archive)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(genesis);
        ArgumentNullException.ThrowIfNull(signers);
        // The node builds its own keys from the log; this instance only names the genesis to it. Without a key the API
        // follows a store the replicated nodes write, and submissions go through the entry stream (StreamEntrySubmitter).
        using var trust = new TrustedKeys(genesis);
        _node = signers.Count > 0 ? new LedgerNode(store, trust, signers[0]) : LedgerNode.Reader(store, trust);
        _signers = signers;
        _archive = archive;
        Genesis = genesis;
        lock (_gate)
        {
            Refresh();
            // A store written by others may have no quorum checkpoint of its tip; proofs need one.
            if (signers.Count > 0 && _node.Size > 0 && (_node.LatestCheckpoint()?.Size ?? 0) < _node.Size)
                SignCheckpoint();
        }
    }

    /// <summary>False when the API follows the replicated nodes' store: it then writes nothing and signs nothing.</summary>
    public bool IsWriter => _signers.Count > 0;

    public Membership Genesis { get; }

    public LedgerNode Node => _node;

    public bool HasArchive => _archive is not null;

    public static LedgerReadModel Open(IOptions<ApiOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options.Value;
        if (string.IsNullOrWhiteSpace(o.Store))
            throw new InvalidOperationException("Api:Store is not set: name a ledger store spec");
        if (string.IsNullOrWhiteSpace(o.TrustFile))
            throw new InvalidOperationException("Api:TrustFile is not set: name the genesis membership");
        var genesis = Membership.FromJson(File.ReadAllText(o.TrustFile));
        var signers = o.NodeKeyFiles.Select(LoadNodeKey).ToList();
        var archive = o.ArchivePath is { Length: > 0 } path ? new SqliteReadingArchive(path) : null;
        var store = LedgerStores.Open(o.Store);
        try
        {
            return new LedgerReadModel(store, genesis, signers, archive);
        }
        catch
        {
            store.Dispose();
            archive?.Dispose();
            foreach (var s in signers)
                s.Dispose();
            throw;
        }
    }

    /// <summary>A node key file as `ledger init` writes it ({"checkpointKey": ...}), or a file with only the key string.</summary>
    public static NoteSigner LoadNodeKey(string path)
    {
        var text = File.ReadAllText(path).Trim();
        if (text.StartsWith('{'))
        {
            var file = JsonSerializer.Deserialize<NodeKeyFile>(text, KeyFileJson);
            text = file?.CheckpointKey ?? throw new FormatException($"node key {path} has no checkpointKey");
        }
        return NoteSigner.FromPrivateKeyString(text);
    }

    public StoredCheckpoint? LatestCheckpoint()
    {
        lock (_gate)
        {
            Refresh();
            return _node.LatestCheckpoint();
        }
    }

    public long Size
    {
        get
        {
            lock (_gate)
            {
                Refresh();
                return _node.Size;
            }
        }
    }

    /// <summary>The RFC 9162 consistency proof between two sizes of the log, from the stored leaf hashes.</summary>
    public Result<(byte[] FromRoot, byte[] ToRoot, IReadOnlyList<byte[]> Proof)> Consistency(long from, long to)
    {
        lock (_gate)
        {
            Refresh();
            var size = _node.Size;
            if (from < 1 || to < from || to > size)
                return Result<(byte[], byte[], IReadOnlyList<byte[]>)>.Fail("consistency-range", $"need 1 <= from <= to <= {size}, got from={from} to={to}");
            // Reads the leaves up to `to`: linear in the log, acceptable for this slice (see docs/api.md).
            var leaves = _node.Store.ReadRange(0, to).Select(e => e.LeafHash).ToList();
            var proof = from == to ? [] : MerkleTree.ConsistencyProof(leaves, from, to);
            return Result<(byte[], byte[], IReadOnlyList<byte[]>)>.Ok((_node.RootAt(from), _node.RootAt(to), proof));
        }
    }

    public IReadOnlyList<StoredEntry> Entries(long from, int limit)
    {
        lock (_gate)
        {
            Refresh();
            return _node.Store.ReadRange(from, Math.Min(_node.Size, from + limit)).ToList();
        }
    }

    /// <summary>Certificates matching every given filter, in log order. An owner matches through a live holding.</summary>
    public Result<IReadOnlyList<IndexedCertificate>> FindCertificates(string? owner, string? meter, string? zone, long? from, long? to)
    {
        lock (_gate)
        {
            Refresh();
            HashSet<string>? owned = null;
            if (owner is { Length: > 0 })
            {
                byte[]? spki;
                if (owner.StartsWith("owner:", StringComparison.Ordinal))
                {
                    spki = _ownerKeys.GetValueOrDefault(owner);
                }
                else
                {
                    try
                    {
                        spki = Convert.FromBase64String(owner);
                    }
                    catch (FormatException)
                    {
                        return Result<IReadOnlyList<IndexedCertificate>>.Fail("owner-invalid", "owner is neither an owner id (owner:hex) nor a base64 SubjectPublicKeyInfo");
                    }
                }
                owned = spki is null ? [] : _node.HoldingsOf(spki).Select(h => Hex.Encode(h.CertificateId)).ToHashSet(StringComparer.Ordinal);
            }
            IReadOnlyList<IndexedCertificate> found = _certificates.Where(c =>
                (meter is null || c.Certificate.MeterId == meter)
                && (zone is null || c.Certificate.GridZone == zone)
                && (from is null || c.Certificate.PeriodEnd > from)
                && (to is null || c.Certificate.PeriodStart < to)
                && (owned is null || owned.Contains(c.Certificate.IdHex))).ToList();
            return Result<IReadOnlyList<IndexedCertificate>>.Ok(found);
        }
    }

    public (CertificateRecord Record, IReadOnlyList<Holding> Holdings, IReadOnlyList<StoredEntry> History)? Certificate(byte[] id)
    {
        lock (_gate)
        {
            Refresh();
            if (_node.FindCertificate(id) is not { } record)
                return null;
            return (record, _node.HoldingsOfCertificate(id), _node.CertificateHistory(id));
        }
    }

    /// <summary>Judges one entry with the ledger's rules; an accepted one is durable and checkpointed when this returns.</summary>
    public SubmitOutcome Submit(ReadOnlyMemory<byte> entry)
    {
        if (!IsWriter)
            throw new InvalidOperationException("this API follows the replicated nodes' store: submit through the entry stream");
        lock (_gate)
        {
            var outcome = _node.Submit(entry);
            Refresh();
            if (outcome.Accepted)
                SignCheckpoint();
            return outcome;
        }
    }

    /// <summary>The entry with this id, if the store holds it (another writer's appends included).</summary>
    public StoredEntry? FindEntry(byte[] entryId) => _node.Store.FindEntry(entryId);

    /// <summary>The refusals the store's writer recorded for this entry id, oldest first.</summary>
    public IReadOnlyList<StoredRejection> FindRejections(byte[] entryId) => _node.Store.FindRejections(entryId);

    public void Dispose()
    {
        _node.Dispose();
        _archive?.Dispose();
        foreach (var s in _signers)
            s.Dispose();
    }

    private void Refresh()
    {
        _node.CatchUp();
        var size = _node.Size;
        if (size <= _indexed)
            return;
        foreach (var stored in _node.Store.ReadRange(_indexed, size))
        {
            var decoded = LedgerEntryCodec.Decode(stored.Encoded);
            if (!decoded.IsOk)
                continue;
            var e = decoded.Value;
            if (e.Certificate is { } c)
                _certificates.Add(new IndexedCertificate(c, stored.Index));
            if (e.DeviceOwner is { } plantOwner)
                _ownerKeys.TryAdd(LedgerEntry.OwnerId(plantOwner), plantOwner);
            if (e.Transfer is { } t)
                _ownerKeys.TryAdd(LedgerEntry.OwnerId(t.To), t.To);
            foreach (var part in e.Split?.Parts ?? [])
                _ownerKeys.TryAdd(LedgerEntry.OwnerId(part.Owner), part.Owner);
            if (e.SignerKey is { } signer)
                _ownerKeys.TryAdd(LedgerEntry.OwnerId(signer), signer);
            IndexForMatching(e, stored.Index);
        }
        _indexed = size;
    }

    /// <summary>As `greentrace ledger` does it: the first key signs through the cosigner, the others are merged in as peers.</summary>
    private void SignCheckpoint()
    {
        var cosigner = new CheckpointCosigner(_node, publisher: null, everyEntries: int.MaxValue);
        var mine = cosigner.SignCurrent();
        foreach (var other in _signers.Skip(1))
        {
            var note = SignedNote.Sign(new Checkpoint(_node.Origin, mine.Size, mine.Root).ToNoteText(), other);
            cosigner.Receive(Encoding.UTF8.GetBytes(note));
        }
    }

    private sealed record NodeKeyFile(string? CheckpointKey);
}
