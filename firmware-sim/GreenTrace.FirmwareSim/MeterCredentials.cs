using System.Security.Cryptography;
using System.Text;

namespace GreenTrace.FirmwareSim;

/// <summary>
/// A simulated meter's broker credentials. They are derived from the meter's signing key rather than stored,
/// so a fleet file stays the single secret a rehearsal needs, and the broker's password file (or an IoT hub's
/// device registrations) can be generated from the fleet file alone. Real meters would be provisioned instead.
/// Each credential has its own label, so knowing one says nothing about another or about the signing key.
/// </summary>
public static class MeterCredentials
{
    private static readonly byte[] PasswordLabel = Encoding.ASCII.GetBytes("greentrace/mqtt-password/v1");
    private static readonly byte[] IotHubPrimaryLabel = Encoding.ASCII.GetBytes("greentrace/iot-hub-device-key/primary/v1");
    private static readonly byte[] IotHubSecondaryLabel = Encoding.ASCII.GetBytes("greentrace/iot-hub-device-key/secondary/v1");

    /// <summary>Base64url (no padding) of HMAC-SHA256 keyed by the private scalar, over a fixed label and the meter id.</summary>
    public static string Password(string meterId, ECDsa privateKey)
    {
        var mac = Derive(PasswordLabel, meterId, privateKey);
        return Convert.ToBase64String(mac).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>
    /// The 32-byte symmetric key an IoT hub holds for the device (its "primary key", base64 in the hub's registry);
    /// SAS tokens are HMACs under it. Derived like <see cref="Password"/> under another label.
    /// </summary>
    public static byte[] IotHubDeviceKey(string meterId, ECDsa privateKey) => Derive(IotHubPrimaryLabel, meterId, privateKey);

    /// <summary>The device's secondary key, registered alongside so a hub operator can roll keys; the simulator signs with the primary.</summary>
    public static byte[] IotHubSecondaryDeviceKey(string meterId, ECDsa privateKey) => Derive(IotHubSecondaryLabel, meterId, privateKey);

    private static byte[] Derive(byte[] label, string meterId, ECDsa privateKey)
    {
        ArgumentNullException.ThrowIfNull(meterId);
        ArgumentNullException.ThrowIfNull(privateKey);
        var d = privateKey.ExportParameters(includePrivateParameters: true).D
            ?? throw new ArgumentException("the key has no private part", nameof(privateKey));
        try
        {
            var message = new byte[label.Length + 1 + Encoding.UTF8.GetByteCount(meterId)];
            label.CopyTo(message, 0);
            Encoding.UTF8.GetBytes(meterId, message.AsSpan(label.Length + 1));
            return HMACSHA256.HashData(d, message);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(d);
        }
    }
}
