using System.Security.Cryptography;
using System.Security.Cryptography.Cose;
using FsCheck;
using FsCheck.Xunit;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Readings;
using GreenTrace.Core.Tests.Readings;
using static GreenTrace.Core.Tests.Ledger.LedgerFixtures;

namespace GreenTrace.Core.Tests.Ledger;

public class LedgerEntryCodecTests
{
    private static readonly byte[] DeviceEntry = LedgerEntryCodec.SignDeviceRegistered(Device(), IssuerA, IssuerAKey, Hour - 86400);
    private static readonly byte[] CertificateEntry = LedgerEntryCodec.SignCertificateIssued(Certificate(), IssuerA, IssuerAKey);

    private static string? CodeOf(byte[] encoded)
    {
        var result = LedgerEntryCodec.Decode(encoded);
        return result.IsOk ? null : result.Error.Code;
    }

    [Fact]
    public void DeviceRegisteredRoundTripsEveryField()
    {
        var device = new DeviceInfo("wind.park-9", ReadingFixtures.OtherKey.ExportSubjectPublicKeyInfo(), EnergyDirection.Consumption,
            "wind", "onshore", 3_600_000_000, "AT", "AT", -33_868_800, -151_209_300);
        var encoded = LedgerEntryCodec.SignDeviceRegistered(device, IssuerA, IssuerAKey, 1_690_000_000);

        var entry = DecodeEntry(encoded);

        Assert.Equal(EntryKind.DeviceRegistered, entry.Kind);
        Assert.Equal(IssuerA, entry.AuthorId);
        Assert.Equal(1_690_000_000, entry.AuthoredAt);
        Assert.Null(entry.Certificate);
        Assert.NotNull(entry.Device);
        Assert.Equal(device, entry.Device);
        Assert.Equal(device.PublicKey, entry.Device.PublicKey);
        Assert.Equal(EnergyDirection.Consumption, entry.Device.Direction);
        Assert.Equal(-33_868_800, entry.Device.LatitudeMicrodegrees);
        Assert.Equal(-151_209_300, entry.Device.LongitudeMicrodegrees);
        Assert.Equal(3_600_000_000, entry.Device.CapacityW);
        Assert.Equal(encoded, entry.Encoded.ToArray());
        Assert.Equal(SHA256.HashData(encoded), entry.Id);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(encoded)), entry.IdHex);
        Assert.True(entry.VerifySignature(IssuerAKey));
        Assert.False(entry.VerifySignature(IssuerBKey));
    }

    [Fact]
    public void CertificateIssuedRoundTripsEveryField()
    {
        var certificate = Certificate() with
        {
            FaceValueWh = ulong.MaxValue,
            Quality = new(int.MaxValue, 0, ulong.MaxValue, 0),
            IssuedAt = -1,
            ExpiresAt = long.MaxValue,
            ReadingCount = int.MaxValue,
        };
        var encoded = LedgerEntryCodec.SignCertificateIssued(certificate, IssuerA, IssuerAKey);

        var entry = DecodeEntry(encoded);

        Assert.Equal(EntryKind.CertificateIssued, entry.Kind);
        Assert.Equal(IssuerA, entry.AuthorId);
        Assert.Equal(certificate.IssuedAt, entry.AuthoredAt);
        Assert.Null(entry.Device);
        Assert.NotNull(entry.Certificate);
        Assert.Equal(certificate, entry.Certificate);
        Assert.Equal(certificate.Id, entry.Certificate.Id);
        Assert.Equal(certificate.ReadingRoot, entry.Certificate.ReadingRoot);
        Assert.Equal(certificate.Quality, entry.Certificate.Quality);
        Assert.Equal(SHA256.HashData(encoded), entry.Id);
        Assert.True(entry.VerifySignature(IssuerAKey));
    }

    [Fact]
    public void EntryIsATaggedEs256Sign1WithContentTypeAndAuthorKid()
    {
        Assert.Equal(0xD2, DeviceEntry[0]);
        var message = CoseMessage.DecodeSign1(DeviceEntry);

        Assert.Equal(-7, message.ProtectedHeaders[CoseHeaderLabel.Algorithm].GetValueAsInt32());
        Assert.Equal(LedgerEntryCodec.ContentType, message.ProtectedHeaders[CoseHeaderLabel.ContentType].GetValueAsString());
        Assert.Equal("issuer-a"u8.ToArray(), message.ProtectedHeaders[CoseHeaderLabel.KeyIdentifier].GetValueAsBytes());
        Assert.Empty(message.UnprotectedHeaders);
    }

    [Fact]
    public void PayloadIsTheDocumentedDeterministicMap()
    {
        // The test-side writer produces exactly the codec's payload; the malformed-entry tests below rely on that.
        Assert.Equal(DevicePayload(Device(), Hour - 86400), CoseMessage.DecodeSign1(DeviceEntry).Content!.Value.ToArray());
        Assert.Equal(CertificatePayload(Certificate()), CoseMessage.DecodeSign1(CertificateEntry).Content!.Value.ToArray());
    }

    [Fact]
    public void HandBuiltEntriesDecode()
    {
        Assert.Null(CodeOf(SignEntryPayload(DevicePayload(Device(), 5), IssuerA, IssuerAKey)));
        Assert.Null(CodeOf(SignEntryPayload(CertificatePayload(Certificate()), IssuerA, IssuerAKey)));
    }

    [Fact]
    public void IdsDifferBetweenTwoSigningsOfTheSameEntry()
    {
        // ECDSA is randomized, so the entry id (hash of the bytes) identifies a submission, not its content.
        var again = LedgerEntryCodec.SignDeviceRegistered(Device(), IssuerA, IssuerAKey, Hour - 86400);

        Assert.NotEqual(DecodeEntry(DeviceEntry).Id, DecodeEntry(again).Id);
        Assert.Equal(DecodeEntry(DeviceEntry).Device, DecodeEntry(again).Device);
    }

    // ---- malformed ----

    [Theory]
    [InlineData("")]
    [InlineData("00")]
    [InlineData("d2")]
    [InlineData("d280")]
    [InlineData("68656c6c6f")]
    [InlineData("d28443a10126a0f640")] // payload nil
    public void GarbageIsEntryMalformed(string hex)
    {
        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(Convert.FromHexString(hex)));
    }

    [Fact]
    public void UntaggedEntryIsEntryMalformed()
    {
        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(DeviceEntry[1..]));
        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(CertificateEntry[1..]));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(70)]
    public void TruncatedEntryIsEntryMalformed(int dropped)
    {
        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(CertificateEntry[..^dropped]));
    }

    [Fact]
    public void StructurallyTamperedEntryIsEntryMalformed()
    {
        // "meter" -> "meteR": a key the body does not know, and out of canonical order too.
        var tampered = (byte[])DeviceEntry.Clone();
        var at = tampered.AsSpan().IndexOf("meter"u8);
        tampered[at + 4] = (byte)'R';

        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(tampered));
    }

    [Fact]
    public void AReadingIsNotAnEntry()
    {
        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(ReadingCodec.Sign(ReadingFixtures.Fixed, ReadingFixtures.MeterKey)));
    }

    [Fact]
    public void HeaderLabelBeyondInt32IsEntryMalformedNotAnException()
    {
        var message = ReadingFixtures.HandBuiltSign1(ReadingFixtures.ProtectedEs256(), RawCbor.FromHex("a11a8000000001"), DevicePayload(Device(), 5), IssuerAKey);

        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(message));
    }

    [Theory]
    [InlineData("application/cbor")]
    [InlineData("application/greentrace-entry+json")]
    [InlineData("")]
    public void WrongContentTypeIsEntryMalformed(string contentType)
    {
        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(SignEntryPayload(DevicePayload(Device(), 5), IssuerA, IssuerAKey, contentType)));
    }

    [Fact]
    public void MissingHeadersAreEntryMalformed()
    {
        var payload = DevicePayload(Device(), 5);
        var noContentType = CoseSign1Message.SignEmbedded(payload, new CoseSigner(IssuerAKey, HashAlgorithmName.SHA256, ReadingFixtures.Headers(
            (CoseHeaderLabel.Algorithm, ReadingFixtures.Es256), (CoseHeaderLabel.KeyIdentifier, ReadingFixtures.Kid(IssuerA)))));
        var noKid = CoseSign1Message.SignEmbedded(payload, new CoseSigner(IssuerAKey, HashAlgorithmName.SHA256, ReadingFixtures.Headers(
            (CoseHeaderLabel.Algorithm, ReadingFixtures.Es256), (CoseHeaderLabel.ContentType, CoseHeaderValue.FromString(LedgerEntryCodec.ContentType)))));
        var contentTypeAsNumber = CoseSign1Message.SignEmbedded(payload, new CoseSigner(IssuerAKey, HashAlgorithmName.SHA256, ReadingFixtures.Headers(
            (CoseHeaderLabel.Algorithm, ReadingFixtures.Es256), (CoseHeaderLabel.ContentType, CoseHeaderValue.FromInt32(60)), (CoseHeaderLabel.KeyIdentifier, ReadingFixtures.Kid(IssuerA)))));

        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(noContentType));
        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(noKid));
        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(contentTypeAsNumber));
    }

    [Fact]
    public void Es384EntryIsEntryMalformed()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var es384 = CoseSign1Message.SignEmbedded(DevicePayload(Device(), 5), new CoseSigner(p384, HashAlgorithmName.SHA384, ReadingFixtures.Headers(
            (CoseHeaderLabel.ContentType, CoseHeaderValue.FromString(LedgerEntryCodec.ContentType)), (CoseHeaderLabel.KeyIdentifier, ReadingFixtures.Kid(IssuerA)))));

        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(es384));
    }

    [Fact]
    public void DetachedPayloadIsEntryMalformed()
    {
        var detached = CoseSign1Message.SignDetached(DevicePayload(Device(), 5), new CoseSigner(IssuerAKey, HashAlgorithmName.SHA256, ReadingFixtures.Headers(
            (CoseHeaderLabel.Algorithm, ReadingFixtures.Es256), (CoseHeaderLabel.ContentType, CoseHeaderValue.FromString(LedgerEntryCodec.ContentType)), (CoseHeaderLabel.KeyIdentifier, ReadingFixtures.Kid(IssuerA)))));

        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(detached));
    }

    [Fact]
    public void UnknownKeyInTheDeviceBodyIsRefused()
    {
        var payload = DevicePayload(Device(), 5, body => [.. body, new("owner", "someone")]);

        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(SignEntryPayload(payload, IssuerA, IssuerAKey)));
    }

    [Fact]
    public void UnknownKeyInTheCertificateBodyIsRefused()
    {
        var payload = CertificatePayload(Certificate(), body => [.. body, new("owner", "someone")]);

        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(SignEntryPayload(payload, IssuerA, IssuerAKey)));
    }

    [Fact]
    public void UnknownKeyInTheQualitySummaryIsRefused()
    {
        var payload = CertificatePayload(Certificate(), body => body.Select(e => (string)e.Key == "quality"
            ? new KeyValuePair<object, object?>("quality", ReadingFixtures.Map(("measured", 3), ("estimated", 1), ("measuredWh", 3800), ("estimatedWh", 1200), ("missingWh", 0)).Sorted())
            : e).ToList());

        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(SignEntryPayload(payload, IssuerA, IssuerAKey)));
    }

    [Fact]
    public void UnknownTopLevelKeyIsRefused()
    {
        var fields = EntryFields("DeviceRegistered", 5, new TestMap(DeviceBody(Device())).Sorted());
        fields.Add(new("note", "hi"));

        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(SignEntryPayload(TestCbor.CanonicalMap(fields), IssuerA, IssuerAKey)));
    }

    public static TheoryData<string> DeviceBodyKeys => ["meter", "publicKey", "direction", "source", "technology", "capacityW", "zone", "country", "latE6", "lonE6"];

    [Theory]
    [MemberData(nameof(DeviceBodyKeys))]
    public void MissingDeviceKeyIsRefused(string key)
    {
        var payload = DevicePayload(Device(), 5, body => body.Where(e => (string)e.Key != key).ToList());

        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(SignEntryPayload(payload, IssuerA, IssuerAKey)));
    }

    public static TheoryData<string> CertificateBodyKeys =>
        ["id", "meter", "periodStart", "periodEnd", "part", "wh", "carrier", "source", "technology", "zone", "country", "issuingBody", "issuedAt", "expiresAt", "readingCount", "readingRoot", "quality"];

    [Theory]
    [MemberData(nameof(CertificateBodyKeys))]
    public void MissingCertificateKeyIsRefused(string key)
    {
        var payload = CertificatePayload(Certificate(), body => body.Where(e => (string)e.Key != key).ToList());

        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(SignEntryPayload(payload, IssuerA, IssuerAKey)));
    }

    [Theory]
    [InlineData("id", "short")]
    [InlineData("readingRoot", "short")]
    [InlineData("wh", "negative")]
    [InlineData("part", "huge")]
    [InlineData("readingCount", "text")]
    [InlineData("meter", "bytes")]
    [InlineData("quality", "text")]
    public void CertificateFieldOfTheWrongShapeIsRefused(string key, string kind)
    {
        object? value = kind switch
        {
            "short" => new byte[31],
            "negative" => -1,
            "huge" => long.MaxValue,
            "text" => "4",
            "bytes" => "meter-01"u8.ToArray(),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        var payload = CertificatePayload(Certificate(), body => body.Select(e => (string)e.Key == key ? new KeyValuePair<object, object?>(key, value) : e).ToList());

        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(SignEntryPayload(payload, IssuerA, IssuerAKey)));
    }

    [Theory]
    [InlineData("direction", "sideways")]
    [InlineData("meter", "meter/01")]
    [InlineData("meter", "")]
    public void DeviceFieldWithABadValueIsRefused(string key, string value)
    {
        var payload = DevicePayload(Device(), 5, body => body.Select(e => (string)e.Key == key ? new KeyValuePair<object, object?>(key, value) : e).ToList());

        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(SignEntryPayload(payload, IssuerA, IssuerAKey)));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(0)]
    public void OtherVersionIsRefused(int version)
    {
        var fields = EntryFields("DeviceRegistered", 5, new TestMap(DeviceBody(Device())).Sorted());
        fields[0] = new("v", version);

        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(SignEntryPayload(TestCbor.CanonicalMap(fields), IssuerA, IssuerAKey)));
    }

    [Theory]
    [InlineData("Transferred")]
    [InlineData("deviceregistered")]
    [InlineData("")]
    public void UnknownTypeIsRefused(string type)
    {
        var fields = EntryFields(type, 5, new TestMap(DeviceBody(Device())).Sorted());

        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(SignEntryPayload(TestCbor.CanonicalMap(fields), IssuerA, IssuerAKey)));
    }

    [Fact]
    public void CertificateBodyUnderTheDeviceTypeIsRefused()
    {
        var fields = EntryFields("DeviceRegistered", 5, new TestMap(CertificateBody(Certificate())).Sorted());

        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(SignEntryPayload(TestCbor.CanonicalMap(fields), IssuerA, IssuerAKey)));
    }

    [Fact]
    public void NonCanonicalPayloadIsRefused()
    {
        var unsortedTop = TestCbor.Encode(new TestMap(EntryFields("DeviceRegistered", 5, new TestMap(DeviceBody(Device())).Sorted())));
        var unsortedBody = TestCbor.CanonicalMap(EntryFields("DeviceRegistered", 5, new TestMap(DeviceBody(Device()))));
        var nonMinimalAt = TestCbor.CanonicalMap(EntryFields("DeviceRegistered", 5, new TestMap(DeviceBody(Device())).Sorted())
            .Select(e => (string)e.Key == "at" ? new KeyValuePair<object, object?>("at", RawCbor.FromHex("1805")) : e));

        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(SignEntryPayload(unsortedTop, IssuerA, IssuerAKey)));
        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(SignEntryPayload(unsortedBody, IssuerA, IssuerAKey)));
        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(SignEntryPayload(nonMinimalAt, IssuerA, IssuerAKey)));
    }

    [Theory]
    [InlineData("ff")]
    [InlineData("80")]
    [InlineData("a0")]
    [InlineData("a1617601ff")] // trailing bytes
    [InlineData("a464626f6479ba7fffffff")] // "body" claims 2^31-1 entries
    public void PayloadThatIsNotAnEntryMapIsRefused(string hex)
    {
        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(SignEntryPayload(Convert.FromHexString(hex), IssuerA, IssuerAKey)));
    }

    [Fact]
    public void KidThatIsNotUtf8IsRefused()
    {
        var payload = DevicePayload(Device(), 5);
        var message = CoseSign1Message.SignEmbedded(payload, new CoseSigner(IssuerAKey, HashAlgorithmName.SHA256, ReadingFixtures.Headers(
            (CoseHeaderLabel.Algorithm, ReadingFixtures.Es256), (CoseHeaderLabel.ContentType, CoseHeaderValue.FromString(LedgerEntryCodec.ContentType)), (CoseHeaderLabel.KeyIdentifier, CoseHeaderValue.FromBytes([0xC3, 0x28])))));

        Assert.Equal(LedgerReasons.EntryMalformed, CodeOf(message));
    }

    [Property(MaxTest = 500)]
    public void RandomBytesNeverThrow(byte[] bytes)
    {
        _ = LedgerEntryCodec.Decode(bytes);
        _ = LedgerEntryCodec.Decode((byte[])[0xD2, 0x84, .. bytes]);
    }

    [Property(MaxTest = 500)]
    public bool AnySingleByteCorruptionIsMalformedOrFailsTheSignature(NonNegativeInt position, byte mask)
    {
        var corrupted = (byte[])CertificateEntry.Clone();
        corrupted[position.Get % corrupted.Length] ^= mask == 0 ? (byte)0x01 : mask;

        var decoded = LedgerEntryCodec.Decode(corrupted);
        return !decoded.IsOk || !decoded.Value.VerifySignature(IssuerAKey);
    }
}
