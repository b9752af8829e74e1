using System.Diagnostics.Metrics;
using System.Text;
using System.Text.Unicode;
using GreenTrace.Core;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Ledger.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GreenTrace.Ledger.Checkpoints;

/// <summary>Where a node's own checkpoint signatures go for the other nodes (the checkpoints topic).</summary>
public interface ICheckpointPublisher
{
    /// <summary>Returns once the note is durable where the other nodes read, so a caller may then store it as published.</summary>
    void Publish(string nodeName, string signedNote);
}

/// <summary>What <see cref="CheckpointCosigner.Receive"/> did with a peer's signature.</summary>
public enum PeerSignatureOutcome
{
    /// <summary>Same root as this node's log at that size: merged into the stored checkpoint (this node's own signature added first if it had none).</summary>
    Merged,

    /// <summary>Nothing new: the stored checkpoint already carries every signature of the note.</summary>
    Known,

    /// <summary>For a size this node has not reached yet: held until it does.</summary>
    Held,

    /// <summary>A different root than this node's log at that size: refused, never cosigned.</summary>
    Divergent,

    /// <summary>Not a valid checkpoint signed by a node of the membership: dropped.</summary>
    Dropped,
}

/// <summary>
/// Decides when this node signs a checkpoint and what it does with the other nodes' signatures, so
/// that checkpoints end up cosigned by k of the n nodes without any node ever signing a root other
/// than its own log's.
/// <list type="bullet">
/// <item>It signs every size that is a multiple of <c>everyEntries</c> as its log passes it, so all
/// nodes sign the same sizes whatever their batching, and the current size when the stream is idle.</item>
/// <item>A peer's signature for a size s at most its own is checked against its own root at s: if
/// equal, it adds its own signature (publishing it) if it had none and merges the peer's into the
/// stored checkpoint; if not, it refuses, logs a critical divergence and counts it, every time.</item>
/// <item>A signature for a size it has not reached is held until it does.</item>
/// </list>
/// Stored checkpoints always carry this node's own signature. Driven by one thread (the node's service).
/// </summary>
public sealed class CheckpointCosigner
{
    private static readonly Counter<long> SignedCounter = LedgerNode.Meter.CreateCounter<long>("greentrace.ledger.checkpoints.signed");
    private static readonly Counter<long> CosignedCounter = LedgerNode.Meter.CreateCounter<long>("greentrace.ledger.checkpoints.cosignatures");
    private static readonly Counter<long> DivergentCounter = LedgerNode.Meter.CreateCounter<long>("greentrace.ledger.checkpoints.divergent");
    private static readonly Counter<long> DroppedCounter = LedgerNode.Meter.CreateCounter<long>("greentrace.ledger.checkpoints.dropped");

    private readonly LedgerNode _node;
    private readonly NoteSigner _signer;
    private readonly ICheckpointPublisher? _publisher;
    private readonly int _everyEntries;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly SortedDictionary<long, Dictionary<string, long>> _held = [];
    private long _passed;
    private long _divergent;

    /// <param name="node">The node whose log is signed.</param>
    /// <param name="publisher">Where this node's signatures go; null for a node alone (nothing to exchange).</param>
    /// <param name="everyEntries">Sign at every size that is a multiple of this.</param>
    public CheckpointCosigner(LedgerNode node, ICheckpointPublisher? publisher, int everyEntries, ILogger? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentOutOfRangeException.ThrowIfLessThan(everyEntries, 1);
        _node = node;
        _signer = node.Signer;
        _publisher = publisher;
        _everyEntries = everyEntries;
        _logger = logger ?? NullLogger.Instance;
        _time = time ?? TimeProvider.System;
        // Sizes up to the latest stored checkpoint were passed before a restart; later multiples a
        // crash may have left unsigned are signed by the first OnAppended.
        _passed = Math.Min(node.Store.LatestCheckpoint()?.Size ?? 0, node.Size);
    }

    public string NodeName => _signer.Name;

    /// <summary>How many peer signatures were refused because their root differs from this node's (a metric as well).</summary>
    public long Divergences => Interlocked.Read(ref _divergent);

    /// <summary>How many peer signatures wait for this node to reach their size.</summary>
    public int HeldCount => _held.Values.Sum(h => h.Count);

    /// <summary>The smallest stream position among held signatures: a consumer must not commit past it, or a restart would lose them.</summary>
    public long? EarliestHeldPosition => _held.Count == 0 ? null : _held.Values.SelectMany(h => h.Values).Min();

    /// <summary>After the log grew: signs each multiple of the interval it passed, then takes up the signatures held for sizes now reached.</summary>
    public IReadOnlyList<StoredCheckpoint> OnAppended()
    {
        var size = _node.Size;
        var signed = new List<StoredCheckpoint>();
        for (var s = (_passed / _everyEntries + 1) * _everyEntries; s <= size; s += _everyEntries)
            signed.Add(EnsureSigned(s));
        _passed = Math.Max(_passed, size);
        while (_held.Count > 0 && _held.First() is var (heldSize, notes) && heldSize <= size)
        {
            _held.Remove(heldSize);
            foreach (var note in notes.Keys)
                Receive(Encoding.UTF8.GetBytes(note));
        }
        return signed;
    }

    /// <summary>The stream is quiet: signs the log as it stands (nothing if already signed or empty).</summary>
    public StoredCheckpoint? OnIdle() => _node.Size == 0 ? null : EnsureSigned(_node.Size);

    /// <summary>This node's checkpoint of the log as it stands, signed now unless it already was.</summary>
    public StoredCheckpoint SignCurrent() => EnsureSigned(_node.Size);

    /// <summary>Takes one peer's signed checkpoint note as read from the checkpoints stream.</summary>
    /// <param name="position">Where the note sits in the stream, reported by <see cref="EarliestHeldPosition"/> while held.</param>
    public PeerSignatureOutcome Receive(ReadOnlySpan<byte> signedNote, long position = 0)
    {
        if (!Utf8.IsValid(signedNote))
            return Drop("a checkpoint note that is not UTF-8", null);
        var note = Encoding.UTF8.GetString(signedNote);
        var trust = _node.Trust;
        var verified = CheckpointVerifier.Verify(note, _node.Origin, trust.Nodes, quorum: 1);
        if (!verified.Success)
            return Drop($"a checkpoint note ({verified})", null);
        var checkpoint = verified.Checkpoint;
        var signers = string.Join(", ", verified.TrustedSigners);
        if (checkpoint.Extensions.Count > 0)
            return Drop($"a checkpoint with extension lines this node does not write, signed by {signers}", checkpoint.Size);
        var unknown = SignedNote.Open(note, trust.Nodes).UnknownSignatureCount;
        if (unknown > 0)
            _logger.LogWarning("Checkpoint of size {Size} from {Signers}: {Unknown} signatures by keys outside the membership left out", checkpoint.Size, signers, unknown);

        if (checkpoint.Size > _node.Size)
        {
            var notes = _held.TryGetValue(checkpoint.Size, out var existing) ? existing : _held[checkpoint.Size] = new Dictionary<string, long>(StringComparer.Ordinal);
            notes.TryAdd(note, position);
            return PeerSignatureOutcome.Held;
        }

        var ownRoot = _node.RootAt(checkpoint.Size);
        if (!ownRoot.AsSpan().SequenceEqual(checkpoint.RootHash))
        {
            Interlocked.Increment(ref _divergent);
            DivergentCounter.Add(1);
            _logger.LogCritical(
                "Divergent checkpoint: {Signers} signed size {Size} with root {PeerRoot}, but this node's log {Node} has root {OwnRoot} at that size; refusing to cosign it",
                signers, checkpoint.Size, Hex.Encode(checkpoint.RootHash), _signer.Name, Hex.Encode(ownRoot));
            return PeerSignatureOutcome.Divergent;
        }

        var mine = EnsureSigned(checkpoint.Size);
        var merged = SignedNote.Merge([mine.Note, note], trust.Nodes);
        if (string.Equals(merged, mine.Note, StringComparison.Ordinal))
            return PeerSignatureOutcome.Known;
        var count = CheckpointVerifier.Verify(merged, _node.Origin, trust.Nodes, quorum: 1).TrustedSignatureCount;
        _node.Store.SaveCheckpoint(mine with { Note = merged, SignatureCount = count });
        CosignedCounter.Add(1);
        _logger.LogDebug("Checkpoint of size {Size} now carries {Count} node signatures (from {Signers})", checkpoint.Size, count, signers);
        return PeerSignatureOutcome.Merged;
    }

    /// <summary>The stored checkpoint of <paramref name="size"/>, which carries this node's signature; signed, published and stored now if there is none.</summary>
    private StoredCheckpoint EnsureSigned(long size)
    {
        if (_node.Store.GetCheckpoint(size) is { } stored)
            return stored;
        var root = _node.RootAt(size);
        var note = SignedNote.Sign(new Checkpoint(_node.Origin, size, root).ToNoteText(), _signer);
        // Published before it is stored: after a crash in between, nothing is stored, so the
        // restarted node signs again (Ed25519 is deterministic: the same line) and publishes again.
        _publisher?.Publish(_signer.Name, note);
        var checkpoint = new StoredCheckpoint(size, root, note, _time.GetUtcNow().ToUnixTimeSeconds(), SignatureCount: 1);
        _node.Store.SaveCheckpoint(checkpoint);
        SignedCounter.Add(1);
        _logger.LogInformation("Signed checkpoint {Origin} size {Size}", _node.Origin, size);
        return checkpoint;
    }

    private PeerSignatureOutcome Drop(string what, long? size)
    {
        DroppedCounter.Add(1);
        _logger.LogWarning("Dropped {What}{At}", what, size is null ? "" : $" at size {size}");
        return PeerSignatureOutcome.Dropped;
    }
}
