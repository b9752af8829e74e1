using System.Text.Json;

namespace GreenTrace.Core.Proofs;

/// <summary>
/// Everything a buyer needs to check a whole certificate offline (docs/formats.md, "Certificate bundle"): the
/// certificate and its meter's registration with their places in the log, every reading it certifies in
/// reading-tree order, every owner or withdrawal entry about it below the checkpoint's size (in log order, each
/// with its place in the log), and the cosigned checkpoint.
/// </summary>
/// <param name="Readings">Each reading's COSE_Sign1 (base64 in JSON): the leaves of the certificate's reading root.</param>
/// <param name="History">The Transferred, Split, Claimed and Withdrawn entries of the certificate, proven at the checkpoint's size.</param>
public sealed record CertificateBundle(
    string Format,
    ProvenLeaf Certificate,
    ProvenLeaf Device,
    IReadOnlyList<byte[]> Readings,
    IReadOnlyList<ProvenLeaf> History,
    string Checkpoint)
{
    public const string CurrentFormat = "greentrace-certificate-bundle/1";

    public string ToJson() => JsonSerializer.Serialize(this, BundleJson.Options);

    /// <summary>Parses the document's shape only; <see cref="CertificateBundleVerifier"/> checks what it claims.</summary>
    public static Result<CertificateBundle> FromJson(string json)
    {
        try
        {
            var bundle = JsonSerializer.Deserialize<CertificateBundle>(json, BundleJson.Options);
            if (bundle?.Certificate is null || bundle.Device is null || bundle.Readings is null || bundle.History is null || bundle.Checkpoint is null)
                return Result<CertificateBundle>.Fail(ProofSteps.BundleFormat, "bundle lacks certificate, device, readings, history or checkpoint");
            if (bundle.Format != CurrentFormat)
                return Result<CertificateBundle>.Fail(ProofSteps.BundleFormat, $"unknown bundle format '{bundle.Format}' (expected '{CurrentFormat}')");
            if (bundle.Readings.Any(r => r is null))
                return Result<CertificateBundle>.Fail(ProofSteps.BundleFormat, "every reading is a base64 string");
            return BundleJson.CheckLeaves([bundle.Certificate, bundle.Device, .. bundle.History]) is { } bad
                ? Result<CertificateBundle>.Fail(bad)
                : Result<CertificateBundle>.Ok(bundle);
        }
        catch (JsonException e)
        {
            return Result<CertificateBundle>.Fail(ProofSteps.BundleFormat, $"not a certificate bundle: {e.Message}");
        }
    }
}
