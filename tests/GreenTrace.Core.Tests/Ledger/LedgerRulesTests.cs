using System.Security.Cryptography;
using GreenTrace.Core.Certificates;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Readings;
using GreenTrace.Core.Tests.Readings;
using static GreenTrace.Core.Tests.Ledger.LedgerFixtures;

namespace GreenTrace.Core.Tests.Ledger;

public sealed class LedgerRulesTests : IDisposable
{
    private readonly TrustedKeys _trust = new(Consortium());

    public void Dispose() => _trust.Dispose();

    private static string? Check(byte[] encoded, InMemoryLedger ledger) => ledger.Check(encoded);

    private string? Register(DeviceInfo device, InMemoryLedger? ledger = null, string issuer = IssuerA, ECDsa? key = null) =>
        Check(LedgerEntryCodec.SignDeviceRegistered(device, issuer, key ?? IssuerAKey, Hour - 86400), ledger ?? new InMemoryLedger());

    /// <summary>Issues against a ledger where meter-01 is registered (unless another ledger is given).</summary>
    private string? Issue(GranularCertificate certificate, InMemoryLedger? ledger = null, string issuer = IssuerA, ECDsa? key = null) =>
        Check(LedgerEntryCodec.SignCertificateIssued(certificate, issuer, key ?? IssuerAKey), ledger ?? new InMemoryLedger().Register(Device()));

    // ---- happy paths ----

    [Fact]
    public void IssuerRegistersAMeterInItsZone()
    {
        Assert.Null(Register(Device()));
        Assert.Null(Register(Device(zone: "AT")));
        Assert.Null(Register(Device("fr-meter", zone: "FR"), issuer: IssuerB, key: IssuerBKey));
    }

    [Fact]
    public void IssuerIssuesACertificateForARegisteredMeter()
    {
        Assert.Null(Issue(Certificate()));
    }

    [Fact]
    public void CertificateFromHourlyAggregationPassesTheRules()
    {
        DecodedReading[] readings = [.. Enumerable.Range(0, 4).Select(i => ReadingFixtures.Decoded(ReadingFixtures.At(Hour + (i * 900), (ulong)i + 1, wh: 2500)))];
        var issued = HourlyAggregation.Issue(Device(), readings, 0, new IssuanceTerms(IssuerA, Hour + 3700, IssuanceTerms.DefaultValiditySeconds));
        Assert.True(issued.IsOk, issued.ToString());

        Assert.Null(Issue(issued.Value.Certificate));
    }

    [Fact]
    public void FaceValueExactlyAtCapacityPasses()
    {
        // 10 kW for one hour is 10 000 Wh; for half an hour 5 000 Wh.
        Assert.Null(Issue(Certificate() with { FaceValueWh = 10_000, Quality = new(4, 0, 10_000, 0) }));
        Assert.Null(Issue(Rederived(Certificate() with { PeriodEnd = Hour + 1800, ExpiresAt = Hour + 1800 + IssuanceTerms.DefaultValiditySeconds, FaceValueWh = 5_000, Quality = new(4, 0, 5_000, 0) })));
    }

    [Fact]
    public void SupplementaryPartOfAnIssuedHourPasses()
    {
        var ledger = new InMemoryLedger().Register(Device()).Issued(Certificate());

        Assert.Null(Issue(Certificate(part: 1), ledger));
    }

    [Fact]
    public void AnotherIssuerMayIssueForAMeterInAZoneItAlsoHolds()
    {
        // Trust is per zone, not per registering issuer.
        using var trust = new TrustedKeys(Consortium() with
        {
            Issuers = [.. Consortium().Issuers, new IssuerMember("issuer-c", ReadingFixtures.OtherKey.ExportSubjectPublicKeyInfo(), ["DE-LU"])],
        });
        var entry = DecodeEntry(LedgerEntryCodec.SignCertificateIssued(Certificate() with { IssuingBody = "issuer-c" }, "issuer-c", ReadingFixtures.OtherKey));

        using var ledger = new InMemoryLedger(trust.Membership).Register(Device());
        Assert.Null(ledger.State.TryApply(entry));
    }

    // ---- who may write ----

    [Fact]
    public void UnknownAuthorIsIssuerUnknown()
    {
        Assert.Equal(LedgerReasons.IssuerUnknown, Register(Device(), issuer: "issuer-z", key: RogueKey));
        Assert.Equal(LedgerReasons.IssuerUnknown, Issue(Certificate() with { IssuingBody = "issuer-z" }, issuer: "issuer-z", key: RogueKey));
        Assert.Equal(LedgerReasons.IssuerUnknown, Register(Device(), issuer: "ISSUER-A")); // ids compare ordinally
        Assert.Equal(LedgerReasons.IssuerUnknown, Register(Device(), issuer: "node-1")); // a ledger node is not an issuer
    }

    [Fact]
    public void AnotherKeyClaimingTheIssuerIsEntrySignature()
    {
        Assert.Equal(LedgerReasons.EntrySignature, Register(Device(), issuer: IssuerA, key: RogueKey));
        Assert.Equal(LedgerReasons.EntrySignature, Issue(Certificate(), issuer: IssuerA, key: IssuerBKey));
    }

    [Fact]
    public void ValueTamperedAfterSigningIsEntrySignature()
    {
        var encoded = LedgerEntryCodec.SignDeviceRegistered(Device(), IssuerA, IssuerAKey, Hour);
        var at = encoded.AsSpan().IndexOf("DE-LU"u8);
        encoded[at + 4] = (byte)'X'; // zone "DE-LX": still a well-formed entry

        var entry = DecodeEntry(encoded);

        Assert.Equal("DE-LX", entry.Device?.GridZone);
        Assert.Equal(LedgerReasons.EntrySignature, new InMemoryLedger().State.TryApply(entry)?.Code);
    }

    [Fact]
    public void RegisteringOutsideTheIssuersZonesIsIssuerZone()
    {
        Assert.Equal(LedgerReasons.IssuerZone, Register(Device(zone: "FR")));
        Assert.Equal(LedgerReasons.IssuerZone, Register(Device(zone: "de-lu"))); // zones compare ordinally
        Assert.Equal(LedgerReasons.IssuerZone, Register(Device(), issuer: IssuerB, key: IssuerBKey));
    }

    [Fact]
    public void IssuingOutsideTheIssuersZonesIsIssuerZone()
    {
        // A French meter registered by issuer-b; issuer-a has no say in FR.
        var frMeter = Device("fr-meter", zone: "FR");
        var ledger = new InMemoryLedger().Register(frMeter);
        var certificate = Rederived(Certificate("fr-meter") with { GridZone = "FR" });

        Assert.Equal(LedgerReasons.IssuerZone, Issue(certificate, ledger));
        Assert.Null(Issue(certificate with { IssuingBody = IssuerB }, ledger, IssuerB, IssuerBKey));
    }

    // ---- registrations ----

    [Fact]
    public void SecondRegistrationOfAMeterIsDeviceDuplicate()
    {
        var ledger = new InMemoryLedger().Register(Device());

        Assert.Equal(LedgerReasons.DeviceDuplicate, Register(Device(), ledger));
        Assert.Equal(LedgerReasons.DeviceDuplicate, Register(Device(key: ReadingFixtures.OtherKey), ledger)); // a new key does not make it a new meter
    }

    public static TheoryData<string> BadKeys => ["empty", "garbage", "p384", "p521", "trailing", "private"];

    [Theory]
    [MemberData(nameof(BadKeys))]
    public void RegistrationWithoutAValidP256KeyIsDeviceKeyInvalid(string kind)
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var p521 = ECDsa.Create(ECCurve.NamedCurves.nistP521);
        var key = kind switch
        {
            "empty" => [],
            "garbage" => RandomNumberGenerator.GetBytes(91),
            "p384" => p384.ExportSubjectPublicKeyInfo(),
            "p521" => p521.ExportSubjectPublicKeyInfo(),
            "trailing" => [.. ReadingFixtures.MeterKey.ExportSubjectPublicKeyInfo(), 0x00],
            "private" => ReadingFixtures.MeterKey.ExportPkcs8PrivateKey(),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        Assert.Equal(LedgerReasons.DeviceKeyInvalid, Register(Device() with { PublicKey = key }));
    }

    [Fact]
    public void RsaKeyIsDeviceKeyInvalid()
    {
        using var rsa = RSA.Create(2048);

        Assert.Equal(LedgerReasons.DeviceKeyInvalid, Register(Device() with { PublicKey = rsa.ExportSubjectPublicKeyInfo() }));
    }

    [Theory]
    [InlineData(0L, "solar", "DE")]
    [InlineData(-1L, "solar", "DE")]
    [InlineData(10_000L, "", "DE")]
    [InlineData(10_000L, "solar", "")]
    public void RegistrationWithoutCapacitySourceOrCountryIsDeviceInvalid(long capacityW, string source, string country)
    {
        Assert.Equal(LedgerReasons.DeviceInvalid, Register(Device() with { CapacityW = capacityW, EnergySource = source, Country = country }));
    }

    // ---- certificates ----

    [Fact]
    public void CertificateForAnUnregisteredMeterIsDeviceUnknown()
    {
        Assert.Equal(LedgerReasons.DeviceUnknown, Issue(Certificate(), new InMemoryLedger()));
        Assert.Equal(LedgerReasons.DeviceUnknown, Issue(Certificate("meter-02"), new InMemoryLedger().Register(Device())));
    }

    [Fact]
    public void IdNotDerivedFromMeterPeriodAndPartIsCertificateId()
    {
        Assert.Equal(LedgerReasons.CertificateId, Issue(Certificate() with { Id = SHA256.HashData("anything"u8) }));
        Assert.Equal(LedgerReasons.CertificateId, Issue(Certificate() with { Part = 1 })); // id still of part 0
        Assert.Equal(LedgerReasons.CertificateId, Issue(Certificate() with { PeriodStart = Hour + 1800 }));
        Assert.Equal(LedgerReasons.CertificateId, Issue(Certificate() with { Id = CertificateId.Compute("meter-02", Hour, Hour + 3600, 0) }));
    }

    [Theory]
    [InlineData(1800L, 5400L, 0)] // misaligned: starts on the half hour
    [InlineData(0L, 7200L, 0)] // two hours
    [InlineData(0L, 0L, 0)] // empty
    [InlineData(3600L, 0L, 0)] // backwards
    [InlineData(0L, 3600L, -1)] // negative part
    public void PeriodThatIsNotOneAlignedHourAtMostIsCertificatePeriod(long startOffset, long endOffset, int part)
    {
        var certificate = Rederived(Certificate() with { PeriodStart = Hour + startOffset, PeriodEnd = Hour + endOffset, Part = part });

        Assert.Equal(LedgerReasons.CertificatePeriod, Issue(certificate));
    }

    [Fact]
    public void ExpiryNotAfterThePeriodIsCertificatePeriod()
    {
        Assert.Equal(LedgerReasons.CertificatePeriod, Issue(Certificate() with { ExpiresAt = Hour + 3600 }));
        Assert.Equal(LedgerReasons.CertificatePeriod, Issue(Certificate() with { ExpiresAt = Hour }));
    }

    [Fact]
    public void IssuingBeforeTheHourEndsIsCertificatePeriod()
    {
        Assert.Equal(LedgerReasons.CertificatePeriod, Issue(Certificate() with { IssuedAt = Hour + 3599 }));
        Assert.Null(Issue(Certificate() with { IssuedAt = Hour + 3600 }));
    }

    [Fact]
    public void CertificateForAConsumptionMeterIsCertificateAttributes()
    {
        var consumer = Device() with { Direction = EnergyDirection.Consumption };
        Assert.Equal(LedgerReasons.CertificateAttributes, Issue(Certificate(), new InMemoryLedger().Register(consumer)));
    }

    [Theory]
    [InlineData(90_000_001, 0)]
    [InlineData(-90_000_001, 0)]
    [InlineData(0, 180_000_001)]
    [InlineData(0, -180_000_001)]
    public void LocationOffTheGlobeIsDeviceInvalid(int lat, int lon)
    {
        Assert.Equal(LedgerReasons.DeviceInvalid, Register(Device() with { LatitudeMicrodegrees = lat, LongitudeMicrodegrees = lon }));
    }

    [Fact]
    public void RegistrationWithoutTechnologyIsDeviceInvalid()
    {
        Assert.Equal(LedgerReasons.DeviceInvalid, Register(Device() with { Technology = "" }));
    }

    [Fact]
    public void IssuingBodyOtherThanTheSignerIsCertificateAttributes()
    {
        Assert.Equal(LedgerReasons.CertificateAttributes, Issue(Certificate() with { IssuingBody = IssuerB }));
        Assert.Equal(LedgerReasons.CertificateAttributes, Issue(Certificate() with { IssuingBody = "Issuer-A" }));
    }

    public static TheoryData<string> Attributes => ["zone", "source", "technology", "country", "carrier"];

    [Theory]
    [MemberData(nameof(Attributes))]
    public void AttributeDifferentFromTheRegisteredMeterIsCertificateAttributes(string attribute)
    {
        var certificate = attribute switch
        {
            // AT is one of issuer-a's zones, so only the difference from the meter's DE-LU is wrong.
            "zone" => Certificate() with { GridZone = "AT" },
            "source" => Certificate() with { EnergySource = "wind" },
            "technology" => Certificate() with { Technology = "thermal" },
            "country" => Certificate() with { Country = "LU" },
            "carrier" => Certificate() with { EnergyCarrier = "hydrogen" },
            _ => throw new ArgumentOutOfRangeException(nameof(attribute)),
        };

        Assert.Equal(LedgerReasons.CertificateAttributes, Issue(certificate));
    }

    [Theory]
    [InlineData(0, 0, 0)]
    [InlineData(4, 3, 0)] // summary counts 3, certificate 4
    [InlineData(4, 4, 1)] // summary counts 5
    [InlineData(-4, -4, 0)]
    public void ReadingCountAndQualitySummaryDisagreeingIsCertificateReadings(int readingCount, int measured, int estimated)
    {
        var certificate = Certificate() with { ReadingCount = readingCount, Quality = new(measured, estimated, 5000, 0) };

        Assert.Equal(LedgerReasons.CertificateReadings, Issue(certificate));
    }

    [Fact]
    public void NegativeQualityCountIsCertificateReadings()
    {
        // -1 measured and 5 estimated add up to 4 readings, but no summary counts a negative number of readings.
        Assert.Equal(LedgerReasons.CertificateReadings, Issue(Certificate() with { Quality = new(-1, 5, 3800, 1200) }));
        Assert.Equal(LedgerReasons.CertificateReadings, Issue(Certificate() with { Quality = new(5, -1, 3800, 1200) }));
    }

    [Fact]
    public void FaceValueBeyondCapacityIsCertificateFaceValue()
    {
        Assert.Equal(LedgerReasons.CertificateFaceValue, Issue(Certificate() with { FaceValueWh = 10_001, Quality = new(3, 1, 10_001, 0) }));
        Assert.Equal(LedgerReasons.CertificateFaceValue, Issue(Certificate() with { FaceValueWh = ulong.MaxValue, Quality = new(3, 1, ulong.MaxValue, 0) }));
        // Half an hour of 10 kW is at most 5 000 Wh.
        Assert.Equal(LedgerReasons.CertificateFaceValue, Issue(Rederived(Certificate() with { PeriodEnd = Hour + 1800, FaceValueWh = 5_001, Quality = new(4, 0, 5_001, 0) })));
    }

    [Theory]
    [InlineData(3800UL, 1199UL)]
    [InlineData(3801UL, 1200UL)]
    [InlineData(0UL, 0UL)]
    [InlineData(ulong.MaxValue, 5001UL)] // wraps to 5000 in 64-bit arithmetic
    public void QualityWhNotSummingToTheFaceValueIsCertificateFaceValue(ulong measuredWh, ulong estimatedWh)
    {
        Assert.Equal(LedgerReasons.CertificateFaceValue, Issue(Certificate() with { Quality = new(3, 1, measuredWh, estimatedWh) }));
    }

    [Fact]
    public void SameCertificateTwiceIsCertificateDuplicate()
    {
        var ledger = new InMemoryLedger().Register(Device()).Issued(Certificate());

        Assert.Equal(LedgerReasons.CertificateDuplicate, Issue(Certificate(), ledger));
        // Another face value does not make it another certificate: the id is (meter, period, part).
        Assert.Equal(LedgerReasons.CertificateDuplicate, Issue(Certificate() with { FaceValueWh = 1, Quality = new(4, 0, 1, 0) }, ledger));
    }

    [Fact]
    public void RuleChecksDoNotDependOnAnythingButEntryTrustAndLedger()
    {
        // Same entry, same ledger, same verdict: what lets every node agree byte for byte.
        var entry = DecodeEntry(LedgerEntryCodec.SignCertificateIssued(Certificate() with { FaceValueWh = 10_001, Quality = new(3, 1, 10_001, 0) }, IssuerA, IssuerAKey));
        var first = new InMemoryLedger().Register(Device()).State.TryApply(entry);
        var second = new InMemoryLedger().Register(Device()).State.TryApply(entry);

        Assert.Equal(first, second);
        Assert.NotNull(first);
    }
}
