using System.Text.Json;
using System.Text.Json.Serialization;

namespace GreenTrace.Core.Proofs;

/// <summary>The JSON both bundle formats share: camelCase, indented, and no member the format does not define.</summary>
internal static class BundleJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public static Rejection? CheckLeaves(IEnumerable<ProvenLeaf?> leaves) =>
        leaves.Any(l => l?.Value is null || l.Proof is null)
            ? new Rejection(ProofSteps.BundleFormat, "every proven leaf needs a value and a proof")
            : null;
}

/// <summary>A bundle of either format, as <see cref="Bundles.Parse"/> recognised it by its <c>format</c> member.</summary>
public abstract record ParsedBundle
{
    private ParsedBundle()
    {
    }

    public abstract string Format { get; }

    /// <summary>A "greentrace-proof-bundle/1": one reading.</summary>
    public sealed record OfReading(ProofBundle Bundle) : ParsedBundle
    {
        public override string Format => ProofBundle.CurrentFormat;
    }

    /// <summary>A "greentrace-certificate-bundle/1": a whole certificate and its ownership.</summary>
    public sealed record OfCertificate(CertificateBundle Bundle) : ParsedBundle
    {
        public override string Format => CertificateBundle.CurrentFormat;
    }
}

/// <summary>One entry point for whatever bundle a buyer was given.</summary>
public static class Bundles
{
    /// <summary>
    /// Parses a reading bundle or a certificate bundle, told apart by the <c>format</c> member; shape only, as
    /// <see cref="ProofBundle.FromJson"/> and <see cref="CertificateBundle.FromJson"/>. Fails with
    /// <see cref="ProofSteps.BundleFormat"/>.
    /// </summary>
    public static Result<ParsedBundle> Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        string? format;
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                return Result<ParsedBundle>.Fail(ProofSteps.BundleFormat, "a bundle is a JSON object");
            format = doc.RootElement.TryGetProperty("format", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
        }
        catch (JsonException e)
        {
            return Result<ParsedBundle>.Fail(ProofSteps.BundleFormat, $"not a bundle: {e.Message}");
        }
        switch (format)
        {
            case ProofBundle.CurrentFormat:
                var reading = ProofBundle.FromJson(json);
                return reading.IsOk ? Result<ParsedBundle>.Ok(new ParsedBundle.OfReading(reading.Value)) : Result<ParsedBundle>.Fail(reading.Error);
            case CertificateBundle.CurrentFormat:
                var certificate = CertificateBundle.FromJson(json);
                return certificate.IsOk ? Result<ParsedBundle>.Ok(new ParsedBundle.OfCertificate(certificate.Value)) : Result<ParsedBundle>.Fail(certificate.Error);
            case null:
                return Result<ParsedBundle>.Fail(ProofSteps.BundleFormat, "bundle has no format");
            default:
                return Result<ParsedBundle>.Fail(ProofSteps.BundleFormat,
                    $"unknown bundle format '{format}' (expected '{ProofBundle.CurrentFormat}' or '{CertificateBundle.CurrentFormat}')");
        }
    }
}
