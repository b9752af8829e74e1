using GreenTrace.Core.Certificates;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Merkle;
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
}

public sealed record StepOutcome(string Step, bool Passed, string Detail);

/// <summary>What a verification established, step by step; on success, what the bundle proves.</summary>
public sealed record VerificationReport(IReadOnlyList<StepOutcome> Steps, Reading? Reading, GranularCertificate? Certificate, DeviceInfo? Device, Checkpoint? Checkpoint)
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
        var steps = new List<StepOutcome>();

        VerificationReport Fail(string step, string detail, Reading? r = null, GranularCertificate? c = null, DeviceInfo? d = null, Checkpoint? cp = null)
        {
            steps.Add(new StepOutcome(step, false, detail));
            return new VerificationReport(steps, r, c, d, cp);
        }

        void Pass(string step, string detail) => steps.Add(new StepOutcome(step, true, detail));

        // 1. The checkpoint: a quorum of trusted ledger nodes vouch for (size, root).
        var cpResult = CheckpointVerifier.Verify(bundle.Checkpoint, trust.Membership.Origin, trust.Nodes, trust.Membership.Quorum);
        if (!cpResult.Success || cpResult.Checkpoint is null)
            return Fail(ProofSteps.Checkpoint, $"{cpResult.Error}: {cpResult.ErrorDetail}");
        var checkpoint = cpResult.Checkpoint;
        Pass(ProofSteps.Checkpoint, $"{checkpoint.Origin} size {checkpoint.Size}, signed by {string.Join(", ", cpResult.TrustedSigners)}");

        // 2. The meter's registration: issuer-signed and in the log.
        var deviceEntry = LedgerEntryCodec.Decode(bundle.Device.Value);
        if (!deviceEntry.IsOk || deviceEntry.Value.Kind != EntryKind.DeviceRegistered)
            return Fail(ProofSteps.DeviceEntry, deviceEntry.Error?.ToString() ?? "not a DeviceRegistered entry", cp: checkpoint);
        var device = deviceEntry.Value.Device!;
        var deviceCheck = CheckIssuerEntry(deviceEntry.Value, device.GridZone, trust);
        if (deviceCheck is not null)
            return Fail(ProofSteps.DeviceEntry, deviceCheck, d: device, cp: checkpoint);
        Pass(ProofSteps.DeviceEntry, $"meter {device.MeterId} ({device.EnergySource}, {device.GridZone}) registered by {deviceEntry.Value.AuthorId}");
        var deviceInclusion = CheckInclusion(bundle.Device, checkpoint);
        if (deviceInclusion is not null)
            return Fail(ProofSteps.DeviceInclusion, deviceInclusion, d: device, cp: checkpoint);
        Pass(ProofSteps.DeviceInclusion, $"log entry {bundle.Device.Index} of {checkpoint.Size}");

        // 3. The certificate: issuer-signed, for this meter, in the log after the registration.
        var certEntry = LedgerEntryCodec.Decode(bundle.Certificate.Value);
        if (!certEntry.IsOk || certEntry.Value.Kind != EntryKind.CertificateIssued)
            return Fail(ProofSteps.CertificateEntry, certEntry.Error?.ToString() ?? "not a CertificateIssued entry", d: device, cp: checkpoint);
        var certificate = certEntry.Value.Certificate!;
        var certCheck = CheckIssuerEntry(certEntry.Value, certificate.GridZone, trust)
            ?? (certificate.MeterId != device.MeterId ? $"certificate is for meter '{certificate.MeterId}', the registration for '{device.MeterId}'" : null)
            ?? (certificate.GridZone != device.GridZone || certificate.Country != device.Country || certificate.EnergySource != device.EnergySource
                || certificate.Technology != device.Technology || certificate.EnergyCarrier != GranularCertificate.Electricity ? "certificate attributes differ from the meter's registration" : null)
            ?? (certificate.IssuingBody != certEntry.Value.AuthorId ? $"issuing body '{certificate.IssuingBody}' is not the signer '{certEntry.Value.AuthorId}'" : null)
            ?? (!CertificateId.Compute(certificate.MeterId, certificate.PeriodStart, certificate.PeriodEnd, certificate.Part).AsSpan().SequenceEqual(certificate.Id) ? "certificate id does not derive from its meter and period" : null)
            ?? (bundle.Certificate.Index <= bundle.Device.Index ? "certificate precedes the meter's registration in the log" : null);
        if (certCheck is not null)
            return Fail(ProofSteps.CertificateEntry, certCheck, c: certificate, d: device, cp: checkpoint);
        Pass(ProofSteps.CertificateEntry, $"certificate {certificate.IdHex[..16]}… {certificate.FaceValueWh} Wh issued by {certEntry.Value.AuthorId}");
        var certInclusion = CheckInclusion(bundle.Certificate, checkpoint);
        if (certInclusion is not null)
            return Fail(ProofSteps.CertificateInclusion, certInclusion, c: certificate, d: device, cp: checkpoint);
        Pass(ProofSteps.CertificateInclusion, $"log entry {bundle.Certificate.Index} of {checkpoint.Size}");

        // 4. The reading: signed by the registered meter key, inside the certificate's period and tree.
        Reading? reading;
        using (var meterKey = DeviceKeys.TryImportPublicKey(device.PublicKey, out var k) ? k : null)
        {
            if (meterKey is null)
                return Fail(ProofSteps.ReadingSignature, "registered meter key is not a P-256 key", c: certificate, d: device, cp: checkpoint);
            var decoded = ReadingCodec.DecodeAndVerify(bundle.Reading.Value, meterKey);
            if (!decoded.IsOk)
                return Fail(ProofSteps.ReadingSignature, decoded.Error.ToString(), c: certificate, d: device, cp: checkpoint);
            reading = decoded.Value.Reading;
        }
        Pass(ProofSteps.ReadingSignature, $"reading {reading.Sequence} signed by meter {reading.MeterId}");
        var inCert = reading.MeterId != certificate.MeterId ? "reading is from another meter"
            : reading.Start < certificate.PeriodStart || reading.End > certificate.PeriodEnd ? "reading interval lies outside the certificate period"
            : reading.Direction != EnergyDirection.Generation ? "reading is not generation"
            : bundle.Reading.TreeSize != certificate.ReadingCount ? $"proof is for a tree of {bundle.Reading.TreeSize} readings, the certificate has {certificate.ReadingCount}"
            : null;
        if (inCert is not null)
            return Fail(ProofSteps.ReadingInCertificate, inCert, reading, certificate, device, checkpoint);
        Pass(ProofSteps.ReadingInCertificate, $"{reading.EnergyWh} Wh, {reading.StartTime:u} to {reading.EndTime:u}");
        var readingInclusion = CheckInclusion(bundle.Reading, certificate.ReadingRoot, certificate.ReadingCount);
        if (readingInclusion is not null)
            return Fail(ProofSteps.ReadingInclusion, readingInclusion, reading, certificate, device, checkpoint);
        Pass(ProofSteps.ReadingInclusion, $"reading {bundle.Reading.Index} of {certificate.ReadingCount} under the certificate's reading root");

        return new VerificationReport(steps, reading, certificate, device, checkpoint);
    }

    private static string? CheckIssuerEntry(LedgerEntry entry, string zone, TrustedKeys trust)
    {
        if (!trust.TryGetIssuer(entry.AuthorId, out var issuer, out var key))
            return $"'{entry.AuthorId}' is not a trusted issuer";
        if (!entry.VerifySignature(key))
            return $"signature does not verify with issuer '{issuer.Id}''s key";
        if (!issuer.Zones.Contains(zone, StringComparer.Ordinal))
            return $"issuer '{issuer.Id}' is not trusted for zone '{zone}'";
        return null;
    }

    private static string? CheckInclusion(ProvenLeaf leaf, Checkpoint checkpoint) =>
        leaf.TreeSize != checkpoint.Size
            ? $"proof is for a log of {leaf.TreeSize} entries, the checkpoint for {checkpoint.Size}"
            : CheckInclusion(leaf, checkpoint.RootHash, checkpoint.Size);

    private static string? CheckInclusion(ProvenLeaf leaf, byte[] root, long size)
    {
        var proof = new List<byte[]>(leaf.Proof.Count);
        foreach (var h in leaf.Proof)
        {
            if (!Hex.TryDecode(h, MerkleHash.Size, out var bytes))
                return "proof holds a malformed hash";
            proof.Add(bytes);
        }
        return MerkleProof.VerifyInclusion(MerkleHash.Leaf(leaf.Value), leaf.Index, size, proof, root)
            ? null
            : $"inclusion proof for leaf {leaf.Index} of {size} does not reach the root";
    }
}
