using System.Diagnostics.CodeAnalysis;

namespace GreenTrace.Core.Checkpoints;

/// <summary>Identifies a note key the way signature lines do: by key name and key ID together.</summary>
public readonly record struct NoteKeyId(string Name, uint KeyId)
{
    public override string ToString() => $"{Name}+{NoteEncoding.FormatKeyId(KeyId)}";
}

/// <summary>Reason codes for <see cref="NoteOpenResult.Error"/>.</summary>
public static class NoteOpenErrors
{
    /// <summary>The bytes do not follow the signed-note grammar (including more than 100 signatures).</summary>
    public const string MalformedNote = "malformed-note";

    /// <summary>A signature line from a known key failed to verify; the whole note is rejected.</summary>
    public const string InvalidSignature = "invalid-signature";

    /// <summary>The note is well formed but no known key signed it.</summary>
    public const string NoKnownSignature = "no-known-signature";

    /// <summary>Two different known verifiers share a name and key ID and one of them is needed.</summary>
    public const string AmbiguousKey = "ambiguous-key";
}

/// <summary>The outcome of <see cref="SignedNote.Open(string, IEnumerable{NoteVerifier})"/>.</summary>
public sealed class NoteOpenResult
{
    private NoteOpenResult(string? text, string? error, string? errorDetail, IReadOnlyList<NoteKeyId> verifiedKeys, int unknownSignatureCount)
    {
        Text = text;
        Error = error;
        ErrorDetail = errorDetail;
        VerifiedKeys = verifiedKeys;
        VerifiedBy = verifiedKeys.Select(k => k.Name).Distinct(StringComparer.Ordinal).ToArray();
        UnknownSignatureCount = unknownSignatureCount;
    }

    [MemberNotNullWhen(true, nameof(Text))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool Success => Error is null;

    /// <summary>The signed text, including its final newline; null unless <see cref="Success"/>,
    /// because the spec says unverified text must be ignored.</summary>
    public string? Text { get; }

    /// <summary>One of <see cref="NoteOpenErrors"/>, or null on success.</summary>
    public string? Error { get; }

    /// <summary>Human-readable explanation of <see cref="Error"/>, for logs.</summary>
    public string? ErrorDetail { get; }

    /// <summary>Distinct key names with at least one verified signature, in note order.</summary>
    public IReadOnlyList<string> VerifiedBy { get; }

    /// <summary>Distinct keys with a verified signature, in note order; one name may hold several keys.</summary>
    public IReadOnlyList<NoteKeyId> VerifiedKeys { get; }

    /// <summary>Distinct signature lines from keys not in the known set (ignored, as the spec requires).</summary>
    public int UnknownSignatureCount { get; }

    internal static NoteOpenResult Verified(string text, IReadOnlyList<NoteKeyId> verifiedKeys, int unknownSignatureCount) =>
        new(text, null, null, verifiedKeys, unknownSignatureCount);

    internal static NoteOpenResult Failed(string error, string detail, int unknownSignatureCount = 0) =>
        new(null, error, detail, [], unknownSignatureCount);

    public override string ToString() =>
        Success
            ? $"verified by {string.Join(", ", VerifiedKeys)} ({UnknownSignatureCount} unknown)"
            : $"{Error}: {ErrorDetail}";
}
