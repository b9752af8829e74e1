using System.Formats.Cbor;
using System.Numerics;
using GreenTrace.Core.Certificates;
using GreenTrace.Core.Merkle;
using GreenTrace.Core.Readings;
using static GreenTrace.Core.Tests.Readings.ReadingFixtures;

namespace GreenTrace.Core.Tests.Certificates;

public class HourlyAggregationTests
{
    private static readonly IssuanceTerms Terms = new("issuer-a", Hour + 3600 + 120, IssuanceTerms.DefaultValiditySeconds);

    /// <summary>Four quarter-hours of one hour, the third one estimated.</summary>
    private static DecodedReading[] FourQuarters() =>
    [
        Decoded(At(Hour, 101, wh: 400)),
        Decoded(At(Hour + 900, 102, wh: 650)),
        Decoded(At(Hour + 1800, 103, wh: 300, quality: ReadingQuality.Estimated)),
        Decoded(At(Hour + 2700, 104, wh: 0)),
    ];

    private static Result<CertificateWithReadings> Issue(IReadOnlyCollection<DecodedReading> readings, int part = 0) =>
        HourlyAggregation.Issue(Device(), readings, part, Terms);

    [Fact]
    public void FourReadingsOfOneHourMakeOneCertificate()
    {
        var readings = FourQuarters();

        var result = Issue(readings);

        Assert.True(result.IsOk, result.ToString());
        var c = result.Value.Certificate;
        Assert.Equal(CertificateId.Compute(Meter, Hour, Hour + 3600, 0), c.Id);
        Assert.Equal(Meter, c.MeterId);
        Assert.Equal(Hour, c.PeriodStart);
        Assert.Equal(Hour + 3600, c.PeriodEnd);
        Assert.Equal(0, c.Part);
        Assert.Equal(1350UL, c.FaceValueWh);
        Assert.Equal("electricity", c.EnergyCarrier);
        Assert.Equal("solar", c.EnergySource);
        Assert.Equal("photovoltaic", c.Technology);
        Assert.Equal("DE-LU", c.GridZone);
        Assert.Equal("DE", c.Country);
        Assert.Equal("issuer-a", c.IssuingBody);
        Assert.Equal(Terms.IssuedAt, c.IssuedAt);
        Assert.Equal(Hour + 3600 + IssuanceTerms.DefaultValiditySeconds, c.ExpiresAt);
        Assert.Equal(4, c.ReadingCount);
        Assert.Equal(new QualitySummary(3, 1, 1050, 300), c.Quality);
        Assert.Equal(MerkleTree.Root(readings.Select(r => r.Encoded.ToArray()).ToArray()), c.ReadingRoot);
        Assert.Equal(readings, result.Value.Readings);
    }

    [Fact]
    public void ReadingTreeIsInSequenceOrderWhateverOrderTheReadingsCameIn()
    {
        var readings = FourQuarters();
        DecodedReading[] shuffled = [readings[2], readings[0], readings[3], readings[1]];
        var inSequence = MerkleTree.Root(readings.Select(r => r.Encoded.ToArray()).ToArray());
        Assert.NotEqual(inSequence, MerkleTree.Root(shuffled.Select(r => r.Encoded.ToArray()).ToArray()));

        var result = Issue(shuffled);

        Assert.True(result.IsOk, result.ToString());
        Assert.Equal(inSequence, result.Value.Certificate.ReadingRoot);
        Assert.Equal(readings.Select(r => r.Reading.Sequence), result.Value.Readings.Select(r => r.Reading.Sequence));
        Assert.Equal(Issue(readings).Value.Certificate, result.Value.Certificate);
    }

    [Fact]
    public void ALaterSequenceCoveringAnEarlierIntervalIsAggregationOverlap()
    {
        // Sequence order is time order (the gateway enforces it too): anything else could count one interval twice.
        DecodedReading[] readings = [Decoded(At(Hour + 900, 7)), Decoded(At(Hour, 8))];

        Assert.Equal(AggregationReasons.Overlap, Issue(readings).Error?.Code);
    }

    [Fact]
    public void LaterPartsGetTheirOwnId()
    {
        var readings = FourQuarters();

        var part2 = Issue(readings, part: 2);

        Assert.True(part2.IsOk, part2.ToString());
        Assert.Equal(2, part2.Value.Certificate.Part);
        Assert.Equal(CertificateId.Compute(Meter, Hour, Hour + 3600, 2), part2.Value.Certificate.Id);
        Assert.NotEqual(Issue(readings).Value.Certificate.Id, part2.Value.Certificate.Id);
    }

    [Fact]
    public void OneHourLongReadingAndMixedLengthsAreCertified()
    {
        var hourly = Issue([Decoded(At(Hour, 1, wh: 9000, length: 3600))]);
        var mixed = Issue([Decoded(At(Hour, 1, wh: 10, length: 1800)), Decoded(At(Hour + 1800, 2, wh: 20, length: 900)), Decoded(At(Hour + 3000, 3, wh: 30, length: 600))]);

        Assert.True(hourly.IsOk, hourly.ToString());
        Assert.Equal(9000UL, hourly.Value.Certificate.FaceValueWh);
        Assert.True(mixed.IsOk, mixed.ToString());
        Assert.Equal(60UL, mixed.Value.Certificate.FaceValueWh);
        Assert.Equal(3, mixed.Value.Certificate.ReadingCount);
    }

    [Fact]
    public void SingleReadingRootIsItsLeafHash()
    {
        var reading = Decoded(At(Hour + 900, 5));

        var result = Issue([reading]);

        Assert.Equal(MerkleHash.Leaf(reading.Encoded.Span), result.Value.Certificate.ReadingRoot);
    }

    [Fact]
    public void NoReadingsIsAggregationEmpty()
    {
        Assert.Equal(AggregationReasons.Empty, Issue([]).Error?.Code);
    }

    [Fact]
    public void ReadingOfAnotherMeterIsAggregationMeter()
    {
        DecodedReading[] readings = [.. FourQuarters(), Decoded(At(Hour, 1, meter: "meter-02"))];

        Assert.Equal(AggregationReasons.MeterMismatch, Issue(readings).Error?.Code);
        Assert.Equal(AggregationReasons.MeterMismatch, HourlyAggregation.Issue(Device("meter-02"), FourQuarters(), 0, Terms).Error?.Code);
    }

    [Fact]
    public void ReadingOfAnotherHourIsAggregationHour()
    {
        DecodedReading[] nextHour = [.. FourQuarters(), Decoded(At(Hour + 3600, 105))];
        DecodedReading[] previousHour = [Decoded(At(Hour - 900, 100)), .. FourQuarters()];

        Assert.Equal(AggregationReasons.HourMismatch, Issue(nextHour).Error?.Code);
        Assert.Equal(AggregationReasons.HourMismatch, Issue(previousHour).Error?.Code);
    }

    [Fact]
    public void ConsumptionIsAggregationDirection()
    {
        DecodedReading[] withConsumption = [.. FourQuarters()[..3], Decoded(At(Hour + 2700, 104, direction: EnergyDirection.Consumption))];

        Assert.Equal(AggregationReasons.Direction, Issue(withConsumption).Error?.Code);
        Assert.Equal(AggregationReasons.Direction, HourlyAggregation.Issue(Device(direction: EnergyDirection.Consumption), FourQuarters(), 0, Terms).Error?.Code);
    }

    [Fact]
    public void SameReadingTwiceIsAggregationDuplicateSequence()
    {
        var readings = FourQuarters();

        Assert.Equal(AggregationReasons.DuplicateSequence, Issue([.. readings, readings[1]]).Error?.Code);
    }

    [Fact]
    public void TwoDifferentReadingsWithOneSequenceAreAggregationDuplicateSequence()
    {
        DecodedReading[] readings = [.. FourQuarters(), Decoded(At(Hour + 900, 102, wh: 651))];

        Assert.Equal(AggregationReasons.DuplicateSequence, Issue(readings).Error?.Code);
    }

    [Fact]
    public void OverlappingIntervalsUnderTwoSequencesAreAggregationOverlap()
    {
        // Firmware re-signing a buffered interval under a new number must not count its energy twice.
        DecodedReading[] readings = [Decoded(At(Hour, 1)), Decoded(At(Hour, 2))];

        Assert.Equal(AggregationReasons.Overlap, Issue(readings).Error?.Code);
    }

    [Fact]
    public void ResignedReadingIsAggregationDuplicateSequence()
    {
        // ECDSA signs with a fresh nonce: the same reading signed again is other bytes, the same sequence.
        var a = Decoded(At(Hour, 1));
        var b = Decoded(At(Hour, 1));
        Assert.False(a.Encoded.Span.SequenceEqual(b.Encoded.Span));

        Assert.Equal(AggregationReasons.DuplicateSequence, Issue([a, b]).Error?.Code);
    }

    [Fact]
    public void MalleatedSignatureOfTheSameReadingIsAggregationDuplicateSequence()
    {
        // Anyone can turn a valid ECDSA signature (r, s) into (r, n - s): a second valid encoding of the
        // same reading, made without the meter's key. Leaves are bytes, so only the sequence catches it.
        var original = ReadingCodec.Sign(At(Hour, 1), MeterKey);
        var malleated = MalleateSignature(original);
        var copy = ReadingCodec.DecodeAndVerify(malleated, MeterKey);
        Assert.True(copy.IsOk, copy.ToString());
        Assert.False(original.AsSpan().SequenceEqual(malleated));

        Assert.Equal(AggregationReasons.DuplicateSequence, Issue([ReadingCodec.Decode(original).Value, copy.Value]).Error?.Code);
    }

    [Fact]
    public void FaceValueBeyond64BitsIsAggregationOverflow()
    {
        DecodedReading[] readings = [Decoded(At(Hour, 1, wh: ulong.MaxValue)), Decoded(At(Hour + 900, 2, wh: 1))];

        Assert.Equal(AggregationReasons.Overflow, Issue(readings).Error?.Code);
    }

    [Fact]
    public void NegativePartThrows()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Issue(FourQuarters(), part: -1));
    }

    private static byte[] MalleateSignature(byte[] sign1)
    {
        var n = BigInteger.Parse("0FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
        var r = new CborReader(sign1);
        r.ReadTag();
        r.ReadStartArray();
        var protectedHeader = r.ReadByteString();
        r.SkipValue(); // empty unprotected map
        var payload = r.ReadByteString();
        var signature = r.ReadByteString();
        var s = new BigInteger(signature.AsSpan(32), isUnsigned: true, isBigEndian: true);
        var flipped = new byte[64];
        signature.AsSpan(0, 32).CopyTo(flipped);
        var ns = (n - s).ToByteArray(isUnsigned: true, isBigEndian: true);
        ns.CopyTo(flipped.AsSpan(64 - ns.Length));
        return AssembleSign1(protectedHeader, null, payload, flipped);
    }
}

public class CertificateIdTests
{
    [Fact]
    public void IdIsSha256OfTheCborArrayWrittenByHand()
    {
        // [ "greentrace/certificate/v1", "meter-01", 1699999200, 1700002800, 0 ] in deterministic CBOR.
        const string cbor = "85"
            + "7819" + "677265656e74726163652f63657274696669636174652f7631"
            + "68" + "6d657465722d3031"
            + "1a6553ede0"
            + "1a6553fbf0"
            + "00";

        var id = CertificateId.Compute("meter-01", 1699999200, 1700002800, 0);

        Assert.Equal(System.Security.Cryptography.SHA256.HashData(Convert.FromHexString(cbor)), id);
        Assert.Equal("98c341d5325b2401c30ac08fcf57836037cd8754fe405a6dce3c2d6e464337ec", Convert.ToHexStringLower(id));
    }

    [Fact]
    public void IdIsStable()
    {
        Assert.Equal(CertificateId.Compute("meter-01", Hour, Hour + 3600, 3), CertificateId.Compute("meter-01", Hour, Hour + 3600, 3));
        Assert.Equal(32, CertificateId.Compute("meter-01", Hour, Hour + 3600, 3).Length);
    }

    [Fact]
    public void IdDiffersByMeterPeriodAndPart()
    {
        byte[][] ids =
        [
            CertificateId.Compute("meter-01", Hour, Hour + 3600, 0),
            CertificateId.Compute("meter-02", Hour, Hour + 3600, 0),
            CertificateId.Compute("meter-01", Hour + 3600, Hour + 7200, 0),
            CertificateId.Compute("meter-01", Hour, Hour + 1800, 0),
            CertificateId.Compute("meter-01", Hour + 1800, Hour + 3600, 0),
            CertificateId.Compute("meter-01", Hour, Hour + 3600, 1),
            CertificateId.Compute("meter-0", Hour, Hour + 3600, 0),
            CertificateId.Compute("meter-01", -Hour, Hour + 3600, 0),
        ];

        Assert.Equal(ids.Length, ids.Select(Convert.ToHexStringLower).Distinct().Count());
    }

    [Fact]
    public void CertificateIdHexIsLowerCaseHexOfTheId()
    {
        var certificate = HourlyAggregation.Issue(Device(), [Decoded(At(Hour, 1))], 0, new IssuanceTerms("issuer-a", Hour + 3600, 1)).Value.Certificate;

        Assert.Equal(Convert.ToHexStringLower(certificate.Id), certificate.IdHex);
    }
}
