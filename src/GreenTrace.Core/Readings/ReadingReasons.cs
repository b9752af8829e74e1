namespace GreenTrace.Core.Readings;

/// <summary>
/// Reason codes for a refused reading. They are a published contract (rejected-readings topic,
/// CLI exit messages), so each failure has its own code and codes are never renamed.
/// </summary>
public static class ReadingReasons
{
    public const string CoseMalformed = "cose-malformed";
    public const string CoseUntagged = "cose-untagged";
    public const string CoseAlgorithm = "cose-algorithm";
    public const string CoseKidMissing = "cose-kid-missing";
    public const string CoseHeaderUnexpected = "cose-header-unexpected";
    public const string CosePayloadDetached = "cose-payload-detached";
    public const string PayloadMalformed = "payload-malformed";
    public const string PayloadNonDeterministic = "payload-non-deterministic";
    public const string PayloadNotMap = "payload-not-map";
    public const string PayloadMissingKey = "payload-missing-key";
    public const string PayloadUnknownKey = "payload-unknown-key";
    public const string PayloadWrongType = "payload-wrong-type";
    public const string PayloadBadValue = "payload-bad-value";
    public const string VersionUnsupported = "version-unsupported";
    public const string MeterIdInvalid = "meter-id-invalid";
    public const string KidMismatch = "kid-mismatch";
    public const string IntervalOrder = "interval-order";
    public const string IntervalMisaligned = "interval-misaligned";
    public const string IntervalLength = "interval-length";
    public const string SignatureInvalid = "signature-invalid";
    public const string KeyInvalid = "key-invalid";
}
