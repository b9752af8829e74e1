using System.Buffers.Binary;
using System.Text;

namespace GreenTrace.Core.Checkpoints;

/// <summary>Signing, cosigning and opening of c2sp.org/signed-note notes, compatible with Go's golang.org/x/mod/sumdb/note.</summary>
public static class SignedNote
{
    /// <summary>Signs <paramref name="text"/> and returns the full note: text, blank line, one signature line per distinct key.</summary>
    /// <exception cref="ArgumentException">The text is not valid note text, or no signer is given.</exception>
    public static string Sign(string text, params NoteSigner[] signers)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(signers);
        ValidateText(text);
        if (signers.Length == 0)
            throw new ArgumentException("At least one signer is required: a note without signatures cannot be opened.", nameof(signers));

        var textBytes = Encoding.UTF8.GetBytes(text);
        var builder = new StringBuilder(text).Append('\n');
        foreach (var line in SignatureLines(textBytes, signers))
            builder.Append(line).Append('\n');
        return builder.ToString();
    }

    /// <summary>
    /// Appends signatures to an existing note (cosigning). An existing signature by one of the new keys is replaced,
    /// as Go's note.Sign does. Existing signatures are copied, not checked: open the note first if you mean to vouch for it.
    /// </summary>
    /// <exception cref="FormatException">The note is malformed.</exception>
    /// <exception cref="InvalidOperationException">The result would carry more than 100 signatures and no reader would accept it.</exception>
    public static string AddSignatures(string signedNote, params NoteSigner[] signers)
    {
        ArgumentNullException.ThrowIfNull(signedNote);
        ArgumentNullException.ThrowIfNull(signers);
        if (!NoteEnvelope.TryParse(signedNote, out var envelope, out var error))
            throw new FormatException($"Cannot cosign a malformed note: {error}.");

        var newLines = SignatureLines(envelope.TextBytes, signers).ToList();
        var replaced = signers.Select(s => new NoteKeyId(s.Name, s.KeyId)).ToHashSet();
        var kept = envelope.Signatures
            .Where(s => !replaced.Contains(s.Key))
            .Select(s => s.Line)
            .Distinct(StringComparer.Ordinal)
            .ToList();

        if (kept.Count + newLines.Count > NoteEncoding.MaxSignatures)
            throw new InvalidOperationException($"A note may carry at most {NoteEncoding.MaxSignatures} signatures.");

        var builder = new StringBuilder(envelope.Text).Append('\n');
        foreach (var line in kept.Concat(newLines))
            builder.Append(line).Append('\n');
        return builder.ToString();
    }

    /// <summary>
    /// Merges cosignatures gathered separately: notes over the same text become one note carrying the
    /// union of their signature lines, sorted ordinally, so every node that merges the same lines in
    /// any order stores byte-identical notes. Lines from keys outside <paramref name="keep"/> (when
    /// given) are left out. Signatures are copied, not checked: open the notes first.
    /// </summary>
    /// <exception cref="FormatException">A note is malformed.</exception>
    /// <exception cref="ArgumentException">No note is given, or the notes sign different texts.</exception>
    /// <exception cref="InvalidOperationException">The result would carry more than 100 signatures.</exception>
    public static string Merge(IEnumerable<string> signedNotes, IEnumerable<NoteVerifier>? keep = null)
    {
        ArgumentNullException.ThrowIfNull(signedNotes);
        var kept = keep?.Select(v => new NoteKeyId(v.Name, v.KeyId)).ToHashSet();
        string? text = null;
        var lines = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var note in signedNotes)
        {
            ArgumentNullException.ThrowIfNull(note, nameof(signedNotes));
            if (!NoteEnvelope.TryParse(note, out var envelope, out var error))
                throw new FormatException($"Cannot merge a malformed note: {error}.");
            if (text is null)
                text = envelope.Text;
            else if (!string.Equals(text, envelope.Text, StringComparison.Ordinal))
                throw new ArgumentException("Only notes over the same text can be merged.", nameof(signedNotes));
            foreach (var signature in envelope.Signatures)
            {
                if (kept is null || kept.Contains(signature.Key))
                    lines.Add(signature.Line);
            }
        }
        if (text is null)
            throw new ArgumentException("At least one note is required.", nameof(signedNotes));
        if (lines.Count == 0)
            throw new ArgumentException("No signature line is left to carry: a note without signatures cannot be opened.", nameof(signedNotes));
        if (lines.Count > NoteEncoding.MaxSignatures)
            throw new InvalidOperationException($"A note may carry at most {NoteEncoding.MaxSignatures} signatures.");

        var builder = new StringBuilder(text).Append('\n');
        foreach (var line in lines)
            builder.Append(line).Append('\n');
        return builder.ToString();
    }

    /// <summary>
    /// Parses the note and checks every signature from a known key. Signatures from unknown keys are ignored;
    /// a failing signature from a known key rejects the note; at least one known key must have signed.
    /// Never throws for bad note content.
    /// </summary>
    public static NoteOpenResult Open(string note, IEnumerable<NoteVerifier> knownVerifiers)
    {
        ArgumentNullException.ThrowIfNull(note);
        ArgumentNullException.ThrowIfNull(knownVerifiers);
        return NoteEnvelope.TryParse(note, out var envelope, out var error)
            ? Verify(envelope, knownVerifiers).ToResult()
            : NoteOpenResult.Failed(NoteOpenErrors.MalformedNote, error);
    }

    /// <summary>As <see cref="Open(string, IEnumerable{NoteVerifier})"/>, over the note's raw bytes (e.g. as received
    /// from the network), so that invalid UTF-8 is rejected rather than repaired before verification.</summary>
    public static NoteOpenResult Open(ReadOnlySpan<byte> note, IEnumerable<NoteVerifier> knownVerifiers)
    {
        ArgumentNullException.ThrowIfNull(knownVerifiers);
        return NoteEnvelope.TryParse(note, out var envelope, out var error)
            ? Verify(envelope, knownVerifiers).ToResult()
            : NoteOpenResult.Failed(NoteOpenErrors.MalformedNote, error);
    }

    internal static NoteVerification Verify(NoteEnvelope envelope, IEnumerable<NoteVerifier> knownVerifiers)
    {
        var known = new Dictionary<NoteKeyId, NoteVerifier?>();
        foreach (var verifier in knownVerifiers)
        {
            ArgumentNullException.ThrowIfNull(verifier, nameof(knownVerifiers));
            var id = new NoteKeyId(verifier.Name, verifier.KeyId);

            // Null marks a (name, ID) pair claimed by two different keys: which one is meant cannot be known.
            known[id] = known.TryGetValue(id, out var existing) && !verifier.Equals(existing) ? null : verifier;
        }

        var verified = new List<NoteKeyId>();
        var unknownLines = new HashSet<string>(StringComparer.Ordinal);
        foreach (var signature in envelope.Signatures)
        {
            if (!known.TryGetValue(signature.Key, out var verifier))
            {
                unknownLines.Add(signature.Line);
                continue;
            }

            if (verifier is null)
                return NoteVerification.Failed(envelope, NoteOpenErrors.AmbiguousKey, $"more than one known key is named {signature.Key}", unknownLines.Count);

            // Unlike Go, which skips a repeated signature by the same key unchecked, every line from a known key
            // is verified: the spec says known keys' signatures must be verified, and it keeps notes non-malleable.
            if (!verifier.Verify(envelope.TextBytes, signature.Signature))
                return NoteVerification.Failed(envelope, NoteOpenErrors.InvalidSignature, $"signature by {signature.Key} does not verify", unknownLines.Count);

            if (!verified.Contains(signature.Key))
                verified.Add(signature.Key);
        }

        return new NoteVerification(envelope, verified, unknownLines.Count, null, null);
    }

    private static IEnumerable<string> SignatureLines(byte[] textBytes, NoteSigner[] signers)
    {
        var seen = new HashSet<NoteKeyId>();
        var lines = new List<string>();
        Span<byte> keyId = stackalloc byte[NoteEncoding.KeyIdSize];
        foreach (var signer in signers)
        {
            ArgumentNullException.ThrowIfNull(signer, nameof(signers));

            // A second signature by the same key adds nothing a verifier will count.
            if (!seen.Add(new NoteKeyId(signer.Name, signer.KeyId)))
                continue;

            BinaryPrimitives.WriteUInt32BigEndian(keyId, signer.KeyId);
            var signature = signer.Sign(textBytes);
            var payload = new byte[NoteEncoding.KeyIdSize + signature.Length];
            keyId.CopyTo(payload);
            signature.CopyTo(payload, NoteEncoding.KeyIdSize);
            lines.Add($"{NoteEncoding.SignatureLinePrefix}{signer.Name} {Convert.ToBase64String(payload)}");
        }

        return lines;
    }

    private static void ValidateText(string text)
    {
        if (!text.EndsWith('\n'))
            throw new ArgumentException("Note text must end with a newline.", nameof(text));
        if (NoteEncoding.HasForbiddenControlCharacter(text))
            throw new ArgumentException("Note text must not contain control characters other than newline.", nameof(text));
        if (!NoteEncoding.IsWellFormedUtf16(text))
            throw new ArgumentException("Note text must be well-formed Unicode (no unpaired surrogates).", nameof(text));
    }
}

/// <summary>Verification outcome that, unlike the public result, keeps the envelope for callers such as
/// <see cref="CheckpointVerifier"/> that must look at the text before deciding which failure to report.</summary>
internal sealed record NoteVerification(
    NoteEnvelope Envelope,
    IReadOnlyList<NoteKeyId> VerifiedKeys,
    int UnknownSignatureCount,
    string? Error,
    string? ErrorDetail)
{
    public static NoteVerification Failed(NoteEnvelope envelope, string error, string detail, int unknownSignatureCount) =>
        new(envelope, [], unknownSignatureCount, error, detail);

    public NoteOpenResult ToResult()
    {
        if (Error is not null)
            return NoteOpenResult.Failed(Error, ErrorDetail ?? Error, UnknownSignatureCount);
        if (VerifiedKeys.Count == 0)
            return NoteOpenResult.Failed(NoteOpenErrors.NoKnownSignature, "no signature is from a known key", UnknownSignatureCount);
        return NoteOpenResult.Verified(Envelope.Text, VerifiedKeys, UnknownSignatureCount);
    }
}
