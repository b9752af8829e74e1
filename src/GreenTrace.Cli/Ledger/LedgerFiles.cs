using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Ledger;

namespace GreenTrace.Cli.Ledger;

/// <summary>
/// A ledger node's private keys: its Ed25519 checkpoint key (C2SP note signer string) and its ES256
/// governance key (PKCS#8, base64) for membership changes.
/// </summary>
internal sealed record NodeKeyFile(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("checkpointKey")] string CheckpointKey,
    [property: JsonPropertyName("governanceKeyPkcs8")] string GovernanceKeyPkcs8);

/// <summary>The files the ledger commands read and write; every failure is a <see cref="LedgerFileException"/> naming the file.</summary>
internal static class LedgerFiles
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static Membership LoadTrust(string path)
    {
        try
        {
            return Membership.FromJson(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            throw new LedgerFileException($"trust file {path}: {e.Message}", e);
        }
    }

    public static NoteSigner LoadNodeKey(string path)
    {
        try
        {
            var file = JsonSerializer.Deserialize<NodeKeyFile>(File.ReadAllText(path), Json) ?? throw new FormatException("the file is empty");
            return NoteSigner.FromPrivateKeyString(file.CheckpointKey ?? throw new FormatException("no checkpointKey"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or JsonException or ArgumentException)
        {
            throw new LedgerFileException($"node key {path}: {e.Message}", e);
        }
    }

    public static void WriteNodeKey(string path, NoteSigner checkpointKey, ECDsa governanceKey) =>
        WritePrivate(path, JsonSerializer.Serialize(new NodeKeyFile(checkpointKey.Name, checkpointKey.PrivateKeyString, Convert.ToBase64String(governanceKey.ExportPkcs8PrivateKey())), Json));

    /// <summary>An owner's P-256 private key from a PKCS#8 PEM file.</summary>
    public static ECDsa LoadOwnerKey(string path)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(File.ReadAllText(path));
            if (key.KeySize != 256)
                throw new FormatException("an owner key must be P-256");
            // A public key PEM imports too, but cannot sign: say so here rather than as a signing exception.
            _ = key.ExportParameters(includePrivateParameters: true);
            return key;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new LedgerFileException($"owner key {path}: {e.Message}", e);
        }
    }

    /// <summary>An owner's SubjectPublicKeyInfo from a PEM file: a public key (owner-key's .pub) or a private key.</summary>
    public static byte[] LoadOwnerPublicKey(string path)
    {
        using var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(File.ReadAllText(path));
            if (key.KeySize != 256)
                throw new FormatException("an owner key must be P-256");
            return key.ExportSubjectPublicKeyInfo();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentException or CryptographicException)
        {
            throw new LedgerFileException($"owner public key {path}: {e.Message}", e);
        }
    }

    /// <summary>Written readable by the owner only, also when it replaces an older file.</summary>
    public static void WritePrivate(string path, string content)
    {
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } dir)
            Directory.CreateDirectory(dir);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(path, options))
        using (var writer = new StreamWriter(stream))
            writer.Write(content);
        // The create mode only applies to a new file; an old one keeps its mode unless told.
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    public static byte[] ParseId(string hex, string what)
    {
        try
        {
            var id = Convert.FromHexString(hex.Trim());
            return id.Length == 32 ? id : throw new FormatException($"{what} must be 32 bytes (64 hex digits)");
        }
        catch (FormatException e)
        {
            throw new LedgerFileException($"{what} '{hex}': {e.Message}", e);
        }
    }
}

internal sealed class LedgerFileException(string message, Exception? inner = null) : Exception(message, inner);
