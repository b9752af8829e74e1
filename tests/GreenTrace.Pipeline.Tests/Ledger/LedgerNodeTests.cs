using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Merkle;
using GreenTrace.Core.Proofs;
using GreenTrace.Ledger;
using GreenTrace.Ledger.Checkpoints;
using GreenTrace.Ledger.Storage;
using GreenTrace.Pipeline.Tests.Support;
using Microsoft.Data.Sqlite;

namespace GreenTrace.Pipeline.Tests.Ledger;

public sealed class LedgerNodeTests : IDisposable
{
    private const long Hour10 = LedgerFixture.RegisteredAt + (10 * 3600); // 2025-06-01T10:00Z

    private readonly TempDirectory _dir = new();
    private readonly LedgerFixture _ledger = new();
    private readonly TestMeter _a = new("meter-a");
    private readonly TestMeter _b = new("meter-b");

    private string DbPath => _dir.File("ledger.db");

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
        _ledger.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void RegistrationsThenCertificatesAreAppended()
    {
        using var node = OpenNode();
        var certA = LedgerFixture.Issue(_a, LedgerFixture.HourOfReadings(_a, Hour10));
        var certB = LedgerFixture.Issue(_b, LedgerFixture.HourOfReadings(_b, Hour10));
        var entries = new[] { _ledger.Registration(_a.Device), _ledger.Registration(_b.Device), _ledger.CertificateEntry(certA.Certificate), _ledger.CertificateEntry(certB.Certificate) };

        var outcomes = entries.Select(e => node.Submit(e)).ToList();

        Assert.All(outcomes, o => Assert.True(o.Accepted, o.Rejection?.ToString()));
        Assert.Equal([0L, 1L, 2L, 3L], outcomes.Select(o => o.Appended!.Index));
        Assert.Equal(4, node.Size);
        Assert.Empty(node.Rejections);
        Assert.Equal(_a.Device, node.FindDevice("meter-a"));
        Assert.True(node.HasCertificate(certA.Certificate.Id));
        Assert.Equal(2, node.FindCertificateEntry(certA.Certificate.Id)!.Index);
        Assert.Equal(entries[3], node.FindCertificateEntry(certB.Certificate.Id)!.Encoded);
        Assert.Equal(1, node.FindDeviceEntry("meter-b")!.Index);
    }

    [Fact]
    public void RefusalsAreCountedByReasonCodeAndRecordedInTheStore()
    {
        using var node = OpenNode();
        var cert = LedgerFixture.Issue(_b, LedgerFixture.HourOfReadings(_b, Hour10));
        var outsideZone = _b.Device with { GridZone = "FR" };

        var refused = new (byte[] Entry, string Code)[]
        {
            (_ledger.CertificateEntry(cert.Certificate), LedgerReasons.DeviceUnknown), // meter-b is not registered
            (LedgerEntryCodec.SignDeviceRegistered(_b.Device, "issuer-rogue", _ledger.OtherKey, LedgerFixture.RegisteredAt), LedgerReasons.IssuerUnknown),
            (LedgerEntryCodec.SignDeviceRegistered(_b.Device, LedgerFixture.IssuerId, _ledger.OtherKey, LedgerFixture.RegisteredAt), LedgerReasons.EntrySignature),
            (_ledger.Registration(outsideZone), LedgerReasons.IssuerZone),
            ("not an entry"u8.ToArray(), LedgerReasons.EntryMalformed),
            ([], LedgerReasons.EntryMalformed),
        };
        Assert.True(node.Submit(_ledger.Registration(_a.Device)).Accepted);
        var duplicateRegistration = node.Submit(_ledger.Registration(_a.Device));

        Assert.Equal(LedgerReasons.DeviceDuplicate, duplicateRegistration.Rejection?.Code);
        foreach (var (entry, code) in refused)
        {
            var outcome = node.Submit(entry);
            Assert.False(outcome.Accepted);
            Assert.Null(outcome.Appended);
            Assert.Equal(code, outcome.Rejection?.Code);
        }
        Assert.Equal(1, node.Size);
        var expected = refused.Select(r => r.Code).Append(LedgerReasons.DeviceDuplicate).GroupBy(c => c).ToDictionary(g => g.Key, g => (long)g.Count());
        Assert.Equal(expected.OrderBy(e => e.Key), node.Rejections.OrderBy(e => e.Key));
        Assert.Equal(refused.Length + 1, Scalar(DbPath, "SELECT COUNT(*) FROM rejections"));
        Assert.Equal(2, Scalar(DbPath, "SELECT COUNT(*) FROM rejections WHERE code = 'entry-malformed'"));
    }

    [Fact]
    public void ACertificateSubmittedTwiceIsRefusedTheSecondTimeEvenReSigned()
    {
        using var node = OpenNode();
        var readings = LedgerFixture.HourOfReadings(_a, Hour10);
        var cert = LedgerFixture.Issue(_a, readings);
        node.Submit(_ledger.Registration(_a.Device));
        var entry = _ledger.CertificateEntry(cert.Certificate);

        Assert.True(node.Submit(entry).Accepted);
        Assert.Equal(LedgerReasons.EntryDuplicate, node.Submit(entry).Rejection?.Code); // the very same bytes
        // An aggregator replaying after a crash issues the same certificate id again, at another time and signature.
        var replayed = _ledger.CertificateEntry(LedgerFixture.Issue(_a, readings, issuedAt: LedgerFixture.RegisteredAt + 99_999).Certificate);
        Assert.NotEqual(entry, replayed);
        Assert.Equal(LedgerReasons.CertificateDuplicate, node.Submit(replayed).Rejection?.Code);

        Assert.Equal(2, node.Size);
        Assert.Equal(1, node.Rejections[LedgerReasons.EntryDuplicate]);
        Assert.Equal(1, node.Rejections[LedgerReasons.CertificateDuplicate]);
    }

    [Fact]
    public void AReopenedNodeHasTheSameLogAndStillRefusesDuplicates()
    {
        var cert = LedgerFixture.Issue(_a, LedgerFixture.HourOfReadings(_a, Hour10));
        var entries = new List<byte[]> { _ledger.Registration(_a.Device), _ledger.Registration(_b.Device), _ledger.CertificateEntry(cert.Certificate) };
        using (var node = OpenNode())
            Assert.All(node.Submit(entries.Select(e => (ReadOnlyMemory<byte>)e).ToList()), o => Assert.True(o.Accepted));

        using var reopened = OpenNode();
        Assert.Equal(3, reopened.Size);
        Assert.Equal(_b.Device, reopened.FindDevice("meter-b"));
        Assert.True(reopened.HasCertificate(cert.Certificate.Id));
        // The root of the rebuilt log, computed here from the entries independently of the node.
        var checkpoint = Sign(reopened);
        Assert.Equal(3, checkpoint.Size);
        Assert.Equal(MerkleTree.Root(entries), checkpoint.Root);

        Assert.Equal(LedgerReasons.EntryDuplicate, reopened.Submit(entries[2]).Rejection?.Code);
        Assert.Equal(LedgerReasons.EntryDuplicate, reopened.Submit(entries[0]).Rejection?.Code);
        Assert.Equal(LedgerReasons.DeviceDuplicate, reopened.Submit(_ledger.Registration(_a.Device)).Rejection?.Code); // signed again: other bytes
        var next = _ledger.CertificateEntry(LedgerFixture.Issue(_b, LedgerFixture.HourOfReadings(_b, Hour10)).Certificate);
        Assert.True(reopened.Submit(next).Accepted);
        entries.Add(next);
        Assert.Equal(MerkleTree.Root(entries), Sign(reopened).Root);
    }

    [Theory]
    [InlineData("UPDATE entries SET leaf_hash = zeroblob(32) WHERE idx = 1")]
    [InlineData("UPDATE entries SET encoded = substr(encoded, 1, length(encoded) - 1) WHERE idx = 1")]
    public void AStoredEntryThatNoLongerMatchesItsLeafHashStopsTheNode(string tamper)
    {
        using (var node = OpenNode())
        {
            node.Submit(_ledger.Registration(_a.Device));
            node.Submit(_ledger.Registration(_b.Device));
        }
        SqliteLedgerStoreContractTests.RawSql(DbPath, tamper);

        var store = new SqliteLedgerStore(DbPath);
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => new LedgerNode(store, _ledger.Trust, _ledger.Node));
            Assert.Contains("entry 1", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            store.Dispose();
        }
    }

    [Fact]
    public void SignedCheckpointsVerifyAgainstTheMembership()
    {
        using var node = OpenNode();
        node.Submit(_ledger.Registration(_a.Device));
        node.Submit(_ledger.Registration(_b.Device));

        var checkpoint = Sign(node);
        var result = CheckpointVerifier.Verify(checkpoint.Note, LedgerFixture.Origin, _ledger.Trust.Nodes, _ledger.Membership.Quorum);

        Assert.True(result.Success, result.ToString());
        Assert.Equal(2, result.Checkpoint.Size);
        Assert.Equal(checkpoint.Root, result.Checkpoint.RootHash);
        Assert.Equal([_ledger.Node.Name], result.TrustedSigners);
        var again = Sign(node); // nothing new: the latest still covers the log
        Assert.Equal((checkpoint.Size, checkpoint.Note, checkpoint.SignedAt), (again.Size, again.Note, again.SignedAt));
        Assert.Equal(checkpoint.Note, node.LatestCheckpoint()!.Note);

        // Someone else's checkpoint of the same log does not pass for ours.
        using var stranger = NoteSigner.Generate("stranger.example");
        var forged = SignedNote.Sign(new Checkpoint(LedgerFixture.Origin, 2, checkpoint.Root).ToNoteText(), stranger);
        Assert.False(CheckpointVerifier.Verify(forged, LedgerFixture.Origin, _ledger.Trust.Nodes, 1).Success);

        node.Submit(_ledger.CertificateEntry(LedgerFixture.Issue(_a, LedgerFixture.HourOfReadings(_a, Hour10)).Certificate));
        var grown = CheckpointVerifier.Verify(Sign(node).Note, LedgerFixture.Origin, _ledger.Trust.Nodes, 1);
        Assert.True(grown.Success, grown.ToString());
        Assert.Equal(3, grown.Checkpoint.Size);
    }

    [Fact]
    public void EveryReadingOfACertificateHasAProofBundleThatVerifiesOffline()
    {
        using var node = OpenNode();
        var readingsA = LedgerFixture.HourOfReadings(_a, Hour10);
        var readingsB = LedgerFixture.HourOfReadings(_b, Hour10).Take(3).ToList();
        var certA = LedgerFixture.Issue(_a, readingsA).Certificate;
        var certB = LedgerFixture.Issue(_b, readingsB).Certificate;
        node.Submit(_ledger.Registration(_a.Device));
        node.Submit(_ledger.Registration(_b.Device));
        node.Submit(_ledger.CertificateEntry(certB));
        node.Submit(_ledger.CertificateEntry(certA));

        Assert.Equal("checkpoint-missing", node.BuildProofBundle(certA.Id, readingsA, 0).Error?.Code);
        Sign(node);
        // Entries after the checkpoint do not spoil proofs against it.
        node.Submit(_ledger.CertificateEntry(LedgerFixture.Issue(_a, LedgerFixture.HourOfReadings(_a, Hour10 + 3600, firstSequence: 5)).Certificate));

        foreach (var (cert, readings) in new[] { (certA, readingsA), (certB, readingsB) })
        {
            for (var i = 0; i < readings.Count; i++)
            {
                var built = node.BuildProofBundle(cert.Id, readings, i);
                Assert.True(built.IsOk, built.ToString());
                var parsed = ProofBundle.FromJson(built.Value.ToJson());
                Assert.True(parsed.IsOk, parsed.ToString());

                var report = ProofBundleVerifier.Verify(parsed.Value, _ledger.Trust);

                Assert.True(report.IsValid, report.FirstFailure?.ToString());
                Assert.Equal(TestMeter.Decode(readings[i]).Reading, report.Reading);
                Assert.Equal(cert, report.Certificate);
            }
        }

        // A bundle that swaps in another certificate's reading does not verify.
        var good = node.BuildProofBundle(certA.Id, readingsA, 1).Value;
        var swapped = good with { Reading = good.Reading with { Value = readingsB[1] } };
        Assert.False(ProofBundleVerifier.Verify(swapped, _ledger.Trust).IsValid);
        Assert.Equal("readings-mismatch", node.BuildProofBundle(certA.Id, readingsA.Take(3).ToList(), 0).Error?.Code);
        Assert.Equal("reading-index", node.BuildProofBundle(certA.Id, readingsA, 4).Error?.Code);
        Assert.Equal("certificate-unknown", node.BuildProofBundle(new byte[32], readingsA, 0).Error?.Code);
    }

    [Fact]
    public void InABatchTheBadEntriesAreRefusedAndTheOthersAppended()
    {
        using var node = OpenNode();
        var certA = _ledger.CertificateEntry(LedgerFixture.Issue(_a, LedgerFixture.HourOfReadings(_a, Hour10)).Certificate);
        var certB = _ledger.CertificateEntry(LedgerFixture.Issue(_b, LedgerFixture.HourOfReadings(_b, Hour10)).Certificate);
        var batch = new ReadOnlyMemory<byte>[]
        {
            _ledger.Registration(_a.Device),
            "garbage"u8.ToArray(),
            certB, // its meter's registration comes later in the batch
            _ledger.Registration(_b.Device),
            certA, // registered earlier in the same batch
            certA, // twice in one batch
            certB,
        };

        var outcomes = node.Submit(batch);

        Assert.Equal([true, false, false, true, true, false, true], outcomes.Select(o => o.Accepted));
        Assert.Equal([LedgerReasons.EntryMalformed, LedgerReasons.DeviceUnknown, LedgerReasons.EntryDuplicate], outcomes.Where(o => !o.Accepted).Select(o => o.Rejection!.Code));
        Assert.Equal([0L, 1L, 2L, 3L], outcomes.Where(o => o.Accepted).Select(o => o.Appended!.Index));
        Assert.Equal(4, node.Size);
        node.Dispose();

        using var store = new SqliteLedgerStore(DbPath);
        Assert.Equal([0L, 1L, 2L, 3L], store.ReadAll().Select(e => e.Index));
        Assert.Equal(new[] { batch[0], batch[3], batch[4], batch[6] }.Select(b => b.ToArray()), store.ReadAll().Select(e => e.Encoded));
    }

    /// <summary>A node alone signs its log as it stands (what its cosigner does when the stream is idle).</summary>
    private static StoredCheckpoint Sign(LedgerNode node) => new CheckpointCosigner(node, publisher: null, everyEntries: 1000).SignCurrent();

    private LedgerNode OpenNode() => new(new SqliteLedgerStore(DbPath), _ledger.Trust, _ledger.Node);

    private static long Scalar(string path, string sql)
    {
        using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return (long)cmd.ExecuteScalar()!;
    }
}
