using System.Security.Cryptography;
using System.Text;

namespace GreenTrace.Broker.Mosquitto;

/// <summary>
/// Mosquitto's password file, written without <c>mosquitto_passwd</c>: one line per user,
/// <c>user:$7$101$&lt;salt&gt;$&lt;hash&gt;</c>, the hash being PBKDF2-HMAC-SHA512 of the UTF-8 password
/// over a random 12-byte salt, 64 bytes long, both base64 with padding. That is exactly what
/// <c>mosquitto_passwd</c> 2.0 writes, so the broker reads it as its own.
/// </summary>
public static class MosquittoPasswordFile
{
    /// <summary>mosquitto_passwd's default; the broker reads the count from each line, so it is not fixed.</summary>
    public const int Iterations = 101;
    public const int SaltBytes = 12;
    public const int HashBytes = 64;

    /// <summary>The hash field (<c>$7$…</c>) for a password, over a fresh random salt.</summary>
    public static string Hash(string password) => Hash(password, RandomNumberGenerator.GetBytes(SaltBytes), Iterations);

    /// <summary>The hash field for a given salt: deterministic, for known-answer tests.</summary>
    public static string Hash(string password, ReadOnlySpan<byte> salt, int iterations = Iterations)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        if (salt.IsEmpty)
            throw new ArgumentException("the salt is empty", nameof(salt));
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA512, HashBytes);
        return $"$7${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
    }

    /// <summary>One line of the file, without the newline.</summary>
    public static string Line(MqttCredential credential)
    {
        ArgumentNullException.ThrowIfNull(credential);
        if (!MqttCredential.IsValidUsername(credential.Username))
            throw new ArgumentException($"'{credential.Username}' cannot be a Mosquitto username (no whitespace, ':', '+', '#' or '/')", nameof(credential));
        return $"{credential.Username}:{Hash(credential.Password)}";
    }

    /// <summary>The whole file. Usernames must be unique: Mosquitto would silently keep only one of them.</summary>
    public static string Format(IEnumerable<MqttCredential> credentials)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var text = new StringBuilder();
        foreach (var credential in credentials)
        {
            ArgumentNullException.ThrowIfNull(credential, nameof(credentials));
            if (!seen.Add(credential.Username))
                throw new ArgumentException($"username '{credential.Username}' appears twice", nameof(credentials));
            text.Append(Line(credential)).Append('\n');
        }
        return text.ToString();
    }

    /// <summary>Writes the file readable by its owner only, as mosquitto_passwd does.</summary>
    public static void Write(string path, IEnumerable<MqttCredential> credentials) => PrivateFile.WriteAllText(path, Format(credentials));

    /// <summary>
    /// Checks a password against a hash field the way the broker does, so a file can be checked
    /// without a broker or mosquitto_passwd. Accepts <c>$7$</c> (PBKDF2-SHA512) and the older
    /// <c>$6$</c> (one SHA-512 of password and salt) that the broker still reads.
    /// </summary>
    public static bool Verify(string hashField, string password)
    {
        ArgumentNullException.ThrowIfNull(hashField);
        ArgumentNullException.ThrowIfNull(password);
        var parts = hashField.Split('$');
        try
        {
            byte[] expected, actual;
            if (parts is ["", "7", var iterationText, var saltText, var hashText]
                && int.TryParse(iterationText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var iterations)
                && iterations > 0)
            {
                expected = Convert.FromBase64String(hashText);
                actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), Convert.FromBase64String(saltText), iterations, HashAlgorithmName.SHA512, expected.Length);
            }
            else if (parts is ["", "6", var legacySalt, var legacyHash])
            {
                expected = Convert.FromBase64String(legacyHash);
                actual = SHA512.HashData([.. Encoding.UTF8.GetBytes(password), .. Convert.FromBase64String(legacySalt)]);
            }
            else
            {
                return false;
            }
            return expected.Length > 0 && CryptographicOperations.FixedTimeEquals(expected, actual);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>The users and hash fields of a password file's text (blank lines skipped).</summary>
    public static IReadOnlyList<(string Username, string HashField)> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var entries = new List<(string, string)>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0)
                continue;
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
                throw new FormatException($"password file line without 'user:hash': '{line}'");
            entries.Add((line[..colon], line[(colon + 1)..]));
        }
        return entries;
    }
}
