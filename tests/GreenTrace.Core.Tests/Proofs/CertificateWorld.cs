using GreenTrace.Core.Certificates;
using GreenTrace.Core.Devices;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Proofs;
using GreenTrace.Core.Readings;
using GreenTrace.Core.Tests.Ledger;
using GreenTrace.Core.Tests.Readings;

namespace GreenTrace.Core.Tests.Proofs;

/// <summary>
/// A real small ledger with a certificate that changed hands: meter-01 (plant owner Alice) and meter-02 (no owner,
/// so its certificates start with issuer-a) registered, a certificate of four signed readings for each, then
/// Alice transfers hers to Bob, issuer-a transfers meter-02's to Carol, Bob splits his into 1000 Wh for himself and
/// the rest for Carol, and Carol claims her part for Acme. Every entry passes the ledger's rules (<see cref="LedgerState"/>)
/// before it goes into the log; hostile logs are built from these entries and others by the tests.
/// </summary>
internal sealed class CertificateWorld : IDisposable
{
    public const long Hour = ReadingFixtures.Hour;
    public const ulong BobKeeps = 1000;

    public CertificateWorld()
    {
        Trust = new TrustedKeys(LedgerFixtures.Consortium());
        State = new LedgerState(LedgerFixtures.Consortium());
        Device = LedgerFixtures.Device();
        OtherDevice = LedgerFixtures.Device(ProofWorld.OtherMeter, key: ReadingFixtures.OtherKey);

        Readings = [.. Enumerable.Range(0, 4).Select(i => ReadingFixtures.Decoded(ReadingFixtures.At(Hour + (i * 900), 11 + (ulong)i, wh: 1000 + (ulong)i)))];
        Certificate = HourlyAggregation.Issue(Device, Readings, 0, ProofWorld.Terms).Value.Certificate;
        OtherReadings = [.. Enumerable.Range(0, 2).Select(i => ReadingFixtures.Decoded(ReadingFixtures.At(Hour + (i * 1800), 1 + (ulong)i, meter: ProofWorld.OtherMeter, length: 1800), ReadingFixtures.OtherKey))];
        OtherCertificate = HourlyAggregation.Issue(OtherDevice, OtherReadings, 0, ProofWorld.Terms).Value.Certificate;

        OtherDeviceEntry = LedgerEntryCodec.SignDeviceRegistered(OtherDevice, LedgerFixtures.IssuerA, LedgerFixtures.IssuerAKey, Hour - 7200);
        DeviceEntry = LedgerEntryCodec.SignDeviceRegistered(Device, LedgerFixtures.IssuerA, LedgerFixtures.IssuerAKey, Hour - 3600, Spki(LedgerFixtures.Alice));
        OtherCertificateEntry = LedgerEntryCodec.SignCertificateIssued(OtherCertificate, LedgerFixtures.IssuerA, LedgerFixtures.IssuerAKey);
        CertificateEntry = LedgerEntryCodec.SignCertificateIssued(Certificate, LedgerFixtures.IssuerA, LedgerFixtures.IssuerAKey);
        var at = Certificate.IssuedAt + 60;

        Transfer = LedgerEntryCodec.SignTransferred(new Transfer(Certificate.Id, Certificate.Id, Spki(LedgerFixtures.Bob)), LedgerFixtures.Alice, at);
        BobsHolding = HoldingIds.Compute(Id(Transfer), 0);
        OtherTransfer = LedgerEntryCodec.SignTransferred(new Transfer(OtherCertificate.Id, OtherCertificate.Id, Spki(LedgerFixtures.Carol)), LedgerFixtures.IssuerAKey, at + 1);
        CarolsPart = Certificate.FaceValueWh - BobKeeps;
        Split = LedgerEntryCodec.SignSplit(
            new Split(Certificate.Id, BobsHolding, [new SplitPart(BobKeeps, Spki(LedgerFixtures.Bob)), new SplitPart(CarolsPart, Spki(LedgerFixtures.Carol))]),
            LedgerFixtures.Bob, at + 2);
        BobsPart = HoldingIds.Compute(Id(Split), 0);
        CarolsHolding = HoldingIds.Compute(Id(Split), 1);
        Claim = LedgerEntryCodec.SignClaimed(new Claim(Certificate.Id, CarolsHolding, "Acme", Hour, Hour + 3600), LedgerFixtures.Carol, at + 3);

        Log = new TestLog();
        foreach (var entry in new[] { OtherDeviceEntry, DeviceEntry, OtherCertificateEntry, CertificateEntry, Transfer, OtherTransfer, Split, Claim })
            Append(Log, entry);
    }

    public TrustedKeys Trust { get; }

    /// <summary>The ledger's own view of <see cref="Log"/>: what the verifier's replay must agree with.</summary>
    public LedgerState State { get; }

    public DeviceInfo Device { get; }

    public DeviceInfo OtherDevice { get; }

    public DecodedReading[] Readings { get; }

    public DecodedReading[] OtherReadings { get; }

    public GranularCertificate Certificate { get; }

    public GranularCertificate OtherCertificate { get; }

    public byte[] DeviceEntry { get; }

    public byte[] OtherDeviceEntry { get; }

    public byte[] CertificateEntry { get; }

    public byte[] OtherCertificateEntry { get; }

    /// <summary>Log entry 4: Alice gives the whole certificate to Bob.</summary>
    public byte[] Transfer { get; }

    /// <summary>Log entry 5: issuer-a gives meter-02's certificate to Carol.</summary>
    public byte[] OtherTransfer { get; }

    /// <summary>Log entry 6: Bob keeps 1000 Wh and gives Carol the rest.</summary>
    public byte[] Split { get; }

    /// <summary>Log entry 7: Carol claims her part for Acme.</summary>
    public byte[] Claim { get; }

    public byte[] BobsHolding { get; }

    public byte[] BobsPart { get; }

    public byte[] CarolsHolding { get; }

    public ulong CarolsPart { get; }

    public TestLog Log { get; }

    public static byte[] Spki(System.Security.Cryptography.ECDsa key) => key.ExportSubjectPublicKeyInfo();

    public static byte[] Id(byte[] entry) => System.Security.Cryptography.SHA256.HashData(entry);

    public static string Owner(System.Security.Cryptography.ECDsa key) => LedgerEntry.OwnerId(Spki(key));

    public byte[][] ReadingBytes => [.. Readings.Select(r => r.Encoded.ToArray())];

    public string Checkpoint(TestLog? log = null) => (log ?? Log).SignedCheckpoint(LedgerFixtures.Node1, LedgerFixtures.Node2);

    /// <summary>meter-01's bundle over the whole log: the transfer, the split and the claim.</summary>
    public CertificateBundle Bundle() => BundleIn(Log, [Transfer, Split, Claim]);

    /// <summary>meter-01's bundle over <paramref name="log"/> with the given history (each proven in that log) and readings.</summary>
    public CertificateBundle BundleIn(TestLog log, IEnumerable<byte[]> history, IReadOnlyList<byte[]>? readings = null) =>
        new(CertificateBundle.CurrentFormat, log.Prove(CertificateEntry), log.Prove(DeviceEntry), readings ?? ReadingBytes,
            history.Select(log.Prove).ToList(), Checkpoint(log));

    /// <summary>A log of the world's first four entries (the registrations and certificates), then <paramref name="entries"/>, unchecked by any rule.</summary>
    public TestLog LogWith(params byte[][] entries)
    {
        var log = new TestLog();
        foreach (var entry in new[] { OtherDeviceEntry, DeviceEntry, OtherCertificateEntry, CertificateEntry }.Concat(entries))
            log.Add(entry);
        return log;
    }

    public CertificateVerificationReport Verify(CertificateBundle bundle) => CertificateBundleVerifier.Verify(bundle, Trust);

    public void Dispose()
    {
        Trust.Dispose();
        State.Dispose();
    }

    private void Append(TestLog log, byte[] entry)
    {
        var why = State.TryApply(LedgerFixtures.DecodeEntry(entry));
        Assert.True(why is null, why?.ToString());
        log.Add(entry);
    }
}
