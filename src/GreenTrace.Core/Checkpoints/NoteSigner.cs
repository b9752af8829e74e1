using System.Security.Cryptography;
using NSec.Cryptography;

namespace GreenTrace.Core.Checkpoints;

/// <summary>
/// An Ed25519 signing key for c2sp.org/signed-note. The text form is Go's <c>note.NewSigner</c>
/// encoding: <c>PRIVATE+KEY+&lt;name&gt;+&lt;hex id&gt;+&lt;base64(0x01 ‖ seed)&gt;</c>.
/// </summary>
public sealed class NoteSigner : IDisposable
{
    private const string PrivateKeyPrefix = "PRIVATE+KEY+";

    private readonly Key _key;
    private bool _disposed;

    private NoteSigner(string name, Key key)
    {
        _key = key;
        Name = name;
        Verifier = NoteVerifier.FromPublicKey(name, key.PublicKey.Export(KeyBlobFormat.RawPublicKey));
    }

    public string Name { get; }

    public uint KeyId => Verifier.KeyId;

    public NoteVerifier Verifier { get; }

    /// <summary>The secret signer key string; anyone holding it can sign as this key.</summary>
    public string PrivateKeyString
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var typedSeed = new byte[1 + NoteEncoding.Ed25519SeedSize];
            try
            {
                typedSeed[0] = NoteEncoding.AlgorithmEd25519;
                if (!_key.TryExport(KeyBlobFormat.RawPrivateKey, typedSeed.AsSpan(1), out var written) || written != NoteEncoding.Ed25519SeedSize)
                    throw new CryptographicException("Could not export the Ed25519 seed.");
                return $"{PrivateKeyPrefix}{Name}+{NoteEncoding.FormatKeyId(KeyId)}+{Convert.ToBase64String(typedSeed)}";
            }
            finally
            {
                CryptographicOperations.ZeroMemory(typedSeed);
            }
        }
    }

    /// <exception cref="ArgumentException">The name is not a valid key name.</exception>
    public static NoteSigner Generate(string name)
    {
        ValidateName(name);
        var parameters = ExportableParameters();
        return Wrap(name, Key.Create(SignatureAlgorithm.Ed25519, in parameters));
    }

    /// <exception cref="FormatException">The string is not a well-formed Ed25519 signer key, or its key ID does not match.</exception>
    public static NoteSigner FromPrivateKeyString(string skey)
    {
        ArgumentNullException.ThrowIfNull(skey);

        // Messages never echo the input: it is a secret.
        if (!skey.StartsWith(PrivateKeyPrefix, StringComparison.Ordinal))
            throw Invalid("it must start with 'PRIVATE+KEY+'");

        var rest = skey.AsSpan(PrivateKeyPrefix.Length);
        var first = rest.IndexOf('+');
        var second = first < 0 ? -1 : rest[(first + 1)..].IndexOf('+');
        if (second < 0)
            throw Invalid("expected PRIVATE+KEY+<name>+<key id>+<key data>");
        second += first + 1;

        var name = rest[..first].ToString();
        if (!NoteEncoding.IsValidKeyName(name))
            throw Invalid("invalid key name");
        if (!NoteEncoding.TryParseKeyId(rest[(first + 1)..second], out var keyId))
            throw Invalid("key ID must be 8 hexadecimal digits");
        if (!NoteEncoding.TryDecodeCanonicalBase64(rest[(second + 1)..], out var typedSeed) || typedSeed.Length == 0)
            throw Invalid("key data is not canonical standard base64");

        try
        {
            if (typedSeed[0] != NoteEncoding.AlgorithmEd25519)
                throw Invalid($"unsupported signature type 0x{typedSeed[0]:x2}");
            if (typedSeed.Length != 1 + NoteEncoding.Ed25519SeedSize)
                throw Invalid($"an Ed25519 seed is {NoteEncoding.Ed25519SeedSize} bytes");

            var signer = FromSeedCore(name, typedSeed.AsSpan(1));

            // The ID commits to the public key, which only exists once the seed is expanded.
            if (signer.KeyId != keyId)
            {
                signer.Dispose();
                throw Invalid("key ID does not match the key name and derived public key");
            }

            return signer;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(typedSeed);
        }
    }

    /// <summary>Returns a raw 64-byte Ed25519 signature over <paramref name="message"/>.</summary>
    public byte[] Sign(ReadOnlySpan<byte> message)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return SignatureAlgorithm.Ed25519.Sign(_key, message);
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _key.Dispose();
    }

    // Deliberately not the private key string, so a signer can be logged safely.
    public override string ToString() => $"NoteSigner({Name}+{NoteEncoding.FormatKeyId(KeyId)})";

    // Internal so tests can build reproducible keys; production keys come from Generate or a stored key string.
    internal static NoteSigner FromSeed(string name, ReadOnlySpan<byte> seed)
    {
        ValidateName(name);
        if (seed.Length != NoteEncoding.Ed25519SeedSize)
            throw new ArgumentException($"An Ed25519 seed is {NoteEncoding.Ed25519SeedSize} bytes.", nameof(seed));
        return FromSeedCore(name, seed);
    }

    private static NoteSigner FromSeedCore(string name, ReadOnlySpan<byte> seed)
    {
        var parameters = ExportableParameters();
        return Wrap(name, Key.Import(SignatureAlgorithm.Ed25519, seed, KeyBlobFormat.RawPrivateKey, in parameters));
    }

    // The key holds native secret memory; it must not outlive a failed construction.
    private static NoteSigner Wrap(string name, Key key)
    {
        try
        {
            return new NoteSigner(name, key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    // Export must stay possible because PrivateKeyString is part of the contract (key backup, Go interop).
    private static KeyCreationParameters ExportableParameters() =>
        new() { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };

    private static void ValidateName(string name)
    {
        if (!NoteEncoding.IsValidKeyName(name))
            throw new ArgumentException("Key name must be non-empty and contain no whitespace, '+' or control characters.", nameof(name));
    }

    private static FormatException Invalid(string reason) => new($"Invalid note signer key: {reason}.");
}
