using System.Security.Cryptography;
using System.Security.Cryptography.Cose;
using GreenTrace.Core.Readings;
using static GreenTrace.Core.Tests.Readings.ReadingFixtures;

namespace GreenTrace.Core.Tests.Readings;

/// <summary>
/// Every reason code from a crafted input that carries only the defect named. Hostile payloads
/// are written with CborWriter in Lax mode and signed with the real envelope, so the envelope
/// and the signature are fine and only the targeted rule can refuse them.
/// </summary>
public class ReadingReasonTests
{
    private static readonly byte[] Valid = ReadingCodec.Sign(Fixed, MeterKey);

    private static string? CodeOf(byte[] encoded)
    {
        var result = ReadingCodec.Decode(encoded);
        return result.IsOk ? null : result.Error.Code;
    }

    private static byte[] SignRawPayload(byte[] payload, string kid = Meter) => ReadingCodec.SignPayload(payload, kid, MeterKey);

    [Fact]
    public void TheUntouchedFixtureDecodes()
    {
        // Every test below changes one thing about this; if it did not decode, they would prove nothing.
        Assert.Null(CodeOf(Valid));
        Assert.Null(CodeOf(SignFields(FixedFields())));
    }

    // ---- COSE envelope ----

    [Theory]
    [InlineData("")]
    [InlineData("00")]
    [InlineData("ff")]
    [InlineData("d2")] // the tag and nothing else
    [InlineData("68656c6c6f2c20776f726c64")] // "hello, world"
    [InlineData("d283404040")] // tagged array of 3
    [InlineData("d2844040404040")] // tagged array of 4 with an extra item
    [InlineData("d8628440a0f64040")] // tag 98 (COSE_Sign) on a Sign1-shaped array
    [InlineData("d284a0a0f640")] // protected header is a map, not a byte string
    public void GarbageIsCoseMalformed(string hex)
    {
        Assert.Equal(ReadingReasons.CoseMalformed, CodeOf(Convert.FromHexString(hex)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(10)]
    [InlineData(40)]
    public void TruncatedMessageIsCoseMalformed(int dropped)
    {
        Assert.Equal(ReadingReasons.CoseMalformed, CodeOf(Valid[..^dropped]));
    }

    [Fact]
    public void TrailingBytesAfterTheMessageAreCoseMalformed()
    {
        Assert.Equal(ReadingReasons.CoseMalformed, CodeOf([.. Valid, 0x00]));
    }

    [Fact]
    public void ProtectedHeaderLabelBeyondInt32IsCoseMalformedNotAnException()
    {
        // One flipped byte turns label 4 (0x04) into 0x3B: a negative integer with an 8-byte argument.
        var flipped = (byte[])Valid.Clone();
        Assert.Equal(0x04, flipped[6]);
        flipped[6] = 0x3B;

        Assert.Equal(ReadingReasons.CoseMalformed, CodeOf(flipped));
    }

    [Theory]
    [InlineData("a11a8000000001")] // {2147483648: 1}
    [InlineData("a13a8000000001")] // {-2147483649: 1}
    [InlineData("a11bffffffffffffffff01")] // {2^64-1: 1}
    public void UnprotectedHeaderLabelBeyondInt32IsCoseMalformedNotAnException(string unprotectedHex)
    {
        var message = HandBuiltSign1(ProtectedEs256(), RawCbor.FromHex(unprotectedHex), ReadingCodec.EncodePayload(Fixed));

        Assert.Equal(ReadingReasons.CoseMalformed, CodeOf(message));
    }

    [Fact]
    public void SameMessageWithoutTheTagIsCoseUntagged()
    {
        Assert.Equal(0xD2, Valid[0]);

        Assert.Equal(ReadingReasons.CoseUntagged, CodeOf(Valid[1..]));
    }

    [Fact]
    public void UntaggedHandBuiltMessageIsCoseUntagged()
    {
        var untagged = HandBuiltSign1(ProtectedEs256(), null, ReadingCodec.EncodePayload(Fixed), tagged: false);

        Assert.Equal(ReadingReasons.CoseUntagged, CodeOf(untagged));
    }

    [Fact]
    public void TagEighteenInItsTwoByteFormIsRefused()
    {
        // 0xD8 0x12 is also tag 18, but not in preferred (shortest) serialization.
        Assert.NotNull(CodeOf([0xD8, 0x12, .. Valid[1..]]));
    }

    [Fact]
    public void Es384IsCoseAlgorithm()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var signer = new CoseSigner(p384, HashAlgorithmName.SHA384, Headers((CoseHeaderLabel.KeyIdentifier, Kid(Meter))));
        var es384 = CoseSign1Message.SignEmbedded(ReadingCodec.EncodePayload(Fixed), signer);

        Assert.Equal(ReadingReasons.CoseAlgorithm, CodeOf(es384));
    }

    [Fact]
    public void Es256WithSha384IsCoseAlgorithm()
    {
        // A P-256 key with SHA-384 is not ES256 (RFC 9053 ties ES256 to SHA-256); .NET labels it ES384.
        var signer = new CoseSigner(MeterKey, HashAlgorithmName.SHA384, Headers((CoseHeaderLabel.KeyIdentifier, Kid(Meter))));

        Assert.Equal(ReadingReasons.CoseAlgorithm, CodeOf(CoseSign1Message.SignEmbedded(ReadingCodec.EncodePayload(Fixed), signer)));
    }

    [Fact]
    public void AlgOnlyInTheUnprotectedHeaderIsCoseAlgorithm()
    {
        var protectedKidOnly = TestCbor.Encode(Map((4, "meter-01"u8.ToArray())));
        var message = HandBuiltSign1(protectedKidOnly, Map((1, -7)), ReadingCodec.EncodePayload(Fixed));

        Assert.Equal(ReadingReasons.CoseAlgorithm, CodeOf(message));
    }

    [Theory]
    [InlineData("a2" + "0126" + "04486d657465722d3031", false)] // control: {1: -7, 4: kid}
    [InlineData("a2" + "0127" + "04486d657465722d3031", true)] // alg -8 (EdDSA)
    [InlineData("a2" + "0106" + "04486d657465722d3031", true)] // alg 6, positive
    [InlineData("a2" + "013806" + "04486d657465722d3031", true)] // -7 with a non-minimal head
    [InlineData("a2" + "01654553323536" + "04486d657465722d3031", true)] // alg "ES256" as text
    [InlineData("a1" + "04486d657465722d3031", true)] // no alg at all
    public void AnythingButEs256InTheProtectedHeaderIsCoseAlgorithm(string protectedHex, bool refused)
    {
        var message = HandBuiltSign1(Convert.FromHexString(protectedHex), null, ReadingCodec.EncodePayload(Fixed));

        Assert.Equal(refused ? ReadingReasons.CoseAlgorithm : null, CodeOf(message));
    }

    [Fact]
    public void NoKidIsCoseKidMissing()
    {
        var signer = new CoseSigner(MeterKey, HashAlgorithmName.SHA256, Headers((CoseHeaderLabel.Algorithm, Es256)));

        Assert.Equal(ReadingReasons.CoseKidMissing, CodeOf(CoseSign1Message.SignEmbedded(ReadingCodec.EncodePayload(Fixed), signer)));
    }

    [Fact]
    public void EmptyKidIsCoseKidMissing()
    {
        var signer = new CoseSigner(MeterKey, HashAlgorithmName.SHA256, Headers((CoseHeaderLabel.Algorithm, Es256), (CoseHeaderLabel.KeyIdentifier, CoseHeaderValue.FromBytes([]))));

        Assert.Equal(ReadingReasons.CoseKidMissing, CodeOf(CoseSign1Message.SignEmbedded(ReadingCodec.EncodePayload(Fixed), signer)));
    }

    [Fact]
    public void ConflictingKidsInBothBucketsAreRefused()
    {
        // RFC 9052 §3 forbids a label in both buckets. .NET's COSE decoder enforces that itself, so
        // a kid in both header buckets is refused
        // one step earlier, as a malformed message. This pins that down so the refusal cannot go away.
        var conflicting = HandBuiltSign1(ProtectedEs256(), Map((4, "meter-02"u8.ToArray())), ReadingCodec.EncodePayload(Fixed));
        var sameKidTwice = HandBuiltSign1(ProtectedEs256(), Map((4, "meter-01"u8.ToArray())), ReadingCodec.EncodePayload(Fixed));

        Assert.Equal(ReadingReasons.CoseMalformed, CodeOf(conflicting));
        Assert.Equal(ReadingReasons.CoseMalformed, CodeOf(sameKidTwice));
    }

    [Fact]
    public void KidAsTextStringIsRefused()
    {
        var textKid = TestCbor.Encode(Map((1, -7), (4, Meter)));

        Assert.Equal(ReadingReasons.CoseMalformed, CodeOf(HandBuiltSign1(textKid, null, ReadingCodec.EncodePayload(Fixed))));
    }

    [Fact]
    public void KidOnlyInTheUnprotectedHeaderIsAcceptedBecauseItMustEqualTheSignedMeterId()
    {
        var protectedAlgOnly = TestCbor.Encode(Map((1, -7)));
        var message = HandBuiltSign1(protectedAlgOnly, Map((4, "meter-01"u8.ToArray())), ReadingCodec.EncodePayload(Fixed));
        var lying = HandBuiltSign1(protectedAlgOnly, Map((4, "meter-02"u8.ToArray())), ReadingCodec.EncodePayload(Fixed));

        Assert.Null(CodeOf(message));
        Assert.Equal(ReadingReasons.KidMismatch, CodeOf(lying));
    }

    [Fact]
    public void DetachedPayloadIsCosePayloadDetached()
    {
        var signer = new CoseSigner(MeterKey, HashAlgorithmName.SHA256, Headers((CoseHeaderLabel.Algorithm, Es256), (CoseHeaderLabel.KeyIdentifier, Kid(Meter))));

        Assert.Equal(ReadingReasons.CosePayloadDetached, CodeOf(CoseSign1Message.SignDetached(ReadingCodec.EncodePayload(Fixed), signer)));
    }

    // ---- payload: well-formedness and deterministic encoding ----

    [Theory]
    [InlineData("")] // empty payload
    [InlineData("ff")] // a break outside an indefinite item
    [InlineData("1c")] // reserved additional information
    [InlineData("a9616d")] // map of 9 that ends after one key
    [InlineData("a1616d686d657465")] // text string shorter than its head says
    [InlineData("5f4101")] // indefinite byte string without its break
    public void NotCborIsPayloadMalformed(string hex)
    {
        Assert.Equal(ReadingReasons.PayloadMalformed, CodeOf(SignRawPayload(Convert.FromHexString(hex))));
    }

    [Fact]
    public void TrailingBytesAfterThePayloadMapArePayloadMalformed()
    {
        Assert.Equal(ReadingReasons.PayloadMalformed, CodeOf(SignRawPayload([.. ReadingCodec.EncodePayload(Fixed), 0x00])));
        Assert.Equal(ReadingReasons.PayloadMalformed, CodeOf(SignRawPayload([.. ReadingCodec.EncodePayload(Fixed), .. ReadingCodec.EncodePayload(Fixed)])));
    }

    [Fact]
    public void DeeplyNestedPayloadIsRefusedWithoutCrashing()
    {
        var nested = new byte[100_000];
        Array.Fill(nested, (byte)0x81); // [[[[...
        nested[^1] = 0x00;

        Assert.Equal(ReadingReasons.PayloadMalformed, CodeOf(SignRawPayload(nested)));
    }

    [Fact]
    public void UnsortedKeysArePayloadNonDeterministic()
    {
        // The keys in table order (v, m, seq, ...), which is not the canonical order.
        var unsorted = TestCbor.Encode(new TestMap(FixedFields()));

        Assert.Equal(ReadingReasons.PayloadNonDeterministic, CodeOf(SignRawPayload(unsorted)));
    }

    [Fact]
    public void SwappedOneLetterKeysArePayloadNonDeterministic()
    {
        // Swap the one-letter keys "q" and "v": everything else stays in canonical order.
        var sorted = TestCbor.SortCanonical(FixedFields()).ToList();
        (sorted[1], sorted[2]) = (sorted[2], sorted[1]);

        Assert.Equal(ReadingReasons.PayloadNonDeterministic, CodeOf(SignRawPayload(TestCbor.Encode(new TestMap(sorted)))));
    }

    [Fact]
    public void DuplicateKeyIsPayloadNonDeterministic()
    {
        var sorted = TestCbor.SortCanonical(FixedFields()).ToList();
        var wh = sorted.FindIndex(e => (string)e.Key == "wh");
        sorted.Insert(wh + 1, sorted[wh]); // "wh": 1234 twice, adjacent, so the order is otherwise canonical

        Assert.Equal(ReadingReasons.PayloadNonDeterministic, CodeOf(SignRawPayload(TestCbor.Encode(new TestMap(sorted)))));
    }

    [Fact]
    public void DuplicateKeyWithAnotherValueIsPayloadNonDeterministic()
    {
        var sorted = TestCbor.SortCanonical(FixedFields()).ToList();
        var wh = sorted.FindIndex(e => (string)e.Key == "wh");
        sorted.Insert(wh + 1, new("wh", 999_999));

        Assert.Equal(ReadingReasons.PayloadNonDeterministic, CodeOf(SignRawPayload(TestCbor.Encode(new TestMap(sorted)))));
    }

    [Theory]
    [InlineData("seq", "19002a")] // 42 in two bytes
    [InlineData("seq", "1b000000000000002a")] // 42 in eight bytes
    [InlineData("v", "1801")] // 1 in one extra byte
    [InlineData("wh", "1a000004d2")] // 1234 in four bytes
    [InlineData("m", "78086d657465722d3031")] // "meter-01" with a one-byte length head
    [InlineData("dir", "7f6367656eff")] // "gen" as an indefinite-length text string
    public void NonMinimalEncodingIsPayloadNonDeterministic(string key, string valueHex)
    {
        var payload = TestCbor.CanonicalMap(FixedFieldsWith(key, RawCbor.FromHex(valueHex)));

        Assert.Equal(ReadingReasons.PayloadNonDeterministic, CodeOf(SignRawPayload(payload)));
    }

    [Fact]
    public void NonMinimalMapHeadIsPayloadNonDeterministic()
    {
        var payload = ReadingCodec.EncodePayload(Fixed);
        Assert.Equal(0xA9, payload[0]);

        Assert.Equal(ReadingReasons.PayloadNonDeterministic, CodeOf(SignRawPayload([0xB8, 0x09, .. payload[1..]])));
    }

    [Fact]
    public void IndefiniteLengthMapIsPayloadNonDeterministic()
    {
        var payload = TestCbor.Encode(new TestMap(FixedFields()).Sorted() with { Indefinite = true });
        Assert.Equal(0xBF, payload[0]);

        Assert.Equal(ReadingReasons.PayloadNonDeterministic, CodeOf(SignRawPayload(payload)));
    }

    [Fact]
    public void InvalidUtf8InATextValueIsRefused()
    {
        // RFC 8949 §5.3.1: well-formed but invalid. It is refused; which of the two payload codes it gets is not a contract.
        var code = CodeOf(SignRawPayload(TestCbor.CanonicalMap(FixedFieldsWith("q", RawCbor.FromHex("61ff")))));

        Assert.Contains(code, new[] { ReadingReasons.PayloadMalformed, ReadingReasons.PayloadNonDeterministic });
    }

    // ---- payload: shape and values ----

    [Theory]
    [InlineData("80")] // []
    [InlineData("89010203040506070809")] // an array of 9
    [InlineData("5f4101ff")] // an indefinite byte string
    [InlineData("01")]
    [InlineData("6568656c6c6f")] // "hello"
    [InlineData("4401020304")] // h'01020304'
    [InlineData("f6")] // null
    [InlineData("c11a6553f164")] // a tagged epoch time
    public void NonMapPayloadIsPayloadNotMap(string hex)
    {
        Assert.Equal(ReadingReasons.PayloadNotMap, CodeOf(SignRawPayload(Convert.FromHexString(hex))));
    }

    public static TheoryData<string> PayloadKeys => ["v", "m", "seq", "start", "end", "wh", "reg", "dir", "q"];

    [Theory]
    [MemberData(nameof(PayloadKeys))]
    public void EachMissingKeyIsPayloadMissingKey(string key)
    {
        var result = ReadingCodec.Decode(SignFields(FixedFieldsWithout(key)));

        Assert.False(result.IsOk);
        Assert.Equal(ReadingReasons.PayloadMissingKey, result.Error.Code);
        Assert.Contains($"'{key}'", result.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyMapIsPayloadMissingKey()
    {
        Assert.Equal(ReadingReasons.PayloadMissingKey, CodeOf(SignRawPayload([0xA0])));
    }

    [Theory]
    [InlineData("x")]
    [InlineData("V")] // keys are case-sensitive
    [InlineData("meter")]
    [InlineData("")]
    public void ExtraTextKeyIsPayloadUnknownKey(string key)
    {
        Assert.Equal(ReadingReasons.PayloadUnknownKey, CodeOf(SignFields([.. FixedFields(), new(key, 1)])));
    }

    [Fact]
    public void IntegerKeyIsPayloadWrongType()
    {
        Assert.Equal(ReadingReasons.PayloadWrongType, CodeOf(SignFields([.. FixedFields(), new(1, 1)])));
    }

    /// <summary>Each key with a value of a type the table does not allow.</summary>
    public static TheoryData<string, string> WrongTypes => new()
    {
        { "v", "text" }, { "v", "negative" }, { "v", "bytes" },
        { "m", "bytes" }, { "m", "uint" }, { "m", "array" },
        { "seq", "text" }, { "seq", "negative" }, { "seq", "bool" },
        { "start", "text" }, { "start", "negative" }, { "start", "null" },
        { "end", "bytes" }, { "end", "negative" }, { "end", "map" },
        { "wh", "text" }, { "wh", "negative" }, { "wh", "array" },
        { "reg", "text" }, { "reg", "negative" }, { "reg", "map" },
        { "dir", "uint" }, { "dir", "bytes" }, { "dir", "bool" },
        { "q", "uint" }, { "q", "bytes" }, { "q", "null" },
    };

    private static object? WrongValue(string kind) => kind switch
    {
        "text" => "1",
        "negative" => -1,
        "bytes" => new byte[] { 1 },
        "uint" => 1,
        "bool" => true,
        "null" => null,
        "array" => new object[] { 1 },
        "map" => Map(("a", 1)),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    [Theory]
    [MemberData(nameof(WrongTypes))]
    public void EachKeyWithAWrongTypeIsPayloadWrongType(string key, string kind)
    {
        var result = ReadingCodec.Decode(SignFields(FixedFieldsWith(key, WrongValue(kind))));

        Assert.False(result.IsOk);
        Assert.Equal(ReadingReasons.PayloadWrongType, result.Error.Code);
        Assert.Contains($"'{key}'", result.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TaggedValueIsRefused()
    {
        // Tag 1 (epoch time) around a uint: not the table's type. The canonical reader refuses tags before the type check does.
        var code = CodeOf(SignFields(FixedFieldsWith("start", RawCbor.FromHex("c11a6553f164"))));

        Assert.Contains(code, new[] { ReadingReasons.PayloadWrongType, ReadingReasons.PayloadNonDeterministic });
    }

    [Fact]
    public void FloatValueIsRefused()
    {
        // A float is never a uint; whether the canonical reader stops at it or the type check does, it must not pass.
        var code = CodeOf(SignFields(FixedFieldsWith("wh", 1234.0)));

        Assert.Contains(code, new[] { ReadingReasons.PayloadWrongType, ReadingReasons.PayloadNonDeterministic });
    }

    [Theory]
    [InlineData("dir", "GEN")]
    [InlineData("dir", "generation")]
    [InlineData("dir", "")]
    [InlineData("dir", "m")]
    [InlineData("q", "M")]
    [InlineData("q", "x")]
    [InlineData("q", "")]
    [InlineData("q", "gen")]
    public void ValueOutsideItsSetIsPayloadBadValue(string key, string value)
    {
        Assert.Equal(ReadingReasons.PayloadBadValue, CodeOf(SignFields(FixedFieldsWith(key, value))));
    }

    [Fact]
    public void IntervalBeyondYear9999IsPayloadBadValue()
    {
        var fields = FixedFieldsWith("start", 253402300740L);
        fields = fields.Select(e => (string)e.Key == "end" ? new KeyValuePair<object, object?>("end", 253402300800L) : e).ToList();

        Assert.Equal(ReadingReasons.PayloadBadValue, CodeOf(SignFields(fields)));
        Assert.Equal(ReadingReasons.PayloadBadValue, CodeOf(SignFields(FixedFieldsWith("end", ulong.MaxValue))));
    }

    [Theory]
    [InlineData(2UL)]
    [InlineData(0UL)]
    [InlineData(ulong.MaxValue)]
    public void OtherVersionIsVersionUnsupported(ulong version)
    {
        Assert.Equal(ReadingReasons.VersionUnsupported, CodeOf(SignFields(FixedFieldsWith("v", version))));
    }

    [Fact]
    public void ALaterVersionWithNewKeysIsVersionUnsupportedNotUnknownKey()
    {
        var fields = FixedFieldsWith("v", 2UL);
        fields.Add(new KeyValuePair<object, object?>("tz", "Europe/Copenhagen"));
        Assert.Equal(ReadingReasons.VersionUnsupported, CodeOf(SignFields(fields)));
    }

    [Fact]
    public void HeadersBeyondTheFormatAreRefused()
    {
        var payload = ReadingCodec.EncodePayload(Fixed);
        var withCrit = TestCbor.Encode(new TestMap([new(1, -7), new(2, new object[] { 99 }), new(4, System.Text.Encoding.UTF8.GetBytes(Meter)), new(99, 1)]));
        Assert.Equal(ReadingReasons.CoseHeaderUnexpected, CodeOf(HandBuiltSign1(withCrit, Map(), payload)));
        Assert.Equal(ReadingReasons.CoseHeaderUnexpected, CodeOf(HandBuiltSign1(ProtectedEs256(), Map((99, new byte[100])), payload)));
    }

    // ---- meter id and kid ----

    [Theory]
    [InlineData("meter 01")]
    [InlineData("meter/01")]
    [InlineData("meter+01")]
    [InlineData("m\u00ebter")]
    [InlineData("01234567890123456789012345678901234567890123456789012345678901234")] // 65 characters
    [InlineData("")]
    public void InvalidMeterIdInThePayloadIsMeterIdInvalid(string meter)
    {
        Assert.Equal(ReadingReasons.MeterIdInvalid, CodeOf(SignFields(FixedFieldsWith("m", meter), kid: Meter)));
    }

    [Theory]
    [InlineData("meter/01")]
    [InlineData("01234567890123456789012345678901234567890123456789012345678901234")]
    public void InvalidMeterIdInKidAndPayloadIsMeterIdInvalid(string meter)
    {
        Assert.Equal(ReadingReasons.MeterIdInvalid, CodeOf(SignFields(FixedFieldsWith("m", meter), kid: meter)));
    }

    [Fact]
    public void KidThatIsNotUtf8IsMeterIdInvalid()
    {
        var signer = new CoseSigner(MeterKey, HashAlgorithmName.SHA256, Headers((CoseHeaderLabel.Algorithm, Es256), (CoseHeaderLabel.KeyIdentifier, CoseHeaderValue.FromBytes([0xFF, 0xFE]))));

        Assert.Equal(ReadingReasons.MeterIdInvalid, CodeOf(CoseSign1Message.SignEmbedded(ReadingCodec.EncodePayload(Fixed), signer)));
    }

    [Theory]
    [InlineData("meter-02")]
    [InlineData("METER-01")] // ids compare ordinally
    [InlineData("meter-01.")]
    public void KidDifferentFromPayloadMeterIsKidMismatch(string kid)
    {
        Assert.Equal(ReadingReasons.KidMismatch, CodeOf(ReadingCodec.SignPayload(ReadingCodec.EncodePayload(Fixed), kid, MeterKey)));
    }

    // ---- interval ----

    [Theory]
    [InlineData(1700000100L, 1700000100L)] // empty
    [InlineData(1700001000L, 1700000100L)] // backwards
    public void EndNotAfterStartIsIntervalOrder(long start, long end)
    {
        var fields = FixedFieldsWith("start", start).Select(e => (string)e.Key == "end" ? new KeyValuePair<object, object?>("end", end) : e);

        Assert.Equal(ReadingReasons.IntervalOrder, CodeOf(SignFields(fields)));
    }

    [Theory]
    [InlineData(1700000160L, 900L)] // 15 minutes starting one minute late
    [InlineData(1700000101L, 900L)]
    [InlineData(1699999200L + 1800 + 900, 1800L)] // 30 minutes starting on the quarter
    [InlineData(1699999200L + 60, 3600L)] // an hour not on the hour
    public void StartNotAlignedToTheLengthIsIntervalMisaligned(long start, long length)
    {
        var fields = FixedFieldsWith("start", start).Select(e => (string)e.Key == "end" ? new KeyValuePair<object, object?>("end", start + length) : e);

        Assert.Equal(ReadingReasons.IntervalMisaligned, CodeOf(SignFields(fields)));
    }

    [Theory]
    [InlineData(420L)] // 7 minutes does not divide the hour
    [InlineData(7200L)] // two hours
    [InlineData(3601L)]
    [InlineData(7L)]
    [InlineData(960L)] // 16 minutes
    public void LengthThatDoesNotDivideTheHourIsIntervalLength(long length)
    {
        const long start = 1699999200; // on the hour, so only the length is wrong
        var fields = FixedFieldsWith("start", start).Select(e => (string)e.Key == "end" ? new KeyValuePair<object, object?>("end", start + length) : e);

        Assert.Equal(ReadingReasons.IntervalLength, CodeOf(SignFields(fields)));
    }

    [Theory]
    [InlineData(0L, 1L)]
    [InlineData(1699999200L, 1699999200L + 3600)]
    [InlineData(1699999200L + 3000, 1699999200L + 3600)] // 10 minutes
    [InlineData(1699999200L + 3240, 1699999200L + 3600)] // 6 minutes
    public void IntervalsThatDivideTheHourAndAreAlignedPass(long start, long end)
    {
        Assert.Null(ReadingRules.CheckInterval(start, end));
        var fields = FixedFieldsWith("start", start).Select(e => (string)e.Key == "end" ? new KeyValuePair<object, object?>("end", end) : e);
        Assert.Null(CodeOf(SignFields(fields)));
    }

    [Fact]
    public void CheckIntervalRefusesNegativeStart()
    {
        Assert.Equal(ReadingReasons.IntervalOrder, ReadingRules.CheckInterval(-900, 0)?.Code);
    }

    // ---- signature ----

    [Fact]
    public void WrongKeyIsSignatureInvalid()
    {
        Assert.Equal(ReadingReasons.SignatureInvalid, ReadingCodec.Decode(Valid).Value.VerifySignature(OtherKey)?.Code);
        Assert.Equal(ReadingReasons.SignatureInvalid, ReadingCodec.DecodeAndVerify(Valid, OtherKey).Error?.Code);
    }

    [Fact]
    public void OneFlippedPayloadByteIsSignatureInvalid()
    {
        var tampered = (byte[])Valid.Clone();
        var wh = tampered.AsSpan().IndexOf(Convert.FromHexString("6277681904d2")); // "wh": 1234
        Assert.True(wh > 0);
        tampered[wh + 5] ^= 0x01; // 1234 -> 1235: still a perfectly formed reading

        var decoded = ReadingCodec.Decode(tampered);

        Assert.True(decoded.IsOk, decoded.ToString());
        Assert.Equal(1235UL, decoded.Value.Reading.EnergyWh);
        Assert.Equal(ReadingReasons.SignatureInvalid, decoded.Value.VerifySignature(MeterKey)?.Code);
    }

    [Theory]
    [InlineData(1)] // last byte of s
    [InlineData(33)] // first byte of s
    [InlineData(64)] // first byte of r
    public void OneFlippedSignatureByteIsSignatureInvalid(int fromEnd)
    {
        var tampered = (byte[])Valid.Clone();
        tampered[^fromEnd] ^= 0x80;

        Assert.Equal(ReadingReasons.SignatureInvalid, ReadingCodec.Decode(tampered).Value.VerifySignature(MeterKey)?.Code);
    }

    [Fact]
    public void AllZeroSignatureIsSignatureInvalid()
    {
        var zero = AssembleSign1(ProtectedEs256(), null, ReadingCodec.EncodePayload(Fixed), new byte[64]);

        Assert.Equal(ReadingReasons.SignatureInvalid, ReadingCodec.Decode(zero).Value.VerifySignature(MeterKey)?.Code);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(63)]
    [InlineData(65)]
    [InlineData(72)] // a DER-encoded signature is not ES256 either
    public void SignatureOfTheWrongLengthIsRefused(int length)
    {
        var odd = AssembleSign1(ProtectedEs256(), null, ReadingCodec.EncodePayload(Fixed), new byte[length]);

        var decoded = ReadingCodec.Decode(odd);
        var code = decoded.IsOk ? decoded.Value.VerifySignature(MeterKey)?.Code : decoded.Error.Code;

        Assert.Contains(code, new[] { ReadingReasons.SignatureInvalid, ReadingReasons.CoseMalformed });
    }

    [Fact]
    public void DerSignatureFromAnAsn1OnlySignerIsSignatureInvalid()
    {
        // Firmware that forgets COSE's r‖s form and sends DER must be told its signatures are invalid.
        var protectedHeader = ProtectedEs256();
        var payload = ReadingCodec.EncodePayload(Fixed);
        var der = MeterKey.SignData(SigStructure(protectedHeader, payload), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);

        var decoded = ReadingCodec.Decode(AssembleSign1(protectedHeader, null, payload, der));

        Assert.True(decoded.IsOk, decoded.ToString());
        Assert.Equal(ReadingReasons.SignatureInvalid, decoded.Value.VerifySignature(MeterKey)?.Code);
    }

    [Fact]
    public void P384KeyIsKeyInvalidAndDoesNotThrow()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);

        var outcome = ReadingCodec.Decode(Valid).Value.VerifySignature(p384);

        Assert.Equal(ReadingReasons.KeyInvalid, outcome?.Code);
    }

    [Fact]
    public void P521KeyIsKeyInvalidAndDoesNotThrow()
    {
        using var p521 = ECDsa.Create(ECCurve.NamedCurves.nistP521);

        Assert.Equal(ReadingReasons.KeyInvalid, ReadingCodec.Decode(Valid).Value.VerifySignature(p521)?.Code);
        Assert.Equal(ReadingReasons.KeyInvalid, ReadingCodec.DecodeAndVerify(Valid, p521).Error?.Code);
    }

    [Fact]
    public void NullKeyThrowsArgumentNull()
    {
        Assert.Throws<ArgumentNullException>(() => ReadingCodec.Decode(Valid).Value.VerifySignature(null!));
    }
}
