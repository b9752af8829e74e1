using System.Security.Cryptography;
using System.Security.Cryptography.Cose;
using GreenTrace.Core.Certificates;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Readings;
using GreenTrace.Core.Tests.Readings;

namespace GreenTrace.Core.Tests.Ledger;

/// <summary>
/// A small consortium: three ledger nodes (quorum 2), issuer-a for DE-LU and AT, issuer-b for
/// FR, and a rogue key nobody trusts. Keys are generated once: generation costs more than the tests.
/// </summary>
internal static class LedgerFixtures
{
    public const string Origin = "greentrace.test/ledger";
    public const string IssuerA = "issuer-a";
    public const string IssuerB = "issuer-b";
    public const long Hour = ReadingFixtures.Hour;

    public static readonly ECDsa IssuerAKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    public static readonly ECDsa IssuerBKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    public static readonly ECDsa RogueKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public static readonly NoteSigner Node1 = NoteSigner.Generate("node-1");
    public static readonly NoteSigner Node2 = NoteSigner.Generate("node-2");
    public static readonly NoteSigner Node3 = NoteSigner.Generate("node-3");

    // The nodes' ES256 governance keys: they sign membership changes.
    public static readonly ECDsa Node1Key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    public static readonly ECDsa Node2Key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    public static readonly ECDsa Node3Key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    // Owners of certificates (buyers, plant owners).
    public static readonly ECDsa Alice = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    public static readonly ECDsa Bob = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    public static readonly ECDsa Carol = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public static byte[] Spki(ECDsa key) => key.ExportSubjectPublicKeyInfo();

    public static Membership Consortium() => new(
        Origin,
        2,
        [new("node-1", Node1.Verifier.VerifierKey, Spki(Node1Key)), new("node-2", Node2.Verifier.VerifierKey, Spki(Node2Key)), new("node-3", Node3.Verifier.VerifierKey, Spki(Node3Key))],
        [new(IssuerA, IssuerAKey.ExportSubjectPublicKeyInfo(), ["DE-LU", "AT"]), new(IssuerB, IssuerBKey.ExportSubjectPublicKeyInfo(), ["FR"])]);

    /// <summary>A meter of issuer-a's zone DE-LU, 10 kW, with the shared meter key.</summary>
    public static DeviceInfo Device(string meter = ReadingFixtures.Meter, string zone = "DE-LU", ECDsa? key = null) =>
        ReadingFixtures.Device(meter, key, zone: zone);

    /// <summary>A well-formed certificate of meter-01 for <see cref="Hour"/>, 4 readings, 5000 Wh of the 10000 Wh the meter could make.</summary>
    public static GranularCertificate Certificate(string meter = ReadingFixtures.Meter, int part = 0) => new(
        Id: CertificateId.Compute(meter, Hour, Hour + 3600, part),
        MeterId: meter,
        PeriodStart: Hour,
        PeriodEnd: Hour + 3600,
        Part: part,
        FaceValueWh: 5000,
        EnergyCarrier: GranularCertificate.Electricity,
        EnergySource: "solar",
        Technology: "photovoltaic",
        GridZone: "DE-LU",
        Country: "DE",
        IssuingBody: IssuerA,
        IssuedAt: Hour + 3600 + 60,
        ExpiresAt: Hour + 3600 + IssuanceTerms.DefaultValiditySeconds,
        ReadingCount: 4,
        ReadingRoot: SHA256.HashData("four readings"u8),
        Quality: new QualitySummary(3, 1, 3800, 1200));

    /// <summary>The same certificate with its id derived again from (meter, period, part), so only the changed attribute is wrong.</summary>
    public static GranularCertificate Rederived(GranularCertificate c) =>
        c with { Id = CertificateId.Compute(c.MeterId, c.PeriodStart, c.PeriodEnd, c.Part) };

    public static LedgerEntry DecodeEntry(byte[] encoded)
    {
        var result = LedgerEntryCodec.Decode(encoded);
        Assert.True(result.IsOk, result.ToString());
        return result.Value;
    }

    /// <summary>An arbitrary payload in the ledger's envelope (ES256, content type, kid), signed by <paramref name="key"/>.</summary>
    public static byte[] SignEntryPayload(byte[] payload, string kid, ECDsa key, string contentType = LedgerEntryCodec.ContentType)
    {
        var headers = new CoseHeaderMap
        {
            [CoseHeaderLabel.Algorithm] = CoseHeaderValue.FromInt32(-7),
            [CoseHeaderLabel.ContentType] = CoseHeaderValue.FromString(contentType),
            [CoseHeaderLabel.KeyIdentifier] = CoseHeaderValue.FromBytes(System.Text.Encoding.UTF8.GetBytes(kid)),
        };
        return CoseSign1Message.SignEmbedded(payload, new CoseSigner(key, HashAlgorithmName.SHA256, headers));
    }

    /// <summary>The entry payload {v, type, at, body} with the caller's fields; canonical unless the caller says otherwise.</summary>
    public static List<KeyValuePair<object, object?>> EntryFields(string type, long at, TestMap body) =>
    [
        new("v", 1),
        new("type", type),
        new("at", at),
        new("body", body),
    ];

    public static List<KeyValuePair<object, object?>> DeviceBody(DeviceInfo d) =>
    [
        new("meter", d.MeterId),
        new("publicKey", d.PublicKey),
        new("direction", d.Direction == EnergyDirection.Generation ? "gen" : "con"),
        new("source", d.EnergySource),
        new("technology", d.Technology),
        new("capacityW", d.CapacityW),
        new("zone", d.GridZone),
        new("country", d.Country),
        new("latE6", d.LatitudeMicrodegrees),
        new("lonE6", d.LongitudeMicrodegrees),
    ];

    public static List<KeyValuePair<object, object?>> CertificateBody(GranularCertificate c) =>
    [
        new("id", c.Id),
        new("meter", c.MeterId),
        new("periodStart", c.PeriodStart),
        new("periodEnd", c.PeriodEnd),
        new("part", c.Part),
        new("wh", c.FaceValueWh),
        new("carrier", c.EnergyCarrier),
        new("source", c.EnergySource),
        new("technology", c.Technology),
        new("zone", c.GridZone),
        new("country", c.Country),
        new("issuingBody", c.IssuingBody),
        new("issuedAt", c.IssuedAt),
        new("expiresAt", c.ExpiresAt),
        new("readingCount", c.ReadingCount),
        new("readingRoot", c.ReadingRoot),
        new("quality", new TestMap(
        [
            new("measured", c.Quality.MeasuredCount),
            new("estimated", c.Quality.EstimatedCount),
            new("measuredWh", c.Quality.MeasuredWh),
            new("estimatedWh", c.Quality.EstimatedWh),
        ]).Sorted()),
    ];

    public static byte[] DevicePayload(DeviceInfo d, long at, Func<List<KeyValuePair<object, object?>>, List<KeyValuePair<object, object?>>>? editBody = null) =>
        TestCbor.CanonicalMap(EntryFields("DeviceRegistered", at, new TestMap((editBody ?? (b => b))(DeviceBody(d))).Sorted()));

    public static byte[] CertificatePayload(GranularCertificate c, Func<List<KeyValuePair<object, object?>>, List<KeyValuePair<object, object?>>>? editBody = null) =>
        TestCbor.CanonicalMap(EntryFields("CertificateIssued", c.IssuedAt, new TestMap((editBody ?? (b => b))(CertificateBody(c))).Sorted()));
}

/// <summary>A ledger state built from real, signed entries: what the rules see.</summary>
internal sealed class InMemoryLedger : IDisposable
{
    public InMemoryLedger(Membership? membership = null) => State = new LedgerState(membership ?? LedgerFixtures.Consortium());

    public LedgerState State { get; }

    /// <summary>Registers through the zone's issuer (issuer-b for FR, issuer-a otherwise); the registration must pass.</summary>
    public InMemoryLedger Register(DeviceInfo device, byte[]? owner = null)
    {
        var (issuer, key) = device.GridZone == "FR" ? (LedgerFixtures.IssuerB, LedgerFixtures.IssuerBKey) : (LedgerFixtures.IssuerA, LedgerFixtures.IssuerAKey);
        return Applied(LedgerEntryCodec.SignDeviceRegistered(device, issuer, key, LedgerFixtures.Hour - 86400, owner));
    }

    public InMemoryLedger Issued(GranularCertificate certificate) =>
        Applied(LedgerEntryCodec.SignCertificateIssued(certificate, LedgerFixtures.IssuerA, LedgerFixtures.IssuerAKey));

    public InMemoryLedger Applied(byte[] encoded)
    {
        var why = State.TryApply(LedgerFixtures.DecodeEntry(encoded));
        Assert.True(why is null, why?.ToString());
        return this;
    }

    /// <summary>Applies if every rule passes; the refusal code otherwise.</summary>
    public string? Check(byte[] encoded) => State.TryApply(LedgerFixtures.DecodeEntry(encoded))?.Code;

    public void Dispose() => State.Dispose();
}
