using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace GreenTrace.FirmwareSim;

/// <summary>
/// Azure IoT Hub's MQTT conventions for devices (no Azure SDK needed): MQTT 3.1.1 over TLS, client id = device id,
/// a user name naming the hub and an API version, a SAS token as the password, and one topic per device for
/// device-to-cloud messages.
/// </summary>
public static class IotHub
{
    public const string ApiVersion = "2021-04-12";

    public const int DefaultPort = 8883;

    /// <summary>The largest device-to-cloud message IoT Hub takes.</summary>
    public const int MaxMessageBytes = 256 * 1024;

    /// <summary>"myhub" → "myhub.azure-devices.net"; a name with a dot is taken as the full host name (other clouds).</summary>
    public static string HostName(string hub)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(hub);
        return hub.Contains('.', StringComparison.Ordinal) ? hub : hub + ".azure-devices.net";
    }

    public static string UserName(string hostName, string deviceId) => $"{hostName}/{deviceId}/?api-version={ApiVersion}";

    /// <summary>The resource a device's SAS token grants: the device itself.</summary>
    public static string ResourceUri(string hostName, string deviceId) => $"{hostName}/devices/{deviceId}";

    /// <summary>Device-to-cloud topic; a property bag (already URL-encoded) may follow the final slash.</summary>
    public static string EventsTopic(string deviceId, string propertyBag = "") => $"devices/{deviceId}/messages/events/{propertyBag}";

    /// <summary>The property bag that sets the message's content type system property ($.ct).</summary>
    public static string ContentTypeProperty(string contentType) => $"{Uri.EscapeDataString("$.ct")}={Uri.EscapeDataString(contentType)}";

    /// <summary>
    /// <c>SharedAccessSignature sr={url-encoded resource}&amp;sig={url-encoded base64 HMAC-SHA256(key, url-encoded resource + "\n" + expiry)}&amp;se={expiry}</c>,
    /// exactly as the Azure device SDKs build it (WebUtility.UrlEncode).
    /// </summary>
    /// <param name="expiry">Unix seconds after which the hub refuses the token.</param>
    public static string SasToken(string resourceUri, ReadOnlySpan<byte> deviceKey, long expiry)
    {
        ArgumentException.ThrowIfNullOrEmpty(resourceUri);
        var encodedResource = WebUtility.UrlEncode(resourceUri);
        var expiryText = expiry.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var signature = Convert.ToBase64String(HMACSHA256.HashData(deviceKey, Encoding.UTF8.GetBytes(encodedResource + "\n" + expiryText)));
        return $"SharedAccessSignature sr={encodedResource}&sig={WebUtility.UrlEncode(signature)}&se={expiryText}";
    }

    /// <summary>
    /// The fleet's device identities in the format of IoT Hub's bulk import (one ExportImportDevice JSON object per
    /// line, the "devices.txt" blob an import job reads), with the derived symmetric keys. Secret: it lets anyone
    /// connect as these devices.
    /// </summary>
    public static string DeviceImportLines(Fleet fleet)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        var builder = new StringBuilder();
        foreach (var meter in fleet.Meters)
        {
            builder.Append(JsonSerializer.Serialize(new
            {
                id = meter.Id,
                importMode = "createOrUpdate",
                status = "enabled",
                authentication = new
                {
                    type = "sas",
                    symmetricKey = new
                    {
                        primaryKey = Convert.ToBase64String(meter.IotHubDeviceKey()),
                        secondaryKey = Convert.ToBase64String(meter.IotHubSecondaryDeviceKey()),
                    },
                },
            }));
            builder.Append('\n');
        }
        return builder.ToString();
    }
}
