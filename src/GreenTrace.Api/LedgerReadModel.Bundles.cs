using GreenTrace.Core;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Proofs;

namespace GreenTrace.Api;

/// <summary>Proof bundles: both need the certificate's archived readings, which only an API with an archive has.</summary>
public sealed partial class LedgerReadModel
{
    /// <summary>The reading bundle ("greentrace-proof-bundle/1") for reading <paramref name="reading"/> of a certificate.</summary>
    public Result<ProofBundle> Bundle(byte[] certificateId, int reading) =>
        WithReadings(certificateId, readings => _node.BuildProofBundle(certificateId, readings, reading));

    /// <summary>The certificate bundle ("greentrace-certificate-bundle/1"): all readings and the ownership history at the latest quorum checkpoint.</summary>
    public Result<CertificateBundle> CertificateBundle(byte[] certificateId) =>
        WithReadings(certificateId, readings => _node.BuildCertificateBundle(certificateId, readings));

    private Result<T> WithReadings<T>(byte[] certificateId, Func<IReadOnlyList<byte[]>, Result<T>> build)
    {
        lock (_gate)
        {
            Refresh();
            if (_node.FindCertificate(certificateId) is null)
                return Result<T>.Fail(LedgerReasons.CertificateUnknown, $"certificate {Hex.Encode(certificateId)} is not on this ledger");
            if (_archive is null)
                return Result<T>.Fail("archive-missing", "this API has no reading archive (--archive): it cannot prove readings");
            var readings = _archive.Load(certificateId);
            if (readings is null)
                return Result<T>.Fail("readings-missing", $"the archive holds no readings of certificate {Hex.Encode(certificateId)}");
            return build(readings);
        }
    }
}
