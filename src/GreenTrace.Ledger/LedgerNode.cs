using System.Diagnostics.Metrics;
using GreenTrace.Core;
using GreenTrace.Core.Certificates;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Merkle;
using GreenTrace.Core.Proofs;
using GreenTrace.Ledger.Storage;

namespace GreenTrace.Ledger;

/// <summary>What happened to one submitted entry.</summary>
public sealed record SubmitOutcome(StoredEntry? Appended, Rejection? Rejection)
{
    public bool Accepted => Appended is not null;
}

/// <summary>
/// Where <see cref="LedgerNode.Submit(IReadOnlyList{ReadOnlyMemory{byte}})"/> has spent its time since the node opened, in
/// <see cref="System.Diagnostics.Stopwatch"/> ticks: four timestamps per batch, cheap enough to keep always on.
/// </summary>
public sealed record SubmitTimes(long Batches, long DecodeAndVerifyTicks, long RulesTicks, long StoreAppendTicks, long LogTicks)
{
    public static TimeSpan ToTimeSpan(long ticks) => System.Diagnostics.Stopwatch.GetElapsedTime(0, ticks);
}

/// <summary>
/// One ledger node: checks every entry against the rules (<see cref="LedgerState"/>), appends what
/// passes to its store and its Merkle log; a <see cref="Checkpoints.CheckpointCosigner"/> signs checkpoints of it. Single-writer: the
/// ordered entry stream feeds it one batch at a time; a lock keeps readers off a half-applied batch.
/// </summary>
public sealed class LedgerNode : IDisposable
{
    public static readonly Meter Meter = new("GreenTrace.Ledger");
    private static readonly Counter<long> AppendedCounter = Meter.CreateCounter<long>("greentrace.ledger.entries.appended");
    private static readonly Counter<long> RejectedCounter = Meter.CreateCounter<long>("greentrace.ledger.entries.rejected");

    private readonly ILedgerStore _store;
    private readonly Membership _genesis;
    private readonly NoteSigner _signer;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, long> _rejections = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private MerkleLog _log = new();
    private LedgerState _state;
    private long _batches;
    private long _decodeVerifyTicks;
    private long _rulesTicks;
    private long _appendTicks;
    private long _logTicks;

    /// <param name="trust">The genesis membership; later ones come from membership changes on the log.</param>
    public LedgerNode(ILedgerStore store, TrustedKeys trust, NoteSigner signer, TimeProvider? time = null)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        ArgumentNullException.ThrowIfNull(trust);
        _genesis = trust.Membership;
        _signer = signer ?? throw new ArgumentNullException(nameof(signer));
        _time = time ?? TimeProvider.System;
        if (!trust.Nodes.Any(n => n.Name == signer.Name && n.KeyId == signer.KeyId))
            throw new ArgumentException($"node key '{signer.Name}' is not a ledger node of the membership", nameof(signer));
        _state = new LedgerState(_genesis);
        CatchUp();
    }

    public string Origin => _genesis.Origin;

    public long Size
    {
        get
        {
            lock (_gate)
                return _log.Size;
        }
    }

    /// <summary>The keys of the membership in force now (it changes only through a membership change entry).</summary>
    public TrustedKeys Trust
    {
        get
        {
            lock (_gate)
                return _state.Trust;
        }
    }

    public ILedgerStore Store => _store;

    /// <summary>Time spent in each phase of Submit so far (benchmarks and diagnostics).</summary>
    public SubmitTimes Times
    {
        get
        {
            lock (_gate)
                return new SubmitTimes(_batches, _decodeVerifyTicks, _rulesTicks, _appendTicks, _logTicks);
        }
    }

    public IReadOnlyDictionary<string, long> Rejections
    {
        get
        {
            lock (_gate)
                return new Dictionary<string, long>(_rejections);
        }
    }

    /// <summary>The RFC 9162 root of the first <paramref name="size"/> entries.</summary>
    public byte[] RootAt(long size)
    {
        lock (_gate)
            return _log.Root(size);
    }

    /// <summary>The membership in force when the log had <paramref name="size"/> entries: whose nodes sign a checkpoint of that size.</summary>
    public TrustedKeys TrustAt(long size)
    {
        lock (_gate)
            return _state.TrustAt(size);
    }

    public DeviceInfo? FindDevice(string meterId)
    {
        lock (_gate)
            return _state.FindDevice(meterId)?.Device;
    }

    public DeviceRecord? FindDeviceRecord(string meterId)
    {
        lock (_gate)
            return _state.FindDevice(meterId);
    }

    public bool HasCertificate(ReadOnlySpan<byte> certificateId)
    {
        lock (_gate)
            return _state.HasCertificate(certificateId);
    }

    public CertificateRecord? FindCertificate(ReadOnlySpan<byte> certificateId)
    {
        lock (_gate)
            return _state.FindCertificate(certificateId);
    }

    public Holding? FindHolding(ReadOnlySpan<byte> holdingId)
    {
        lock (_gate)
            return _state.FindHolding(holdingId);
    }

    /// <summary>The live holdings of an owner key (SubjectPublicKeyInfo).</summary>
    public IReadOnlyList<Holding> HoldingsOf(ReadOnlySpan<byte> ownerKey)
    {
        lock (_gate)
            return _state.HoldingsOf(ownerKey);
    }

    /// <summary>Every holding a certificate has had, live or consumed.</summary>
    public IReadOnlyList<Holding> HoldingsOfCertificate(ReadOnlySpan<byte> certificateId)
    {
        lock (_gate)
            return _state.HoldingsOfCertificate(certificateId);
    }

    /// <summary>Every entry about a certificate, issuance first, in log order (empty if unknown).</summary>
    public IReadOnlyList<StoredEntry> CertificateHistory(ReadOnlySpan<byte> certificateId)
    {
        lock (_gate)
        {
            if (_state.FindCertificate(certificateId) is not { } record)
                return [];
            return record.EntryIndexes.Select(i => _store.Get(i) ?? throw new InvalidDataException($"entry {i} is missing from the store")).ToList();
        }
    }

    /// <summary>
    /// Checks and appends a batch in order; accepted entries are durable when this returns.
    /// Signatures are checked in parallel (they need no ledger state, see <see cref="LedgerState.VerifySignature"/>),
    /// the rules one entry after another in log order, and the accepted entries go to the store in one append.
    /// </summary>
    public IReadOnlyList<SubmitOutcome> Submit(IReadOnlyList<ReadOnlyMemory<byte>> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        lock (_gate)
        {
            try
            {
                return SubmitOnce(entries);
            }
            catch (LedgerAppendConflictException)
            {
                // Another writer appended first; SubmitOnce has rebuilt the state from the store, which now includes
                // its entries. Judge the batch again once against that; a second conflict goes to the caller.
                return SubmitOnce(entries);
            }
        }
    }

    public SubmitOutcome Submit(ReadOnlyMemory<byte> entry) => Submit([entry])[0];

    /// <summary>Applies entries another writer put in the store since this node last looked.</summary>
    public void CatchUp()
    {
        lock (_gate)
        {
            var count = _store.Count;
            if (count > _log.Size)
                Replay(_store.ReadRange(_log.Size, count));
        }
    }

    private IReadOnlyList<SubmitOutcome> SubmitOnce(IReadOnlyList<ReadOnlyMemory<byte>> entries)
    {
        var n = entries.Count;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var decoded = new Result<LedgerEntry>[n];
        var signatures = new Rejection?[n];
        var trust = _state.Trust;
        Parallel.For(0, n, i =>
        {
            decoded[i] = LedgerEntryCodec.Decode(entries[i]);
            // A membership change is judged against the membership in force when its turn comes, so it waits.
            if (decoded[i].IsOk && decoded[i].Value.Kind != EntryKind.MembershipChanged)
                signatures[i] = LedgerState.VerifySignature(decoded[i].Value, trust);
        });
        var verified = System.Diagnostics.Stopwatch.GetTimestamp();

        var outcomes = new List<SubmitOutcome>(n);
        var appended = new List<StoredEntry>();
        var rejected = new List<(ReadOnlyMemory<byte> Bytes, Rejection Why)>();
        for (var i = 0; i < n; i++)
        {
            Rejection? rejection;
            if (!decoded[i].IsOk)
            {
                rejection = decoded[i].Error;
            }
            else
            {
                var entry = decoded[i].Value;
                // A membership change earlier in this batch may have changed the issuers: then check again, in order.
                var verifiedNow = entry.Kind != EntryKind.MembershipChanged && ReferenceEquals(trust, _state.Trust);
                rejection = verifiedNow && signatures[i] is { } badSignature && !_state.HasSeen(entry.Id)
                    ? badSignature
                    : _state.TryApply(entry, signatureAlreadyVerified: verifiedNow);
                if (rejection is null)
                {
                    var stored = new StoredEntry(_state.Size - 1, entry.Id, entry.Kind, entry.AuthorId, entry.MeterId, entry.CertificateId,
                        entry.Encoded.ToArray(), MerkleHash.Leaf(entry.Encoded.Span));
                    appended.Add(stored);
                    outcomes.Add(new SubmitOutcome(stored, null));
                    continue;
                }
            }
            rejected.Add((entries[i], rejection!));
            outcomes.Add(new SubmitOutcome(null, rejection));
        }

        var judged = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            _store.Append(appended);
        }
        catch
        {
            // The state has applied entries the store does not hold: start again from what the store has.
            Rebuild();
            throw;
        }
        var durable = System.Diagnostics.Stopwatch.GetTimestamp();
        foreach (var s in appended)
            _log.AppendLeafHash(s.LeafHash);
        foreach (var (bytes, why) in rejected)
            Reject(bytes, why);
        AppendedCounter.Add(appended.Count);
        var done = System.Diagnostics.Stopwatch.GetTimestamp();
        _batches++;
        _decodeVerifyTicks += verified - started;
        _rulesTicks += judged - verified;
        _appendTicks += durable - judged;
        _logTicks += done - durable;
        return outcomes;
    }

    private void Rebuild()
    {
        // The old state is not disposed: a caller may still hold its TrustedKeys (Trust), and this path is rare.
        _state = new LedgerState(_genesis);
        _log = new MerkleLog();
        Replay(_store.ReadAll());
    }

    /// <summary>Applies stored entries, re-checking each leaf and rule; signatures were checked when they were appended (the audit checks them again).</summary>
    private void Replay(IEnumerable<StoredEntry> stored)
    {
        foreach (var e in stored)
        {
            if (e.Index != _log.Size)
                throw new InvalidDataException($"stored entry {e.Index} found where entry {_log.Size} belongs");
            if (!MerkleHash.Leaf(e.Encoded).AsSpan().SequenceEqual(e.LeafHash))
                throw new InvalidDataException($"stored entry {e.Index} does not match its leaf hash");
            var decoded = LedgerEntryCodec.Decode(e.Encoded);
            if (!decoded.IsOk)
                throw new InvalidDataException($"stored entry {e.Index} does not decode: {decoded.Error}");
            if (_state.TryApply(decoded.Value, signatureAlreadyVerified: true) is { } why)
                throw new InvalidDataException($"stored entry {e.Index} breaks the ledger rules: {why}");
            _log.AppendLeafHash(e.LeafHash);
        }
    }

    /// <summary>This node's checkpoint key; only its <see cref="Checkpoints.CheckpointCosigner"/> signs with it.</summary>
    internal NoteSigner Signer => _signer;

    /// <summary>How many distinct node signatures make a checkpoint count (the k of the membership in force now).</summary>
    public int Quorum => Trust.Membership.Quorum;

    /// <summary>The latest checkpoint cosigned by a quorum of the membership's nodes: the one proofs are given against.</summary>
    public StoredCheckpoint? LatestCheckpoint() => _store.LatestCheckpoint(Quorum);

    /// <summary>Every entry of the log, decoded, in log order.</summary>
    public IEnumerable<LedgerEntry> Entries() => _store.ReadAll().Select(e => LedgerEntryCodec.Decode(e.Encoded).Value);

    public StoredEntry? FindCertificateEntry(ReadOnlySpan<byte> certificateId) => _store.FindCertificate(certificateId);

    public StoredEntry? FindDeviceEntry(string meterId) => _store.FindDevice(meterId);

    /// <summary>
    /// A proof bundle for one reading of a certificate, against the latest checkpoint. The caller
    /// supplies the certificate's archived readings; they are checked against its reading root.
    /// </summary>
    public Result<ProofBundle> BuildProofBundle(ReadOnlySpan<byte> certificateId, IReadOnlyList<byte[]> readings, int readingIndex)
    {
        ArgumentNullException.ThrowIfNull(readings);
        lock (_gate)
        {
            var anchors = FindAnchors(certificateId, readings, readingIndex);
            if (!anchors.IsOk)
                return Result<ProofBundle>.Fail(anchors.Error);
            var (certEntry, deviceEntry, checkpoint, leafHashes) = anchors.Value;
            var bundle = new ProofBundle(
                ProofBundle.CurrentFormat,
                new ProvenLeaf(readings[readingIndex], readingIndex, readings.Count, ToHex(MerkleTree.InclusionProof(leafHashes, readingIndex, readings.Count))),
                Prove(certEntry, checkpoint),
                Prove(deviceEntry, checkpoint),
                checkpoint.Note);
            return Result<ProofBundle>.Ok(bundle);
        }
    }

    /// <summary>
    /// A certificate bundle (docs/formats.md, "Certificate bundle") against the latest quorum checkpoint: the
    /// certificate with every one of its archived readings, and every Transferred, Split, Claimed and Withdrawn
    /// entry about it below the checkpoint's size, each proven at that size. Entries after the checkpoint wait for
    /// the next one: a bundle proves nothing the checkpoint does not cover.
    /// </summary>
    public Result<CertificateBundle> BuildCertificateBundle(ReadOnlySpan<byte> certificateId, IReadOnlyList<byte[]> readings)
    {
        ArgumentNullException.ThrowIfNull(readings);
        lock (_gate)
        {
            var anchors = FindAnchors(certificateId, readings, readingIndex: null);
            if (!anchors.IsOk)
                return Result<CertificateBundle>.Fail(anchors.Error);
            var (certEntry, deviceEntry, checkpoint, _) = anchors.Value;
            var history = _store.FindByCertificate(certificateId)
                .Where(e => e.Index < checkpoint.Size && e.Kind is EntryKind.Transferred or EntryKind.Split or EntryKind.Claimed or EntryKind.Withdrawn)
                .OrderBy(e => e.Index)
                .Select(e => Prove(e, checkpoint))
                .ToList();
            var bundle = new CertificateBundle(
                CertificateBundle.CurrentFormat,
                Prove(certEntry, checkpoint),
                Prove(deviceEntry, checkpoint),
                readings.ToList(),
                history,
                checkpoint.Note);
            return Result<CertificateBundle>.Ok(bundle);
        }
    }

    /// <summary>
    /// What both bundles stand on: the certificate's and its meter's entries, a quorum checkpoint that covers them
    /// and that this node's log reaches, and archived readings that are exactly the certificate's reading tree.
    /// </summary>
    private Result<(StoredEntry Certificate, StoredEntry Device, StoredCheckpoint Checkpoint, byte[][] ReadingLeafHashes)> FindAnchors(
        ReadOnlySpan<byte> certificateId, IReadOnlyList<byte[]> readings, int? readingIndex)
    {
        var certEntry = _store.FindCertificate(certificateId);
        if (certEntry is null)
            return new Rejection(LedgerReasons.CertificateUnknown, $"certificate {Hex.Encode(certificateId)} is not on this ledger");
        var certificate = LedgerEntryCodec.Decode(certEntry.Encoded).Value.Certificate!;
        var deviceEntry = _store.FindDevice(certificate.MeterId);
        if (deviceEntry is null)
            return new Rejection(LedgerReasons.DeviceUnknown, $"meter '{certificate.MeterId}' has no registration");
        var checkpoint = _store.LatestCheckpoint(_state.Trust.Membership.Quorum);
        // A checkpoint another writer signed beyond this node's log cannot be proven against until the node catches up.
        if (checkpoint is null || checkpoint.Size <= certEntry.Index || checkpoint.Size > _log.Size)
            return new Rejection("checkpoint-missing", $"no checkpoint cosigned by {_state.Trust.Membership.Quorum} nodes covers the certificate yet");
        if (readingIndex is { } i && (i < 0 || i >= readings.Count))
            return new Rejection("reading-index", $"reading index {i} is outside 0..{readings.Count - 1}");
        var leafHashes = readings.Select(r => MerkleHash.Leaf(r)).ToArray();
        if (readings.Count != certificate.ReadingCount || !MerkleTree.RootFromLeafHashes(leafHashes).AsSpan().SequenceEqual(certificate.ReadingRoot))
            return new Rejection("readings-mismatch", "archived readings do not match the certificate's reading root");
        return Result<(StoredEntry, StoredEntry, StoredCheckpoint, byte[][])>.Ok((certEntry, deviceEntry, checkpoint, leafHashes));
    }

    private ProvenLeaf Prove(StoredEntry entry, StoredCheckpoint checkpoint) =>
        new(entry.Encoded, entry.Index, checkpoint.Size, ToHex(_log.InclusionProof(entry.Index, checkpoint.Size)));

    public void Dispose()
    {
        _store.Dispose();
        _state.Dispose();
    }

    private static string[] ToHex(IReadOnlyList<byte[]> proof) => proof.Select(h => Hex.Encode(h)).ToArray();

    private void Reject(ReadOnlyMemory<byte> bytes, Rejection rejection)
    {
        _rejections[rejection.Code] = _rejections.GetValueOrDefault(rejection.Code) + 1;
        RejectedCounter.Add(1, new KeyValuePair<string, object?>("reason", rejection.Code));
        _store.RecordRejection(System.Security.Cryptography.SHA256.HashData(bytes.Span), rejection.Code, rejection.Message, _time.GetUtcNow().ToUnixTimeSeconds());
    }
}
