using System.Diagnostics.CodeAnalysis;
using NSec.Cryptography;
using NSecPublicKey = NSec.Cryptography.PublicKey;

namespace GreenTrace.Core.Checkpoints;

/// <summary>
/// An Ed25519 public key for c2sp.org/signed-note, identified by key name and 32-bit key ID.
/// The text form is Go's <c>note.NewVerifier</c> encoding: <c>&lt;name&gt;+&lt;hex id&gt;+&lt;base64(0x01 ‖ key)&gt;</c>.
/// </summary>
public sealed class NoteVerifier : IEquatable<NoteVerifier>
{
    private readonly NSecPublicKey _key;
    private readonly byte[] _publicKey;

    private NoteVerifier(string name, uint keyId, byte[] publicKey, NSecPublicKey key)
    {
        Name = name;
        KeyId = keyId;
        _publicKey = publicKey;
        _key = key;
    }

    public string Name { get; }

    public uint KeyId { get; }

    /// <summary>The raw 32-byte Ed25519 public key (a copy).</summary>
    public byte[] PublicKey => (byte[])_publicKey.Clone();

    public string VerifierKey =>
        $"{Name}+{NoteEncoding.FormatKeyId(KeyId)}+{Convert.ToBase64String(NoteEncoding.TypedKey(_publicKey))}";

    /// <exception cref="FormatException">The key is malformed, uses another algorithm, or its key ID does not match.</exception>
    public static NoteVerifier Parse(string vkey)
    {
        ArgumentNullException.ThrowIfNull(vkey);
        return TryParseCore(vkey, out var verifier, out var error)
            ? verifier
            : throw new FormatException($"Invalid note verifier key: {error}.");
    }

    public static bool TryParse([NotNullWhen(true)] string? vkey, [NotNullWhen(true)] out NoteVerifier? verifier)
    {
        if (vkey is null)
        {
            verifier = null;
            return false;
        }

        return TryParseCore(vkey, out verifier, out _);
    }

    /// <exception cref="ArgumentException">The name is not a valid key name or the key is not 32 bytes.</exception>
    public static NoteVerifier FromPublicKey(string name, ReadOnlySpan<byte> ed25519PublicKey)
    {
        if (!NoteEncoding.IsValidKeyName(name))
            throw new ArgumentException("Key name must be non-empty and contain no whitespace, '+' or control characters.", nameof(name));
        if (ed25519PublicKey.Length != NoteEncoding.Ed25519PublicKeySize)
            throw new ArgumentException($"An Ed25519 public key is {NoteEncoding.Ed25519PublicKeySize} bytes, got {ed25519PublicKey.Length}.", nameof(ed25519PublicKey));

        var raw = ed25519PublicKey.ToArray();
        var key = NSecPublicKey.Import(SignatureAlgorithm.Ed25519, raw, KeyBlobFormat.RawPublicKey);
        return new NoteVerifier(name, NoteEncoding.ComputeKeyId(name, NoteEncoding.TypedKey(raw)), raw, key);
    }

    /// <summary>Verifies a raw Ed25519 signature (without the 4-byte key ID prefix) over <paramref name="message"/>.</summary>
    public bool Verify(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature) =>
        signature.Length == NoteEncoding.Ed25519SignatureSize
        && SignatureAlgorithm.Ed25519.Verify(_key, message, signature);

    public bool Equals(NoteVerifier? other) =>
        other is not null
        && KeyId == other.KeyId
        && string.Equals(Name, other.Name, StringComparison.Ordinal)
        && _publicKey.AsSpan().SequenceEqual(other._publicKey);

    public override bool Equals(object? obj) => Equals(obj as NoteVerifier);

    public override int GetHashCode() => HashCode.Combine(StringComparer.Ordinal.GetHashCode(Name), KeyId);

    public override string ToString() => VerifierKey;

    // The only way to get two different keys with one name and key ID short of a 2^32 search;
    // it exists so tests can reach the ambiguous-key path.
    internal static NoteVerifier CreateWithKeyId(string name, uint keyId, ReadOnlySpan<byte> ed25519PublicKey)
    {
        var raw = ed25519PublicKey.ToArray();
        return new NoteVerifier(name, keyId, raw, NSecPublicKey.Import(SignatureAlgorithm.Ed25519, raw, KeyBlobFormat.RawPublicKey));
    }

    private static bool TryParseCore(string vkey, [NotNullWhen(true)] out NoteVerifier? verifier, [NotNullWhen(false)] out string? error)
    {
        verifier = null;

        // Only the first two '+' are separators: base64 key data may itself contain '+'.
        var first = vkey.IndexOf('+', StringComparison.Ordinal);
        var second = first < 0 ? -1 : vkey.IndexOf('+', first + 1);
        if (second < 0)
        {
            error = "expected <name>+<key id>+<key data>";
            return false;
        }

        var name = vkey[..first];
        if (!NoteEncoding.IsValidKeyName(name))
        {
            error = "invalid key name";
            return false;
        }

        if (!NoteEncoding.TryParseKeyId(vkey.AsSpan(first + 1, second - first - 1), out var keyId))
        {
            error = "key ID must be 8 hexadecimal digits";
            return false;
        }

        if (!NoteEncoding.TryDecodeCanonicalBase64(vkey.AsSpan(second + 1), out var typedKey) || typedKey.Length == 0)
        {
            error = "key data is not canonical standard base64";
            return false;
        }

        // Same order as Go: the ID is checked over the typed key before the algorithm is looked at.
        if (NoteEncoding.ComputeKeyId(name, typedKey) != keyId)
        {
            error = "key ID does not match the key name and key data";
            return false;
        }

        if (typedKey[0] != NoteEncoding.AlgorithmEd25519)
        {
            error = $"unsupported signature type 0x{typedKey[0]:x2}";
            return false;
        }

        if (typedKey.Length != 1 + NoteEncoding.Ed25519PublicKeySize)
        {
            error = $"an Ed25519 public key is {NoteEncoding.Ed25519PublicKeySize} bytes";
            return false;
        }

        var raw = typedKey[1..];
        if (!NSecPublicKey.TryImport(SignatureAlgorithm.Ed25519, raw, KeyBlobFormat.RawPublicKey, out var key) || key is null)
        {
            error = "key data is not an Ed25519 public key";
            return false;
        }

        verifier = new NoteVerifier(name, keyId, raw, key);
        error = null;
        return true;
    }
}
