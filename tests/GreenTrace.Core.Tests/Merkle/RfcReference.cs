using System.Security.Cryptography;

namespace GreenTrace.Core.Tests.Merkle;

/// <summary>
/// A literal transcription of the RFC 9162 §2.1 recursive definitions (MTH, PATH, PROOF/SUBPROOF), sharing no code
/// with GreenTrace.Core so the production algorithms (bottom-up reduction, cached subtrees, RFC verifiers) are
/// checked against the specification text rather than against themselves. Deliberately slow and allocation-heavy.
/// </summary>
internal static class RfcReference
{
    public static byte[] LeafHash(byte[] data) => SHA256.HashData([0x00, .. data]);

    public static byte[] NodeHash(byte[] left, byte[] right) => SHA256.HashData([0x01, .. left, .. right]);

    /// <summary>The largest power of two strictly less than n, found the slow way on purpose.</summary>
    public static int Split(int n)
    {
        var k = 1;
        while (k * 2 < n)
        {
            k *= 2;
        }

        return k;
    }

    /// <summary>MTH over leaf hashes (the leaf-hashing step is applied by the caller).</summary>
    public static byte[] Mth(ReadOnlySpan<byte[]> leafHashes)
    {
        if (leafHashes.Length == 0)
        {
            return SHA256.HashData(ReadOnlySpan<byte>.Empty);
        }

        if (leafHashes.Length == 1)
        {
            return leafHashes[0];
        }

        var k = Split(leafHashes.Length);
        return NodeHash(Mth(leafHashes[..k]), Mth(leafHashes[k..]));
    }

    public static List<byte[]> Path(int m, ReadOnlySpan<byte[]> d)
    {
        var n = d.Length;
        if (n == 1)
        {
            return [];
        }

        var k = Split(n);
        if (m < k)
        {
            var path = Path(m, d[..k]);
            path.Add(Mth(d[k..]));
            return path;
        }
        else
        {
            var path = Path(m - k, d[k..]);
            path.Add(Mth(d[..k]));
            return path;
        }
    }

    public static List<byte[]> Proof(int m, ReadOnlySpan<byte[]> d) => SubProof(m, d, true);

    private static List<byte[]> SubProof(int m, ReadOnlySpan<byte[]> d, bool b)
    {
        var n = d.Length;
        if (m == n)
        {
            return b ? [] : [Mth(d)];
        }

        var k = Split(n);
        if (m <= k)
        {
            var proof = SubProof(m, d[..k], b);
            proof.Add(Mth(d[k..]));
            return proof;
        }
        else
        {
            var proof = SubProof(m - k, d[k..], false);
            proof.Add(Mth(d[..k]));
            return proof;
        }
    }
}
