using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using GreenTrace.Core.Certificates;
using GreenTrace.Core.Checkpoints;
using GreenTrace.Core.Ledger;
using GreenTrace.Core.Proofs;
using GreenTrace.Core.Readings;
using GreenTrace.Core.Tests.Ledger;
using GreenTrace.Core.Tests.Readings;

namespace GreenTrace.Core.Tests.Proofs;

public sealed class ProofBundleVerifierTests : IDisposable
{
    private static readonly string[] StepOrder =
    [
        ProofSteps.Checkpoint, ProofSteps.DeviceEntry, ProofSteps.DeviceInclusion, ProofSteps.CertificateEntry,
        ProofSteps.CertificateInclusion, ProofSteps.ReadingSignature, ProofSteps.ReadingInCertificate, ProofSteps.ReadingInclusion,
    ];

    private readonly ProofWorld _world = new();

    public void Dispose() => _world.Dispose();

    private static void AssertFailsAt(string step, VerificationReport report) => BundleAssert.FailsAt(StepOrder, step, report);

    // ---- the valid bundle ----

    [Fact]
    public void ValidBundlePassesEveryStep()
    {
        var report = _world.Verify(_world.Bundle());

        Assert.True(report.IsValid, report.FirstFailure?.ToString());
        Assert.Null(report.FirstFailure);
        Assert.Equal(StepOrder, report.Steps.Select(s => s.Step));
        Assert.All(report.Steps, s => Assert.True(s.Passed));
        Assert.Equal(_world.Readings[2].Reading, report.Reading);
        Assert.Equal(_world.Certificate, report.Certificate);
        Assert.Equal(_world.MeterDevice, report.Device);
        Assert.Equal(_world.Log.Head(), report.Checkpoint);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void EveryReadingOfTheCertificateHasAValidBundle(int index)
    {
        var report = _world.Verify(_world.Bundle(index));

        Assert.True(report.IsValid, report.FirstFailure?.ToString());
        Assert.Equal(_world.Readings[index].Reading, report.Reading);
    }

    [Fact]
    public void AllThreeCosignersAndAnUnknownExtraSignatureStillVerify()
    {
        using var stranger = NoteSigner.Generate("witness.example");
        var note = SignedNote.Sign(_world.Log.Head().ToNoteText(), LedgerFixtures.Node1, LedgerFixtures.Node2, LedgerFixtures.Node3, stranger);

        Assert.True(_world.Verify(_world.Bundle() with { Checkpoint = note }).IsValid);
    }

    [Fact]
    public void SingleReadingCertificateVerifies()
    {
        // A tree of one leaf: an empty audit path, the root is the leaf hash.
        var reading = ReadingFixtures.Decoded(ReadingFixtures.At(ProofWorld.Hour + 3600, 50));
        var certificate = HourlyAggregation.Issue(_world.MeterDevice, [reading], 0, ProofWorld.Terms).Value.Certificate;
        var entry = LedgerEntryCodec.SignCertificateIssued(certificate, LedgerFixtures.IssuerA, LedgerFixtures.IssuerAKey);
        _world.Log.Add(entry);

        var proven = ProofWorld.ProveInTree([reading.Encoded.ToArray()], 0);
        Assert.Empty(proven.Proof);

        var report = _world.Verify(_world.BundleIn(_world.Log, _world.DeviceEntry, entry, proven));

        Assert.True(report.IsValid, report.FirstFailure?.ToString());
        Assert.Equal(certificate, report.Certificate);
    }

    // ---- JSON ----

    [Fact]
    public void JsonRoundTripVerifies()
    {
        var bundle = _world.Bundle();

        var parsed = ProofBundle.FromJson(bundle.ToJson());

        Assert.True(parsed.IsOk, parsed.ToString());
        Assert.Equal(bundle.ToJson(), parsed.Value.ToJson());
        Assert.Equal(bundle.Reading.Value, parsed.Value.Reading.Value);
        Assert.Equal(bundle.Certificate.Proof, parsed.Value.Certificate.Proof);
        Assert.Equal(bundle.Device.Index, parsed.Value.Device.Index);
        Assert.Equal(bundle.Checkpoint, parsed.Value.Checkpoint);
        Assert.True(_world.Verify(parsed.Value).IsValid);
    }

    [Fact]
    public void JsonHasTheDocumentedShape()
    {
        var bundle = _world.Bundle();
        using var doc = JsonDocument.Parse(bundle.ToJson());
        var root = doc.RootElement;

        Assert.Equal("greentrace-proof-bundle/1", root.GetProperty("format").GetString());
        Assert.Equal(bundle.Checkpoint, root.GetProperty("checkpoint").GetString());
        foreach (var (name, leaf) in new[] { ("reading", bundle.Reading), ("certificate", bundle.Certificate), ("device", bundle.Device) })
        {
            var element = root.GetProperty(name);
            Assert.Equal(leaf.Value, element.GetProperty("value").GetBytesFromBase64());
            Assert.Equal(leaf.Index, element.GetProperty("index").GetInt64());
            Assert.Equal(leaf.TreeSize, element.GetProperty("treeSize").GetInt64());
            Assert.Equal(leaf.Proof, element.GetProperty("proof").EnumerateArray().Select(p => p.GetString()!));
            Assert.All(leaf.Proof, p => Assert.Matches("^[0-9a-f]{64}$", p));
        }
    }

    [Fact]
    public void EditingTheJsonIsCaught()
    {
        var node = JsonNode.Parse(_world.Bundle().ToJson())!;
        node["reading"]!["index"] = 3;

        var parsed = ProofBundle.FromJson(node.ToJsonString());

        Assert.True(parsed.IsOk, parsed.ToString());
        AssertFailsAt(ProofSteps.ReadingInclusion, _world.Verify(parsed.Value));
    }

    public static TheoryData<string> BadDocuments =>
    [
        "format 2", "format missing", "reading missing", "checkpoint missing", "device null", "proof missing", "value missing",
        "unknown member", "unknown leaf member", "value not base64", "index as text",
    ];

    [Theory]
    [MemberData(nameof(BadDocuments))]
    public void MalformedDocumentIsBundleFormat(string edit)
    {
        var root = JsonNode.Parse(_world.Bundle().ToJson())!.AsObject();
        switch (edit)
        {
            case "format 2": root["format"] = "greentrace-proof-bundle/2"; break;
            case "format missing": root.Remove("format"); break;
            case "reading missing": root.Remove("reading"); break;
            case "checkpoint missing": root.Remove("checkpoint"); break;
            case "device null": root["device"] = null; break;
            case "proof missing": root["certificate"]!.AsObject().Remove("proof"); break;
            case "value missing": root["reading"]!.AsObject().Remove("value"); break;
            case "unknown member": root["signature"] = "trust me"; break;
            case "unknown leaf member": root["device"]!["root"] = "00"; break;
            case "value not base64": root["reading"]!["value"] = "not base64!"; break;
            case "index as text": root["reading"]!["index"] = "2"; break;
            default: throw new ArgumentOutOfRangeException(nameof(edit));
        }

        var parsed = ProofBundle.FromJson(root.ToJsonString());

        Assert.False(parsed.IsOk);
        Assert.Equal(ProofSteps.BundleFormat, parsed.Error.Code);
    }

    [Theory]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("{\"format\":")]
    public void NotABundleIsBundleFormat(string json)
    {
        Assert.Equal(ProofSteps.BundleFormat, ProofBundle.FromJson(json).Error?.Code);
    }

    // ---- checkpoint ----

    [Fact]
    public void CheckpointSignedByUntrustedKeysFailsAtCheckpoint()
    {
        // Keys that use the trusted nodes' names, but are not their keys.
        using var fake1 = NoteSigner.Generate("node-1");
        using var fake2 = NoteSigner.Generate("node-2");
        var note = SignedNote.Sign(_world.Log.Head().ToNoteText(), fake1, fake2);

        AssertFailsAt(ProofSteps.Checkpoint, _world.Verify(_world.Bundle() with { Checkpoint = note }));
    }

    [Fact]
    public void CheckpointOfAnotherOriginFailsAtCheckpoint()
    {
        var note = SignedNote.Sign(_world.Log.Head("greentrace.test/other-ledger").ToNoteText(), LedgerFixtures.Node1, LedgerFixtures.Node2);

        AssertFailsAt(ProofSteps.Checkpoint, _world.Verify(_world.Bundle() with { Checkpoint = note }));
    }

    [Fact]
    public void CheckpointBelowQuorumFailsAtCheckpoint()
    {
        var oneSignature = SignedNote.Sign(_world.Log.Head().ToNoteText(), LedgerFixtures.Node1);
        var sameNodeTwice = SignedNote.Sign(_world.Log.Head().ToNoteText(), LedgerFixtures.Node3, LedgerFixtures.Node3);

        AssertFailsAt(ProofSteps.Checkpoint, _world.Verify(_world.Bundle() with { Checkpoint = oneSignature }));
        AssertFailsAt(ProofSteps.Checkpoint, _world.Verify(_world.Bundle() with { Checkpoint = sameNodeTwice }));
    }

    [Fact]
    public void CheckpointTextAlteredAfterSigningFailsAtCheckpoint()
    {
        var note = _world.Checkpoint();
        var altered = note.Replace($"\n{_world.Log.Size}\n", $"\n{_world.Log.Size + 1}\n", StringComparison.Ordinal);
        Assert.NotEqual(note, altered);

        AssertFailsAt(ProofSteps.Checkpoint, _world.Verify(_world.Bundle() with { Checkpoint = altered }));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not a note")]
    public void CheckpointThatIsNotANoteFailsAtCheckpoint(string note)
    {
        AssertFailsAt(ProofSteps.Checkpoint, _world.Verify(_world.Bundle() with { Checkpoint = note }));
    }

    [Fact]
    public void CheckpointOfAnotherTreeFailsAtDeviceInclusion()
    {
        // Properly cosigned, but for a log that does not contain this bundle's entries at these places.
        var other = new TestLog();
        foreach (var entry in new[] { _world.DeviceEntry, _world.OtherDeviceEntry, _world.CertificateEntry, _world.OtherCertificateEntry, _world.FrDeviceEntry })
            other.Add(entry);

        AssertFailsAt(ProofSteps.DeviceInclusion, _world.Verify(_world.Bundle() with { Checkpoint = _world.Checkpoint(other) }));
    }

    // ---- the meter's registration ----

    [Fact]
    public void DeviceEntryFromAnUntrustedIssuerFailsAtDeviceEntry()
    {
        var rogue = LedgerEntryCodec.SignDeviceRegistered(_world.MeterDevice, "issuer-z", LedgerFixtures.RogueKey, ProofWorld.Hour - 60);
        var log = new TestLog();
        log.Add(rogue);
        log.Add(_world.CertificateEntry);

        AssertFailsAt(ProofSteps.DeviceEntry, _world.Verify(_world.BundleIn(log, rogue, _world.CertificateEntry)));
    }

    [Fact]
    public void DeviceEntrySignedByAnotherKeyClaimingTheIssuerFailsAtDeviceEntry()
    {
        var forged = LedgerEntryCodec.SignDeviceRegistered(_world.MeterDevice, LedgerFixtures.IssuerA, LedgerFixtures.RogueKey, ProofWorld.Hour - 60);
        var log = new TestLog();
        log.Add(forged);
        log.Add(_world.CertificateEntry);

        AssertFailsAt(ProofSteps.DeviceEntry, _world.Verify(_world.BundleIn(log, forged, _world.CertificateEntry)));
    }

    [Fact]
    public void DeviceEntryForAZoneTheIssuerLacksFailsAtDeviceEntry()
    {
        // issuer-b is trusted, but only for FR; meter-01 is in DE-LU.
        var outOfZone = LedgerEntryCodec.SignDeviceRegistered(_world.MeterDevice, LedgerFixtures.IssuerB, LedgerFixtures.IssuerBKey, ProofWorld.Hour - 60);
        var log = new TestLog();
        log.Add(outOfZone);
        log.Add(_world.CertificateEntry);

        AssertFailsAt(ProofSteps.DeviceEntry, _world.Verify(_world.BundleIn(log, outOfZone, _world.CertificateEntry)));
    }

    [Fact]
    public void MeterRegisteredByAnIssuerInAZoneItLacksFailsAtDeviceEntry()
    {
        // issuer-a holds DE-LU and AT; a meter it registers in FR is not vouched for, whatever else checks out.
        var frByIssuerA = LedgerEntryCodec.SignDeviceRegistered(_world.MeterDevice with { GridZone = "FR" }, LedgerFixtures.IssuerA, LedgerFixtures.IssuerAKey, ProofWorld.Hour - 60);
        var log = new TestLog();
        log.Add(frByIssuerA);
        log.Add(_world.CertificateEntry);

        AssertFailsAt(ProofSteps.DeviceEntry, _world.Verify(_world.BundleIn(log, frByIssuerA, _world.CertificateEntry)));
    }

    [Fact]
    public void DeviceSlotHoldingAnotherKindOfEntryFailsAtDeviceEntry()
    {
        var bundle = _world.Bundle();

        AssertFailsAt(ProofSteps.DeviceEntry, _world.Verify(bundle with { Device = _world.Log.Prove(_world.OtherCertificateEntry) }));
        AssertFailsAt(ProofSteps.DeviceEntry, _world.Verify(bundle with { Device = bundle.Device with { Value = [0xD2, 0x00] } }));
    }

    [Fact]
    public void DeviceProofAlteredFailsAtDeviceInclusion()
    {
        var bundle = _world.Bundle();

        AssertFailsAt(ProofSteps.DeviceInclusion, _world.Verify(bundle with { Device = BundleAssert.FlipProofHash(bundle.Device) }));
        AssertFailsAt(ProofSteps.DeviceInclusion, _world.Verify(bundle with { Device = BundleAssert.FlipProofHash(bundle.Device, bundle.Device.Proof.Count - 1) }));
        AssertFailsAt(ProofSteps.DeviceInclusion, _world.Verify(bundle with { Device = bundle.Device with { Proof = [.. bundle.Device.Proof, bundle.Device.Proof[0]] } }));
        AssertFailsAt(ProofSteps.DeviceInclusion, _world.Verify(bundle with { Device = bundle.Device with { Proof = bundle.Device.Proof.SkipLast(1).ToArray() } }));
        AssertFailsAt(ProofSteps.DeviceInclusion, _world.Verify(bundle with { Device = bundle.Device with { Proof = ["zz", .. bundle.Device.Proof.Skip(1)] } }));
        AssertFailsAt(ProofSteps.DeviceInclusion, _world.Verify(bundle with { Device = bundle.Device with { Proof = [] } }));
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(2L)]
    [InlineData(4L)]
    [InlineData(5L)]
    [InlineData(-1L)]
    [InlineData(long.MaxValue)]
    public void DeviceProofWithAWrongIndexFailsAtDeviceInclusion(long index)
    {
        var bundle = _world.Bundle();
        Assert.NotEqual(index, bundle.Device.Index);

        AssertFailsAt(ProofSteps.DeviceInclusion, _world.Verify(bundle with { Device = bundle.Device with { Index = index } }));
    }

    [Theory]
    [InlineData(4L)]
    [InlineData(6L)]
    [InlineData(0L)]
    public void DeviceProofForAnotherTreeSizeFailsAtDeviceInclusion(long size)
    {
        var bundle = _world.Bundle();

        AssertFailsAt(ProofSteps.DeviceInclusion, _world.Verify(bundle with { Device = bundle.Device with { TreeSize = size } }));
    }

    [Fact]
    public void ValidRegistrationThatIsNotInTheLogFailsAtDeviceInclusion()
    {
        var resigned = LedgerEntryCodec.SignDeviceRegistered(_world.MeterDevice, LedgerFixtures.IssuerA, LedgerFixtures.IssuerAKey, ProofWorld.Hour - 3600);
        var bundle = _world.Bundle();

        AssertFailsAt(ProofSteps.DeviceInclusion, _world.Verify(bundle with { Device = bundle.Device with { Value = resigned } }));
    }

    // ---- the certificate ----

    [Fact]
    public void CertificateEntryTamperedFailsAtCertificateEntry()
    {
        var bundle = _world.Bundle();
        var tampered = (byte[])bundle.Certificate.Value.Clone();
        tampered[^1] ^= 0x01; // the signature's last byte: still a well-formed entry

        Assert.True(LedgerEntryCodec.Decode(tampered).IsOk);
        AssertFailsAt(ProofSteps.CertificateEntry, _world.Verify(bundle with { Certificate = bundle.Certificate with { Value = tampered } }));
    }

    [Fact]
    public void CertificateFaceValueRaisedFailsAtCertificateEntry()
    {
        // "wh": 4006 -> 4007 in the signed payload; the issuer's signature no longer covers it.
        var bundle = _world.Bundle();
        var tampered = (byte[])bundle.Certificate.Value.Clone();
        var at = tampered.AsSpan().IndexOf(Convert.FromHexString("627768190fa6"));
        Assert.True(at > 0);
        tampered[at + 5] = 0xA7;

        Assert.Equal(4007UL, LedgerEntryCodec.Decode(tampered).Value.Certificate?.FaceValueWh);
        AssertFailsAt(ProofSteps.CertificateEntry, _world.Verify(bundle with { Certificate = bundle.Certificate with { Value = tampered } }));
    }

    [Fact]
    public void CertificateForAnotherMeterFailsAtCertificateEntry()
    {
        AssertFailsAt(ProofSteps.CertificateEntry, _world.Verify(_world.Bundle() with { Certificate = _world.Log.Prove(_world.OtherCertificateEntry) }));
    }

    [Fact]
    public void CertificatePrecedingTheRegistrationFailsAtCertificateEntry()
    {
        var log = new TestLog();
        log.Add(_world.CertificateEntry);
        log.Add(_world.DeviceEntry);

        AssertFailsAt(ProofSteps.CertificateEntry, _world.Verify(_world.BundleIn(log, _world.DeviceEntry, _world.CertificateEntry)));
    }

    [Fact]
    public void CertificateWithAnIdNotDerivedFromItsContentFailsAtCertificateEntry()
    {
        var lying = LedgerEntryCodec.SignCertificateIssued(_world.Certificate with { Id = SHA256.HashData("another id"u8) }, LedgerFixtures.IssuerA, LedgerFixtures.IssuerAKey);
        var log = new TestLog();
        log.Add(_world.DeviceEntry);
        log.Add(lying);

        AssertFailsAt(ProofSteps.CertificateEntry, _world.Verify(_world.BundleIn(log, _world.DeviceEntry, lying)));
    }

    [Fact]
    public void CertificateFromAnIssuerWithoutTheZoneFailsAtCertificateEntry()
    {
        var outOfZone = LedgerEntryCodec.SignCertificateIssued(_world.Certificate with { IssuingBody = LedgerFixtures.IssuerB }, LedgerFixtures.IssuerB, LedgerFixtures.IssuerBKey);
        var log = new TestLog();
        log.Add(_world.DeviceEntry);
        log.Add(outOfZone);

        AssertFailsAt(ProofSteps.CertificateEntry, _world.Verify(_world.BundleIn(log, _world.DeviceEntry, outOfZone)));
    }

    [Fact]
    public void CertificateWithAttributesOtherThanTheMetersFailsAtCertificateEntry()
    {
        var wind = LedgerEntryCodec.SignCertificateIssued(_world.Certificate with { EnergySource = "wind" }, LedgerFixtures.IssuerA, LedgerFixtures.IssuerAKey);
        var log = new TestLog();
        log.Add(_world.DeviceEntry);
        log.Add(wind);

        AssertFailsAt(ProofSteps.CertificateEntry, _world.Verify(_world.BundleIn(log, _world.DeviceEntry, wind)));
    }

    [Fact]
    public void CertificateSlotHoldingARegistrationFailsAtCertificateEntry()
    {
        AssertFailsAt(ProofSteps.CertificateEntry, _world.Verify(_world.Bundle() with { Certificate = _world.Log.Prove(_world.FrDeviceEntry) }));
    }

    [Fact]
    public void CertificateProofAlteredFailsAtCertificateInclusion()
    {
        var bundle = _world.Bundle();

        AssertFailsAt(ProofSteps.CertificateInclusion, _world.Verify(bundle with { Certificate = BundleAssert.FlipProofHash(bundle.Certificate) }));
        AssertFailsAt(ProofSteps.CertificateInclusion, _world.Verify(bundle with { Certificate = bundle.Certificate with { Index = 4 } }));
        AssertFailsAt(ProofSteps.CertificateInclusion, _world.Verify(bundle with { Certificate = bundle.Certificate with { TreeSize = 4 } }));
        AssertFailsAt(ProofSteps.CertificateInclusion, _world.Verify(bundle with { Certificate = bundle.Certificate with { Proof = [] } }));
    }

    [Fact]
    public void ValidCertificateThatIsNotInTheLogFailsAtCertificateInclusion()
    {
        var resigned = LedgerEntryCodec.SignCertificateIssued(_world.Certificate, LedgerFixtures.IssuerA, LedgerFixtures.IssuerAKey);
        var bundle = _world.Bundle();

        AssertFailsAt(ProofSteps.CertificateInclusion, _world.Verify(bundle with { Certificate = bundle.Certificate with { Value = resigned } }));
    }

    [Fact]
    public void CheckpointOfAnEarlierLogWithoutTheCertificateFailsAtCertificateInclusion()
    {
        // The first three entries: the registration is in, the certificate (index 3) is not yet.
        var earlier = new TestLog();
        foreach (var entry in new[] { _world.OtherDeviceEntry, _world.DeviceEntry, _world.OtherCertificateEntry })
            earlier.Add(entry);
        var bundle = _world.Bundle() with { Device = earlier.Prove(_world.DeviceEntry), Checkpoint = _world.Checkpoint(earlier) };

        AssertFailsAt(ProofSteps.CertificateInclusion, _world.Verify(bundle));
    }

    // ---- the reading ----

    [Fact]
    public void ReadingSignedByAnotherKeyFailsAtReadingSignature()
    {
        var forged = ReadingCodec.Sign(_world.Readings[2].Reading, ReadingFixtures.OtherKey);
        var bundle = _world.Bundle();

        AssertFailsAt(ProofSteps.ReadingSignature, _world.Verify(bundle with { Reading = bundle.Reading with { Value = forged } }));
    }

    [Fact]
    public void ReadingOfAnotherMeterFailsAtReadingSignature()
    {
        var other = ReadingCodec.Sign(ReadingFixtures.At(ProofWorld.Hour, 1, meter: ProofWorld.OtherMeter, length: 1800), ReadingFixtures.OtherKey);
        var bundle = _world.Bundle();

        AssertFailsAt(ProofSteps.ReadingSignature, _world.Verify(bundle with { Reading = bundle.Reading with { Value = other } }));
    }

    [Fact]
    public void ReadingThatIsNotAReadingFailsAtReadingSignature()
    {
        var bundle = _world.Bundle();

        AssertFailsAt(ProofSteps.ReadingSignature, _world.Verify(bundle with { Reading = bundle.Reading with { Value = [] } }));
        AssertFailsAt(ProofSteps.ReadingSignature, _world.Verify(bundle with { Reading = bundle.Reading with { Value = _world.DeviceEntry } }));
    }

    [Fact]
    public void RegistrationWithAnUnusableMeterKeyFailsAtReadingSignature()
    {
        // Issuer-signed and in the log, but the registered key is not a P-256 key: the reading cannot be checked.
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var badKey = LedgerEntryCodec.SignDeviceRegistered(_world.MeterDevice with { PublicKey = p384.ExportSubjectPublicKeyInfo() }, LedgerFixtures.IssuerA, LedgerFixtures.IssuerAKey, ProofWorld.Hour - 60);
        var log = new TestLog();
        log.Add(badKey);
        log.Add(_world.CertificateEntry);

        AssertFailsAt(ProofSteps.ReadingSignature, _world.Verify(_world.BundleIn(log, badKey, _world.CertificateEntry)));
    }

    [Fact]
    public void ReadingFromAnotherHourFailsAtReadingInCertificate()
    {
        var nextHour = ReadingCodec.Sign(ReadingFixtures.At(ProofWorld.Hour + 3600, 15), ReadingFixtures.MeterKey);
        var previousHour = ReadingCodec.Sign(ReadingFixtures.At(ProofWorld.Hour - 900, 10), ReadingFixtures.MeterKey);
        var bundle = _world.Bundle();

        AssertFailsAt(ProofSteps.ReadingInCertificate, _world.Verify(bundle with { Reading = bundle.Reading with { Value = nextHour } }));
        AssertFailsAt(ProofSteps.ReadingInCertificate, _world.Verify(bundle with { Reading = bundle.Reading with { Value = previousHour } }));
    }

    [Fact]
    public void ConsumptionReadingFailsAtReadingInCertificate()
    {
        var consumption = ReadingCodec.Sign(ReadingFixtures.At(ProofWorld.Hour + 1800, 13, direction: EnergyDirection.Consumption), ReadingFixtures.MeterKey);
        var bundle = _world.Bundle();

        AssertFailsAt(ProofSteps.ReadingInCertificate, _world.Verify(bundle with { Reading = bundle.Reading with { Value = consumption } }));
    }

    [Theory]
    [InlineData(3L)]
    [InlineData(5L)]
    [InlineData(8L)] // leaf 2 of a tree of 8 has a path of the same length as in a tree of 4
    [InlineData(0L)]
    public void ReadingTreeSizeOtherThanTheReadingCountFailsAtReadingInCertificate(long size)
    {
        var bundle = _world.Bundle();

        AssertFailsAt(ProofSteps.ReadingInCertificate, _world.Verify(bundle with { Reading = bundle.Reading with { TreeSize = size } }));
    }

    [Fact]
    public void ReadingProofAlteredFailsAtReadingInclusion()
    {
        var bundle = _world.Bundle();

        AssertFailsAt(ProofSteps.ReadingInclusion, _world.Verify(bundle with { Reading = BundleAssert.FlipProofHash(bundle.Reading) }));
        AssertFailsAt(ProofSteps.ReadingInclusion, _world.Verify(bundle with { Reading = BundleAssert.FlipProofHash(bundle.Reading, 1) }));
        AssertFailsAt(ProofSteps.ReadingInclusion, _world.Verify(bundle with { Reading = bundle.Reading with { Proof = bundle.Reading.Proof.Reverse().ToArray() } }));
        AssertFailsAt(ProofSteps.ReadingInclusion, _world.Verify(bundle with { Reading = bundle.Reading with { Proof = [.. bundle.Reading.Proof, bundle.Reading.Proof[0]] } }));
        AssertFailsAt(ProofSteps.ReadingInclusion, _world.Verify(bundle with { Reading = bundle.Reading with { Proof = ["not hex", bundle.Reading.Proof[1]] } }));
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(1L)]
    [InlineData(3L)]
    [InlineData(4L)]
    [InlineData(-1L)]
    public void ReadingProofWithAWrongIndexFailsAtReadingInclusion(long index)
    {
        var bundle = _world.Bundle();

        AssertFailsAt(ProofSteps.ReadingInclusion, _world.Verify(bundle with { Reading = bundle.Reading with { Index = index } }));
    }

    [Fact]
    public void ValidReadingOfTheHourThatIsNotInTheCertificateFailsAtReadingInclusion()
    {
        // The same reading signed again: other bytes, so not a leaf of the certificate's tree.
        var resigned = ReadingCodec.Sign(_world.Readings[2].Reading, ReadingFixtures.MeterKey);
        var bundle = _world.Bundle();

        AssertFailsAt(ProofSteps.ReadingInclusion, _world.Verify(bundle with { Reading = bundle.Reading with { Value = resigned } }));
    }

    [Fact]
    public void AnotherReadingsProofFailsAtReadingInclusion()
    {
        var bundle = _world.Bundle();

        AssertFailsAt(ProofSteps.ReadingInclusion, _world.Verify(bundle with { Reading = _world.ProveReading(1) with { Value = bundle.Reading.Value } }));
    }
}
