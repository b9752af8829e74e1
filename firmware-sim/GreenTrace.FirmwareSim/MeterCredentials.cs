using System.Security.Cryptography;
using System.Text;

namespace GreenTrace.FirmwareSim;

/// <summary>
/// A simulated meter's MQTT password. It is derived from the meter's signing key rather than stored,
/// so a fleet file stays the single secret a rehearsal needs, and the broker's password file can be
/// generated from the fleet file alone. Real meters would be provisioned a credential instead.
/// </summary>
public static class MeterCredentials
{
    private static readonly byte[] Label = Encoding.ASCII.GetBytes("greentrace/mqtt-password/v1");

    /// <summary>Base64url (no padding) of HMAC-SHA256 keyed by the private scalar, over a fixed label and the meter id.</summary>
    public static string Password(string meterId, ECDsa privateKey)
    {
        ArgumentNullException.ThrowIfNull(meterId);
        ArgumentNullException.ThrowIfNull(privateKey);
        var d = privateKey.ExportParameters(includePrivateParameters: true).D
            ?? throw new ArgumentException("the key has no private part", nameof(privateKey));
        try
        {
            var message = new byte[Label.Length + 1 + Encoding.UTF8.GetByteCount(meterId)];
            Label.CopyTo(message, 0);
            Encoding.UTF8.GetBytes(meterId, message.AsSpan(Label.Length + 1));
            var mac = HMACSHA256.HashData(d, message);
            return Convert.ToBase64String(mac).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        }
        finally
        {
            CryptographicOperations.ZeroMemory(d);
        }
    }
}
