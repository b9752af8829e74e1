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
/// One ledger node: checks every entry against the rules, appends what passes to its store and
/// its Merkle log; a <see cref="Checkpoints.CheckpointCosigner"/> signs checkpoints of it. Single-writer: the ordered entry stream feeds
/// it one batch at a time, so no lock guards the rules against themselves.
/// </summary>
public sealed class LedgerNode : ILedgerView, IDisposable
{
    public static readonly Meter Meter = new("GreenTrace.Ledger");
    private static readonly Counter<long> AppendedCounter = Meter.CreateCounter<long>("greentrace.ledger.entries.appended");
    private static readonly Counter<long> RejectedCounter = Meter.CreateCounter<long>("greentrace.ledger.entries.rejected");

    private readonly ILedgerStore _store;
    private readonly TrustedKeys _trust;
    private readonly NoteSigner _signer;
    private readonly TimeProvider _time;
    private readonly MerkleLog _log = new();
    private readonly Dictionary<string, DeviceInfo> _devices = new(StringComparer.Ordinal);
    private readonly HashSet<string> _certificates = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _rejections = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    public LedgerNode(ILedgerStore store, TrustedKeys trust, NoteSigner signer, TimeProvider? time = null)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _trust = trust ?? throw new ArgumentNullException(nameof(trust));
        _signer = signer ?? throw new ArgumentNullException(nameof(signer));
        _time = time ?? TimeProvider.System;
        if (!trust.Nodes.Any(n => n.Name == signer.Name && n.KeyId == signer.KeyId))
            throw new ArgumentException($"node key '{signer.Name}' is not a ledger node of the membership", nameof(signer));

        // Rebuild the in-memory view from the store, re-checking that each stored leaf is the hash of its entry.
        foreach (var e in store.ReadAll())
        {
            if (!MerkleHash.Leaf(e.Encoded).AsSpan().SequenceEqual(e.LeafHash))
                throw new InvalidDataException($"stored entry {e.Index} does not match its leaf hash");
            _log.AppendLeafHash(e.LeafHash);
            Index(LedgerEntryCodec.Decode(e.Encoded).Value);
        }
    }

    public string Origin => _trust.Membership.Origin;

    public long Size
    {
        get
        {
            lock (_gate)
                return _log.Size;
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

    public DeviceInfo? FindDevice(string meterId) => _devices.GetValueOrDefault(meterId);

    public bool HasCertificate(ReadOnlySpan<byte> certificateId) => _certificates.Contains(Hex.Encode(certificateId));

    /// <summary>Checks and appends a batch in order; accepted entries are durable when this returns.</summary>
    public IReadOnlyList<SubmitOutcome> Submit(IReadOnlyList<ReadOnlyMemory<byte>> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        lock (_gate)
        {
            var outcomes = new List<SubmitOutcome>(entries.Count);
            var appended = new List<StoredEntry>();
            var undo = new List<LedgerEntry>();
            foreach (var bytes in entries)
            {
                var decoded = LedgerEntryCodec.Decode(bytes);
                var rejection = decoded.IsOk ? LedgerRules.Check(decoded.Value, _trust, this) : decoded.Error;
                if (rejection is not null)
                {
                    Reject(bytes, rejection);
                    outcomes.Add(new SubmitOutcome(null, rejection));
                    continue;
                }
                var entry = decoded.Value;
                var stored = new StoredEntry(_log.Size + appended.Count, entry.Id, entry.Kind, entry.AuthorId,
                    entry.Device?.MeterId ?? entry.Certificate?.MeterId, entry.Certificate?.Id, entry.Encoded.ToArray(), MerkleHash.Leaf(entry.Encoded.Span));
                // Index at once so later entries of the same batch see it (a registration then its first certificate).
                Index(entry);
                undo.Add(entry);
                appended.Add(stored);
                outcomes.Add(new SubmitOutcome(stored, null));
            }
            try
            {
                _store.Append(appended);
            }
            catch
            {
                foreach (var entry in undo)
                    Unindex(entry);
                throw;
            }
            foreach (var s in appended)
                _log.AppendLeafHash(s.LeafHash);
            AppendedCounter.Add(appended.Count);
            return outcomes;
        }
    }

    public SubmitOutcome Submit(ReadOnlyMemory<byte> entry) => Submit([entry])[0];

    /// <summary>The RFC 9162 root of the log's first <paramref name="size"/> entries: what a checkpoint of that size must carry.</summary>
    public byte[] RootAt(long size)
    {
        lock (_gate)
            return _log.Root(size);
    }

    public TrustedKeys Trust => _trust;

    public ILedgerStore Store => _store;

    /// <summary>This node's checkpoint key; only its <see cref="Checkpoints.CheckpointCosigner"/> signs with it.</summary>
    internal NoteSigner Signer => _signer;

    /// <summary>How many distinct node signatures make a checkpoint count (the membership's k).</summary>
    public int Quorum => _trust.Membership.Quorum;

    /// <summary>The latest checkpoint cosigned by a quorum of the membership's nodes: the one proofs are given against.</summary>
    public StoredCheckpoint? LatestCheckpoint() => _store.LatestCheckpoint(Quorum);

    /// <summary>Every entry of the log, decoded, in log order.</summary>
    public IEnumerable<LedgerEntry> Entries() => _store.ReadAll().Select(e => LedgerEntryCodec.Decode(e.Encoded).Value);

    public StoredEntry? FindCertificateEntry(ReadOnlySpan<byte> certificateId) => _store.FindCertificate(certificateId);

    public StoredEntry? FindDeviceEntry(string meterId) => _store.FindDevice(meterId);

    /// <summary>
    /// A proof bundle for one reading of a certificate, against the latest checkpoint with a quorum. The caller
    /// supplies the certificate's archived readings; they are checked against its reading root.
    /// </summary>
    public Result<ProofBundle> BuildProofBundle(ReadOnlySpan<byte> certificateId, IReadOnlyList<byte[]> readings, int readingIndex)
    {
        ArgumentNullException.ThrowIfNull(readings);
        lock (_gate)
        {
            var certEntry = _store.FindCertificate(certificateId);
            if (certEntry is null)
                return Result<ProofBundle>.Fail("certificate-unknown", $"certificate {Hex.Encode(certificateId)} is not on this ledger");
            var certificate = LedgerEntryCodec.Decode(certEntry.Encoded).Value.Certificate!;
            var deviceEntry = _store.FindDevice(certificate.MeterId);
            if (deviceEntry is null)
                return Result<ProofBundle>.Fail(LedgerReasons.DeviceUnknown, $"meter '{certificate.MeterId}' has no registration");
            var checkpoint = _store.LatestCheckpoint(Quorum);
            if (checkpoint is null || checkpoint.Size <= certEntry.Index)
                return Result<ProofBundle>.Fail("checkpoint-missing", $"no checkpoint cosigned by {Quorum} nodes covers the certificate yet");
            if (readingIndex < 0 || readingIndex >= readings.Count)
                return Result<ProofBundle>.Fail("reading-index", $"reading index {readingIndex} is outside 0..{readings.Count - 1}");
            var leafHashes = readings.Select(r => MerkleHash.Leaf(r)).ToArray();
            if (readings.Count != certificate.ReadingCount || !MerkleTree.RootFromLeafHashes(leafHashes).AsSpan().SequenceEqual(certificate.ReadingRoot))
                return Result<ProofBundle>.Fail("readings-mismatch", "archived readings do not match the certificate's reading root");

            var bundle = new ProofBundle(
                ProofBundle.CurrentFormat,
                new ProvenLeaf(readings[readingIndex], readingIndex, readings.Count, ToHex(MerkleTree.InclusionProof(leafHashes, readingIndex, readings.Count))),
                new ProvenLeaf(certEntry.Encoded, certEntry.Index, checkpoint.Size, ToHex(_log.InclusionProof(certEntry.Index, checkpoint.Size))),
                new ProvenLeaf(deviceEntry.Encoded, deviceEntry.Index, checkpoint.Size, ToHex(_log.InclusionProof(deviceEntry.Index, checkpoint.Size))),
                checkpoint.Note);
            return Result<ProofBundle>.Ok(bundle);
        }
    }

    public void Dispose() => _store.Dispose();

    private static string[] ToHex(IReadOnlyList<byte[]> proof) => proof.Select(h => Hex.Encode(h)).ToArray();

    private void Reject(ReadOnlyMemory<byte> bytes, Rejection rejection)
    {
        _rejections[rejection.Code] = _rejections.GetValueOrDefault(rejection.Code) + 1;
        RejectedCounter.Add(1, new KeyValuePair<string, object?>("reason", rejection.Code));
        _store.RecordRejection(System.Security.Cryptography.SHA256.HashData(bytes.Span), rejection.Code, rejection.Message, _time.GetUtcNow().ToUnixTimeSeconds());
    }

    private void Index(LedgerEntry entry)
    {
        if (entry.Device is { } device)
            _devices[device.MeterId] = device;
        if (entry.Certificate is { } cert)
            _certificates.Add(cert.IdHex);
    }

    private void Unindex(LedgerEntry entry)
    {
        if (entry.Device is { } device)
            _devices.Remove(device.MeterId);
        if (entry.Certificate is { } cert)
            _certificates.Remove(cert.IdHex);
    }
}
