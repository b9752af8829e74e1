using System.Text.Json;
using System.Text.Json.Nodes;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Proofs;
using GreenTrace.Core.Readings;
using GreenTrace.Core.Tests.Ledger;
using GreenTrace.Core.Tests.Readings;

namespace GreenTrace.Core.Tests.Proofs;

public sealed class CertificateBundleVerifierTests : IDisposable
{
    private static readonly string[] StepOrder =
    [
        ProofSteps.Checkpoint, ProofSteps.DeviceEntry, ProofSteps.DeviceInclusion, ProofSteps.CertificateEntry, ProofSteps.CertificateInclusion,
        ProofSteps.ReadingsSignature, ProofSteps.ReadingsInCertificate, ProofSteps.ReadingsRoot,
        ProofSteps.HistoryEntry, ProofSteps.HistoryInclusion, ProofSteps.Ownership,
    ];

    private readonly CertificateWorld _world = new();

    public void Dispose() => _world.Dispose();

    private static CertificateVerificationReport AssertFailsAt(string step, CertificateVerificationReport report) => BundleAssert.FailsAt(StepOrder, step, report);

    // ---- the valid bundle ----

    [Fact]
    public void ACertificateThatWasTransferredSplitAndClaimedVerifiesAndShowsWhoHoldsWhat()
    {
        var report = _world.Verify(_world.Bundle());

        Assert.True(report.IsValid, report.FirstFailure?.ToString());
        Assert.Equal(StepOrder, report.Steps.Select(s => s.Step));
        Assert.Equal(_world.Certificate, report.Certificate);
        Assert.Equal(_world.Device, report.Device);
        Assert.Equal(_world.Log.Head(), report.Checkpoint);
        Assert.Equal(_world.Readings.Select(r => r.Reading), report.Readings);

        var o = report.Ownership!;
        var alice = CertificateWorld.Owner(LedgerFixtures.Alice);
        var bob = CertificateWorld.Owner(LedgerFixtures.Bob);
        var carol = CertificateWorld.Owner(LedgerFixtures.Carol);
        Assert.Equal(
        [
            new ProvenHolding(_world.Certificate.IdHex, _world.Certificate.FaceValueWh, alice, HoldingStatus.Spent, 3, 4),
            new ProvenHolding(Hex.Encode(_world.BobsHolding), _world.Certificate.FaceValueWh, bob, HoldingStatus.Spent, 4, 6),
            new ProvenHolding(Hex.Encode(_world.BobsPart), CertificateWorld.BobKeeps, bob, HoldingStatus.Live, 6),
            new ProvenHolding(Hex.Encode(_world.CarolsHolding), _world.CarolsPart, carol, HoldingStatus.Claimed, 6, 7),
        ], o.Holdings);
        var claim = Assert.Single(o.Claims);
        Assert.Equal(new ProvenClaim("Acme", CertificateWorld.Hour, CertificateWorld.Hour + 3600, _world.CarolsPart, carol, 7, Hex.Encode(_world.CarolsHolding)), claim);
        Assert.Equal([EntryKind.Transferred, EntryKind.Split, EntryKind.Claimed], o.Events.Select(e => e.Kind));
        Assert.Equal([4L, 6L, 7L], o.Events.Select(e => e.Index));
        Assert.Equal([Hex.Encode(_world.BobsPart), Hex.Encode(_world.CarolsHolding)], o.Events[1].Made);
        Assert.Equal((CertificateWorld.BobKeeps, _world.CarolsPart, 0UL), (o.LiveWh, o.ClaimedWh, o.WithdrawnWh));
        Assert.False(o.Withdrawn);

        // The replay agrees with the ledger's own rules, holding by holding.
        var ledger = _world.State.HoldingsOfCertificate(_world.Certificate.Id)
            .Select(h => (h.IdHex, h.Wh, LedgerEntry.OwnerId(h.Owner), h.Status, h.CreatedBy, h.ConsumedBy));
        Assert.Equal(ledger.OrderBy(h => h.IdHex, StringComparer.Ordinal), o.Holdings.Select(h => (h.Id, h.Wh, h.Owner, h.Status, h.CreatedBy, h.ConsumedBy)).OrderBy(h => h.Id, StringComparer.Ordinal));
    }

    [Fact]
    public void ABundleWithoutHistoryLeavesTheWholeCertificateWithThePlantOwner()
    {
        // What a server shows before any trade, or when it leaves out trailing entries: "live" means "not consumed in this evidence".
        var report = _world.Verify(_world.BundleIn(_world.Log, []));

        Assert.True(report.IsValid, report.FirstFailure?.ToString());
        var holding = Assert.Single(report.Ownership!.Holdings);
        Assert.Equal((_world.Certificate.IdHex, _world.Certificate.FaceValueWh, CertificateWorld.Owner(LedgerFixtures.Alice), HoldingStatus.Live),
            (holding.Id, holding.Wh, holding.Owner, holding.Status));
        Assert.Empty(report.Ownership.Claims);
    }

    [Fact]
    public void AMeterWithoutAPlantOwnerStartsItsCertificatesWithTheIssuer()
    {
        var readings = _world.OtherReadings.Select(r => r.Encoded.ToArray()).ToList();
        var bundle = new CertificateBundle(CertificateBundle.CurrentFormat, _world.Log.Prove(_world.OtherCertificateEntry), _world.Log.Prove(_world.OtherDeviceEntry),
            readings, [_world.Log.Prove(_world.OtherTransfer)], _world.Checkpoint());

        var report = _world.Verify(bundle);

        Assert.True(report.IsValid, report.FirstFailure?.ToString());
        Assert.Equal(CertificateWorld.Owner(LedgerFixtures.IssuerAKey), report.Ownership!.Holdings[0].Owner);
        Assert.Equal(CertificateWorld.Owner(LedgerFixtures.Carol), Assert.Single(report.Ownership.Holdings, h => h.IsLive).Owner);
    }

    [Fact]
    public void AWithdrawalByTheIssuerEndsEveryLiveHolding()
    {
        var withdrawal = LedgerEntryCodec.SignWithdrawn(new Withdrawal(_world.Certificate.Id, "meter found faulty"), LedgerFixtures.IssuerA, LedgerFixtures.IssuerAKey, _world.Certificate.IssuedAt + 600);
        var log = _world.LogWith(_world.Transfer, withdrawal);

        var report = _world.Verify(_world.BundleIn(log, [_world.Transfer, withdrawal]));

        Assert.True(report.IsValid, report.FirstFailure?.ToString());
        var o = report.Ownership!;
        Assert.True(o.Withdrawn);
        Assert.Equal((0UL, 0UL, _world.Certificate.FaceValueWh), (o.LiveWh, o.ClaimedWh, o.WithdrawnWh));
        Assert.Equal([Hex.Encode(_world.BobsHolding)], o.Events[1].Consumed);
        Assert.Equal(LedgerFixtures.IssuerA, o.Events[1].Signer);
    }

    // ---- JSON and the one parser for both formats ----

    [Fact]
    public void JsonHasTheDocumentedShapeAndRoundTrips()
    {
        var bundle = _world.Bundle();
        var json = bundle.ToJson();
        using (var doc = JsonDocument.Parse(json))
        {
            var root = doc.RootElement;
            Assert.Equal(["format", "certificate", "device", "readings", "history", "checkpoint"], root.EnumerateObject().Select(p => p.Name));
            Assert.Equal("greentrace-certificate-bundle/1", root.GetProperty("format").GetString());
            Assert.Equal(_world.ReadingBytes, root.GetProperty("readings").EnumerateArray().Select(r => r.GetBytesFromBase64()));
            var history = root.GetProperty("history").EnumerateArray().ToList();
            Assert.Equal([4L, 6L, 7L], history.Select(h => h.GetProperty("index").GetInt64()));
            Assert.All(history, h => Assert.Equal(_world.Log.Size, h.GetProperty("treeSize").GetInt64()));
            Assert.Equal(_world.Claim, history[2].GetProperty("value").GetBytesFromBase64());
        }

        var parsed = CertificateBundle.FromJson(json);
        Assert.True(parsed.IsOk, parsed.ToString());
        Assert.Equal(json, parsed.Value.ToJson());
        Assert.True(_world.Verify(parsed.Value).IsValid);
    }

    [Fact]
    public void BundlesParseTellsTheFormatsApart()
    {
        var certificate = Bundles.Parse(_world.Bundle().ToJson());
        Assert.True(certificate.IsOk, certificate.ToString());
        Assert.Equal(CertificateBundle.CurrentFormat, Assert.IsType<ParsedBundle.OfCertificate>(certificate.Value).Bundle.Format);

        using var proofWorld = new ProofWorld();
        var reading = Bundles.Parse(proofWorld.Bundle().ToJson());
        Assert.True(reading.IsOk, reading.ToString());
        Assert.True(proofWorld.Verify(Assert.IsType<ParsedBundle.OfReading>(reading.Value).Bundle).IsValid);

        foreach (var bad in new[] { "", "[]", "{}", "{\"format\": 1}", "{\"format\": \"greentrace-proof-bundle/2\"}", "{ not json" })
            Assert.Equal(ProofSteps.BundleFormat, Bundles.Parse(bad).Error?.Code);
    }

    public static TheoryData<string> BadDocuments =>
    [
        "format of a reading bundle", "readings missing", "history missing", "reading null", "history item null", "history proof missing",
        "unknown member", "unknown history member", "reading not base64", "checkpoint missing",
    ];

    [Theory]
    [MemberData(nameof(BadDocuments))]
    public void MalformedDocumentIsBundleFormat(string edit)
    {
        var root = JsonNode.Parse(_world.Bundle().ToJson())!.AsObject();
        switch (edit)
        {
            case "format of a reading bundle": root["format"] = ProofBundle.CurrentFormat; break;
            case "readings missing": root.Remove("readings"); break;
            case "history missing": root.Remove("history"); break;
            case "reading null": root["readings"]![1] = null; break;
            case "history item null": root["history"]![0] = null; break;
            case "history proof missing": root["history"]![1]!.AsObject().Remove("proof"); break;
            case "unknown member": root["owner"] = "trust me"; break;
            case "unknown history member": root["history"]![0]!["kind"] = "Transferred"; break;
            case "reading not base64": root["readings"]![0] = "not base64!"; break;
            case "checkpoint missing": root.Remove("checkpoint"); break;
            default: throw new ArgumentOutOfRangeException(nameof(edit));
        }

        var parsed = CertificateBundle.FromJson(root.ToJsonString());

        Assert.False(parsed.IsOk);
        Assert.Equal(ProofSteps.BundleFormat, parsed.Error.Code);
    }

    // ---- the steps every bundle shares ----

    [Fact]
    public void TheSharedStepsFailAsForAReadingBundle()
    {
        var bundle = _world.Bundle();
        var oneSignature = _world.Log.SignedCheckpoint(LedgerFixtures.Node1);

        AssertFailsAt(ProofSteps.Checkpoint, _world.Verify(bundle with { Checkpoint = oneSignature }));
        AssertFailsAt(ProofSteps.DeviceEntry, _world.Verify(bundle with { Device = _world.Log.Prove(_world.OtherCertificateEntry) }));
        AssertFailsAt(ProofSteps.DeviceInclusion, _world.Verify(bundle with { Device = BundleAssert.FlipProofHash(bundle.Device) }));
        AssertFailsAt(ProofSteps.CertificateEntry, _world.Verify(bundle with { Certificate = _world.Log.Prove(_world.OtherCertificateEntry) }));
        AssertFailsAt(ProofSteps.CertificateInclusion, _world.Verify(bundle with { Certificate = bundle.Certificate with { Index = 2 } }));
    }

    // ---- the readings ----

    [Fact]
    public void AForgedReadingFailsAtReadingsSignature()
    {
        var readings = _world.ReadingBytes;
        readings[2][^1] ^= 0x01; // inside the ES256 signature: still decodes
        Assert.True(ReadingCodec.Decode(readings[2]).IsOk);

        var report = AssertFailsAt(ProofSteps.ReadingsSignature, _world.Verify(_world.Bundle() with { Readings = readings }));
        Assert.StartsWith("reading 2:", report.FirstFailure!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void AReadingSignedByAnotherKeyFailsAtReadingsSignature()
    {
        var readings = _world.ReadingBytes;
        readings[0] = ReadingCodec.Sign(_world.Readings[0].Reading, ReadingFixtures.OtherKey);

        AssertFailsAt(ProofSteps.ReadingsSignature, _world.Verify(_world.Bundle() with { Readings = readings }));
    }

    [Fact]
    public void ADroppedReadingFailsAtReadingsInCertificate()
    {
        var report = AssertFailsAt(ProofSteps.ReadingsInCertificate, _world.Verify(_world.Bundle() with { Readings = _world.ReadingBytes.Where((_, i) => i != 1).ToList() }));
        Assert.Contains("3 readings, the certificate 4", report.FirstFailure!.Detail, StringComparison.Ordinal);
        AssertFailsAt(ProofSteps.ReadingsInCertificate, _world.Verify(_world.Bundle() with { Readings = [] }));
    }

    [Fact]
    public void ReorderedReadingsFailAtReadingsInCertificate()
    {
        var r = _world.ReadingBytes;

        var report = AssertFailsAt(ProofSteps.ReadingsInCertificate, _world.Verify(_world.Bundle() with { Readings = [r[0], r[2], r[1], r[3]] }));
        Assert.Contains("strictly increase", report.FirstFailure!.Detail, StringComparison.Ordinal);
        AssertFailsAt(ProofSteps.ReadingsInCertificate, _world.Verify(_world.Bundle() with { Readings = [r[0], r[1], r[1], r[3]] }));
    }

    [Fact]
    public void AReadingFromAnotherHourFailsAtReadingsInCertificate()
    {
        // Properly signed by the meter, with the next sequence number and the same Wh: only its hour is wrong.
        var r = _world.ReadingBytes;
        var nextHour = ReadingCodec.Sign(ReadingFixtures.At(CertificateWorld.Hour + 3600, 15, wh: 1003), ReadingFixtures.MeterKey);

        var report = AssertFailsAt(ProofSteps.ReadingsInCertificate, _world.Verify(_world.Bundle() with { Readings = [r[0], r[1], r[2], nextHour] }));
        Assert.Contains("outside the certificate period", report.FirstFailure!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void AReadingWithTheSameIntervalAndWhButOtherBytesFailsAtReadingsRoot()
    {
        // Signed by the meter, same sequence, interval and Wh, so count and sum agree; the register differs, so the bytes do.
        var r = _world.ReadingBytes;
        var original = _world.Readings[3].Reading;
        var other = ReadingCodec.Sign(original with { RegisterWh = original.RegisterWh + 1 }, ReadingFixtures.MeterKey);

        AssertFailsAt(ProofSteps.ReadingsRoot, _world.Verify(_world.Bundle() with { Readings = [r[0], r[1], r[2], other] }));
    }

    [Fact]
    public void AReadingOfAnotherMeterFailsAtReadingsSignatureOrInCertificate()
    {
        // meter-02's reading is signed with meter-02's key: the registered key of meter-01 refuses it first.
        var r = _world.ReadingBytes;

        AssertFailsAt(ProofSteps.ReadingsSignature, _world.Verify(_world.Bundle() with { Readings = [r[0], r[1], r[2], _world.OtherReadings[0].Encoded.ToArray()] }));
    }

    // ---- the history ----

    [Fact]
    public void ATamperedHistoryEntryFailsAtHistoryEntry()
    {
        var bundle = _world.Bundle();
        var tampered = (byte[])bundle.History[1].Value.Clone();
        tampered[^1] ^= 0x01; // the split's signature: still a well-formed entry
        Assert.True(LedgerEntryCodec.Decode(tampered).IsOk);

        var report = AssertFailsAt(ProofSteps.HistoryEntry, _world.Verify(bundle with { History = [bundle.History[0], bundle.History[1] with { Value = tampered }, bundle.History[2]] }));
        Assert.StartsWith("history 1 (log entry 6)", report.FirstFailure!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void AHistoryEntryOfAnotherCertificateFailsAtHistoryEntry()
    {
        // Properly signed and in the log, but about meter-02's certificate.
        var report = AssertFailsAt(ProofSteps.HistoryEntry, _world.Verify(_world.BundleIn(_world.Log, [_world.Transfer, _world.OtherTransfer, _world.Split, _world.Claim])));
        Assert.Contains(_world.OtherCertificate.IdHex, report.FirstFailure!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void AnEntryThatIsNoHistoryFailsAtHistoryEntry()
    {
        AssertFailsAt(ProofSteps.HistoryEntry, _world.Verify(_world.BundleIn(_world.Log, [_world.CertificateEntry, _world.Transfer])));
        AssertFailsAt(ProofSteps.HistoryEntry, _world.Verify(_world.BundleIn(_world.Log, [_world.DeviceEntry])));
    }

    [Fact]
    public void HistoryOutOfLogOrderFailsAtHistoryEntry()
    {
        AssertFailsAt(ProofSteps.HistoryEntry, _world.Verify(_world.BundleIn(_world.Log, [_world.Transfer, _world.Claim, _world.Split])));
        AssertFailsAt(ProofSteps.HistoryEntry, _world.Verify(_world.BundleIn(_world.Log, [_world.Transfer, _world.Transfer])));
    }

    [Fact]
    public void AWithdrawalByAnIssuerOfAnotherZoneFailsAtHistoryEntry()
    {
        // issuer-b is trusted, but for FR only; the certificate is DE-LU.
        var withdrawal = LedgerEntryCodec.SignWithdrawn(new Withdrawal(_world.Certificate.Id, "not yours"), LedgerFixtures.IssuerB, LedgerFixtures.IssuerBKey, _world.Certificate.IssuedAt + 600);
        var log = _world.LogWith(withdrawal);

        AssertFailsAt(ProofSteps.HistoryEntry, _world.Verify(_world.BundleIn(log, [withdrawal])));
    }

    [Fact]
    public void AWrongHistoryInclusionProofFailsAtHistoryInclusion()
    {
        var bundle = _world.Bundle();
        ProvenLeaf[] With(int i, ProvenLeaf leaf) => [.. bundle.History.Select((h, j) => j == i ? leaf : h)];

        var report = AssertFailsAt(ProofSteps.HistoryInclusion, _world.Verify(bundle with { History = With(1, BundleAssert.FlipProofHash(bundle.History[1])) }));
        Assert.StartsWith("history 1:", report.FirstFailure!.Detail, StringComparison.Ordinal);
        AssertFailsAt(ProofSteps.HistoryInclusion, _world.Verify(bundle with { History = With(2, bundle.History[2] with { TreeSize = 7 }) }));
        AssertFailsAt(ProofSteps.HistoryInclusion, _world.Verify(bundle with { History = With(0, bundle.History[0] with { Index = 5 }) }));
        AssertFailsAt(ProofSteps.HistoryInclusion, _world.Verify(bundle with { History = With(2, bundle.History[2] with { Proof = [] }) }));
    }

    [Fact]
    public void AValidEntryThatIsNotInTheLogFailsAtHistoryInclusion()
    {
        // Alice's transfer signed again (another time, so other bytes): a real owner entry, but not the one the log holds.
        var again = LedgerEntryCodec.SignTransferred(new Transfer(_world.Certificate.Id, _world.Certificate.Id, CertificateWorld.Spki(LedgerFixtures.Bob)), LedgerFixtures.Alice, _world.Certificate.IssuedAt + 61);
        var bundle = _world.Bundle();

        AssertFailsAt(ProofSteps.HistoryInclusion, _world.Verify(bundle with { History = [bundle.History[0] with { Value = again }, .. bundle.History.Skip(1)] }));
    }

    // ---- ownership ----

    [Fact]
    public void AnOmittedMiddleEntryLeavesALaterOneConsumingAnUnknownHoldingAndFailsAtOwnership()
    {
        // The split is in the log, but the bundle leaves it out: Carol's claim spends a holding this evidence never made.
        var report = AssertFailsAt(ProofSteps.Ownership, _world.Verify(_world.BundleIn(_world.Log, [_world.Transfer, _world.Claim])));

        Assert.Contains("log entry 7 (Claimed)", report.FirstFailure!.Detail, StringComparison.Ordinal);
        Assert.Contains("no earlier entry", report.FirstFailure.Detail, StringComparison.Ordinal);
        Assert.Equal(2, report.Ownership!.Holdings.Count);
    }

    [Fact]
    public void ATransferSignedByANonOwnerThatTheLogHoldsFailsAtOwnership()
    {
        // A log whose nodes let Carol give away Bob's holding: the signature is hers and valid, the entry is included and
        // cosigned, and only the replay sees that the holding was never hers.
        var theft = LedgerEntryCodec.SignTransferred(new Transfer(_world.Certificate.Id, _world.BobsHolding, CertificateWorld.Spki(LedgerFixtures.Carol)), LedgerFixtures.Carol, _world.Certificate.IssuedAt + 90);
        var log = _world.LogWith(_world.Transfer, theft);

        var report = AssertFailsAt(ProofSteps.Ownership, _world.Verify(_world.BundleIn(log, [_world.Transfer, theft])));

        Assert.Contains($"signed by {CertificateWorld.Owner(LedgerFixtures.Carol)}", report.FirstFailure!.Detail, StringComparison.Ordinal);
        Assert.Contains($"belongs to {CertificateWorld.Owner(LedgerFixtures.Bob)}", report.FirstFailure.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void ADoubleSpendThatTheLogHoldsFailsAtOwnership()
    {
        var toCarol = LedgerEntryCodec.SignTransferred(new Transfer(_world.Certificate.Id, _world.Certificate.Id, CertificateWorld.Spki(LedgerFixtures.Carol)), LedgerFixtures.Alice, _world.Certificate.IssuedAt + 90);
        var log = _world.LogWith(_world.Transfer, toCarol);

        var report = AssertFailsAt(ProofSteps.Ownership, _world.Verify(_world.BundleIn(log, [_world.Transfer, toCarol])));
        Assert.Contains("already spent by log entry 4", report.FirstFailure!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void ASplitThatMintsWhFailsAtOwnership()
    {
        var minting = LedgerEntryCodec.SignSplit(
            new Split(_world.Certificate.Id, _world.BobsHolding, [new SplitPart(_world.Certificate.FaceValueWh, CertificateWorld.Spki(LedgerFixtures.Bob)), new SplitPart(1, CertificateWorld.Spki(LedgerFixtures.Carol))]),
            LedgerFixtures.Bob, _world.Certificate.IssuedAt + 90);
        var log = _world.LogWith(_world.Transfer, minting);

        var report = AssertFailsAt(ProofSteps.Ownership, _world.Verify(_world.BundleIn(log, [_world.Transfer, minting])));
        Assert.Contains("the parts sum to", report.FirstFailure!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void AnEntryAfterAWithdrawalFailsAtOwnership()
    {
        var withdrawal = LedgerEntryCodec.SignWithdrawn(new Withdrawal(_world.Certificate.Id, "meter found faulty"), LedgerFixtures.IssuerA, LedgerFixtures.IssuerAKey, _world.Certificate.IssuedAt + 600);
        var log = _world.LogWith(withdrawal, _world.Transfer);

        var report = AssertFailsAt(ProofSteps.Ownership, _world.Verify(_world.BundleIn(log, [withdrawal, _world.Transfer])));
        Assert.Contains("already withdrawn", report.FirstFailure!.Detail, StringComparison.Ordinal);
    }
}
