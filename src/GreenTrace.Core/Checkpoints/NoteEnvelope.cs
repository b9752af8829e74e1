using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Unicode;

namespace GreenTrace.Core.Checkpoints;

/// <summary>One parsed signature line; <see cref="Line"/> keeps the exact text so cosigning can copy it unchanged.</summary>
internal sealed record NoteSignatureLine(string Name, uint KeyId, byte[] Signature, string Line)
{
    public NoteKeyId Key => new(Name, KeyId);
}

/// <summary>The syntactic layer of a signed note: text and signature lines, no cryptography.</summary>
internal sealed class NoteEnvelope
{
    private static ReadOnlySpan<byte> SignatureLinePrefixUtf8 => "\u2014 "u8;

    private NoteEnvelope(byte[] textBytes, string text, IReadOnlyList<NoteSignatureLine> signatures)
    {
        TextBytes = textBytes;
        Text = text;
        Signatures = signatures;
    }

    public byte[] TextBytes { get; }

    public string Text { get; }

    public IReadOnlyList<NoteSignatureLine> Signatures { get; }

    public static bool TryParse(ReadOnlySpan<byte> note, [NotNullWhen(true)] out NoteEnvelope? envelope, [NotNullWhen(false)] out string? error)
    {
        envelope = null;

        if (!Utf8.IsValid(note))
        {
            error = "note is not valid UTF-8";
            return false;
        }

        // UTF-8 continuation and lead bytes are all >= 0x80, so a byte scan finds every C0 control.
        foreach (var b in note)
        {
            if (b < 0x20 && b != (byte)'\n')
            {
                error = "note contains a control character other than newline";
                return false;
            }
        }

        // The text may itself contain blank lines; only the last one separates the signatures.
        var split = note.LastIndexOf("\n\n"u8);
        if (split < 0)
        {
            error = "no blank line separates the text from the signatures";
            return false;
        }

        var textBytes = note[..(split + 1)];
        var signatureBlock = note[(split + 2)..];
        if (signatureBlock.IsEmpty)
        {
            error = "note has no signature lines";
            return false;
        }

        if (signatureBlock[^1] != (byte)'\n')
        {
            error = "last signature line does not end in a newline";
            return false;
        }

        var signatures = new List<NoteSignatureLine>();
        while (!signatureBlock.IsEmpty)
        {
            var end = signatureBlock.IndexOf((byte)'\n');
            var line = signatureBlock[..end];
            signatureBlock = signatureBlock[(end + 1)..];

            if (!TryParseSignatureLine(line, out var signature, out error))
                return false;

            if (signatures.Count == NoteEncoding.MaxSignatures)
            {
                error = $"note has more than {NoteEncoding.MaxSignatures} signatures";
                return false;
            }

            signatures.Add(signature);
        }

        envelope = new NoteEnvelope(textBytes.ToArray(), Encoding.UTF8.GetString(textBytes), signatures);
        error = null;
        return true;
    }

    public static bool TryParse(string note, [NotNullWhen(true)] out NoteEnvelope? envelope, [NotNullWhen(false)] out string? error)
    {
        // A lone surrogate has no UTF-8 form; re-encoding it would silently change the signed bytes.
        if (!NoteEncoding.IsWellFormedUtf16(note))
        {
            envelope = null;
            error = "note contains an unpaired UTF-16 surrogate";
            return false;
        }

        return TryParse(Encoding.UTF8.GetBytes(note), out envelope, out error);
    }

    private static bool TryParseSignatureLine(ReadOnlySpan<byte> line, [NotNullWhen(true)] out NoteSignatureLine? signature, [NotNullWhen(false)] out string? error)
    {
        signature = null;
        if (!line.StartsWith(SignatureLinePrefixUtf8))
        {
            error = "a line after the blank line is not a signature line (\u2014 <name> <base64>)";
            return false;
        }

        var body = Encoding.UTF8.GetString(line[SignatureLinePrefixUtf8.Length..]);
        var space = body.IndexOf(' ', StringComparison.Ordinal);
        var name = space < 0 ? body : body[..space];
        var base64 = space < 0 ? "" : body[(space + 1)..];

        if (!NoteEncoding.IsValidKeyName(name))
        {
            error = "signature line has an invalid key name";
            return false;
        }

        if (!NoteEncoding.TryDecodeCanonicalBase64(base64, out var decoded) || decoded.Length <= NoteEncoding.KeyIdSize)
        {
            error = $"signature by '{name}' is not canonical base64 of a key ID and signature";
            return false;
        }

        signature = new NoteSignatureLine(
            name,
            BinaryPrimitives.ReadUInt32BigEndian(decoded),
            decoded[NoteEncoding.KeyIdSize..],
            Encoding.UTF8.GetString(line));
        error = null;
        return true;
    }
}
