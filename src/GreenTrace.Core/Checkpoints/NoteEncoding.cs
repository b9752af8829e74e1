using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace GreenTrace.Core.Checkpoints;

// Shared low-level rules of c2sp.org/signed-note, kept in one place so that the signer,
// the verifier and the parser cannot drift apart.
internal static class NoteEncoding
{
    public const byte AlgorithmEd25519 = 0x01;
    public const int Ed25519PublicKeySize = 32;
    public const int Ed25519SeedSize = 32;
    public const int Ed25519SignatureSize = 64;
    public const int KeyIdSize = 4;

    // Go's note.Open uses the same bound; the spec only demands at least 16, and a bound is
    // what keeps a hostile note from making us run thousands of signature checks.
    public const int MaxSignatures = 100;

    public const string SignatureLinePrefix = "\u2014 ";

    public static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    // Mirrors Go's isValidName (non-empty, no Unicode space, no '+'). Control characters are
    // rejected too: a signed note may not contain them, so such a key could never sign a note.
    public static bool IsValidKeyName(string? name)
    {
        if (string.IsNullOrEmpty(name) || !IsWellFormedUtf16(name))
            return false;

        foreach (var c in name)
        {
            if (c == '+' || char.IsWhiteSpace(c) || c < 0x20)
                return false;
        }

        return true;
    }

    public static bool IsWellFormedUtf16(string s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1]))
                    return false;
                i++;
            }
            else if (char.IsLowSurrogate(c))
            {
                return false;
            }
        }

        return true;
    }

    // The note format forbids C0 controls other than newline; DEL is allowed, as in Go.
    public static bool HasForbiddenControlCharacter(string s)
    {
        foreach (var c in s)
        {
            if (c < 0x20 && c != '\n')
                return true;
        }

        return false;
    }

    public static uint ComputeKeyId(string name, ReadOnlySpan<byte> typedPublicKey)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var input = new byte[nameBytes.Length + 1 + typedPublicKey.Length];
        nameBytes.CopyTo(input, 0);
        input[nameBytes.Length] = (byte)'\n';
        typedPublicKey.CopyTo(input.AsSpan(nameBytes.Length + 1));
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(input, hash);
        return BinaryPrimitives.ReadUInt32BigEndian(hash);
    }

    public static byte[] TypedKey(ReadOnlySpan<byte> rawKey)
    {
        var typed = new byte[rawKey.Length + 1];
        typed[0] = AlgorithmEd25519;
        rawKey.CopyTo(typed.AsSpan(1));
        return typed;
    }

    public static string FormatKeyId(uint keyId) => keyId.ToString("x8", CultureInfo.InvariantCulture);

    // Go accepts either case of hex digits here, so we do too.
    public static bool TryParseKeyId(ReadOnlySpan<char> hex, out uint keyId)
    {
        keyId = 0;
        if (hex.Length != 8)
            return false;
        foreach (var c in hex)
        {
            if (!char.IsAsciiHexDigit(c))
                return false;
        }

        return uint.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out keyId);
    }

    // Standard padded base64 that must re-encode to exactly the input. Convert.FromBase64String
    // silently skips whitespace and ignores non-zero padding bits; accepting either would let
    // many different notes carry the same signature, so a byte-level change could go unnoticed.
    public static bool TryDecodeCanonicalBase64(ReadOnlySpan<char> text, out byte[] bytes)
    {
        bytes = [];
        if (text.Length % 4 != 0)
            return false;

        var buffer = new byte[text.Length / 4 * 3];
        if (!Convert.TryFromBase64Chars(text, buffer, out var written))
            return false;

        var decoded = buffer.AsSpan(0, written).ToArray();
        if (!Convert.ToBase64String(decoded).AsSpan().SequenceEqual(text))
            return false;

        bytes = decoded;
        return true;
    }
}
