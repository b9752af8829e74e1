using System.Formats.Cbor;
using System.Security.Cryptography;
using FsCheck;
using FsCheck.Xunit;
using GreenTrace.Core.Readings;
using static GreenTrace.Core.Tests.Readings.ReadingFixtures;

namespace GreenTrace.Core.Tests.Readings;

/// <summary>The reading wire format (DESIGN.md, "Reading") checked byte for byte, as another implementation would see it.</summary>
public class ReadingFormatTests
{
    /// <summary>
    /// The fixed reading's payload, written out by hand in RFC 8949 §4.2.1 order (encoded keys
    /// compared bytewise, so shorter keys first): m, q, v, wh, dir, end, reg, seq, start.
    /// </summary>
    private const string FixedPayloadHex =
        "a9" // map(9)
        + "616d" + "686d657465722d3031" // "m": "meter-01"
        + "6171" + "616d" // "q": "m"
        + "6176" + "01" // "v": 1
        + "627768" + "1904d2" // "wh": 1234
        + "63646972" + "6367656e" // "dir": "gen"
        + "63656e64" + "1a6553f4e8" // "end": 1700001000
        + "63726567" + "1a0008aa52" // "reg": 567890
        + "63736571" + "182a" // "seq": 42
        + "657374617274" + "1a6553f164"; // "start": 1700000100

    [Fact]
    public void PayloadBytesAreExactlyTheDeterministicEncoding()
    {
        Assert.Equal(FixedPayloadHex, Convert.ToHexStringLower(ReadingCodec.EncodePayload(Fixed)));
    }

    [Fact]
    public void HandSortedTestPayloadMatchesTheEncoder()
    {
        // The hostile-payload builder sorts like the spec; if it did not, every "only one defect" test would be suspect.
        Assert.Equal(FixedPayloadHex, Convert.ToHexStringLower(TestCbor.CanonicalMap(FixedFields())));
    }

    [Theory]
    [InlineData(EnergyDirection.Consumption, ReadingQuality.Estimated, "6165", "63636f6e")] // "e", "con"
    [InlineData(EnergyDirection.Generation, ReadingQuality.Estimated, "6165", "6367656e")] // "e", "gen"
    [InlineData(EnergyDirection.Consumption, ReadingQuality.Measured, "616d", "63636f6e")] // "m", "con"
    public void DirectionAndQualityHaveTheirTableSpellings(EnergyDirection direction, ReadingQuality quality, string qValueHex, string dirValueHex)
    {
        var expected = FixedPayloadHex
            .Replace("6171" + "616d", "6171" + qValueHex, StringComparison.Ordinal)
            .Replace("63646972" + "6367656e", "63646972" + dirValueHex, StringComparison.Ordinal);

        Assert.Equal(expected, Convert.ToHexStringLower(ReadingCodec.EncodePayload(Fixed with { Direction = direction, Quality = quality })));
    }

    [Fact]
    public void SignedReadingIsATaggedCoseSign1WithEs256AndKidInTheProtectedHeader()
    {
        var encoded = ReadingCodec.Sign(Fixed, MeterKey);

        Assert.Equal(0xD2, encoded[0]); // tag 18 in one byte
        var r = new CborReader(encoded, CborConformanceMode.Strict);
        Assert.Equal((CborTag)18, r.ReadTag());
        Assert.Equal(4, r.ReadStartArray());
        var protectedHeader = r.ReadByteString();
        Assert.Equal(0, r.ReadStartMap()); // unprotected: empty
        r.ReadEndMap();
        var payload = r.ReadByteString();
        var signature = r.ReadByteString();
        r.ReadEndArray();
        Assert.Equal(0, r.BytesRemaining);

        // Protected header: exactly {1: -7, 4: h'meter-01'}.
        var h = new CborReader(protectedHeader, CborConformanceMode.Ctap2Canonical);
        Assert.Equal(2, h.ReadStartMap());
        Assert.Equal(1, h.ReadInt32());
        Assert.Equal(-7, h.ReadInt32());
        Assert.Equal(4, h.ReadInt32());
        Assert.Equal("meter-01"u8.ToArray(), h.ReadByteString());
        h.ReadEndMap();
        Assert.Equal(0, h.BytesRemaining);

        Assert.Equal(FixedPayloadHex, Convert.ToHexStringLower(payload));
        Assert.Equal(64, signature.Length); // ES256: r ‖ s, 32 bytes each

        // An independent verifier: ECDSA over the RFC 9052 Sig_structure with no external AAD.
        Assert.True(MeterKey.VerifyData(SigStructure(protectedHeader, payload), signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
    }

    [Fact]
    public void SignDecodeVerifyRoundTrips()
    {
        var encoded = ReadingCodec.Sign(Fixed, MeterKey);

        var decoded = ReadingCodec.Decode(encoded);

        Assert.True(decoded.IsOk, decoded.ToString());
        Assert.Equal(Fixed, decoded.Value.Reading);
        Assert.Equal(encoded, decoded.Value.Encoded.ToArray());
        Assert.Null(decoded.Value.VerifySignature(MeterKey));
        var verified = ReadingCodec.DecodeAndVerify(encoded, MeterKey);
        Assert.True(verified.IsOk, verified.ToString());
        Assert.Equal(Fixed, verified.Value.Reading);
    }

    [Fact]
    public void VerifiesWithAKeyImportedFromTheRegisteredPublicKey()
    {
        var encoded = ReadingCodec.Sign(Fixed, MeterKey);
        using var publicOnly = Devices.DeviceKeys.ImportPublicKey(MeterKey.ExportSubjectPublicKeyInfo());

        Assert.Null(ReadingCodec.Decode(encoded).Value.VerifySignature(publicOnly));
    }

    [Fact]
    public void AReadingBuiltByHandByThirdPartyFirmwareInteroperates()
    {
        var encoded = HandBuiltSign1(ProtectedEs256(), null, Convert.FromHexString(FixedPayloadHex));

        var decoded = ReadingCodec.DecodeAndVerify(encoded, MeterKey);

        Assert.True(decoded.IsOk, decoded.ToString());
        Assert.Equal(Fixed, decoded.Value.Reading);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("A.b_c-9")]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123")] // 64 characters
    public void MeterIdsAtTheEdgesOfTheAlphabetAndLengthRoundTrip(string meter)
    {
        var reading = Fixed with { MeterId = meter };

        var decoded = ReadingCodec.DecodeAndVerify(ReadingCodec.Sign(reading, MeterKey), MeterKey);

        Assert.True(decoded.IsOk, decoded.ToString());
        Assert.Equal(reading, decoded.Value.Reading);
    }

    [Fact]
    public void LargestValuesRoundTrip()
    {
        // The latest interval the decoder accepts ends at 9999-12-31T23:59:00Z (its bound is 253402300799, the last second of 9999).
        var reading = new Reading(Meter, ulong.MaxValue, 253402300680, 253402300740, ulong.MaxValue, ulong.MaxValue, EnergyDirection.Generation, ReadingQuality.Estimated);

        var decoded = ReadingCodec.Decode(ReadingCodec.Sign(reading, MeterKey));

        Assert.True(decoded.IsOk, decoded.ToString());
        Assert.Equal(reading, decoded.Value.Reading);
    }

    [Theory]
    [InlineData("")]
    [InlineData("meter 01")]
    [InlineData("meter/01")]
    [InlineData("01234567890123456789012345678901234567890123456789012345678901234")] // 65 characters
    public void EncodeRefusesAnInvalidMeterId(string meter)
    {
        Assert.Throws<ArgumentException>(() => ReadingCodec.EncodePayload(Fixed with { MeterId = meter }));
    }

    [Fact]
    public void EncodeRefusesNegativeTimes()
    {
        Assert.Throws<ArgumentException>(() => ReadingCodec.EncodePayload(Fixed with { Start = -900, End = 0 }));
    }

    [Fact]
    public void ReadingHourIsTheUtcHourOfItsStart()
    {
        Assert.Equal(Hour, At(Hour + 2700, 1).HourStart);
        Assert.Equal(Hour + 3600, At(Hour + 3600, 1).HourStart);
        Assert.Equal(900, Fixed.IntervalSeconds);
    }

    [Property(MaxTest = 150)]
    public bool AnyValidReadingRoundTrips(PositiveInt idLength, int idSeed, byte lengthPick, NonNegativeInt slot, ulong seq, ulong wh, ulong reg, bool generation, bool measured)
    {
        var reading = ValidReading(idLength.Get, idSeed, lengthPick, slot.Get, seq, wh, reg, generation, measured);

        var decoded = ReadingCodec.DecodeAndVerify(ReadingCodec.Sign(reading, MeterKey), MeterKey);

        return decoded.IsOk && decoded.Value.Reading == reading;
    }

    /// <summary>A reading within the format's rules: an id from the alphabet, an interval that divides the hour and is aligned.</summary>
    internal static Reading ValidReading(int idLength, int idSeed, byte lengthPick, int slot, ulong seq, ulong wh, ulong reg, bool generation, bool measured)
    {
        const string alphabet = "ABCXYZabcxyz0189._-";
        long[] lengths = [1, 60, 300, 450, 600, 720, 900, 1800, 3600];
        var random = new Random(idSeed);
        var id = new string(Enumerable.Range(0, 1 + ((idLength - 1) % MeterId.MaxLength)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray());
        var length = lengths[lengthPick % lengths.Length];
        var start = slot % ((253402300799 / length) - 1) * length;
        return new Reading(id, seq, start, start + length, wh, reg,
            generation ? EnergyDirection.Generation : EnergyDirection.Consumption,
            measured ? ReadingQuality.Measured : ReadingQuality.Estimated);
    }
}
