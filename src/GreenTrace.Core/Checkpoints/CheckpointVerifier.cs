using System.Diagnostics.CodeAnalysis;

namespace GreenTrace.Core.Checkpoints;

/// <summary>Reason codes for <see cref="CheckpointVerificationResult.Error"/>.</summary>
public static class CheckpointVerificationErrors
{
    /// <summary>The signed note or the checkpoint text inside it does not parse.</summary>
    public const string Malformed = "checkpoint-malformed";

    /// <summary>The checkpoint is for a different log than expected.</summary>
    public const string Origin = "checkpoint-origin";

    /// <summary>Fewer distinct trusted nodes signed than the quorum requires.</summary>
    public const string Quorum = "checkpoint-quorum";

    /// <summary>A signature from a trusted node's key does not verify.</summary>
    public const string Signature = "checkpoint-signature";
}

/// <summary>The outcome of <see cref="CheckpointVerifier.Verify"/>.</summary>
public sealed class CheckpointVerificationResult
{
    internal CheckpointVerificationResult(Checkpoint? checkpoint, string? error, string? errorDetail, IReadOnlyList<string> trustedSigners, int quorum)
    {
        Checkpoint = checkpoint;
        Error = error;
        ErrorDetail = errorDetail;
        TrustedSigners = trustedSigners;
        Quorum = quorum;
    }

    [MemberNotNullWhen(true, nameof(Checkpoint))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool Success => Error is null;

    /// <summary>The verified checkpoint; null unless <see cref="Success"/>.</summary>
    public Checkpoint? Checkpoint { get; }

    /// <summary>One of <see cref="CheckpointVerificationErrors"/>, or null on success.</summary>
    public string? Error { get; }

    public string? ErrorDetail { get; }

    /// <summary>Distinct trusted node names whose signature verified (empty when the note failed before counting).</summary>
    public IReadOnlyList<string> TrustedSigners { get; }

    public int TrustedSignatureCount => TrustedSigners.Count;

    public int Quorum { get; }

    public override string ToString() =>
        Success
            ? $"verified by {TrustedSignatureCount} of {Quorum} required: {string.Join(", ", TrustedSigners)}"
            : $"{Error}: {ErrorDetail}";
}

/// <summary>The cosigned-checkpoint rule: parse, check the origin, and require a quorum of distinct trusted nodes.</summary>
public static class CheckpointVerifier
{
    /// <param name="signedNote">The full signed note.</param>
    /// <param name="expectedOrigin">The origin line of the log this checkpoint must come from.</param>
    /// <param name="trustedNodes">Keys of the nodes whose signatures count. A node is identified by key name, so a node
    /// holding several keys (e.g. during rotation) counts once however many of them signed.</param>
    /// <param name="quorum">How many distinct trusted nodes must have signed; at least 1.</param>
    /// <exception cref="ArgumentException">Two different trusted keys share a name and key ID, so signatures cannot be attributed.</exception>
    public static CheckpointVerificationResult Verify(string signedNote, string expectedOrigin, IReadOnlyCollection<NoteVerifier> trustedNodes, int quorum)
    {
        ArgumentNullException.ThrowIfNull(signedNote);
        ArgumentNullException.ThrowIfNull(expectedOrigin);
        ArgumentNullException.ThrowIfNull(trustedNodes);
        ArgumentOutOfRangeException.ThrowIfLessThan(quorum, 1);
        if (trustedNodes.Any(v => v is null))
            throw new ArgumentException("Trusted nodes must not contain null.", nameof(trustedNodes));

        // A configuration error, not a property of the note: fail loudly instead of on the first note that hits it.
        var ambiguous = trustedNodes
            .GroupBy(v => new NoteKeyId(v.Name, v.KeyId))
            .FirstOrDefault(g => g.Distinct().Count() > 1);
        if (ambiguous is not null)
            throw new ArgumentException($"Trusted nodes contain different keys named {ambiguous.Key}.", nameof(trustedNodes));

        if (!NoteEnvelope.TryParse(signedNote, out var envelope, out var noteError))
            return Failed(CheckpointVerificationErrors.Malformed, noteError, quorum);

        var verification = SignedNote.Verify(envelope, trustedNodes);
        if (verification.Error is not null)
            return Failed(CheckpointVerificationErrors.Signature, verification.ErrorDetail ?? verification.Error, quorum);

        if (!Checkpoint.TryParse(envelope.Text, out var checkpoint, out var checkpointError))
            return Failed(CheckpointVerificationErrors.Malformed, checkpointError, quorum);

        if (!string.Equals(checkpoint.Origin, expectedOrigin, StringComparison.Ordinal))
            return Failed(CheckpointVerificationErrors.Origin, $"origin is '{checkpoint.Origin}', expected '{expectedOrigin}'", quorum);

        var signers = verification.VerifiedKeys.Select(k => k.Name).Distinct(StringComparer.Ordinal).ToArray();
        if (signers.Length < quorum)
        {
            return new CheckpointVerificationResult(
                null,
                CheckpointVerificationErrors.Quorum,
                $"{signers.Length} of {quorum} required distinct trusted nodes signed ({verification.UnknownSignatureCount} signatures from unknown keys ignored)",
                signers,
                quorum);
        }

        return new CheckpointVerificationResult(checkpoint, null, null, signers, quorum);
    }

    private static CheckpointVerificationResult Failed(string error, string detail, int quorum) =>
        new(null, error, detail, [], quorum);
}
