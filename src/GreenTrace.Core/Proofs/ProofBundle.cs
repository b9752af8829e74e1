using System.Text.Json;

namespace GreenTrace.Core.Proofs;

/// <summary>An item of a Merkle tree with the proof that it is the leaf at <see cref="Index"/> of a tree of <see cref="TreeSize"/>.</summary>
/// <param name="Value">The leaf bytes (base64 in JSON): a reading's or an entry's COSE_Sign1.</param>
/// <param name="Proof">Audit path, hex, leaf to root (RFC 9162 §2.1.3).</param>
public sealed record ProvenLeaf(byte[] Value, long Index, long TreeSize, IReadOnlyList<string> Proof);

/// <summary>
/// Everything a buyer needs to check one reading, offline, against nothing but the membership's
/// public keys (DESIGN.md, "Proof bundle"): the signed reading and its place in the certificate's
/// reading tree; the certificate entry and the meter's registration entry with their places in
/// the ledger log; and the cosigned checkpoint that fixes the log's root.
/// </summary>
public sealed record ProofBundle(
    string Format,
    ProvenLeaf Reading,
    ProvenLeaf Certificate,
    ProvenLeaf Device,
    string Checkpoint)
{
    public const string CurrentFormat = "greentrace-proof-bundle/1";

    public string ToJson() => JsonSerializer.Serialize(this, BundleJson.Options);

    /// <summary>Parses the document's shape only; <see cref="ProofBundleVerifier"/> checks what it claims.</summary>
    public static Result<ProofBundle> FromJson(string json)
    {
        try
        {
            var bundle = JsonSerializer.Deserialize<ProofBundle>(json, BundleJson.Options);
            if (bundle?.Reading is null || bundle.Certificate is null || bundle.Device is null || bundle.Checkpoint is null)
                return Result<ProofBundle>.Fail(ProofSteps.BundleFormat, "bundle lacks reading, certificate, device or checkpoint");
            if (bundle.Format != CurrentFormat)
                return Result<ProofBundle>.Fail(ProofSteps.BundleFormat, $"unknown bundle format '{bundle.Format}' (expected '{CurrentFormat}')");
            return BundleJson.CheckLeaves([bundle.Reading, bundle.Certificate, bundle.Device]) is { } bad
                ? Result<ProofBundle>.Fail(bad)
                : Result<ProofBundle>.Ok(bundle);
        }
        catch (JsonException e)
        {
            return Result<ProofBundle>.Fail(ProofSteps.BundleFormat, $"not a proof bundle: {e.Message}");
        }
    }
}
