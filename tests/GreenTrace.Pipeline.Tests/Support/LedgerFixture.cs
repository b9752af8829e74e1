using System.Security.Cryptography;
using GreenTrace.Core.Certificates;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Ledger;

namespace GreenTrace.Pipeline.Tests.Support;

/// <summary>A one-node consortium with one issuer for <see cref="TestMeter.Zone"/>: the keys a ledger node and a verifier need.</summary>
public sealed class LedgerFixture : IDisposable
{
    public const string Origin = "greentrace.test/ledger";
    public const string IssuerId = "issuer-de";
    public const long RegisteredAt = 1_748_736_000; // 2025-06-01T00:00:00Z

    public LedgerFixture()
    {
        IssuerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        OtherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Node = NoteSigner.Generate("node-1.greentrace.test");
        Membership = new Membership(
            Origin,
            1,
            [new NodeMember(Node.Name, Node.Verifier.VerifierKey)],
            [new IssuerMember(IssuerId, IssuerKey.ExportSubjectPublicKeyInfo(), [TestMeter.Zone])]);
        Trust = new TrustedKeys(Membership);
    }

    public ECDsa IssuerKey { get; }

    /// <summary>A key no member holds.</summary>
    public ECDsa OtherKey { get; }

    public NoteSigner Node { get; }

    public Membership Membership { get; }

    public TrustedKeys Trust { get; }

    public byte[] Registration(DeviceInfo device) => LedgerEntryCodec.SignDeviceRegistered(device, IssuerId, IssuerKey, RegisteredAt);

    public byte[] CertificateEntry(GranularCertificate certificate) => LedgerEntryCodec.SignCertificateIssued(certificate, IssuerId, IssuerKey);

    /// <summary>A certificate over the given signed readings of one meter and hour, as the aggregator issues it.</summary>
    public static CertificateWithReadings Issue(TestMeter meter, IEnumerable<byte[]> readings, int part = 0, long issuedAt = RegisteredAt + 86_400)
    {
        var decoded = readings.Select(TestMeter.Decode).ToList();
        var issued = HourlyAggregation.Issue(meter.Device, decoded, part, new IssuanceTerms(IssuerId, issuedAt, IssuanceTerms.DefaultValiditySeconds));
        Assert.True(issued.IsOk, issued.ToString());
        return issued.Value;
    }

    /// <summary>Four consecutive 15-minute readings filling the hour starting at <paramref name="hourStart"/>.</summary>
    public static List<byte[]> HourOfReadings(TestMeter meter, long hourStart, ulong firstSequence = 1, ulong wh = 250)
    {
        var series = new ReadingSeries(meter, hourStart, firstSequence);
        return Enumerable.Range(0, 4).Select(_ => series.Next(wh).Encoded).ToList();
    }

    public void Dispose()
    {
        Trust.Dispose();
        Node.Dispose();
        IssuerKey.Dispose();
        OtherKey.Dispose();
    }
}
