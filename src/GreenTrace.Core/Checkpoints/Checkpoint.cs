using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace GreenTrace.Core.Checkpoints;

/// <summary>
/// A c2sp.org/tlog-checkpoint note text: origin, tree size, RFC 6962 root hash, optional extension lines.
/// Equality compares the root hash and extensions by content.
/// </summary>
public sealed record Checkpoint(string Origin, long Size, byte[] RootHash, IReadOnlyList<string> Extensions)
{
    /// <summary>RFC 6962 trees use SHA-256, so any other length cannot be a root hash.</summary>
    public const int RootHashLength = 32;

    public Checkpoint(string origin, long size, byte[] rootHash)
        : this(origin, size, rootHash, [])
    {
    }

    /// <summary>The note text, each line ending in a newline, ready for <see cref="SignedNote.Sign"/>.</summary>
    /// <exception cref="InvalidOperationException">A field would not survive a round trip through <see cref="TryParse"/>.</exception>
    public string ToNoteText()
    {
        if (!IsValidLine(Origin))
            throw new InvalidOperationException("Checkpoint origin must be a non-empty line without control characters.");
        if (Size < 0)
            throw new InvalidOperationException("Checkpoint tree size must not be negative.");
        if (RootHash is null || RootHash.Length != RootHashLength)
            throw new InvalidOperationException($"Checkpoint root hash must be {RootHashLength} bytes.");
        if (Extensions is null || Extensions.Any(e => !IsValidLine(e)))
            throw new InvalidOperationException("Checkpoint extension lines must be non-empty lines without control characters.");

        var builder = new StringBuilder()
            .Append(Origin).Append('\n')
            .Append(Size.ToString(CultureInfo.InvariantCulture)).Append('\n')
            .Append(Convert.ToBase64String(RootHash)).Append('\n');
        foreach (var extension in Extensions)
            builder.Append(extension).Append('\n');
        return builder.ToString();
    }

    /// <summary>Parses checkpoint note text (the text of an opened note, not the signed note itself).</summary>
    public static bool TryParse(
        string noteText,
        [NotNullWhen(true)] out Checkpoint? checkpoint,
        [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(noteText);
        checkpoint = null;

        if (!noteText.EndsWith('\n'))
            return Fail("checkpoint text must end with a newline", out error);
        if (NoteEncoding.HasForbiddenControlCharacter(noteText) || !NoteEncoding.IsWellFormedUtf16(noteText))
            return Fail("checkpoint text contains characters a signed note cannot carry", out error);

        var lines = noteText[..^1].Split('\n');
        if (lines.Length < 3)
            return Fail("checkpoint text needs origin, tree size and root hash lines", out error);

        var origin = lines[0];
        if (origin.Length == 0)
            return Fail("checkpoint origin is empty", out error);

        if (!TryParseSize(lines[1], out var size, out error))
            return false;

        if (!NoteEncoding.TryDecodeCanonicalBase64(lines[2], out var rootHash))
            return Fail("checkpoint root hash is not canonical standard base64", out error);
        if (rootHash.Length != RootHashLength)
            return Fail($"checkpoint root hash is {rootHash.Length} bytes, expected {RootHashLength}", out error);

        var extensions = lines[3..];
        if (extensions.Any(e => e.Length == 0))
            return Fail("checkpoint extension lines must be non-empty", out error);

        checkpoint = new Checkpoint(origin, size, rootHash, extensions);
        error = null;
        return true;
    }

    public bool Equals(Checkpoint? other) =>
        other is not null
        && string.Equals(Origin, other.Origin, StringComparison.Ordinal)
        && Size == other.Size
        && RootHash.AsSpan().SequenceEqual(other.RootHash)
        && Extensions.SequenceEqual(other.Extensions, StringComparer.Ordinal);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Origin, StringComparer.Ordinal);
        hash.Add(Size);
        hash.AddBytes(RootHash);
        hash.Add(Extensions.Count);
        return hash.ToHashCode();
    }

    public override string ToString() =>
        $"Checkpoint {{ Origin = {Origin}, Size = {Size}, RootHash = {Convert.ToBase64String(RootHash)}, Extensions = {Extensions.Count} }}";

    private static bool TryParseSize(string line, out long size, [NotNullWhen(false)] out string? error)
    {
        size = 0;

        // Digits only: long.TryParse alone would also take a sign, and a canonical form is what makes
        // two checkpoints for the same tree byte-identical.
        if (line.Length == 0 || !line.All(char.IsAsciiDigit))
            return Fail("checkpoint tree size is not a decimal number", out error);
        if (line.Length > 1 && line[0] == '0')
            return Fail("checkpoint tree size has a leading zero", out error);
        if (!long.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out size))
            return Fail("checkpoint tree size is too large", out error);

        error = null;
        return true;
    }

    private static bool IsValidLine(string? line) =>
        !string.IsNullOrEmpty(line)
        && !line.Contains('\n', StringComparison.Ordinal)
        && !NoteEncoding.HasForbiddenControlCharacter(line)
        && NoteEncoding.IsWellFormedUtf16(line);

    private static bool Fail(string message, out string error)
    {
        error = message;
        return false;
    }
}
