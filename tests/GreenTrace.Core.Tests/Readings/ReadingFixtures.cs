using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Security.Cryptography.Cose;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Readings;

namespace GreenTrace.Core.Tests.Readings;

/// <summary>Keys, a fixed reading, and ways to build readings the way third-party firmware (or an attacker) would.</summary>
internal static class ReadingFixtures
{
    public const string Meter = "meter-01";

    /// <summary>A UTC hour: 2023-11-14T22:00:00Z.</summary>
    public const long Hour = 1699999200;

    /// <summary>The meter's P-256 key. Shared: key generation costs more than the tests that use it.</summary>
    public static readonly ECDsa MeterKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>Another P-256 key: not the meter's.</summary>
    public static readonly ECDsa OtherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>The reading whose exact payload bytes the format tests pin down.</summary>
    public static readonly Reading Fixed = new(Meter, 42, 1700000100, 1700001000, 1234, 567890, EnergyDirection.Generation, ReadingQuality.Measured);

    /// <summary>The fixed reading's payload as its fields, in the order DESIGN.md lists them (not the wire order).</summary>
    public static List<KeyValuePair<object, object?>> FixedFields() =>
    [
        new("v", 1),
        new("m", Meter),
        new("seq", 42),
        new("start", 1700000100L),
        new("end", 1700001000L),
        new("wh", 1234),
        new("reg", 567890),
        new("dir", "gen"),
        new("q", "m"),
    ];

    public static List<KeyValuePair<object, object?>> FixedFieldsWith(string key, object? value) =>
        FixedFields().Select(e => (string)e.Key == key ? new KeyValuePair<object, object?>(key, value) : e).ToList();

    public static List<KeyValuePair<object, object?>> FixedFieldsWithout(string key) =>
        FixedFields().Where(e => (string)e.Key != key).ToList();

    /// <summary>The fields, canonically encoded and signed with the meter's key under the given kid.</summary>
    public static byte[] SignFields(IEnumerable<KeyValuePair<object, object?>> fields, string kid = Meter) =>
        ReadingCodec.SignPayload(TestCbor.CanonicalMap(fields), kid, MeterKey);

    public static Reading At(long start, ulong sequence, ulong wh = 250, ReadingQuality quality = ReadingQuality.Measured,
        string meter = Meter, EnergyDirection direction = EnergyDirection.Generation, long length = 900) =>
        new(meter, sequence, start, start + length, wh, 100_000 + wh, direction, quality);

    public static DecodedReading Decoded(Reading reading, ECDsa? key = null) =>
        ReadingCodec.Decode(ReadingCodec.Sign(reading, key ?? MeterKey)).Value;

    public static DeviceInfo Device(string meter = Meter, ECDsa? key = null, EnergyDirection direction = EnergyDirection.Generation,
        string zone = "DE-LU", long capacityW = 10_000) =>
        new(meter, (key ?? MeterKey).ExportSubjectPublicKeyInfo(), direction, "solar", "photovoltaic", capacityW, zone, "DE", 52_520_008, 13_404_954);

    public static CoseHeaderMap Headers(params (CoseHeaderLabel Label, CoseHeaderValue Value)[] entries)
    {
        var map = new CoseHeaderMap();
        foreach (var (label, value) in entries)
            map[label] = value;
        return map;
    }

    public static CoseHeaderValue Es256 => CoseHeaderValue.FromInt32(-7);

    public static CoseHeaderValue Kid(string kid) => CoseHeaderValue.FromBytes(System.Text.Encoding.UTF8.GetBytes(kid));

    /// <summary>
    /// A COSE_Sign1 assembled by hand, as firmware without a COSE library would: the protected
    /// header bytes and unprotected map are the caller's, the signature is a real ES256 signature
    /// over the RFC 9052 §4.4 Sig_structure.
    /// </summary>
    public static byte[] HandBuiltSign1(byte[] protectedHeader, object? unprotectedHeader, byte[] payload, ECDsa? key = null, bool tagged = true)
    {
        var signature = (key ?? MeterKey).SignData(SigStructure(protectedHeader, payload), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return AssembleSign1(protectedHeader, unprotectedHeader, payload, signature, tagged);
    }

    public static byte[] AssembleSign1(byte[] protectedHeader, object? unprotectedHeader, byte[] payload, byte[] signature, bool tagged = true)
    {
        var w = new CborWriter(CborConformanceMode.Lax);
        if (tagged)
            w.WriteTag((CborTag)18);
        w.WriteStartArray(4);
        w.WriteByteString(protectedHeader);
        TestCbor.Write(w, unprotectedHeader ?? new TestMap([]));
        w.WriteByteString(payload);
        w.WriteByteString(signature);
        w.WriteEndArray();
        return w.Encode();
    }

    /// <summary>Sig_structure = ["Signature1", body_protected, external_aad = h'', payload].</summary>
    public static byte[] SigStructure(byte[] protectedHeader, byte[] payload)
    {
        var w = new CborWriter(CborConformanceMode.Lax);
        w.WriteStartArray(4);
        w.WriteTextString("Signature1");
        w.WriteByteString(protectedHeader);
        w.WriteByteString([]);
        w.WriteByteString(payload);
        w.WriteEndArray();
        return w.Encode();
    }

    /// <summary>The protected header a conforming meter writes: {1: -7, 4: kid}.</summary>
    public static byte[] ProtectedEs256(string kid = Meter) =>
        TestCbor.Encode(new TestMap([new(1, -7), new(4, System.Text.Encoding.UTF8.GetBytes(kid))]));

    public static TestMap Map(params (object Key, object? Value)[] entries) =>
        new(entries.Select(e => new KeyValuePair<object, object?>(e.Key, e.Value)).ToList());
}
