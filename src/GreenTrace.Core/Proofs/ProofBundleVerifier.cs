using GreenTrace.Core.Certificates;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Readings;

namespace GreenTrace.Core.Proofs;

/// <summary>The named steps of a bundle check, in the order they run; a failure names the first that failed.</summary>
public static class ProofSteps
{
    public const string BundleFormat = "bundle-format";
    public const string Checkpoint = "checkpoint";
    public const string DeviceEntry = "device-entry";
    public const string DeviceInclusion = "device-inclusion";
    public const string CertificateEntry = "certificate-entry";
    public const string CertificateInclusion = "certificate-inclusion";
    public const string ReadingSignature = "reading-signature";
    public const string ReadingInCertificate = "reading-in-certificate";
    public const string ReadingInclusion = "reading-inclusion";

    // A certificate bundle (CERT-BUNDLE: "greentrace-certificate-bundle/1") runs the first five steps above, then these.
    public const string ReadingsSignature = "readings-signature";
    public const string ReadingsInCertificate = "readings-in-certificate";
    public const string ReadingsRoot = "readings-root";
    public const string HistoryEntry = "history-entry";
    public const string HistoryInclusion = "history-inclusion";
    public const string Ownership = "ownership";
}

public sealed record StepOutcome(string Step, bool Passed, string Detail);

/// <summary>The steps of a verification, whichever kind of bundle it checked.</summary>
public interface IStepReport
{
    IReadOnlyList<StepOutcome> Steps { get; }

    bool IsValid { get; }

    StepOutcome? FirstFailure { get; }
}

/// <summary>What a verification established, step by step; on success, what the bundle proves.</summary>
public sealed record VerificationReport(IReadOnlyList<StepOutcome> Steps, Reading? Reading, GranularCertificate? Certificate, DeviceInfo? Device, Checkpoint? Checkpoint) : IStepReport
{
    public bool IsValid => Steps.Count > 0 && Steps.All(s => s.Passed);

    public StepOutcome? FirstFailure => Steps.FirstOrDefault(s => !s.Passed);
}

/// <summary>
/// The buyer's offline check. Trusts nothing in the bundle: keys come from the membership, the
/// meter's key from its registration entry, and both entries are tied to a checkpoint that a
/// quorum of ledger nodes signed.
/// </summary>
public static class ProofBundleVerifier
{
    public static VerificationReport Verify(ProofBundle bundle, TrustedKeys trust)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        ArgumentNullException.ThrowIfNull(trust);
        var steps = new StepLog();

        // 1–5: the checkpoint, the meter's registration and the certificate, each in the log.
        var anchors = LedgerAnchors.Verify(bundle.Checkpoint, bundle.Device, bundle.Certificate, trust, steps);
        if (!anchors.Passed)
            return new VerificationReport(steps.Steps, null, anchors.Certificate, anchors.Device, anchors.Checkpoint);
        var (certificate, device, checkpoint) = (anchors.Certificate!, anchors.Device!, anchors.Checkpoint!);

        VerificationReport Fail(string step, string detail, Reading? r = null)
        {
            steps.Fail(step, detail);
            return new VerificationReport(steps.Steps, r, certificate, device, checkpoint);
        }

        // 6–8: the reading, signed by the registered meter key, inside the certificate's period and tree.
        Reading? reading;
        using (var meterKey = DeviceKeys.TryImportPublicKey(device.PublicKey, out var k) ? k : null)
        {
            if (meterKey is null)
                return Fail(ProofSteps.ReadingSignature, "registered meter key is not a P-256 key");
            var decoded = ReadingCodec.DecodeAndVerify(bundle.Reading.Value, meterKey);
            if (!decoded.IsOk)
                return Fail(ProofSteps.ReadingSignature, decoded.Error.ToString());
            reading = decoded.Value.Reading;
        }
        steps.Pass(ProofSteps.ReadingSignature, $"reading {reading.Sequence} signed by meter {reading.MeterId}");
        var inCert = CertificateReadings.CheckOne(reading, certificate)
            ?? (bundle.Reading.TreeSize != certificate.ReadingCount ? $"proof is for a tree of {bundle.Reading.TreeSize} readings, the certificate has {certificate.ReadingCount}" : null);
        if (inCert is not null)
            return Fail(ProofSteps.ReadingInCertificate, inCert, reading);
        steps.Pass(ProofSteps.ReadingInCertificate, $"{reading.EnergyWh} Wh, {reading.StartTime:u} to {reading.EndTime:u}");
        if (LedgerAnchors.CheckInclusion(bundle.Reading, certificate.ReadingRoot, certificate.ReadingCount) is { } readingInclusion)
            return Fail(ProofSteps.ReadingInclusion, readingInclusion, reading);
        steps.Pass(ProofSteps.ReadingInclusion, $"reading {bundle.Reading.Index} of {certificate.ReadingCount} under the certificate's reading root");

        return new VerificationReport(steps.Steps, reading, certificate, device, checkpoint);
    }
}
