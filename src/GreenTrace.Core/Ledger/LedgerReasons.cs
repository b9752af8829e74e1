namespace GreenTrace.Core.Ledger;

/// <summary>Why a node refused an entry. Stable codes: they are returned to submitters and logged by every node.</summary>
public static class LedgerReasons
{
    public const string EntryMalformed = "entry-malformed";
    public const string EntrySignature = "entry-signature";
    public const string EntryDuplicate = "entry-duplicate";
    public const string EntryStale = "entry-stale";
    public const string IssuerUnknown = "issuer-unknown";
    public const string IssuerZone = "issuer-zone";
    public const string DeviceDuplicate = "device-duplicate";
    public const string DeviceUnknown = "device-unknown";
    public const string DeviceKeyInvalid = "device-key-invalid";
    public const string DeviceInvalid = "device-invalid";
    public const string DeviceRevoked = "device-revoked";
    public const string DeviceRotationOrder = "device-rotation-order";
    public const string CertificateDuplicate = "certificate-duplicate";
    public const string CertificateId = "certificate-id";
    public const string CertificateAttributes = "certificate-attributes";
    public const string CertificatePeriod = "certificate-period";
    public const string CertificateFaceValue = "certificate-face-value";
    public const string CertificateReadings = "certificate-readings";
    public const string CertificatePart = "certificate-part";
    public const string CertificateCapacity = "certificate-capacity";
    public const string CertificateValidity = "certificate-validity";
    public const string CertificateUnknown = "certificate-unknown";
    public const string CertificateExpired = "certificate-expired";
    public const string CertificateClaimed = "certificate-claimed";
    public const string CertificateWithdrawn = "certificate-withdrawn";
    public const string NotIssuingBody = "not-issuing-body";
    public const string HoldingUnknown = "holding-unknown";
    public const string HoldingCertificate = "holding-certificate";
    public const string HoldingSpent = "holding-spent";
    public const string HoldingClaimed = "holding-claimed";
    public const string NotOwner = "not-owner";
    public const string OwnerKeyInvalid = "owner-key-invalid";
    public const string SplitParts = "split-parts";
    public const string SplitSum = "split-sum";
    public const string ClaimInvalid = "claim-invalid";
    public const string MembershipPrevious = "membership-previous";
    public const string MembershipSigner = "membership-signer";
    public const string MembershipSignerDuplicate = "membership-signer-duplicate";
    public const string MembershipQuorum = "membership-quorum";
    public const string MembershipInvalid = "membership-invalid";
}
