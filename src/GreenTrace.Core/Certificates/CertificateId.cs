using System.Formats.Cbor;
using System.Security.Cryptography;

namespace GreenTrace.Core.Certificates;

/// <summary>
/// Certificate ids derive from content, not from a counter, so a certificate issued twice (an
/// aggregator replaying after a crash) has the same id and the ledger can refuse the second.
/// </summary>
public static class CertificateId
{
    private const string Domain = "greentrace/certificate/v1";

    /// <summary>SHA-256 of the deterministic CBOR array [domain, meter, start, end, part].</summary>
    public static byte[] Compute(string meterId, long periodStart, long periodEnd, int part)
    {
        var w = new CborWriter(CborConformanceMode.Ctap2Canonical);
        w.WriteStartArray(5);
        w.WriteTextString(Domain);
        w.WriteTextString(meterId);
        w.WriteInt64(periodStart);
        w.WriteInt64(periodEnd);
        w.WriteInt32(part);
        w.WriteEndArray();
        return SHA256.HashData(w.Encode());
    }
}
