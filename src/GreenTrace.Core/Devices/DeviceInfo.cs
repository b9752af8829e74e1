using System.Security.Cryptography;
using GreenTrace.Core.Readings;

namespace GreenTrace.Core.Devices;

/// <summary>
/// A registered meter as the issuing body records it: its public key and the attributes a
/// certificate inherits (EnergyTag: source, technology, capacity, bidding zone, country, location).
/// </summary>
/// <param name="PublicKey">SubjectPublicKeyInfo (DER) of the meter's ECDSA P-256 key.</param>
/// <param name="LatitudeMicrodegrees">Location in millionths of a degree; integers keep the CBOR encoding deterministic.</param>
public sealed record DeviceInfo(
    string MeterId,
    byte[] PublicKey,
    EnergyDirection Direction,
    string EnergySource,
    string Technology,
    long CapacityW,
    string GridZone,
    string Country,
    int LatitudeMicrodegrees,
    int LongitudeMicrodegrees)
{
    /// <summary>Imports <see cref="PublicKey"/>; callers cache the result, import costs more than a verify.</summary>
    public ECDsa ImportPublicKey() => DeviceKeys.ImportPublicKey(PublicKey);

    public bool Equals(DeviceInfo? other) =>
        other is not null
        && MeterId == other.MeterId
        && PublicKey.AsSpan().SequenceEqual(other.PublicKey)
        && Direction == other.Direction
        && EnergySource == other.EnergySource
        && Technology == other.Technology
        && CapacityW == other.CapacityW
        && GridZone == other.GridZone
        && Country == other.Country
        && LatitudeMicrodegrees == other.LatitudeMicrodegrees
        && LongitudeMicrodegrees == other.LongitudeMicrodegrees;

    public override int GetHashCode() => HashCode.Combine(MeterId, GridZone, CapacityW);
}

public static class DeviceKeys
{
    /// <summary>Imports an ES256 public key (SubjectPublicKeyInfo DER), refusing anything but P-256.</summary>
    public static ECDsa ImportPublicKey(ReadOnlySpan<byte> subjectPublicKeyInfo)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(subjectPublicKeyInfo, out var read);
            if (read != subjectPublicKeyInfo.Length)
                throw new CryptographicException("trailing bytes after the SubjectPublicKeyInfo");
            var curve = key.ExportParameters(false).Curve;
            if (curve.Oid.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
                throw new CryptographicException("key is not on P-256");
            return key;
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    public static bool TryImportPublicKey(ReadOnlySpan<byte> subjectPublicKeyInfo, out ECDsa? key)
    {
        try
        {
            key = ImportPublicKey(subjectPublicKeyInfo);
            return true;
        }
        catch (CryptographicException)
        {
            key = null;
            return false;
        }
    }

    /// <summary>Imports a PEM "PUBLIC KEY" (SubjectPublicKeyInfo) block.</summary>
    public static ECDsa ImportPublicKeyPem(string pem)
    {
        var fields = PemEncoding.Find(pem);
        var label = pem[fields.Label];
        if (label != "PUBLIC KEY")
            throw new CryptographicException($"expected a PEM 'PUBLIC KEY' block, found '{label}'");
        return ImportPublicKey(Convert.FromBase64String(pem[fields.Base64Data]));
    }
}
