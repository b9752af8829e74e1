using System.Security.Cryptography;
using GreenTrace.Core.Certificates;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Ledger;
using GreenTrace.Ledger;
using GreenTrace.Ledger.Storage;
using GreenTrace.Pipeline.Tests.Support;

namespace GreenTrace.Pipeline.Tests.Ledger;

/// <summary>
/// Three ledger nodes with quorum 2 and one issuer for <see cref="TestMeter.Zone"/>, and an entry
/// stream of registrations followed by hourly certificates, as the aggregator would produce it.
/// </summary>
public sealed class Consortium : IDisposable
{
    public const string Origin = "greentrace.test/replicated";
    public const string IssuerId = "issuer-de";

    private readonly List<TestMeter> _meters = [];

    public Consortium()
    {
        IssuerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Nodes = [NoteSigner.Generate("node-1"), NoteSigner.Generate("node-2"), NoteSigner.Generate("node-3")];
        Membership = new Membership(
            Origin,
            2,
            Nodes.Select(n => new NodeMember(n.Name, n.Verifier.VerifierKey)).ToList(),
            [new IssuerMember(IssuerId, IssuerKey.ExportSubjectPublicKeyInfo(), [TestMeter.Zone])]);
        Trust = new TrustedKeys(Membership);
    }

    public ECDsa IssuerKey { get; }

    public IReadOnlyList<NoteSigner> Nodes { get; }

    public Membership Membership { get; }

    public TrustedKeys Trust { get; }

    public byte[] Registration(TestMeter meter) => LedgerEntryCodec.SignDeviceRegistered(meter.Device, IssuerId, IssuerKey, LedgerFixture.RegisteredAt);

    public byte[] CertificateEntry(GranularCertificate certificate) => LedgerEntryCodec.SignCertificateIssued(certificate, IssuerId, IssuerKey);

    public LedgerNode OpenNode(int node, string path) => new(new SqliteLedgerStore(path), Trust, Nodes[node]);

    /// <summary>
    /// <paramref name="meters"/> registrations, then one certificate per meter and hour for
    /// <paramref name="hours"/> hours: each entry keyed by its meter, as on gt.ledger.
    /// </summary>
    public List<StreamEntry> Entries(int meters, int hours)
    {
        var fleet = Enumerable.Range(0, meters).Select(i => new TestMeter($"meter-{_meters.Count + i:000}")).ToList();
        _meters.AddRange(fleet);
        var entries = fleet.Select(m => new StreamEntry(m.Id, EntryKind.DeviceRegistered, Registration(m))).ToList();
        for (var h = 0; h < hours; h++)
        {
            var hourStart = LedgerFixture.RegisteredAt + (h * 3600);
            foreach (var meter in fleet)
            {
                var readings = LedgerFixture.HourOfReadings(meter, hourStart, firstSequence: (ulong)(h * 4) + 1);
                var certificate = LedgerFixture.Issue(meter, readings).Certificate;
                entries.Add(new StreamEntry(meter.Id, EntryKind.CertificateIssued, CertificateEntry(certificate)));
            }
        }
        return entries;
    }

    public void Dispose()
    {
        foreach (var meter in _meters)
            meter.Dispose();
        Trust.Dispose();
        foreach (var node in Nodes)
            node.Dispose();
        IssuerKey.Dispose();
    }
}

/// <summary>One entry as produced onto the entry stream.</summary>
public sealed record StreamEntry(string Key, EntryKind Kind, byte[] Bytes);
