namespace GreenTrace.Core.Ledger;

/// <summary>Why a node refused an entry. Stable codes: they are returned to submitters and logged by every node.</summary>
public static class LedgerReasons
{
    public const string EntryMalformed = "entry-malformed";
    public const string EntrySignature = "entry-signature";
    public const string IssuerUnknown = "issuer-unknown";
    public const string IssuerZone = "issuer-zone";
    public const string DeviceDuplicate = "device-duplicate";
    public const string DeviceUnknown = "device-unknown";
    public const string DeviceKeyInvalid = "device-key-invalid";
    public const string DeviceInvalid = "device-invalid";
    public const string CertificateDuplicate = "certificate-duplicate";
    public const string CertificateId = "certificate-id";
    public const string CertificateAttributes = "certificate-attributes";
    public const string CertificatePeriod = "certificate-period";
    public const string CertificateFaceValue = "certificate-face-value";
    public const string CertificateReadings = "certificate-readings";
}
