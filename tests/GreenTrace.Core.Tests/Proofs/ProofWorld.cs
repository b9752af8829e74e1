using GreenTrace.Core.Certificates;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Merkle;
using GreenTrace.Core.Proofs;
using GreenTrace.Core.Readings;
using GreenTrace.Core.Tests.Ledger;
using GreenTrace.Core.Tests.Readings;

namespace GreenTrace.Core.Tests.Proofs;

/// <summary>An append-only log of entry bytes that proves inclusion and signs checkpoints, as a ledger node would.</summary>
internal sealed class TestLog
{
    private readonly MerkleLog _log = new();
    private readonly List<byte[]> _entries = [];

    public long Size => _log.Size;

    public long Add(byte[] entry)
    {
        _log.AppendLeaf(entry);
        _entries.Add(entry);
        return _entries.Count - 1;
    }

    public long IndexOf(byte[] entry) => _entries.FindIndex(e => e.AsSpan().SequenceEqual(entry));

    public ProvenLeaf Prove(long index) =>
        new(_entries[(int)index], index, Size, _log.InclusionProof(index, Size).Select(h => Hex.Encode(h)).ToArray());

    public ProvenLeaf Prove(byte[] entry) => Prove(IndexOf(entry));

    public Checkpoint Head(string origin = LedgerFixtures.Origin) => new(origin, Size, _log.Root());

    public string SignedCheckpoint(params NoteSigner[] signers) => SignedNote.Sign(Head().ToNoteText(), signers);
}

/// <summary>
/// A real small ledger: meter-01 and meter-02 registered by issuer-a, a certificate for each over
/// four signed readings of one hour, and a checkpoint cosigned by two of the three nodes.
/// </summary>
internal sealed class ProofWorld : IDisposable
{
    public const string Meter = ReadingFixtures.Meter;
    public const string OtherMeter = "meter-02";
    public const long Hour = ReadingFixtures.Hour;

    public static readonly IssuanceTerms Terms = new(LedgerFixtures.IssuerA, Hour + 3600 + 300, IssuanceTerms.DefaultValiditySeconds);

    public ProofWorld()
    {
        Trust = new TrustedKeys(LedgerFixtures.Consortium());
        MeterDevice = LedgerFixtures.Device();
        OtherDevice = LedgerFixtures.Device(OtherMeter, key: ReadingFixtures.OtherKey);

        Readings = [.. Enumerable.Range(0, 4).Select(i => ReadingFixtures.Decoded(ReadingFixtures.At(Hour + (i * 900), 11 + (ulong)i, wh: 1000 + (ulong)i,
            quality: i == 2 ? ReadingQuality.Estimated : ReadingQuality.Measured)))];
        Certificate = HourlyAggregation.Issue(MeterDevice, Readings, 0, Terms).Value.Certificate;
        var otherReadings = Enumerable.Range(0, 2).Select(i => ReadingFixtures.Decoded(ReadingFixtures.At(Hour + (i * 1800), 1 + (ulong)i, meter: OtherMeter, length: 1800), ReadingFixtures.OtherKey)).ToArray();
        OtherCertificate = HourlyAggregation.Issue(OtherDevice, otherReadings, 0, Terms).Value.Certificate;

        OtherDeviceEntry = LedgerEntryCodec.SignDeviceRegistered(OtherDevice, LedgerFixtures.IssuerA, LedgerFixtures.IssuerAKey, Hour - 7200);
        DeviceEntry = LedgerEntryCodec.SignDeviceRegistered(MeterDevice, LedgerFixtures.IssuerA, LedgerFixtures.IssuerAKey, Hour - 3600);
        OtherCertificateEntry = LedgerEntryCodec.SignCertificateIssued(OtherCertificate, LedgerFixtures.IssuerA, LedgerFixtures.IssuerAKey);
        CertificateEntry = LedgerEntryCodec.SignCertificateIssued(Certificate, LedgerFixtures.IssuerA, LedgerFixtures.IssuerAKey);
        FrDeviceEntry = LedgerEntryCodec.SignDeviceRegistered(LedgerFixtures.Device("fr-meter", zone: "FR"), LedgerFixtures.IssuerB, LedgerFixtures.IssuerBKey, Hour);

        Log = new TestLog();
        foreach (var entry in new[] { OtherDeviceEntry, DeviceEntry, OtherCertificateEntry, CertificateEntry, FrDeviceEntry })
            Log.Add(entry);
    }

    public TrustedKeys Trust { get; }

    public DeviceInfo MeterDevice { get; }

    public DeviceInfo OtherDevice { get; }

    /// <summary>meter-01's four readings in sequence (= tree) order.</summary>
    public DecodedReading[] Readings { get; }

    public GranularCertificate Certificate { get; }

    public GranularCertificate OtherCertificate { get; }

    public byte[] DeviceEntry { get; }

    public byte[] OtherDeviceEntry { get; }

    public byte[] CertificateEntry { get; }

    public byte[] OtherCertificateEntry { get; }

    public byte[] FrDeviceEntry { get; }

    /// <summary>The ledger: [meter-02 registered, meter-01 registered, meter-02 certificate, meter-01 certificate, FR meter registered].</summary>
    public TestLog Log { get; }

    public string Checkpoint(TestLog? log = null) => (log ?? Log).SignedCheckpoint(LedgerFixtures.Node1, LedgerFixtures.Node2);

    /// <summary>Reading <paramref name="index"/> with its proof in the certificate's reading tree.</summary>
    public ProvenLeaf ProveReading(int index) => ProveInTree(Readings.Select(r => r.Encoded.ToArray()).ToArray(), index);

    public static ProvenLeaf ProveInTree(byte[][] leaves, int index)
    {
        var hashes = leaves.Select(l => MerkleHash.Leaf(l)).ToArray();
        return new ProvenLeaf(leaves[index], index, leaves.Length, MerkleTree.InclusionProof(hashes, index, leaves.Length).Select(h => Hex.Encode(h)).ToArray());
    }

    /// <summary>The bundle for reading <paramref name="readingIndex"/> of meter-01's certificate against the whole log.</summary>
    public ProofBundle Bundle(int readingIndex = 2) =>
        new(ProofBundle.CurrentFormat, ProveReading(readingIndex), Log.Prove(CertificateEntry), Log.Prove(DeviceEntry), Checkpoint());

    /// <summary>A bundle over another log, e.g. one holding a hostile entry, with a properly cosigned checkpoint of it.</summary>
    public ProofBundle BundleIn(TestLog log, byte[] deviceEntry, byte[] certificateEntry, ProvenLeaf? reading = null) =>
        new(ProofBundle.CurrentFormat, reading ?? ProveReading(2), log.Prove(certificateEntry), log.Prove(deviceEntry), Checkpoint(log));

    public VerificationReport Verify(ProofBundle bundle) => ProofBundleVerifier.Verify(bundle, Trust);

    public void Dispose() => Trust.Dispose();
}
