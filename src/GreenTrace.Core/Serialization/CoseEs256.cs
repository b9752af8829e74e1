using System.Security.Cryptography;
using System.Security.Cryptography.Cose;

namespace GreenTrace.Core.Serialization;

/// <summary>The COSE_Sign1 envelope every GreenTrace signer but the ledger nodes uses: ES256, kid in the protected header.</summary>
internal static class CoseEs256
{
    private static readonly CoseHeaderValue Es256 = CoseHeaderValue.FromInt32(-7);

    /// <summary>A tagged COSE_Sign1 with the payload embedded and alg, kid (UTF-8) and, if given, content type protected.</summary>
    public static byte[] Sign(byte[] payload, string kid, ECDsa key, string? contentType = null) =>
        Sign(payload, System.Text.Encoding.UTF8.GetBytes(kid), key, contentType);

    /// <summary>As above with a binary kid (an owner's SubjectPublicKeyInfo).</summary>
    public static byte[] Sign(byte[] payload, byte[] kid, ECDsa key, string? contentType = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        var headers = new CoseHeaderMap
        {
            [CoseHeaderLabel.Algorithm] = Es256,
            [CoseHeaderLabel.KeyIdentifier] = CoseHeaderValue.FromBytes(kid),
        };
        if (contentType is not null)
            headers[CoseHeaderLabel.ContentType] = CoseHeaderValue.FromString(contentType);
        return CoseSign1Message.SignEmbedded(payload, new CoseSigner(key, HashAlgorithmName.SHA256, headers));
    }

    public static CoseHeaderValue Es256Alg => Es256;

    /// <summary>True when the protected header names ES256, encoded as the single integer -7.</summary>
    public static bool HasProtectedEs256(CoseSign1Message message) => HasProtectedEs256(message.ProtectedHeaders);

    public static bool HasProtectedEs256(CoseHeaderMap protectedHeaders) =>
        protectedHeaders.TryGetValue(CoseHeaderLabel.Algorithm, out var alg) && alg.EncodedValue.Span.SequenceEqual(Es256.EncodedValue.Span);
}
