using GreenTrace.Core.Certificates;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Merkle;

namespace GreenTrace.Core.Proofs;

/// <summary>The steps of one verification as they run; a verifier stops at the first <see cref="Fail"/>.</summary>
internal sealed class StepLog
{
    private readonly List<StepOutcome> _steps = [];

    public IReadOnlyList<StepOutcome> Steps => _steps;

    public void Pass(string step, string detail) => _steps.Add(new StepOutcome(step, true, detail));

    public void Fail(string step, string detail) => _steps.Add(new StepOutcome(step, false, detail));
}

/// <summary>
/// What the steps every bundle shares have established so far. A field is set as soon as its entry decoded, also
/// when a later check of it failed, so that a failed report still shows what the bundle claimed.
/// </summary>
internal sealed class LedgerAnchors
{
    public Checkpoint? Checkpoint { get; private set; }

    public DeviceInfo? Device { get; private set; }

    /// <summary>The registration entry: its plant owner (if any) holds the certificate first.</summary>
    public LedgerEntry? DeviceEntry { get; private set; }

    public GranularCertificate? Certificate { get; private set; }

    /// <summary>True when every shared step passed: the certificate and its meter are in the log at a quorum checkpoint.</summary>
    public bool Passed { get; private set; }

    /// <summary>
    /// Steps 1 to 5 of every bundle: <c>checkpoint</c>, <c>device-entry</c>, <c>device-inclusion</c>,
    /// <c>certificate-entry</c>, <c>certificate-inclusion</c>. Trusts nothing in the bundle: keys come from
    /// the membership and both entries are tied to a checkpoint a quorum of ledger nodes signed.
    /// </summary>
    public static LedgerAnchors Verify(string checkpointNote, ProvenLeaf deviceLeaf, ProvenLeaf certificateLeaf, TrustedKeys trust, StepLog steps)
    {
        var anchors = new LedgerAnchors();

        // The checkpoint: a quorum of trusted ledger nodes vouch for (size, root).
        var cpResult = CheckpointVerifier.Verify(checkpointNote, trust.Membership.Origin, trust.Nodes, trust.Membership.Quorum);
        if (!cpResult.Success || cpResult.Checkpoint is null)
        {
            steps.Fail(ProofSteps.Checkpoint, $"{cpResult.Error}: {cpResult.ErrorDetail}");
            return anchors;
        }
        var checkpoint = anchors.Checkpoint = cpResult.Checkpoint;
        steps.Pass(ProofSteps.Checkpoint, $"{checkpoint.Origin} size {checkpoint.Size}, signed by {string.Join(", ", cpResult.TrustedSigners)}");

        // The meter's registration: issuer-signed and in the log.
        var deviceEntry = LedgerEntryCodec.Decode(deviceLeaf.Value);
        if (!deviceEntry.IsOk || deviceEntry.Value.Kind != EntryKind.DeviceRegistered)
        {
            steps.Fail(ProofSteps.DeviceEntry, deviceEntry.Error?.ToString() ?? "not a DeviceRegistered entry");
            return anchors;
        }
        var device = anchors.Device = deviceEntry.Value.Device!;
        anchors.DeviceEntry = deviceEntry.Value;
        if (CheckIssuerEntry(deviceEntry.Value, device.GridZone, trust) is { } deviceCheck)
        {
            steps.Fail(ProofSteps.DeviceEntry, deviceCheck);
            return anchors;
        }
        steps.Pass(ProofSteps.DeviceEntry, $"meter {device.MeterId} ({device.EnergySource}, {device.GridZone}) registered by {deviceEntry.Value.AuthorId}");
        if (CheckInclusion(deviceLeaf, checkpoint) is { } deviceInclusion)
        {
            steps.Fail(ProofSteps.DeviceInclusion, deviceInclusion);
            return anchors;
        }
        steps.Pass(ProofSteps.DeviceInclusion, $"log entry {deviceLeaf.Index} of {checkpoint.Size}");

        // The certificate: issuer-signed, for this meter, in the log after the registration.
        var certEntry = LedgerEntryCodec.Decode(certificateLeaf.Value);
        if (!certEntry.IsOk || certEntry.Value.Kind != EntryKind.CertificateIssued)
        {
            steps.Fail(ProofSteps.CertificateEntry, certEntry.Error?.ToString() ?? "not a CertificateIssued entry");
            return anchors;
        }
        var certificate = anchors.Certificate = certEntry.Value.Certificate!;
        var certCheck = CheckIssuerEntry(certEntry.Value, certificate.GridZone, trust)
            ?? (certificate.MeterId != device.MeterId ? $"certificate is for meter '{certificate.MeterId}', the registration for '{device.MeterId}'" : null)
            ?? (certificate.GridZone != device.GridZone || certificate.Country != device.Country || certificate.EnergySource != device.EnergySource
                || certificate.Technology != device.Technology || certificate.EnergyCarrier != GranularCertificate.Electricity ? "certificate attributes differ from the meter's registration" : null)
            ?? (certificate.IssuingBody != certEntry.Value.AuthorId ? $"issuing body '{certificate.IssuingBody}' is not the signer '{certEntry.Value.AuthorId}'" : null)
            ?? (!CertificateId.Compute(certificate.MeterId, certificate.PeriodStart, certificate.PeriodEnd, certificate.Part).AsSpan().SequenceEqual(certificate.Id) ? "certificate id does not derive from its meter and period" : null)
            ?? (certificateLeaf.Index <= deviceLeaf.Index ? "certificate precedes the meter's registration in the log" : null);
        if (certCheck is not null)
        {
            steps.Fail(ProofSteps.CertificateEntry, certCheck);
            return anchors;
        }
        steps.Pass(ProofSteps.CertificateEntry, $"certificate {certificate.IdHex[..16]}… {certificate.FaceValueWh} Wh issued by {certEntry.Value.AuthorId}");
        if (CheckInclusion(certificateLeaf, checkpoint) is { } certInclusion)
        {
            steps.Fail(ProofSteps.CertificateInclusion, certInclusion);
            return anchors;
        }
        steps.Pass(ProofSteps.CertificateInclusion, $"log entry {certificateLeaf.Index} of {checkpoint.Size}");
        anchors.Passed = true;
        return anchors;
    }

    /// <summary>Null when a trusted issuer for <paramref name="zone"/> signed the entry; else why not.</summary>
    public static string? CheckIssuerEntry(LedgerEntry entry, string zone, TrustedKeys trust)
    {
        if (!trust.TryGetIssuer(entry.AuthorId, out var issuer, out var key))
            return $"'{entry.AuthorId}' is not a trusted issuer";
        if (!entry.VerifySignature(key))
            return $"signature does not verify with issuer '{issuer.Id}''s key";
        if (!issuer.Zones.Contains(zone, StringComparer.Ordinal))
            return $"issuer '{issuer.Id}' is not trusted for zone '{zone}'";
        return null;
    }

    /// <summary>Null when the leaf is in the log at the checkpoint's size and root; the tree size is the checkpoint's, never the proof's.</summary>
    public static string? CheckInclusion(ProvenLeaf leaf, Checkpoint checkpoint) =>
        leaf.TreeSize != checkpoint.Size
            ? $"proof is for a log of {leaf.TreeSize} entries, the checkpoint for {checkpoint.Size}"
            : CheckInclusion(leaf, checkpoint.RootHash, checkpoint.Size);

    public static string? CheckInclusion(ProvenLeaf leaf, byte[] root, long size)
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
